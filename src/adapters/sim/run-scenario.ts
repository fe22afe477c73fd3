import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { EventStore } from "../../event-store/event-store.js";
import type { DomainEvent, ServiceModel } from "../../model/events.js";
import type { Provenance } from "../../recording/provenance.js";
import type { RunOutcome } from "../../recording/recorder.js";
import type { ResolvedScenario } from "../../scenario/load.js";
import { durationMs } from "../../scenario/resolve.js";
import { SimulatedRun } from "./simulate.js";

export interface RunOptions {
  seed: number;
  serviceModel: ServiceModel;
  /** Where to record the run; without a store the run is only computed. */
  store?: EventStore;
  /** Store the event log (default true); metrics and hashes are stored either way. */
  storeEvents?: boolean;
  /** Hash the event log even when it is not stored (default: only when it is; `RecorderOptions.hashLog`). */
  hashLog?: boolean;
  provenance: Provenance;
  /** Aborting stops the run at the next slice and marks it interrupted. */
  signal?: AbortSignal;
  onProgress?: (progress: { t: number; end: number; events: number }) => void;
  /** Check the world's invariants whenever it settles; a violation fails the run. */
  check?: boolean;
  /** Stop the run (failed) once it has emitted more events than this (`--max-events`; default `DEFAULT_MAX_EVENTS`). */
  maxEvents?: number;
  /** Extra subscribers to the live event stream (tests). */
  observe?: (event: DomainEvent) => void;
}

export interface RunResult extends RunOutcome {
  runId: number | null;
  scenario: string;
  serviceModel: ServiceModel;
  seed: number;
}

export class RunInterrupted extends Error {}

/**
 * The default event budget of one run: 10^9 events is 10–20 minutes at the kernel's 1–2 M
 * events/s and ~60 GB of stored log; a scenario that needs more says so with `--max-events`.
 */
export const DEFAULT_MAX_EVENTS = 1_000_000_000;

/** Timers run between two looks at the signal and the progress callback. */
const SLICE_EVENTS = 100_000;

/**
 * Runs one resolved scenario with one seed and records it: drives the simulated run in slices so
 * that signals and progress get their turn. A run that throws or is aborted is marked as such in
 * the store; its already written events stay, under a run that is not complete.
 */
export async function runScenario(scenario: ResolvedScenario, options: RunOptions): Promise<RunResult> {
  const { seed, store, serviceModel } = options;
  const run = new SimulatedRun(scenario.config, seed, serviceModel, {
    ...(options.check ? { check: true } : {}),
    ...(options.observe ? { observe: options.observe } : {}),
    record: {
      ...(store ? { store } : {}),
      storeEvents: options.storeEvents !== false,
      ...(options.hashLog !== undefined ? { hashLog: options.hashLog } : {}),
      provenance: options.provenance,
      meta: {
        scenarioName: scenario.config.name,
        scenarioFile: scenario.file,
        scenarioYaml: scenario.text,
        scenarioJson: scenario.canonical,
        scenarioHash: scenario.hash,
        seed,
        serviceModel,
        packageVersion: options.provenance.packageVersion,
        gitCommit: options.provenance.gitCommit,
        ...(options.provenance.slurm ? { slurm: options.provenance.slurm } : {}),
      },
    },
  });
  const { recorder, sim } = run;
  const end = durationMs(scenario.config);
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  try {
    // A signal that came before this run (between two short runs) stops it before it starts.
    await yieldToEventLoop();
    if (options.signal?.aborted) throw new RunInterrupted(`interrupted before it started`);
    for (;;) {
      // Smaller slices near the budget, so that a small --max-events is kept to the event.
      const done = run.advance(Math.min(SLICE_EVENTS, Math.max(1, maxEvents + 1 - recorder.eventCount)));
      options.onProgress?.({ t: sim.scheduler.now, end, events: recorder.eventCount });
      if (done) break;
      if (recorder.eventCount > maxEvents) {
        throw new Error(`stopped at t=${(sim.scheduler.now / 3_600_000).toFixed(3)} h of ${(end / 3_600_000).toFixed(0)} h: more than ${maxEvents} events (--max-events)`);
      }
      recorder.flush();
      await yieldToEventLoop();
      if (options.signal?.aborted) throw new RunInterrupted(`interrupted at t=${sim.scheduler.now} ms after ${recorder.eventCount} events`);
    }
    return { runId: recorder.runId, scenario: scenario.config.name, serviceModel, seed, ...recorder.complete() };
  } catch (error) {
    recorder.abandon(error instanceof RunInterrupted ? "interrupted" : "failed", (error as Error).message);
    throw error;
  }
}
