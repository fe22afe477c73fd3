import { MS_PER_YEAR, msToHours } from "../kernel/time.js";
import type { DomainEvent } from "../model/events.js";
import { hostsBroughtUpBy, hostsDownedBy, type Volume, type World } from "../model/world.js";
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
 * `storagePathRestarts` VMs stalled on such a host that HA restarted on another (the restart response);
 * `degradedVolumeHours` the volume-hours during which a volume with copies on hosts (replicated or
 * mirror) had fewer intact copies on up hosts than its replicas — Ceph's "degraded": a copy lost,
 * behind a down host, or not yet made for want of room — and `longestDegradedHours` the longest such
 * period of one volume (to the end of the run for one still degraded); `rebuildTrafficGiB` the
 * data written by finished replica rebuilds (each its volume's size; what aborted rebuilds wrote
 * before they stopped is not counted); `dataDamageEvents` rebuild reads whose unrecoverable read
 * errors met no other copy (`dataDamaged`: a replicated volume or a host's local array damaged, not
 * lost whole — counted apart from `dataLossEvents`) and `gbDamaged` the data they made unreadable.
 *
 * After `warmupEnded` everything is measured from that instant: counts and sums start again at
 * zero; a rebuild, an outage or a degraded period under way counts as begun then (an outage under
 * way is one outage).
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
  degradedVolumeHours: number;
  longestDegradedHours: number;
  rebuildTrafficGiB: number;
  dataDamageEvents: number;
  gbDamaged: number;
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
  /** Degraded volumes and since when; the summed and the longest finished degraded periods. */
  degradedSince: Map<string, number>;
  degradedMs: number;
  longestDegradedMs: number;
  rebuildGiB: number;
  damaged: number;
  gbDamaged: number;
}

export const storageMetrics: Projection<State, StorageMetrics> = {
  init: () => ({ t: 0, volumes: 0, volumeMs: 0, created: 0, lost: 0, volumesLost: 0, gbLost: 0, copiesLost: 0, started: new Map(), startedCount: 0, aborted: 0, rebuildMs: [], arraysLost: 0, raidStarted: new Map(), raidRebuildMs: [], outages: 0, outageSince: new Map(), outageMs: 0, stalls: 0, resumed: 0, partitions: 0, stalledOnPath: new Set(), pathRestarts: 0, degradedSince: new Map(), degradedMs: 0, longestDegradedMs: 0, rebuildGiB: 0, damaged: 0, gbDamaged: 0 }),
  apply(s, e, world) {
    s.volumeMs += s.volumes * (e.t - s.t);
    s.t = e.t;
    trackDegraded(s, e, world);
    switch (e.type) {
      case "warmupEnded":
        return warmedUp(s, e.t);
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
        s.rebuildGiB += world.volumes.get(e.volume)!.sizeGiB;
        const key = `${e.volume}@${e.host}`;
        s.rebuildMs.push(e.t - s.started.get(key)!);
        s.started.delete(key);
        break;
      }
      case "dataDamaged":
        s.damaged++;
        s.gbDamaged += e.lostGiB;
        break;
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
      degradedVolumeHours: msToHours(s.degradedMs + [...s.degradedSince.values()].reduce((sum, since) => sum + (s.t - since), 0)),
      longestDegradedHours: msToHours([...s.degradedSince.values()].reduce((longest, since) => Math.max(longest, s.t - since), s.longestDegradedMs)),
      rebuildTrafficGiB: s.rebuildGiB,
      dataDamageEvents: s.damaged,
      gbDamaged: s.gbDamaged,
    };
  },
};

/** The end of the warm-up: what was measured so far is dropped; what is under way is measured from `t`. */
function warmedUp(s: State, t: number): State {
  const since = (m: Map<string, number>) => new Map([...m.keys()].map((key) => [key, t]));
  return {
    ...storageMetrics.init(),
    t,
    volumes: s.volumes,
    started: since(s.started),
    raidStarted: since(s.raidStarted),
    outageSince: since(s.outageSince),
    outages: s.outageSince.size,
    degradedSince: since(s.degradedSince),
    stalledOnPath: s.stalledOnPath,
  };
}

/** Whether a volume kept on hosts has fewer intact copies on up hosts than its replicas. */
function degraded(world: World, volume: Volume): boolean {
  let n = 0;
  for (const [host, copy] of volume.copies) if (copy.state === "intact" && world.hosts.get(host)!.up) n++;
  return n < volume.replicas;
}

/** Opens or closes the degraded periods of the volumes the event touched (the world already updated). */
function trackDegraded(s: State, e: DomainEvent, world: World): void {
  const update = (volume: Volume | undefined) => {
    if (!volume || volume.kind === "san") return;
    const since = s.degradedSince.get(volume.id);
    if (degraded(world, volume)) {
      if (since === undefined) s.degradedSince.set(volume.id, e.t);
    } else if (since !== undefined) closeDegraded(s, volume.id, e.t);
  };
  switch (e.type) {
    case "volumeCreated":
    case "copyLost":
    case "copyDropped":
    case "rebuildFinished":
      update(world.volumes.get(e.volume));
      break;
    case "volumeDeleted":
    case "volumeLost":
      if (s.degradedSince.has(e.volume)) closeDegraded(s, e.volume, e.t);
      break;
    default:
      for (const host of [...hostsDownedBy(world, e), ...hostsBroughtUpBy(world, e)]) {
        for (const id of host.copies) update(world.volumes.get(id));
      }
  }
}

function closeDegraded(s: State, volume: string, t: number): void {
  const ms = t - s.degradedSince.get(volume)!;
  s.degradedMs += ms;
  s.longestDegradedMs = Math.max(s.longestDegradedMs, ms);
  s.degradedSince.delete(volume);
}
