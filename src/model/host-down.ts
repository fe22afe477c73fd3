import { msToHours } from "../kernel/time.js";
import type { DomainEventBody } from "./events.js";
import type { Host, World } from "./world.js";

/**
 * What a host going down (failed, powered off, its rack out) does, as events, in order: the
 * migrations from it and to it are aborted, then each VM that was booting or running on it is
 * lost with its instance store (EC2 / Eucalyptus semantics: the state lost is its time since
 * boot) or down with its disk intact. The same for the simulated cluster and real hosts.
 */
export function hostDownConsequences(world: World, host: Host, t: number): DomainEventBody[] {
  const events = migrationAborts(world, host);
  for (const vmId of host.vms) {
    const vm = world.vms.get(vmId)!;
    if (vm.state !== "booting" && vm.state !== "running") continue;
    if (vm.disk === "instance-store") events.push({ type: "vmLost", vm: vmId, cause: "host", stateHours: vm.dataSince === null ? 0 : msToHours(t - vm.dataSince) });
    else events.push({ type: "vmDown", vm: vmId, cause: "host" });
  }
  return events;
}

/** The migrations from (`sourceDown`) and to (`destinationDown`) a host that can no longer take part, aborted. */
export function migrationAborts(world: World, host: Host): DomainEventBody[] {
  const events: DomainEventBody[] = [];
  for (const vmId of host.vms) if (world.vms.get(vmId)?.migration) events.push({ type: "migrationAborted", vm: vmId, reason: "sourceDown" });
  for (const vmId of host.incoming) if (world.vms.get(vmId)?.migration) events.push({ type: "migrationAborted", vm: vmId, reason: "destinationDown" });
  return events;
}
