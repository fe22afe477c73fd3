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
