import type { ClusterPort } from "../controller/controller.js";
import { msToHours } from "../kernel/time.js";
import type { DomainEvent, DomainEventBody } from "../model/events.js";
import { hostsSwitchedBy, type World } from "../model/world.js";
import type { VolumeStorage } from "../storage/volume-storage.js";
import type { Provisioning } from "./provisioning.js";
import type { Simulation } from "./simulation.js";

/**
 * The simulated infrastructure adapter: carries out the controller's commands by emitting what
 * real hosts would report, after the modelled durations, and turns host failures into what
 * they do to the VMs on those hosts:
 *
 * - a VM whose disk is on the host's instance store is lost with it (the instance and its local
 *   data are gone: EC2 / Eucalyptus semantics, DESIGN.md); the state lost is its time since boot;
 * - any other VM is down, its disk intact (on the host's RAID, or a volume elsewhere);
 * - a VM whose volume is lost is lost too: the state lost is the volume's age.
 */
export class SimulatedInfrastructure implements ClusterPort {
  readonly world: World;

  constructor(private readonly sim: Simulation, private readonly provisioning: Provisioning, private readonly storage: VolumeStorage | null) {
    this.world = sim.world;
  }

  after(delayMs: number, callback: () => void): void {
    this.sim.scheduler.after(delayMs, runCallback, callback);
  }

  record(body: DomainEventBody): void {
    this.sim.emit(body);
  }

  startVm(vmId: string, hostId: string): void {
    const vm = this.world.vms.get(vmId)!;
    if (vm.disk === "volume" && vm.volume === null) this.storage!.createVolume(vmId, hostId);
    const bootMs = this.provisioning.bootMs(vm.disk, hostId);
    this.sim.emit({ type: "vmPlaced", vm: vmId, host: hostId, bootMs });
    this.scheduleStart(vmId, bootMs);
  }

  rebootVm(vmId: string): void {
    const vm = this.world.vms.get(vmId)!;
    const bootMs = this.provisioning.bootMs(vm.disk, vm.host!);
    this.sim.emit({ type: "vmRebooted", vm: vmId, bootMs });
    this.scheduleStart(vmId, bootMs);
  }

  /** Reaction: what a host going down, or a volume lost, does to VMs. */
  react(event: DomainEvent): void {
    if (event.type === "volumeLost") {
      const vm = this.world.vms.get(event.vm);
      if (vm) this.sim.emit({ type: "vmLost", vm: vm.id, cause: "volume", stateHours: msToHours(event.t - vm.dataSince!) });
      return;
    }
    if (event.type === "arrayLost") {
      // Everything on the host's local disks: VPS disks and instance stores.
      for (const vmId of [...this.world.hosts.get(event.host)!.vms]) {
        const vm = this.world.vms.get(vmId)!;
        this.sim.emit({ type: "vmLost", vm: vmId, cause: "array", stateHours: vm.dataSince === null ? 0 : msToHours(event.t - vm.dataSince) });
      }
      return;
    }
    if (event.type !== "hostFailed" && event.type !== "rackFailed") return;
    for (const host of hostsSwitchedBy(this.world, event)) {
      for (const vmId of [...host.vms]) {
        const vm = this.world.vms.get(vmId)!;
        if (vm.state !== "booting" && vm.state !== "running") continue;
        if (vm.disk === "instance-store") {
          const stateHours = vm.dataSince === null ? 0 : msToHours(event.t - vm.dataSince);
          this.sim.emit({ type: "vmLost", vm: vmId, cause: "host", stateHours });
        } else {
          this.sim.emit({ type: "vmDown", vm: vmId, cause: "host" });
        }
      }
    }
  }

  private scheduleStart(vmId: string, bootMs: number): void {
    const boots = this.world.vms.get(vmId)!.boots;
    this.sim.scheduler.after(bootMs, () => {
      const vm = this.world.vms.get(vmId);
      // Only the boot this timer was set for, on a host that is still up.
      if (vm !== undefined && vm.boots === boots && vm.state === "booting") this.sim.emit({ type: "vmStarted", vm: vmId });
    }, null);
  }
}

function runCallback(callback: () => void): void {
  callback();
}
