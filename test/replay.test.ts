import fc from "fast-check";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PRICES_2008 } from "../src/scenario/defaults.js";
import { runMetrics } from "../src/metrics/run-metrics.js";
import { project } from "../src/metrics/projection.js";
import type { DomainEvent } from "../src/model/events.js";
import { InvariantChecker } from "../src/model/invariants.js";
import { replayRun } from "../src/replay/replay.js";
import { hashWorld } from "../src/recording/hashing.js";
import { runScenario } from "../src/adapters/sim/run-scenario.js";
import { parseScenario } from "../src/scenario/load.js";
import { Simulation } from "../src/adapters/sim/simulation.js";
import { encodeEvent } from "../src/event-store/event-codec.js";
import { EventStore, EventWriter } from "../src/event-store/event-store.js";
import { consequences, eventsOf, serviceModel, steps } from "./arbitrary-events.js";
import { smallScenario, tempDir, testProvenance } from "./helpers.js";

describe("replay", () => {
  const dir = tempDir();

  it("verifies a run recorded before a metric was added on the metrics it recorded, and still finds a changed one", () => {
    let n = 0;
    const verify = (edit: (metrics: Record<string, unknown>) => void) => {
      const store = EventStore.open(join(dir, `older-metrics-${n++}.db`));
      const runId = store.beginRun(
        { scenarioName: "p", scenarioFile: null, scenarioYaml: "", scenarioJson: "{}", scenarioHash: "h", seed: 0, serviceModel: "vps", packageVersion: "t", gitCommit: null, eventsStored: true },
        "now",
      );
      const sim = new Simulation(0);
      const live: DomainEvent[] = [];
      const writer = new EventWriter(store, runId, 100);
      sim.subscribe((e) => {
        live.push(e);
        writer.add(encodeEvent(e));
      });
      sim.emit({ type: "runStarted", serviceModel: "vps", prices: PRICES_2008 });
      sim.emit({ type: "runEnded" });
      const metrics = JSON.parse(JSON.stringify(project(runMetrics, live))) as Record<string, unknown>;
      edit(metrics);
      store.completeRun(runId, writer.takeBuffered(), { eventCount: live.length, finalT: 0, stateHash: hashWorld(sim.world), logHash: "-", metrics: metrics as never }, "end");
      const report = replayRun(store, store.getRun(runId)!, { verify: true });
      store.close();
      return report.divergence;
    };
    expect(verify((m) => delete m.storageOutages)).toBeNull();
    expect(verify((m) => (m.dataLossEvents = 1))?.reason).toMatch(/metrics/);
  });

  it("rebuilds exactly the live state and metrics from any stored event sequence", () => {
    let n = 0;
    fc.assert(
      fc.property(serviceModel, steps, (model, history) => {
        const sim = new Simulation(0);
        const store = EventStore.open(join(dir, `property-${n++}.db`));
        const runId = store.beginRun(
          { scenarioName: "p", scenarioFile: null, scenarioYaml: "", scenarioJson: "{}", scenarioHash: "h", seed: 0, serviceModel: model, packageVersion: "t", gitCommit: null, eventsStored: true },
          "now",
        );
        const writer = new EventWriter(store, runId, 7); // small batches: many transactions
        const live: DomainEvent[] = [];
        sim.subscribe((e) => {
          live.push(e);
          const row = encodeEvent(e);
          writer.add(row);
        });
        const checker = new InvariantChecker(sim.world);
        sim.subscribe((e) => checker.note(e));
        sim.onSettled(() => checker.verify());
        sim.onEvent((e) => {
          for (const next of consequences(sim.world, e)) sim.emit(next);
        });
        sim.scheduler.schedule(0, () => sim.emit({ type: "runStarted", serviceModel: model, prices: PRICES_2008 }), null);
        let t = 0;
        for (const step of history) {
          t += step.dt;
          sim.scheduler.schedule(t, () => {
            for (const body of eventsOf(sim.world, step)) sim.emit(body);
          }, null);
        }
        sim.scheduler.schedule(t, () => sim.emit({ type: "runEnded" }), null);
        sim.scheduler.run();
        const metrics = project(runMetrics, live);
        store.completeRun(runId, writer.takeBuffered(), { eventCount: live.length, finalT: t, stateHash: hashWorld(sim.world), logHash: "-", metrics }, "end");
        const report = replayRun(store, store.getRun(runId)!, { verify: true });
        store.close();
        expect(report.divergence).toBeNull();
        expect(report.stateHash).toBe(hashWorld(sim.world));
        expect(report.metrics).toEqual(metrics);
      }),
      { verbose: true, numRuns: 60 },
    );
  });
});

describe("replay of simulated runs", () => {
  const dir = tempDir();

  it("rebuilds the state and metrics of random small scenarios under every model, storage included", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 20 }),
        fc.double({ min: 0.01, max: 2, noNaN: true }),
        fc.nat(),
        serviceModel,
        fc.constantFrom("replicated" as const, "mirror" as const, "san" as const),
        async (hosts, racks, fleet, rate, seed, model, storage) => {
          const store = EventStore.open(join(dir, `sim-${n++}.db`));
          const loaded = parseScenario("random.yaml", JSON.stringify(smallScenario(hosts, racks, fleet, rate, true, storage)));
          const live = await runScenario(loaded, { seed, serviceModel: model, store, provenance: testProvenance, check: true });
          const report = replayRun(store, store.getRun(live.runId!)!, { verify: true });
          store.close();
          expect(report.divergence).toBeNull();
          expect(report.stateHash).toBe(live.stateHash);
          expect(report.metrics).toEqual(live.metrics);
        },
      ),
      { numRuns: 25, verbose: true },
    );
  });
});
