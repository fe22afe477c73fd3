import type { DomainEvent } from "./events.js";
import { HostsOfVms } from "./hosts-of-vms.js";
import { localDiskGiB, volumeReachableFrom, type Host, type Vm, type Volume, type World } from "./world.js";

export class InvariantViolation extends Error {
  constructor(readonly event: DomainEvent, reason: string) {
    super(`after event seq ${event.seq} (${event.type} at t=${event.t} ms): ${reason}`);
  }
}

const EPSILON = 1e-6;

/**
 * Checks the invariants of the parts of the world that events touched (so the cost per event
 * does not grow with the cluster): no host over capacity; a host's reservations are exactly the
 * sum of its VMs and of the VMs migrating to it; no VM booting or running on a host that is down;
 * every VM on a host is in that host's VM set and nowhere else; a migrating VM is listed as
 * incoming by its destination, and a live migration's ends are both up; no copy on a failed disk, no rebuild on a down host, no more
 * counting copies than replicas, and (with `spreadRacks`) the counting copies of a volume in
 * distinct racks; no disk holding more copies than its share of the host's `diskGiB`; a mirrored VM placed only where a copy of its disk is; no VM booting or running
 * while its volume is unreachable (every copy on a down host or behind a storage outage, the SAN
 * or the storage service out). (A volume is lost only
 * when no copy remains: `evolve` refuses `volumeLost` otherwise.)
 *
 * `note` every event as it is applied; `verify` when the world is settled — after an event's
 * immediate consequences (a host's failure and its VMs going down) have been applied too. It
 * throws `InvariantViolation` naming the event that touched the broken part.
 */
export class InvariantChecker {
  private readonly hostsOfVms = new HostsOfVms();
  private readonly touchedHosts = new Map<string, DomainEvent>();
  private readonly touchedVms = new Map<string, DomainEvent>();
  private readonly touchedVolumes = new Map<string, DomainEvent>();

  /** `spreadRacks`: the copies that count for a volume must be in distinct racks (when racks ≥ replicas). */
  constructor(private readonly world: World, private readonly options: { spreadRacks?: boolean } = {}) {}

  /** Notes and verifies at once: for a sequence in which every event leaves the world settled. */
  check(event: DomainEvent): void {
    this.note(event);
    this.verify();
  }

  verify(): void {
    for (const [id, event] of this.touchedVms) if (this.world.vms.has(id)) this.checkVm(event, id);
    for (const [id, event] of this.touchedHosts) this.checkHost(event, this.world.hosts.get(id)!);
    for (const [id, event] of this.touchedVolumes) {
      const volume = this.world.volumes.get(id);
      if (volume) this.checkVolume(event, volume);
    }
    this.touchedVms.clear();
    this.touchedHosts.clear();
    this.touchedVolumes.clear();
  }

  note(event: DomainEvent): void {
    const hosts = this.touchedHosts;
    switch (event.type) {
      case "hostAdded":
      case "hostFailed":
      case "hostRepaired":
      case "hostMarkedOut":
      case "hostPoweredOff":
      case "hostPoweredOn":
      case "hostIsolated":
      case "hostReconnected":
      case "maintenanceStarted":
      case "maintenanceFinished":
      case "arrayLost":
      case "arrayRecreated":
        hosts.set(event.host, event);
        for (const id of this.world.hosts.get(event.host)!.copies) this.touchedVolumes.set(id, event);
        break;
      case "storageNetworkFailed":
        for (const id of this.world.hosts.get(event.host)!.vms) this.touchedVms.set(id, event);
        for (const id of this.world.hosts.get(event.host)!.copies) this.touchedVolumes.set(id, event);
        break;
      case "storageFailed":
      case "sanFailed":
        for (const id of this.world.volumes.keys()) this.touchedVolumes.set(id, event);
        break;
      case "diskFailed":
        hosts.set(event.host, event);
        for (const id of this.world.hosts.get(event.host)!.copies) this.touchedVolumes.set(id, event);
        break;
      case "volumeCreated":
        for (const copy of event.copies) hosts.set(copy.host, event);
        this.touchedVolumes.set(event.volume, event);
        break;
      case "rebuildStarted":
        hosts.set(event.host, event);
        this.touchedVolumes.set(event.volume, event);
        break;
      case "copyLost":
      case "copyDropped":
      case "rebuildFinished":
      case "rebuildAborted":
        this.touchedVolumes.set(event.volume, event);
        break;
      case "rackFailed":
      case "rackRepaired":
        for (const id of this.world.racks.get(event.rack)!.hosts) {
          hosts.set(id, event);
          for (const volume of this.world.hosts.get(id)!.copies) this.touchedVolumes.set(volume, event);
        }
        break;
      case "vmRequested":
      case "vmRejected":
      case "vmPlaced":
      case "vmRebooted":
      case "vmStarted":
      case "vmResumed":
      case "vmDown":
      case "vmLost":
      case "vmTerminated":
      case "migrationStarted":
      case "migrationFinished":
      case "migrationAborted":
      case "splitBrain":
        for (const host of this.hostsOfVms.touched(event, this.world)) hosts.set(host, event);
        this.touchedVms.set(event.vm, event);
        break;
    }
  }

  private checkVm(event: DomainEvent, id: string): void {
    const vm = this.world.vms.get(id)!;
    if ((vm.state === "pending") !== (vm.host === null)) throw new InvariantViolation(event, `VM ${id} is ${vm.state} with host ${vm.host}`);
    if (vm.host !== null && !this.world.hosts.get(vm.host)!.vms.has(id)) throw new InvariantViolation(event, `VM ${id} is not in the VM set of its host ${vm.host}`);
    if (vm.migration !== null) {
      const to = this.world.hosts.get(vm.migration.to)!;
      if (!to.incoming.has(id)) throw new InvariantViolation(event, `VM ${id} migrates to host ${to.id}, which does not list it as incoming`);
      if (vm.migration.mode === "live" && (!to.up || !this.world.hosts.get(vm.host!)!.up)) throw new InvariantViolation(event, `VM ${id} is migrating live between hosts ${vm.host} and ${to.id}, one of which is down`);
    }
    const volume = vm.volume === null ? undefined : this.world.volumes.get(vm.volume);
    if (volume) this.checkReachable(event, vm, volume);
    // (A new mirror is made on the host the VM is first placed on; one with no working disk runs it diskless.)
    if (event.type === "vmPlaced" && volume?.kind === "mirror" && volume.createdAt !== event.t && volume.copies.get(vm.host!)?.state !== "intact") {
      throw new InvariantViolation(event, `mirrored VM ${id} was placed on host ${vm.host}, which holds no intact copy of its disk`);
    }
  }

  private checkReachable(event: DomainEvent, vm: Vm, volume: Volume): void {
    if ((vm.state === "booting" || vm.state === "running") && !volumeReachableFrom(this.world, volume, vm.host!)) {
      throw new InvariantViolation(event, `VM ${vm.id} is ${vm.state} but its volume ${volume.id} is unreachable`);
    }
  }

  private checkVolume(event: DomainEvent, volume: Volume): void {
    const vm = this.world.vms.get(volume.vm);
    if (vm?.volume === volume.id) this.checkReachable(event, vm, volume);
    const racks = new Set<string>();
    let counting = 0;
    for (const [id, copy] of volume.copies) {
      const host = this.world.hosts.get(id)!;
      if (!host.copies.has(volume.id)) throw new InvariantViolation(event, `host ${id} does not list volume ${volume.id}'s copy`);
      if (!host.diskUp[copy.disk]) throw new InvariantViolation(event, `volume ${volume.id} keeps a copy on failed disk ${copy.disk} of host ${id}`);
      if (copy.state === "rebuilding" && !host.up) throw new InvariantViolation(event, `volume ${volume.id} is being rebuilt on host ${id}, which is down`);
      if (copy.state === "rebuilding" || !host.out) {
        counting++;
        racks.add(host.rack);
      }
    }
    if (counting > volume.replicas) throw new InvariantViolation(event, `volume ${volume.id} has ${counting} copies counting, more than its ${volume.replicas} replicas`);
    if (this.options.spreadRacks && volume.replicas <= this.world.racks.size && racks.size < counting) {
      throw new InvariantViolation(event, `two copies of volume ${volume.id} share a rack`);
    }
  }

  /** The copies on each disk of the host (intact or being rebuilt) fit in the disk: `diskGiB` / disks. */
  private checkCopiesFit(event: DomainEvent, host: Host): void {
    const used = new Array<number>(host.diskUp.length).fill(0);
    for (const id of host.copies) {
      const volume = this.world.volumes.get(id)!;
      used[volume.copies.get(host.id)!.disk]! += volume.sizeGiB;
    }
    const capacity = host.diskGiB / host.diskUp.length;
    used.forEach((gib, disk) => {
      if (gib > capacity + EPSILON) throw new InvariantViolation(event, `disk ${disk} of host ${host.id} holds ${gib} GiB of copies, over its ${capacity} GiB`);
    });
  }

  private checkHost(event: DomainEvent, host: Host): void {
    let vcpus = 0;
    let memory = 0;
    let disk = 0;
    for (const id of host.vms) {
      const vm = this.world.vms.get(id);
      if (!vm || vm.host !== host.id) throw new InvariantViolation(event, `host ${host.id} lists VM ${id}, which is not on it`);
      if (!host.up && (vm.state === "booting" || vm.state === "running")) {
        throw new InvariantViolation(event, `VM ${id} is ${vm.state} on host ${host.id}, which is down`);
      }
      // (Its VMs are lost by events of the same instant as the array.)
      if (localDiskGiB(vm) > 0 && host.arrayLostAt !== null && host.arrayLostAt !== this.world.t) {
        throw new InvariantViolation(event, `VM ${id} keeps its disk on host ${host.id}, whose local array is lost`);
      }
      vcpus += vm.vcpus;
      memory += vm.memoryGiB;
      disk += localDiskGiB(vm);
    }
    for (const id of host.incoming) {
      const vm = this.world.vms.get(id);
      if (!vm || vm.migration?.to !== host.id) throw new InvariantViolation(event, `host ${host.id} lists VM ${id} as incoming, but it is not migrating there`);
      vcpus += vm.vcpus;
      memory += vm.memoryGiB;
      disk += localDiskGiB(vm);
    }
    const over = (used: number, capacity: number) => used > capacity + EPSILON;
    if (over(host.usedVcpus, host.vcpus) || over(host.usedMemoryGiB, host.memoryGiB) || over(host.usedDiskGiB, host.diskGiB)) {
      throw new InvariantViolation(event, `host ${host.id} is over capacity`);
    }
    if (host.copies.size > 0) this.checkCopiesFit(event, host);
    const differs = (a: number, b: number) => Math.abs(a - b) > EPSILON;
    if (differs(vcpus, host.usedVcpus) || differs(memory, host.usedMemoryGiB) || differs(disk, host.usedDiskGiB)) {
      throw new InvariantViolation(event, `host ${host.id} reserves ${host.usedVcpus} vCPUs / ${host.usedMemoryGiB} GiB but its VMs need ${vcpus} / ${memory}`);
    }
  }
}
