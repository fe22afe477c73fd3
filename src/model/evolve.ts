import { DISK_OF_MODEL, type DomainEvent } from "./events.js";
import { fits, hostShouldBeUp, intactCopies, localDiskGiB, volumeReachableFrom, type Host, type Vm, type World } from "./world.js";

/** An event that cannot follow the state it was applied to: the log is corrupt or out of order. */
export class EvolveError extends Error {
  constructor(readonly event: DomainEvent, reason: string) {
    super(`event seq ${event.seq} (${event.type} at t=${event.t} ms) cannot be applied: ${reason}`);
  }
}

/**
 * Applies one event to the world: the only code that changes world state.
 *
 * It is deterministic and reads nothing but its arguments. For speed it updates `world` in place
 * and returns it (copying a cluster of 50 000 hosts per event would make every event O(hosts));
 * whoever folds owns the state. It checks that the event may follow the state — next seq, time
 * not going back, a transition that exists, a VM that fits its host — and throws `EvolveError`
 * otherwise, so a damaged log is caught at the first event that does not fit.
 */
export function evolve(world: World, event: DomainEvent): World {
  if (event.seq !== world.lastSeq + 1) throw new EvolveError(event, `expected seq ${world.lastSeq + 1}`);
  if (!(event.t >= world.t)) throw new EvolveError(event, `time goes back from t=${world.t} ms`);
  if (world.ended) throw new EvolveError(event, "the run has already ended");
  if (world.serviceModel === null && event.type !== "runStarted") throw new EvolveError(event, "the run has not started (runStarted must come first)");
  switch (event.type) {
    case "runStarted":
      if (world.serviceModel !== null) throw new EvolveError(event, "the run has already started");
      world.serviceModel = event.serviceModel;
      break;
    case "hostAdded": {
      if (world.hosts.has(event.host)) throw new EvolveError(event, `host ${event.host} already exists`);
      let rack = world.racks.get(event.rack);
      if (!rack) {
        rack = { id: event.rack, up: true, hosts: [] };
        world.racks.set(rack.id, rack);
      }
      rack.hosts.push(event.host);
      world.hosts.set(event.host, {
        id: event.host,
        rack: event.rack,
        vcpus: event.vcpus,
        memoryGiB: event.memoryGiB,
        diskGiB: event.diskGiB,
        up: rack.up,
        failure: null,
        poweredOff: null,
        maintenance: false,
        isolated: false,
        since: event.t,
        failures: 0,
        usedVcpus: 0,
        usedMemoryGiB: 0,
        usedDiskGiB: 0,
        vms: new Set(),
        incoming: new Set(),
        diskUp: Array.from({ length: event.disks }, () => true),
        raidRebuilding: Array.from({ length: event.disks }, () => false),
        arrayLostAt: null,
        out: false,
        copies: new Set(),
      });
      break;
    }
    case "hostFailed": {
      const host = hostIn(world, event, event.host);
      if (host.failure !== null) throw new EvolveError(event, `host ${host.id} has already failed (${host.failure})`);
      host.failure = event.cause;
      host.failures++;
      setHostUp(host, false, event.t);
      break;
    }
    case "hostRepaired": {
      const host = hostIn(world, event, event.host);
      if (host.failure === null) throw new EvolveError(event, `host ${host.id} has not failed`);
      host.failure = null;
      setHostUp(host, hostShouldBeUp(world, host), event.t);
      break;
    }
    case "hostPoweredOff": {
      const host = hostIn(world, event, event.host);
      if (host.poweredOff !== null) throw new EvolveError(event, `host ${host.id} is already powered off`);
      host.poweredOff = event.reason;
      setHostUp(host, false, event.t);
      break;
    }
    case "hostPoweredOn": {
      const host = hostIn(world, event, event.host);
      if (host.poweredOff === null) throw new EvolveError(event, `host ${host.id} is not powered off`);
      host.poweredOff = null;
      setHostUp(host, hostShouldBeUp(world, host), event.t);
      break;
    }
    case "maintenanceStarted":
    case "maintenanceFinished": {
      const host = hostIn(world, event, event.host);
      const start = event.type === "maintenanceStarted";
      if (host.maintenance === start) throw new EvolveError(event, `host ${host.id} is ${start ? "already" : "not"} in maintenance`);
      host.maintenance = start;
      break;
    }
    case "hostIsolated":
    case "hostReconnected": {
      const host = hostIn(world, event, event.host);
      const isolated = event.type === "hostIsolated";
      if (host.isolated === isolated) throw new EvolveError(event, `host ${host.id} is ${isolated ? "already isolated" : "not isolated"}`);
      host.isolated = isolated;
      break;
    }
    case "rackFailed":
    case "rackRepaired": {
      const rack = world.racks.get(event.rack);
      if (!rack) throw new EvolveError(event, `unknown rack ${event.rack}`);
      const up = event.type === "rackRepaired";
      if (rack.up === up) throw new EvolveError(event, `rack ${rack.id} is already ${up ? "up" : "out"}`);
      rack.up = up;
      for (const id of rack.hosts) {
        const host = world.hosts.get(id)!;
        setHostUp(host, hostShouldBeUp(world, host), event.t);
      }
      break;
    }
    case "hostMarkedOut": {
      const host = hostIn(world, event, event.host);
      if (host.up || host.out) throw new EvolveError(event, `host ${host.id} is ${host.up ? "up" : "already out"}`);
      host.out = true;
      break;
    }
    case "diskFailed":
    case "diskReplaced": {
      const host = hostIn(world, event, event.host);
      const up = event.type === "diskReplaced";
      if (host.diskUp[event.disk] !== !up) throw new EvolveError(event, `disk ${event.disk} of host ${host.id} is ${host.diskUp[event.disk] === undefined ? "unknown" : up ? "not failed" : "already failed"}`);
      host.diskUp[event.disk] = up;
      host.raidRebuilding[event.disk] = false;
      break;
    }
    case "raidRebuildStarted":
    case "raidRebuildFinished": {
      const host = hostIn(world, event, event.host);
      const start = event.type === "raidRebuildStarted";
      if (host.diskUp[event.disk] !== true || host.raidRebuilding[event.disk] === start) {
        throw new EvolveError(event, `disk ${event.disk} of host ${host.id} is not ${start ? "a working disk to rebuild" : "being rebuilt"}`);
      }
      host.raidRebuilding[event.disk] = start;
      break;
    }
    case "arrayLost": {
      const host = hostIn(world, event, event.host);
      host.arrayLostAt = event.t;
      host.raidRebuilding.fill(false);
      break;
    }
    case "arrayRecreated": {
      const host = hostIn(world, event, event.host);
      if (host.arrayLostAt === null || !host.diskUp.every(Boolean)) {
        throw new EvolveError(event, `host ${host.id} has ${host.arrayLostAt === null ? "a working array" : "a failed disk"}`);
      }
      host.arrayLostAt = null;
      break;
    }
    case "volumeCreated": {
      if (world.volumes.has(event.volume)) throw new EvolveError(event, `volume ${event.volume} already exists`);
      const vm = vmIn(world, event, event.vm);
      if (vm.disk !== "volume" || vm.volume !== null) throw new EvolveError(event, `VM ${vm.id} needs no new volume`);
      if (event.kind === "san" && event.copies.length > 0) throw new EvolveError(event, "a SAN volume has no copies on hosts");
      const minSize = event.minSize ?? 1;
      if (!Number.isInteger(minSize) || minSize < 1 || minSize > Math.max(1, event.replicas)) throw new EvolveError(event, `minSize ${minSize} is not a whole number from 1 to the volume's ${event.replicas} replicas`);
      const volume = { id: event.volume, vm: vm.id, kind: event.kind, sizeGiB: event.sizeGiB, replicas: event.replicas, minSize, createdAt: event.t, copies: new Map() };
      for (const { host: id, disk } of event.copies) {
        const host = hostIn(world, event, id);
        if (!host.up || host.diskUp[disk] !== true || volume.copies.has(id)) throw new EvolveError(event, `cannot place a copy on disk ${disk} of host ${id}`);
        volume.copies.set(id, { disk, state: "intact" });
        host.copies.add(volume.id);
      }
      world.volumes.set(volume.id, volume);
      vm.volume = volume.id;
      vm.dataSince = event.t;
      break;
    }
    case "dataDamaged": {
      hostIn(world, event, event.host);
      if (event.volume !== null) volumeIn(world, event, event.volume);
      break;
    }
    case "volumeDeleted":
    case "volumeLost": {
      const volume = volumeIn(world, event, event.volume);
      if (event.type === "volumeLost" && volume.copies.size > 0) throw new EvolveError(event, `volume ${volume.id} still has ${volume.copies.size} copies`);
      for (const host of volume.copies.keys()) world.hosts.get(host)!.copies.delete(volume.id);
      world.volumes.delete(volume.id);
      const vm = world.vms.get(volume.vm);
      if (vm?.volume === volume.id) vm.volume = null;
      break;
    }
    case "copyLost":
    case "copyDropped":
    case "rebuildFinished":
    case "rebuildAborted": {
      const volume = volumeIn(world, event, event.volume);
      const copy = volume.copies.get(event.host);
      if (!copy) throw new EvolveError(event, `volume ${volume.id} has no copy on host ${event.host}`);
      const host = world.hosts.get(event.host)!;
      if (event.type === "copyLost" && host.diskUp[copy.disk]) throw new EvolveError(event, `disk ${copy.disk} of host ${host.id} has not failed`);
      if (event.type === "copyDropped" && (copy.state !== "intact" || intactCopies(volume) < 2)) throw new EvolveError(event, `the copy on host ${host.id} is not an intact copy of a volume with another one`);
      if ((event.type === "rebuildFinished" || event.type === "rebuildAborted") && copy.state !== "rebuilding") throw new EvolveError(event, `the copy on host ${host.id} is not being rebuilt`);
      if (event.type === "rebuildFinished") {
        if (!host.up) throw new EvolveError(event, `host ${host.id} is down`);
        copy.state = "intact";
      } else {
        volume.copies.delete(host.id);
        host.copies.delete(volume.id);
      }
      break;
    }
    case "rebuildStarted": {
      const volume = volumeIn(world, event, event.volume);
      const host = hostIn(world, event, event.host);
      if (!host.up || host.out || host.diskUp[event.disk] !== true || volume.copies.has(host.id)) throw new EvolveError(event, `cannot rebuild a copy on disk ${event.disk} of host ${host.id}`);
      const source = volume.copies.get(event.source);
      if (source?.state !== "intact" || !world.hosts.get(event.source)!.up) throw new EvolveError(event, `host ${event.source} has no intact copy to read`);
      volume.copies.set(host.id, { disk: event.disk, state: "rebuilding" });
      host.copies.add(volume.id);
      break;
    }
    case "sanFailed":
    case "sanRepaired": {
      const up = event.type === "sanRepaired";
      if (world.sanUp === up) throw new EvolveError(event, `the SAN is already ${up ? "up" : "out"}`);
      world.sanUp = up;
      break;
    }
    case "storageFailed":
    case "storageRepaired": {
      if (event.rack !== null && !world.racks.has(event.rack)) throw new EvolveError(event, `unknown rack ${event.rack}`);
      const wasOut = event.rack === null ? world.storageOut?.cluster === true : world.storageOut?.racks.has(event.rack) === true;
      const failed = event.type === "storageFailed";
      const scope = event.rack === null ? "the storage service" : `the storage service in rack ${event.rack}`;
      if (wasOut === failed) throw new EvolveError(event, `${scope} is already ${failed ? "out" : "up"}`);
      const out = (world.storageOut ??= { cluster: false, racks: new Set(), hosts: new Set() });
      if (event.rack === null) out.cluster = failed;
      else if (failed) out.racks.add(event.rack);
      else out.racks.delete(event.rack);
      break;
    }
    case "storageNetworkFailed":
    case "storageNetworkRepaired": {
      const host = hostIn(world, event, event.host);
      const failed = event.type === "storageNetworkFailed";
      if ((world.storageOut?.hosts.has(host.id) === true) === failed) throw new EvolveError(event, `host ${host.id} is already ${failed ? "cut off from" : "connected to"} the storage network`);
      const out = (world.storageOut ??= { cluster: false, racks: new Set(), hosts: new Set() });
      if (failed) out.hosts.add(host.id);
      else out.hosts.delete(host.id);
      break;
    }
    case "hostFailureDetected": {
      const host = hostIn(world, event, event.host);
      if (host.up && !host.isolated) throw new EvolveError(event, `host ${host.id} is up and reachable`);
      break;
    }
    case "vmRequested": {
      if (world.vms.has(event.vm)) throw new EvolveError(event, `VM ${event.vm} already exists`);
      world.vms.set(event.vm, {
        id: event.vm,
        vcpus: event.vcpus,
        memoryGiB: event.memoryGiB,
        diskGiB: event.diskGiB,
        disk: DISK_OF_MODEL[world.serviceModel!],
        lifetimeHours: event.lifetimeHours,
        state: "pending",
        host: null,
        since: event.t,
        startedAt: null,
        boots: 0,
        volume: null,
        migration: null,
        group: event.group ?? null,
        priority: event.priority ?? "medium",
        dataSince: null,
      });
      break;
    }
    case "vmRejected": {
      const vm = vmIn(world, event, event.vm);
      if (vm.state !== "pending" || vm.boots > 0) throw new EvolveError(event, `VM ${vm.id} is not a new request`);
      world.vms.delete(vm.id);
      break;
    }
    case "vmPlaced": {
      const vm = vmIn(world, event, event.vm);
      if (vm.state !== "pending" && vm.state !== "down") throw new EvolveError(event, `VM ${vm.id} is ${vm.state}, not pending or down`);
      if (vm.migration !== null) throw new EvolveError(event, `VM ${vm.id} is migrating`);
      const host = hostIn(world, event, event.host);
      if (!host.up) throw new EvolveError(event, `host ${host.id} is down`);
      if (vm.host !== null) release(world, vm);
      if (!fits(host, vm)) throw new EvolveError(event, `VM ${vm.id} does not fit on host ${host.id}`);
      reserve(host, vm);
      setVmState(vm, "booting", event.t);
      vm.boots++;
      break;
    }
    case "vmRebooted": {
      const vm = vmIn(world, event, event.vm);
      if (vm.state !== "down") throw new EvolveError(event, `VM ${vm.id} is ${vm.state}, not down`);
      if (!world.hosts.get(vm.host!)!.up) throw new EvolveError(event, `host ${vm.host} is down`);
      setVmState(vm, "booting", event.t);
      vm.boots++;
      break;
    }
    case "vmStarted": {
      const vm = vmIn(world, event, event.vm);
      if (vm.state !== "booting") throw new EvolveError(event, `VM ${vm.id} is ${vm.state}, not booting`);
      if (!world.hosts.get(vm.host!)!.up) throw new EvolveError(event, `host ${vm.host} is down`);
      setVmState(vm, "running", event.t);
      vm.startedAt = event.t;
      if (vm.disk === "instance-store" || (vm.disk === "local-raid" && vm.dataSince === null)) vm.dataSince = event.t;
      break;
    }
    case "vmResumed": {
      const vm = vmIn(world, event, event.vm);
      if (vm.state !== "down" || vm.migration !== null) throw new EvolveError(event, `VM ${vm.id} is ${vm.state}${vm.migration ? ", migrating" : ""}, not stalled`);
      if (!world.hosts.get(vm.host!)!.up) throw new EvolveError(event, `host ${vm.host} is down`);
      if (vm.volume === null || !volumeReachableFrom(world, world.volumes.get(vm.volume)!, vm.host!)) throw new EvolveError(event, `the volume of VM ${vm.id} is unreachable`);
      setVmState(vm, "running", event.t);
      break;
    }
    case "migrationStarted": {
      const vm = vmIn(world, event, event.vm);
      if (vm.host !== event.from || vm.migration !== null) throw new EvolveError(event, `VM ${vm.id} is not on host ${event.from}, or is migrating already`);
      if (vm.state !== "running") throw new EvolveError(event, `VM ${vm.id} is ${vm.state}, not running`);
      const from = hostIn(world, event, event.from);
      const to = hostIn(world, event, event.to);
      if (to === from || !from.up || !to.up) throw new EvolveError(event, `cannot migrate from host ${from.id} to host ${to.id}`);
      if (!fits(to, vm)) throw new EvolveError(event, `VM ${vm.id} does not fit on host ${to.id}`);
      addUsage(to, vm, 1);
      to.incoming.add(vm.id);
      vm.migration = { to: to.id, mode: event.mode, since: event.t };
      if (event.mode === "cold") setVmState(vm, "down", event.t);
      break;
    }
    case "migrationFinished":
    case "migrationAborted": {
      const vm = vmIn(world, event, event.vm);
      const migration = vm.migration;
      if (migration === null) throw new EvolveError(event, `VM ${vm.id} is not migrating`);
      const to = world.hosts.get(migration.to)!;
      cancelMigration(world, vm);
      if (event.type === "migrationAborted") break;
      if (!to.up || !world.hosts.get(vm.host!)!.up) throw new EvolveError(event, `an end of the migration of VM ${vm.id} is down`);
      release(world, vm);
      reserve(to, vm);
      if (migration.mode === "cold") {
        setVmState(vm, "booting", event.t);
        vm.boots++;
      }
      break;
    }
    case "splitBrain": {
      const vm = vmIn(world, event, event.vm);
      const host = hostIn(world, event, event.host);
      if (vm.host !== host.id || !host.isolated || (vm.state !== "running" && vm.state !== "booting")) {
        throw new EvolveError(event, `VM ${vm.id} is not running on isolated host ${host.id}`);
      }
      setVmState(vm, "down", event.t);
      break;
    }
    case "vmDown": {
      const vm = vmIn(world, event, event.vm);
      if (vm.host === null) throw new EvolveError(event, `VM ${vm.id} is on no host`);
      if (event.cause === "host" && world.hosts.get(vm.host)!.up) throw new EvolveError(event, `host ${vm.host} of VM ${vm.id} is up`);
      if (event.cause === "storage" && (vm.volume === null || volumeReachableFrom(world, world.volumes.get(vm.volume)!, vm.host))) {
        throw new EvolveError(event, `the volume of VM ${vm.id} is reachable`);
      }
      if (vm.state !== "booting" && vm.state !== "running") throw new EvolveError(event, `VM ${vm.id} is ${vm.state}, not booting or running`);
      cancelMigration(world, vm);
      setVmState(vm, "down", event.t);
      break;
    }
    case "vmLost": {
      const vm = vmIn(world, event, event.vm);
      const host = vm.host === null ? null : world.hosts.get(vm.host)!;
      const gone =
        event.cause === "volume"
          ? vm.disk === "volume" && vm.volume === null && vm.dataSince !== null
          : event.cause === "host"
            ? vm.disk === "instance-store" && host !== null && !host.up
            : vm.disk !== "volume" && host !== null && host.arrayLostAt === event.t;
      if (!gone) throw new EvolveError(event, `VM ${vm.id} has not lost its disk (${event.cause})`);
      cancelMigration(world, vm);
      if (vm.host !== null) release(world, vm);
      setVmState(vm, "pending", event.t);
      vm.dataSince = null;
      break;
    }
    case "vmTerminated": {
      const vm = vmIn(world, event, event.vm);
      if (event.volume !== undefined && event.volume !== vm.volume) throw new EvolveError(event, `VM ${vm.id}'s volume is ${vm.volume}, not ${event.volume}`);
      cancelMigration(world, vm);
      if (vm.host !== null) release(world, vm);
      world.vms.delete(vm.id);
      break;
    }
    case "warmupEnded":
      break;
    case "guestBooted": {
      const vm = vmIn(world, event, event.vm);
      if (vm.host !== event.host) throw new EvolveError(event, `VM ${vm.id} is on ${vm.host ?? "no host"}, not ${event.host}`);
      if (vm.state !== "running" && vm.state !== "booting") throw new EvolveError(event, `VM ${vm.id} is ${vm.state}, not running`);
      if (!Number.isInteger(event.bootCount) || event.bootCount < 1) throw new EvolveError(event, `boot count ${event.bootCount} is not a positive integer`);
      break;
    }
    case "runEnded":
      world.ended = true;
      break;
    case "controllerFailed":
    case "controllerRecovered":
      // The controller's own state, not the infrastructure's: the world is unchanged.
      break;
    default:
      return unreachable(event);
  }
  world.t = event.t;
  world.lastSeq = event.seq;
  return world;
}

function setHostUp(host: Host, up: boolean, t: number): void {
  if (host.up === up) return;
  host.up = up;
  host.since = t;
  if (up) host.out = false; // back in: its copies count again
}

function setVmState(vm: Vm, state: Vm["state"], t: number): void {
  vm.state = state;
  vm.since = t;
}

/** Adds (sign 1) or removes (sign −1) the VM's reservation on the host. */
function addUsage(host: Host, vm: Vm, sign: 1 | -1): void {
  host.usedVcpus += sign * vm.vcpus;
  host.usedMemoryGiB += sign * vm.memoryGiB;
  host.usedDiskGiB += sign * localDiskGiB(vm);
}

/** A VM that stops or is gone takes its migration with it: the destination is released. */
function cancelMigration(world: World, vm: Vm): void {
  if (vm.migration === null) return;
  const to = world.hosts.get(vm.migration.to)!;
  addUsage(to, vm, -1);
  to.incoming.delete(vm.id);
  vm.migration = null;
}

function reserve(host: Host, vm: Vm): void {
  addUsage(host, vm, 1);
  host.vms.add(vm.id);
  vm.host = host.id;
}

function release(world: World, vm: Vm): void {
  addUsage(world.hosts.get(vm.host!)!, vm, -1);
  world.hosts.get(vm.host!)!.vms.delete(vm.id);
  vm.host = null;
}

function hostIn(world: World, event: DomainEvent, id: string): Host {
  const host = world.hosts.get(id);
  if (!host) throw new EvolveError(event, `unknown host ${id}`);
  return host;
}

function volumeIn(world: World, event: DomainEvent, id: string) {
  const volume = world.volumes.get(id);
  if (!volume) throw new EvolveError(event, `unknown volume ${id}`);
  return volume;
}

function vmIn(world: World, event: DomainEvent, id: string): Vm {
  const vm = world.vms.get(id);
  if (!vm) throw new EvolveError(event, `unknown VM ${id}`);
  return vm;
}

function unreachable(event: never): never {
  const e = event as DomainEvent;
  throw new EvolveError(e, `unknown event type ${JSON.stringify(e.type)}`);
}
