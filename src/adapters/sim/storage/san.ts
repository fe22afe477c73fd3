import type { DomainEvent } from "../../../model/events.js";
import type { World } from "../../../model/world.js";
import type { Simulation } from "../simulation.js";
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

  constructor(private readonly sim: Simulation) {
    this.world = sim.world;
  }

  canCreateVolume(): boolean {
    return this.world.sanUp && !this.world.storageOut?.cluster;
  }

  createVolume(vmId: string): void {
    const id = `vol-${++this.volumes}`;
    this.sim.emit({ type: "volumeCreated", volume: id, vm: vmId, kind: "san", sizeGiB: this.world.vms.get(vmId)!.diskGiB, replicas: 1, copies: [] });
  }

  react(event: DomainEvent): void {
    if (event.type === "sanFailed") {
      for (const vm of this.world.vms.values()) {
        if (vm.volume !== null && (vm.state === "booting" || vm.state === "running") && this.world.hosts.get(vm.host!)!.up) {
          this.sim.emit({ type: "vmDown", vm: vm.id, cause: "storage" });
        }
      }
    } else if (event.type === "vmTerminated" && event.volume !== null) {
      this.sim.emit({ type: "volumeDeleted", volume: event.volume });
    }
  }
}
