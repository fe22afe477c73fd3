import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildSimulation } from "../src/adapters/sim/build.js";
import { simulate } from "../src/adapters/sim/simulate.js";
import { emptyMemory, memorySnapshot, recall, remember } from "../src/controller/memory.js";
import type { DomainEvent } from "../src/model/events.js";
import { evolve } from "../src/model/evolve.js";
import { emptyWorld } from "../src/model/world.js";
import { loadScenarioObject } from "../src/scenario/load.js";

/**
 * Issue 19: what the controller remembers is a projection of the log, so a controller that dies
 * can rebuild it from the stored events alone.
 */

/** A small cluster where everything the memory tracks happens: crashes, isolation, fencing, a rolling upgrade by live migration, churn, controller outages. */
const busy = {
  name: "memory",
  durationHours: 400,
  cluster: { hosts: [{ name: "h", count: 8, racks: 4, disks: 2, vcpus: 16, memoryGiB: 64, diskGiB: 4000 }] },
  workload: {
    sizes: [{ name: "s", vcpus: 2, memoryGiB: 6, diskGiB: 40 }],
    fleet: 30,
    arrivals: { ratePerHour: 0.5, lifetimeHours: { type: "exponential", mean: 20 } },
  },
  failures: {
    host: { crash: { timeToFailureHours: { type: "exponential", mean: 150 }, timeToRepairHours: { type: "exponential", mean: 2 } } },
    isolation: { timeToFailureHours: { type: "exponential", mean: 400 }, timeToRepairHours: { type: "exponential", mean: 1 } },
    // Hosts cut off from the storage network: their VMs stall (and are restarted elsewhere after the response's timeout).
    storageNetwork: { timeToFailureHours: { type: "exponential", mean: 300 }, timeToRepairHours: { type: "exponential", mean: 0.5 } },
    // The controller itself stops now and then: its memory goes on being the log's.
    controller: { timeToFailureHours: { type: "exponential", mean: 50 }, timeToRepairHours: { type: "exponential", mean: 2 } },
  },
  maintenance: { rollingUpgrade: { startHours: 50, windowHours: 1 } },
  ha: { storagePathResponse: "restart", storagePathTimeoutSeconds: 600 },
};

describe("the controller's memory", () => {
  it("rebuilt from any prefix of the log equals the memory the live controller had there", () => {
    const config = loadScenarioObject(busy).config;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }), (seed, cuts) => {
        const { sim, controller } = buildSimulation(config, seed, "persistent-ha");
        const log: DomainEvent[] = [];
        const live = new Map<number, string>();
        const at = new Set<number>();
        sim.subscribe((event) => {
          log.push(event);
          if (at.has(event.seq)) live.set(event.seq, JSON.stringify(memorySnapshot(controller.memory)));
        });
        // Where to cut: a share of a run's events (about 4 000 for this scenario).
        for (const cut of cuts) at.add(1 + Math.floor(cut * 4_000));
        while (!sim.advance(1_000_000));
        for (const type of ["migrationStarted", "hostFailureDetected", "controllerFailed", "storageNetworkFailed"]) expect(log.some((e) => e.type === type)).toBe(true);
        expect(log.some((e) => e.type === "vmDown" && e.cause === "storage")).toBe(true);
        for (const [seq, snapshot] of live) {
          const rebuilt = recall(log.slice(0, seq), evolve, emptyWorld());
          expect(JSON.stringify(memorySnapshot(rebuilt))).toBe(snapshot);
        }
        expect(JSON.stringify(memorySnapshot(recall(log, evolve, emptyWorld())))).toBe(JSON.stringify(memorySnapshot(controller.memory)));
      }),
      { numRuns: 12 },
    );
  });

  it("forgets a migration whose VM is terminated in the middle of it, so a drain of its source goes on", () => {
    // One 48 GiB VM on h-001, migrated at 50 MiB/s (about 16 min of pre-copy) from 1 h; it is ended at 1.1 h, mid-migration.
    const scenario = {
      name: "leak",
      durationHours: 20,
      cluster: { hosts: [{ name: "h", count: 2, disks: 2, vcpus: 16, memoryGiB: 64, diskGiB: 4000 }] },
      workload: { trace: [{ timeHours: 0, vm: "big", vcpus: 4, memoryGiB: 48, diskGiB: 40, lifetimeHours: 1.1 }] },
      migration: { bandwidthMiBps: 50 },
      maintenance: { rollingUpgrade: { startHours: 1, windowHours: 1, hosts: 1, drainTimeoutMinutes: 600 } },
    };
    const log: DomainEvent[] = [];
    simulate(loadScenarioObject(scenario).config, 1, "persistent-ha", { check: true, observe: (e) => log.push(e) });
    const started = log.find((e) => e.type === "migrationStarted")!;
    const terminated = log.find((e) => e.type === "vmTerminated")!;
    expect(started.t).toBeLessThan(terminated.t);
    expect(log.some((e) => (e.type === "migrationFinished" || e.type === "migrationAborted") && e.t <= terminated.t)).toBe(false);
    // The drain ends when the VM does, not at its 10-hour timeout.
    const off = log.find((e) => e.type === "hostPoweredOff" && e.reason === "maintenance")!;
    expect(off.t).toBe(terminated.t);
    const memory = recall(log, evolve, emptyWorld());
    expect(memory.migrating.size).toBe(0);
  });

  it("counts a host's silence once, from the event that began it, and ends it when the host is back", () => {
    const world = emptyWorld();
    const memory = emptyMemory();
    const fold = (body: Record<string, unknown>, t: number) => {
      const event = { seq: world.lastSeq + 1, t, ...body } as DomainEvent;
      return remember(memory, evolve(world, event), event);
    };
    // The start of a real run: its runStarted and the host "h".
    const prelude: DomainEvent[] = [];
    const tiny = { name: "tiny", durationHours: 1, cluster: { hosts: [{ name: "h", count: 1, disks: 1, vcpus: 8, memoryGiB: 32, diskGiB: 100 }] } };
    simulate(loadScenarioObject(tiny).config, 1, "persistent-ha", { observe: (e) => prelude.push(e) });
    for (const event of prelude.filter((e) => e.type === "runStarted" || e.type === "hostAdded")) fold(event, 0);
    expect([...world.hosts.keys()]).toEqual(["h"]);
    const seq = world.lastSeq + 1;
    expect(fold({ type: "hostFailed", host: "h", cause: "crash" }, 10).silenced).toEqual(["h"]);
    expect(fold({ type: "hostIsolated", host: "h" }, 20).silenced).toEqual([]);
    expect(memory.silentSince.get("h")).toEqual({ t: 10, seq });
    fold({ type: "hostFailureDetected", host: "h" }, 30);
    expect(memory.declaredDead.has("h")).toBe(true);
    fold({ type: "hostReconnected", host: "h" }, 40);
    // Reachable again, but still failed: silent.
    expect(memory.silentSince.has("h")).toBe(true);
    fold({ type: "hostRepaired", host: "h" }, 50);
    expect(memory.silentSince.has("h")).toBe(false);
    expect(memory.declaredDead.has("h")).toBe(false);
  });
});
