import type { ClusterPort } from "../../controller/port.js";
import type { Distribution } from "../../kernel/distributions.js";
import type { TimerId } from "../../kernel/scheduler.js";
import type { Random } from "../../kernel/random.js";
import { msToHours } from "../../kernel/time.js";
import type { DomainEvent, DomainEventBody, MigrationMode, PowerOffReason } from "../../model/events.js";
import { hostDownConsequences, migrationAborts } from "../../model/host-down.js";
import { hostsDownedBy, localDiskGiB, type World } from "../../model/world.js";
import { coldMigrationMs, liveMigration, migrationShareMiBps, type MigrationConfig } from "../../migration/migration-model.js";
import type { VolumeStorage } from "./storage/volume-storage.js";
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
 *
 * A host switched off (idle, maintenance, fencing) does to its VMs what a failure does. A
 * migration ends after the time its model gives (pre-copy for live, the disk copy for cold),
 * unless an end goes down first: then it is aborted, before the host's VMs go down. An isolated
 * host keeps its VMs running — unless its isolation response is `powerOff`, which stops them
 * once the host notices; a VM the controller restarts elsewhere while it still runs on an
 * isolated host is a split brain.
 */
export interface InfrastructureConfig {
  migration: MigrationConfig;
  /** Dirty rate of a VM's memory (MiB/s), drawn per live migration from the `migration` stream. */
  dirtyRateMiBps: Distribution;
  hostBootMs: number;
  /** persistent-ha isolation response: after `isolationDetectionMs` an isolated host stops its VMs. */
  isolationPowerOff: boolean;
  isolationDetectionMs: number;
}

export class SimulatedInfrastructure implements ClusterPort {
  readonly world: World;
  /**
   * The timer that ends each VM's migration in flight, cancelled when the migration ends first.
   * What the migration is (ends, mode, start) is read from the world.
   */
  private readonly migrationTimers = new Map<string, TimerId>();
  private tokens = 0;
  private readonly powerOn = new Map<string, number>();
  private readonly isolations = new Map<string, number>();

  constructor(
    private readonly sim: Simulation,
    private readonly provisioning: Provisioning,
    private readonly storage: VolumeStorage | null,
    private readonly config: InfrastructureConfig,
    private readonly random: Random,
  ) {
    this.world = sim.world;
  }

  get now(): number {
    return this.sim.scheduler.now;
  }

  after(delayMs: number, callback: () => void): void {
    this.sim.scheduler.after(delayMs, runCallback, callback);
  }

  record(body: DomainEventBody): void {
    this.sim.emit(body);
  }

  canCreateVolume(sizeGiB?: number): boolean {
    return this.storage?.canCreateVolume(sizeGiB) ?? true;
  }

  startVm(vmId: string, hostId: string): void {
    const vm = this.world.vms.get(vmId)!;
    // Still running on a host the controller cannot reach: now there are two.
    if ((vm.state === "running" || vm.state === "booting") && this.world.hosts.get(vm.host!)!.isolated) {
      this.sim.emit({ type: "splitBrain", vm: vmId, host: vm.host! });
    }
    if (vm.disk === "volume" && vm.volume === null) this.storage!.createVolume(vmId, hostId);
    // The replacement of a lost VM (it ran before, and its state is gone) restores it after booting.
    const restoreMs = vm.startedAt !== null && vm.dataSince === null ? this.provisioning.restoreMs(vm.diskGiB) : 0;
    const bootMs = this.provisioning.bootMs(vm.disk, hostId) + restoreMs;
    this.sim.emit({ type: "vmPlaced", vm: vmId, host: hostId, bootMs, ...(restoreMs > 0 ? { restoreMs } : {}) });
    this.scheduleStart(vmId, bootMs);
  }

  rebootVm(vmId: string): void {
    const vm = this.world.vms.get(vmId)!;
    const bootMs = this.provisioning.bootMs(vm.disk, vm.host!);
    this.sim.emit({ type: "vmRebooted", vm: vmId, bootMs });
    this.scheduleStart(vmId, bootMs);
  }

  stopVm(vmId: string): void {
    this.sim.emit({ type: "vmDown", vm: vmId, cause: "stopped" });
  }

  migrateVm(vmId: string, to: string, mode: MigrationMode): void {
    const vm = this.world.vms.get(vmId)!;
    const from = vm.host!;
    const config = this.config.migration;
    const share = migrationShareMiBps(config, this.migrationsFrom(from), this.world.hosts.get(to)!.incoming.size);
    // A VM has one migration at a time: one that ended before its timer and before this reaction
    // saw it end (the controller may react first, to an earlier event of the same cascade) loses
    // its timer now, or it would finish the new migration (issue 19's drain tests found it).
    this.endMigration(vmId);
    this.sim.emit({ type: "migrationStarted", vm: vmId, from, to, mode });
    if (mode === "cold") {
      const diskGiB = localDiskGiB(vm);
      const ms = Math.round(coldMigrationMs(diskGiB, share));
      this.migrationTimers.set(vmId, this.sim.scheduler.after(ms, () => {
        this.migrationTimers.delete(vmId);
        this.sim.emit({ type: "migrationFinished", vm: vmId, downtimeMs: ms, transferredGiB: diskGiB });
        const bootMs = this.provisioning.bootMs(vm.disk, to);
        this.scheduleStart(vmId, bootMs);
      }, null));
      return;
    }
    const result = liveMigration(config, vm.memoryGiB, this.config.dirtyRateMiBps.sample(this.random), share);
    const abort = !result.converged && config.abortOnNonConvergence;
    const ms = Math.round(abort ? result.totalMs - result.downtimeMs : result.totalMs);
    this.migrationTimers.set(vmId, this.sim.scheduler.after(ms, () => {
      this.migrationTimers.delete(vmId);
      if (abort) this.sim.emit({ type: "migrationAborted", vm: vmId, reason: "notConverging" });
      else this.sim.emit({ type: "migrationFinished", vm: vmId, downtimeMs: Math.round(result.downtimeMs), transferredGiB: result.sentMiB / 1024 });
    }, null));
  }

  /** Migrations under way out of a host (its VMs that are migrating). */
  private migrationsFrom(hostId: string): number {
    let n = 0;
    for (const id of this.world.hosts.get(hostId)!.vms) if (this.world.vms.get(id)!.migration !== null) n++;
    return n;
  }

  powerOffHost(hostId: string, reason: PowerOffReason): void {
    this.sim.emit({ type: "hostPoweredOff", host: hostId, reason });
  }

  powerOnHost(hostId: string): void {
    const token = ++this.tokens;
    this.powerOn.set(hostId, token);
    this.sim.scheduler.after(this.config.hostBootMs, () => {
      if (this.powerOn.get(hostId) === token && this.world.hosts.get(hostId)!.poweredOff !== null) {
        this.powerOn.delete(hostId);
        this.sim.emit({ type: "hostPoweredOn", host: hostId });
      }
    }, null);
  }

  /** A migration that ended before its timer (aborted, or gone with its VM): its timer is cancelled. */
  private endMigration(vmId: string): void {
    const timer = this.migrationTimers.get(vmId);
    if (timer === undefined) return;
    this.migrationTimers.delete(vmId);
    this.sim.scheduler.cancel(timer);
  }

  /** An isolated host with the `powerOff` response stops its VMs once it notices it is cut off. */
  private isolated(hostId: string): void {
    if (!this.config.isolationPowerOff) return;
    const token = ++this.tokens;
    this.isolations.set(hostId, token);
    this.sim.scheduler.after(this.config.isolationDetectionMs, () => {
      const host = this.world.hosts.get(hostId)!;
      if (this.isolations.get(hostId) !== token || !host.isolated || !host.up) return;
      for (const body of migrationAborts(this.world, host)) this.sim.emit(body);
      for (const vmId of [...host.vms]) {
        const state = this.world.vms.get(vmId)!.state;
        if (state === "running" || state === "booting") this.stopVm(vmId);
      }
    }, null);
  }

  /** Reaction: what a host going down, or a volume lost, does to VMs. */
  react(event: DomainEvent): void {
    switch (event.type) {
      case "migrationFinished":
      case "migrationAborted":
      case "vmDown":
      case "vmLost":
      case "vmTerminated":
        if (this.world.vms.get(event.vm)?.migration == null) this.endMigration(event.vm);
        return;
      case "hostIsolated":
        if (this.world.serviceModel === "persistent-ha") this.isolated(event.host);
        return;
      case "hostReconnected":
        this.isolations.delete(event.host);
        return;
    }
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
    for (const host of hostsDownedBy(this.world, event)) {
      for (const body of hostDownConsequences(this.world, host, event.t)) this.sim.emit(body);
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
