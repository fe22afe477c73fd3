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
import { hostname } from "node:os";
import { EventStore, processAlive, type RunClaimKey, type RunOwner, type SlurmIds } from "../event-store/event-store.js";

/**
 * How long a claim of a runner on another host holds without being renewed (renewed every
 * `RENEW_MS` while its run goes on): after that its owner counts as dead and the run is taken over.
 */
const LEASE_MS = 10 * 60_000;
const RENEW_MS = 60_000;

export interface RunTask {
  db: string;
  /** The cell's scenario as the main thread resolved it (plain data: nothing is parsed here). */
  scenario: ResolvedScenario;
  seed: number;
  serviceModel: ServiceModel;
  storeEvents: boolean;
  hashLog: boolean;
  check: boolean;
  maxEvents: number | undefined;
  maxDatabaseMB: number | undefined;
  packageVersion: string;
  gitCommit: string | null;
  /** The Slurm array task running this run, recorded in its provenance (`testbed run --slurm`). */
  slurm?: SlurmIds;
  /** Shared stop flag: non-zero ⇒ do not start, and interrupt a run in progress at its next slice. */
  stop: Int32Array;
}

export type RunTaskResult =
  | { status: "complete"; runId: number; eventCount: number; finalT: number; stateHash: string; logHash: string | null; metrics: RunMetrics; ms: number }
  | { status: "failed" | "interrupted"; runId: number | null; error: string; ms: number }
  | { status: "not started" }
  /** Another runner sharing the database completed the run, or is running it (`owner`). */
  | { status: "already complete" }
  | { status: "running elsewhere"; owner: RunOwner };

export default async function runTask(task: RunTask): Promise<RunTaskResult> {
  if (Atomics.load(task.stop, 0) !== 0) return { status: "not started" };
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  let runId: number | null = null;
  let store: EventStore | null = null;
  const key: RunClaimKey = { scenarioHash: task.scenario.hash, seed: task.seed, serviceModel: task.serviceModel };
  const owner: RunOwner = { pid: process.pid, host: hostname() };
  let claimed = false;
  try {
    store = EventStore.open(task.db, task.maxDatabaseMB);
    const claim = store.claimRun(key, owner, Date.now(), LEASE_MS, processAlive);
    if (!claim.claimed) return claim.reason === "complete" ? { status: "already complete" } : { status: "running elsewhere", owner: claim.by! };
    claimed = true;
    let renewed = Date.now();
    const abort = new AbortController();
    const result = await runScenario(task.scenario, {
      seed: task.seed,
      serviceModel: task.serviceModel,
      store,
      storeEvents: task.storeEvents,
      hashLog: task.hashLog,
      check: task.check,
      ...(task.maxEvents !== undefined ? { maxEvents: task.maxEvents } : {}),
      provenance: { packageVersion: task.packageVersion, gitCommit: task.gitCommit, ...(task.slurm ? { slurm: task.slurm } : {}), now: () => new Date().toISOString() },
      signal: abort.signal,
      onProgress: () => {
        if (Atomics.load(task.stop, 0) !== 0) abort.abort();
        if (Date.now() - renewed > RENEW_MS) {
          renewed = Date.now();
          store!.renewClaim(key, owner, renewed);
        }
      },
    });
    runId = result.runId;
    return { status: "complete", runId: result.runId!, eventCount: result.eventCount, finalT: result.finalT, stateHash: result.stateHash, logHash: result.logHash, metrics: result.metrics, ms: elapsed() };
  } catch (error) {
    runId = store?.lastRunId(task.scenario.hash, task.seed, task.serviceModel) ?? null;
    return { status: error instanceof RunInterrupted ? "interrupted" : "failed", runId, error: (error as Error).message, ms: elapsed() };
  } finally {
    if (claimed) store?.releaseClaim(key, owner);
    store?.close();
  }
}
