import type { DomainEvent, DomainEventBody } from "../model/events.js";
import { hostsSwitchedBy, type Host, type World } from "../model/world.js";
import { CapacityIndex } from "../placement/capacity-index.js";

/**
 * What the controller needs from the infrastructure it runs on — the simulated cluster or real
 * hosts. It reads the world (never writes it) and acts only through these commands; it never
 * knows whether time is simulated.
 */
export interface ClusterPort {
  readonly world: World;
  /** Calls `callback` after `delayMs` (simulated or wall-clock). */
  after(delayMs: number, callback: () => void): void;
  /** Records a decision of the controller as an event (a refused request, a host declared dead). */
  record(body: DomainEventBody): void;
  /** Assigns a pending or down VM to a host and boots it there. */
  startVm(vm: string, host: string): void;
  /** Boots a down VM again on the host it is assigned to. */
  rebootVm(vm: string): void;
}

export interface ControllerConfig {
  /** persistent-ha: silence after which a host is declared dead and its VMs restarted elsewhere. */
  heartbeatTimeoutMs: number;
}

/**
 * The cluster controller: places requested VMs (first fit), refuses a first request no host has
 * room for (a loss system: the user goes elsewhere), keeps VMs that must be restarted in a FIFO
 * queue until capacity frees up, and recovers from host failures as the service model says:
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
  private waitingHead = 0;

  constructor(private readonly port: ClusterPort, private readonly config: ControllerConfig) {
    this.index = new CapacityIndex(port.world);
  }

  observe(event: DomainEvent): void {
    this.index.apply(event);
  }

  react(event: DomainEvent): void {
    const world = this.port.world;
    switch (event.type) {
      case "vmRequested": {
        const vm = world.vms.get(event.vm)!;
        const host = this.index.firstFit(vm);
        if (host === null) this.port.record({ type: "vmRejected", vm: vm.id });
        else this.port.startVm(vm.id, host);
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
        for (const host of hostsSwitchedBy(world, event)) this.rebootDownVms(host);
        this.retryWaiting();
        break;
      case "vmLost":
      case "vmTerminated":
        this.retryWaiting();
        break;
    }
  }

  /** A user asks again for a VM that is pending (an ephemeral instance lost with its host). */
  relaunch(vmId: string): void {
    const vm = this.port.world.vms.get(vmId);
    if (vm?.state === "pending") this.placeOrWait(vmId);
  }

  private declareDead(host: Host, downSince: number): void {
    // Back within the timeout (its VMs were rebooted in place), or down again since: not this outage.
    if (host.up || host.since !== downSince) return;
    this.port.record({ type: "hostFailureDetected", host: host.id });
    for (const vmId of [...host.vms]) {
      if (this.port.world.vms.get(vmId)!.state === "down") this.placeOrWait(vmId);
    }
  }

  private rebootDownVms(host: Host): void {
    for (const vmId of [...host.vms]) {
      if (this.port.world.vms.get(vmId)!.state === "down") this.port.rebootVm(vmId);
    }
  }

  private placeOrWait(vmId: string): void {
    const host = this.index.firstFit(this.port.world.vms.get(vmId)!);
    if (host !== null) this.port.startVm(vmId, host);
    else this.waiting.push(vmId);
  }

  /**
   * Places waiting VMs in arrival order until the first that still does not fit (head-of-line:
   * a large VM is not overtaken by smaller ones). VMs that left the queue's reason behind —
   * terminated, restarted in place — are dropped.
   */
  private retryWaiting(): void {
    const world = this.port.world;
    while (this.waitingHead < this.waiting.length) {
      const vmId = this.waiting[this.waitingHead]!;
      const vm = world.vms.get(vmId);
      const stillWaiting = vm !== undefined && (vm.state === "pending" || (vm.state === "down" && !world.hosts.get(vm.host!)!.up));
      if (stillWaiting) {
        const host = this.index.firstFit(vm);
        if (host === null) break;
        this.port.startVm(vmId, host);
      }
      this.waitingHead++;
    }
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
  }

  /** VMs waiting for room to be (re)started. */
  get waitingCount(): number {
    return this.waiting.length - this.waitingHead;
  }
}
