import { msToHours } from "../../../kernel/time.js";
import type { DomainEvent } from "../../../model/events.js";
import type { Host, World } from "../../../model/world.js";
import type { Random } from "../../../kernel/random.js";
import { DAMAGED_GIB_PER_ERROR, readErrors } from "./read-errors.js";
import type { LocalRaidConfig } from "../../../scenario/resolve.js";
import type { Simulation } from "../simulation.js";

/**
 * The local disk array of every host (the VPS disks and the EC2-style instance stores live on
 * it), as Linux md or a hardware controller runs it:
 *
 * - RAID 0 tolerates no disk failure, RAID 1 over n disks tolerates n − 1, RAID 5 one, RAID 6
 *   two (Patterson, Gibson & Katz, "A Case for Redundant Arrays of Inexpensive Disks", SIGMOD
 *   1988; RAID 6 adds a second parity);
 * - a failed disk is replaced after the disk's repair time, then rebuilt from the others: one
 *   disk's worth of data at `rebuildMBps` (md's resync rate under load; its default ceiling,
 *   `speed_limit_max`, is 200 MB/s). Until the rebuild finishes the disk still counts as missing;
 * - when more disks are missing than the level tolerates, the array and all local data on the
 *   host are lost (`arrayLost`). The host then has no local disk for VMs (the controller places
 *   none there) until every failed disk has been replaced: the array is then recreated, whole and
 *   empty (`arrayRecreated`), with nothing to rebuild. A disk failing meanwhile loses nothing more: only
 *   an array that exists can be lost, so `arraysLost` counts losses of arrays that were whole
 *   when created, as an MTTDL needs.
 *
 * - a rebuild's reads meet unrecoverable read errors at `ureRatePerBit`: with no redundancy left
 *   besides the disk being rebuilt (RAID 5 with one disk out, RAID 1 with one mirror left), each
 *   damages data (`dataDamaged`; RAID 6 with one disk out repairs it from the second parity).
 *
 * The disk size is the host's usable `diskGiB` spread over the data disks of the level.
 */

export function raidLevel(config: LocalRaidConfig, disks: number): 0 | 1 | 5 | 6 {
  return config.level ?? (disks >= 2 ? 1 : 0);
}

/** Disks the level can lose without losing data. */
export function raidTolerance(level: 0 | 1 | 5 | 6, disks: number): number {
  return level === 0 ? 0 : level === 1 ? disks - 1 : level === 5 ? 1 : 2;
}

/** Disks holding data (not redundancy): the usable capacity is this many disks. */
function dataDisks(level: 0 | 1 | 5 | 6, disks: number): number {
  return level === 0 ? disks : level === 1 ? 1 : level === 5 ? disks - 1 : disks - 2;
}

const BYTES_PER_GIB = 2 ** 30;

export class LocalRaid {
  private readonly world: World;
  /** Counts rebuilds per host and disk, so that the timer of a rebuild that was cut short is recognised as stale. */
  private readonly rebuilds = new Map<string, number>();

  constructor(private readonly sim: Simulation, private readonly config: LocalRaidConfig, private readonly random: Random) {
    this.world = sim.world;
  }

  /**
   * A rebuild has read the array's other disks (one disk's worth from a mirror, every surviving
   * disk for parity): if the array had no redundancy left besides the disk being rebuilt (as many
   * disks missing, counting it, as the level tolerates; judged at the end), each unrecoverable read
   * error met is damage (`dataDamaged`, volume null); otherwise the remaining redundancy repairs it.
   */
  private readErrorsOfRebuild(host: Host): void {
    if (this.config.ureRatePerBit <= 0) return;
    const disks = host.diskUp.length;
    const level = raidLevel(this.config, disks);
    const missing = host.diskUp.filter((up, d) => !up || host.raidRebuilding[d]).length;
    if (missing < raidTolerance(level, disks)) return;
    const diskBytes = (host.diskGiB / dataDisks(level, disks)) * BYTES_PER_GIB;
    const readBytes = level === 1 ? diskBytes : (disks - missing) * diskBytes;
    const errors = readErrors(this.random, readBytes, this.config.ureRatePerBit);
    if (errors > 0) this.sim.emit({ type: "dataDamaged", host: host.id, volume: null, errors, lostGiB: Math.min(host.diskGiB, errors * DAMAGED_GIB_PER_ERROR) });
  }

  /** Hours to rebuild one disk of this host's array. */
  rebuildHours(hostId: string): number {
    const host = this.world.hosts.get(hostId)!;
    const level = raidLevel(this.config, host.diskUp.length);
    const diskBytes = (host.diskGiB / dataDisks(level, host.diskUp.length)) * BYTES_PER_GIB;
    return msToHours((diskBytes / (this.config.rebuildMBps * 1e6)) * 1000);
  }

  react(event: DomainEvent): void {
    if (event.type === "diskFailed") {
      const host = this.world.hosts.get(event.host)!;
      if (host.arrayLostAt !== null) return; // no array to lose until it is recreated
      const level = raidLevel(this.config, host.diskUp.length);
      const missing = host.diskUp.filter((up, d) => !up || host.raidRebuilding[d]).length;
      if (missing > raidTolerance(level, host.diskUp.length)) this.sim.emit({ type: "arrayLost", host: host.id });
    } else if (event.type === "diskReplaced") {
      const host = this.world.hosts.get(event.host)!;
      if (host.arrayLostAt !== null) {
        // A disk of a lost array: nothing to copy; the last one back recreates the array.
        if (host.diskUp.every(Boolean)) this.sim.emit({ type: "arrayRecreated", host: host.id });
        return;
      }
      const level = raidLevel(this.config, host.diskUp.length);
      const source = host.diskUp.some((up, d) => up && d !== event.disk && !host.raidRebuilding[d]);
      if (level === 0 || !source) return; // nothing to copy: it joins the array empty
      this.sim.emit({ type: "raidRebuildStarted", host: host.id, disk: event.disk });
      const key = `${host.id}/${event.disk}`;
      const rebuild = (this.rebuilds.get(key) ?? 0) + 1;
      this.rebuilds.set(key, rebuild);
      const ms = Math.ceil(this.rebuildHours(host.id) * 3_600_000);
      this.sim.scheduler.after(ms, () => {
        // Only this rebuild, if nothing (a failure of the disk, the loss of the array) cut it short.
        if (this.rebuilds.get(key) === rebuild && host.raidRebuilding[event.disk]) {
          this.readErrorsOfRebuild(host);
          this.sim.emit({ type: "raidRebuildFinished", host: host.id, disk: event.disk });
        }
      }, null);
    }
  }
}
