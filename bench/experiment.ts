/**
 * Experiment runner speed-up: a CPU-bound sweep — the busy scenario (`busyScenarioText`, 100
 * hosts, 500 h, persistent-ha) with the hardware failure scale swept over 2 values and 4 seeds, 8 runs of
 * ≈ 0.25 M events each without event logs — run by `runExperiment` on `jobs` worker threads into a
 * fresh database. `bench/run.ts` compares the 1- and 2-worker medians (target: ≥ 1.7× on 2 cores).
 *
 * With `stored`, every run also writes its event log: the workers' connections then contend for
 * SQLite's single writer lock (WAL, busy timeout), which this measures.
 *
 *   node dist/bench/experiment.js [stored] <jobs> [<jobs>...]   # e.g. 1 2: one measurement each, in turn
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expandExperiment } from "../src/experiment/expand.js";
import { runExperiment } from "../src/experiment/runner.js";
import { benchProvenance, busyScenarioText, measure } from "./common.js";

const stored = process.argv[2] === "stored";
const jobList = process.argv.slice(stored ? 3 : 2).map(Number);
if (jobList.length === 0 || !jobList.every((j) => Number.isInteger(j) && j >= 1)) {
  process.stderr.write("usage: experiment.js [stored] <jobs> [<jobs>...]   (each measured in turn; stored: with event logs)\n");
  process.exit(2);
}
const SWEEP_TEXT = `${busyScenarioText("bench-sweep", 100, 500)}experiment:
  sweep:
    failures.host.hardware.timeToFailureHours.scale: [200, 800]
  replications: 4
`;
const dir = mkdtempSync(join(tmpdir(), "vm-testbed-bench-"));
try {
  const plan = expandExperiment("(bench sweep)", SWEEP_TEXT);
  for (const [i, jobs] of jobList.entries()) await measure(`experiment-sweep${stored ? "-stored" : ""} (${plan.runs.length} runs, ${jobs} worker${jobs === 1 ? "" : "s"})`, async () => {
    const outcome = await runExperiment(plan, { db: join(dir, `runs-${i}.db`), jobs, storeEvents: stored, check: false, provenance: benchProvenance });
    if (outcome.failed > 0 || outcome.ran !== plan.runs.length) throw new Error(`expected ${plan.runs.length} runs, ${outcome.ran} ran, ${outcome.failed} failed`);
    return outcome.runs.reduce((sum, r) => sum + (r.eventCount ?? 0), 0);
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
