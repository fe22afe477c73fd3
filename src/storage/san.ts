import type { DomainEvent } from "../model/events.js";
import type { World } from "../model/world.js";
import type { Simulation } from "../sim/simulation.js";
import type { VolumeStorage } from "./volume-storage.js";

/**
 * A central storage array (SAN) holding every persistent-ha volume, reachable from every host:
 * a VM can restart on any host, but when the array is out (`failures.san`) every VM on it goes
 * down until it is back — one failure domain for the whole cluster. The array's own disks are
 * taken to be protected by its internal RAID and spares: data loss inside it is not modelled,
 * only its outages (controller failures, firmware upgrades, fabric outages).
 */
export class San implements VolumeStorage {
  private readonly world: World;
  private volumes = 0;
  private readonly volumeOfVm = new Map<string, string>();

  constructor(private readonly sim: Simulation) {
    this.world = sim.world;
  }

  createVolume(vmId: string): void {
    const id = `vol-${++this.volumes}`;
    this.volumeOfVm.set(vmId, id);
    this.sim.emit({ type: "volumeCreated", volume: id, vm: vmId, kind: "san", sizeGiB: this.world.vms.get(vmId)!.diskGiB, replicas: 1, copies: [] });
  }

  react(event: DomainEvent): void {
    if (event.type === "sanFailed") {
      for (const vm of this.world.vms.values()) {
        if (vm.volume !== null && (vm.state === "booting" || vm.state === "running") && this.world.hosts.get(vm.host!)!.up) {
          this.sim.emit({ type: "vmDown", vm: vm.id, cause: "storage" });
        }
      }
    } else if (event.type === "vmTerminated") {
      const id = this.volumeOfVm.get(event.vm);
      if (id !== undefined) {
        this.volumeOfVm.delete(event.vm);
        this.sim.emit({ type: "volumeDeleted", volume: id });
      }
    }
  }
}
