import fc from "fast-check";
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { SimulatedRun } from "../src/adapters/sim/simulate.js";
import { NoProgressError } from "../src/kernel/scheduler.js";
import { parseScenario, ScenarioError } from "../src/scenario/load.js";
import { busyScenario, tempDir, testbed, writeScenario } from "./helpers.js";

/**
 * The fuzzer (issue 12): random mutations of every example scenario, of `--set` strings and of
 * trace CSVs, checked in process; byte damage of a results database, checked through the CLI.
 * Every case must end within its time budget as exit 0, 1, 2 or 130 would: a scenario is
 * accepted (and its first events run) or refused with a ScenarioError whose every line names the
 * file and a field; never another exception. `FUZZ_RUNS` sets the number of cases per property
 * (default 100: a few hundred in all), `FUZZ_SEED` replays a failure (fast-check prints the seed).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;
const DB_RUNS = Math.max(3, Math.round(RUNS / 25));
const options = { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true };
const CASE_BUDGET_MS = 10_000;
const EVENTS_PER_CASE = 20_000;

const dir = tempDir();
const SCENARIOS = join(import.meta.dirname, "..", "scenarios");
const examples = readdirSync(SCENARIOS).filter((f) => f.endsWith(".yaml")).map((f) => ({ file: f, text: readFileSync(join(SCENARIOS, f), "utf8") }));

let cases = 0;
let clearErrors = 0;
const messages = new Set<string>();
afterAll(() => {
  process.stderr.write(`fuzz: ${cases} bad inputs tried, ${clearErrors} ended in a clear error (${messages.size} distinct messages), the others were accepted and ran\n`);
});

/** Values of every type, sign and magnitude, and the strings a careless or hostile user types. */
const hostileValue = fc.oneof(
  fc.constantFrom(0, -1, 1, 1e-300, 1e-9, 0.5, 2 ** 31, 1e9, 1e15, 1e308, -1e308, Number.MAX_SAFE_INTEGER),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom("NaN", "Infinity", "-Infinity", "", "0x10", "1e999", "__proto__", "*a", "&a x", "{", "[", "!!js/function 'x'", "\u0000"),
  fc.string({ maxLength: 20 }),
  fc.constantFrom(null, true, false, [], {}, [1, 2], { type: "lognormal", mu: 1000, sigma: 1 }, { type: "exponential", mean: 0 }),
);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path to a value in a parsed document. */
function paths(node: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(node)) node.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (node !== null && typeof node === "object") for (const [k, v] of Object.entries(node)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function mutate(data: Json, path: (string | number)[], kind: "set" | "delete" | "unknown", value: unknown): Json {
  const copy = structuredClone(data) as Json;
  if (path.length === 0) return kind === "set" ? (value as Json) : copy;
  let node = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (kind === "set") node[last] = value as Json;
  else if (kind === "delete") {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else if (node[last] !== null && typeof node[last] === "object" && !Array.isArray(node[last])) (node[last] as Record<string, Json>)["surprise"] = 1;
  return copy;
}

/** Loads (and if valid runs the first events of) a scenario; throws only what the CLI would not turn into 0/1/2. */
function tryScenario(file: string, text: string, overrides: string[] = [], otherFiles: string[] = []): void {
  cases++;
  const started = performance.now();
  try {
    const loaded = parseScenario(file, text, overrides);
    const run = new SimulatedRun(loaded.config, 1, loaded.scenario.serviceModels[0]!);
    run.advance(EVENTS_PER_CASE);
  } catch (error) {
    if (!(error instanceof ScenarioError) && !(error instanceof NoProgressError)) throw error;
    clearErrors++;
    if (error instanceof NoProgressError) return; // exit 1, naming the process
    for (const line of error.message.split("\n")) {
      expect([file, ...otherFiles].some((f) => line.startsWith(`${f}: `)), line).toBe(true);
      expect(line.length).toBeLessThan(400);
      messages.add(line.replace(/-?\d[\d.e+-]*/g, "N").replace(/"[^"]*"/g, "S"));
    }
  } finally {
    expect(performance.now() - started).toBeLessThan(CASE_BUDGET_MS);
  }
}

describe("fuzzer", () => {
  it("mutated example scenarios end as accepted or as a clear error naming file and field", () => {
    const docs = examples.map(({ file, text }) => ({ file, data: parseScenario(file, text).scenario && (JSON.parse(JSON.stringify(loadYaml(text))) as Json) }));
    const arb = fc
      .nat({ max: docs.length - 1 })
      .chain((i) => fc.tuple(fc.constant(i), fc.array(fc.tuple(fc.nat(), fc.constantFrom("set", "set", "set", "delete", "unknown") as fc.Arbitrary<"set" | "delete" | "unknown">, hostileValue), { minLength: 1, maxLength: 3 })));
    fc.assert(
      fc.property(arb, ([i, mutations]) => {
        let data = docs[i]!.data;
        for (const [pick, kind, value] of mutations) {
          const all = paths(data);
          data = mutate(data, all[pick % all.length]!, kind, value);
        }
        tryScenario(docs[i]!.file, typeof data === "object" && data !== null ? stringify(data, { aliasDuplicateObjects: false }) : String(data));
      }),
      options,
    );
  });

  it("--set strings end as accepted or as a clear error", () => {
    const text = readFileSync(join(SCENARIOS, "hosts-fail-and-repair.yaml"), "utf8");
    const file = "hosts-fail-and-repair.yaml";
    const knownPaths = paths(loadYaml(text) as Json).map((p) => p.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join(""));
    const path = fc.oneof(fc.constantFrom(...knownPaths.filter((p) => p !== ""), "__proto__.x", "constructor.prototype.x", "a..b", "[0]", "x[99999999999]"), fc.string({ maxLength: 30 }));
    const value = fc.oneof(hostileValue.map((v) => (typeof v === "string" ? v : JSON.stringify(v))), fc.string({ maxLength: 30 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(path, value, fc.boolean()), { minLength: 1, maxLength: 3 }), (settings) => {
        tryScenario(file, text, settings.map(([p, v, eq]) => (eq ? `${p}=${v}` : `${p}${v}`)));
      }),
      options,
    );
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it("trace CSVs end as accepted or as a clear error", () => {
    const header = fc.constantFrom("timeHours,target,kind,durationHours", "timeHours,target,kind", "a,b,c,d", "", "timeHours,target,kind,durationHours,extra");
    const cell = fc.oneof(fc.constantFrom("0", "-1", "1e308", "NaN", "", "node-01", "node-99", "rack-1", "node-01/0", "node-01/9", "crash", "disk", "rack", "\"", ",,", "1e-300"), fc.string({ maxLength: 8 }));
    const row = fc.array(cell, { minLength: 0, maxLength: 6 }).map((cells) => cells.join(","));
    let n = 0;
    fc.assert(
      fc.property(header, fc.array(row, { maxLength: 8 }), (head, rows) => {
        const trace = join(dir, `trace-${n++}.csv`);
        writeFileSync(trace, [head, ...rows].join("\n"));
        const scenario = `name: traced\ndurationHours: 100\ncluster:\n  hosts:\n    - { name: node, count: 3, racks: 1, vcpus: 4, memoryGiB: 8, diskGiB: 100 }\nfailures:\n  trace: ${trace}\n`;
        tryScenario(join(dir, "traced.yaml"), scenario, [], [trace]); // a bad row is reported in the trace file, by line and column
      }),
      options,
    );
  });

  describe("byte damage of a results database", () => {
    let good: string;
    beforeAll(() => {
      const file = writeScenario(dir, "db", busyScenario("db", 6, 100).replace("serviceModels: [persistent-ha]", "serviceModels: [ephemeral, persistent-ha]"));
      good = join(dir, "good.db");
      expect(testbed("run", file, "--quiet", "--db", good).code).toBe(0);
    });

    it("inspect, replay --verify and summarize end with 0, 1 or 2 and no stack trace", () => {
      const size = readFileSync(good).length;
      let n = 0;
      fc.assert(
        fc.property(fc.nat({ max: size - 1 }), fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 255 }), (offset, length, xor) => {
          const db = join(dir, `damaged-${n++}.db`);
          copyFileSync(good, db);
          const bytes = readFileSync(db);
          for (let i = offset; i < Math.min(size, offset + length); i++) bytes[i] = bytes[i]! ^ xor;
          writeFileSync(db, bytes);
          for (const command of [["inspect", db], ["replay", db, "--verify"], ["summarize", db]]) {
            cases++;
            const r = testbed(...command);
            expect([0, 1, 2], `${command.join(" ")}: ${r.stderr}`).toContain(r.code);
            expect(r.stderr, command.join(" ")).not.toMatch(/\n\s+at |internal error/);
            if (r.code !== 0) clearErrors++;
            for (const line of r.stderr.split("\n").filter(Boolean)) messages.add(line.replace(/\/tmp\/\S+/g, "DB").replace(/\d+/g, "N"));
          }
        }),
        { ...options, numRuns: DB_RUNS },
      );
    }, Math.max(60_000, DB_RUNS * 3 * 5_000)); // three commands per case, each a process of a few seconds at most
  });
});

function loadYaml(text: string): unknown {
  return JSON.parse(JSON.stringify(parseYaml(text)));
}

