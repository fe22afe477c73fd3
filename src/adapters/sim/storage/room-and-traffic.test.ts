import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { project } from "../../../metrics/projection.js";
import { storageMetrics } from "../../../metrics/storage-metrics.js";
import type { DomainEvent, DomainEventBody } from "../../../model/events.js";
import { InvariantChecker, InvariantViolation } from "../../../model/invariants.js";
import { PRICES_2008 } from "../../../scenario/defaults.js";
import { loadScenarioObject } from "../../../scenario/load.js";
import type { StorageConfig } from "../../../scenario/resolve.js";
import { checkedPersistentHaLog } from "../../../../test/helpers.js";
import { simulate } from "../simulate.js";
import { Simulation } from "../simulation.js";
import { ReplicatedStorage } from "./replicated.js";

const HOUR = 3_600_000;

/**
 * Hosts with one disk of `diskGiB` each (a number: that many hosts in one rack; else each host's
 * rack and disk), replicated storage driven by hand, the invariant checker on.
 */
function setup(hosts: number | { rack: string; diskGiB: number }[], diskGiB: number, config: Partial<Omit<StorageConfig, "kind">> = {}) {
  const sim = new Simulation(1);
  const storage = new ReplicatedStorage(sim, { kind: "replicated", replicas: 2, minSize: 1, spreadRacks: false, rebuildMBps: 100, rebuildHours: null, recoveryDelayMinutes: 0, rackUplinkMBps: null, clusterNetworkMBps: null, downOutSubtreeLimit: "rack", maxBackfills: null, fullRatio: 1, ureRatePerBit: 0, guestTimeoutMs: 180_000, ...config }, sim.random.fork("storage"));
  sim.onEvent((e) => storage.react(e));
  const log = checkedPersistentHaLog(sim);
  const list = typeof hosts === "number" ? Array.from({ length: hosts }, () => ({ rack: "r1", diskGiB })) : hosts;
  list.forEach((h, i) => sim.emit({ type: "hostAdded", host: `h${i + 1}`, rack: h.rack, vcpus: 8, memoryGiB: 32, diskGiB: h.diskGiB, disks: 1 }));
  const volume = (vm: string, sizeGiB: number, copies?: string[]) => {
    sim.emit({ type: "vmRequested", vm, vcpus: 1, memoryGiB: 1, diskGiB: sizeGiB, lifetimeHours: null });
    if (copies) sim.emit({ type: "volumeCreated", volume: `vol-${vm}`, vm, kind: "replicated", sizeGiB, replicas: copies.length, copies: copies.map((host) => ({ host, disk: 0 })) });
    else storage.createVolume(vm, "h1");
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

/** 100 GiB at 100 MB/s, in hours. */
const ONE_REBUILD_HOURS = (100 * 2 ** 30) / 100e6 / 3600;

describe("rebuild traffic", () => {
  /** Volumes of 100 GiB with one copy on a source host each and one on h2..h(k+1), whose disks fail at 1 h; room for one copy on each of k empty hosts. */
  function rebuildsFrom(k: number, sharedSource: boolean, config: Partial<Omit<StorageConfig, "kind">> = {}) {
    const sources = Array.from({ length: k }, (_, i) => (sharedSource ? "h1" : `h${2 * k + 2 + i}`));
    const hosts = [
      { rack: "r1", diskGiB: sharedSource ? 100 * k : 100 }, // h1, full when it is the source
      ...Array.from({ length: 2 * k }, () => ({ rack: "r1", diskGiB: 100 })), // h2..h(2k+1): holders, then empty targets
      ...Array.from({ length: k }, () => ({ rack: "r1", diskGiB: 100 })), // distinct sources
    ];
    const w = setup(hosts, 0, config);
    for (let i = 0; i < k; i++) w.volume(`v${i}`, 100, [sources[i]!, `h${i + 2}`]);
    for (let i = 0; i < k; i++) w.at(1, { type: "diskFailed", host: `h${i + 2}`, disk: 0 });
    w.sim.scheduler.run();
    const started = w.of("rebuildStarted") as { t: number; host: string; source: string }[];
    const finished = w.of("rebuildFinished");
    expect(started).toHaveLength(k);
    expect(new Set(started.map((e) => e.host)).size).toBe(k); // distinct targets: the writes do not bind
    return { hours: finished.map((e) => (e.t - HOUR) / HOUR), metrics: project(storageMetrics, w.log), started };
  }

  it("k copies rebuilt from one source take k times as long as one: the source's reads bind", () => {
    for (const k of [1, 2, 4]) {
      const { hours, started, metrics } = rebuildsFrom(k, true);
      expect(started.every((e) => e.source === "h1")).toBe(true);
      for (const h of hours) expect(h).toBeCloseTo(k * ONE_REBUILD_HOURS, 6);
      expect(metrics.rebuildTrafficGiB).toBe(100 * k);
    }
    // From k distinct sources to k distinct targets, nothing is shared: each takes one rebuild's time.
    for (const h of rebuildsFrom(4, false).hours) expect(h).toBeCloseTo(ONE_REBUILD_HOURS, 6);
  });

  it("a rack uplink and the cluster network bind when they are narrower than the hosts' links", () => {
    // Two racks: both rebuilds leave r2 by its uplink of 50 MB/s, 25 MB/s each: 4 × as long as at 100 MB/s.
    const hosts = [
      { rack: "r2", diskGiB: 100 }, { rack: "r2", diskGiB: 100 }, // h1, h2 sources
      { rack: "r1", diskGiB: 100 }, { rack: "r1", diskGiB: 100 }, // h3, h4 holders that fail
      { rack: "r1", diskGiB: 100 }, { rack: "r1", diskGiB: 100 }, // h5, h6 targets (r2 has no room)
    ];
    for (const [config, factor] of [[{ rackUplinkMBps: 50 }, 4], [{ clusterNetworkMBps: 100 }, 2], [{}, 1]] as const) {
      const w = setup(hosts, 0, config);
      w.volume("a", 100, ["h1", "h3"]);
      w.volume("b", 100, ["h2", "h4"]);
      w.at(1, { type: "diskFailed", host: "h3", disk: 0 });
      w.at(1, { type: "diskFailed", host: "h4", disk: 0 });
      w.sim.scheduler.run();
      for (const e of w.of("rebuildFinished")) expect((e.t - HOUR) / HOUR).toBeCloseTo(factor * ONE_REBUILD_HOURS, 6);
    }
  });

  /** Three racks of two hosts, a volume of 100 GiB with copies in racks 1 and 2; rack 1 down for 6 h. */
  function rackDown(limit: "rack" | "none") {
    const hosts = ["r1", "r1", "r2", "r2", "r3", "r3"].map((rack) => ({ rack, diskGiB: 1000 }));
    const w = setup(hosts, 0, { recoveryDelayMinutes: 15, downOutSubtreeLimit: limit, spreadRacks: true });
    w.volume("a", 100, ["h1", "h3"]);
    w.at(1, { type: "rackFailed", rack: "r1" });
    w.at(7, { type: "rackRepaired", rack: "r1" });
    w.at(20, { type: "runEnded" });
    w.sim.scheduler.run();
    return { w, metrics: project(storageMetrics, w.log) };
  }

  it("does not mark out a whole rack that is down (downOutSubtreeLimit: rack): no rebuild traffic; with none, re-replicates it", () => {
    const exempt = rackDown("rack");
    expect(exempt.w.of("hostMarkedOut")).toEqual([]);
    expect(exempt.w.of("rebuildStarted")).toEqual([]);
    expect(exempt.metrics.rebuildTrafficGiB).toBe(0);
    expect(exempt.metrics.degradedVolumeHours).toBeCloseTo(6, 9); // one copy short while the rack is down
    const marked = rackDown("none");
    expect(marked.w.of("hostMarkedOut").map((e) => e.t)).toEqual([1.25 * HOUR, 1.25 * HOUR]);
    expect(marked.metrics.rebuildTrafficGiB).toBe(100);
    expect(marked.metrics.degradedVolumeHours).toBeCloseTo(0.25 + ONE_REBUILD_HOURS, 6);
  });

  it("marks out a host of an exempted rack once part of the rack is back and the delay has passed again", () => {
    const hosts = ["r1", "r1", "r2", "r2", "r3", "r3"].map((rack) => ({ rack, diskGiB: 1000 }));
    const w = setup(hosts, 0, { recoveryDelayMinutes: 15, spreadRacks: true });
    w.volume("a", 100, ["h1", "h3"]);
    w.at(1, { type: "hostFailed", host: "h1", cause: "hardware" });
    w.at(1, { type: "hostFailed", host: "h2", cause: "hardware" }); // the whole of r1 down
    w.at(3, { type: "hostRepaired", host: "h2" });
    w.at(20, { type: "runEnded" });
    w.sim.scheduler.run();
    expect(w.of("hostMarkedOut")).toMatchObject([{ host: "h1", t: 3.25 * HOUR }]);
  });
});

describe("recovery throttle (maxBackfills, Ceph's osd_max_backfills)", () => {
  /**
   * k volumes of 100 GiB, each with a copy on its own full source host and one on a holder whose
   * disk fails at 1 h; one target host with room for all k copies: k rebuilds onto one target.
   */
  function ontoOneTarget(k: number, maxBackfills: number | null, more: (w: ReturnType<typeof setup>) => void = () => {}) {
    const hosts = [
      { rack: "r1", diskGiB: 100 * k }, // h1: the target
      ...Array.from({ length: 2 * k }, () => ({ rack: "r1", diskGiB: 100 })), // sources h2..h(k+1), holders h(k+2)..h(2k+1)
    ];
    const w = setup(hosts, 0, { maxBackfills });
    for (let i = 0; i < k; i++) w.volume(`v${i}`, 100, [`h${i + 2}`, `h${k + i + 2}`]);
    for (let i = 0; i < k; i++) w.at(1, { type: "diskFailed", host: `h${k + i + 2}`, disk: 0 });
    more(w);
    w.sim.scheduler.run();
    const finished = w.of("rebuildFinished") as { t: number; volume: string }[];
    expect(w.of("rebuildStarted").every((e) => (e as { host: string }).host === "h1")).toBe(true);
    return { w, hours: finished.map((e) => (e.t - HOUR) / HOUR), metrics: project(storageMetrics, w.log) };
  }

  it("with maxBackfills 1, k rebuilds onto one target run one after another: k × one rebuild's time end to end", () => {
    for (const k of [1, 2, 4]) {
      const { w, hours, metrics } = ontoOneTarget(k, 1);
      expect(w.of("rebuildStarted").map((e) => e.t)).toEqual(Array(k).fill(HOUR)); // placed at once, waiting for the slot
      hours.forEach((h, i) => expect(h).toBeCloseTo((i + 1) * ONE_REBUILD_HOURS, 6));
      // Each volume degraded until its own rebuild ends: 1 + 2 + … + k rebuild times; the longest k.
      expect(metrics.degradedVolumeHours).toBeCloseTo(((k * (k + 1)) / 2) * ONE_REBUILD_HOURS, 6);
      expect(metrics.longestDegradedHours).toBeCloseTo(k * ONE_REBUILD_HOURS, 6);
    }
  });

  it("with maxBackfills k (or no limit), k rebuilds onto one target overlap and share its bandwidth", () => {
    for (const k of [2, 4]) {
      for (const limit of [k, null]) {
        const { hours, metrics } = ontoOneTarget(k, limit);
        for (const h of hours) expect(h).toBeCloseTo(k * ONE_REBUILD_HOURS, 6);
        expect(metrics.degradedVolumeHours).toBeCloseTo(k * k * ONE_REBUILD_HOURS, 5); // each re-timing rounds up to 1 ms
      }
    }
  });

  it("a rebuild that ends early hands its slot on: an aborted one at once, a waiting one leaves the queue", () => {
    // Three rebuilds onto h1 at 1 h; the running one (v0) is deleted half-way, the last waiting one (v2) at once.
    const half = ONE_REBUILD_HOURS / 2;
    const { w, hours } = ontoOneTarget(3, 1, (w) => {
      w.at(1 + half, { type: "vmTerminated", vm: "v0", volume: "vol-v0" });
      w.at(1 + half, { type: "vmTerminated", vm: "v2", volume: "vol-v2" });
    });
    expect(w.of("rebuildFinished").map((e) => (e as { volume: string }).volume)).toEqual(["vol-v1"]);
    expect(hours[0]).toBeCloseTo(half + ONE_REBUILD_HOURS, 6);
  });

  it("no host ever runs more than maxBackfills rebuild reads or writes at once, and every rebuild ends (property, invariant checker on)", () => {
    fc.assert(
      fc.property(
        fc.record({
          hosts: fc.integer({ min: 3, max: 9 }),
          maxBackfills: fc.integer({ min: 1, max: 3 }),
          volumes: fc.array(fc.record({ sizeGiB: fc.integer({ min: 10, max: 200 }), copies: fc.array(fc.nat(), { minLength: 2, maxLength: 3 }) }), { minLength: 1, maxLength: 12 }),
          // At most one failure per host (hosts 1..9), so that none fails twice at once.
          failures: fc.array(fc.option(fc.record({ atHours: fc.double({ min: 0, max: 20, noNaN: true }), kind: fc.constantFrom("disk", "host") })), { minLength: 9, maxLength: 9 }),
        }),
        (p) => {
          const w = setup(p.hosts, 2000, { maxBackfills: p.maxBackfills });
          p.volumes.forEach((v, i) => {
            const copies = [...new Set(v.copies.map((c) => `h${(c % p.hosts) + 1}`))];
            if (copies.length >= 2) w.volume(`v${i}`, v.sizeGiB, copies);
          });
          for (const [i, f] of p.failures.slice(0, p.hosts).entries()) {
            if (f === null) continue;
            const host = `h${i + 1}`;
            if (f.kind === "disk") {
              w.at(f.atHours, { type: "diskFailed", host, disk: 0 });
              w.at(f.atHours + 3, { type: "diskReplaced", host, disk: 0 });
            } else {
              w.at(f.atHours, { type: "hostFailed", host, cause: "hardware" });
              w.at(f.atHours + 2, { type: "hostRepaired", host });
            }
          }
          let most = 0;
          w.sim.onEvent(() => {
            for (let h = 1; h <= p.hosts; h++) {
              const { reading, writing } = w.storage.transfersAt(`h${h}`);
              most = Math.max(most, reading, writing);
            }
          });
          w.sim.scheduler.run();
          expect(most).toBeLessThanOrEqual(p.maxBackfills);
          // No rebuild left waiting for a slot for ever: each started one finished or was aborted.
          const ended = w.of("rebuildFinished").length + w.of("rebuildAborted").length + w.of("copyLost").filter((e) => w.of("rebuildStarted").some((s) => (s as { volume: string }).volume === (e as { volume: string }).volume)).length;
          expect(w.of("rebuildStarted").length).toBeLessThanOrEqual(ended);
          for (const v of w.sim.world.volumes.values()) for (const c of v.copies.values()) expect(c.state).toBe("intact");
        },
      ),
      { numRuns: 100, seed: 13 },
    );
  });
});

describe("a rebuild whose target host fails", () => {
  it("is started again on another host (the volume is not left short with no rebuild)", () => {
    const w = setup(4, 100, { recoveryDelayMinutes: 15 });
    const a = w.volume("a", 60, ["h1", "h2"]);
    w.at(1, { type: "diskFailed", host: "h2", disk: 0 });
    let failed = false;
    w.sim.onEvent((e) => {
      if (e.type === "rebuildStarted" && !failed) {
        failed = true;
        w.sim.scheduler.after(HOUR / 10, () => w.sim.emit({ type: "hostFailed", host: e.host, cause: "hardware" }), null);
      }
    });
    w.at(50, { type: "runEnded" });
    w.sim.scheduler.run();
    const started = w.of("rebuildStarted") as { host: string }[];
    expect(started).toHaveLength(2);
    expect(started[1]!.host).not.toBe(started[0]!.host);
    expect(w.of("rebuildFinished")).toHaveLength(1);
    expect([...a.copies.values()].every((c) => c.state === "intact")).toBe(true);
  });
});
