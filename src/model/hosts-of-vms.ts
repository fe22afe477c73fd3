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

  /** Call with every event, after it was applied: the hosts whose VMs or reservations it may have changed (before, then after; each once). */
  touched(event: DomainEvent, world: World): readonly string[] {
    if (!("vm" in event)) return NONE;
    const id = event.vm;
    const was = this.hostOf.get(id);
    const wasTo = this.migratingTo.get(id);
    const vm = world.vms.get(id);
    const host = vm?.host ?? null;
    const to = vm?.migration?.to ?? null;
    if (host !== null) this.hostOf.set(id, host);
    else if (was !== undefined) this.hostOf.delete(id);
    if (to !== null) this.migratingTo.set(id, to);
    else if (wasTo !== undefined) this.migratingTo.delete(id);
    // (written out rather than with a closure: this runs for every VM event of a run, issue 18)
    const hosts: string[] = [];
    if (was !== undefined) hosts.push(was);
    if (wasTo !== undefined && wasTo !== was) hosts.push(wasTo);
    if (host !== null && host !== was && host !== wasTo) hosts.push(host);
    if (to !== null && !hosts.includes(to)) hosts.push(to);
    return hosts;
  }
}

const NONE: readonly string[] = [];
