import type { DomainEvent } from "../model/events.js";
import { volumeAvailable, type World } from "../model/world.js";
import { priorityRank } from "./decide.js";

/** A VM waiting to start, and when it began to wait (entries of one VM may repeat, as requests do). */
interface Entry {
  readonly vm: string;
  readonly seq: number;
}

/**
 * The VMs that should run but cannot start yet, in the order they began to wait — for room, or
 * for their volume to serve I/O again. The controller tries the waiting VMs again on every event
 * that may let one start; a VM whose volume cannot serve (too few copies reachable: Ceph's
 * min_size) would fail every such try, so it is set aside by its volume until an event may have
 * brought that volume back — a retry then costs the VMs that may start, not all that wait (issue
 * 18: with many volumes below min_size, trying them all on every event grew with the cluster).
 * Setting aside changes no decision: such a try has no effect, and the order of the tries is the
 * one they would have had (restart priority, then when they began to wait).
 */
export class WaitingVms {
  private ready: Entry[] = [];
  private readonly parked = new Map<string, Entry[]>();
  /** The volume each set-aside VM waits for. */
  private readonly parkedVolumeOf = new Map<string, string>();
  private parkedEntries = 0;
  private seq = 0;

  get size(): number {
    return this.ready.length + this.parkedEntries;
  }

  get readyCount(): number {
    return this.ready.length;
  }

  add(vm: string): void {
    this.ready.push({ vm, seq: this.seq++ });
  }

  /** Every waiting VM (repeats included), in the order they began to wait. */
  all(): string[] {
    const entries = [...this.ready];
    for (const list of this.parked.values()) entries.push(...list);
    return entries.sort((a, b) => a.seq - b.seq).map((e) => e.vm);
  }

  /**
   * Tries the VMs not set aside, by restart priority and then by when they began to wait; `start`
   * answers whether one started (or needs nothing more). Those that did not wait on: set aside
   * when their volume cannot serve I/O.
   */
  retry(world: World, start: (vm: string) => boolean): void {
    if (this.ready.length === 0) return;
    const tried = this.ready.map((entry) => ({ entry, rank: priorityRank(world, entry.vm) })).sort((a, b) => a.rank - b.rank || a.entry.seq - b.entry.seq);
    const still = tried.filter(({ entry }) => !start(entry.vm));
    this.ready = [];
    for (const { entry } of still) {
      const volume = unservedVolume(world, entry.vm);
      if (volume === null) this.ready.push(entry);
      else this.park(volume, entry);
    }
  }

  /** Brings back the VMs set aside whose volume the event may have made serve again (or that the event ended). */
  consider(world: World, event: DomainEvent): void {
    if (this.parkedEntries === 0) return;
    switch (event.type) {
      case "storageRepaired":
      case "sanRepaired":
        this.unparkAll();
        return;
    }
    if ("volume" in event && typeof event.volume === "string") this.unpark(event.volume);
    if ("vm" in event) {
      const volume = this.parkedVolumeOf.get(event.vm);
      if (volume !== undefined) this.unpark(volume);
    }
    // A host (or a rack of them) back, reconnected, or reaching the storage again: the volumes it holds copies of.
    if ("host" in event && typeof event.host === "string") this.unparkCopiesOn(world, event.host);
    if ("rack" in event && typeof event.rack === "string") {
      for (const host of world.racks.get(event.rack)?.hosts ?? []) this.unparkCopiesOn(world, host);
    }
  }

  /** Brings back every VM set aside (the controller back from an outage of its own, or resumed). */
  unparkAll(): void {
    for (const volume of [...this.parked.keys()]) this.unpark(volume);
  }

  private unparkCopiesOn(world: World, hostId: string): void {
    const host = world.hosts.get(hostId);
    if (host === undefined) return;
    for (const volume of host.copies) this.unpark(volume);
  }

  private park(volume: string, entry: Entry): void {
    const list = this.parked.get(volume);
    if (list) list.push(entry);
    else this.parked.set(volume, [entry]);
    this.parkedVolumeOf.set(entry.vm, volume);
    this.parkedEntries++;
  }

  private unpark(volume: string): void {
    const list = this.parked.get(volume);
    if (list === undefined) return;
    this.parked.delete(volume);
    for (const entry of list) {
      this.parkedVolumeOf.delete(entry.vm);
      this.ready.push(entry);
    }
    this.parkedEntries -= list.length;
  }
}

/** The volume a VM that should start waits for — one that cannot serve I/O now — or null. */
function unservedVolume(world: World, vmId: string): string | null {
  const vm = world.vms.get(vmId);
  if (vm === undefined || vm.migration !== null || vm.state === "booting" || vm.state === "running" || vm.volume === null) return null;
  const volume = world.volumes.get(vm.volume);
  return volume === undefined || volumeAvailable(world, volume) ? null : volume.id;
}
