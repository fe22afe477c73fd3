import { fits, localDiskGiB, schedulable, type Vm, type World } from "../model/world.js";
import type { ControllerMemory } from "./memory.js";
import type { Move } from "./rebalance.js";

/** Failed migrations of one VM retried before a drain gives up on it. */
export const MIGRATION_ATTEMPTS = 3;

/** A drain's plan: the moves to start, the VMs found nowhere to go, and how many are still to move. */
export interface DrainPlan {
  moves: Move[];
  /** VMs no host could take: they stay (a drain does not try them again until one of their migrations finishes). */
  nowhereToGo: string[];
  /** VMs still to move once the moves are started: running, movable, not given up on (those moving included). */
  remaining: number;
}

export interface DrainOptions {
  /** Live migrations at most at once out of the host (those under way count). */
  maxConcurrent: number;
  /** New moves at most in this plan (the controller asks for one at a time, each executed before the next is planned). */
  maxMoves: number;
  /** VMs not to try (found nowhere to go before). */
  skip: ReadonlySet<string>;
}

/**
 * Where a drain moves the VMs off a host (persistent-ha: live migration; vSphere's maintenance
 * mode), as data: in the host's order, each running VM not given up on (MIGRATION_ATTEMPTS
 * aborted migrations) and not already moving gets the host `choose` names — the placement's
 * choice given the moves planned before it — or is noted as having nowhere to go; at most
 * `maxConcurrent` migrations out of the host at once. Pure, given `choose`. Other models have
 * nothing to move (their VMs go down with the host), nor has a host that is down.
 */
export function planDrain(world: World, memory: ControllerMemory, hostId: string, options: DrainOptions, choose: (vm: Vm, planned: readonly Move[]) => string | null): DrainPlan {
  const plan: DrainPlan = { moves: [], nowhereToGo: [], remaining: 0 };
  const host = world.hosts.get(hostId)!;
  if (world.serviceModel !== "persistent-ha" || !host.up) return plan;
  let underway = 0;
  for (const from of memory.migrating.values()) if (from === hostId) underway++;
  for (const vmId of host.vms) {
    const vm = world.vms.get(vmId)!;
    if (vm.state !== "running" || options.skip.has(vmId) || (memory.migrationFailures.get(vmId) ?? 0) >= MIGRATION_ATTEMPTS) continue;
    plan.remaining++;
    if (vm.migration !== null || underway >= options.maxConcurrent || plan.moves.length >= options.maxMoves) continue;
    const to = choose(vm, plan.moves);
    if (to === null) {
      plan.nowhereToGo.push(vmId);
      plan.remaining--;
      continue;
    }
    plan.moves.push({ vm: vmId, from: hostId, to });
    underway++;
  }
  return plan;
}

/**
 * First fit that counts the moves planned before (a whole drain planned at once, as `drain
 * --dry-run` prints it): the first host in join order, other than the VM's and usable, with room
 * for the VM besides what the planned moves bring it. With first-fit placement and nothing else
 * happening meanwhile, the controller's drain moves the VMs the same way.
 */
export function firstFitAfter(world: World, vm: Vm, planned: readonly Move[]): string | null {
  for (const host of world.hosts.values()) {
    if (host.id === vm.host || !schedulable(host)) continue;
    let vcpus = 0;
    let memoryGiB = 0;
    let diskGiB = 0;
    for (const move of planned) {
      if (move.to !== host.id) continue;
      const moved = world.vms.get(move.vm)!;
      vcpus += moved.vcpus;
      memoryGiB += moved.memoryGiB;
      diskGiB += localDiskGiB(moved);
    }
    if (fits({ ...host, usedVcpus: host.usedVcpus + vcpus, usedMemoryGiB: host.usedMemoryGiB + memoryGiB, usedDiskGiB: host.usedDiskGiB + diskGiB }, vm)) return host.id;
  }
  return null;
}
