import fc from "fast-check";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runMetrics } from "../src/metrics/run-metrics.js";
import { project } from "../src/metrics/projection.js";
import type { DomainEvent, DomainEventBody } from "../src/model/events.js";
import { replayRun } from "../src/replay/replay.js";
import { hashWorld } from "../src/run/hashing.js";
import { Simulation } from "../src/sim/simulation.js";
import { encodeEvent, eventLine } from "../src/store/event-codec.js";
import { EventStore, EventWriter } from "../src/store/event-store.js";
import { tempDir } from "./helpers.js";

/** A random but valid history of a few hosts: each step adds a host, fails an up one or repairs a failed one. */
const history = fc.array(fc.record({ dt: fc.nat({ max: 5_000 }), pick: fc.nat(), action: fc.nat({ max: 3 }), hardware: fc.boolean() }), {
  maxLength: 200,
});

describe("replay", () => {
  const dir = tempDir();

  it("rebuilds exactly the live state and metrics from any stored event sequence", () => {
    let n = 0;
    fc.assert(
      fc.property(history, (steps) => {
        const sim = new Simulation(0);
        const store = EventStore.open(join(dir, `property-${n++}.db`));
        const runId = store.beginRun(
          { scenarioName: "p", scenarioFile: null, scenarioYaml: "", scenarioJson: "{}", scenarioHash: "h", seed: 0, serviceModel: null, packageVersion: "t", gitCommit: null, eventsStored: true },
          "now",
        );
        const writer = new EventWriter(store, runId, 7); // small batches: many transactions
        const live: DomainEvent[] = [];
        sim.subscribe((e) => {
          live.push(e);
          const row = encodeEvent(e);
          writer.add(row, eventLine(row.seq, row.t, row.type, row.payload));
        });
        let t = 0;
        for (const step of steps) {
          t += step.dt;
          sim.scheduler.schedule(t, () => sim.emit(nextEvent(sim, step)), null);
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

function nextEvent(sim: Simulation, step: { pick: number; action: number; hardware: boolean }): DomainEventBody {
  const hosts = [...sim.world.hosts.values()];
  const up = hosts.filter((h) => h.status === "up");
  const failed = hosts.filter((h) => h.status === "failed");
  if (step.action === 1 && up.length > 0) return { type: "hostFailed", host: up[step.pick % up.length]!.id, cause: step.hardware ? "hardware" : "crash" };
  if (step.action === 2 && failed.length > 0) return { type: "hostRepaired", host: failed[step.pick % failed.length]!.id };
  const id = `h${hosts.length + 1}`;
  return { type: "hostAdded", host: id, rack: `r${step.pick % 3}`, vcpus: 1 + (step.pick % 64), memoryGiB: 4 + (step.pick % 500) / 4, diskGiB: 100 };
}
