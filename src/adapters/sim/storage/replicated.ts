import { distribution, type Distribution } from "../../../kernel/distributions.js";
import type { TimerId } from "../../../kernel/scheduler.js";
import type { Random } from "../../../kernel/random.js";
import { hoursToMs, MS_PER_MINUTE } from "../../../kernel/time.js";
import type { DomainEvent } from "../../../model/events.js";
import { copyOnUpHost, hostsBroughtUpBy, hostsDownedBy, intactCopies, storageServes, volumeAvailable, type Host, type Volume, type World } from "../../../model/world.js";
import type { StorageConfig } from "../../../scenario/resolve.js";
import type { Simulation } from "../simulation.js";
import { BackfillSlots } from "./backfill-slots.js";
import { RebuildLinks, type Link } from "./rebuild-links.js";
import { DAMAGED_GIB_PER_ERROR, readErrors } from "./read-errors.js";
import { RoomIndex } from "./room-index.js";

/**
 * N-way replicated block storage spread over the cluster's hosts (Ceph RBD / GFS-like, the
 * disks of the hypervisors themselves), as the simulated infrastructure sees it:
 *
 * - a volume gets `replicas` copies on distinct hosts, in distinct racks while there are racks
 *   enough (`spreadRacks`: Ceph's CRUSH rule with a rack failure domain);
 * - a disk failure destroys the copies on it; a down host's copies are intact but unreachable,
 *   and once the host has been down for `recoveryDelayMinutes` it is marked out and its copies
 *   are re-created elsewhere (GFS waits 15 min, Ford et al., OSDI'10; Ceph's
 *   mon_osd_down_out_interval is 10 min). A host that comes back brings its copies back; one
 *   that a rebuild has replaced meanwhile is dropped;
 * - a rebuild reads any intact copy on an up host and writes the new copy at the target host's
 *   `rebuildMBps`, shared equally by the rebuilds writing to that host at the same time
 *   (processor sharing; reads are assumed spread over many sources, as in declustered
 *   placement), so its duration follows from the volume size and the load on the target — or,
 *   with `rebuildHours`, is drawn from a distribution (measured rebuild times);
 * - a volume is lost exactly when its last intact copy is destroyed (`volumeLost`); a rebuild
 *   that has no intact copy to read from stops.
 *
 * - a VM whose volume has no copy on an up host goes down until one is reachable again.
 * - while the storage service is out (`storageFailed`: everywhere, or in one rack) the copies it
 *   serves are unreachable: VMs stall (`StorageOutages`), no new rebuild reads from or writes to
 *   them; rebuilds already under way go on (the data path between disks is not what failed), and
 *   volumes left short start their rebuilds when it is back.
 *
 * - a copy takes its volume's size on one disk of its host (intact or being rebuilt; each disk holds
 *   the host's `diskGiB` / `disks`): no copy is placed or rebuilt onto a disk it would fill past
 *   `fullRatio` (Ceph's full ratio). A volume that finds no room for a copy stays short of copies
 *   (degraded) and waits, retried when room is freed (a volume deleted, a copy dropped) or comes
 *   (a host back, a disk replaced); no new volume is made while no host has room for one copy.
 *
 * - at most `maxBackfills` rebuilds read from one host at once, and at most that many write to it
 *   (Ceph's `osd_max_backfills` reservations, `BackfillSlots`): a rebuild beyond it has its copy
 *   placed (`rebuildStarted`, its room taken) but waits in the host's FIFO queue, the volume
 *   degraded, until one there ends.
 *
 * - every rebuild read meets unrecoverable read errors at `ureRatePerBit`; where the copy read was
 *   the volume's last readable one, they damage it (`dataDamaged`: 4 MiB each), short of losing it.
 *
 * Defaults and their sources: `src/scenario/defaults.ts`.
 */

const BYTES_PER_GIB = 2 ** 30;
/** Sums of GiB are floats: a copy that fits exactly must not be refused on rounding. */
const EPSILON_GIB = 1e-9;
const PICK_TRIES = 32;
const NO_HOSTS: ReadonlySet<string> = new Set();
const NO_RACKS: Set<string> = new Set();

export class ReplicatedStorage {
  private readonly world: World;
  /** The hosts in join order (the world's own objects, which `evolve` updates in place). */
  private readonly hosts: Host[] = [];
  private readonly racks = new Set<string>();
  /** Rebuilds under way, sharing the links they cross. */
  private readonly links: RebuildLinks;
  /** The per-host limit on rebuilds at once (`maxBackfills`); a rebuild transfers only once it holds its slots. */
  private readonly backfills: BackfillSlots;
  /** Volumes short of copies that could not start a rebuild (no source or no target yet). */
  private readonly short = new Set<string>();
  private volumes = 0;
  /** GiB held by copies (intact or being rebuilt) on each disk of each host. */
  private readonly usedGiB = new Map<string, number[]>();
  /** The room left on every disk (its first slot by host), to refuse a copy no disk can take at once. */
  private readonly room = new RoomIndex();
  private readonly roomSlot = new Map<string, number>();
  /** Volumes this storage made, whose room is taken already when their `volumeCreated` comes by. */
  private readonly accounted = new Set<string>();
  /** Down hosts not marked out because their whole rack was down (`downOutSubtreeLimit: rack`), by rack. */
  private readonly exempted = new Map<string, Set<Host>>();

  /** With `rebuildHours`: rebuild durations drawn from it, and the pending rebuilds' timers. */
  private readonly rebuildTime: Distribution | null;
  private readonly rebuildRandom: Random;
  /** Unrecoverable read errors met by rebuild reads. */
  private readonly ureRandom: Random;
  private readonly timedRebuilds = new Map<string, TimerId>();

  constructor(private readonly sim: Simulation, readonly config: StorageConfig, private readonly random: Random) {
    this.world = sim.world;
    this.links = new RebuildLinks(sim.scheduler);
    this.backfills = new BackfillSlots(config.maxBackfills);
    this.rebuildTime = config.rebuildHours ? distribution(config.rebuildHours) : null;
    this.rebuildRandom = random.fork("rebuild");
    this.ureRandom = random.fork("read-errors");
  }

  /**
   * A new volume of `sizeGiB` would get enough copies to serve I/O: `minSize` of them (Ceph's
   * placement groups stay inactive with fewer OSDs than the pool's min_size), on hosts that can take
   * one (up, in, a working disk with room, served by the storage service) — in as many racks when
   * copies are spread, as `createVolume` places them (a rack again only once every rack has one).
   */
  canCreateVolume(sizeGiB = 0): boolean {
    if (this.world.storageOut?.cluster || sizeGiB > this.room.largest() + EPSILON_GIB) return false;
    const need = this.config.minSize;
    const spread = this.config.spreadRacks;
    let hosts = 0;
    const racks = new Set<string>();
    for (const host of this.hosts) {
      if (!this.canTake(host, NO_HOSTS, false, NO_RACKS, sizeGiB)) continue;
      hosts++;
      racks.add(host.rack);
      if ((spread ? racks.size : hosts) >= need) return true;
    }
    return spread && racks.size === this.racks.size && hosts >= need;
  }

  /**
   * Makes the volume of a VM about to be placed on `hostId` for the first time (or again after a
   * loss). A mirror's first copy is on that host (if it has a working disk; else the VM runs
   * "diskless" there, as DRBD allows), its second in another rack.
   */
  createVolume(vmId: string, hostId: string): void {
    const vm = this.world.vms.get(vmId)!;
    const id = `vol-${++this.volumes}`;
    const chosen: { host: string; disk: number }[] = [];
    const racks = new Set<string>();
    const taken = new Set<string>();
    if (this.config.kind === "mirror") {
      const host = this.world.hosts.get(hostId)!;
      const disk = this.diskWithRoom(host, vm.diskGiB);
      if (disk !== null) {
        chosen.push({ host: hostId, disk });
        taken.add(hostId);
        racks.add(host.rack);
      }
    }
    for (let i = chosen.length; i < this.config.replicas; i++) {
      const target = this.pickTarget(taken, racks, vm.diskGiB);
      if (!target) break;
      chosen.push({ host: target.host.id, disk: target.disk });
      taken.add(target.host.id);
      racks.add(target.host.rack);
    }
    for (const copy of chosen) this.occupy(copy.host, copy.disk, vm.diskGiB);
    this.accounted.add(id);
    this.sim.emit({ type: "volumeCreated", volume: id, vm: vmId, kind: this.config.kind, sizeGiB: vm.diskGiB, replicas: this.config.replicas, ...(this.config.minSize > 1 ? { minSize: this.config.minSize } : {}), copies: chosen });
    if (chosen.length < this.config.replicas) this.short.add(id);
  }

  react(event: DomainEvent): void {
    const world = this.world;
    switch (event.type) {
      case "hostAdded":
        this.hosts.push(world.hosts.get(event.host)!);
        this.racks.add(event.rack);
        this.usedGiB.set(event.host, new Array<number>(event.disks).fill(0));
        for (let disk = 0; disk < event.disks; disk++) {
          const slot = this.room.add((this.config.fullRatio * event.diskGiB) / event.disks);
          if (disk === 0) this.roomSlot.set(event.host, slot);
        }
        break;
      case "volumeCreated":
        // One made elsewhere (a hand-driven test) takes its room too.
        if (!this.accounted.delete(event.volume)) for (const copy of event.copies) this.occupy(copy.host, copy.disk, event.sizeGiB);
        break;
      case "vmTerminated": {
        if (event.volume === null) break;
        const volume = world.volumes.get(event.volume)!;
        for (const [host, copy] of volume.copies) {
          if (copy.state === "rebuilding") this.cancelTransfer(volume.id, host);
          this.release(volume, host);
        }
        this.short.delete(volume.id);
        this.sim.emit({ type: "volumeDeleted", volume: volume.id });
        break;
      }
      case "volumeDeleted":
      case "copyDropped":
        // Room freed: volumes waiting for a place may fit now.
        this.retryShort();
        break;
      case "diskFailed": {
        const host = world.hosts.get(event.host)!;
        this.updateRoom(host, event.disk);
        for (const id of [...host.copies]) {
          const volume = world.volumes.get(id);
          if (volume?.copies.get(host.id)?.disk === event.disk) this.loseCopy(volume, host.id);
        }
        break;
      }
      case "hostFailed":
      case "rackFailed":
      case "hostPoweredOff":
        for (const host of hostsDownedBy(world, event)) this.hostDown(host);
        break;
      case "hostMarkedOut":
        for (const id of [...world.hosts.get(event.host)!.copies]) this.ensureCopies(world.volumes.get(id)!);
        break;
      case "hostRepaired":
      case "rackRepaired":
      case "hostPoweredOn":
        for (const host of hostsBroughtUpBy(world, event)) {
          this.rackPartlyBack(host.rack);
          for (const id of [...host.copies]) {
            const volume = world.volumes.get(id);
            if (volume) this.welcomeBack(volume, host);
          }
        }
        this.retryShort();
        break;
      case "diskReplaced":
        this.updateRoom(world.hosts.get(event.host)!, event.disk);
        this.retryShort();
        break;
      case "storageRepaired":
        this.retryShort();
        break;
      case "rebuildFinished": {
        const volume = world.volumes.get(event.volume)!;
        this.dropSuperseded(volume);
        this.ensureCopies(volume);
        break;
      }
    }
  }

  /**
   * A host that went down is marked out after the recovery delay — unless it was switched off on
   * purpose (power-save, a maintenance window): operators set Ceph's `noout` for those, so that
   * the cluster does not re-replicate what will be back soon — or, with `downOutSubtreeLimit:
   * rack`, its whole rack is down: then it waits, and its delay starts again once part of its rack
   * is back (Ceph resets the timer).
   */
  private hostDown(host: Host): void {
    this.markOutLater(host, host.since);
    // Taken once: a rebuild aborted here leaves `host.copies`, and its volume must still be re-ensured.
    const ids = [...host.copies];
    for (const id of ids) {
      const volume = this.world.volumes.get(id);
      if (!volume) continue;
      const copy = volume.copies.get(host.id)!;
      if (copy.state === "rebuilding") this.abortRebuild(volume, host.id);
      else if (!copyOnUpHost(this.world, volume)) this.abortAllRebuilds(volume); // nothing left to read from
    }
    for (const id of ids) {
      const volume = this.world.volumes.get(id);
      if (!volume) continue;
      this.ensureCopies(volume);
      this.stopIfUnreachable(volume);
    }
  }

  private markOutLater(host: Host, since: number): void {
    this.sim.scheduler.after(this.config.recoveryDelayMinutes * MS_PER_MINUTE, () => {
      if (host.up || host.out || host.since !== since || switchedOffOnPurpose(host)) return;
      if (this.config.downOutSubtreeLimit === "rack" && this.wholeRackDown(host.rack)) {
        const exempt = this.exempted.get(host.rack) ?? new Set<Host>();
        this.exempted.set(host.rack, exempt.add(host));
      } else this.sim.emit({ type: "hostMarkedOut", host: host.id });
    }, null);
  }

  /** A host of the rack is up again: the rack's exempted hosts still down start their delay anew. */
  private rackPartlyBack(rackId: string): void {
    const exempt = this.exempted.get(rackId);
    if (!exempt) return;
    this.exempted.delete(rackId);
    for (const host of exempt) if (!host.up) this.markOutLater(host, host.since);
  }

  private wholeRackDown(rackId: string): boolean {
    for (const id of this.world.racks.get(rackId)!.hosts) if (this.world.hosts.get(id)!.up) return false;
    return true;
  }

  /**
   * A VM whose volume has no copy on an up host cannot do I/O: it goes down (on its host, if
   * that is up — a VM on a down host is already down with it) until a copy is reachable again.
   */
  private stopIfUnreachable(volume: Volume): void {
    if (volumeAvailable(this.world, volume)) return;
    const vm = this.world.vms.get(volume.vm);
    if (vm && (vm.state === "booting" || vm.state === "running") && this.world.hosts.get(vm.host!)!.up) {
      this.sim.emit({ type: "vmDown", vm: vm.id, cause: "storage" });
    }
  }

  private loseCopy(volume: Volume, hostId: string): void {
    if (volume.copies.get(hostId)!.state === "rebuilding") this.cancelTransfer(volume.id, hostId);
    this.release(volume, hostId);
    this.sim.emit({ type: "copyLost", volume: volume.id, host: hostId });
    if (intactCopies(volume) === 0) {
      this.abortAllRebuilds(volume);
      this.short.delete(volume.id);
      this.sim.emit({ type: "volumeLost", volume: volume.id, vm: volume.vm, sizeGiB: volume.sizeGiB });
      return;
    }
    if (!copyOnUpHost(this.world, volume)) this.abortAllRebuilds(volume);
    this.ensureCopies(volume);
    this.stopIfUnreachable(volume);
  }

  /** Copies that count towards the volume's replicas: intact ones not marked out, and rebuilds. */
  private counting(volume: Volume): number {
    let n = 0;
    for (const [host, copy] of volume.copies) if (copy.state === "rebuilding" || !this.world.hosts.get(host)!.out) n++;
    return n;
  }

  /** Starts rebuilds until the volume has its replicas, or notes it as short. */
  private ensureCopies(volume: Volume): void {
    let counting = this.counting(volume);
    while (counting < volume.replicas) {
      const source = this.readableCopy(volume);
      const target = source === null ? null : this.pickTarget(volume.copies, this.racksOf(volume), volume.sizeGiB);
      if (source === null || target === null) {
        this.short.add(volume.id);
        return;
      }
      this.occupy(target.host.id, target.disk, volume.sizeGiB);
      this.sim.emit({ type: "rebuildStarted", volume: volume.id, host: target.host.id, disk: target.disk, source });
      this.startTransfer(volume, target.host.id, source);
      counting++;
    }
    this.short.delete(volume.id);
  }

  private retryShort(): void {
    for (const id of [...this.short]) {
      const volume = this.world.volumes.get(id);
      if (volume) this.ensureCopies(volume);
      else this.short.delete(id);
    }
  }

  /**
   * A host came back with an intact copy of the volume. Rebuilds that took its rack, then rebuilds
   * beyond the replicas the volume needs, are stopped (newest first). If a finished rebuild took
   * its place meanwhile — a copy in its rack, or one copy too many — the returning copy is dropped.
   */
  private welcomeBack(volume: Volume, host: Host): void {
    const spread = this.config.spreadRacks && volume.replicas <= this.racks.size;
    const others = () => [...volume.copies].filter(([id, c]) => id !== host.id && (c.state === "rebuilding" || !this.world.hosts.get(id)!.out));
    const rackOf = (id: string) => this.world.hosts.get(id)!.rack;
    if (spread) {
      for (const [id, copy] of others()) if (copy.state === "rebuilding" && rackOf(id) === host.rack) this.abortRebuild(volume, id);
    }
    let surplus = this.counting(volume) - volume.replicas;
    const rebuilding = others().filter(([, c]) => c.state === "rebuilding").map(([id]) => id);
    while (surplus > 0 && rebuilding.length > 0) {
      this.abortRebuild(volume, rebuilding.pop()!);
      surplus--;
    }
    const clash = spread && others().some(([id]) => rackOf(id) === host.rack);
    if ((surplus > 0 || clash) && volume.copies.get(host.id)?.state === "intact") {
      this.release(volume, host.id);
      this.sim.emit({ type: "copyDropped", volume: volume.id, host: host.id });
    }
  }

  /** After a rebuild: copies on marked-out hosts that the volume no longer needs are dropped. */
  private dropSuperseded(volume: Volume): void {
    let intactIn = 0;
    for (const [host, copy] of volume.copies) if (copy.state === "intact" && !this.world.hosts.get(host)!.out) intactIn++;
    if (intactIn < volume.replicas) return;
    for (const [host, copy] of [...volume.copies]) {
      if (copy.state === "intact" && this.world.hosts.get(host)!.out) {
        this.release(volume, host);
        this.sim.emit({ type: "copyDropped", volume: volume.id, host });
      }
    }
  }

  private abortAllRebuilds(volume: Volume): void {
    for (const [host, copy] of [...volume.copies]) if (copy.state === "rebuilding") this.abortRebuild(volume, host);
  }

  private abortRebuild(volume: Volume, hostId: string): void {
    this.cancelTransfer(volume.id, hostId);
    this.release(volume, hostId);
    this.sim.emit({ type: "rebuildAborted", volume: volume.id, host: hostId });
  }

  private readableCopy(volume: Volume): string | null {
    for (const [id, copy] of volume.copies) {
      const host = this.world.hosts.get(id)!;
      if (copy.state === "intact" && host.up && storageServes(this.world, host)) return id;
    }
    return null;
  }

  private racksOf(volume: Volume): Set<string> {
    const racks = new Set<string>();
    for (const [host, copy] of volume.copies) {
      if (copy.state === "rebuilding" || !this.world.hosts.get(host)!.out) racks.add(this.world.hosts.get(host)!.rack);
    }
    return racks;
  }

  /**
   * A random host that can take a new copy: up, not out, holding no copy of the volume, with a
   * working disk — in a rack the volume does not use yet, while there is such a rack. Random
   * tries first (O(1) when most hosts qualify), then a scan from a random start.
   */
  private pickTarget(taken: { has(host: string): boolean }, usedRacks: Set<string>, sizeGiB: number): { host: Host; disk: number } | null {
    const hosts = this.hosts;
    const n = hosts.length;
    if (n === 0 || sizeGiB > this.room.largest() + EPSILON_GIB) return null;
    const spread = this.config.spreadRacks && usedRacks.size < this.racks.size;
    let found: Host | null = null;
    for (let i = 0; i < PICK_TRIES && !found; i++) {
      const host = hosts[this.random.int(n)]!;
      if (this.canTake(host, taken, spread, usedRacks, sizeGiB)) found = host;
    }
    if (!found) {
      const start = this.random.int(n);
      for (let i = 0; i < n && !found; i++) {
        const host = hosts[(start + i) % n]!;
        if (this.canTake(host, taken, spread, usedRacks, sizeGiB)) found = host;
      }
    }
    return found && { host: found, disk: this.diskWithRoom(found, sizeGiB)! };
  }

  /**
   * Whether the host can take a new copy of `sizeGiB`: up, not out, holding no copy of the volume,
   * with a working disk that has room — in a rack the volume does not use yet if `spread`.
   */
  private canTake(host: Host, taken: { has(host: string): boolean }, spread: boolean, usedRacks: Set<string>, sizeGiB: number): boolean {
    return host.up && !host.out && !taken.has(host.id) && !(spread && usedRacks.has(host.rack)) && storageServes(this.world, host) && this.roomyDisks(host, sizeGiB) > 0;
  }

  /** How many of the host's working disks can take `sizeGiB` more without passing the full ratio. */
  private roomyDisks(host: Host, sizeGiB: number): number {
    const used = this.usedGiB.get(host.id)!;
    const limit = (this.config.fullRatio * host.diskGiB) / host.diskUp.length + EPSILON_GIB;
    let n = 0;
    for (let disk = 0; disk < used.length; disk++) if (host.diskUp[disk] && used[disk]! + sizeGiB <= limit) n++;
    return n;
  }

  /** A working disk of the host with room for `sizeGiB`, at random; null if it has none. */
  private diskWithRoom(host: Host, sizeGiB: number): number | null {
    const n = this.roomyDisks(host, sizeGiB);
    if (n === 0) return null;
    const used = this.usedGiB.get(host.id)!;
    const limit = (this.config.fullRatio * host.diskGiB) / host.diskUp.length + EPSILON_GIB;
    let k = this.random.int(n);
    for (let disk = 0; ; disk++) if (host.diskUp[disk] && used[disk]! + sizeGiB <= limit && k-- === 0) return disk;
  }

  /** A copy of `sizeGiB` now takes room on the disk (made or being rebuilt there). */
  private occupy(hostId: string, disk: number, sizeGiB: number): void {
    this.usedGiB.get(hostId)![disk]! += sizeGiB;
    this.updateRoom(this.world.hosts.get(hostId)!, disk);
  }

  /** The volume's copy on the host is going (lost, dropped, aborted, deleted): its room is free. */
  private release(volume: Volume, hostId: string): void {
    const copy = volume.copies.get(hostId)!;
    this.usedGiB.get(hostId)![copy.disk]! -= volume.sizeGiB;
    this.updateRoom(this.world.hosts.get(hostId)!, copy.disk);
  }

  /** Brings the room index up to date for one disk: what it can still take, nothing while failed. */
  private updateRoom(host: Host, disk: number): void {
    const room = host.diskUp[disk] ? (this.config.fullRatio * host.diskGiB) / host.diskUp.length - this.usedGiB.get(host.id)![disk]! : -Infinity;
    this.room.set(this.roomSlot.get(host.id)! + disk, room);
  }

  // Rebuild transfers: the bandwidth of the links they cross, shared (`RebuildLinks`).

  /** Rebuild transfers under way reading from the host and writing to it (`maxBackfills` bounds each; size/bandwidth rebuilds only). */
  transfersAt(hostId: string): { reading: number; writing: number } {
    return { reading: this.links.crossingCount(`read:${hostId}`), writing: this.links.crossingCount(`write:${hostId}`) };
  }

  /** Starts the rebuild's transfer once it holds its slots at the source and the target (`maxBackfills`). */
  private startTransfer(volume: Volume, hostId: string, sourceId: string): void {
    const key = `${volume.id}@${hostId}`;
    this.backfills.reserve(key, sourceId, hostId, () => this.transfer(volume, hostId, sourceId, key));
  }

  private transfer(volume: Volume, hostId: string, sourceId: string, key: string): void {
    if (this.rebuildTime) {
      // A drawn duration instead of size / shared bandwidth.
      const ms = hoursToMs(this.rebuildTime.sample(this.rebuildRandom));
      this.timedRebuilds.set(key, this.sim.scheduler.after(ms, () => {
        this.timedRebuilds.delete(key);
        this.finishRebuild(volume, hostId, sourceId);
      }, null));
      return;
    }
    this.links.start(key, this.linksBetween(sourceId, hostId), volume.sizeGiB * BYTES_PER_GIB, () => this.finishRebuild(volume, hostId, sourceId));
  }

  /**
   * A rebuild has read the whole volume: where the copy it read was the last readable one (no
   * other intact copy on an up host the service reaches, judged at the end), the unrecoverable
   * read errors it met are damage (`dataDamaged`); elsewhere another copy supplied those sectors.
   */
  private finishRebuild(volume: Volume, hostId: string, sourceId: string): void {
    this.backfills.release(`${volume.id}@${hostId}`);
    if (this.config.ureRatePerBit > 0) {
      let readable = 0;
      let from = sourceId;
      for (const [id, copy] of volume.copies) {
        const host = this.world.hosts.get(id)!;
        if (id !== hostId && copy.state === "intact" && host.up && storageServes(this.world, host)) {
          readable++;
          from = id;
        }
      }
      if (readable <= 1) {
        const errors = readErrors(this.ureRandom, volume.sizeGiB * BYTES_PER_GIB, this.config.ureRatePerBit);
        if (errors > 0) this.sim.emit({ type: "dataDamaged", host: readable === 1 ? from : sourceId, volume: volume.id, errors, lostGiB: Math.min(volume.sizeGiB, errors * DAMAGED_GIB_PER_ERROR) });
      }
    }
    this.sim.emit({ type: "rebuildFinished", volume: volume.id, host: hostId });
  }

  /**
   * What a rebuild from `sourceId` to `targetId` crosses: the source host's reads and the target
   * host's writes (`rebuildMBps` each), the two racks' uplinks if it leaves its rack
   * (`rackUplinkMBps`, each direction), and the cluster network (`clusterNetworkMBps`).
   */
  private linksBetween(sourceId: string, targetId: string): Link[] {
    const c = this.config;
    const perMs = (mbps: number) => (mbps * 1e6) / 1000;
    const links: Link[] = [
      { id: `read:${sourceId}`, bytesPerMs: perMs(c.rebuildMBps) },
      { id: `write:${targetId}`, bytesPerMs: perMs(c.rebuildMBps) },
    ];
    const from = this.world.hosts.get(sourceId)!.rack;
    const to = this.world.hosts.get(targetId)!.rack;
    if (c.rackUplinkMBps !== null && from !== to) {
      links.push({ id: `out:${from}`, bytesPerMs: perMs(c.rackUplinkMBps) }, { id: `in:${to}`, bytesPerMs: perMs(c.rackUplinkMBps) });
    }
    if (c.clusterNetworkMBps !== null) links.push({ id: "cluster", bytesPerMs: perMs(c.clusterNetworkMBps) });
    return links;
  }

  private cancelTransfer(volumeId: string, hostId: string): void {
    const key = `${volumeId}@${hostId}`;
    const timed = this.timedRebuilds.get(key);
    if (timed !== undefined) {
      this.sim.scheduler.cancel(timed);
      this.timedRebuilds.delete(key);
    } else if (this.links.has(key)) this.links.cancel(key);
    this.backfills.release(key); // a rebuild still waiting for its slots just leaves the queue
  }
}

function switchedOffOnPurpose(host: Host): boolean {
  return host.failure === null && (host.poweredOff === "idle" || host.poweredOff === "maintenance");
}
