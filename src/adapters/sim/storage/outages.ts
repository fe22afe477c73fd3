import type { DomainEvent } from "../../../model/events.js";
import { volumeReachableFrom, type World } from "../../../model/world.js";
import type { Simulation } from "../simulation.js";

/**
 * What a storage-service outage (`storageFailed`, `failures.storage`) or a host cut off from the
 * storage network (`storageNetworkFailed`, `failures.storageNetwork`) does to the VMs whose
 * volumes it makes unreachable: their I/O stalls (and a live migration towards a host cut off is
 * given up: `migrationAborted`, failed). A stalled VM does no work (it is `vmDown`,
 * cause `storage`, for as long as the stall lasts: availability counts it down). When the
 * volume is reachable again:
 *
 * - a VM that was running and stalled for at most `guestTimeoutMs` resumes where it was
 *   (`vmResumed`, no boot): the hypervisor queued its I/O (QEMU's `werror=stop`/librbd wait, the
 *   guest's disk timeout not yet reached);
 * - one that stalled longer has seen its disk time out — I/O errors, a file system remounted
 *   read-only or a panic — and the controller reboots it (`vmRebooted`), as it does a VM that was
 *   booting when the stall began.
 *
 * The default timeout and its source are in `src/scenario/defaults.ts` (`guestTimeoutSeconds`).
 * Stalls that a host or disk failure causes (the last reachable copy gone) keep the reboot. What
 * HA does meanwhile about a VM stalled on a host cut off from the storage network (restart it
 * elsewhere after a timeout, or leave it) is the controller's `storagePathResponse`.
 */
export class StorageOutages {
  private readonly world: World;
  /** VMs stalled while running by a storage outage, and when their stall began (their `since`). */
  private readonly stalled = new Map<string, number>();

  constructor(private readonly sim: Simulation, private readonly guestTimeoutMs: number) {
    this.world = sim.world;
  }

  react(event: DomainEvent): void {
    if (event.type === "storageFailed" || event.type === "storageNetworkFailed") {
      if (event.type === "storageNetworkFailed") this.abortMigrationsTo(event.host);
      this.stall(this.affectedBy(event));
    } else if (event.type === "storageRepaired" || event.type === "storageNetworkRepaired") this.resume(event.t);
  }

  private abortMigrationsTo(host: string): void {
    for (const id of [...this.world.hosts.get(host)!.incoming]) {
      const vm = this.world.vms.get(id)!;
      if (vm.volume !== null) this.sim.emit({ type: "migrationAborted", vm: id, reason: "failed" });
    }
  }

  /**
   * The VMs an outage can reach, without a scan of the cluster for a host or a rack: a host cut off
   * stalls its own VMs and those whose volumes have copies on it; a rack's storage service the VMs
   * whose volumes have copies in the rack; the cluster's every VM.
   */
  private affectedBy(event: Extract<DomainEvent, { type: "storageFailed" | "storageNetworkFailed" }>): Iterable<string> {
    const world = this.world;
    if (event.type === "storageFailed" && event.rack === null) return world.vms.keys();
    const hosts = event.type === "storageNetworkFailed" ? [event.host] : world.racks.get(event.rack!)!.hosts;
    const vms = new Set<string>();
    for (const id of hosts) {
      const host = world.hosts.get(id)!;
      if (event.type === "storageNetworkFailed") for (const vm of host.vms) vms.add(vm);
      for (const volume of host.copies) {
        const vm = world.volumes.get(volume)?.vm;
        if (vm !== undefined) vms.add(vm);
      }
    }
    return vms;
  }

  /** Every booting or running VM (of those given) on an up host whose volume the outage made unreachable stalls. */
  private stall(candidates: Iterable<string>): void {
    const world = this.world;
    for (const id of [...candidates]) {
      const vm = world.vms.get(id);
      if (vm === undefined || vm.volume === null || (vm.state !== "booting" && vm.state !== "running") || !world.hosts.get(vm.host!)!.up) continue;
      if (volumeReachableFrom(world, world.volumes.get(vm.volume)!, vm.host!)) continue;
      const running = vm.state === "running";
      this.sim.emit({ type: "vmDown", vm: vm.id, cause: "storage" });
      if (running) this.stalled.set(vm.id, vm.since);
    }
  }

  /** Stalled VMs whose volume is back resume if the stall was short enough; the others are left to the controller. */
  private resume(now: number): void {
    const world = this.world;
    for (const [id, since] of [...this.stalled]) {
      const vm = world.vms.get(id);
      // Gone, or moved on since its stall (restarted elsewhere, lost): nothing to resume.
      if (vm === undefined || vm.state !== "down" || vm.since !== since || vm.migration !== null) {
        this.stalled.delete(id);
        continue;
      }
      if (!volumeReachableFrom(world, world.volumes.get(vm.volume!)!, vm.host!)) continue; // still stalled (another outage)
      this.stalled.delete(id);
      // A host that went down meanwhile took the guest's memory with it: that VM boots again.
      const host = world.hosts.get(vm.host!)!;
      if (now - since <= this.guestTimeoutMs && host.up && host.since <= since) this.sim.emit({ type: "vmResumed", vm: id });
    }
  }
}
