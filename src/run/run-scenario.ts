import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { runMetrics, type RunMetrics } from "../metrics/run-metrics.js";
import type { DomainEvent, ServiceModel } from "../model/events.js";
import { InvariantChecker } from "../model/invariants.js";
import type { LoadedScenario } from "../scenario/load.js";
import { simulateScenario, storageConfig } from "../sim/scenario-world.js";
import { encodeEvent, eventLine } from "../store/event-codec.js";
import { EventWriter, type EventStore, type RunMeta } from "../store/event-store.js";
import { hashWorld, LogHasher, stateHash } from "./hashing.js";
import type { Provenance } from "./provenance.js";

export interface RunOptions {
  seed: number;
  serviceModel: ServiceModel;
  /** Where to record the run; without a store the run is only computed. */
  store?: EventStore;
  /** Store the event log (default true); metrics and hashes are stored either way. */
  storeEvents?: boolean;
  provenance: Provenance;
  /** Aborting stops the run at the next slice and marks it interrupted. */
  signal?: AbortSignal;
  onProgress?: (progress: { t: number; end: number; events: number }) => void;
  /** Check the world's invariants whenever it settles; a violation fails the run. */
  check?: boolean;
  /** Extra subscribers to the live event stream (tests). */
  observe?: (event: DomainEvent) => void;
}

export interface RunResult {
  runId: number | null;
  scenario: string;
  serviceModel: ServiceModel;
  seed: number;
  eventCount: number;
  finalT: number;
  stateHash: string;
  logHash: string;
  metrics: RunMetrics;
}

export class RunInterrupted extends Error {}

/** Timers run between two looks at the signal and the progress callback. */
const SLICE_EVENTS = 100_000;
/**
 * State-hash checkpoints, so replay can locate a divergence: the next one comes this many events
 * after the last, or one event per CHECKPOINT_BYTES_PER_EVENT characters of the last hashed state
 * if that is more, so that hashing stays a small share of the work however large the world.
 */
export const CHECKPOINT_EVERY = 20_000;
export const CHECKPOINT_BYTES_PER_EVENT = 2;

/**
 * Runs one scenario with one seed: builds the simulation, subscribes the log hash, the metrics
 * and (with a store) the event writer to its event stream, and drives the scheduler in slices so
 * that signals and progress get their turn. A run that throws or is aborted is marked as such in
 * the store; its already written events stay, under a run that is not complete.
 */
export async function runScenario(loaded: LoadedScenario, options: RunOptions): Promise<RunResult> {
  const { seed, store } = options;
  const { sim } = simulateScenario(loaded.scenario, seed, options.serviceModel);
  const checker = options.check ? new InvariantChecker(sim.world, { spreadRacks: storageConfig(loaded.scenario).spreadRacks }) : null;
  if (checker) sim.onSettled(() => checker.verify());
  const storeEvents = store !== undefined && options.storeEvents !== false;
  const meta: RunMeta = {
    scenarioName: loaded.scenario.name,
    scenarioFile: loaded.file,
    scenarioYaml: loaded.text,
    scenarioJson: loaded.canonical,
    scenarioHash: loaded.hash,
    seed,
    serviceModel: options.serviceModel,
    packageVersion: options.provenance.packageVersion,
    gitCommit: options.provenance.gitCommit,
    eventsStored: storeEvents,
  };
  const runId = store ? store.beginRun(meta, options.provenance.now()) : null;
  const writer = storeEvents && runId !== null ? new EventWriter(store!, runId) : null;
  const logHash = new LogHasher();
  let metricsState = runMetrics.init();
  let eventCount = 0;
  let nextCheckpoint = CHECKPOINT_EVERY;

  sim.subscribe((event) => {
    eventCount++;
    checker?.note(event);
    const row = encodeEvent(event);
    const line = eventLine(row.seq, row.t, row.type, row.payload);
    logHash.add(line);
    metricsState = runMetrics.apply(metricsState, event, sim.world);
    if (writer) {
      writer.add(row);
      if (event.seq === nextCheckpoint) {
        const state = stateHash(sim.world);
        store!.addCheckpoint(runId!, event.seq, state.hash);
        nextCheckpoint += Math.max(CHECKPOINT_EVERY, Math.ceil(state.length / CHECKPOINT_BYTES_PER_EVENT));
      }
    }
    options.observe?.(event);
  });

  const end = Math.round(loaded.scenario.durationHours * 3_600_000);
  try {
    for (;;) {
      const done = sim.advance(SLICE_EVENTS);
      options.onProgress?.({ t: sim.scheduler.now, end, events: eventCount });
      if (done) break;
      writer?.flush();
      await yieldToEventLoop();
      if (options.signal?.aborted) throw new RunInterrupted(`interrupted at t=${sim.scheduler.now} ms after ${eventCount} events`);
    }
    const result: RunResult = {
      runId,
      scenario: loaded.scenario.name,
      serviceModel: options.serviceModel,
      seed,
      eventCount,
      finalT: sim.world.t,
      stateHash: hashWorld(sim.world),
      logHash: logHash.digest(),
      metrics: runMetrics.result(metricsState),
    };
    if (store && runId !== null) {
      store.completeRun(runId, writer?.takeBuffered() ?? [], result, options.provenance.now());
    }
    return result;
  } catch (error) {
    if (store && runId !== null) {
      try {
        writer?.flush();
      } finally {
        const status = error instanceof RunInterrupted ? "interrupted" : "failed";
        store.abandonRun(runId, status, (error as Error).message, options.provenance.now());
      }
    }
    throw error;
  }
}
