import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventStore, runKey } from "../../src/event-store/event-store.js";
import type { SlurmPlan } from "../../src/experiment/slurm-plan.js";
import { CLI, tempDir, testbed, tinyFleetScenario, writeScenario } from "../helpers.js";
import { runSlurmTests, SlurmCluster } from "./slurm-cluster.js";

/**
 * Ten hosts failing often, 40 VMs, three service models, 2 cells × 4 seeds: 24 runs of ~0.3 s. The
 * swept path is one every model reads, so no cell reuses another's runs.
 */
const TEXT = `${tinyFleetScenario("slurm-exp", 12000)}experiment:
  sweep:
    failures.host.crash.timeToFailureHours.mean: [300, 400]
  replications: 4
`;
const RUNS = 24;

const dir = tempDir("vm-testbed-slurm-");
const file = writeScenario(dir, "slurm-exp", TEXT);

/** key → [state hash, log hash] of the complete runs; fails if a key has two complete runs. */
function hashesIn(db: string): Map<string, [string | null, string | null]> {
  const store = EventStore.openReadonly(db);
  const runs = store.completeRunsOf();
  store.close();
  const map = new Map(runs.map((r) => [runKey(r.scenarioHash, r.seed, r.serviceModel), [r.stateHash, r.logHash] as [string | null, string | null]]));
  expect(map.size).toBe(runs.length);
  return map;
}

interface SlurmJson {
  runs: number;
  missing: number;
  job: { jobId: string; jobDir: string; tasks: number; runs: number; states: Record<string, string> | null } | null;
  merge: { merged: number; skipped: number; refused: number };
}

describe("testbed run --slurm: bad input", () => {
  it("names sbatch when it is not on PATH (exit 2), before writing anything", () => {
    const db = join(dir, "nopath", "runs.db");
    // A PATH with node and nothing else.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
    const r = spawnSync(join(bin, "node"), [CLI, "run", file, "--slurm", "--db", db], { encoding: "utf8", env: { PATH: bin } });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("--slurm: sbatch and squeue not found on PATH (Slurm's client commands, Debian package slurm-client)\n");
    expect(existsSync(db)).toBe(false);
  });

  it("refuses --slurm on a scenario without an experiment section (exit 2)", () => {
    const single = writeScenario(dir, "single", TEXT.replace(/experiment:[\s\S]*$/, ""));
    const r = testbed("run", single, "--slurm", "--db", join(dir, "single.db"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--slurm: ${single} has no experiment section`);
  });

  it("refuses Slurm flags without --slurm, --jobs with it, and a malformed --time (exit 2)", () => {
    expect(testbed("run", file, "--tasks", "4").stderr).toBe("--tasks: only with --slurm\n");
    expect(testbed("run", file, "--slurm", "--jobs", "2").stderr).toContain("--jobs: with --slurm each array task runs its runs one after another");
    const r = testbed("run", file, "--slurm", "--time", "1 hour");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`--time: expected HH:MM:SS (or Slurm's MM, MM:SS, D-HH:MM:SS), got "1 hour"\n`);
  });
});

describe.runIf(runSlurmTests())("testbed run --slurm on a single-node Slurm", () => {
  let cluster: SlurmCluster;
  const local = join(dir, "local", "runs.db");
  const whole = join(dir, "whole", "runs.db");
  beforeAll(() => {
    cluster = SlurmCluster.up();
    expect(testbed("run", file, "--jobs", "1", "--db", local, "--quiet").code).toBe(0);
  }, 300_000);
  afterAll(() => cluster?.down(), 60_000);

  /**
   * Starts `testbed run --slurm --tasks 4` into `db` in the background and waits until array task
   * `task` has completed a run and is still running (its log says so): its job id, log and exit.
   */
  async function startJobAndWaitForRun(db: string, task: number, ...flags: string[]) {
    const child = spawn(process.execPath, [CLI, "run", file, "--slurm", "--tasks", "4", "--db", db, "--json", ...flags], { env: cluster.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, "exit");
    const jobDir = join(dirname(db), "slurm", "slurm-exp-1");
    const log = join(jobDir, "logs", `task-${task}.out`);
    let jobId: string | null = null;
    for (let i = 0; i < 600 && jobId === null; i++) {
      await sleep(100);
      const text = existsSync(log) ? readFileSync(log, "utf8") : "";
      if (/: complete,/.test(text) && !new RegExp(`^task ${task}:`, "m").test(text)) jobId = (JSON.parse(readFileSync(join(jobDir, "job.json"), "utf8")) as { jobId: string }).jobId;
    }
    expect(jobId, `task ${task} never ran a run: ${stderr}`).not.toBeNull();
    return { jobId: jobId!, log, exited, output: () => ({ stdout, stderr }) };
  }

  it("runs an experiment of 24 runs as 4 array tasks: the same runs, state and log hashes and summary as --jobs 1 locally", () => {
    const r = cluster.testbed("run", file, "--slurm", "--tasks", "4", "--db", whole, "--json");
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SlurmJson;
    expect(out).toMatchObject({ runs: RUNS, missing: 0, merge: { merged: RUNS, refused: 0 } });
    expect(out.job!.tasks).toBe(4);
    expect(Object.values(out.job!.states!)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED"]);
    expect(hashesIn(whole)).toEqual(hashesIn(local));
    expect(testbed("summarize", whole).stdout).toBe(testbed("summarize", local).stdout);
    expect(testbed("replay", whole, "--verify").code).toBe(0);
    // Each run records the array job and the task that computed it.
    const store = EventStore.openReadonly(whole);
    const ids = store.completeRunsOf().map((run) => store.slurmIdsOf(run.id));
    store.close();
    expect(new Set(ids.map((s) => s?.arrayJobId))).toEqual(new Set([out.job!.jobId]));
    expect(new Set(ids.map((s) => s?.arrayTaskId))).toEqual(new Set([0, 1, 2, 3]));
    for (const s of ids) expect(s!.jobId).toMatch(/^\d+$/);
    expect(testbed("inspect", whole, "--run", "1").stdout).toMatch(new RegExp(`computed by Slurm array job ${out.job!.jobId}, task \\d \\(job \\d+\\)`));
  }, 300_000);

  it("after one array task is cancelled mid-way, the rerun submits only the missing runs and the database equals an uninterrupted one", async () => {
    const db = join(dir, "cancelled", "runs.db");
    // Task 1, once it has completed a run and is still running: cancelled.
    const { jobId, log, exited, output } = await startJobAndWaitForRun(db, 1);
    expect(cluster.client("scancel", `${jobId}_1`).status).toBe(0);
    const [code] = (await exited) as [number];
    const { stdout, stderr } = output();
    expect(code, stderr).toBe(1);
    const first = JSON.parse(stdout) as SlurmJson;
    expect(first.job!.states!["1"]).toBe("CANCELLED");
    expect(first.missing).toBeGreaterThan(0);
    expect(first.missing).toBeLessThan(6);
    expect(stderr).toContain(`runs still missing (task 1 CANCELLED)`);
    expect(readFileSync(log, "utf8")).toMatch(/SIGTERM: interrupting the run in progress|CANCELLED/);

    const again = cluster.testbed("run", file, "--slurm", "--tasks", "4", "--db", db, "--json");
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as SlurmJson;
    expect(second.job!.runs).toBe(first.missing);
    const plan = JSON.parse(readFileSync(join(second.job!.jobDir, "plan.json"), "utf8")) as SlurmPlan;
    expect(plan.tasks.flat()).toHaveLength(first.missing);
    expect(second.missing).toBe(0);
    expect(hashesIn(db)).toEqual(hashesIn(local));
  }, 300_000);

  it("a task requeued mid-way (scontrol requeue) starts again, skips the runs its shard has, and the job ends complete", async () => {
    const db = join(dir, "requeued", "runs.db");
    const { jobId, log, exited, output } = await startJobAndWaitForRun(db, 0, "--sbatch-arg=--requeue");
    expect(cluster.client("scontrol", "requeue", `${jobId}_0`).status).toBe(0);
    const [code] = (await exited) as [number];
    const { stdout, stderr } = output();
    expect(code, stderr).toBe(0);
    expect((JSON.parse(stdout) as SlurmJson).missing).toBe(0);
    // The task's log holds both of its starts; the second skipped what the first completed.
    const text = readFileSync(log, "utf8");
    expect(text.match(/^array job \d+ task 0 /gm)).toHaveLength(2);
    expect(text).toMatch(/^task 0: \d+ runs complete, [1-9]\d* were already, 0 failed$/m);
    expect(hashesIn(db)).toEqual(hashesIn(local));
  }, 300_000);

  it("--no-wait returns with the job id and the command that finishes it; that command waits, merges and submits nothing more", () => {
    const db = join(dir, "nowait", "runs.db");
    const r = cluster.testbed("run", file, "--slurm", "--runs-per-task", "8", "--db", db, "--no-wait");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/submitted Slurm job \d+: 3 array tasks of at most 8 runs \(--runs-per-task\)/);
    const finish = /merge its shards and submit what is missing with: testbed (.*)\n/.exec(r.stderr)![1]!.split(" ");
    expect(finish).toEqual(["run", file, "--slurm", "--runs-per-task", "8", "--db", db]);
    const done = cluster.testbed(...finish);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain(`merged ${RUNS} runs from 3 earlier shards`);
    expect(done.stderr).toContain(`all ${RUNS} runs are complete`);
    expect(hashesIn(db)).toEqual(hashesIn(local));
  }, 300_000);

  it("reports Slurm's refusal (an unknown partition) with its message (exit 1)", () => {
    const r = cluster.testbed("run", file, "--slurm", "--partition", "nosuch", "--db", join(dir, "refused", "runs.db"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/testbed: sbatch refused the job \(exit 1\): sbatch: error: .*(invalid partition|Invalid partition)/i);
  }, 60_000);
});
