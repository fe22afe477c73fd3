/**
 * The benchmark suite: runs every benchmark in a fresh child process (`node dist/bench/<x>.js`)
 * several times and prints the medians — events per second, wall-clock ms of the timed section
 * and peak RSS of the process — next to the targets. See bench/README.md.
 *
 *   npm run bench                 # build, then run everything (a few minutes)
 *   node dist/bench/run.js --json # the same, as JSON (with every single run)
 *   node dist/bench/run.js --runs 1 --only kernel,store
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Measurement } from "./common.js";

interface Case {
  /** Which script, and the word `--only` selects it by. */
  script: "kernel" | "store" | "replay" | "end-to-end" | "scale" | "placement" | "experiment" | "ladder" | "merge";
  args: string[];
  runs: number;
}

/** What each benchmark should reach on the reference machine (2 cores): a rate, or a wall time and memory. */
interface Target {
  eventsPerSecond?: number;
  maxMs?: number;
  maxRssMB?: number;
}
const TARGETS: Record<string, Target> = {
  "kernel-10-timers": { eventsPerSecond: 5_000_000 },
  "store-append": { eventsPerSecond: 500_000 },
  replay: { eventsPerSecond: 1_000_000 },
  "replay-verify": { eventsPerSecond: 1_000_000 },
  "placement-first-fit (10000 hosts)": { eventsPerSecond: 50_000 },
};
/**
 * The scale ladder (issue 18): `scale-50k.yaml` resized to each of these host counts, everything
 * in proportion (a rack per 40 hosts, two long-lived VMs per host, an arrival an hour per 5 000
 * hosts), a year of persistent-ha without the event log; the exponent of run time against hosts
 * fitted over the ladder should be ≤ 1.1, and the 200 000-host year (400 000 VMs) should take
 * < 5 minutes and < 8 GiB.
 */
const LADDER_HOSTS = [1_000, 10_000, 50_000, 200_000];
const LADDER_EXPONENT_TARGET = 1.1;
const ladderName = (hosts: number) => `ladder (${hosts / 1000}k hosts, persistent-ha)`;
TARGETS[ladderName(200_000)] = { maxMs: 300_000, maxRssMB: 8192 };
/** What the experiment runner on 2 workers should gain over 1 on a 2-core machine (issue 6). */
const SPEED_UP_TARGET = 1.7;
const MODELS = ["ephemeral", "vps", "persistent-ha"];
for (const model of MODELS) {
  TARGETS[`scale-stored (scale-1k, ${model})`] = { maxMs: 10_000, maxRssMB: 1024 };
  TARGETS[`scale-no-events (scale-50k, ${model})`] = { maxMs: 60_000 };
}

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const json = argv.includes("--json");
const runsOverride = optionValue("--runs");
const only = optionValue("--only")?.split(",");

/** The end-to-end scenario, a committed file: 1 000 hosts, 10 000 VMs, a year, three service models. */
const scale1k = join(here, "..", "..", "bench", "scenarios", "scale-1k.yaml");
/** 50 000 hosts, 100 000 VMs, a year: one model at a time, without the event log. */
const scale50k = join(here, "..", "..", "bench", "scenarios", "scale-50k.yaml");
const dir = mkdtempSync(join(tmpdir(), "vm-testbed-bench-"));
const replayDb = join(dir, "replay.db");
const cases: Case[] = [
  { script: "kernel", args: ["10"], runs: 5 },
  { script: "kernel", args: ["1000"], runs: 5 },
  { script: "kernel", args: ["100000"], runs: 5 },
  { script: "store", args: [], runs: 5 },
  { script: "replay", args: ["plain", replayDb], runs: 5 },
  { script: "replay", args: ["verify", replayDb], runs: 5 },
  { script: "end-to-end", args: ["no-events", scale1k], runs: 3 },
  { script: "end-to-end", args: ["stored", scale1k], runs: 3 },
  ...["first-fit", "round-robin", "worst-fit", "best-fit"].map((policy) => ({ script: "placement" as const, args: [policy], runs: 3 })),
  ...["first-fit", "worst-fit"].map((policy) => ({ script: "placement" as const, args: [policy, "10000", policy === "first-fit" ? "200000" : "20000", "constrained"], runs: 3 })),
  ...MODELS.map((model) => ({ script: "scale" as const, args: [scale1k, model, "stored"], runs: 3 })),
  ...MODELS.map((model) => ({ script: "scale" as const, args: [scale50k, model, "no-events"], runs: 1 })),
  ...LADDER_HOSTS.map((hosts) => ({ script: "ladder" as const, args: [String(hosts)], runs: hosts >= 200_000 ? 1 : 3 })),
  // 1 and 2 workers alternate (one case, both in each run), so that a busy spell hits both alike.
  { script: "experiment", args: ["1", "2"], runs: 5 },
  { script: "experiment", args: ["stored", "1", "2"], runs: 3 },
  { script: "merge", args: ["no-events"], runs: 3 },
  { script: "merge", args: ["events"], runs: 3 },
].filter((c): c is Case => only === undefined || only.includes(c.script));

try {
  if (cases.some((c) => c.script === "replay")) {
    process.stderr.write("preparing the replay database (one stored run)...\n");
    node("replay", ["prepare", replayDb]);
  }
  const measurements: Measurement[] = [];
  for (const c of cases) {
    const runs = runsOverride === undefined ? c.runs : Number(runsOverride);
    for (let i = 1; i <= runs; i++) {
      process.stderr.write(`${c.script} ${c.args.join(" ")}: run ${i}/${runs}\n`);
      measurements.push(...node(c.script, c.args));
    }
  }
  const summary = summarize(measurements);
  const speedUp = experimentSpeedUp(summary);
  const ladder = ladderExponents(summary);
  if (json) process.stdout.write(`${JSON.stringify({ machine: machine(), summary, speedUp, ladder, measurements }, null, 2)}\n`);
  else {
    process.stdout.write(table(summary) + (speedUp === null ? "" : `\nexperiment runner: 2 workers ${speedUp.toFixed(2)}× faster than 1 (median wall times; target ≥ ${SPEED_UP_TARGET}× on 2 cores) ${speedUp >= SPEED_UP_TARGET ? "met" : "MISSED"}\n`));
    if (ladder !== null) {
      const verdict = (x: number) => `${x.toFixed(2)} (target ≤ ${LADDER_EXPONENT_TARGET}) ${x <= LADDER_EXPONENT_TARGET ? "met" : "MISSED"}`;
      process.stdout.write(`\nscale ladder ${ladder.hosts.join(", ")} hosts: run time ∝ hosts^k, least squares on log-log: wall k = ${verdict(ladder.wall)}, CPU k = ${verdict(ladder.cpu)}\n`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs one benchmark script in a fresh process and returns the measurements it printed. */
function node(script: string, args: string[]): Measurement[] {
  const out = execFileSync(process.execPath, [join(here, `${script}.js`), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 });
  return out
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Measurement);
}

interface Summary {
  bench: string;
  runs: number;
  events: number;
  eventsPerSecond: number;
  ms: number;
  /** Median CPU ms (user + system) of the timed section, where the benchmark reports it. */
  cpuMs: number | null;
  rssMB: number;
  target: Target | null;
  met: boolean | null;
}

function summarize(measurements: Measurement[]): Summary[] {
  const byBench = new Map<string, Measurement[]>();
  for (const m of measurements) byBench.set(m.bench, [...(byBench.get(m.bench) ?? []), m]);
  return [...byBench].map(([bench, ms]) => {
    const eventsPerSecond = median(ms.map((m) => (m.events / m.ms) * 1000));
    const target = TARGETS[bench] ?? null;
    const wall = median(ms.map((m) => m.ms));
    const rssMB = median(ms.map((m) => m.rssMB));
    const met =
      target === null
        ? null
        : (target.eventsPerSecond === undefined || eventsPerSecond >= target.eventsPerSecond) &&
          (target.maxMs === undefined || wall <= target.maxMs) &&
          (target.maxRssMB === undefined || rssMB <= target.maxRssMB);
    const cpuMs = ms.every((m) => m.cpuMs !== undefined) ? median(ms.map((m) => m.cpuMs!)) : null;
    return { bench, runs: ms.length, events: median(ms.map((m) => m.events)), eventsPerSecond, ms: wall, cpuMs, rssMB, target, met };
  });
}

/** The exponent k of time ∝ hosts^k over the ladder's rungs that ran (at least two): the slope of the least-squares line through (log hosts, log median time). */
function ladderExponents(summary: Summary[]): { hosts: number[]; wall: number; cpu: number } | null {
  const rungs = LADDER_HOSTS.map((hosts) => ({ hosts, s: summary.find((s) => s.bench === ladderName(hosts)) })).filter((r) => r.s !== undefined);
  if (rungs.length < 2) return null;
  const x = rungs.map((r) => Math.log(r.hosts));
  const slope = (y: number[]) => {
    const mx = x.reduce((a, b) => a + b, 0) / x.length;
    const my = y.reduce((a, b) => a + b, 0) / y.length;
    let sxy = 0;
    let sxx = 0;
    for (let i = 0; i < x.length; i++) {
      sxy += (x[i]! - mx) * (y[i]! - my);
      sxx += (x[i]! - mx) ** 2;
    }
    return sxy / sxx;
  };
  return { hosts: rungs.map((r) => r.hosts), wall: slope(rungs.map((r) => Math.log(r.s!.ms))), cpu: slope(rungs.map((r) => Math.log(r.s!.cpuMs ?? r.s!.ms))) };
}

/** Median wall time on 1 worker / on 2 workers, if both were measured. */
function experimentSpeedUp(summary: Summary[]): number | null {
  const one = summary.find((s) => /^experiment-sweep \(.*, 1 worker\)$/.test(s.bench));
  const two = summary.find((s) => /^experiment-sweep \(.*, 2 workers\)$/.test(s.bench));
  return one && two ? one.ms / two.ms : null;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function table(summary: Summary[]): string {
  const header = ["benchmark", "runs", "events", "events/s (median)", "wall ms", "CPU ms", "peak RSS MB", "target"];
  const rows = summary.map((s) => [
    s.bench,
    String(s.runs),
    String(Math.round(s.events)),
    Math.round(s.eventsPerSecond).toLocaleString("en-US"),
    s.ms.toFixed(0),
    s.cpuMs === null ? "–" : s.cpuMs.toFixed(0),
    s.rssMB.toFixed(0),
    s.target === null ? "–" : `${describeTarget(s.target)} ${s.met ? "met" : "MISSED"}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  const m = machine();
  return [`${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}`, "", line(header), ...rows.map(line), ""].join("\n");
}

function describeTarget(t: Target): string {
  const parts: string[] = [];
  if (t.eventsPerSecond !== undefined) parts.push(`≥ ${t.eventsPerSecond.toLocaleString("en-US")}/s`);
  if (t.maxMs !== undefined) parts.push(`≤ ${t.maxMs / 1000} s`);
  if (t.maxRssMB !== undefined) parts.push(`≤ ${t.maxRssMB} MB`);
  return parts.join(", ");
}

function machine() {
  let cpu = cpus()[0]?.model ?? "unknown CPU";
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpu;
  } catch {
    // not Linux: keep what os.cpus() says
  }
  return { cpu, cores: cpus().length, node: process.version, date: new Date().toISOString().slice(0, 10) };
}

function optionValue(name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
