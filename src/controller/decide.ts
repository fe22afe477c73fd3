import type { DomainEventBody, PowerOffReason } from "../model/events.js";
import type { World } from "../model/world.js";
import { RETRY_WINDOW_MS, type ControllerMemory } from "./memory.js";

/**
 * What a decision asks the executor (the `Controller`) to do: record an event, switch a host off,
 * or start a VM again — where is placement's choice, made by the executor against the capacity it
 * keeps; `elsewhere`: not on the host it is assigned to (it may still run there, unreachable).
 */
export type Command =
  | { type: "record"; event: DomainEventBody }
  | { type: "powerOff"; host: string; reason: PowerOffReason }
  | { type: "restart"; vm: string; elsewhere: boolean }
  /** Boot a down VM again: on a host other than `avoid` if placement finds one and its volume is reachable, else as `restart` would. */
  | { type: "bootAgain"; vm: string; avoid: string | null };

const PRIORITY_RANK = { high: 0, medium: 1, low: 2 } as const;

/** The VMs by restart priority, high first, keeping their order within a priority. */
export function byPriority(world: World, vms: readonly string[]): string[] {
  const rank = (id: string) => PRIORITY_RANK[world.vms.get(id)?.priority ?? "medium"];
  return vms.map((id, i) => ({ id, i })).sort((a, b) => rank(a.id) - rank(b.id) || a.i - b.i).map((x) => x.id);
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
