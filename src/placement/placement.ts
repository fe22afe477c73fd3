import type { DomainEvent } from "../model/events.js";
import { fits, schedulable, type World } from "../model/world.js";
import type { CapacityIndex } from "./capacity-index.js";
import type { PlacementPolicy, PlacementRequest, PlacementView, Plan } from "./policies.js";

import type { FailureDomain } from "./failover-reserve.js";

export type { FailureDomain };

/** Rules every plan must keep, whatever the policy (from the scenario's `ha` and `placement`). */
export interface PlacementConstraints {
  /** VMs of one anti-affinity group run in distinct failure domains of this kind. */
  antiAffinity: FailureDomain | null;
  /**
   * Admission control (vSphere HA "cluster resource percentage", Ganeti N+1): a new VM is admitted
   * only if the free capacity left could still restart every VM of the largest failure domain.
   */
  failoverReserve: FailureDomain | null;
  /** Prefer a host holding an intact copy of the VM's volume. */
  storageAware: boolean;
}

export const NO_CONSTRAINTS: PlacementConstraints = { antiAffinity: null, failoverReserve: null, storageAware: false };

/** A request with what the constraints need to know about the VM. */
export interface ConstrainedRequest extends PlacementRequest {
  /** The VM placed, or null for a hypothetical request. */
  vm: string | null;
  group: string | null;
  volume: string | null;
  /** Hosts it must not go to (a migration's source). */
  avoid?: readonly string[];
  /** A new VM (admission control applies), not a restart or a migration of one that runs already. */
  admission: boolean;
}

/**
 * The members of each anti-affinity group, kept current from the event stream (a VM joins with
 * its request and leaves when it is terminated or refused).
 */
export class AntiAffinityGroups {
  private readonly members = new Map<string, Set<string>>();
  private readonly groupOf = new Map<string, string>();

  apply(event: DomainEvent): void {
    if (event.type === "vmRequested" && event.group !== undefined) {
      let set = this.members.get(event.group);
      if (!set) this.members.set(event.group, (set = new Set()));
      set.add(event.vm);
      this.groupOf.set(event.vm, event.group);
    } else if (event.type === "vmTerminated" || event.type === "vmRejected") {
      const group = this.groupOf.get(event.vm);
      if (group === undefined) return;
      this.groupOf.delete(event.vm);
      this.members.get(group)!.delete(event.vm);
    }
  }

  membersOf(group: string): ReadonlySet<string> {
    return this.members.get(group) ?? new Set();
  }
}

/**
 * Places a request with a policy under the constraints — a pure function of the cluster view:
 *
 * 1. anti-affinity hides the hosts in failure domains that hold (or are receiving) another VM of
 *    the request's group, and a migration's source is hidden too;
 * 2. storage-aware placement takes the first host holding an intact copy of the VM's volume that
 *    can take it; otherwise
 * 3. the policy chooses among the hosts left;
 * 4. admission control refuses a new VM whose placement would leave less free capacity than the
 *    largest failure domain has (`breaksFailoverReserve`). The reserve is kept in aggregate: the
 *    free capacity might be too fragmented for some VM, as with vSphere's percentage policy.
 *
 * When anti-affinity is what left no host, the refusal says so (`violatesAntiAffinity`).
 */
export function place(
  policy: PlacementPolicy,
  view: PlacementView & { readonly world: World; readonly groups: AntiAffinityGroups },
  constraints: PlacementConstraints,
  request: ConstrainedRequest,
): Plan {
  const { index, world } = view;
  const hidden = new Set(request.avoid ?? []);
  const antiAffinityHidden = constraints.antiAffinity !== null && request.group !== null ? groupDomainHosts(view, constraints.antiAffinity, request) : [];
  for (const host of antiAffinityHidden) hidden.add(host);
  let plan: Plan | null = null;
  if (constraints.storageAware && request.volume !== null) {
    const volume = world.volumes.get(request.volume);
    for (const [id, copy] of volume?.copies ?? []) {
      const host = world.hosts.get(id)!;
      if (copy.state === "intact" && schedulable(host) && !hidden.has(id) && fits(host, request)) {
        plan = { host: id };
        break;
      }
    }
  }
  plan ??= index.withHidden(hidden, () => policy(view, request));
  if ("refused" in plan && antiAffinityHidden.length > 0) {
    const without = index.withHidden(request.avoid ?? [], () => policy(view, request));
    if ("host" in without) return { refused: "violatesAntiAffinity" };
  }
  if ("host" in plan && request.admission && constraints.failoverReserve !== null && !admits(index, constraints.failoverReserve, request)) {
    return { refused: "breaksFailoverReserve" };
  }
  return plan;
}

/** Whether the free capacity left after placing the request still covers the largest failure domain. */
export function admits(index: CapacityIndex, domain: FailureDomain, request: { vcpus: number; memoryGiB: number }): boolean {
  return index.reserve.admits(domain, request);
}

/** Whether the free capacity covers the largest failure domain now (else there is a failover shortfall). */
export function reserveCovered(index: CapacityIndex, domain: FailureDomain): boolean {
  return index.reserve.covered(domain);
}

/** The hosts in the failure domains that hold, or are receiving, another VM of the request's group. */
function groupDomainHosts(view: { readonly world: World; readonly groups: AntiAffinityGroups }, domain: FailureDomain, request: ConstrainedRequest): string[] {
  const { world } = view;
  const hosts = new Set<string>();
  for (const id of view.groups.membersOf(request.group!)) {
    if (id === request.vm) continue;
    const member = world.vms.get(id);
    if (!member) continue;
    for (const host of [member.host, member.migration?.to ?? null]) {
      if (host === null) continue;
      if (domain === "host") hosts.add(host);
      else for (const peer of world.racks.get(world.hosts.get(host)!.rack)!.hosts) hosts.add(peer);
    }
  }
  return [...hosts];
}
