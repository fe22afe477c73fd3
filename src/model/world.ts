import type { DiskKind, FailureCause, MigrationMode, PowerOffReason, ServiceModel, VolumeKind } from "./events.js";

/**
 * The world state that `evolve` builds from events. Plain data: Maps and Sets keyed by id, in
 * the order the ids first appeared in the log, so iteration order is itself a function of the log.
 */
export interface Host {
  readonly id: string;
  readonly rack: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly diskGiB: number;
  /** Up when it has no failure of its own, is powered on, and its rack is up. */
  up: boolean;
  /** The host's own failure, if it has one (its rack may be out as well). */
  failure: FailureCause | null;
  /** Why it is switched off on purpose, null while powered on. */
  poweredOff: PowerOffReason | null;
  /** In maintenance mode: nothing new is placed on it. */
  maintenance: boolean;
  /** Cut off from the controller (alive, its VMs running, but unreachable). */
  isolated: boolean;
  /** When `up` last changed (ms). */
  since: number;
  failures: number;
  /**
   * Resources reserved by the VMs assigned to the host (booting, running, or down with it) and by
   * the VMs migrating to it.
   */
  usedVcpus: number;
  usedMemoryGiB: number;
  usedDiskGiB: number;
  vms: Set<string>;
  /** VMs migrating to this host: reserved here, still assigned to their source. */
  incoming: Set<string>;
  /** Disks holding replicated storage: up or failed (awaiting replacement). */
  diskUp: boolean[];
  /** Local RAID: disks being rebuilt after a replacement (the array is degraded meanwhile). */
  raidRebuilding: boolean[];
  /**
   * When the local array was lost, null while it works: a lost array is recreated, empty, once
   * every one of its disks has been replaced (`arrayRecreated`); until then the host has no local
   * disk for VMs.
   */
  arrayLostAt: number | null;
  /** Marked out by the storage system while down: its copies no longer count. */
  out: boolean;
  /** Volumes with a copy (intact or being rebuilt) on this host. */
  copies: Set<string>;
}

/** A copy of a volume on one disk of one host: intact, or being written by a rebuild. */
export interface Copy {
  readonly disk: number;
  state: "intact" | "rebuilding";
}

/** A VM's disk on replicated storage: its copies by host, in the order they were made. */
export interface Volume {
  readonly id: string;
  readonly vm: string;
  readonly kind: VolumeKind;
  readonly sizeGiB: number;
  /** How many copies the storage system keeps. */
  readonly replicas: number;
  /** How many intact copies on reachable hosts it needs to serve I/O (Ceph's pool min_size). */
  readonly minSize: number;
  readonly createdAt: number;
  copies: Map<string, Copy>;
}

export interface Rack {
  readonly id: string;
  up: boolean;
  hosts: string[];
}

/**
 * - `pending`: wanted but on no host (waiting for a first placement or a replacement);
 * - `booting` / `running` on `host`;
 * - `down`: its host is down; still assigned there (VPS) or waiting for the controller (HA).
 */
export type VmState = "pending" | "booting" | "running" | "down";

export interface Vm {
  readonly id: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly diskGiB: number;
  readonly disk: DiskKind;
  readonly lifetimeHours: number | null;
  state: VmState;
  host: string | null;
  /** When `state` last changed (ms). */
  since: number;
  /** When the VM last started running (ms), null before its first start. */
  startedAt: number | null;
  /** Boots so far; a boot timer carries the count it was set for, so a stale one is recognised. */
  boots: number;
  /** Its volume (persistent-ha), null until made or after it was lost. */
  volume: string | null;
  /** A migration under way: to which host, how, since when. */
  migration: { to: string; mode: MigrationMode; since: number } | null;
  /** Its anti-affinity group (VMs of a group are kept in distinct failure domains), null if none. */
  group: string | null;
  /** Restart priority: when room is short, higher ones are restarted first. */
  priority: "high" | "medium" | "low";
  /**
   * Since when the VM's disk holds the state a loss would destroy: the last boot from a fresh
   * image (instance store), the volume's creation, or the VM's first start (local RAID).
   */
  dataSince: number | null;
}

export interface World {
  /** Time of the last applied event (ms). */
  t: number;
  /** `seq` of the last applied event; the next must be `lastSeq + 1`. */
  lastSeq: number;
  ended: boolean;
  serviceModel: ServiceModel | null;
  hosts: Map<string, Host>;
  racks: Map<string, Rack>;
  /** VMs that are wanted now; a terminated or rejected VM leaves the map. */
  vms: Map<string, Vm>;
  /** Volumes that exist; a deleted or lost volume leaves the map. */
  volumes: Map<string, Volume>;
  /** Whether the central storage array (for `san` volumes) is up. */
  sanUp: boolean;
  /**
   * Storage-service outages under way (`storageFailed`): the whole service (`cluster`), or its
   * part in these racks. Absent until the first outage, so that the state — and its hash — of a
   * run without storage outages is what it was before they were modelled.
   */
  storageOut?: {
    cluster: boolean;
    racks: Set<string>;
    /** Hosts cut off from the storage network (`storageNetworkFailed`): alive, but no I/O to or from their storage gets through. */
    hosts: Set<string>;
  };
}

export function emptyWorld(): World {
  return { t: 0, lastSeq: 0, ended: false, serviceModel: null, hosts: new Map(), racks: new Map(), vms: new Map(), volumes: new Map(), sanUp: true };
}

/** Host disk a VM takes: its whole disk, unless that is a volume on shared storage. */
export function localDiskGiB(vm: { diskGiB: number; disk: DiskKind }): number {
  return vm.disk === "volume" ? 0 : vm.diskGiB;
}

/** Sums of GiB are floats; a tolerance keeps an exact fit from failing on rounding. */
const EPSILON = 1e-9;

/** Local disk the host has left for VMs: none while its local array is lost (`arrayLostAt`). */
export function freeLocalDiskGiB(host: Host): number {
  return host.arrayLostAt === null ? host.diskGiB - host.usedDiskGiB : 0;
}

/** Whether the VM fits in what the host has left. */
export function fits(host: Host, vm: { vcpus: number; memoryGiB: number; diskGiB: number; disk: DiskKind }): boolean {
  return (
    host.usedVcpus + vm.vcpus <= host.vcpus &&
    host.usedMemoryGiB + vm.memoryGiB <= host.memoryGiB + EPSILON &&
    localDiskGiB(vm) <= freeLocalDiskGiB(host) + EPSILON
  );
}

/**
 * The hosts whose up/down status the event (already applied) switched: a host failure or repair
 * switches its host if it is powered on and its rack up, a power switch if it has not failed and
 * its rack is up; a rack event switches the rack's hosts that
 * have no failure of their own.
 */
export function hostsSwitchedBy(world: World, event: { type: string; host?: string; rack?: string | null }): Host[] {
  const host = (e: { host?: string }) => world.hosts.get(e.host!)!;
  switch (event.type) {
    case "hostFailed":
    case "hostRepaired":
      // A failure or repair switches a host that is powered on, in a rack that is up.
      return world.racks.get(host(event).rack)!.up && host(event).poweredOff === null ? [host(event)] : [];
    case "hostPoweredOff":
    case "hostPoweredOn":
      return world.racks.get(host(event).rack)!.up && host(event).failure === null ? [host(event)] : [];
    case "rackFailed":
    case "rackRepaired":
      return world.racks
        .get(event.rack!)!
        .hosts.map((id) => world.hosts.get(id)!)
        .filter((host) => host.failure === null && host.poweredOff === null);
    default:
      return [];
  }
}

const DOWN_EVENTS = new Set(["hostFailed", "rackFailed", "hostPoweredOff"]);
const UP_EVENTS = new Set(["hostRepaired", "rackRepaired", "hostPoweredOn"]);

/** The hosts the event (already applied) took down: by a failure, a rack outage or a power-off. */
export function hostsDownedBy(world: World, event: { type: string; host?: string; rack?: string | null }): Host[] {
  return DOWN_EVENTS.has(event.type) ? hostsSwitchedBy(world, event) : [];
}

/** The hosts the event (already applied) brought up: by a repair, a rack's return or a power-on. */
export function hostsBroughtUpBy(world: World, event: { type: string; host?: string; rack?: string | null }): Host[] {
  return UP_EVENTS.has(event.type) ? hostsSwitchedBy(world, event) : [];
}

/** Whether a host should be up: no failure of its own, powered on, and its rack up. */
export function hostShouldBeUp(world: World, host: Host): boolean {
  return host.failure === null && host.poweredOff === null && world.racks.get(host.rack)!.up;
}

/** Whether the controller can use the host: up, reachable, and not in maintenance. */
export function schedulable(host: Host): boolean {
  return host.up && !host.isolated && !host.maintenance;
}

/**
 * Whether a volume can be read and written now: the storage service is not out, and the SAN is
 * up, or some intact copy is on a host that is up, in a rack where the storage service is not out.
 */
export function volumeAvailable(world: World, volume: Volume): boolean {
  const out = world.storageOut;
  if (out?.cluster) return false;
  if (volume.kind === "san") return world.sanUp;
  const partial = out !== undefined && (out.racks.size > 0 || out.hosts.size > 0) ? out : null;
  let reachable = 0;
  for (const [id, copy] of volume.copies) {
    if (copy.state !== "intact") continue;
    const host = world.hosts.get(id)!;
    if (host.up && (partial === null || (!partial.racks.has(host.rack) && !partial.hosts.has(id))) && ++reachable >= volume.minSize) return true;
  }
  return false;
}

/** Whether a VM on `host` can do I/O to the volume: it is available and the host has its path to the storage network. */
export function volumeReachableFrom(world: World, volume: Volume, host: string): boolean {
  return volumeAvailable(world, volume) && world.storageOut?.hosts.has(host) !== true;
}

/** Whether the host is cut off from the storage network. */
export function cutOffFromStorage(world: World, host: string): boolean {
  return world.storageOut?.hosts.has(host) === true;
}

/** Whether an intact copy of the volume is on a host that is up, whatever the storage service's state (a rebuild under way can go on reading it). */
export function copyOnUpHost(world: World, volume: Volume): boolean {
  for (const [host, copy] of volume.copies) if (copy.state === "intact" && world.hosts.get(host)!.up) return true;
  return false;
}

/** Whether the storage service can serve copies held by this host: neither the whole service nor its part in the host's rack is out. */
export function storageServes(world: World, host: Host): boolean {
  const out = world.storageOut;
  return out === undefined || (!out.cluster && !out.racks.has(host.rack) && !out.hosts.has(host.id));
}

/** Intact copies of a volume, wherever they are (a copy on a down host is intact, not lost). */
export function intactCopies(volume: Volume): number {
  let n = 0;
  for (const copy of volume.copies.values()) if (copy.state === "intact") n++;
  return n;
}
