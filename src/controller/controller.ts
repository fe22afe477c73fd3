import type { DomainEvent } from "../model/events.js";
import { fits, hostsSwitchedBy, volumeAvailable, type Host, type Vm, type World } from "../model/world.js";
import { CapacityIndex } from "../placement/capacity-index.js";
import { firstFit, type PlacementPolicy, type Plan } from "../placement/policies.js";
import type { ClusterPort } from "./port.js";

const hostOf = (plan: Plan): string | null => ("host" in plan ? plan.host : null);

export interface ControllerConfig {
  /** persistent-ha: silence after which a host is declared dead and its VMs restarted elsewhere. */
  heartbeatTimeoutMs: number;
  /** The placement policy (default first fit). */
  policy?: PlacementPolicy;
}

/**
 * The cluster controller: places requested VMs (with its placement policy, first fit by default), refuses a first request no host has
 * room for (a loss system: the user goes elsewhere), keeps VMs that must be restarted waiting, in
 * order, until there is room and their volume is reachable, and recovers from host failures as
 * the service model says:
 *
 * - `vps`: a VM stays with its host (its disk is there) and is rebooted when the host is back;
 * - `persistent-ha`: after `heartbeatTimeoutMs` without the host (vSphere HA declares a host dead
 *   after ~15 s without heartbeats, then checks datastore heartbeats — VMware, "vSphere
 *   Availability", 2020), its VMs are restarted on other hosts with their volumes; a host back
 *   before that reboots them in place;
 * - `ephemeral`: nothing — the instance is gone; its user may ask again (`relaunch`).
 *
 * `observe` must see every event (it keeps the capacity index current); `react` acts on them.
 */
export class Controller {
  private readonly index: CapacityIndex;
  private readonly waiting: string[] = [];
  private readonly policy: PlacementPolicy;
  private placements = 0;

  constructor(private readonly port: ClusterPort, private readonly config: ControllerConfig) {
    this.index = new CapacityIndex(port.world);
    this.policy = config.policy ?? firstFit;
  }

  observe(event: DomainEvent): void {
    this.index.apply(event);
  }

  react(event: DomainEvent): void {
    const world = this.port.world;
    switch (event.type) {
      case "vmRequested": {
        const vm = world.vms.get(event.vm)!;
        const plan = this.plan(vm);
        if ("refused" in plan) this.port.record({ type: "vmRejected", vm: vm.id, reason: plan.refused });
        else this.port.startVm(vm.id, plan.host);
        break;
      }
      case "hostFailed":
      case "rackFailed":
        if (world.serviceModel === "persistent-ha") {
          for (const host of hostsSwitchedBy(world, event)) {
            const downSince = host.since;
            this.port.after(this.config.heartbeatTimeoutMs, () => this.declareDead(host, downSince));
          }
        }
        break;
      case "hostRepaired":
      case "rackRepaired":
        for (const host of hostsSwitchedBy(world, event)) this.restartDownVms(host);
        this.retryWaiting();
        break;
      case "vmDown":
        // Its host is up but its volume unreachable: it waits for a copy to come back.
        if (event.cause === "storage") this.placeOrWait(event.vm);
        break;
      case "vmLost":
      case "vmTerminated":
      case "rebuildFinished":
      case "sanRepaired":
        this.retryWaiting();
        break;
    }
  }

  /** A user asks again for a VM that is pending (its instance or its volume was lost). */
  relaunch(vmId: string): void {
    const vm = this.port.world.vms.get(vmId);
    if (vm?.state === "pending") this.placeOrWait(vmId);
  }

  private declareDead(host: Host, downSince: number): void {
    // Back within the timeout (its VMs were rebooted in place), or down again since: not this outage.
    if (host.up || host.since !== downSince) return;
    this.port.record({ type: "hostFailureDetected", host: host.id });
    this.restartDownVms(host);
  }

  /** The down VMs assigned to the host: rebooted there if it is up, else placed elsewhere (or waiting). */
  private restartDownVms(host: Host): void {
    for (const vmId of [...host.vms]) {
      if (this.port.world.vms.get(vmId)!.state === "down") this.placeOrWait(vmId);
    }
  }

  private placeOrWait(vmId: string): void {
    if (!this.tryStart(vmId)) this.waiting.push(vmId);
  }

  /**
   * Starts a VM that should run: reboots it where it is if its host is up, else places it on the
   * first host with room. Returns false if it must wait — for room, or for its volume to be
   * reachable — and true when there is nothing (more) to do for it.
   */
  private tryStart(vmId: string): boolean {
    const world = this.port.world;
    const vm = world.vms.get(vmId);
    if (vm === undefined || vm.state === "booting" || vm.state === "running") return true;
    if (vm.volume !== null && !volumeAvailable(world, world.volumes.get(vm.volume)!)) return false;
    if (vm.state === "down") {
      const host = world.hosts.get(vm.host!)!;
      if (host.up) {
        this.port.rebootVm(vmId);
        return true;
      }
      if (vm.disk === "local-raid") return true; // rebooted when its host is back
    }
    const host = vm.volume !== null && world.volumes.get(vm.volume)!.kind === "mirror" ? this.mirrorHost(vm) : hostOf(this.plan(vm));
    if (host === null) return false;
    this.port.startVm(vmId, host);
    return true;
  }

  /** Asks the placement policy; a plan with a host counts as a placement (round robin moves on). */
  private plan(vm: Vm): Plan {
    const plan = this.policy({ index: this.index, placements: this.placements }, vm);
    if ("host" in plan) this.placements++;
    return plan;
  }

  /** A mirrored VM runs where its disk is: the first up host with an intact copy and room. */
  private mirrorHost(vm: Vm): string | null {
    const world = this.port.world;
    for (const [id, copy] of world.volumes.get(vm.volume!)!.copies) {
      const host = world.hosts.get(id)!;
      if (copy.state === "intact" && host.up && fits(host, vm)) return id;
    }
    return null;
  }

  /** Tries every waiting VM in the order they began to wait; those that still cannot start stay. */
  private retryWaiting(): void {
    if (this.waiting.length === 0) return;
    const still = this.waiting.filter((vmId) => !this.tryStart(vmId));
    this.waiting.length = 0;
    this.waiting.push(...still);
  }
}
