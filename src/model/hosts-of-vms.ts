import type { DomainEvent } from "./events.js";
import type { World } from "./world.js";

/**
 * Which hosts an event about a VM touched. Events do not name the host a VM leaves (a
 * `vmPlaced` after a failure, a `vmTerminated`, the end of a migration), so projections that keep
 * per-host figures (the capacity index, the invariant checker) remember, for each VM, the host it
 * is on and the host it is migrating to, and ask here.
 */
export class HostsOfVms {
  private readonly hostOf = new Map<string, string>();
  private readonly migratingTo = new Map<string, string>();

  /** Call with every event, after it was applied: the hosts whose VMs or reservations it may have changed. */
  touched(event: DomainEvent, world: World): string[] {
    if (!("vm" in event)) return [];
    const id = event.vm;
    const hosts: string[] = [];
    const add = (host: string | undefined | null) => {
      if (host != null && !hosts.includes(host)) hosts.push(host);
    };
    add(this.hostOf.get(id));
    add(this.migratingTo.get(id));
    const vm = world.vms.get(id);
    if (vm?.host) this.hostOf.set(id, vm.host);
    else this.hostOf.delete(id);
    if (vm?.migration) this.migratingTo.set(id, vm.migration.to);
    else this.migratingTo.delete(id);
    add(vm?.host);
    add(vm?.migration?.to);
    return hosts;
  }
}
