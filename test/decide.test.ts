import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildSimulation } from "../src/adapters/sim/build.js";
import { onHeartbeatTimeout } from "../src/controller/decide.js";
import { recall } from "../src/controller/memory.js";
import type { DomainEvent } from "../src/model/events.js";
import { evolve } from "../src/model/evolve.js";
import { emptyWorld } from "../src/model/world.js";
import { loadScenarioObject } from "../src/scenario/load.js";

/**
 * Issue 19: HA's decision when a heartbeat timeout runs out is a pure function of the world and
 * the controller's memory. Worlds are those of real logs: a small cluster with crashes, hardware
 * failures, isolations and controller outages, snapshotted live at random events.
 */
const scenario = {
  name: "decide",
  durationHours: 600,
  cluster: { hosts: [{ name: "h", count: 6, racks: 3, disks: 2, vcpus: 16, memoryGiB: 64, diskGiB: 4000 }] },
  workload: { sizes: [{ name: "hi", vcpus: 2, memoryGiB: 6, diskGiB: 40, restartPriority: "high" }, { name: "lo", vcpus: 2, memoryGiB: 6, diskGiB: 40, restartPriority: "low" }], fleet: 24 },
  failures: {
    host: {
      crash: { timeToFailureHours: { type: "exponential", mean: 120 }, timeToRepairHours: { type: "exponential", mean: 0.5 } },
      hardware: { timeToFailureHours: { type: "exponential", mean: 400 }, timeToRepairHours: { type: "exponential", mean: 10 } },
    },
    isolation: { timeToFailureHours: { type: "exponential", mean: 300 }, timeToRepairHours: { type: "exponential", mean: 1 } },
    controller: { timeToFailureHours: { type: "exponential", mean: 100 }, timeToRepairHours: { type: "exponential", mean: 1 } },
  },
};

/** A run, with the live decisions for every silent host (as JSON) at the events `at` picks among those when some host is silent. */
function liveRun(seed: number, at: (seq: number) => boolean) {
  const { sim, controller } = buildSimulation(loadScenarioObject(scenario).config, seed, "persistent-ha");
  const log: DomainEvent[] = [];
  const decisions = new Map<number, string>();
  sim.subscribe((event) => {
    log.push(event);
    if (controller.memory.silentSince.size > 0 && at(event.seq)) decisions.set(event.seq, JSON.stringify(decideAll(sim.world, controller.memory)));
  });
  while (!sim.advance(1_000_000));
  return { log, decisions };
}

function decideAll(world: Parameters<typeof onHeartbeatTimeout>[0], memory: Parameters<typeof onHeartbeatTimeout>[1]) {
  return [...memory.silentSince].sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([host, since]) => [true, false].map((fencing) => onHeartbeatTimeout(world, memory, host, since, fencing)));
}

describe("HA's decision at a heartbeat timeout", () => {
  it("is the same from the state rebuilt from a log prefix as from the live state", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 30 }), (seed, k) => {
        const { log, decisions } = liveRun(seed, (seq) => seq % 31 === k);
        expect(decisions.size).toBeGreaterThan(0);
        for (const [seq, live] of decisions) {
          const world = emptyWorld();
          const memory = recall(log.slice(0, seq), evolve, world);
          expect(JSON.stringify(decideAll(world, memory))).toBe(live);
        }
      }),
      { numRuns: 15 },
    );
  });

  it("fences an up host and nothing else; never restarts a VM of a reachable host that runs; restarts high priority first; and is deterministic", () => {
    const { log } = liveRun(7, () => false);
    const silences = log.flatMap((e, i) => (e.type === "hostFailed" || e.type === "hostIsolated" ? [i + 1] : []));
    expect(silences.length).toBeGreaterThan(20);
    let fenced = 0;
    let restarted = 0;
    for (const n of silences) {
      const world = emptyWorld();
      const memory = recall(log.slice(0, n), evolve, world);
      for (const [hostId, since] of memory.silentSince) {
        const host = world.hosts.get(hostId)!;
        // Not this silence: nothing.
        expect(onHeartbeatTimeout(world, memory, hostId, { ...since }, true)).toEqual([]);
        for (const fencing of [true, false]) {
          const commands = onHeartbeatTimeout(world, memory, hostId, since, fencing);
          expect(onHeartbeatTimeout(world, memory, hostId, since, fencing)).toEqual(commands);
          expect(commands[0]).toEqual({ type: "record", event: { type: "hostFailureDetected", host: hostId } });
          if (host.up && fencing) {
            expect(commands.slice(1)).toEqual([{ type: "powerOff", host: hostId, reason: "fenced" }]);
            fenced++;
            continue;
          }
          const vms = commands.slice(1).map((c) => {
            expect(c.type).toBe("restart");
            return (c as { vm: string }).vm;
          });
          for (const id of vms) {
            const vm = world.vms.get(id)!;
            expect(vm.host).toBe(hostId);
            expect(vm.state === "down" || host.isolated).toBe(true);
          }
          const rank = { high: 0, medium: 1, low: 2 };
          for (let i = 1; i < vms.length; i++) expect(rank[world.vms.get(vms[i - 1]!)!.priority]).toBeLessThanOrEqual(rank[world.vms.get(vms[i]!)!.priority]);
          restarted += vms.length;
        }
      }
    }
    expect(fenced).toBeGreaterThan(0);
    expect(restarted).toBeGreaterThan(0);
  });
});
