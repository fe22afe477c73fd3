import Database from "better-sqlite3";
import { once } from "node:events";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { expandExperiment } from "../src/experiment/expand.js";
import type { ExperimentOutcome } from "../src/experiment/runner.js";
import type { RunMetrics } from "../src/metrics/run-metrics.js";
import { parseScenario } from "../src/scenario/load.js";
import { summarizeDatabase } from "../src/experiment/summary.js";
import { welchDifference, type MetricSummary } from "../src/stats/summary.js";
import { EventStore, runKey } from "../src/event-store/event-store.js";
import { startTestbed, tempDir, testbed, tinyFleetScenario, writeScenario } from "./helpers.js";

const dir = tempDir();

/** Ten hosts failing often, 40 long-lived VMs, three service models: ~0.1 s a run. */
const BASE = tinyFleetScenario("tiny-exp", 3000);
const experiment = (section: string) => `${BASE}experiment:\n${section}`;
const SWEEP = `  sweep:
    failures.host.hardware.timeToFailureHours.mean: [1000, 4000]
    storage.replicas: [1, 2]
`;
const TEXT = experiment(`${SWEEP}  replications: 3\n`);
const RUNS = 4 * 3 * 3;
/** ephemeral and vps do not read storage.replicas: the replicas = 2 cells reuse their replicas = 1 runs. */
const REUSED = 2 * 2 * 3;
const STORED = RUNS - REUSED;

function runJson(...args: string[]): ExperimentOutcome {
  const r = testbed("run", ...args, "--json", "--quiet");
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ExperimentOutcome;
}

/** cell × seed × model → [state hash, log hash] of the complete runs in a database. */
function hashesIn(db: string): Map<string, [string | null, string | null]> {
  const store = EventStore.openReadonly(db);
  const runs = store.completeRunsOf();
  store.close();
  return new Map(runs.map((r) => [runKey(r.scenarioHash, r.seed, r.serviceModel), [r.stateHash, r.logHash]]));
}

function statuses(db: string): string[] {
  const conn = new Database(db, { readonly: true });
  const rows = conn.prepare("SELECT status FROM runs ORDER BY id").pluck().all() as string[];
  conn.close();
  return rows;
}

const halfWidth = (s: MetricSummary) => (s.ciHigh - s.ciLow) / 2;

describe("an experiment section", () => {
  const file = join(dir, "tiny.yaml");

  it("expands into the grid of cells, each with the hash of the scenario run with those --set settings", () => {
    const plan = expandExperiment(file, TEXT);
    expect(plan.cells.map((c) => c.values)).toEqual([
      { "failures.host.hardware.timeToFailureHours.mean": 1000, "storage.replicas": 1 },
      { "failures.host.hardware.timeToFailureHours.mean": 1000, "storage.replicas": 2 },
      { "failures.host.hardware.timeToFailureHours.mean": 4000, "storage.replicas": 1 },
      { "failures.host.hardware.timeToFailureHours.mean": 4000, "storage.replicas": 2 },
    ]);
    expect(plan.seeds).toEqual([1, 2, 3]);
    expect(plan.serviceModels).toEqual(["ephemeral", "vps", "persistent-ha"]);
    expect(plan.runs).toHaveLength(RUNS);
    expect(new Set(plan.cells.map((c) => c.loaded.hash)).size).toBe(4);
    const alone = parseScenario(file, BASE, ["failures.host.hardware.timeToFailureHours.mean=4000", "storage.replicas=1"]);
    expect(plan.cells[2]!.loaded.hash).toBe(alone.hash);
    expect(plan.cells[2]!.loaded.scenario.failures!.host!.hardware!.timeToFailureHours).toEqual({ type: "exponential", mean: 4000 });
  });

  it("keeps the cells' hashes when only the seeds change, and takes seeds from a list", () => {
    const three = expandExperiment(file, TEXT);
    const listed = expandExperiment(file, experiment(`${SWEEP}  seeds: [7, 3]\n`));
    expect(listed.seeds).toEqual([7, 3]);
    expect(listed.cells.map((c) => c.loaded.hash)).toEqual(three.cells.map((c) => c.loaded.hash));
    const none = expandExperiment(file, experiment("  replications: 2\n"));
    expect(none.cells.map((c) => c.values)).toEqual([{}]);
    expect(none.runs).toHaveLength(6);
  });

  const bad: [string, string, string[]][] = [
    ["an unknown field", "  sweep:\n    failures.host.hardware.timeToFailureHours.meen: [5]\n", [
      "experiment.sweep.failures.host.hardware.timeToFailureHours.meen = 5: failures.host.hardware.timeToFailureHours.meen: unknown key (not part of the scenario format)",
    ]],
    ["a value the field does not accept", "  sweep:\n    failures.host.hardware.timeToFailureHours.mean: [100, -5]\n", [
      "experiment.sweep.failures.host.hardware.timeToFailureHours.mean = -5: failures.host.hardware.timeToFailureHours.mean: expected a positive number, got -5",
    ]],
    ["a path below a section the scenario does not have", "  sweep:\n    failures.rack.timeToFailureHours.mean: [100]\n", [
      "experiment.sweep.failures.rack.timeToFailureHours.mean: expected a path into the scenario, but failures.rack is not in it",
    ]],
    ["a path below a plain number", "  sweep:\n    failures.disk.timeToRepairHours.mean: [3]\n", [
      "experiment.sweep.failures.disk.timeToRepairHours.mean = 3: failures.disk.timeToRepairHours is 24, not a mapping or a list",
    ]],
    ["an empty list of values", "  sweep:\n    storage.replicas: []\n", ["experiment.sweep.storage.replicas: expected at least one value, got an empty list"]],
    ["the seed swept", "  sweep:\n    seed: [1, 2]\n", ["experiment.sweep.seed: expected a path into the scenario; seed cannot be swept (use seeds or replications)"]],
    ["both replications and seeds", "  replications: 2\n  seeds: [1, 1]\n", [
      "experiment.seeds: expected either replications or seeds, not both",
      "experiment.seeds: expected distinct seeds",
    ]],
    ["values that clash only together", "  sweep:\n    storage.kind: [replicated, mirror]\n    storage.replicas: [2, 3]\n", [
      "experiment.sweep (storage.kind = \"mirror\", storage.replicas = 3): storage.replicas: expected 2 (a mirror has two copies), got 3",
    ]],
  ];
  for (const [what, section, lines] of bad) {
    it(`is refused with exit code 2 and a line naming file, sweep value and field for ${what}`, () => {
      const bad = writeScenario(dir, `bad-${what.replace(/\W+/g, "-")}`, experiment(section));
      const r = testbed("run", bad, "--db", join(dir, "bad.db"));
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toEqual(lines.map((line) => `${bad}: ${line}`));
    });
  }
});

describe("testbed run on an experiment", () => {
  let file: string;
  let reference: Map<string, [string | null, string | null]>;
  const db = join(dir, "two-workers.db");

  beforeAll(() => {
    file = writeScenario(dir, "tiny", TEXT);
  });

  it("runs every cell × seed × service model on two workers into one database", () => {
    const out = runJson(file, "--db", db, "--jobs", "2");
    expect(out).toMatchObject({ experiment: "tiny-exp", jobs: 2, cells: 4, ran: STORED, skipped: 0, reused: REUSED, failed: 0, interrupted: false });
    expect(out.runs.every((r) => (r.status === "complete" || r.status === "reused") && /^[0-9a-f]{64}$/.test(r.stateHash!))).toBe(true);
    expect(statuses(db)).toEqual(Array(STORED).fill("complete"));
    const store = EventStore.openReadonly(db);
    const [recorded] = store.listExperiments();
    store.close();
    expect(recorded!.cells).toHaveLength(4);
    expect(recorded!.definition.seeds).toEqual([1, 2, 3]);
    reference = hashesIn(db);
    expect(reference.size).toBe(STORED);
  });

  it("gives the same log and state hashes on one worker, and the same as a single testbed run of the cell", () => {
    const out = runJson(file, "--db", join(dir, "one-worker.db"), "--jobs", "1");
    expect(out.ran).toBe(STORED);
    expect(hashesIn(join(dir, "one-worker.db"))).toEqual(reference);
    const single = testbed("run", writeScenario(dir, "plain", BASE), "--db", join(dir, "plain.db"), "--json", "--quiet", "--seed", "2", "--model", "vps",
      "--set", "failures.host.hardware.timeToFailureHours.mean=4000", "--set", "storage.replicas=2");
    const [run] = (JSON.parse(single.stdout) as { runs: { stateHash: string; logHash: string }[] }).runs;
    const cell = out.runs.find((r) => r.cellIndex === 3 && r.seed === 2 && r.serviceModel === "vps")!;
    expect([run!.stateHash, run!.logHash]).toEqual([cell.stateHash, cell.logHash]);
  });

  it("skips every complete run when run again", () => {
    const out = runJson(file, "--db", db);
    expect(out).toMatchObject({ ran: 0, skipped: STORED, reused: REUSED, failed: 0 });
    expect(statuses(db)).toHaveLength(STORED);
  });

  it("resumes after being killed midway: only the missing runs run, and the results equal an uninterrupted run", async () => {
    const killed = join(dir, "killed.db");
    const child = startTestbed("run", file, "--db", killed, "--jobs", "2", "--quiet");
    // Kill while a run is in flight (not between two runs), so one is left `running` by a dead process.
    let complete = 0;
    let inFlight = false;
    for (let i = 0; i < 2000 && (complete < 8 || !inFlight); i++) {
      await sleep(10);
      try {
        const now = statuses(killed);
        complete = now.filter((s) => s === "complete").length;
        inFlight = now.includes("running");
      } catch {
        // not created yet
      }
    }
    child.kill("SIGKILL");
    await once(child, "exit");
    const before = statuses(killed);
    const done = before.filter((s) => s === "complete").length;
    expect(done).toBeGreaterThanOrEqual(8);
    expect(done).toBeLessThan(STORED);
    expect(before.filter((s) => s !== "complete").every((s) => s === "running")).toBe(true); // killed: left as they were
    // The run seen in flight may still have finished before the signal landed; then none is left to show.
    if (before.includes("running")) expect(testbed("inspect", killed).stdout).toContain("incomplete (killed)");

    const out = runJson(file, "--db", killed, "--jobs", "2");
    expect(out).toMatchObject({ skipped: done, ran: STORED - done, failed: 0 });
    expect(hashesIn(killed)).toEqual(reference);
    expect(statuses(killed).filter((s) => s === "complete")).toHaveLength(STORED);
  });

  it("stops on SIGINT with exit code 130, starting no more runs, leaving only complete or interrupted ones, and finishes when run again", async () => {
    const stopped = join(dir, "sigint.db");
    // --log-hash: runs without their logs still hash them, so they compare with the stored reference.
    const child = startTestbed("run", file, "--db", stopped, "--jobs", "2", "--quiet", "--no-events", "--log-hash");
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    for (let i = 0; i < 2000; i++) {
      await sleep(10);
      try {
        if (statuses(stopped).filter((s) => s === "complete").length >= 4) break;
      } catch {
        // not created yet
      }
    }
    child.kill("SIGINT");
    const [code] = await once(child, "exit");
    expect(code).toBe(130);
    expect(stderr).toContain("run the same command again");
    const after = statuses(stopped);
    expect(after.every((s) => s === "complete" || s === "interrupted")).toBe(true);
    expect(after.filter((s) => s === "complete").length).toBeLessThan(STORED);
    const out = runJson(file, "--db", stopped, "--no-events", "--log-hash");
    expect(out.ran + out.skipped).toBe(STORED);
    expect(hashesIn(stopped)).toEqual(reference);
  });

  it("counts a failing run, goes on with the others and exits 1", () => {
    // 30 000 hours take more than the event budget; 100 hours take less.
    const failing = writeScenario(dir, "failing", experiment("  sweep:\n    durationHours: [30000, 100]\n  seeds: [1, 2]\n"));
    const r = testbed("run", failing, "--db", join(dir, "failing.db"), "--model", "vps", "--json", "--quiet", "--max-events", "3000");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("(durationHours=30000, seed 1, vps) failed: stopped at t=");
    const out = JSON.parse(r.stdout) as ExperimentOutcome;
    expect(out).toMatchObject({ ran: 4, failed: 2 });
    expect(out.runs.map((x) => x.status)).toEqual(["failed", "failed", "complete", "complete"]);
    // The failed runs are recorded as such (with the events they got to), the others complete.
    expect(statuses(join(dir, "failing.db")).sort()).toEqual(["complete", "complete", "failed", "failed"]);
  });
});

describe("statistics of an experiment", () => {
  let small: ReturnType<typeof summarizeDatabase>;
  let large: ReturnType<typeof summarizeDatabase>;
  const db3 = join(dir, "stats-3.db");
  const db12 = join(dir, "stats-12.db");

  beforeAll(() => {
    const file = writeScenario(dir, "stats", TEXT);
    runJson(file, "--db", db3, "--no-events");
    small = summarizeDatabase(db3);
    copyFileSync(db3, db12);
    const more = runJson(file, "--db", db12, "--no-events", "--set", "experiment.replications=12");
    expect(more).toMatchObject({ skipped: STORED, ran: 4 * 9 * 3 - 2 * 2 * 9 });
    large = summarizeDatabase(db12);
  }, 120_000);

  it("has one row per cell × service model × metric and per cell × model pair × metric", () => {
    const metrics = new Set(small.cells.map((r) => r.metric));
    expect(metrics.has("availability") && metrics.has("cost.userUsdPerVmMonth") && metrics.has("recoveryTimeHours.p99")).toBe(true);
    expect(small.cells).toHaveLength(4 * 3 * metrics.size);
    expect(small.paired).toHaveLength(4 * 3 * metrics.size);
    const row = small.cells.find((r) => r.metric === "availability" && r.serviceModel === "vps" && r.cell["storage.replicas"] === 2)!;
    expect(row.experiment).toBe("tiny-exp");
    expect(row.summary.n).toBe(3);
    expect(row.summary.ciLow).toBeLessThan(row.summary.mean);
    expect(row.summary.ciHigh).toBeGreaterThan(row.summary.mean);
  });

  it("gives narrower confidence intervals with 12 replications than with 3", () => {
    // The half-width is t(0.975, n − 1) · sd / √n: 2.48 sd with 3 seeds, 0.64 sd with 12. The sd
    // estimated from 3 seeds is itself noisy, so a single interval may not shrink; nearly all must,
    // and on the whole they must shrink about as t/√n says.
    const ratios: number[] = [];
    for (const r of small.cells.filter((x) => x.metric === "availability" || x.metric === "downtimeHoursPerVmYear")) {
      const l = large.cells.find((x) => x.metric === r.metric && x.serviceModel === r.serviceModel && JSON.stringify(x.cell) === JSON.stringify(r.cell))!;
      expect(l.summary.n).toBe(12);
      if (r.summary.sd > 0) ratios.push(halfWidth(l.summary) / halfWidth(r.summary));
    }
    expect(ratios.length).toBeGreaterThanOrEqual(16);
    expect(ratios.filter((x) => x < 1).length / ratios.length).toBeGreaterThanOrEqual(0.9);
    const sorted = [...ratios].sort((a, b) => a - b);
    expect(sorted[sorted.length >> 1]).toBeLessThan(0.5);
  });

  it("gives tighter paired differences than unpaired (Welch) ones on the same runs", () => {
    const store = EventStore.openReadonly(db12);
    const runs = store.completeRunsOf();
    const [recorded] = store.listExperiments();
    store.close();
    let tighter = 0;
    let compared = 0;
    for (const row of large.paired.filter((r) => r.metric === "availability" || r.metric === "downtimeHoursPerVmYear")) {
      const cell = recorded!.cells.find((c) => JSON.stringify(c.values) === JSON.stringify(row.cell))!;
      // A reused model's runs are those of the cell it reuses (same configuration for that model).
      const hash = (model: string) => {
        const source = recorded!.definition.reusedFrom?.[String(cell.index)]?.[model];
        return source === undefined ? cell.scenarioHash : recorded!.cells[source]!.scenarioHash;
      };
      const values = (model: string) =>
        runs.filter((r) => r.scenarioHash === hash(model) && r.serviceModel === model).map((r) => (r.metrics as RunMetrics)[row.metric as "availability"]!);
      const welch = welchDifference(values(row.a), values(row.b));
      expect(row.summary.mean).toBeCloseTo(welch.mean, 9); // same data, same mean difference
      compared++;
      if (halfWidth(row.summary) < halfWidth(welch)) tighter++;
    }
    expect(compared).toBe(4 * 3 * 2);
    expect(tighter).toBe(compared);
  });

  it("are printed by testbed summarize as a table, JSON and CSV", () => {
    const table = testbed("summarize", db3);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("tiny-exp — failures.host.hardware.timeToFailureHours.mean = 1000, storage.replicas = 1");
    expect(table.stdout).toMatch(/availability\s+0\.\d+ ± 0\.\d+/);
    const json = JSON.parse(testbed("summarize", db3, "--json").stdout) as typeof small;
    expect(json.cells).toHaveLength(small.cells.length);
    const csv = testbed("summarize", db3, "--csv", "--metric", "availability").stdout.trim().split("\n");
    expect(csv[0]).toBe("kind,experiment,cell,model,baseline,metric,n,mean,sd,ci_low,ci_high,method,confidence,p_value,p_adjusted,flag");
    expect(csv).toHaveLength(1 + 4 * 3 + 4 * 3);
    expect(csv[1]).toMatch(/^cell,tiny-exp,failures\.host\.hardware\.timeToFailureHours\.mean=1000;storage\.replicas=1,ephemeral,,availability,3,/);
    expect(testbed("summarize", db3, "--json", "--csv").code).toBe(2);
    expect(testbed("summarize", db3, "--metric", "nonsense").stderr).toContain("expected one of availability");
    expect(readFileSync(db3).length).toBeGreaterThan(0);
  });

  it("give proportions exact intervals and flag t intervals with three seeds", () => {
    const loss = small.cells.filter((r) => r.metric === "anyDataLoss");
    expect(loss.every((r) => r.method === "clopper-pearson" && r.flag === undefined)).toBe(true);
    // 3 runs: a count of 0 keeps its upper bound 1 − 0.025^(1/3) = 0.708, a count of 3 its lower one.
    for (const r of loss) {
      if (r.summary.mean === 0) expect(r.summary.ciHigh).toBeCloseTo(1 - 0.025 ** (1 / 3), 6);
      if (r.summary.mean === 1) expect(r.summary.ciLow).toBeCloseTo(0.025 ** (1 / 3), 6);
    }
    expect(small.cells.filter((r) => r.metric === "availability").every((r) => r.flag !== undefined)).toBe(true);
    expect(testbed("summarize", db3).stdout).toMatch(/flagged \(\d+\): intervals with too few replications/);
  });

  it("adjust a family of paired comparisons with --adjust: Holm p-values, simultaneous intervals", () => {
    const plain = summarizeDatabase(db12, { metrics: ["availability", "downtimeHoursPerVmYear"] });
    const holm = summarizeDatabase(db12, { metrics: ["availability", "downtimeHoursPerVmYear"], adjust: "holm" });
    const m = holm.paired.filter((r) => Number.isFinite(r.pValue)).length;
    expect(m).toBeGreaterThan(1);
    holm.paired.forEach((r, i) => {
      const before = plain.paired[i]!;
      expect(r.confidence).toBeCloseTo(1 - 0.05 / m, 12);
      expect(r.pValue).toBe(before.pValue);
      if (Number.isFinite(r.pValue)) expect(r.pAdjusted!).toBeGreaterThanOrEqual(r.pValue!);
      if (before.summary.sd > 0) expect(r.summary.ciHigh - r.summary.ciLow).toBeGreaterThan(before.summary.ciHigh - before.summary.ciLow);
    });
    const out = testbed("summarize", db12, "--metric", "availability", "--adjust", "bonferroni");
    expect(out.code).toBe(0);
    expect(out.stdout).toContain("bonferroni-adjusted: simultaneous");
    expect(testbed("summarize", db12, "--adjust", "tukey").code).toBe(2);
  });

  it("groups complete runs that belong to no experiment by scenario, with an empty cell", () => {
    const db = join(dir, "plain-runs.db");
    const plain = writeScenario(dir, "plain-runs", BASE);
    for (const seed of ["1", "2", "3"]) expect(testbed("run", plain, "--db", db, "--seed", seed, "--no-events", "--quiet").code).toBe(0);
    expect(testbed("run", plain, "--db", db, "--seed", "1", "--no-events", "--quiet", "--set", "storage.replicas=1").code).toBe(0);
    const { cells, paired } = summarizeDatabase(db);
    const experiments = [...new Set(cells.map((r) => r.experiment))];
    expect(experiments).toHaveLength(2);
    expect(experiments.every((e) => /^tiny-exp@[0-9a-f]{12}$/.test(e))).toBe(true);
    const three = cells.filter((r) => r.metric === "availability" && r.summary.n === 3);
    expect(three.map((r) => r.serviceModel)).toEqual(["ephemeral", "vps", "persistent-ha"]);
    expect(three.every((r) => JSON.stringify(r.cell) === "{}")).toBe(true);
    expect(paired.filter((r) => r.metric === "availability" && r.summary.n === 3)).toHaveLength(3);
  });
});
