import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildSimulation } from "../src/adapters/sim/build.js";
import { canWake, lookAtHost, planWake, storageAllowsOff } from "../src/controller/power-save.js";
import { schedulable, volumeAvailable, type World } from "../src/model/world.js";
import { loadScenarioObject } from "../src/scenario/load.js";

/**
 * Issue 19: power-save's decisions are pure functions of the world (and its idle clocks). Worlds
 * are those of a real power-save run with churn and host crashes, taken at random events.
 */
const scenario = {
  name: "power",
  durationHours: 600,
  cluster: { hosts: [{ name: "h", count: 12, racks: 4, disks: 2, vcpus: 16, memoryGiB: 64, diskGiB: 2000 }] },
  workload: {
    sizes: [{ name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 40, weight: 3 }, { name: "l", vcpus: 2, memoryGiB: 8, diskGiB: 100 }],
    fleet: 12,
    arrivals: { ratePerHour: 1, lifetimeHours: { type: "exponential", mean: 24 } },
  },
  failures: { host: { crash: { timeToFailureHours: { type: "exponential", mean: 200 }, timeToRepairHours: { type: "exponential", mean: 2 } } } },
  placement: { policy: "power-save" },
};

/** Worlds of one run, at the events `at` picks; `visit` sees each (live: do not keep it). */
function eachWorld(seed: number, at: (seq: number) => boolean, visit: (world: World) => void): void {
  const { sim } = buildSimulation(loadScenarioObject(scenario).config, seed, "persistent-ha");
  sim.subscribe((event) => {
    if (at(event.seq)) visit(sim.world);
  });
  while (!sim.advance(1_000_000));
}

describe("power-save", () => {
  it("switches off only an up, usable, empty host, idle for at least idleOffMs since a look, when allowed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3_600_000 }), fc.boolean(), (seed, k, idleForMs, allowed) => {
        let off = 0;
        eachWorld(seed, (seq) => seq % 51 === k, (world) => {
          const idleOffMs = 1_800_000;
          for (const host of world.hosts.values()) {
            const look = lookAtHost(host, world.t - idleForMs, world.t, idleOffMs, () => allowed);
            expect(lookAtHost(host, world.t - idleForMs, world.t, idleOffMs, () => allowed)).toBe(look);
            const empty = schedulable(host) && host.vms.size === 0 && host.incoming.size === 0;
            expect(look === "busy").toBe(!empty);
            if (look === "switchOff") {
              off++;
              expect(idleForMs).toBeGreaterThanOrEqual(idleOffMs);
              expect(allowed).toBe(true);
            }
            // A host seen empty for the first time starts its clock; it is never switched off at once.
            expect(lookAtHost(host, undefined, world.t, 0, () => true)).toBe(empty ? "idleFromNow" : "busy");
          }
        });
        if (idleForMs >= 1_800_000 && allowed) expect(off).toBeGreaterThan(0);
      }),
      { numRuns: 12 },
    );
  });

  it("keeps on a host whose switching off would leave a volume without an intact copy on an up host", () => {
    let refused = 0;
    eachWorld(2, (seq) => seq % 7 === 0, (world) => {
      for (const host of world.hosts.values()) {
        const allows = storageAllowsOff(world, host);
        for (const id of host.copies) {
          const others = [...world.volumes.get(id)!.copies].filter(([other, copy]) => other !== host.id && copy.state === "intact" && world.hosts.get(other)!.up);
          if (others.length === 0) expect(allows).toBe(false);
        }
        if (!allows) refused++;
      }
    });
    expect(refused).toBeGreaterThan(0);
  });

  it("wakes only hosts it switched off, enough memory for what waits (in join order, no more), and every host holding a copy a waiting VM needs", () => {
    let total = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 30 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 100 }), (seed, k, share, reserve) => {
        let woken = 0;
        eachWorld(seed, (seq) => seq % 31 === k, (world) => {
          const ids = [...world.vms.keys()];
          const waiting = ids.filter((_, i) => i < share * ids.length);
          const off = [...world.hosts.values()].filter((h) => h.poweredOff === "idle" && h.failure === null);
          const waking = new Set(off.slice(0, 1).map((h) => h.id));
          const wake = planWake(world, waiting, waking, reserve);
          expect(planWake(world, waiting, waking, reserve)).toEqual(wake);
          for (const id of wake) {
            const host = world.hosts.get(id)!;
            expect(host.poweredOff).toBe("idle");
            expect(host.failure).toBe(null);
            expect(waking.has(id)).toBe(false);
          }
          let demand = reserve;
          const copies = new Set<string>();
          for (const id of waiting) {
            const vm = world.vms.get(id)!;
            const volume = vm.volume === null ? undefined : world.volumes.get(vm.volume);
            if (volume && !volumeAvailable(world, volume)) {
              for (const [h, c] of volume.copies) if (c.state === "intact") copies.add(h);
            } else demand += vm.memoryGiB;
          }
          const memory = (hosts: Iterable<string>) => [...hosts].reduce((sum, id) => sum + world.hosts.get(id)!.memoryGiB, 0);
          const eligible = off.filter((h) => !waking.has(h.id)).map((h) => h.id);
          // Enough, or every host there is.
          expect(memory(waking) + memory(wake) >= demand - 1e-9 || wake.length === eligible.length).toBe(true);
          for (const id of eligible) if (copies.has(id)) expect(wake).toContain(id);
          // No more than needed: without the last host woken for memory, the demand would not be met.
          let last = -1;
          wake.forEach((id, i) => {
            if (!copies.has(id)) last = i;
          });
          if (last >= 0) expect(memory(waking) + memory(wake.slice(0, last))).toBeLessThan(demand);
          expect(canWake(world, new Set())).toBe(off.length > 0);
          woken += wake.length;
        });
        total += woken;
      }),
      { numRuns: 12 },
    );
    expect(total).toBeGreaterThan(0);
  });
});
