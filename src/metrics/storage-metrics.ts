import { MS_PER_YEAR, msToHours } from "../kernel/time.js";
import type { DomainEvent } from "../model/events.js";
import type { Projection } from "./projection.js";
import { percentiles, type Percentiles } from "./service-metrics.js";

/**
 * Storage as a fold over its events: `dataLossEvents` persistent disks destroyed — volumes whose
 * last intact copy was destroyed (persistent-ha) and VPS disks on a lost local array — and
 * `gbLost` their size (instance stores are not persistent: their losses are `lostVmStateEvents`);
 * `arraysLost` local arrays lost; `raidRebuilds` local disk rebuilds finished;
 * `copiesLost` copies destroyed with their disks; rebuilds started, finished and aborted, with
 * `rebuildHours` the total time spent by finished rebuilds and `rebuildTimeHours` their spread;
 * `volumeYears` the exposure (volume-time in existence) and `mttdlHours` = volume-hours / volumes lost,
 * the renewal-reward estimate of the mean time to data loss of one volume;
 * `storageOutages` storage-service outages (`storageFailed`, of the whole service or one rack's
 * part) and `storageOutageHours` their summed length (to the end of the run for one still under
 * way); `storageStalls` VMs stopped because their volume was unreachable (`vmDown` cause storage,
 * whatever made it so) and `stallsResumed` those that rode their stall out (`vmResumed`, no reboot);
 * `storagePartitions` hosts cut off from the storage network (`storageNetworkFailed`) and
 * `storagePathRestarts` VMs stalled on such a host that HA restarted on another (the restart response).
 */
export interface StorageMetrics {
  volumesCreated: number;
  volumeYears: number;
  dataLossEvents: number;
  gbLost: number;
  mttdlHours: number | null;
  copiesLost: number;
  rebuildsStarted: number;
  rebuildsFinished: number;
  rebuildsAborted: number;
  /** Replica rebuilds and local RAID rebuilds, hours summed. */
  rebuildHours: number;
  rebuildTimeHours: Percentiles;
  arraysLost: number;
  raidRebuilds: number;
  storageOutages: number;
  storageOutageHours: number;
  storageStalls: number;
  stallsResumed: number;
  storagePartitions: number;
  storagePathRestarts: number;
}

interface State {
  t: number;
  volumes: number;
  volumeMs: number;
  created: number;
  lost: number;
  volumesLost: number;
  gbLost: number;
  copiesLost: number;
  started: Map<string, number>;
  startedCount: number;
  aborted: number;
  rebuildMs: number[];
  arraysLost: number;
  raidStarted: Map<string, number>;
  raidRebuildMs: number[];
  outages: number;
  /** Outages under way (by scope: "" for the whole service, else the rack) and since when. */
  outageSince: Map<string, number>;
  outageMs: number;
  stalls: number;
  resumed: number;
  partitions: number;
  /** VMs stalled on a host cut off from the storage network, until they run again. */
  stalledOnPath: Set<string>;
  pathRestarts: number;
}

export const storageMetrics: Projection<State, StorageMetrics> = {
  init: () => ({ t: 0, volumes: 0, volumeMs: 0, created: 0, lost: 0, volumesLost: 0, gbLost: 0, copiesLost: 0, started: new Map(), startedCount: 0, aborted: 0, rebuildMs: [], arraysLost: 0, raidStarted: new Map(), raidRebuildMs: [], outages: 0, outageSince: new Map(), outageMs: 0, stalls: 0, resumed: 0, partitions: 0, stalledOnPath: new Set(), pathRestarts: 0 }),
  apply(s, e, world) {
    storageMetrics.advance!(s, e.t);
    switch (e.type) {
      case "volumeCreated":
        s.volumes++;
        s.created++;
        break;
      case "volumeDeleted":
        s.volumes--;
        break;
      case "volumeLost":
        s.volumes--;
        s.lost++;
        s.volumesLost++;
        s.gbLost += e.sizeGiB;
        break;
      case "copyLost":
        s.copiesLost++;
        s.started.delete(`${e.volume}@${e.host}`);
        break;
      case "rebuildStarted":
        s.started.set(`${e.volume}@${e.host}`, e.t);
        s.startedCount++;
        break;
      case "rebuildFinished": {
        const key = `${e.volume}@${e.host}`;
        s.rebuildMs.push(e.t - s.started.get(key)!);
        s.started.delete(key);
        break;
      }
      case "rebuildAborted":
        s.started.delete(`${e.volume}@${e.host}`);
        s.aborted++;
        break;
      case "raidRebuildStarted":
        s.raidStarted.set(`${e.host}/${e.disk}`, e.t);
        break;
      case "raidRebuildFinished": {
        const key = `${e.host}/${e.disk}`;
        s.raidRebuildMs.push(e.t - s.raidStarted.get(key)!);
        s.raidStarted.delete(key);
        break;
      }
      case "diskFailed":
        s.raidStarted.delete(`${e.host}/${e.disk}`);
        break;
      case "arrayLost":
        s.arraysLost++;
        for (const key of [...s.raidStarted.keys()]) if (key.startsWith(`${e.host}/`)) s.raidStarted.delete(key);
        break;
      case "storageFailed":
        s.outages++;
        s.outageSince.set(e.rack ?? "", e.t);
        break;
      case "storageRepaired": {
        const scope = e.rack ?? "";
        s.outageMs += e.t - s.outageSince.get(scope)!;
        s.outageSince.delete(scope);
        break;
      }
      case "storageNetworkFailed":
        s.partitions++;
        break;
      case "vmDown":
        if (e.cause === "storage") {
          s.stalls++;
          if (world.storageOut?.hosts.has(world.vms.get(e.vm)!.host!)) s.stalledOnPath.add(e.vm);
        }
        break;
      case "vmResumed":
        s.resumed++;
        s.stalledOnPath.delete(e.vm);
        break;
      case "vmPlaced":
        if (s.stalledOnPath.delete(e.vm)) s.pathRestarts++;
        break;
      case "vmRebooted":
      case "vmTerminated":
        s.stalledOnPath.delete(e.vm);
        break;
      case "vmLost": {
        s.stalledOnPath.delete(e.vm);
        const vm = world.vms.get(e.vm)!;
        if (e.cause === "array" && vm.disk === "local-raid") {
          s.lost++;
          s.gbLost += vm.diskGiB;
        }
        break;
      }
    }
    return s;
  },
  // Every type its switch does not name: only the volume count's time integral moves.
  ignores: new Set<DomainEvent["type"]>([
    "runStarted", "hostAdded", "hostFailed", "hostRepaired", "rackFailed", "rackRepaired", "hostFailureDetected", "hostPoweredOff", "hostPoweredOn",
    "maintenanceStarted", "maintenanceFinished", "hostIsolated", "hostReconnected", "vmRequested", "vmRejected", "vmStarted",
    "migrationStarted", "migrationFinished", "migrationAborted", "splitBrain", "diskReplaced", "arrayRecreated", "hostMarkedOut",
    "copyDropped", "sanFailed", "sanRepaired", "storageNetworkRepaired", "warmupEnded", "guestBooted", "runEnded",
  ]),
  advance(s, t) {
    s.volumeMs += s.volumes * (t - s.t);
    s.t = t;
  },
  result(s) {
    const volumeHours = msToHours(s.volumeMs);
    return {
      volumesCreated: s.created,
      volumeYears: s.volumeMs / MS_PER_YEAR,
      dataLossEvents: s.lost,
      gbLost: s.gbLost,
      mttdlHours: s.volumesLost > 0 ? volumeHours / s.volumesLost : null,
      copiesLost: s.copiesLost,
      rebuildsStarted: s.startedCount,
      rebuildsFinished: s.rebuildMs.length,
      rebuildsAborted: s.aborted,
      rebuildHours: msToHours([...s.rebuildMs, ...s.raidRebuildMs].reduce((a, b) => a + b, 0)),
      rebuildTimeHours: percentiles(s.rebuildMs.map(msToHours)),
      arraysLost: s.arraysLost,
      raidRebuilds: s.raidRebuildMs.length,
      storageOutages: s.outages,
      storageOutageHours: msToHours(s.outageMs + [...s.outageSince.values()].reduce((sum, since) => sum + (s.t - since), 0)),
      storageStalls: s.stalls,
      stallsResumed: s.resumed,
      storagePartitions: s.partitions,
      storagePathRestarts: s.pathRestarts,
    };
  },
};
