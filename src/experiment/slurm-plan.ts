import { join } from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { ServiceModel } from "../model/events.js";
import type { ResolvedScenario } from "../scenario/load.js";
import { EventStore, runKey, type ExperimentDefinition, type SlurmIds, type StoredCell } from "../event-store/event-store.js";
import { experimentDefinition, storedCells, type ExperimentPlan } from "./expand.js";
import runTask, { type RunTaskResult } from "./worker.js";

/**
 * A Slurm job of an experiment, as data: the runs still missing from the results database, dealt
 * out to array tasks, with every cell's scenario already resolved (a task parses nothing). It is
 * written as `plan.json` in the job folder; array task i runs `tasks[i]` into its own shard
 * database `shards/task-<i>.db`, which `testbed merge` brings into the results database.
 */
export interface SlurmPlan {
  format: typeof SLURM_PLAN_FORMAT;
  experiment: string;
  /** The experiment file, the results database and the job folder (absolute paths). */
  file: string;
  db: string;
  jobDir: string;
  definition: ExperimentDefinition;
  cells: StoredCell[];
  /** The resolved scenario of every cell that has runs in this job, by scenario hash. */
  scenarios: Record<string, ResolvedScenario>;
  storeEvents: boolean;
  check: boolean;
  packageVersion: string;
  gitCommit: string | null;
  /** How many runs a task was given at most, and how that was chosen. */
  runsPerTask: number;
  sizing: string;
  /** The runs of each array task (index = SLURM_ARRAY_TASK_ID). */
  tasks: { cell: number; seed: number; serviceModel: ServiceModel }[][];
}

export const SLURM_PLAN_FORMAT = "vm-testbed slurm plan 1";

/** A task should last minutes: Slurm starts a few tasks a second, and each task pays Node's start-up (~0.3 s). */
export const TARGET_TASK_SECONDS = 600;
/** Slurm's default MaxArraySize is 1001 (indices 0–1000): a job never has more tasks than this. */
export const MAX_ARRAY_TASKS = 1000;
/** Without measured run times or the partition's size, the missing runs are spread over at most this many tasks. */
export const DEFAULT_MAX_TASKS = 100;

export interface TaskSizing {
  tasks?: number;
  runsPerTask?: number;
  /** The median wall time of a run of this experiment already recorded, if any. */
  medianRunSeconds: number | null;
  /** The CPUs of the partition the job goes to (sinfo), if known. */
  partitionCpus?: number | null;
}

/**
 * How many tasks, and how many runs each: `--runs-per-task K`, or `--tasks N`; otherwise from
 * the median run time already measured (`TARGET_TASK_SECONDS` of runs a task); with nothing
 * measured yet, one task per CPU of the partition (one wave of tasks that fills it), or, its size
 * unknown, the runs spread over at most `DEFAULT_MAX_TASKS` tasks. Never more than
 * `MAX_ARRAY_TASKS` tasks. Returns the choice and a sentence saying how it was made.
 */
export function sizeTasks(missing: number, sizing: TaskSizing): { tasks: number; runsPerTask: number; how: string } {
  let runsPerTask: number;
  let how: string;
  if (sizing.runsPerTask !== undefined) {
    runsPerTask = sizing.runsPerTask;
    how = "--runs-per-task";
  } else if (sizing.tasks !== undefined) {
    runsPerTask = Math.ceil(missing / sizing.tasks);
    how = `--tasks ${sizing.tasks}`;
  } else if (sizing.medianRunSeconds !== null) {
    runsPerTask = Math.max(1, Math.floor(TARGET_TASK_SECONDS / Math.max(sizing.medianRunSeconds, 1e-3)));
    how = `runs of this experiment took ${sizing.medianRunSeconds.toFixed(2)} s (median): ${TARGET_TASK_SECONDS / 60} min of runs a task`;
  } else if (sizing.partitionCpus) {
    runsPerTask = Math.ceil(missing / sizing.partitionCpus);
    how = `no run of this experiment measured yet: one task per CPU of the partition (${sizing.partitionCpus})`;
  } else {
    runsPerTask = Math.ceil(missing / DEFAULT_MAX_TASKS);
    how = `no run of this experiment measured yet: the runs spread over at most ${DEFAULT_MAX_TASKS} tasks`;
  }
  runsPerTask = Math.max(1, Math.min(runsPerTask, missing));
  if (Math.ceil(missing / runsPerTask) > MAX_ARRAY_TASKS) {
    runsPerTask = Math.ceil(missing / MAX_ARRAY_TASKS);
    how += ` (raised: at most ${MAX_ARRAY_TASKS} array tasks)`;
  }
  // Runs are dealt round-robin, so --tasks N gives exactly N tasks (of ⌊runs/N⌋ or ⌈runs/N⌉ runs).
  const tasks = sizing.tasks !== undefined && sizing.runsPerTask === undefined ? Math.min(sizing.tasks, missing, MAX_ARRAY_TASKS) : Math.ceil(missing / runsPerTask);
  return { tasks, runsPerTask, how };
}

/**
 * The plan of a Slurm job: the experiment's runs that `done` (the complete run keys of the results
 * database) lacks, dealt round-robin to the tasks — neighbouring runs (the models of one seed, the
 * seeds of one cell) go to different tasks, so cells of unequal cost are spread over all of them.
 */
export function planSlurmJob(
  plan: ExperimentPlan,
  done: ReadonlySet<string>,
  where: { db: string; jobDir: string; file: string },
  options: { storeEvents: boolean; check: boolean; packageVersion: string; gitCommit: string | null } & TaskSizing,
): SlurmPlan | null {
  // A reused run (another cell stands for it: same resolved configuration for its model) is not run again.
  const missing = plan.runs.filter((r) => r.reusedFrom === undefined && !done.has(runKey(plan.cells[r.cell]!.loaded.hash, r.seed, r.serviceModel)));
  if (missing.length === 0) return null;
  const { tasks: taskCount, runsPerTask, how } = sizeTasks(missing.length, options);
  const tasks: SlurmPlan["tasks"] = Array.from({ length: taskCount }, () => []);
  missing.forEach((run, i) => tasks[i % taskCount]!.push({ cell: run.cell, seed: run.seed, serviceModel: run.serviceModel }));
  const scenarios: Record<string, ResolvedScenario> = {};
  for (const run of missing) {
    const { file, text, canonical, hash, config } = plan.cells[run.cell]!.loaded;
    scenarios[hash] ??= { file, text, canonical, hash, config };
  }
  return {
    format: SLURM_PLAN_FORMAT,
    experiment: plan.name,
    file: where.file,
    db: where.db,
    jobDir: where.jobDir,
    definition: experimentDefinition(plan),
    cells: storedCells(plan),
    scenarios,
    storeEvents: options.storeEvents,
    check: options.check,
    packageVersion: options.packageVersion,
    gitCommit: options.gitCommit,
    runsPerTask,
    sizing: how,
    tasks,
  };
}

/** The shard database of array task `task`. */
export function shardFile(jobDir: string, task: number): string {
  return join(jobDir, "shards", `task-${task}.db`);
}

/** Reads `plan.json` back, checking that it is one (a task refuses anything else). */
export function parseSlurmPlan(file: string, text: string): SlurmPlan {
  let plan: SlurmPlan;
  try {
    plan = JSON.parse(text) as SlurmPlan;
  } catch (error) {
    throw new Error(`${file}: not a Slurm job plan (${(error as Error).message})`);
  }
  if (plan === null || typeof plan !== "object" || plan.format !== SLURM_PLAN_FORMAT) throw new Error(`${file}: not a Slurm job plan (format: expected "${SLURM_PLAN_FORMAT}")`);
  return plan;
}

export interface TaskOutcome {
  shard: string;
  runs: number;
  complete: number;
  alreadyComplete: number;
  failed: number;
  interrupted: boolean;
}

/**
 * Runs array task `task` of a plan: its runs one after another, each with the local runner's
 * worker code (`runTask`), into the task's own shard database, recording the Slurm ids in each
 * run. Runs already complete in the shard (a requeued or restarted task) are skipped. A raised
 * `stop` flag (SIGTERM: cancelled, out of time, preempted) interrupts the run in progress,
 * which is recorded as interrupted; the complete ones stay in the shard.
 */
export async function runPlanTask(plan: SlurmPlan, task: number, slurm: SlurmIds, stop: Int32Array, onRun?: (run: SlurmPlan["tasks"][number][number], result: RunTaskResult) => void): Promise<TaskOutcome> {
  const runs = plan.tasks[task];
  if (runs === undefined) throw new Error(`array task ${task}: the plan has tasks 0–${plan.tasks.length - 1}`);
  const shard = shardFile(plan.jobDir, task);
  const store = EventStore.open(shard);
  let done: Set<string>;
  try {
    store.saveExperiment(plan.experiment, plan.definition, plan.cells, new Date().toISOString());
    done = store.completeRunKeys();
  } finally {
    store.close();
  }
  const outcome: TaskOutcome = { shard, runs: runs.length, complete: 0, alreadyComplete: 0, failed: 0, interrupted: false };
  for (const run of runs) {
    // A run shorter than one slice never yields: without this turn of the event loop, Slurm's SIGTERM would wait for the whole task.
    await yieldToEventLoop();
    const hash = plan.cells[run.cell]!.scenarioHash;
    if (done.has(runKey(hash, run.seed, run.serviceModel))) {
      outcome.alreadyComplete++;
      continue;
    }
    const result = await runTask({
      db: shard,
      scenario: plan.scenarios[hash]!,
      seed: run.seed,
      serviceModel: run.serviceModel,
      storeEvents: plan.storeEvents,
      hashLog: plan.storeEvents,
      check: plan.check,
      maxEvents: undefined,
      maxDatabaseMB: undefined,
      packageVersion: plan.packageVersion,
      gitCommit: plan.gitCommit,
      slurm,
      stop,
    });
    onRun?.(run, result);
    if (result.status === "complete") outcome.complete++;
    else if (result.status === "failed") outcome.failed++;
    else {
      outcome.interrupted = true;
      break;
    }
  }
  return outcome;
}
