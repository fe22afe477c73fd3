import type { DomainEvent, ServiceModel } from "../../model/events.js";
import { InvariantChecker } from "../../model/invariants.js";
import type { World } from "../../model/world.js";
import { Recorder, type RecorderOptions, type RunOutcome } from "../../recording/recorder.js";
import type { RunConfig } from "../../scenario/resolve.js";
import { buildSimulation } from "./build.js";
import type { Simulation } from "./simulation.js";

export interface SimulationOptions {
  /** Check the world's invariants whenever it settles; a violation stops the run (it throws). */
  check?: boolean;
  /** Sees every event as it is emitted (tests, charts). */
  observe?: (event: DomainEvent) => void;
  /** Where and how to record the run (default: hashes and metrics only, nothing stored). */
  record?: RecorderOptions;
}

/**
 * One simulated run of a resolved scenario under one service model, driven in slices: the
 * simulation with its controller, the recorder (log hash, metrics, and with a store the stored
 * log) and optionally the invariant checker. `simulate` drives it to the end at once;
 * `runScenario` drives it slice by slice so that signals and progress get their turn.
 */
export class SimulatedRun {
  readonly sim: Simulation;
  readonly recorder: Recorder;

  constructor(config: RunConfig, seed: number, serviceModel: ServiceModel, options: SimulationOptions = {}) {
    const { sim } = buildSimulation(config, seed, serviceModel);
    this.sim = sim;
    if (options.check) {
      const checker = new InvariantChecker(sim.world, { spreadRacks: config.storage.spreadRacks });
      sim.subscribe((event) => checker.note(event));
      sim.onSettled(() => checker.verify());
    }
    this.recorder = new Recorder(sim, options.record);
    if (options.observe) sim.subscribe(options.observe);
  }

  /** Runs up to `maxEvents` timers; true once the run has ended. */
  advance(maxEvents: number): boolean {
    return this.sim.advance(maxEvents);
  }

  get world(): World {
    return this.sim.world;
  }
}

/** Runs a resolved scenario to its end at once: its outcome (hashes, metrics) and final world. */
export function simulate(config: RunConfig, seed: number, serviceModel: ServiceModel, options: SimulationOptions = {}): RunOutcome & { world: World } {
  const run = new SimulatedRun(config, seed, serviceModel, options);
  while (!run.advance(1_000_000));
  return { ...run.recorder.complete(), world: run.world };
}
