import { fits, schedulable, type Host, type Vm, type World } from "../model/world.js";

/** A migration a planner proposes. */
export interface Move {
  vm: string;
  from: string;
  to: string;
}

export interface RebalanceOptions {
  /** Least drop of the standard deviation of hosts' memory load a move must bring (0.02 = 2 points). */
  minImprovement: number;
  maxMoves: number;
}

/** How many of the largest VMs of the most loaded host a round considers. */
const CANDIDATES = 16;

/**
 * DRS-like load balancing (VMware DRS moves VMs when the standard deviation of host load exceeds
 * a threshold, and only by moves whose benefit outweighs their cost — Gulati et al., "VMware
 * Distributed Resource Management", VMware Technical Journal 2012). Load is a host's reserved
 * share of its memory. Each round takes the most loaded host, and among its largest running,
 * movable VMs the move to the least loaded host it fits on that lowers the standard deviation
 * most; it proposes it if that drop is at least `minImprovement` (the cost/benefit threshold that
 * keeps it from thrashing), and repeats on the loads after the move, up to `maxMoves`.
 *
 * Pure: it reads the world and returns moves; the controller checks each against its
 * constraints before it migrates anything.
 */
export function planRebalance(world: World, movable: (vm: Vm) => boolean, options: RebalanceOptions): Move[] {
  const hosts = [...world.hosts.values()].filter(schedulable);
  if (hosts.length < 2) return [];
  const load = new Map(hosts.map((h) => [h.id, h.usedMemoryGiB / h.memoryGiB]));
  const n = hosts.length;
  let sum = 0;
  let sumSq = 0;
  for (const l of load.values()) {
    sum += l;
    sumSq += l * l;
  }
  const sd = (s: number, sq: number) => Math.sqrt(Math.max(0, sq / n - (s / n) ** 2));
  const moved = new Set<string>();
  const extra = new Map<string, { vcpus: number; memoryGiB: number }>(); // planned onto a host
  const moves: Move[] = [];
  while (moves.length < options.maxMoves) {
    let source: Host = hosts[0]!;
    for (const h of hosts) if (load.get(h.id)! > load.get(source.id)!) source = h;
    const candidates = [...source.vms]
      .map((id) => world.vms.get(id)!)
      .filter((vm) => vm.state === "running" && vm.migration === null && !moved.has(vm.id) && movable(vm))
      .sort((a, b) => b.memoryGiB - a.memoryGiB || (a.id < b.id ? -1 : 1))
      .slice(0, CANDIDATES);
    const before = sd(sum, sumSq);
    let best: { vm: Vm; to: Host; sum: number; sumSq: number; gain: number } | null = null;
    for (const vm of candidates) {
      let target: Host | null = null;
      for (const h of hosts) {
        if (h === source || !fitsWith(h, vm, extra.get(h.id)?.memoryGiB ?? 0, extra.get(h.id)?.vcpus ?? 0)) continue;
        if (target === null || load.get(h.id)! < load.get(target.id)!) target = h;
      }
      if (target === null) continue;
      const ls = load.get(source.id)!;
      const lt = load.get(target.id)!;
      const ns = ls - vm.memoryGiB / source.memoryGiB;
      const nt = lt + vm.memoryGiB / target.memoryGiB;
      const s = sum - ls - lt + ns + nt;
      const sq = sumSq - ls * ls - lt * lt + ns * ns + nt * nt;
      const gain = before - sd(s, sq);
      if (best === null || gain > best.gain) best = { vm, to: target, sum: s, sumSq: sq, gain };
    }
    if (best === null || best.gain < options.minImprovement) break;
    moves.push({ vm: best.vm.id, from: source.id, to: best.to.id });
    moved.add(best.vm.id);
    load.set(source.id, load.get(source.id)! - best.vm.memoryGiB / source.memoryGiB);
    load.set(best.to.id, load.get(best.to.id)! + best.vm.memoryGiB / best.to.memoryGiB);
    // vCPUs too: a second VM planned onto the same host must fit beside the first.
    const e = extra.get(best.to.id) ?? { vcpus: 0, memoryGiB: 0 };
    extra.set(best.to.id, { vcpus: e.vcpus + best.vm.vcpus, memoryGiB: e.memoryGiB + best.vm.memoryGiB });
    sum = best.sum;
    sumSq = best.sumSq;
  }
  return moves;
}

/**
 * Consolidation for power saving (VMware DPM, Eucalyptus POWERSAVE): the least loaded host that
 * runs anything, if every VM on it can move to the other hosts (first fit, largest first, onto
 * hosts that already run VMs, so no idle host is woken) — then that host can be switched off.
 */
export function planConsolidation(world: World, movable: (vm: Vm) => boolean): Move[] {
  const busy = [...world.hosts.values()].filter((h) => schedulable(h) && h.vms.size > 0);
  let source: Host | null = null;
  for (const h of busy) if (source === null || h.usedMemoryGiB / h.memoryGiB < source.usedMemoryGiB / source.memoryGiB) source = h;
  if (source === null || busy.length < 2) return [];
  const vms = [...source.vms].map((id) => world.vms.get(id)!);
  if (vms.some((vm) => vm.state !== "running" || vm.migration !== null || !movable(vm)) || source.incoming.size > 0) return [];
  const extra = new Map<string, { vcpus: number; memoryGiB: number }>();
  const moves: Move[] = [];
  for (const vm of vms.sort((a, b) => b.memoryGiB - a.memoryGiB || (a.id < b.id ? -1 : 1))) {
    const target = busy.find((h) => h !== source && fitsWith(h, vm, extra.get(h.id)?.memoryGiB ?? 0, extra.get(h.id)?.vcpus ?? 0));
    if (!target) return [];
    const e = extra.get(target.id) ?? { vcpus: 0, memoryGiB: 0 };
    extra.set(target.id, { vcpus: e.vcpus + vm.vcpus, memoryGiB: e.memoryGiB + vm.memoryGiB });
    moves.push({ vm: vm.id, from: source.id, to: target.id });
  }
  return moves;
}

/** Whether the VM fits on the host with `memoryGiB` and `vcpus` already planned onto it. */
function fitsWith(host: Host, vm: Vm, memoryGiB: number, vcpus: number): boolean {
  return fits({ ...host, usedMemoryGiB: host.usedMemoryGiB + memoryGiB, usedVcpus: host.usedVcpus + vcpus }, vm);
}
