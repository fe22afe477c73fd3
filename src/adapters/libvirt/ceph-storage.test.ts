import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventLog } from "../../model/event-log.js";
import { checkedPersistentHaLog } from "../../../test/helpers.js";
import { CephStorageEvents, parseCephReading, type CephReading } from "./ceph-storage.js";
import type { CephStorage } from "./inventory.js";

const STORAGE: CephStorage = {
  conf: "/tb/ceph/ceph.conf",
  pool: "rbd",
  blocklist: true,
  pollIntervalMs: 2000,
  osds: [0, 1, 2].map((id) => ({ id, host: `h${id + 1}`, disk: 0, stop: null, start: null })),
};
const noRunner = { dryRun: false, run: () => Promise.reject(new Error("no commands in this test")) };

/** A persistent-ha world on h1..h3 with VM a running on h1, its volume made by the Ceph events; the invariant checker on. */
function world(guestTimeoutMs = 180_000) {
  let now = 0;
  const log = new EventLog(() => now);
  const events = checkedPersistentHaLog(log);
  const ceph = new CephStorageEvents(STORAGE, log.world, (body) => log.emit(body), noRunner, { commandTimeoutMs: 1000, guestTimeoutMs, report: () => {} });
  log.onEvent((e) => ceph.react(e));
  for (const host of ["h1", "h2", "h3"]) log.emit({ type: "hostAdded", host, rack: `rack-${host}`, vcpus: 2, memoryGiB: 1, diskGiB: 10, disks: ceph.disksOf(host) });
  ceph.observe(reading([true, true, true], true, true));
  log.emit({ type: "vmRequested", vm: "a", vcpus: 1, memoryGiB: 0.1, diskGiB: 1, lifetimeHours: null });
  ceph.createVolume("a", "testbed-a");
  log.emit({ type: "vmPlaced", vm: "a", host: "h1", bootMs: 1000 });
  log.emit({ type: "vmStarted", vm: "a" });
  return { log, ceph, events, at: (t: number) => (now = t), types: () => events.map((e) => e.type) };
}

function reading(up: boolean[], active: boolean, clean: boolean): CephReading {
  return { osdUp: new Map(up.map((u, id) => [id, u])), poolSize: 3, active, clean };
}

describe("Ceph's state read as the simulation's storage events", () => {
  it("a persistent-ha VM's image is a replicated volume with a copy on each host whose OSD is up", () => {
    const { log } = world();
    const volume = log.world.volumes.get("testbed-a")!;
    expect(volume.kind).toBe("replicated");
    expect(volume.replicas).toBe(3);
    expect([...volume.copies.keys()]).toEqual(["h1", "h2", "h3"]);
    expect(log.world.vms.get("a")!.volume).toBe("testbed-a");
  });

  it("one OSD down: its copy is lost and nothing stalls; back: the copy is rebuilt, finished once every placement group is clean", () => {
    const { log, ceph, at, types } = world();
    const from = types().length;
    at(10_000);
    ceph.observe(reading([true, false, true], true, false));
    expect(types().slice(from)).toEqual(["diskFailed", "copyLost"]);
    expect(log.world.vms.get("a")!.state).toBe("running");
    at(20_000);
    ceph.observe(reading([true, true, true], true, false));
    expect(types().slice(from + 2)).toEqual(["diskReplaced", "rebuildStarted"]);
    at(22_000);
    ceph.observe(reading([true, true, true], true, true));
    expect(types().slice(from + 4)).toEqual(["rebuildFinished"]);
    expect(log.world.volumes.get("testbed-a")!.copies.get("h2")!.state).toBe("intact");
  });

  it("placement groups not active: the storage is out and the running VM stalls; active again within the guest's timeout: it resumes", () => {
    const { log, ceph, at, types } = world();
    const from = types().length;
    at(10_000);
    ceph.observe(reading([true, false, false], false, false));
    expect(types().slice(from)).toEqual(["storageFailed", "vmDown", "diskFailed", "copyLost", "diskFailed", "copyLost"]);
    expect(log.world.vms.get("a")!.state).toBe("down");
    expect(ceph.canCreateVolume()).toBe(false);
    at(40_000);
    ceph.observe(reading([true, true, true], true, false));
    expect(types().slice(from + 6)).toEqual(["diskReplaced", "diskReplaced", "rebuildStarted", "rebuildStarted", "storageRepaired", "vmResumed"]);
    expect(log.world.vms.get("a")!.state).toBe("running");
  });

  it("a stall longer than the guest's timeout is not resumed: the VM is left to the controller to boot again", () => {
    const { log, ceph, at, types } = world(20_000);
    at(10_000);
    ceph.observe(reading([true, false, false], false, false));
    at(40_000);
    ceph.observe(reading([true, true, true], true, true));
    expect(types()).not.toContain("vmResumed");
    expect(types()).toContain("storageRepaired");
    expect(log.world.vms.get("a")!.state).toBe("down");
  });

  it("all three OSDs down: the last copy the log knows of is kept (the volume is out, not lost); back: rebuilt from it", () => {
    const { log, ceph, at, types } = world();
    at(10_000);
    ceph.observe(reading([false, false, false], false, false));
    expect(types()).not.toContain("volumeLost");
    expect(log.world.volumes.get("testbed-a")!.copies.size).toBe(1);
    at(30_000);
    ceph.observe(reading([true, true, true], true, true));
    expect([...log.world.volumes.get("testbed-a")!.copies.values()].map((c) => c.state)).toEqual(["intact", "intact", "intact"]);
    expect(log.world.vms.get("a")!.state).toBe("running");
  });

  it("the same reading twice changes nothing, and the world stays consistent whatever readings come (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean()), { maxLength: 25 }), (steps) => {
        const { ceph, at, types } = world();
        let t = 0;
        for (const [a, b, c, active, clean] of steps) {
          at((t += 2000));
          ceph.observe(reading([a, b, c], active, active && clean));
          const n = types().length;
          ceph.observe(reading([a, b, c], active, active && clean));
          expect(types().length).toBe(n);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("parsing what the cluster says", () => {
  const dump = (up: number[]) => JSON.stringify({ osds: up.map((u, osd) => ({ osd, up: u, in: 1 })), pools: [{ pool_name: "rbd", size: 3, min_size: 2 }, { pool_name: "other", size: 2, min_size: 1 }] });
  const pgs = (...states: string[]) => JSON.stringify({ pg_ready: true, pg_stats: states.map((state, i) => ({ pgid: `1.${i}`, state, acting: [i % 3, (i + 1) % 3, (i + 2) % 3] })) });

  it("reads OSDs up and down and the pool's size", () => {
    const r = parseCephReading(dump([1, 0, 1]), pgs("active+clean"), "rbd");
    expect([...r.osdUp]).toEqual([[0, true], [1, false], [2, true]]);
    expect(r.poolSize).toBe(3);
  });

  it("active+clean everywhere is active and clean; degraded is active, not clean; undersized+peered is not active", () => {
    expect(parseCephReading(dump([1, 1, 1]), pgs("active+clean", "active+clean"), "rbd")).toMatchObject({ active: true, clean: true });
    expect(parseCephReading(dump([1, 0, 1]), pgs("active+clean", "active+undersized+degraded"), "rbd")).toMatchObject({ active: true, clean: false });
    expect(parseCephReading(dump([1, 0, 0]), pgs("undersized+peered", "active+clean"), "rbd")).toMatchObject({ active: false, clean: false });
  });

  it("a stale placement group counts as active while min_size of its acting OSDs are up (measured right after one of three OSDs stopped)", () => {
    // The states read 1 s after `ceph.sh osd-stop DIR 1` on the test bed's cluster.
    const seen = pgs("stale+active+clean", "active+clean", "active+clean", "stale+active+clean");
    expect(parseCephReading(dump([1, 0, 1]), seen, "rbd")).toMatchObject({ active: true, clean: false });
    expect(parseCephReading(dump([0, 0, 1]), seen, "rbd")).toMatchObject({ active: false, clean: false });
  });

  it("an empty or unknown pool is neither active nor clean; older releases' bare list is read too", () => {
    expect(parseCephReading(dump([1, 1, 1]), JSON.stringify({ pg_stats: [] }), "rbd")).toMatchObject({ active: false, clean: false, poolSize: 3 });
    expect(parseCephReading(dump([1, 1, 1]), "[]", "nope")).toMatchObject({ poolSize: null, active: false });
    expect(parseCephReading(dump([1, 1, 1]), JSON.stringify([{ state: "active+clean", acting: [0, 1, 2] }]), "rbd")).toMatchObject({ active: true, clean: true });
  });
});
