import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { simulate } from "../src/adapters/sim/simulate.js";
import { cost } from "../src/metrics/cost.js";
import { hostAvailability } from "../src/metrics/host-availability.js";
import { operationsMetrics } from "../src/metrics/operations-metrics.js";
import type { Projection } from "../src/metrics/projection.js";
import { runMetrics } from "../src/metrics/run-metrics.js";
import { serviceMetrics } from "../src/metrics/service-metrics.js";
import { storageMetrics } from "../src/metrics/storage-metrics.js";
import { SERVICE_MODELS, type DomainEvent } from "../src/model/events.js";
import { evolve } from "../src/model/evolve.js";
import { emptyWorld } from "../src/model/world.js";
import { loadScenarioFile } from "../src/scenario/load.js";

/**
 * `runMetrics` calls each fold only for the event types it does not declare as ignored (issue 18,
 * for replay speed). That must not change a metric by a bit: here every fold is applied to every
 * event, as before the dispatch, and the two results are compared as JSON (the shortest text that
 * reads back to the same double, so two numbers print alike only when they are equal).
 */
const SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), "..", "scenarios");

/** Every fold applied to every event, without skipping: the reference. */
function everyFoldOnEveryEvent(events: DomainEvent[]): unknown {
  const folds = { service: serviceMetrics, storage: storageMetrics, cost, hosts: hostAvailability, operations: operationsMetrics } as Record<string, Projection<unknown, unknown>>;
  const states = Object.fromEntries(Object.entries(folds).map(([name, fold]) => [name, fold.init()]));
  const world = emptyWorld();
  let serviceModel = null;
  for (const event of events) {
    evolve(world, event);
    if (event.type === "runStarted") serviceModel = event.serviceModel;
    for (const [name, fold] of Object.entries(folds)) states[name] = fold.apply(states[name], event, world);
  }
  const result = (name: string) => folds[name]!.result(states[name]) as object;
  return { serviceModel, ...result("service"), ...result("storage"), cost: result("cost"), hosts: result("hosts"), operations: result("operations") };
}

function dispatched(events: DomainEvent[]): unknown {
  const world = emptyWorld();
  let state = runMetrics.init();
  for (const event of events) state = runMetrics.apply(state, event, evolve(world, event));
  return runMetrics.result(state);
}

describe("the metrics dispatch", () => {
  // Scenarios that between them emit every kind of event the simulation has: rebuilds, RAID,
  // maintenance and live migration, power and burst failures, storage outages and partitions, warm-up.
  const cases: [string, string[]][] = [
    ["fleet-comparison.yaml", ["durationHours=1500"]],
    ["storage-failures.yaml", ["durationHours=1500"]],
    ["correlated-failures.yaml", ["durationHours=1500"]],
    ["rolling-upgrade.yaml", []],
    ["policy-comparison.yaml", ["durationHours=1000"]],
    ["storage-replication.yaml", ["durationHours=1500"]],
    ["fleet-comparison.yaml", ["durationHours=1500", "metrics.warmupHours=500"]],
  ];
  for (const [file, overrides] of cases) {
    it(`gives every metric of ${file} ${overrides.join(" ")} to the bit as every fold applied to every event`, () => {
      const loaded = loadScenarioFile(join(SCENARIOS, file), overrides);
      const seen = new Set<string>();
      for (const model of SERVICE_MODELS) {
        const events: DomainEvent[] = [];
        const outcome = simulate(loaded.config, 1, model, { observe: (e) => events.push(e) });
        for (const e of events) seen.add(e.type);
        const reference = JSON.stringify(everyFoldOnEveryEvent(events));
        expect(JSON.stringify(dispatched(events))).toBe(reference);
        expect(JSON.stringify(outcome.metrics)).toBe(reference);
      }
      expect(seen.size).toBeGreaterThan(10);
    });
  }
});
