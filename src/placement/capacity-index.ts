import type { DomainEvent } from "../model/events.js";
import { HostsOfVms } from "../model/hosts-of-vms.js";
import { freeLocalDiskGiB, localDiskGiB, schedulable, type Vm, type World } from "../model/world.js";
import { FailoverReserve, hostsTouchedBy, type FailureDomain } from "./failover-reserve.js";

/**
 * Free capacity of every host in a segment tree (hosts in the order they joined), so that
 * first-fit finds the first host with room for a VM in O(log hosts) typical time instead of a
 * scan — a linear first-fit is what makes simulators quadratic at 10 000+ hosts.
 *
 * Each leaf holds a host's free vCPUs, memory and disk (−1 while the host cannot take VMs: down,
 * isolated or in maintenance); each inner
 * node the maximum of each over its subtree. A subtree whose maxima cannot hold the VM is
 * skipped. It is a projection of the world, kept current by `apply` for every event.
 */
export class CapacityIndex {
  private size = 1;
  private cpu = new Float64Array(2);
  private mem = new Float64Array(2);
  private disk = new Float64Array(2);
  private readonly ids: string[] = [];
  private readonly position = new Map<string, number>();
  /** Which hosts a VM's events touch. */
  private readonly hostsOfVms = new HostsOfVms();
  /** Free capacity in total and the largest failure domain's, for admission control. */
  readonly reserve: FailoverReserve;

  constructor(private readonly world: World) {
    this.reserve = new FailoverReserve(world);
    this.cpu.fill(-1);
    this.mem.fill(-1);
    this.disk.fill(-1);
  }

  /** Brings the index up to date with an event already applied to the world. */
  apply(event: DomainEvent): void {
    if (event.type === "hostAdded") return this.addHost(event.host);
    for (const host of hostsTouchedBy(event, this.world, this.hostsOfVms)) this.update(host);
  }

  /** Whether the host can take the VM now (it is schedulable, not hidden, and has room). */
  canTake(id: string, vm: Pick<Vm, "vcpus" | "memoryGiB" | "diskGiB" | "disk">): boolean {
    const leaf = this.position.get(id);
    if (leaf === undefined) return false;
    const node = this.size + leaf;
    return this.cpu[node]! >= vm.vcpus && this.mem[node]! >= vm.memoryGiB - 1e-9 && this.disk[node]! >= localDiskGiB(vm) - 1e-9;
  }

  /** The first host (in join order) that is up and has room for the VM, or null. */
  firstFit(vm: Pick<Vm, "vcpus" | "memoryGiB" | "diskGiB" | "disk">, exclude?: string): string | null {
    const needDisk = localDiskGiB(vm);
    const excluded = exclude === undefined ? -1 : this.position.get(exclude) ?? -1;
    const found = this.search(1, vm.vcpus, vm.memoryGiB - 1e-9, needDisk - 1e-9, excluded);
    return found < 0 ? null : this.ids[found]!;
  }

  /** The first host at or after position `start` (wrapping around) that has room: next fit. */
  nextFit(vm: Pick<Vm, "vcpus" | "memoryGiB" | "diskGiB" | "disk">, start: number): string | null {
    const needDisk = localDiskGiB(vm) - 1e-9;
    const from = this.ids.length === 0 ? 0 : start % this.ids.length;
    let found = this.searchFrom(1, 0, this.size, from, vm.vcpus, vm.memoryGiB - 1e-9, needDisk);
    if (found < 0) found = this.search(1, vm.vcpus, vm.memoryGiB - 1e-9, needDisk, -1);
    return found < 0 ? null : this.ids[found]!;
  }

  /**
   * The host with room that has the most free memory (worst fit: spreads the load), ties to the
   * first. Branch and bound on the subtree maxima: a subtree whose most free memory cannot beat
   * the best host found so far is skipped.
   */
  mostFreeMemory(vm: Pick<Vm, "vcpus" | "memoryGiB" | "diskGiB" | "disk">): string | null {
    const best = { leaf: -1, mem: -Infinity };
    this.searchMost(1, vm.vcpus, vm.memoryGiB - 1e-9, localDiskGiB(vm) - 1e-9, best);
    return best.leaf < 0 ? null : this.ids[best.leaf]!;
  }

  /** Free vCPUs and memory summed over the hosts that can take VMs. */
  freeTotal(): { vcpus: number; memoryGiB: number } {
    return this.reserve.freeTotal();
  }

  /** The installed vCPUs and memory of the largest failure domain (`FailoverReserve`). */
  largestDomainCapacity(domain: FailureDomain): { vcpus: number; memoryGiB: number } {
    return this.reserve.largestDomainCapacity(domain);
  }

  /**
   * Runs `search` with the given hosts hidden (as if they could take nothing), then shows them
   * again: for constraints that rule out a few hosts (anti-affinity, a migration's source).
   */
  withHidden<T>(hosts: Iterable<string>, search: () => T): T {
    const hidden: string[] = [];
    for (const id of hosts) {
      const leaf = this.position.get(id);
      if (leaf === undefined) continue;
      hidden.push(id);
      let node = this.size + leaf;
      this.cpu[node] = -1;
      this.mem[node] = -1;
      this.disk[node] = -1;
      for (node >>= 1; node >= 1; node >>= 1) this.pull(node);
    }
    try {
      return search();
    } finally {
      for (const id of hidden) this.update(id);
    }
  }

  /** The largest free vCPUs, memory and disk of any up host (not necessarily the same host). */
  largestFree(): { vcpus: number; memoryGiB: number; diskGiB: number } {
    return { vcpus: this.cpu[1]!, memoryGiB: this.mem[1]!, diskGiB: this.disk[1]! };
  }

  /** Hosts in join order with their free capacity (−1 while down), for policies that look at every host. */
  forEachHost(visit: (id: string, freeVcpus: number, freeMemoryGiB: number, freeDiskGiB: number) => void): void {
    for (let leaf = 0; leaf < this.ids.length; leaf++) {
      const node = this.size + leaf;
      visit(this.ids[leaf]!, this.cpu[node]!, this.mem[node]!, this.disk[node]!);
    }
  }

  private searchFrom(node: number, lo: number, hi: number, from: number, cpu: number, mem: number, disk: number): number {
    if (hi <= from || this.cpu[node]! < cpu || this.mem[node]! < mem || this.disk[node]! < disk) return -1;
    if (node >= this.size) return node - this.size;
    const mid = (lo + hi) >> 1;
    const left = this.searchFrom(2 * node, lo, mid, from, cpu, mem, disk);
    return left >= 0 ? left : this.searchFrom(2 * node + 1, mid, hi, from, cpu, mem, disk);
  }

  private searchMost(node: number, cpu: number, mem: number, disk: number, best: { leaf: number; mem: number }): void {
    if (this.cpu[node]! < cpu || this.mem[node]! < mem || this.disk[node]! < disk || this.mem[node]! <= best.mem) return;
    if (node >= this.size) {
      best.leaf = node - this.size;
      best.mem = this.mem[node]!;
      return;
    }
    const [first, second] = this.mem[2 * node]! >= this.mem[2 * node + 1]! ? [2 * node, 2 * node + 1] : [2 * node + 1, 2 * node];
    this.searchMost(first, cpu, mem, disk, best);
    this.searchMost(second, cpu, mem, disk, best);
  }

  private search(node: number, cpu: number, mem: number, disk: number, excluded: number): number {
    if (this.cpu[node]! < cpu || this.mem[node]! < mem || this.disk[node]! < disk) return -1;
    if (node >= this.size) {
      const leaf = node - this.size;
      return leaf === excluded ? -1 : leaf;
    }
    const left = this.search(2 * node, cpu, mem, disk, excluded);
    return left >= 0 ? left : this.search(2 * node + 1, cpu, mem, disk, excluded);
  }

  private addHost(id: string): void {
    const leaf = this.ids.length;
    this.ids.push(id);
    this.position.set(id, leaf);
    if (leaf >= this.size) this.grow();
    this.update(id);
  }

  private grow(): void {
    const oldSize = this.size;
    while (this.size < this.ids.length) this.size *= 2;
    const resize = (old: Float64Array) => {
      const next = new Float64Array(2 * this.size).fill(-1);
      next.set(old.subarray(oldSize, 2 * oldSize), this.size);
      return next;
    };
    this.cpu = resize(this.cpu);
    this.mem = resize(this.mem);
    this.disk = resize(this.disk);
    for (let node = this.size - 1; node >= 1; node--) this.pull(node);
  }

  private update(id: string): void {
    const host = this.world.hosts.get(id)!;
    const usable = schedulable(host);
    this.reserve.update(id);
    let node = this.size + this.position.get(id)!;
    this.cpu[node] = usable ? host.vcpus - host.usedVcpus : -1;
    this.mem[node] = usable ? host.memoryGiB - host.usedMemoryGiB : -1;
    this.disk[node] = usable ? freeLocalDiskGiB(host) : -1;
    for (node >>= 1; node >= 1; node >>= 1) this.pull(node);
  }

  private pull(node: number): void {
    const l = 2 * node;
    const r = l + 1;
    this.cpu[node] = Math.max(this.cpu[l]!, this.cpu[r]!);
    this.mem[node] = Math.max(this.mem[l]!, this.mem[r]!);
    this.disk[node] = Math.max(this.disk[l]!, this.disk[r]!);
  }
}
