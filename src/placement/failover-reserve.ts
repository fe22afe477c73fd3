import type { DomainEvent } from "../model/events.js";
import { HostsOfVms } from "../model/hosts-of-vms.js";
import { schedulable, type World } from "../model/world.js";

export type FailureDomain = "host" | "rack";

/**
 * The hosts whose free capacity or schedulability an event (already applied) may have changed:
 * the host an event names, every host of a rack, and the hosts a VM's event touched.
 */
export function hostsTouchedBy(event: DomainEvent, world: World, hostsOfVms: HostsOfVms): readonly string[] {
  switch (event.type) {
    case "hostAdded":
    case "hostFailed":
    case "hostRepaired":
    case "hostPoweredOff":
    case "hostPoweredOn":
    case "maintenanceStarted":
    case "maintenanceFinished":
    case "hostIsolated":
    case "hostReconnected":
    case "arrayLost":
    case "arrayRecreated":
      return [event.host];
    case "rackFailed":
    case "rackRepaired":
      return world.racks.get(event.rack)!.hosts;
  }
  return hostsOfVms.touched(event, world);
}

/**
 * What admission control guards (vSphere HA's "cluster resource percentage", Ganeti's N+1): the
 * free vCPUs and memory summed over the schedulable hosts, and the installed capacity of the
 * largest failure domain (a host, or a rack) among them — what the rest of the cluster must have
 * free to restart everything that domain runs. A fold over the log, kept current host by host
 * (`update`), by the capacity index for placement and on its own for the failover metrics.
 */
export class FailoverReserve {
  private readonly total = { freeVcpus: 0, freeMemoryGiB: 0 };
  private readonly counted = new Map<string, { freeVcpus: number; freeMemoryGiB: number; schedulable: boolean; slot: number }>();
  /** Installed capacity of each schedulable host (0 while it cannot take VMs), one slot per host in join order. */
  private readonly hostCapacity = new PairMaxTree();
  /** Installed capacity summed over each rack's schedulable hosts, one slot per rack in order of appearance. */
  private readonly rackCapacity = new PairMaxTree();
  private readonly rackSlot = new Map<string, { slot: number; vcpus: number; memoryGiB: number }>();
  private hostsOfVms: HostsOfVms | null = null;

  constructor(private readonly world: World) {}

  /** Brings the reserve up to date with an event already applied to the world (standalone use); false when the event touched no host (the reserve is as it was). */
  apply(event: DomainEvent): boolean {
    this.hostsOfVms ??= new HostsOfVms();
    const hosts = hostsTouchedBy(event, this.world, this.hostsOfVms);
    for (const host of hosts) this.update(host);
    return hosts.length > 0;
  }

  /** Recounts one host's share (it joined, or its state or reservations changed): O(log hosts). */
  update(id: string): void {
    const host = this.world.hosts.get(id)!;
    const usable = schedulable(host);
    const freeVcpus = usable ? host.vcpus - host.usedVcpus : 0;
    const freeMemoryGiB = usable ? host.memoryGiB - host.usedMemoryGiB : 0;
    const before = this.counted.get(id);
    // Kept in place (no new record per event: this runs for every VM event of a run).
    const now = before ?? { freeVcpus: 0, freeMemoryGiB: 0, schedulable: false, slot: this.counted.size };
    const wasSchedulable = before === undefined ? undefined : before.schedulable;
    this.total.freeVcpus += freeVcpus - now.freeVcpus;
    this.total.freeMemoryGiB += freeMemoryGiB - now.freeMemoryGiB;
    now.freeVcpus = freeVcpus;
    now.freeMemoryGiB = freeMemoryGiB;
    now.schedulable = usable;
    if (before === undefined) this.counted.set(id, now);
    if (wasSchedulable === usable) return;
    const sign = usable ? 1 : -1;
    this.hostCapacity.set(now.slot, usable ? host.vcpus : 0, usable ? host.memoryGiB : 0);
    let rack = this.rackSlot.get(host.rack);
    if (rack === undefined) this.rackSlot.set(host.rack, (rack = { slot: this.rackSlot.size, vcpus: 0, memoryGiB: 0 }));
    if (before === undefined && !usable) return;
    rack.vcpus += sign * host.vcpus;
    rack.memoryGiB += sign * host.memoryGiB;
    this.rackCapacity.set(rack.slot, rack.vcpus, rack.memoryGiB);
  }

  /** Free vCPUs and memory summed over the hosts that can take VMs. */
  freeTotal(): { vcpus: number; memoryGiB: number } {
    return { vcpus: this.total.freeVcpus, memoryGiB: this.total.freeMemoryGiB };
  }

  /**
   * The installed vCPUs and memory of the largest failure domain, counting the hosts that can take
   * VMs (each of the two the largest over the domains, not necessarily of one domain): O(1).
   */
  largestDomainCapacity(domain: FailureDomain): { vcpus: number; memoryGiB: number } {
    const tree = domain === "host" ? this.hostCapacity : this.rackCapacity;
    return { vcpus: tree.maxA(), memoryGiB: tree.maxB() };
  }

  /** Whether the free capacity left after placing the request still covers the largest failure domain. */
  admits(domain: FailureDomain, request: { vcpus: number; memoryGiB: number }): boolean {
    const free = this.freeTotal();
    const reserve = this.largestDomainCapacity(domain);
    return free.vcpus - request.vcpus >= reserve.vcpus && free.memoryGiB - request.memoryGiB >= reserve.memoryGiB - 1e-9;
  }

  /** Whether the free capacity covers the largest failure domain now (else there is a failover shortfall). */
  covered(domain: FailureDomain): boolean {
    return this.admits(domain, { vcpus: 0, memoryGiB: 0 });
  }
}

/** Slots of two numbers each (≥ 0) and the maximum of each over all slots: a segment tree, O(log n) per update. */
class PairMaxTree {
  private size = 1;
  private a = new Float64Array(2);
  private b = new Float64Array(2);

  set(slot: number, a: number, b: number): void {
    while (slot >= this.size) this.grow();
    let node = this.size + slot;
    this.a[node] = a;
    this.b[node] = b;
    for (node >>= 1; node >= 1; node >>= 1) {
      this.a[node] = Math.max(this.a[2 * node]!, this.a[2 * node + 1]!);
      this.b[node] = Math.max(this.b[2 * node]!, this.b[2 * node + 1]!);
    }
  }

  maxA(): number {
    return this.a[1]!;
  }

  maxB(): number {
    return this.b[1]!;
  }

  private grow(): void {
    const old = this.size;
    this.size *= 2;
    const resize = (prev: Float64Array) => {
      const next = new Float64Array(2 * this.size);
      next.set(prev.subarray(old, 2 * old), this.size);
      for (let node = this.size - 1; node >= 1; node--) next[node] = Math.max(next[2 * node]!, next[2 * node + 1]!);
      return next;
    };
    this.a = resize(this.a);
    this.b = resize(this.b);
  }
}
