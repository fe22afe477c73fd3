import { runMetrics, type RunMetrics } from "../src/metrics/run-metrics.js";
import type { DomainEvent, ServiceModel } from "../src/model/events.js";
import { InvariantChecker } from "../src/model/invariants.js";
import { scenarioSchema } from "../src/scenario/schema.js";
import { simulateScenario, storageConfig } from "../src/sim/scenario-world.js";

/**
 * Runs a scenario (given as the object a YAML file would hold) in memory under one service
 * model, with the invariant checker on, and returns its metrics.
 */
export function simulate(scenario: unknown, seed: number, model: ServiceModel, observe?: (event: DomainEvent) => void): RunMetrics {
  const parsed = scenarioSchema.parse(scenario);
  const { sim } = simulateScenario(parsed, seed, model);
  const checker = new InvariantChecker(sim.world, { spreadRacks: storageConfig(parsed).spreadRacks });
  let metrics = runMetrics.init();
  sim.subscribe((event) => {
    checker.note(event);
    metrics = runMetrics.apply(metrics, event, sim.world);
    observe?.(event);
  });
  sim.onSettled(() => checker.verify());
  while (!sim.advance(1_000_000));
  return runMetrics.result(metrics);
}

/** Mean and standard error of independent replications. */
export function replicationEstimate(samples: number[]): { mean: number; standardError: number } {
  const n = samples.length;
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, standardError: Math.sqrt(variance / n) };
}

export const seeds = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/**
 * A small cluster with every kind of failure and both kinds of workload. `harsh`: failures far
 * more often than in life, hosts down past the storage's recovery delay, slow rebuilds — so that
 * copies are marked out, rebuilt, dropped and come back while others fail.
 */
export const smallScenario = (hosts: number, racks: number, fleet: number, ratePerHour: number, harsh = false, storageKind: "replicated" | "mirror" | "san" = "replicated") => ({
  name: "crn",
  durationHours: 2000,
  cluster: { hosts: [{ name: "h", count: hosts, racks, disks: 2, vcpus: 8, memoryGiB: 32, diskGiB: 500 }] },
  failures: {
    host: {
      crash: harsh
        ? { timeToFailureHours: { type: "exponential", mean: 50 }, timeToRepairHours: { type: "exponential", mean: 1 } }
        : { timeToFailureHours: { type: "exponential", mean: 300 }, timeToRepairHours: 0.1 },
      hardware: { timeToFailureHours: { type: "weibull", shape: 0.8, scale: 2000 }, timeToRepairHours: { type: "lognormal", mu: 2, sigma: 1 } },
    },
    rack: { timeToFailureHours: { type: "exponential", mean: 1000 }, timeToRepairHours: 2 },
    disk: { timeToFailureHours: { type: "exponential", mean: harsh ? 200 : 3000 }, timeToRepairHours: 24 },
    ...(storageKind === "san" ? { san: { timeToFailureHours: { type: "exponential", mean: harsh ? 100 : 1000 }, timeToRepairHours: 1 } } : {}),
  },
  storage: storageKind === "replicated" ? { replicas: Math.min(3, racks), rebuildMBps: harsh ? 1 : 20 } : { kind: storageKind, rebuildMBps: harsh ? 1 : 20 },
  workload: {
    sizes: [
      { name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 20, weight: 3 },
      { name: "l", vcpus: 4, memoryGiB: 16, diskGiB: 100 },
    ],
    fleet,
    arrivals: { ratePerHour, lifetimeHours: { type: "exponential", mean: 50 } },
  },
});
