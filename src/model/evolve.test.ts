import { describe, expect, it } from "vitest";
import { PRICES_2008 } from "../scenario/defaults.js";
import { canonicalJson } from "./canonical.js";
import type { DomainEvent, DomainEventBody } from "./events.js";
import { evolve, EvolveError } from "./evolve.js";
import { emptyWorld } from "./world.js";

const added = (host: string): DomainEventBody => ({ type: "hostAdded", host, rack: "r1", vcpus: 8, memoryGiB: 32, diskGiB: 500, disks: 2 });

const started: { t: number; body: DomainEventBody } = { t: 0, body: { type: "runStarted", serviceModel: "vps", prices: PRICES_2008 } };

/** Folds the events after a `runStarted` (vps unless the list starts with its own). */
function fold(bodies: { t: number; body: DomainEventBody }[]) {
  const world = emptyWorld();
  const all = bodies[0]?.body.type === "runStarted" ? bodies : [started, ...bodies];
  all.forEach(({ t, body }, i) => evolve(world, { seq: i + 1, t, ...body } as DomainEvent));
  return world;
}

const request = (vm: string, memoryGiB = 8): DomainEventBody => ({ type: "vmRequested", vm, vcpus: 2, memoryGiB, diskGiB: 100, lifetimeHours: null });

describe("evolve", () => {
  it("builds hosts from hostAdded and tracks failures and repairs", () => {
    const world = fold([
      { t: 0, body: added("h1") },
      { t: 0, body: added("h2") },
      { t: 100, body: { type: "hostFailed", host: "h2", cause: "hardware" } },
      { t: 250, body: { type: "hostRepaired", host: "h2" } },
      { t: 300, body: { type: "hostFailed", host: "h2", cause: "crash" } },
    ]);
    expect(world.lastSeq).toBe(6);
    expect(world.t).toBe(300);
    expect(world.hosts.get("h1")).toMatchObject({ up: true, failure: null, failures: 0, since: 0 });
    expect(world.hosts.get("h2")).toMatchObject({ up: false, failure: "crash", failures: 2, since: 300 });
  });

  it("takes every host of a rack down with the rack and brings back only those without a failure of their own", () => {
    const world = fold([
      { t: 0, body: added("h1") },
      { t: 0, body: added("h2") },
      { t: 10, body: { type: "hostFailed", host: "h1", cause: "hardware" } },
      { t: 20, body: { type: "rackFailed", rack: "r1" } },
    ]);
    expect([world.hosts.get("h1")!.up, world.hosts.get("h2")!.up]).toEqual([false, false]);
    evolve(world, { seq: 6, t: 30, type: "rackRepaired", rack: "r1" });
    expect([world.hosts.get("h1")!.up, world.hosts.get("h2")!.up]).toEqual([false, true]);
    evolve(world, { seq: 7, t: 40, type: "hostRepaired", host: "h1" });
    expect(world.hosts.get("h1")!.up).toBe(true);
  });

  it("reserves a placed VM's resources on its host and releases them when it is terminated", () => {
    const world = fold([
      { t: 0, body: added("h1") },
      { t: 0, body: request("a") },
      { t: 0, body: { type: "vmPlaced", vm: "a", host: "h1", bootMs: 40_000 } },
      { t: 40_000, body: { type: "vmStarted", vm: "a" } },
    ]);
    expect(world.hosts.get("h1")).toMatchObject({ usedVcpus: 2, usedMemoryGiB: 8, usedDiskGiB: 100 });
    expect(world.vms.get("a")).toMatchObject({ state: "running", host: "h1", boots: 1, startedAt: 40_000, disk: "local-raid" });
    expect(() => evolve(structuredClone(world), { seq: 6, t: 50_000, type: "vmTerminated", vm: "a", volume: "vol-9" })).toThrow(/VM a's volume is null, not vol-9/);
    // Event format 1 (before store schema 4) had no volume: such logs still replay.
    evolve(world, { seq: 6, t: 50_000, type: "vmTerminated", vm: "a" } as DomainEvent);
    expect(world.vms.has("a")).toBe(false);
    expect(world.hosts.get("h1")).toMatchObject({ usedVcpus: 0, usedMemoryGiB: 0, usedDiskGiB: 0 });
    expect(world.hosts.get("h1")!.vms.size).toBe(0);
  });

  it("accepts a guest's boot report only for a VM that runs on that host, and changes nothing", () => {
    const world = fold([
      { t: 0, body: added("h1") },
      { t: 0, body: added("h2") },
      { t: 0, body: request("a") },
      { t: 0, body: { type: "vmPlaced", vm: "a", host: "h1", bootMs: 1 } },
      { t: 1, body: { type: "vmStarted", vm: "a" } },
    ]);
    const before = JSON.stringify(world, (_k, v) => (v instanceof Map ? [...v] : v instanceof Set ? [...v] : v));
    expect(() => evolve(structuredClone(world), { seq: 7, t: 2, type: "guestBooted", vm: "a", host: "h2", bootCount: 1 })).toThrow(/VM a is on h1, not h2/);
    expect(() => evolve(structuredClone(world), { seq: 7, t: 2, type: "guestBooted", vm: "b", host: "h1", bootCount: 1 })).toThrow(/unknown VM b/);
    expect(() => evolve(structuredClone(world), { seq: 7, t: 2, type: "guestBooted", vm: "a", host: "h1", bootCount: 0 })).toThrow(/not a positive integer/);
    evolve(world, { seq: 7, t: 2, type: "guestBooted", vm: "a", host: "h1", bootCount: 3 });
    const after = JSON.stringify({ ...world, t: 1, lastSeq: 6 }, (_k, v) => (v instanceof Map ? [...v] : v instanceof Set ? [...v] : v));
    expect(after).toBe(before);
    evolve(world, { seq: 8, t: 3, type: "vmDown", vm: "a", cause: "stopped" });
    expect(() => evolve(structuredClone(world), { seq: 9, t: 4, type: "guestBooted", vm: "a", host: "h1", bootCount: 4 })).toThrow(/VM a is down, not running/);
  });

  it("moves a down VM's reservation to its new host when it is placed again", () => {
    const world = fold([
      { t: 0, body: { type: "runStarted", serviceModel: "persistent-ha", prices: PRICES_2008 } },
      { t: 0, body: added("h1") },
      { t: 0, body: added("h2") },
      { t: 0, body: request("a") },
      { t: 0, body: { type: "vmPlaced", vm: "a", host: "h1", bootMs: 1 } },
      { t: 1, body: { type: "vmStarted", vm: "a" } },
      { t: 5, body: { type: "hostFailed", host: "h1", cause: "hardware" } },
      { t: 5, body: { type: "vmDown", vm: "a", cause: "host" } },
      { t: 9, body: { type: "vmPlaced", vm: "a", host: "h2", bootMs: 1 } },
    ]);
    expect(world.hosts.get("h1")).toMatchObject({ usedVcpus: 0, usedMemoryGiB: 0 });
    expect(world.hosts.get("h2")).toMatchObject({ usedVcpus: 2, usedMemoryGiB: 8, usedDiskGiB: 0 }); // the disk is a volume
    expect(world.vms.get("a")).toMatchObject({ state: "booting", host: "h2", boots: 2 });
  });

  it("leaves an ephemeral VM lost with its host pending on no host", () => {
    const world = fold([
      { t: 0, body: { type: "runStarted", serviceModel: "ephemeral", prices: PRICES_2008 } },
      { t: 0, body: added("h1") },
      { t: 0, body: request("a") },
      { t: 0, body: { type: "vmPlaced", vm: "a", host: "h1", bootMs: 1 } },
      { t: 1, body: { type: "vmStarted", vm: "a" } },
      { t: 5, body: { type: "hostFailed", host: "h1", cause: "crash" } },
      { t: 5, body: { type: "vmLost", vm: "a", cause: "host", stateHours: 0 } },
    ]);
    expect(world.vms.get("a")).toMatchObject({ state: "pending", host: null, disk: "instance-store" });
    expect(world.hosts.get("h1")!.usedMemoryGiB).toBe(0);
  });

  const refusals: [string, { t: number; body: DomainEventBody }[], RegExp][] = [
    ["a host added twice", [{ t: 0, body: added("h1") }, { t: 0, body: added("h1") }], /already exists/],
    ["a failure of an unknown host", [{ t: 0, body: { type: "hostFailed", host: "x", cause: "crash" } }], /unknown host x/],
    ["a failure of a failed host", [{ t: 0, body: added("h1") }, { t: 1, body: { type: "hostFailed", host: "h1", cause: "crash" } }, { t: 2, body: { type: "hostFailed", host: "h1", cause: "crash" } }], /has already failed/],
    ["a repair of a host that is up", [{ t: 0, body: added("h1") }, { t: 1, body: { type: "hostRepaired", host: "h1" } }], /has not failed/],
    ["an event before runStarted", [{ t: 0, body: { type: "runStarted", serviceModel: "vps", prices: PRICES_2008 } }, { t: 0, body: { type: "runStarted", serviceModel: "vps", prices: PRICES_2008 } }], /already started/],
    ["a VM placed where it does not fit", [{ t: 0, body: added("h1") }, { t: 0, body: request("a", 40) }, { t: 0, body: { type: "vmPlaced", vm: "a", host: "h1", bootMs: 1 } }], /does not fit on host h1/],
    ["a VM placed on a failed host", [{ t: 0, body: added("h1") }, { t: 0, body: request("a") }, { t: 1, body: { type: "hostFailed", host: "h1", cause: "crash" } }, { t: 2, body: { type: "vmPlaced", vm: "a", host: "h1", bootMs: 1 } }], /host h1 is down/],
    ["a VM started that is not booting", [{ t: 0, body: added("h1") }, { t: 0, body: request("a") }, { t: 1, body: { type: "vmStarted", vm: "a" } }], /is pending, not booting/],
    ["a VM down on a host that is up", [{ t: 0, body: added("h1") }, { t: 0, body: request("a") }, { t: 0, body: { type: "vmPlaced", vm: "a", host: "h1", bootMs: 1 } }, { t: 1, body: { type: "vmDown", vm: "a", cause: "host" } }], /host h1 of VM a is up/],
    ["a rack that is already out", [{ t: 0, body: added("h1") }, { t: 1, body: { type: "rackFailed", rack: "r1" } }, { t: 2, body: { type: "rackFailed", rack: "r1" } }], /already out/],
    ["time going back", [{ t: 5, body: added("h1") }, { t: 4, body: added("h2") }], /time goes back/],
    ["an event after the end", [{ t: 5, body: { type: "runEnded" } }, { t: 6, body: added("h2") }], /already ended/],
    ["an unknown event type", [{ t: 0, body: { type: "hostExploded" } as unknown as DomainEventBody }], /unknown event type "hostExploded"/],
  ];
  for (const [name, events, message] of refusals) {
    it(`refuses ${name}`, () => {
      expect(() => fold(events)).toThrow(EvolveError);
      expect(() => fold(events)).toThrow(message);
    });
  }

  it("refuses a log whose first event is not runStarted", () => {
    expect(() => evolve(emptyWorld(), { seq: 1, t: 0, ...added("h1") } as DomainEvent)).toThrow(/runStarted must come first/);
  });

  it("refuses an event whose seq does not follow the last one", () => {
    const world = fold([{ t: 0, body: added("h1") }]);
    expect(() => evolve(world, { seq: 4, t: 0, ...added("h2") } as DomainEvent)).toThrow(/expected seq 3/);
  });

  it("tracks storage-service outages, leaves them out of the state until the first, and resumes only a stalled VM whose volume is back", () => {
    const ha: { t: number; body: DomainEventBody } = { t: 0, body: { type: "runStarted", serviceModel: "persistent-ha", prices: PRICES_2008 } };
    const before = fold([ha, { t: 0, body: added("h1") }]);
    expect("storageOut" in before).toBe(false);
    const world = fold([
      ha,
      { t: 0, body: added("h1") },
      { t: 0, body: request("a", 1) },
      { t: 0, body: { type: "volumeCreated", volume: "v", vm: "a", kind: "replicated", sizeGiB: 100, replicas: 1, copies: [{ host: "h1", disk: 0 }] } },
      { t: 0, body: { type: "vmPlaced", vm: "a", host: "h1", bootMs: 0 } },
      { t: 0, body: { type: "vmStarted", vm: "a" } },
      { t: 10, body: { type: "storageFailed", rack: "r1" } },
      { t: 10, body: { type: "vmDown", vm: "a", cause: "storage" } },
    ]);
    expect(world.storageOut).toEqual({ cluster: false, racks: new Set(["r1"]), hosts: new Set() });
    expect(() => evolve(world, { seq: 9, t: 20, type: "vmResumed", vm: "a" })).toThrow(/unreachable/);
    expect(() => evolve(world, { seq: 9, t: 20, type: "storageFailed", rack: "r1" })).toThrow(/already out/);
    expect(() => evolve(world, { seq: 9, t: 20, type: "storageRepaired", rack: null })).toThrow(/already up/);
    expect(() => evolve(world, { seq: 9, t: 20, type: "storageFailed", rack: "r9" })).toThrow(/unknown rack/);
    evolve(world, { seq: 9, t: 20, type: "storageRepaired", rack: "r1" });
    evolve(world, { seq: 10, t: 20, type: "vmResumed", vm: "a" });
    expect(world.vms.get("a")).toMatchObject({ state: "running", since: 20, boots: 1 });
  });
});

