import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Piscina } from "piscina";
import type { RunMetrics } from "../metrics/run-metrics.js";
import type { ServiceModel } from "../model/events.js";
import type { Provenance } from "../recording/provenance.js";
import { EventStore, runKey } from "../event-store/event-store.js";
import { experimentDefinition, storedCells, type ExperimentPlan, type SweepValue } from "./expand.js";
import type { RunTask, RunTaskResult } from "./worker.js";

export interface ExperimentOptions {
  db: string;
  /** Worker threads (default: `os.availableParallelism()`). */
  jobs?: number;
  storeEvents: boolean;
  /** Hash the event log even when it is not stored (`--log-hash`; default: only when it is). */
  hashLog?: boolean;
  check: boolean;
  /** Each run's event budget (`--max-events`) and the database's size limit (`--max-db-mb`). */
  maxEvents?: number;
  maxDatabaseMB?: number;
  provenance: Provenance;
  /** Aborting interrupts the runs in progress (recorded as interrupted) and starts no more. */
  signal?: AbortSignal;
  /** Called once the runs to compute are known (before any starts). */
  onStart?: (counts: { total: number; skipped: number }) => void;
  /** Called after each run that was to be computed, with the counts so far. */
  onRunDone?: (progress: { done: number; total: number; failed: number; run: PlannedRunOutcome }) => void;
}

/**
 * `reused`: another cell's run of the same seed and model, whose resolved configuration for that
 * model is the same (`./reuse.ts`); `running elsewhere`: another runner sharing the database holds
 * the run's claim (`EventStore.claimRun`).
 */
export type RunOutcomeStatus = "complete" | "already complete" | "reused" | "failed" | "interrupted" | "not started" | "running elsewhere";

/** One planned run and what became of it. */
export interface PlannedRunOutcome {
  cell: Record<string, SweepValue>;
  cellIndex: number;
  scenarioHash: string;
  seed: number;
  serviceModel: ServiceModel;
  status: RunOutcomeStatus;
  /** The cell whose run this is (status `reused`). */
  reusedFrom?: number;
  runId: number | null;
  eventCount: number | null;
  stateHash: string | null;
  logHash: string | null;
  metrics: RunMetrics | null;
  error: string | null;
}

export interface ExperimentOutcome {
  experiment: string;
  db: string;
  jobs: number;
  cells: number;
  /** Runs computed now, those found complete in the database and skipped, and those another cell's run stands for. */
  ran: number;
  skipped: number;
  reused: number;
  /** Runs another runner sharing the database was running (its claim alive). */
  elsewhere: number;
  failed: number;
  interrupted: boolean;
  runs: PlannedRunOutcome[];
}

/**
 * The worker module: `worker.js` beside this file in the compiled package. Under the test runner
 * this file is TypeScript in `src/`, so the compiled worker in `dist/` is used (tests build first).
 */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const beside = join(dirname(here), "worker.js");
  if (existsSync(beside)) return pathToFileURL(beside).href;
  const built = join(dirname(here), "..", "..", "dist", "src", "experiment", "worker.js");
  if (existsSync(built)) return pathToFileURL(built).href;
  throw new Error(`cannot find the experiment worker (${beside}); run npm run build`);
}

/**
 * Runs an experiment: records its definition and cells, skips every run whose scenario hash, seed
 * and service model already has a complete run in the database (resume), and computes the others
 * on a pool of worker threads (piscina). Each worker writes its own runs through its own SQLite
 * connection (WAL, busy timeout), so a run is recorded exactly as a single `testbed run` records
 * it. A failed run is recorded and counted; the others go on.
 */
export async function runExperiment(plan: ExperimentPlan, options: ExperimentOptions): Promise<ExperimentOutcome> {
  const jobs = options.jobs ?? availableParallelism();
  const store = EventStore.open(options.db);
  let done: Set<string>;
  try {
    store.saveExperiment(
      plan.name,
      experimentDefinition(plan),
      storedCells(plan),
      options.provenance.now(),
    );
    done = store.completeRunKeys();
  } finally {
    store.close();
  }

  const outcomes: PlannedRunOutcome[] = plan.runs.map((run) => {
    const cell = plan.cells[run.cell]!;
    const already = done.has(runKey(cell.loaded.hash, run.seed, run.serviceModel));
    return {
      cell: cell.values,
      cellIndex: cell.index,
      scenarioHash: cell.loaded.hash,
      seed: run.seed,
      serviceModel: run.serviceModel,
      status: run.reusedFrom !== undefined ? "reused" : already ? "already complete" : "not started",
      ...(run.reusedFrom !== undefined ? { reusedFrom: run.reusedFrom } : {}),
      runId: null,
      eventCount: null,
      stateHash: null,
      logHash: null,
      metrics: null,
      error: null,
    };
  });
  const todo = outcomes.filter((o) => o.status === "not started");
  options.onStart?.({ total: todo.length, skipped: outcomes.filter((o) => o.status === "already complete").length });
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = () => Atomics.store(stop, 0, 1);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort);
  let failed = 0;
  let finished = 0;
  if (todo.length > 0) {
    const threads = Math.max(1, Math.min(jobs, todo.length));
    const pool = new Piscina<RunTask, RunTaskResult>({ filename: workerFile(), minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
    try {
      await Promise.all(
        todo.map(async (outcome) => {
          const cell = plan.cells[outcome.cellIndex]!;
          const task = pool.run({
            db: options.db,
            scenario: { file: cell.loaded.file, text: cell.loaded.text, canonical: cell.loaded.canonical, hash: cell.loaded.hash, config: cell.loaded.config },
            seed: outcome.seed,
            serviceModel: outcome.serviceModel,
            storeEvents: options.storeEvents,
            hashLog: options.hashLog ?? options.storeEvents,
            check: options.check,
            maxEvents: options.maxEvents,
            maxDatabaseMB: options.maxDatabaseMB,
            packageVersion: options.provenance.packageVersion,
            gitCommit: options.provenance.gitCommit,
            stop,
          });
          // A worker that dies (out of memory, a native crash) fails its run, not the experiment.
          const result = await task.catch((error: unknown): RunTaskResult => ({ status: "failed", runId: null, error: `worker thread died: ${(error as Error).message}`, ms: 0 }));
          if (result.status === "running elsewhere") {
            outcome.status = "running elsewhere";
            outcome.error = `claimed by pid ${result.owner.pid} on ${result.owner.host}`;
            return;
          }
          outcome.status = result.status;
          if (result.status === "not started" || result.status === "already complete") return;
          outcome.runId = result.runId;
          if (result.status === "complete") {
            Object.assign(outcome, { eventCount: result.eventCount, stateHash: result.stateHash, logHash: result.logHash, metrics: result.metrics });
          } else {
            outcome.error = result.error;
            if (result.status === "failed") failed++;
          }
          finished++;
          options.onRunDone?.({ done: finished, total: todo.length, failed, run: outcome });
        }),
      );
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      await pool.destroy();
    }
  }

  // Runs skipped as already complete: their record, for the report (the oldest complete one).
  const reader = EventStore.openReadonly(options.db);
  try {
    const byKey = new Map<string, ReturnType<EventStore["completeRunsOf"]>[number]>();
    for (const run of reader.completeRunsOf(plan.cells.map((c) => c.loaded.hash))) {
      const key = runKey(run.scenarioHash, run.seed, run.serviceModel);
      if (!byKey.has(key)) byKey.set(key, run);
    }
    for (const outcome of outcomes) {
      if (outcome.status !== "already complete") continue;
      const run = byKey.get(runKey(outcome.scenarioHash, outcome.seed, outcome.serviceModel))!;
      Object.assign(outcome, { runId: run.id, eventCount: run.eventCount, stateHash: run.stateHash, logHash: run.logHash, metrics: run.metrics as RunMetrics });
    }
    // Reused runs: what their source cell's run of the same seed and model became.
    const planned = new Map(outcomes.map((o) => [`${o.cellIndex}\t${o.seed}\t${o.serviceModel}`, o]));
    for (const outcome of outcomes) {
      if (outcome.status !== "reused") continue;
      const source = planned.get(`${outcome.reusedFrom}\t${outcome.seed}\t${outcome.serviceModel}`)!;
      const { runId, eventCount, stateHash, logHash, metrics, error } = source;
      Object.assign(outcome, { runId, eventCount, stateHash, logHash, metrics, error });
    }
  } finally {
    reader.close();
  }
  return {
    experiment: plan.name,
    db: options.db,
    jobs,
    cells: plan.cells.length,
    ran: outcomes.filter((o) => o.status === "complete" || o.status === "failed").length,
    skipped: outcomes.filter((o) => o.status === "already complete").length,
    reused: outcomes.filter((o) => o.status === "reused").length,
    elsewhere: outcomes.filter((o) => o.status === "running elsewhere").length,
    failed,
    interrupted: outcomes.some((o) => o.status === "interrupted" || o.status === "not started"),
    runs: outcomes,
  };
}
