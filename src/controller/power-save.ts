import { schedulable, volumeAvailable, type Host, type World } from "../model/world.js";

/**
 * Power-save's deciders (VMware DPM-like: hosts left empty are switched off, and on again when
 * what waits needs them — VMware, "vSphere Resource Management", 2020), pure functions of the
 * world and the controller's idle clocks; the controller carries them out through the port.
 */

/**
 * What power-save's look (every half `idleOffMs`) finds at one host: `busy` (usable for nothing
 * else, or holding or receiving VMs: its idle clock stops), `idleFromNow` (its idle clock starts at
 * this look), `idle` (not long enough yet, or not allowed off), `switchOff` (empty since a look at
 * least `idleOffMs` ago, and `allowsOff` — the failover reserve and the volumes' copies — says yes).
 */
export type IdleLook = "busy" | "idleFromNow" | "idle" | "switchOff";

export function lookAtHost(host: Host, idleSince: number | undefined, nowMs: number, idleOffMs: number, allowsOff: () => boolean): IdleLook {
  if (!schedulable(host) || host.vms.size > 0 || host.incoming.size > 0) return "busy";
  if (idleSince === undefined) return "idleFromNow";
  return nowMs - idleSince >= idleOffMs && allowsOff() ? "switchOff" : "idle";
}

/**
 * A host may hold copies of volumes (hyperconverged storage): each must keep intact copies on
 * other up hosts, as many as it needs to serve I/O (its `minSize`; Ceph blocks I/O below it).
 */
export function storageAllowsOff(world: World, host: Host): boolean {
  for (const id of host.copies) {
    const volume = world.volumes.get(id)!;
    let elsewhere = 0;
    for (const [other, copy] of volume.copies) if (other !== host.id && copy.state === "intact" && world.hosts.get(other)!.up) elsewhere++;
    if (elsewhere < volume.minSize) return false;
  }
  return true;
}

/** Whether power-save has switched off a host that could be switched on (or is switching one on: `waking`). */
export function canWake(world: World, waking: ReadonlySet<string>): boolean {
  for (const host of world.hosts.values()) if (host.poweredOff === "idle" && host.failure === null && !waking.has(host.id)) return true;
  return waking.size > 0;
}

/**
 * The hosts power-save switches on for what waits, in join order: enough memory for the VMs
 * waiting for room and `reserveShortGiB` (the failover reserve's shortfall, with admission control),
 * counting the hosts already on their way up (`waking`); and every host holding an intact copy of
 * a volume a waiting VM cannot reach. Only hosts it switched off itself and that have not failed.
 */
export function planWake(world: World, waiting: readonly string[], waking: ReadonlySet<string>, reserveShortGiB: number | null): string[] {
  let demand = 0;
  const copiesNeeded = new Set<string>();
  for (const vmId of waiting) {
    const vm = world.vms.get(vmId);
    if (vm === undefined) continue;
    const volume = vm.volume === null ? undefined : world.volumes.get(vm.volume);
    if (volume && !volumeAvailable(world, volume)) {
      for (const [host, copy] of volume.copies) if (copy.state === "intact") copiesNeeded.add(host);
    } else demand += vm.memoryGiB;
  }
  if (reserveShortGiB !== null) demand += reserveShortGiB;
  let wakingGiB = 0;
  for (const id of waking) wakingGiB += world.hosts.get(id)!.memoryGiB;
  const wake: string[] = [];
  for (const host of world.hosts.values()) {
    if (host.poweredOff !== "idle" || host.failure !== null || waking.has(host.id)) continue;
    if (wakingGiB >= demand && !copiesNeeded.has(host.id)) continue;
    wake.push(host.id);
    wakingGiB += host.memoryGiB;
  }
  return wake;
}
