import type { DomainEvent, DomainEventBody } from "../../model/events.js";
import { intactCopies, volumeReachableFrom, type World } from "../../model/world.js";
import type { DiskRunner } from "./disks.js";
import type { CephOsd, CephStorage } from "./inventory.js";
import { displayCommand } from "./virsh.js";
import { type LongTimer, setLongTimeout, type Timers } from "./wall-clock.js";

/**
 * The Ceph cluster of a run on real hosts, seen as the simulation sees replicated storage
 * (`adapters/sim/storage/replicated.ts`, `outages.ts`), from what the cluster itself reports:
 * every `pollIntervalMs` its OSD map (`ceph osd dump`) and the placement groups of the pool
 * (`ceph pg ls-by-pool`) are read, and changes become the same events.
 *
 * - A persistent-ha VM's RBD image is its volume: `volumeCreated` (kind `replicated`, the pool's
 *   `size` as replicas) when the VM is first placed, with a copy on every inventory host that has
 *   an OSD (`storage.ceph.osds`: hyperconverged, an OSD is one of its host's disks; without that
 *   list the cluster stands apart from the hosts and the volume is `san`-like, with no copies).
 *   With the pool's size equal to the number of OSDs (the test bed's 3 and 3) every OSD holds
 *   every object of the image; with more OSDs than copies a host's "copy" is only its share.
 * - An OSD marked down: its disk `diskFailed` and each volume's copy there `copyLost`. Marked up
 *   again: `diskReplaced`, and `rebuildStarted` from a host with an intact copy; `rebuildFinished`
 *   once every placement group of the pool is `active+clean` (Ceph's recovery is done). Ceph
 *   catches the returning OSD up from the others' logs (its data was kept); the simulation's
 *   `disk` failure replaces the disk and copies the whole volume again: rebuilds measured here are
 *   shorter than a replacement's.
 * - A placement group of the pool not `active` (fewer than `min_size` copies up: I/O blocks):
 *   `storageFailed` (the whole service; `rack` null), and the VMs with a volume that run or boot
 *   on an up host stall (`vmDown`, cause `storage`). All `active` again: `storageRepaired`, and a
 *   VM stalled while running for at most the scenario's `storage.guestTimeoutSeconds` resumes
 *   (`vmResumed`: librbd queued its I/O, the guest saw no error); the others are left to the
 *   controller (it boots them again), as in the simulation.
 *
 * The simulation's replicated storage counts a volume available while one intact copy is on an up
 * host; Ceph blocks I/O below `min_size` (2 of 3 here): with two OSDs down the log shows copies
 * left *and* the storage out, which the simulation would not.
 */
export class CephStorageEvents {
  /** The last state read of each OSD (by id); empty until the first poll. */
  private readonly osdUp = new Map<number, boolean>();
  private poolSize: number | null = null;
  private clean = true;
  /** Whether the storage service is out because of us (the pool's placement groups not active). */
  private out = false;
  /** VMs stalled by an outage while running, and when their stall began (their `since`). */
  private readonly stalled = new Map<string, number>();
  private timer: LongTimer | null = null;
  private polling: Promise<void> | null = null;
  private failingSince: number | null = null;
  private stopped = false;

  constructor(
    readonly storage: CephStorage,
    private readonly world: World,
    private readonly emit: (body: DomainEventBody) => void,
    private readonly runner: DiskRunner,
    private readonly options: { commandTimeoutMs: number; guestTimeoutMs: number; report: (line: string) => void; timers?: Timers },
  ) {}

  /** The inventory host and disk an OSD stands for, or undefined. */
  osdOf(host: string, disk: number): CephOsd | undefined {
    return this.storage.osds.find((o) => o.host === host && o.disk === disk);
  }

  /** Disks per host for `hostAdded`: one more than the highest OSD disk on it (at least 1). */
  disksOf(host: string): number {
    return Math.max(1, ...this.storage.osds.filter((o) => o.host === host).map((o) => o.disk + 1));
  }

  /** No new image while the pool does not serve I/O. */
  canCreateVolume(): boolean {
    return this.world.storageOut?.cluster !== true;
  }

  /** The volume of a VM placed for the first time: its RBD image, with copies on the hosts whose OSDs are up. */
  createVolume(vm: string, image: string): void {
    const copies: { host: string; disk: number }[] = [];
    for (const osd of this.storage.osds) {
      const host = this.world.hosts.get(osd.host);
      if (host?.up && host.diskUp[osd.disk] === true && !copies.some((c) => c.host === osd.host)) copies.push({ host: osd.host, disk: osd.disk });
    }
    const sizeGiB = this.world.vms.get(vm)!.diskGiB;
    if (this.storage.osds.length === 0) this.emit({ type: "volumeCreated", volume: image, vm, kind: "san", sizeGiB, replicas: 1, copies: [] });
    else this.emit({ type: "volumeCreated", volume: image, vm, kind: "replicated", sizeGiB, replicas: this.poolSize ?? this.storage.osds.length, copies });
  }

  /** Reads the cluster once (the first reading, before any VM is placed); throws if it does not answer. */
  async pollOnce(): Promise<void> {
    const [dump, pgs] = await Promise.all([this.ceph(["osd", "dump"]), this.ceph(["pg", "ls-by-pool", this.storage.pool])]);
    if (this.stopped) return;
    this.observe(parseCephReading(dump, pgs, this.storage.pool));
  }

  /** Polls every `pollIntervalMs` until `stop`; a cluster that does not answer is reported (once per spell). */
  start(): void {
    const next = () => {
      if (this.stopped) return;
      this.timer = setLongTimeout(() => {
        this.polling = this.pollOnce()
          .then(() => {
            if (this.failingSince !== null) this.options.report(`Ceph answers again (conf ${this.storage.conf})`);
            this.failingSince = null;
          })
          .catch((error: Error) => {
            if (this.failingSince === null) this.options.report(`Ceph does not answer (conf ${this.storage.conf}): ${error.message}`);
            this.failingSince ??= Date.now();
          })
          .finally(next);
      }, this.storage.pollIntervalMs, this.options.timers);
    };
    next();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.polling?.catch(() => {});
  }

  /** Runs the OSD's stop or start command of the inventory (a `disk` row of `failures.trace`). */
  async injectOsd(osd: CephOsd, action: "stop" | "start"): Promise<void> {
    const argv = osd[action];
    if (argv === null) throw new Error(`cannot ${action} osd.${osd.id} (${osd.host}/${osd.disk}): storage.ceph.osds gives no ${action} command for it`);
    if (this.runner.dryRun) {
      this.options.report(`[dry-run] ${displayCommand(argv)}`);
      return;
    }
    await this.runner.run(argv, Math.max(this.options.commandTimeoutMs, 60_000));
  }

  /** What a reading of the cluster changes, as events (see the class comment). */
  observe(reading: CephReading): void {
    const world = this.world;
    if (reading.poolSize !== null) this.poolSize = reading.poolSize;
    // An outage first: the VMs stall before their copies go (never a running VM on a volume the world finds unreachable).
    if (!reading.active && world.storageOut?.cluster !== true) {
      this.options.report(`Ceph: pool ${this.storage.pool} has placement groups that are not active: its I/O is blocked`);
      this.out = true;
      this.emit({ type: "storageFailed", rack: null });
    }
    for (const [id, up] of reading.osdUp) {
      const before = this.osdUp.get(id);
      this.osdUp.set(id, up);
      if (before !== up && (before !== undefined || !up)) {
        const osd = this.storage.osds.find((o) => o.id === id);
        this.options.report(`Ceph: osd.${id}${osd ? ` (${osd.host}/${osd.disk})` : ""} ${up ? "up" : "down"}`);
      }
    }
    this.disksAsRead(reading);
    this.clean = reading.clean;
    this.startRebuilds();
    // The end of an outage before the rebuilds it held up finish (one reading can show the pool active and clean at once).
    if (reading.active && world.storageOut?.cluster === true && this.out) {
      this.options.report(`Ceph: every placement group of pool ${this.storage.pool} is active again`);
      this.out = false;
      this.emit({ type: "storageRepaired", rack: null });
    }
    if (this.clean) this.finishRebuilds();
    // A disk whose failure waited for another copy of its volumes (`holdsLastCopy`) may go now.
    this.disksAsRead(reading);
  }

  /** Each OSD's disk up or failed as the reading says (a failure only if it holds no last copy). */
  private disksAsRead(reading: CephReading): void {
    for (const osd of this.storage.osds) {
      const up = reading.osdUp.get(osd.id);
      const host = this.world.hosts.get(osd.host);
      if (up === undefined || !host || host.diskUp[osd.disk] === up) continue;
      if (up) this.emit({ type: "diskReplaced", host: osd.host, disk: osd.disk });
      else if (!this.holdsLastCopy(osd)) this.emit({ type: "diskFailed", host: osd.host, disk: osd.disk });
    }
  }

  /**
   * Whether the OSD's disk holds the last intact copy the log knows of some volume. Ceph keeps a
   * stopped OSD's data: with every OSD of a volume down it is out (the placement groups say so),
   * not lost — so that disk's failure is not recorded (no `volumeLost` that did not happen).
   */
  private holdsLastCopy(osd: CephOsd): boolean {
    for (const id of this.world.hosts.get(osd.host)!.copies) {
      const volume = this.world.volumes.get(id)!;
      const copy = volume.copies.get(osd.host)!;
      if (copy.disk === osd.disk && copy.state === "intact" && intactCopies(volume) <= 1) return true;
    }
    return false;
  }

  /** A copy is rebuilt on each up OSD disk of an up host that lacks one, from a host with an intact copy. */
  private startRebuilds(): void {
    const world = this.world;
    for (const volume of world.volumes.values()) {
      if (volume.kind !== "replicated") continue;
      for (const osd of this.storage.osds) {
        const host = world.hosts.get(osd.host);
        if (!host?.up || host.out || host.diskUp[osd.disk] !== true || volume.copies.has(osd.host)) continue;
        let source: string | null = null;
        for (const [id, copy] of volume.copies) if (copy.state === "intact" && world.hosts.get(id)!.up) source ??= id;
        if (source === null) continue;
        this.emit({ type: "rebuildStarted", volume: volume.id, host: osd.host, disk: osd.disk, source });
      }
    }
  }

  private finishRebuilds(): void {
    const world = this.world;
    for (const volume of world.volumes.values()) {
      for (const [id, copy] of volume.copies) {
        if (copy.state === "rebuilding" && world.hosts.get(id)!.up) this.emit({ type: "rebuildFinished", volume: volume.id, host: id });
      }
    }
  }

  /** The stalls and resumptions an outage of ours causes (after the event is in the world). */
  react(event: DomainEvent): void {
    const world = this.world;
    if (event.type === "diskFailed") {
      for (const volume of [...world.hosts.get(event.host)!.copies]) {
        if (world.volumes.get(volume)?.copies.get(event.host)?.disk === event.disk) this.emit({ type: "copyLost", volume, host: event.host });
      }
    } else if (event.type === "storageFailed" && event.rack === null) {
      for (const vm of [...world.vms.values()]) {
        if (vm.volume === null || (vm.state !== "booting" && vm.state !== "running") || !world.hosts.get(vm.host!)!.up) continue;
        const running = vm.state === "running";
        this.emit({ type: "vmDown", vm: vm.id, cause: "storage" });
        if (running) this.stalled.set(vm.id, world.vms.get(vm.id)!.since);
      }
    } else if (event.type === "storageRepaired" && event.rack === null) {
      for (const [id, since] of [...this.stalled]) {
        this.stalled.delete(id);
        const vm = world.vms.get(id);
        if (vm === undefined || vm.state !== "down" || vm.since !== since || vm.migration !== null || vm.volume === null) continue;
        const host = world.hosts.get(vm.host!)!;
        if (!volumeReachableFrom(world, world.volumes.get(vm.volume)!, vm.host!)) continue;
        if (event.t - since <= this.options.guestTimeoutMs && host.up && host.since <= since) this.emit({ type: "vmResumed", vm: id });
      }
    } else if (event.type === "vmTerminated" && event.volume !== null && world.volumes.has(event.volume)) {
      this.emit({ type: "volumeDeleted", volume: event.volume });
    }
  }

  private ceph(args: string[]): Promise<string> {
    return this.runner.run(["ceph", "--conf", this.storage.conf, "--connect-timeout", "10", ...args, "--format", "json"], Math.max(this.options.commandTimeoutMs, 15_000));
  }
}

/** One reading of the cluster. */
export interface CephReading {
  /** OSD id → up (in the monitor's OSD map). */
  osdUp: Map<number, boolean>;
  /** The pool's `size` (copies kept), null if the pool is not in the map. */
  poolSize: number | null;
  /** Every placement group of the pool `active` (it serves I/O). */
  active: boolean;
  /** Every placement group of the pool `active+clean` (every copy in place). */
  clean: boolean;
}

/**
 * A reading from `ceph osd dump --format json` (each OSD's `up`; the pool's `size` and
 * `min_size`) and `ceph pg ls-by-pool POOL --format json` (`{"pg_stats":[{"state":
 * "active+clean","acting":[1,0,2],…}]}`, or a bare list in older releases).
 *
 * A placement group is `active` if its state says so; a `stale` one (its primary has not reported
 * since an OSD map change) is judged by its acting set instead: active while at least `min_size`
 * of its OSDs are up. (Measured here: for a second or two after one of three OSDs is stopped, the
 * PGs it led read `stale+active+clean` although I/O goes on; with every OSD of a PG down it stays
 * `stale+…` with its last state.) `clean`: every one exactly `active+clean`. A pool with no
 * placement groups listed is neither.
 */
export function parseCephReading(osdDump: string, pgList: string, pool: string): CephReading {
  const dump = JSON.parse(osdDump) as { osds?: { osd?: unknown; up?: unknown }[]; pools?: { pool_name?: unknown; size?: unknown; min_size?: unknown }[] };
  const osdUp = new Map<number, boolean>();
  for (const o of dump.osds ?? []) if (typeof o.osd === "number") osdUp.set(o.osd, o.up === 1 || o.up === true);
  const entry = dump.pools?.find((p) => p.pool_name === pool);
  const poolSize = typeof entry?.size === "number" ? entry.size : null;
  const minSize = typeof entry?.min_size === "number" ? entry.min_size : 1;
  const data = JSON.parse(pgList) as unknown;
  const stats = (Array.isArray(data) ? data : ((data as { pg_stats?: unknown[] } | null)?.pg_stats ?? [])) as { state?: unknown; acting?: unknown }[];
  if (stats.length === 0) return { osdUp, poolSize, active: false, clean: false };
  let active = true;
  let clean = true;
  for (const pg of stats) {
    const state = typeof pg.state === "string" ? pg.state.split("+") : [];
    const acting = Array.isArray(pg.acting) ? pg.acting.filter((id): id is number => typeof id === "number") : [];
    const pgActive = state.includes("stale") ? acting.filter((id) => osdUp.get(id) === true).length >= minSize : state.includes("active");
    active &&= pgActive;
    clean &&= state.length === 2 && state.includes("active") && state.includes("clean");
  }
  return { osdUp, poolSize, active, clean };
}
