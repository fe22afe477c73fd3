import { describe, expect, it } from "vitest";
import { buildSimulation } from "../src/adapters/sim/build.js";
import { Controller } from "../src/controller/controller.js";
import { memorySnapshot } from "../src/controller/memory.js";
import type { DomainEvent } from "../src/model/events.js";
import { loadScenarioObject } from "../src/scenario/load.js";

/**
 * Issue 19: a controller started afresh on a log (`Controller.resume`) takes up what the dead one
 * owed, from the world and the memory the log gives back — not more, not sooner. Simulated: at
 * `killAtMs` the first controller stops for good (`controllerFailed`, never recovered) and a new one,
 * which observed the log so far, resumes on the same port.
 */
function runWithResume(scenario: object, killAtMs: number, setup: (sim: ReturnType<typeof buildSimulation>["sim"]) => void) {
  const config = loadScenarioObject(scenario).config;
  const { sim, infrastructure } = buildSimulation(config, 1, "persistent-ha");
  const log: DomainEvent[] = [];
  sim.subscribe((e) => log.push(e));
  let fresh: Controller | null = null;
  sim.scheduler.schedule(killAtMs, () => {
    sim.emit({ type: "controllerFailed" });
    const controller = new Controller(infrastructure, config.controller);
    for (const event of log) controller.observe(event);
    sim.subscribe((event) => controller.observe(event));
    sim.onEvent((event) => controller.react(event));
    controller.resume(sim.scheduler.now);
    fresh = controller;
  }, null);
  setup(sim);
  while (!sim.advance(1_000_000));
  return { log, world: sim.world, controller: fresh! };
}

const host = { name: "h", count: 3, racks: 3, disks: 2, vcpus: 16, memoryGiB: 64, diskGiB: 2000 };
const one = { name: "resume", durationHours: 10, cluster: { hosts: [host] }, workload: { sizes: [{ name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 40 }], fleet: 1 } };
const MIN = 60_000;
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
