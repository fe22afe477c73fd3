import type { DomainEventBody, PowerOffReason } from "../model/events.js";
import { cutOffFromStorage, fits, schedulable, volumeAvailable, type Vm, type World } from "../model/world.js";
import { RETRY_WINDOW_MS, stalledOnPath, type ControllerMemory } from "./memory.js";

/**
 * What a decision asks the executor (the `Controller`) to do: record an event, switch a host off,
 * or start a VM again — where is placement's choice, made by the executor against the capacity it
 * keeps; `elsewhere`: not on the host it is assigned to (it may still run there, unreachable).
 */
export type Command =
  | { type: "record"; event: DomainEventBody }
  | { type: "powerOff"; host: string; reason: PowerOffReason }
  | { type: "powerOn"; host: string }
  | { type: "restart"; vm: string; elsewhere: boolean }
  /** Boot a down VM again: on a host other than `avoid` if placement finds one and its volume is reachable, else as `restart` would. */
  | { type: "bootAgain"; vm: string; avoid: string | null };

const PRIORITY_RANK = { high: 0, medium: 1, low: 2 } as const;

/** A VM's restart priority as a number, high first (0); a VM gone counts as medium. */
export function priorityRank(world: World, vmId: string): number {
  return PRIORITY_RANK[world.vms.get(vmId)?.priority ?? "medium"];
}

/** The VMs by restart priority, high first, keeping their order within a priority. */
export function byPriority(world: World, vms: readonly string[]): string[] {
  return vms.map((id, i) => ({ id, i, rank: priorityRank(world, id) })).sort((a, b) => a.rank - b.rank || a.i - b.i).map((x) => x.id);
}

/**
 * HA (persistent-ha), when the heartbeat timeout of a silence has run out: a pure function of the
 * world and the controller's memory (issue 19). Nothing if the host answered again or fell silent
 * anew since (`since` is no longer its silence). Otherwise the host is declared dead
 * (`hostFailureDetected`); an up host (isolated: alive, unreachable) is fenced first when fencing
 * is on — its VMs go down and are restarted on `hostPoweredOff` — else its VMs that are down, or
 * still running as far as anyone can tell on an isolated host, are restarted elsewhere, by
 * restart priority (vSphere HA; VMware, "vSphere Availability", 2020).
 */
export function onHeartbeatTimeout(world: World, memory: ControllerMemory, hostId: string, since: { t: number; seq: number }, fencing: boolean): Command[] {
  if (memory.silentSince.get(hostId) !== since) return [];
  const host = world.hosts.get(hostId)!;
  const commands: Command[] = [{ type: "record", event: { type: "hostFailureDetected", host: hostId } }];
  if (host.up && fencing) return [...commands, { type: "powerOff", host: hostId, reason: "fenced" }];
  for (const vmId of byPriority(world, [...host.vms])) {
    const vm = world.vms.get(vmId)!;
    if (vm.state === "down" || ((vm.state === "running" || vm.state === "booting") && host.isolated)) commands.push({ type: "restart", vm: vmId, elsewhere: true });
  }
  return commands;
}

/** VM monitoring: boots of a VM that keeps stopping on its own tried within RETRY_WINDOW_MS before it is left down (vSphere HA's default: 3 resets an hour). */
export const MAX_START_ATTEMPTS = 3;
/** VM monitoring: the pause before the first boot again; the n-th failure within the hour waits n times as long. */
export const START_RETRY_DELAY_MS = 10_000;

/** A boot again that VM monitoring owes a VM: which stop it answers (host, since), its rank within the hour, when it is due. */
export interface StartRetry {
  vm: string;
  host: string;
  /** The VM's `since` at its stop: a retry finding the VM changed since is void. */
  since: number;
  failures: number;
  /** When it is due, on the run's clock (the stop + START_RETRY_DELAY_MS × failures). */
  atMs: number;
}

/**
 * VM monitoring (vSphere HA, VMware "vSphere Availability", 2020: at most 3 resets within an hour
 * by default), for a VM that stopped on its own on a host the controller reaches: the boot again
 * its last stop calls for — after a pause growing with each failure within the hour — or
 * "givenUp" past MAX_START_ATTEMPTS (an operator's case), or null when the VM is not down after a
 * stop on its own (up again, gone, or stopped by anything else). From the world and the memory
 * alone, so a controller started afresh owes the same retries.
 */
export function startRetry(world: World, memory: ControllerMemory, vmId: string): StartRetry | "givenUp" | null {
  const vm = world.vms.get(vmId);
  if (vm === undefined || vm.host === null || vm.state !== "down") return null;
  const stops = memory.failedStarts.get(vmId);
  // Its stop on its own is its last change of state (remember noted it at the time it went down).
  if (stops === undefined || stops[stops.length - 1] !== vm.since) return null;
  const host = world.hosts.get(vm.host)!;
  if (!host.up || host.isolated) return null;
  const failures = stops.filter((t) => t > vm.since - RETRY_WINDOW_MS).length;
  if (failures > MAX_START_ATTEMPTS) return "givenUp";
  return { vm: vmId, host: host.id, since: vm.since, failures, atMs: vm.since + START_RETRY_DELAY_MS * failures };
}

/**
 * When a VM monitoring retry comes due: nothing if the VM changed meanwhile (booted, moved, gone);
 * else boot it again — from the second failure within the hour, a VM with a volume on another host
 * if one can take it (the host may be the problem).
 */
export function onStartRetryDue(world: World, retry: StartRetry): Command[] {
  const vm = world.vms.get(retry.vm);
  if (vm?.state !== "down" || vm.host !== retry.host || vm.since !== retry.since) return [];
  return [{ type: "bootAgain", vm: retry.vm, avoid: retry.failures >= 2 && vm.volume !== null ? retry.host : null }];
}

/**
 * How to start a VM that should run (a restart, a relaunch, a VM waiting for room), by the state of
 * the world: `none` — nothing (more) to do (gone, migrating, up already unless `elsewhere`, or a
 * VM with a local-RAID disk waiting for its host); `wait` — for its volume to be reachable (or
 * makeable: `canCreateVolume`), or for its storage path while stalled (`stalledOnPath` at `nowMs`);
 * `reboot` — where it is, its host usable and reaching the storage; `mirror` — on a host holding an
 * intact copy of its mirrored disk (`mirrorHost`); `place` — on a host the placement chooses.
 * `elsewhere`: as far as the controller knows it still runs on a host it cannot reach.
 */
export type StartAction = "none" | "wait" | "reboot" | "mirror" | "place";

export function startAction(
  world: World,
  memory: ControllerMemory,
  vmId: string,
  elsewhere: boolean,
  nowMs: number,
  storagePath: { restart: boolean; timeoutMs: number } | undefined,
  canCreateVolume: (sizeGiB: number) => boolean,
): StartAction {
  const vm = world.vms.get(vmId);
  if (vm === undefined || vm.migration !== null) return "none";
  if (!elsewhere && (vm.state === "booting" || vm.state === "running")) return "none";
  if (vm.volume !== null && !volumeAvailable(world, world.volumes.get(vm.volume)!)) return "wait";
  // No new volume while the storage service (or the SAN) is out: it cannot be created.
  if (vm.disk === "volume" && vm.volume === null && !canCreateVolume(vm.diskGiB)) return "wait";
  if (vm.state === "down") {
    const host = world.hosts.get(vm.host!)!;
    const cutOff = vm.volume !== null && cutOffFromStorage(world, host.id);
    // Stalled on a host without its storage path: it waits for the path, or for the response's timeout.
    if (cutOff && host.up && stalledOnPath(memory, vmId, nowMs, storagePath)) return "wait";
    if (!cutOff && host.up && !host.isolated && !host.maintenance) return "reboot";
    if (vm.disk === "local-raid") return "none"; // rebooted when its host is back
  }
  return vm.volume !== null && world.volumes.get(vm.volume)!.kind === "mirror" ? "mirror" : "place";
}

/** A mirrored VM runs where its disk is: the first usable host with an intact copy and room, or null. */
export function mirrorHost(world: World, vm: Vm): string | null {
  for (const [id, copy] of world.volumes.get(vm.volume!)!.copies) {
    const host = world.hosts.get(id)!;
    if (copy.state === "intact" && schedulable(host) && fits(host, vm)) return id;
  }
  return null;
}

/**
 * Maintenance (a window on one host: maintenance mode → drain → off for the window → on →
 * maintenance mode ends; vSphere's maintenance mode, a rolling upgrade takes every host in turn),
 * decision by decision, from the world:
 * - at its start, maintenance mode (`maintenanceStarted`), unless the host is in it already;
 */
export function onMaintenanceBegin(world: World, hostId: string): Command[] {
  return world.hosts.get(hostId)!.maintenance ? [] : [{ type: "record", event: { type: "maintenanceStarted", host: hostId } }];
}

/** - drained (or the drain timed out), a window's host is switched off, unless it is off already; */
export function onMaintenanceDrained(world: World, hostId: string): Command[] {
  return world.hosts.get(hostId)!.poweredOff === null ? [{ type: "powerOff", host: hostId, reason: "maintenance" }] : [];
}

/** - at the window's end it is switched on (nothing if someone switched it on already: maintenance mode ends at once). */
export function onMaintenanceWindowEnd(world: World, hostId: string): Command[] {
  return world.hosts.get(hostId)!.poweredOff !== null ? [{ type: "powerOn", host: hostId }] : [];
}
