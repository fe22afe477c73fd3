import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SingleBar } from "cli-progress";
import { EventStore, runKey } from "../event-store/event-store.js";
import type { ExperimentPlan } from "../experiment/expand.js";
import { mergeShards, type MergeReport } from "../experiment/merge.js";
import { experimentDefinition, storedCells } from "../experiment/expand.js";
import { parseSlurmPlan, planSlurmJob, runPlanTask, shardFile, type SlurmPlan } from "../experiment/slurm-plan.js";
import { currentProvenance } from "../recording/provenance.js";
import { ExitCode, UsageError } from "./exit-codes.js";
import { arrayState, missingSlurmCommands, partitionCpus, sbatch, type ArrayState } from "./slurm-client.js";

export interface SlurmCommandOptions {
  db: string;
  storeEvents: boolean;
  check: boolean;
  json: boolean;
  progress: boolean;
  tasks?: number;
  runsPerTask?: number;
  partition?: string;
  time?: string;
  sbatchArgs: string[];
  wait: boolean;
  /** The command line that started this (to print the command that finishes a job). */
  argv: string[];
}

/** What `job.json` in a job folder records once sbatch accepted the job. */
interface SubmittedJob {
  jobId: string;
  jobName: string;
  experiment: string;
  db: string;
  tasks: number;
  runs: number;
  runsPerTask: number;
  sizing: string;
  sbatch: string[];
}

/** How often squeue is asked while waiting (Slurm's own `sbatch --wait` polls every 2 s too). */
const POLL_MS = 2_000;

/**
 * `testbed run <experiment> --slurm`: merges what earlier Slurm jobs of this experiment left in
 * their shards (waiting first for one still running), plans the runs the database still lacks,
 * writes the job folder `<db dir>/slurm/<experiment>-<k>/` (plan.json, job.sh, logs/, shards/),
 * submits it as one array job with `sbatch --parsable`, follows its tasks with squeue and merges
 * their shards when it ends. `--no-wait` returns after submitting; the same command run again
 * later waits for the job (if still running), merges, and submits only what is still missing.
 */
export async function slurmCommand(plan: ExperimentPlan, options: SlurmCommandOptions): Promise<number> {
  const missingCommands = missingSlurmCommands();
  if (missingCommands.length > 0) throw new UsageError(`--slurm: ${missingCommands.join(" and ")} not found on PATH (Slurm's client commands, Debian package slurm-client)`);
  const db = resolve(options.db);
  const root = join(dirname(db), "slurm");
  // Messages go to stderr, with --json too (stdout holds only the JSON).
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const finish = `testbed ${options.argv.filter((a) => a !== "--no-wait").map(shellQuote).join(" ")}`;

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    // Earlier jobs of this experiment into this database: wait for a running one, then merge them all.
    const earlier = jobsOf(root, plan.name, db);
    for (const job of earlier) {
      const ended = await waitForJob(job.job, options, say, abort.signal);
      if (!ended) {
        say(`stopped waiting; job ${job.job.jobId} goes on (scancel ${job.job.jobId} stops it). To wait for it and merge: ${finish}`);
        return ExitCode.interrupted;
      }
    }
    const merge = mergeJobs(db, earlier.map((j) => j.dir));
    reportMerge(merge, say, true);

    const store = EventStore.open(db);
    let done: Set<string>;
    try {
      store.saveExperiment(plan.name, experimentDefinition(plan), storedCells(plan), new Date().toISOString());
      done = store.completeRunKeys();
    } finally {
      store.close();
    }
    const provenance = currentProvenance();
    const jobDir = join(root, `${safeName(plan.name)}-${nextJobNumber(root)}`);
    const slurmPlan = planSlurmJob(plan, done, { db, jobDir, file: resolve(plan.file) }, {
      storeEvents: options.storeEvents,
      check: options.check,
      packageVersion: provenance.packageVersion,
      gitCommit: provenance.gitCommit,
      ...(options.tasks !== undefined ? { tasks: options.tasks } : {}),
      ...(options.runsPerTask !== undefined ? { runsPerTask: options.runsPerTask } : {}),
      medianRunSeconds: medianRunSeconds(db, plan),
      partitionCpus: options.tasks === undefined && options.runsPerTask === undefined ? partitionCpus(options.partition) : null,
    });
    if (slurmPlan === null) {
      say(`experiment ${plan.name}: all ${plan.runs.length} runs are complete in ${db}`);
      print(options, { experiment: plan.name, db, runs: plan.runs.length, missing: 0, job: null, merge });
      return merge.refused > 0 ? ExitCode.failed : ExitCode.ok;
    }

    const job = submit(slurmPlan, options);
    const planned = slurmPlan.tasks.reduce((n, t) => n + t.length, 0);
    say(`experiment ${plan.name}: ${plan.runs.length - planned} of ${plan.runs.length} runs complete in ${db}; ${planned} to run`);
    say(`submitted Slurm job ${job.jobId}: ${job.tasks} array tasks of at most ${job.runsPerTask} runs (${job.sizing}); job folder ${jobDir}`);
    if (!options.wait) {
      say(`when it has ended, merge its shards and submit what is missing with: ${finish}`);
      say(`(or merge by hand: testbed merge ${shellQuote(db)} ${shellQuote(join(jobDir, "shards"))}/task-*.db)`);
      print(options, { experiment: plan.name, db, runs: plan.runs.length, missing: planned, job: { ...job, jobDir }, merge });
      return ExitCode.ok;
    }
    const ended = await waitForJob(job, options, say, abort.signal);
    if (!ended) {
      say(`stopped waiting; job ${job.jobId} goes on (scancel ${job.jobId} stops it). To wait for it and merge: ${finish}`);
      return ExitCode.interrupted;
    }
    const after = mergeJobs(db, [jobDir]);
    reportMerge(after, say, false);
    const missing = missingRuns(db, plan);
    const states = lastStates.get(job.jobId);
    const unusual = states ? [...states.tasks].filter(([, s]) => s !== "COMPLETED").map(([i, s]) => `task ${i} ${s}`) : [];
    if (missing > 0) {
      say(`${missing} of ${plan.runs.length} runs still missing${unusual.length > 0 ? ` (${unusual.join(", ")})` : ""}; logs in ${join(jobDir, "logs")}. Run the same command again to submit them: ${finish}`);
    } else {
      say(`experiment ${plan.name}: all ${plan.runs.length} runs complete in ${db}; statistics: testbed summarize ${shellQuote(db)}`);
    }
    print(options, { experiment: plan.name, db, runs: plan.runs.length, missing, job: { ...job, jobDir, states: states ? Object.fromEntries(states.tasks) : null }, merge: combine(merge, after) });
    return missing > 0 || after.refused > 0 || merge.refused > 0 ? ExitCode.failed : ExitCode.ok;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Writes the job folder and submits the array; the folder keeps `job.json` once Slurm accepted it. */
function submit(plan: SlurmPlan, options: SlurmCommandOptions): SubmittedJob {
  const { jobDir } = plan;
  mkdirSync(join(jobDir, "logs"), { recursive: true });
  mkdirSync(join(jobDir, "shards"), { recursive: true });
  const planFile = join(jobDir, "plan.json");
  writeFileSync(planFile, JSON.stringify(plan));
  const script = join(jobDir, "job.sh");
  const cli = resolve(process.argv[1]!);
  writeFileSync(
    script,
    [
      "#!/bin/sh",
      `# vm-testbed: experiment ${safeName(plan.experiment)}, array task $SLURM_ARRAY_TASK_ID of ${plan.tasks.length}: its runs of plan.json into shards/task-$SLURM_ARRAY_TASK_ID.db`,
      `exec ${shellQuote(process.execPath)} ${shellQuote(cli)} slurm-task ${shellQuote(planFile)}`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  const jobName = `testbed-${jobDir.split("/").pop()!}`;
  const args = [
    `--job-name=${jobName}`,
    `--array=0-${plan.tasks.length - 1}`,
    `--output=${join(jobDir, "logs", "task-%a.out")}`,
    "--open-mode=append",
    `--chdir=${jobDir}`,
    ...(options.partition !== undefined ? [`--partition=${options.partition}`] : []),
    ...(options.time !== undefined ? [`--time=${options.time}`] : []),
    ...options.sbatchArgs,
  ];
  const jobId = sbatch(args, script);
  const job: SubmittedJob = {
    jobId,
    jobName,
    experiment: plan.experiment,
    db: plan.db,
    tasks: plan.tasks.length,
    runs: plan.tasks.reduce((n, t) => n + t.length, 0),
    runsPerTask: plan.runsPerTask,
    sizing: plan.sizing,
    sbatch: ["sbatch", "--parsable", ...args, script],
  };
  writeFileSync(join(jobDir, "job.json"), `${JSON.stringify(job, null, 2)}\n`);
  return job;
}

const lastStates = new Map<string, ArrayState>();

/** Follows a job's tasks with squeue until none is pending or running; false if interrupted first. */
async function waitForJob(job: SubmittedJob, options: SlurmCommandOptions, say: (line: string) => void, signal: AbortSignal): Promise<boolean> {
  let state = arrayState(job.jobId, job.jobName);
  if (state === null || state.active === 0) {
    if (state) lastStates.set(job.jobId, state);
    return true;
  }
  say(`waiting for Slurm job ${job.jobId} (${job.tasks} tasks; Ctrl-C stops waiting, not the job)`);
  const bar =
    options.progress && process.stderr.isTTY
      ? new SingleBar({ format: "{bar} {value}/{total} tasks ended | {running} running | {pending} pending | {duration_formatted} elapsed", stream: process.stderr, hideCursor: true })
      : null;
  bar?.start(job.tasks, 0, { running: 0, pending: 0 });
  let shown = "";
  try {
    while (state !== null && state.active > 0) {
      lastStates.set(job.jobId, state);
      const counts = countStates(state);
      const ended = job.tasks - state.active;
      if (bar) bar.update(ended, { running: counts.RUNNING ?? 0, pending: counts.PENDING ?? 0 });
      else if (options.progress) {
        const line = `job ${job.jobId}: ${ended}/${job.tasks} tasks ended (${Object.entries(counts).map(([s, n]) => `${n} ${s.toLowerCase()}`).join(", ")})`;
        if (line !== shown) say(line);
        shown = line;
      }
      await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return false;
      state = arrayState(job.jobId, job.jobName);
    }
    if (state) lastStates.set(job.jobId, state);
    bar?.update(job.tasks, { running: 0, pending: 0 });
    return true;
  } finally {
    bar?.stop();
  }
}

function countStates(state: ArrayState): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of state.tasks.values()) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

/** The job folders of this experiment and database that Slurm accepted, oldest first. */
function jobsOf(root: string, experiment: string, db: string): { dir: string; job: SubmittedJob }[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, "job.json")))
    .map((e) => ({ dir: join(root, e.name), job: JSON.parse(readFileSync(join(root, e.name, "job.json"), "utf8")) as SubmittedJob }))
    .filter((j) => j.job.experiment === experiment && j.job.db === db)
    .sort((a, b) => jobNumber(a.dir) - jobNumber(b.dir));
}

const jobNumber = (dir: string) => Number(/-(\d+)$/.exec(dir)?.[1] ?? 0);

function nextJobNumber(root: string): number {
  if (!existsSync(root)) return 1;
  return 1 + readdirSync(root).reduce((max, name) => Math.max(max, jobNumber(name)), 0);
}

/** Merges the shards the tasks of these job folders wrote. */
function mergeJobs(db: string, jobDirs: readonly string[]): MergeReport {
  const shards = jobDirs.flatMap((dir) => {
    const plan = parseSlurmPlan(join(dir, "plan.json"), readFileSync(join(dir, "plan.json"), "utf8"));
    return plan.tasks.map((_, i) => shardFile(dir, i)).filter((f) => existsSync(f));
  });
  return mergeShards(db, shards);
}

function reportMerge(report: MergeReport, say: (line: string) => void, earlier: boolean): void {
  if (report.shards.length === 0) return;
  say(`merged ${report.merged} runs from ${report.shards.length} ${earlier ? "earlier " : ""}shards (${report.skipped} already in ${report.db})`);
  for (const shard of report.shards) if (shard.status === "refused") say(`refused ${shard.shard}: ${shard.reason}`);
}

function combine(a: MergeReport, b: MergeReport): MergeReport {
  return { db: a.db, shards: [...a.shards, ...b.shards], merged: a.merged + b.merged, skipped: a.skipped + b.skipped, refused: a.refused + b.refused };
}

function missingRuns(db: string, plan: ExperimentPlan): number {
  const store = EventStore.openReadonly(db);
  try {
    const done = store.completeRunKeys();
    return plan.runs.filter((r) => !done.has(runKey(plan.cells[r.cell]!.loaded.hash, r.seed, r.serviceModel))).length;
  } finally {
    store.close();
  }
}

/** The median wall time of the complete runs of this experiment's cells in the database, if any. */
function medianRunSeconds(db: string, plan: ExperimentPlan): number | null {
  const store = EventStore.openReadonly(db);
  try {
    const seconds = store
      .completeRunsOf(plan.cells.map((c) => c.loaded.hash))
      .map((r) => (Date.parse(r.endedAt ?? "") - Date.parse(r.startedAt)) / 1000)
      .filter((s) => Number.isFinite(s) && s >= 0)
      .sort((a, b) => a - b);
    return seconds.length === 0 ? null : seconds[Math.floor(seconds.length / 2)]!;
  } finally {
    store.close();
  }
}

function print(options: SlurmCommandOptions, result: unknown): void {
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

/**
 * `testbed slurm-task <plan.json>`: what an array task runs (job.sh). Its index comes from
 * SLURM_ARRAY_TASK_ID (or `--task`); Slurm's SIGTERM (scancel, time limit, preemption) interrupts
 * the run in progress, the complete ones stay in the shard. Exit 1 if a run failed, 130 if stopped.
 */
export async function slurmTaskCommand(planFile: string, taskOption: number | undefined): Promise<number> {
  if (!existsSync(planFile)) throw new UsageError(`${planFile}: no such Slurm job plan`);
  const plan = parseSlurmPlan(planFile, readFileSync(planFile, "utf8"));
  const env = process.env;
  const task = taskOption ?? (env.SLURM_ARRAY_TASK_ID !== undefined ? Number(env.SLURM_ARRAY_TASK_ID) : undefined);
  if (task === undefined || !Number.isInteger(task)) throw new UsageError("slurm-task: SLURM_ARRAY_TASK_ID is not set (this runs inside a Slurm array task, started by testbed run --slurm); or pass --task N");
  if (task < 0 || task >= plan.tasks.length) throw new UsageError(`slurm-task: task ${task}: the plan has tasks 0–${plan.tasks.length - 1}`);
  const slurm = { arrayJobId: env.SLURM_ARRAY_JOB_ID ?? "", arrayTaskId: task, jobId: env.SLURM_JOB_ID ?? "" };
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const onSignal = (signal: string) => {
    process.stdout.write(`${signal}: interrupting the run in progress\n`);
    Atomics.store(stop, 0, 1);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.stdout.write(`array job ${slurm.arrayJobId} task ${task} (job ${slurm.jobId}): ${plan.tasks[task]!.length} runs of ${plan.experiment} into ${shardFile(plan.jobDir, task)}\n`);
  try {
    const outcome = await runPlanTask(plan, task, slurm, stop, (run, result) => {
      const what = `cell ${run.cell}, seed ${run.seed}, ${run.serviceModel}`;
      if (result.status === "complete") process.stdout.write(`run ${result.runId} (${what}): complete, ${result.eventCount} events, ${(result.ms / 1000).toFixed(2)} s\n`);
      else if (result.status === "failed" || result.status === "interrupted") process.stdout.write(`run ${result.runId ?? "–"} (${what}): ${result.status}: ${result.error}\n`);
    });
    process.stdout.write(`task ${task}: ${outcome.complete} runs complete, ${outcome.alreadyComplete} were already, ${outcome.failed} failed${outcome.interrupted ? ", interrupted" : ""}\n`);
    return outcome.interrupted ? ExitCode.interrupted : outcome.failed > 0 ? ExitCode.failed : ExitCode.ok;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

/** `testbed merge <db> <shard.db>...`: exit 1 if a shard was refused. */
export function mergeCommand(db: string, shards: string[], options: { json: boolean }): number {
  const report = mergeShards(db, shards);
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    for (const s of report.shards) {
      process.stdout.write(
        s.status === "merged"
          ? `${s.shard}: merged ${s.merged} runs (${s.events} events), skipped ${s.skipped} already in the database${s.incomplete > 0 ? `, ${s.incomplete} incomplete runs left out` : ""}\n`
          : `${s.shard}: refused: ${s.reason}\n`,
      );
    }
    process.stdout.write(`${db}: ${report.merged} runs merged, ${report.skipped} skipped, ${report.refused} shards refused\n`);
  }
  return report.refused > 0 ? ExitCode.failed : ExitCode.ok;
}


/** A job folder name from an experiment name: letters, digits, `.`, `_`, `-` only. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 60) || "experiment";
}

/** One argument for a POSIX shell, single-quoted unless plainly safe. */
function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}
