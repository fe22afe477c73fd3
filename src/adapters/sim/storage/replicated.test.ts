import { describe, expect, it } from "vitest";
import { PRICES_2008 } from "../../../scenario/defaults.js";
import type { DomainEvent, DomainEventBody } from "../../../model/events.js";
import { InvariantChecker } from "../../../model/invariants.js";
import { Simulation } from "../simulation.js";
import type { StorageConfig } from "../../../scenario/resolve.js";
import { ReplicatedStorage } from "./replicated.js";

const HOUR = 3_600_000;

/** A persistent-ha world of `hosts` hosts in `racks` racks, one VM with a 100 GiB volume, driven by hand. */
function setup(hosts: number, racks: number, config: Partial<Omit<StorageConfig, "kind">> = {}) {
  const sim = new Simulation(1);
  const storage = new ReplicatedStorage(sim, { kind: "replicated", replicas: 3, minSize: 1, spreadRacks: true, rebuildMBps: 100, rebuildHours: null, recoveryDelayMinutes: 15, rackUplinkMBps: null, clusterNetworkMBps: null, downOutSubtreeLimit: "rack", maxBackfills: null, fullRatio: 0.95, ureRatePerBit: 0, guestTimeoutMs: 180_000, ...config }, sim.random.fork("storage"));
  const checker = new InvariantChecker(sim.world, { spreadRacks: true });
  const log: DomainEvent[] = [];
  sim.subscribe((e) => {
    log.push(e);
    checker.note(e);
  });
  sim.onEvent((e) => storage.react(e));
  sim.onSettled(() => checker.verify());
  sim.emit({ type: "runStarted", serviceModel: "persistent-ha", prices: PRICES_2008 });
  for (let i = 1; i <= hosts; i++) sim.emit({ type: "hostAdded", host: `h${i}`, rack: `r${((i - 1) % racks) + 1}`, vcpus: 8, memoryGiB: 32, diskGiB: 1000, disks: 1 });
  sim.emit({ type: "vmRequested", vm: "a", vcpus: 1, memoryGiB: 1, diskGiB: 100, lifetimeHours: null });
  storage.createVolume("a", "h1");
  const at = (hours: number, body: DomainEventBody) => sim.scheduler.schedule(Math.round(hours * HOUR), () => sim.emit(body), null);
  const copies = () => [...sim.world.volumes.get("vol-1")!.copies].map(([host, c]) => `${host}:${c.state}`);
  const of = (type: DomainEvent["type"]) => log.filter((e) => e.type === type);
  return { sim, at, copies, of, log };
}

const rebuildHours = (100 * 2 ** 30) / 100e6 / 3600; // 100 GiB at 100 MB/s ≈ 0.298 h

describe("replicated storage", () => {
  it("places the copies of a volume in distinct racks", () => {
    const { copies, sim } = setup(9, 3);
    const racks = copies().map((c) => sim.world.hosts.get(c.split(":")[0]!)!.rack);
    expect(new Set(racks).size).toBe(3);
  });

  it("waits out the recovery delay: a host back within it keeps its copy and nothing is rebuilt", () => {
    const { sim, at, copies, of } = setup(9, 3);
    const host = copies()[0]!.split(":")[0]!;
    at(1, { type: "hostFailed", host, cause: "crash" });
    at(1.2, { type: "hostRepaired", host }); // 12 min < 15 min
    sim.scheduler.run();
    expect(of("hostMarkedOut")).toHaveLength(0);
    expect(of("rebuildStarted")).toHaveLength(0);
    expect(copies()).toHaveLength(3);
  });

  it("rebuilds the copies of a host down past the delay elsewhere, in size / bandwidth, and drops the stale copy", () => {
    const { sim, at, copies, of } = setup(9, 3);
    const host = copies()[0]!.split(":")[0]!;
    at(1, { type: "hostFailed", host, cause: "hardware" });
    at(10, { type: "hostRepaired", host });
    sim.scheduler.run();
    expect(of("hostMarkedOut").map((e) => e.t)).toEqual([HOUR + 15 * 60_000]);
    const [started] = of("rebuildStarted");
    const [finished] = of("rebuildFinished");
    expect(started!.t).toBe(HOUR + 15 * 60_000);
    expect((finished!.t - started!.t) / HOUR).toBeCloseTo(rebuildHours, 6);
    expect(of("copyDropped").map((e) => (e as { host: string }).host)).toEqual([host]);
    expect(copies()).toHaveLength(3);
    expect(copies().some((c) => c.startsWith(`${host}:`))).toBe(false);
  });

  it("shares a target host's bandwidth between concurrent rebuilds", () => {
    const { sim, at, of } = setup(4, 1, { recoveryDelayMinutes: 0 });
    sim.emit({ type: "volumeDeleted", volume: "vol-1" });
    const copies = ["h1", "h2", "h3"].map((host) => ({ host, disk: 0 }));
    for (const vm of ["x", "y"]) {
      sim.emit({ type: "vmRequested", vm, vcpus: 1, memoryGiB: 1, diskGiB: 100, lifetimeHours: null });
      sim.emit({ type: "volumeCreated", volume: `v-${vm}`, vm, kind: "replicated", sizeGiB: 100, replicas: 3, copies });
    }
    at(1, { type: "hostFailed", host: "h1", cause: "hardware" }); // both volumes rebuild onto h4, the only host left
    sim.scheduler.run();
    const started = of("rebuildStarted");
    const finished = of("rebuildFinished");
    expect(started.map((e) => (e as { host: string }).host)).toEqual(["h4", "h4"]);
    for (const e of finished) expect((e.t - HOUR) / HOUR).toBeCloseTo(2 * rebuildHours, 6);
  });

  it("takes a running VM down when no copy of its volume can be reached, and loses the volume only with its last copy", () => {
    const { sim, at, copies, of } = setup(3, 3, { replicas: 2 });
    const [a, b] = copies().map((c) => c.split(":")[0]!);
    const runner = ["h1", "h2", "h3"].find((h) => h !== a && h !== b)!;
    sim.emit({ type: "vmPlaced", vm: "a", host: runner, bootMs: 0 });
    sim.emit({ type: "vmStarted", vm: "a" });
    at(1, { type: "hostFailed", host: a!, cause: "crash" });
    at(1.05, { type: "hostFailed", host: b!, cause: "crash" });
    at(1.1, { type: "diskFailed", host: a!, disk: 0 });
    at(1.15, { type: "diskFailed", host: b!, disk: 0 });
    sim.scheduler.run();
    expect(of("vmDown")).toMatchObject([{ vm: "a", cause: "storage", t: Math.round(1.05 * HOUR) }]);
    expect(of("copyLost")).toHaveLength(2);
    expect(of("volumeLost")).toMatchObject([{ volume: "vol-1", vm: "a", sizeGiB: 100, t: Math.round(1.15 * HOUR) }]);
    expect(sim.world.volumes.has("vol-1")).toBe(false);
  });

  it("rebuilds neither from nor onto a rack whose storage service is out, and starts the rebuild when it is back", () => {
    const { sim, at, copies, of } = setup(4, 2, { replicas: 2, recoveryDelayMinutes: 0 });
    const holders = copies().map((c) => c.split(":")[0]!);
    const racks = holders.map((h) => sim.world.hosts.get(h)!.rack);
    // The copy in one rack is destroyed while the other rack's storage service is out: no readable source.
    const [lost, kept] = [holders[0]!, holders[1]!];
    at(1, { type: "storageFailed", rack: racks[1]! });
    at(1.1, { type: "diskFailed", host: lost, disk: 0 });
    at(2, { type: "storageRepaired", rack: racks[1]! });
    sim.scheduler.run();
    const [started] = of("rebuildStarted") as { t: number; source: string; host: string }[];
    expect(started).toMatchObject({ t: 2 * HOUR, source: kept });
    expect(sim.world.hosts.get(started!.host)!.rack).toBe(racks[0]);
  });
});

