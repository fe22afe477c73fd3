#!/usr/bin/env node
/**
 * `npm run thesis [-- --full] [-- --jobs N] [-- --quiet]`: the thesis experiment end to end.
 *
 *  1. runs `scenarios/thesis.yaml` (an experiment) into `results/thesis/runs.db` without event
 *     logs; `--full` raises its replications to 30 (the cells keep their hashes, so the runs of the
 *     default size are reused and only the new seeds run); an interrupted run resumes;
 *  2. adds, once, one year of `scenarios/fleet-comparison.yaml` (seed 1, the three models) with its
 *     event logs, for the charts drawn from a run's events (recovery-time CDF, run timeline);
 *  3. summarizes it into `results/thesis/summary.{txt,csv,json}` and prints the table;
 *  4. draws the charts into `results/thesis/charts/` and writes `results/thesis/report.html`.
 *
 * Exit code: that of the experiment (1 if a run failed, 130 if interrupted), else 0.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const FULL_REPLICATIONS = 30;

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const scenario = join(root, "scenarios", "thesis.yaml");
const out = join(root, "results", "thesis");
const db = join(out, "runs.db");

const argv = process.argv.slice(2);
const full = argv.includes("--full");
const quiet = argv.includes("--quiet");
const jobsAt = argv.indexOf("--jobs");
const jobs = jobsAt >= 0 ? argv[jobsAt + 1] : undefined;
const unknown = argv.filter((a, i) => !["--full", "--quiet", "--jobs"].includes(a) && !(jobsAt >= 0 && i === jobsAt + 1));
if (unknown.length > 0 || (jobsAt >= 0 && jobs === undefined)) {
  process.stderr.write(`usage: npm run thesis [-- --full] [-- --jobs N] [-- --quiet]; not understood: ${unknown.join(" ") || "--jobs without a number"}\n`);
  process.exit(2);
}

function testbed(args: string[], capture: boolean): { status: number; stdout: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: ["ignore", capture ? "pipe" : "inherit", "inherit"], encoding: "utf8", maxBuffer: 1 << 28 });
  return { status: r.status ?? 1, stdout: r.stdout ?? "" };
}

mkdirSync(out, { recursive: true });
const started = performance.now();
const run = testbed(
  ["run", scenario, "--db", db, "--no-events", ...(full ? ["--set", `experiment.replications=${FULL_REPLICATIONS}`] : []), ...(jobs ? ["--jobs", jobs] : []), ...(quiet ? ["--quiet"] : [])],
  false,
);
const seconds = (performance.now() - started) / 1000;
process.stderr.write(`thesis experiment: ${seconds.toFixed(1)} s wall time\n`);
if (run.status !== 0 && run.status !== 1) process.exit(run.status);

// One run per model with its event log, for the charts that need events; kept across invocations.
const example = join(root, "scenarios", "fleet-comparison.yaml");
const listed = testbed(["inspect", db, "--json"], true);
const runs = listed.status === 0 ? (JSON.parse(listed.stdout) as { runs: { scenario: string; complete: boolean; storedEvents: number }[] }).runs : [];
if (runs.filter((r) => r.scenario === "fleet-comparison" && r.complete && r.storedEvents > 0).length < 3) {
  const step = testbed(["run", example, "--db", db, "--seed", "1", ...(quiet ? ["--quiet"] : [])], quiet);
  if (step.status !== 0) process.exit(step.status);
}

for (const [format, file] of [["", "summary.txt"], ["--csv", "summary.csv"], ["--json", "summary.json"]] as const) {
  const summary = testbed(["summarize", db, ...(format ? [format] : [])], true);
  if (summary.status !== 0) process.exit(summary.status);
  writeFileSync(join(out, file), summary.stdout);
  if (file === "summary.txt" && !quiet) process.stdout.write(summary.stdout);
}
process.stderr.write(`summary written to ${join(out, "summary.{txt,csv,json}")}\n`);

// The charts (results/thesis/charts/) and the HTML report (results/thesis/report.html).
for (const args of [["chart", db, "--out", join(out, "charts")], ["report", db, "--out", join(out, "report.html")]]) {
  const step = testbed(args, quiet);
  if (step.status !== 0) process.exit(step.status);
}

process.exit(run.status);
