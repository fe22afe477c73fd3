import type { DomainEventBody, PowerOffReason } from "../model/events.js";
import type { World } from "../model/world.js";
import type { ControllerMemory } from "./memory.js";

/**
 * What a decision asks the executor (the `Controller`) to do: record an event, switch a host off,
 * or start a VM again — where is placement's choice, made by the executor against the capacity it
 * keeps; `elsewhere`: not on the host it is assigned to (it may still run there, unreachable).
 */
export type Command =
  | { type: "record"; event: DomainEventBody }
  | { type: "powerOff"; host: string; reason: PowerOffReason }
  | { type: "restart"; vm: string; elsewhere: boolean };

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
