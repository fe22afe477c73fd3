/**
 * Domain events: the only record of what happened in a run. The world state is the fold of
 * `evolve` over them, starting from `emptyWorld()`, so a log holds everything needed to rebuild
 * a run (the service model and the hosts themselves arrive as events at t = 0).
 *
 * Every event carries `seq` (its 1-based position in the run's log) and `t` (simulated or
 * wall-clock milliseconds since the start of the run). Payload field names carry their units.
 */
/**
 * Why a host failed: a crash (it reboots), hardware (it is repaired), or a burst — one of several
 * hosts failing together (Ford et al., OSDI'10), or a cluster-wide event (cooling, network).
 */
export type FailureCause = "crash" | "hardware" | "burst";

/**
 * The three hosting models compared (see DESIGN.md):
 * - `ephemeral`: EC2 / Eucalyptus instances; the root disk is a fresh image copy on the host's
 *   instance store, lost with the host;
 * - `vps`: classic VPS; the VM is pinned to one host and its local RAID;
 * - `persistent-ha`: the disk is a volume on replicated storage; a failed host's VMs are
 *   restarted elsewhere by the controller.
 */
export const SERVICE_MODELS = ["ephemeral", "vps", "persistent-ha"] as const;
export type ServiceModel = (typeof SERVICE_MODELS)[number];

/**
 * Where persistent-ha volumes live: N-way `replicated` over the hosts (Ceph / GFS), a `mirror`
 * on two hosts that the VM runs on one of (DRBD, as Ganeti uses it), or a central `san`.
 */
export const VOLUME_KINDS = ["replicated", "mirror", "san"] as const;
export type VolumeKind = (typeof VOLUME_KINDS)[number];

/** Where a VM's disk lives, which decides what a host failure does to it. */
export type DiskKind = "instance-store" | "local-raid" | "volume";

export const DISK_OF_MODEL: Record<ServiceModel, DiskKind> = {
  ephemeral: "instance-store",
  vps: "local-raid",
  "persistent-ha": "volume",
};

/**
 * Why a VM's disk is gone: its host went down with the instance store (`host`), its host's local
 * disk array failed beyond what its RAID level tolerates (`array`), or its volume was lost.
 */
export type VmLossCause = "host" | "array" | "volume";

/** Live: pre-copy while the VM runs, a short stop-and-copy pause. Cold: stop, move, boot again. */
export type MigrationMode = "live" | "cold";

/** Why a host is switched off on purpose (not a failure). */
export type PowerOffReason = "idle" | "maintenance" | "fenced";

/**
 * Why no host will do for a VM: no host is up; no up host has that many free vCPUs, that much
 * free memory or local disk; each resource is free somewhere, but not together on one host;
 * there is room only in failure domains that already hold a VM of the request's anti-affinity
 * group; or placing it would leave too little spare capacity to restart the VMs of the largest
 * failure domain (admission control).
 */
export type Refusal =
  | "noHostUp"
  | "insufficientVcpus"
  | "insufficientMemory"
  | "insufficientDisk"
  | "fragmented"
  | "violatesAntiAffinity"
  | "breaksFailoverReserve";

/**
 * The price model a run is billed under, carried by its log (`runStarted.prices`): USD per GiB of
 * memory per started hour (hourly-billed models), per GiB of memory per started month (VPS), per
 * GB-month of provisioned volume storage, and the provider's cost of a host per hour. The
 * defaults and their sources are in `src/scenario/defaults.ts`; the bills in `src/metrics/cost.ts`.
 */
export interface PriceModel {
  hourlyUsdPerGiB: number;
  monthlyUsdPerGiB: number;
  /**
   * VPS plans (schema 5): a VPS pays the monthly price of the smallest plan with at least its
   * memory, and past the largest plan `monthlyUsdPerGiB` per GiB; absent (older logs): linear.
   */
  vpsPlans?: { memoryGiB: number; monthlyUsd: number }[];
  storageUsdPerGBMonth: number;
  hostUsdPerHour: number;
  /**
   * The provider's own costs beyond its hosts (schema 6; absent in older logs: 0): raw disk per
   * GB-month (every copy of a volume, a local disk once) and the cluster network per GB moved
   * (rebuilds, migrations).
   */
  rawDiskUsdPerGBMonth?: number;
  networkUsdPerGB?: number;
}

/** Why a migration stopped: an end went down, pre-copy did not converge, or the infrastructure reported an error. */
export type MigrationAbortReason = "sourceDown" | "destinationDown" | "notConverging" | "failed";

export type DomainEventBody =
  /** The first event of every run: which service model the run simulates, under which prices. */
  | { type: "runStarted"; serviceModel: ServiceModel; prices: PriceModel }
  /**
   * A host joins the cluster, up; `vcpus` and `memoryGiB` are its schedulable capacity, `disks`
   * the number of disks (numbered 0 .. disks − 1) that hold its share of replicated storage.
   */
  | {
      type: "hostAdded";
      host: string;
      rack: string;
      vcpus: number;
      memoryGiB: number;
      diskGiB: number;
      disks: number;
    }
  /** A host stopped: a transient crash (back after a reboot) or a hardware failure (back after repair). */
  | { type: "hostFailed"; host: string; cause: FailureCause }
  | { type: "hostRepaired"; host: string }
  /** A rack (power/network domain) went out: every host in it is down until it comes back. */
  | { type: "rackFailed"; rack: string }
  | { type: "rackRepaired"; rack: string }
  /** The controller declared a host dead after missing its heartbeats. */
  | { type: "hostFailureDetected"; host: string }
  /**
   * A host was switched off on purpose: `idle` (power saving), `maintenance` (its window), or
   * `fenced` (STONITH by the controller before restarting its VMs elsewhere). Its VMs stop as
   * if it had failed. It is back with `hostPoweredOn`, once booted.
   */
  | { type: "hostPoweredOff"; host: string; reason: PowerOffReason }
  | { type: "hostPoweredOn"; host: string }
  /** The host is in maintenance mode: nothing new is placed on it; it is drained, then switched off for its window. */
  | { type: "maintenanceStarted"; host: string }
  | { type: "maintenanceFinished"; host: string }
  /**
   * The host is cut off from the controller (a management network partition): it is alive and
   * its VMs go on running, but it sends no heartbeats and takes no commands.
   */
  | { type: "hostIsolated"; host: string }
  | { type: "hostReconnected"; host: string }
  /**
   * A user asks for a VM; `lifetimeHours` null means it is wanted until the end of the run. VMs
   * of one anti-affinity `group` must run in distinct failure domains; `priority` orders restarts.
   */
  | {
      type: "vmRequested";
      vm: string;
      vcpus: number;
      memoryGiB: number;
      diskGiB: number;
      lifetimeHours: number | null;
      group?: string;
      /** Restart priority when it is not `medium`. */
      priority?: "high" | "low";
    }
  /** A first request found no host with room: the request is refused (blocked), for the placement policy's `reason`. */
  | { type: "vmRejected"; vm: string; reason: Refusal }
  /**
   * The VM is assigned to a host (its resources reserved there, released where it was) and boots.
   * `restoreMs` (schema 5): the part of `bootMs` spent restoring a lost VM's state from a backup
   * after the boot (`users.stateRestore`); absent when there is none.
   */
  | { type: "vmPlaced"; vm: string; host: string; bootMs: number; restoreMs?: number }
  /** A VM that is down boots again on the host it is assigned to (a VPS after its host's repair). */
  | { type: "vmRebooted"; vm: string; bootMs: number }
  /** The VM finished booting and runs. */
  | { type: "vmStarted"; vm: string }
  /**
   * The VM starts moving from host `from` to host `to`. The destination's resources are reserved
   * now, and both hosts hold them until the migration ends. `live`: the VM keeps running
   * (pre-copy); `cold`: it is stopped, its disk moved if it is local, and booted at the end.
   */
  | { type: "migrationStarted"; vm: string; from: string; to: string; mode: MigrationMode }
  /**
   * The VM is on the destination (released from the source). Live: it was paused `downtimeMs`
   * for the stop-and-copy and runs on; cold: it boots there. `transferredGiB`: memory and disk sent.
   */
  | { type: "migrationFinished"; vm: string; downtimeMs: number; transferredGiB: number }
  /** The migration stopped before the end: the destination is released; the VM is still on the source. */
  | { type: "migrationAborted"; vm: string; reason: MigrationAbortReason }
  /**
   * The controller restarted the VM on another host while its copy on the isolated `host` was
   * still running: two writers on one disk (data corruption). Its old copy no longer counts.
   */
  | { type: "splitBrain"; vm: string; host: string }
  /**
   * The VM stopped with its disk intact, still assigned to its host: the host went down
   * (`host`), no copy of its volume can be reached (`storage`), or it was shut down (`stopped`:
   * by a command, or by an isolated host's isolation response).
   */
  | { type: "vmDown"; vm: string; cause: "host" | "storage" | "stopped" }
  /**
   * The VM's disk is gone — its host went down with the instance store, or its volume was lost —
   * and the VM with it: it waits unassigned for a replacement from a fresh image. `stateHours`
   * is how much state was lost: the time since the instance booted, or since the volume was made.
   */
  | { type: "vmLost"; vm: string; cause: VmLossCause; stateHours: number }
  /**
   * The user no longer wants the VM: its resources are released and its demand ends; its volume,
   * if it has one, is deleted with it (the storage reacts with `volumeDeleted`). Logs written
   * before event format 2 (store schema 4) lack `volume`.
   */
  | { type: "vmTerminated"; vm: string; volume: string | null }
  /** A disk failed: what it held is destroyed. It is replaced (empty) by `diskReplaced`. */
  | { type: "diskFailed"; host: string; disk: number }
  | { type: "diskReplaced"; host: string; disk: number }
  /** A host's local RAID array copies its data onto a replaced disk; until it finishes the array is still degraded. */
  | { type: "raidRebuildStarted"; host: string; disk: number }
  | { type: "raidRebuildFinished"; host: string; disk: number }
  /**
   * More of the host's disks are failed or rebuilding than its RAID level tolerates: the local
   * data (VPS disks, instance stores) is destroyed, and the host has no local disk for VMs until
   * `arrayRecreated`. (Logs of store schema ≤ 4 have no `arrayRecreated`: there the array was
   * recreated at once, on the disks that worked.)
   */
  | { type: "arrayLost"; host: string }
  /** Every disk of a lost array has been replaced: the array is recreated, whole and empty (schema 5). */
  | { type: "arrayRecreated"; host: string }
  /**
   * The storage system gave up waiting for a down host ("marked out": Ceph's
   * mon_osd_down_out_interval, GFS' 15 min): its copies no longer count, and are rebuilt
   * elsewhere. The host is back in when it is up again.
   */
  | { type: "hostMarkedOut"; host: string }
  /**
   * A volume for a VM's disk: on `replicated` storage or a two-host `mirror`, with `copies` intact
   * copies on distinct hosts, wanting `replicas`; on the `san`, with no copies on hosts.
   */
  /** `minSize`: copies that must be reachable for I/O (Ceph's pool min_size); absent (logs before store schema 8, real hosts): 1. */
  | { type: "volumeCreated"; volume: string; vm: string; kind: VolumeKind; sizeGiB: number; replicas: number; minSize?: number; copies: { host: string; disk: number }[] }
  /** The VM was terminated: its volume is deleted. */
  | { type: "volumeDeleted"; volume: string }
  /** A copy was destroyed with the disk that held it (an intact or a half-rebuilt one). */
  | { type: "copyLost"; volume: string; host: string }
  /** Starts copying `source`'s copy to a new copy on `host`/`disk`. */
  | { type: "rebuildStarted"; volume: string; host: string; disk: number; source: string }
  | { type: "rebuildFinished"; volume: string; host: string }
  /** A rebuild stopped before the end (its target went down, its source is gone, it is no longer needed); the partial copy is discarded. */
  | { type: "rebuildAborted"; volume: string; host: string }
  /**
   * An intact copy the volume no longer needs is discarded: one on a marked-out host that a
   * rebuild replaced, or one back from a down host whose place a rebuild took meanwhile.
   */
  | { type: "copyDropped"; volume: string; host: string }
  /** The central storage array went out (every volume on it unreachable), or came back. */
  | { type: "sanFailed" }
  | { type: "sanRepaired" }
  /**
   * The cluster controller stopped (its process or its machine died: `failures.controller`), or
   * came back (schema 6). While it is stopped nothing is decided — no placement, no restart, no
   * migration — and the infrastructure runs on; back, it resumes from the log.
   */
  | { type: "controllerFailed" }
  | { type: "controllerRecovered" }
  /**
   * The storage service went out, or came back, while the disks and hosts holding its data are
   * fine (a lost monitor or metadata quorum, a bad software upgrade, overload): with `rack` null
   * the whole service — every replicated or SAN volume unreachable; with a rack, its part there —
   * the copies held by that rack's hosts unreachable (`failures.storage`).
   */
  | { type: "storageFailed"; rack: string | null }
  | { type: "storageRepaired"; rack: string | null }
  /**
   * The host lost, or regained, its path to the storage network (`failures.storageNetwork`): it is
   * alive and the controller reaches it, but its VMs' I/O does not get through, nor do the copies
   * it holds serve anyone.
   */
  | { type: "storageNetworkFailed"; host: string }
  | { type: "storageNetworkRepaired"; host: string }
  /**
   * A VM whose I/O stalled in a storage outage (it went `vmDown`, cause `storage`, while running)
   * runs on where it was, without a boot: its volume came back within the guest's I/O timeout.
   */
  | { type: "vmResumed"; vm: string }
  /** The last intact copy of the volume is gone: its data is lost. */
  | { type: "volumeLost"; volume: string; vm: string; sizeGiB: number }
  /**
   * A rebuild's read on `host` hit `errors` unrecoverable read errors where no other readable copy
   * held the data (schema 6): `lostGiB` of the volume — or, with `volume` null, of the host's local
   * array — is unreadable. The volume or array lives on, damaged; it is not lost whole.
   */
  | { type: "dataDamaged"; host: string; volume: string | null; errors: number; lostGiB: number }
  /**
   * The end of the warm-up (`metrics.warmupHours`, schema 5): every metric is measured from here,
   * leaving out the start from an empty, all-new cluster.
   */
  | { type: "warmupEnded" }
  /**
   * The guest itself reported a boot on its console (real hosts only): `bootCount` is the counter
   * on its disk after this boot — 1 on a fresh disk, higher when its data survived earlier boots.
   * The guest-level truth of "is my data still there". Changes nothing in the world. (Event format
   * 3, store schema 5.)
   */
  | { type: "guestBooted"; vm: string; host: string; bootCount: number }
  /** The end of the observed period: metrics are measured over [0 (or the warm-up's end), t of this event]. */
  | { type: "runEnded" };

export type DomainEvent = { seq: number; t: number } & DomainEventBody;
export type EventType = DomainEvent["type"];
export type EventOf<K extends EventType> = Extract<DomainEvent, { type: K }>;
