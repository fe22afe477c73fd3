import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { project } from "../../../metrics/projection.js";
import { storageMetrics } from "../../../metrics/storage-metrics.js";
import type { DomainEvent, DomainEventBody } from "../../../model/events.js";
import { InvariantChecker, InvariantViolation } from "../../../model/invariants.js";
import { PRICES_2008 } from "../../../scenario/defaults.js";
import { loadScenarioObject } from "../../../scenario/load.js";
import type { StorageConfig } from "../../../scenario/resolve.js";
import { simulate } from "../simulate.js";
import { Simulation } from "../simulation.js";
import { ReplicatedStorage } from "./replicated.js";

const HOUR = 3_600_000;

/** Hosts with one disk of `diskGiB` each in one rack, replicated storage driven by hand, the invariant checker on. */
function setup(hosts: number, diskGiB: number, config: Partial<Omit<StorageConfig, "kind">> = {}) {
  const sim = new Simulation(1);
  const storage = new ReplicatedStorage(sim, { kind: "replicated", replicas: 2, spreadRacks: false, rebuildMBps: 100, rebuildHours: null, recoveryDelayMinutes: 0, fullRatio: 1, guestTimeoutMs: 180_000, ...config }, sim.random.fork("storage"));
  const checker = new InvariantChecker(sim.world);
  const log: DomainEvent[] = [];
  sim.subscribe((e) => {
    log.push(e);
    checker.note(e);
  });
  sim.onEvent((e) => storage.react(e));
  sim.onSettled(() => checker.verify());
  sim.emit({ type: "runStarted", serviceModel: "persistent-ha", prices: PRICES_2008 });
  for (let i = 1; i <= hosts; i++) sim.emit({ type: "hostAdded", host: `h${i}`, rack: "r1", vcpus: 8, memoryGiB: 32, diskGiB, disks: 1 });
  const volume = (vm: string, sizeGiB: number) => {
    sim.emit({ type: "vmRequested", vm, vcpus: 1, memoryGiB: 1, diskGiB: sizeGiB, lifetimeHours: null });
    storage.createVolume(vm, "h1");
    return [...sim.world.volumes.values()].find((v) => v.vm === vm)!;
  };
  const at = (hours: number, body: DomainEventBody) => sim.scheduler.schedule(Math.round(hours * HOUR), () => sim.emit(body), null);
  const of = (type: DomainEvent["type"]) => log.filter((e) => e.type === type);
  return { sim, storage, volume, at, of, log };
}

describe("room for copies on the hosts' disks", () => {
  it("places only the copies that fit; the volume stays degraded until a deleted volume frees room, then rebuilds", () => {
    const { sim, storage, volume, at, of, log } = setup(3, 100);
    const a = volume("a", 60); // two of the three disks
    const b = volume("b", 60); // room for one copy only
    expect(a.copies.size).toBe(2);
    expect(b.copies.size).toBe(1);
    expect(storage.canCreateVolume(60)).toBe(false);
    expect(storage.canCreateVolume(40)).toBe(true);
    at(5, { type: "vmTerminated", vm: "a", volume: a.id });
    sim.scheduler.run();
    const [started] = of("rebuildStarted");
    expect(started!.t).toBe(5 * HOUR);
    const finished = of("rebuildFinished")[0]!.t;
    expect(b.copies.size).toBe(2);
    const metrics = project(storageMetrics, log);
    // b degraded from its creation to the end of its rebuild; a never was.
    expect(metrics.degradedVolumeHours).toBeCloseTo(finished / HOUR, 9);
    expect(metrics.longestDegradedHours).toBeCloseTo(finished / HOUR, 9);
    expect(metrics.rebuildTrafficGiB).toBe(60);
  });

  it("leaves a lost copy unrebuilt while no disk has room, however long", () => {
    const { sim, volume, at, of, log } = setup(3, 100);
    const a = volume("a", 60); // two disks, 40 GiB left on each
    const b = volume("b", 45); // only the third disk: 55 GiB left there
    expect(b.copies.size).toBe(1);
    at(1, { type: "diskFailed", host: [...a.copies.keys()][0]!, disk: 0 });
    at(1000, { type: "runEnded" });
    sim.scheduler.run();
    expect(of("rebuildStarted")).toEqual([]);
    const metrics = project(storageMetrics, log);
    expect(metrics.degradedVolumeHours).toBeCloseTo(1000 + 999, 6);
    expect(metrics.longestDegradedHours).toBeCloseTo(1000, 6);
  });

  it("the invariant checker refuses a disk holding more copies than it has room for", () => {
    const sim = new Simulation(1);
    const checker = new InvariantChecker(sim.world);
    sim.subscribe((e) => checker.check(e));
    sim.emit({ type: "runStarted", serviceModel: "persistent-ha", prices: PRICES_2008 });
    sim.emit({ type: "hostAdded", host: "h1", rack: "r1", vcpus: 8, memoryGiB: 32, diskGiB: 200, disks: 2 });
    sim.emit({ type: "vmRequested", vm: "a", vcpus: 1, memoryGiB: 1, diskGiB: 150, lifetimeHours: null });
    expect(() => sim.emit({ type: "volumeCreated", volume: "v", vm: "a", kind: "replicated", sizeGiB: 150, replicas: 1, copies: [{ host: "h1", disk: 1 }] })).toThrow(InvariantViolation);
  });

  it("never fills a disk past its capacity, whatever the cluster, volumes and failures (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          hosts: fc.integer({ min: 2, max: 8 }),
          racks: fc.integer({ min: 1, max: 3 }),
          disks: fc.integer({ min: 1, max: 3 }),
          diskGiB: fc.integer({ min: 50, max: 600 }),
          sizes: fc.array(fc.integer({ min: 5, max: 120 }), { minLength: 1, maxLength: 3 }),
          fleet: fc.integer({ min: 1, max: 20 }),
          replicas: fc.integer({ min: 1, max: 3 }),
          fullRatio: fc.double({ min: 0.5, max: 1, noNaN: true }),
          seed: fc.integer({ min: 1, max: 1000 }),
        }),
        (p) => {
          const scenario = {
            name: "room",
            durationHours: 300,
            cluster: { hosts: [{ name: "h", count: p.hosts, racks: Math.min(p.racks, p.hosts), disks: p.disks, vcpus: 64, memoryGiB: 256, diskGiB: p.diskGiB }] },
            workload: { sizes: p.sizes.map((diskGiB, i) => ({ name: `s${i}`, vcpus: 1, memoryGiB: 1, diskGiB })), fleet: p.fleet, arrivals: { ratePerHour: 0.2, lifetimeHours: { type: "exponential", mean: 20 } } },
            failures: {
              host: { hardware: { timeToFailureHours: { type: "exponential", mean: 200 }, timeToRepairHours: { type: "exponential", mean: 10 } } },
              disk: { timeToFailureHours: { type: "exponential", mean: 300 }, timeToRepairHours: 5 },
            },
            storage: { replicas: p.replicas, fullRatio: p.fullRatio, rebuildMBps: 20 },
          };
          const { metrics } = simulate(loadScenarioObject(scenario).config, p.seed, "persistent-ha", { check: true });
          expect(metrics.degradedVolumeHours).toBeGreaterThanOrEqual(0);
          expect(metrics.longestDegradedHours).toBeLessThanOrEqual(300 + 1e-9);
        },
      ),
      { numRuns: 40, seed: 13 },
    );
  });
});
