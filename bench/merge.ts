/**
 * Merge throughput (`testbed merge`, `mergeShards`): shards as Slurm array tasks write them, merged
 * into a fresh results database; runs/s and events/s of the merge (checks included: schema,
 * experiment, every row's chained digest and each run's log hash).
 *
 * The shards are made once, untimed: one array task of a job plan (`runPlanTask`, as `slurm-task`
 * runs it) computes `base` runs of the busy scenario (20 hosts, 200 h: ≈ 11 k events each) into a
 * shard; its runs are then copied inside the shard under other seeds until it holds `perShard`
 * runs, and the shard is copied `shards` times with seeds shifted again (so that no run of one
 * shard is in another): real rows, many of them, without computing them all.
 *
 *   node dist/bench/merge.js events|no-events [perShard] [shards]
 */
import Database from "better-sqlite3";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expandExperiment } from "../src/experiment/expand.js";
import { mergeShards } from "../src/experiment/merge.js";
import { planSlurmJob, runPlanTask, shardFile } from "../src/experiment/slurm-plan.js";
import { busyScenarioText, measure } from "./common.js";

const mode = process.argv[2];
if (mode !== "events" && mode !== "no-events") {
  process.stderr.write("usage: merge.js events|no-events [perShard] [shards]\n");
  process.exit(2);
}
const storeEvents = mode === "events";
const perShard = Number(process.argv[3] ?? (storeEvents ? 25 : 10_000));
const shards = Number(process.argv[4] ?? (storeEvents ? 4 : 10));
const BASE_RUNS = 5;

const dir = mkdtempSync(join(tmpdir(), "vm-testbed-bench-merge-"));
try {
  const text = `${busyScenarioText("bench-merge", 20, 200)}experiment:\n  replications: ${BASE_RUNS}\n`;
  const plan = expandExperiment("(bench merge)", text);
  const jobDir = join(dir, "job");
  mkdirSync(join(jobDir, "shards"), { recursive: true });
  const slurmPlan = planSlurmJob(plan, new Set(), { db: join(dir, "unused.db"), jobDir, file: "(bench merge)" }, { tasks: 1, storeEvents, check: false, packageVersion: "bench", gitCommit: null, medianRunSeconds: null })!;
  const stop = new Int32Array(new SharedArrayBuffer(4));
  await runPlanTask(slurmPlan, 0, { arrayJobId: "1", arrayTaskId: 0, jobId: "1" }, stop);
  const base = shardFile(jobDir, 0);
  amplify(base, perShard);
  const files = Array.from({ length: shards }, (_, i) => {
    const file = join(dir, `shard-${i}.db`);
    copyFileSync(base, file);
    shiftSeeds(file, (i + 1) * 10_000_000);
    return file;
  });
  const cpu = process.cpuUsage();
  await measure(`merge-${mode} (${shards} shards × ${perShard} runs)`, () => {
    const report = mergeShards(join(dir, "merged.db"), files);
    if (report.refused > 0 || report.merged !== shards * perShard) throw new Error(`expected ${shards * perShard} runs merged: ${JSON.stringify(report.shards.map((s) => s.reason ?? s.merged))}`);
    const events = report.shards.reduce((n, s) => n + s.events, 0);
    const used = process.cpuUsage(cpu);
    process.stderr.write(`${report.merged} runs, ${events} events merged; CPU time of the process ${((used.user + used.system) / 1000).toFixed(0)} ms (the wall time includes waiting for a busy machine)\n`);
    return storeEvents ? events : report.merged;
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Copies the shard's runs (rows, events, checkpoints) under new seeds until it holds `total` runs. */
function amplify(file: string, total: number): void {
  const db = new Database(file);
  const columns = "scenario_name, scenario_file, scenario_yaml, scenario_json, scenario_hash, seed, service_model, package_version, git_commit, events_stored, started_at, ended_at, status, event_count, final_t, state_hash, log_hash, metrics_json, error, pid";
  const originals = db.prepare("SELECT id FROM runs ORDER BY id").pluck().all() as number[];
  const copyRun = db.prepare(`INSERT INTO runs (${columns}) SELECT ${columns.replace("seed,", "seed + ?,")} FROM runs WHERE id = ?`);
  const copyEvents = db.prepare("INSERT INTO events (run_id, seq, t, type, payload, digest) SELECT ?, seq, t, type, payload, digest FROM events WHERE run_id = ?");
  db.transaction(() => {
    for (let k = originals.length; k < total; k++) {
      const from = originals[k % originals.length]!;
      const id = Number(copyRun.run(1000 * Math.floor(k / originals.length), from).lastInsertRowid);
      copyEvents.run(id, from);
    }
  })();
  db.close();
}

function shiftSeeds(file: string, by: number): void {
  const db = new Database(file);
  db.prepare("UPDATE runs SET seed = seed + ?").run(by);
  db.close();
}
