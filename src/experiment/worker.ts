/**
 * The experiment runner's worker thread (a piscina task): computes one run of a cell, resolved in
 * the main thread, and records it in the results database through its own connection (WAL, busy timeout), exactly as `testbed run` does
 * for a single scenario — the run row before its events, `complete` in the same transaction as its
 * last events. It returns what the main thread reports; it never throws for a failed run (the
 * run is recorded as failed and the others go on).
 */
import type { RunMetrics } from "../metrics/run-metrics.js";
import type { ServiceModel } from "../model/events.js";
import { runScenario, RunInterrupted } from "../adapters/sim/run-scenario.js";
import type { ResolvedScenario } from "../scenario/load.js";
import { EventStore, type SlurmIds } from "../event-store/event-store.js";

export interface RunTask {
  db: string;
  /** The cell's scenario as the main thread resolved it (plain data: nothing is parsed here). */
  scenario: ResolvedScenario;
  seed: number;
  serviceModel: ServiceModel;
  storeEvents: boolean;
  check: boolean;
  packageVersion: string;
  gitCommit: string | null;
  /** The Slurm array task running this run, recorded in its provenance (`testbed run --slurm`). */
  slurm?: SlurmIds;
  /** Shared stop flag: non-zero ⇒ do not start, and interrupt a run in progress at its next slice. */
  stop: Int32Array;
}

export type RunTaskResult =
  | { status: "complete"; runId: number; eventCount: number; finalT: number; stateHash: string; logHash: string; metrics: RunMetrics; ms: number }
  | { status: "failed" | "interrupted"; runId: number | null; error: string; ms: number }
  | { status: "not started" };

export default async function runTask(task: RunTask): Promise<RunTaskResult> {
  if (Atomics.load(task.stop, 0) !== 0) return { status: "not started" };
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  let runId: number | null = null;
  let store: EventStore | null = null;
  try {
    store = EventStore.open(task.db);
    const abort = new AbortController();
    const result = await runScenario(task.scenario, {
      seed: task.seed,
      serviceModel: task.serviceModel,
      store,
      storeEvents: task.storeEvents,
      check: task.check,
      provenance: { packageVersion: task.packageVersion, gitCommit: task.gitCommit, ...(task.slurm ? { slurm: task.slurm } : {}), now: () => new Date().toISOString() },
      signal: abort.signal,
      onProgress: () => {
        if (Atomics.load(task.stop, 0) !== 0) abort.abort();
      },
    });
    runId = result.runId;
    return { status: "complete", runId: result.runId!, eventCount: result.eventCount, finalT: result.finalT, stateHash: result.stateHash, logHash: result.logHash, metrics: result.metrics, ms: elapsed() };
  } catch (error) {
    runId = store?.lastRunId(task.scenario.hash, task.seed, task.serviceModel) ?? null;
    return { status: error instanceof RunInterrupted ? "interrupted" : "failed", runId, error: (error as Error).message, ms: elapsed() };
  } finally {
    store?.close();
  }
}
