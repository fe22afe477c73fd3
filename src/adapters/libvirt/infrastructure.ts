import { execFile } from "node:child_process";
import type { ClusterPort } from "../../controller/port.js";
import type { DomainEvent, DomainEventBody, MigrationAbortReason, MigrationMode, PowerOffReason } from "../../model/events.js";
import { hostDownConsequences } from "../../model/host-down.js";
import { hostsBroughtUpBy, hostsDownedBy, type World } from "../../model/world.js";
import { CephStorageEvents } from "./ceph-storage.js";
import { CephVolumes, diskModel, execRunner, GUEST_CMDLINE, GUEST_MIN_MEMORY_MIB, HostFiles, serialLogPath, type AttachedDisk } from "./disks.js";
import { domainXml, type DomainSpec } from "./domain-xml.js";
import { GuestConsoles, type ConsoleLine } from "./guest-console.js";
import { HostMonitor, type LifecycleEvent } from "./host-monitor.js";
import { LibvirtHost, type HostCapacity } from "./host.js";
import { inventoryHost, type Inventory } from "./inventory.js";
import type { EventLog } from "../../model/event-log.js";
import { checkName } from "./names.js";
import { displayCommand, VirshError, type Virsh } from "./virsh.js";
import { type LongTimer, setLongTimeout, sleep, type Timers } from "./wall-clock.js";

export interface LibvirtAdapterOptions {
  inventory: Inventory;
  virsh: Virsh;
  log: EventLog;
  /** Written into each domain's metadata (`run="…"`): which run created it. */
  runTag: string;
  /** The boot time recorded in `vmPlaced`/`vmRebooted` (the modelled value; the real start is when `vmStarted` comes). */
  bootMs: number;
  /** Warnings and errors (a command that failed, a domain that stopped on its own). */
  report?: (line: string) => void;
  /** The wall-clock timers (default Node's; tests pass a manual clock). */
  timers?: Timers;
  /** A VM stalled longer than this by a storage outage is booted again rather than resumed (the scenario's `storage.guestTimeoutSeconds`; default 180 s). */
  guestTimeoutMs?: number;
}

/** Where a command found a problem that the run should fail for, kept for the caller. */
export interface AdapterProblem {
  t: number;
  message: string;
}

/**
 * The libvirt adapter: carries out the controller's commands on real hosts through `virsh`, and
 * turns what it observes into the same domain events as the simulated adapter, stamped with
 * wall-clock time into the same log.
 *
 * - `startVm`: `vmPlaced` at once, then `define` (our XML, fed on stdin) and `start` on the host;
 *   `vmStarted` when libvirt reports the domain running (`virsh start` returns once it runs).
 * - `rebootVm`: `vmRebooted`, `start` where the domain is defined, `vmStarted`.
 * - `stopVm`: graceful shutdown for `shutdownGraceMs`, then `destroy`; `vmDown` (stopped).
 * - `migrateVm` live: `migrationStarted`, `virsh migrate --live --persistent --undefinesource`
 *   (QEMU's stream to the destination's `migrationAddress`), then `migrationFinished` with the
 *   downtime and bytes the destination's `domjobinfo --completed` reports, or `migrationAborted`.
 *   Cold: destroy, `migrate --offline --persistent --undefinesource`, `migrationFinished`, start
 *   on the destination, `vmStarted`.
 * - `powerOffHost`/`powerOnHost`: only with a `fence` command in the inventory (a PDU, IPMI, or
 *   the test bed's kill/restart); otherwise refused, and said so (no event).
 * - Host liveness (`HostMonitor`): a host whose daemon is gone (connection refused or closed)
 *   becomes `hostFailed` (crash) — and its VMs `vmDown`, as in the simulation; one that does not
 *   answer within the probe timeout becomes `hostIsolated` (its VMs may still run); `hostRepaired`
 *   / `hostReconnected` when it answers again, after which the domains it still has for VMs that
 *   now live elsewhere are destroyed and undefined.
 * - A domain of ours that stops without a command of ours (the guest powered off, QEMU died):
 *   `vmDown` (stopped).
 *
 * Safety: every command goes to a host of the inventory, names are checked before they reach
 * virsh, and every destructive command first checks the domain's metadata (`LibvirtHost`).
 */
export class LibvirtInfrastructure implements ClusterPort {
  readonly world: World;
  readonly hosts = new Map<string, LibvirtHost>();
  readonly capacity = new Map<string, HostCapacity>();
  readonly problems: AdapterProblem[] = [];
  private readonly monitors = new Map<string, HostMonitor>();
  private readonly log: EventLog;
  private readonly inventory: Inventory;
  private readonly report: (line: string) => void;
  /** The hosts each VM's domain is defined on (more than one after a restart elsewhere, until cleaned up). */
  private readonly definedOn = new Map<string, Set<string>>();
  /** The run tag of each adopted VM's domain (left by an earlier `live --keep`). */
  private readonly adoptedFrom = new Map<string, string>();
  /** Per VM, the chain of its commands: one at a time. */
  private readonly chains = new Map<string, Promise<void>>();
  /** VMs with a command under way: their lifecycle events are ours, not news. */
  private readonly busy = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Set<LongTimer>();
  /** Hosts being fenced or powered on by us: the monitor's view of them is expected. */
  private readonly powering = new Set<string>();
  /** With a guest in the inventory: the VMs' disks (RBD images, host files) and consoles. */
  readonly ceph: CephVolumes | null;
  /** With Ceph in the inventory: the cluster's state read as events (volumes, OSDs as disks, outages). */
  readonly cephEvents: CephStorageEvents | null;
  private readonly files: HostFiles;
  private readonly consoles: GuestConsoles;
  /** Per VM, the hosts whose directory holds a disk file of it (vps disk, ephemeral overlay). */
  private readonly filesOn = new Map<string, Set<string>>();
  /** VMs that have an RBD image made by this run. */
  private readonly images = new Set<string>();
  /** The last tick each VM's guest printed (wall-clock ms of the log): its I/O goes on. */
  readonly lastTick = new Map<string, number>();
  private closed = false;

  constructor(private readonly options: LibvirtAdapterOptions) {
    this.log = options.log;
    this.world = options.log.world;
    this.inventory = options.inventory;
    this.report = options.report ?? ((line) => process.stderr.write(`${line}\n`));
    for (const config of options.inventory.hosts) this.hosts.set(config.name, new LibvirtHost(config, options.inventory, options.virsh, (vm, run) => this.ownsRun(vm, run)));
    const runner = execRunner(options.virsh.dryRun);
    this.ceph = options.inventory.ceph ? new CephVolumes(options.inventory.ceph, runner, options.inventory.commandTimeoutMs) : null;
    this.cephEvents = options.inventory.ceph
      ? new CephStorageEvents(options.inventory.ceph, this.world, (body) => this.log.emit(body), runner, {
          commandTimeoutMs: options.inventory.commandTimeoutMs,
          guestTimeoutMs: options.guestTimeoutMs ?? 180_000,
          report: this.report,
          timers: options.timers,
        })
      : null;
    this.files = new HostFiles(runner, options.inventory.commandTimeoutMs);
    this.consoles = new GuestConsoles(250, (line) => this.guestSays(line));
    options.log.onEvent((event) => this.react(event));
  }

  /** A host of the inventory; any other is refused. */
  host(name: string): LibvirtHost {
    const host = this.hosts.get(name);
    if (host) return host;
    inventoryHost(this.inventory, name); // throws: not in the inventory
    throw new Error(`host ${name} is not in the inventory`);
  }

  /**
   * Discovers every host's capacity and emits `hostAdded` for each (capacity from the inventory
   * where it says, else what libvirt reports); a host that does not answer is added from the
   * inventory's capacity and failed at once, or refused if the inventory gives none.
   */
  async addHosts(): Promise<void> {
    const found = await Promise.all(
      [...this.hosts.values()].map(async (host) => {
        try {
          return { host, caps: await host.discover(), error: null };
        } catch (error) {
          return { host, caps: null, error: error as Error };
        }
      }),
    );
    for (const { host, caps, error } of found) {
      const c = host.config;
      if (caps) this.capacity.set(host.name, caps);
      if (caps === null && (c.vcpus === null || c.memoryGiB === null)) throw new Error(`${host.name}: does not answer (${error!.message}) and the inventory gives no vcpus/memoryGiB`);
      if (caps && !caps.domainTypes.includes(c.domainType)) this.problem(`${host.name}: cannot run domains of type ${c.domainType} (it offers ${caps.domainTypes.join(", ") || "none"})`);
      this.log.emit({
        type: "hostAdded",
        host: host.name,
        rack: c.rack,
        vcpus: c.vcpus ?? caps!.cpus,
        memoryGiB: c.memoryGiB ?? caps!.memoryKiB / 1024 ** 2,
        diskGiB: c.diskGiB ?? 1024,
        disks: this.cephEvents?.disksOf(host.name) ?? 1,
      });
      if (caps === null) this.log.emit({ type: "hostFailed", host: host.name, cause: "crash" });
    }
    // The cluster's first reading (OSDs down already, the pool's size) before any VM is placed.
    if (this.cephEvents && !this.options.virsh.dryRun) await this.cephEvents.pollOnce().catch((error: Error) => this.report(`Ceph: first reading failed: ${error.message}`));
  }

  /**
   * Whether a domain of `vm` tagged with run `run` is this run's: one it created, or the one it
   * adopted for that VM. Domains of other runs are never touched (disks, by contrast, belong to
   * their VM across runs: a persistent disk outlives the run that made it).
   */
  private ownsRun(vm: string, run: string): boolean {
    return run === this.options.runTag || this.adoptedFrom.get(vm) === run;
  }

  /**
   * Takes into the world the domains of ours already running on the hosts (left by an earlier
   * `live --keep`): each becomes a VM requested, placed and started where it runs.
   */
  async adoptRunningDomains(): Promise<string[]> {
    const adopted: string[] = [];
    for (const host of this.hosts.values()) {
      if (!this.world.hosts.get(host.name)?.up) continue;
      for (const domain of await host.ownedDomains()) {
        if (domain.state !== "running" || this.world.vms.has(domain.vm)) continue;
        const info = await this.options.virsh.run(host.uri, ["dominfo", domain.name], { timeoutMs: this.inventory.commandTimeoutMs });
        const vcpus = Number(/^CPU\(s\):\s*(\d+)/m.exec(info)?.[1] ?? 1);
        const memoryKiB = Number(/^Max memory:\s*(\d+)\s*KiB/m.exec(info)?.[1] ?? 65536);
        this.log.emit({ type: "vmRequested", vm: domain.vm, vcpus, memoryGiB: memoryKiB / 1024 ** 2, diskGiB: 1, lifetimeHours: null });
        this.log.emit({ type: "vmPlaced", vm: domain.vm, host: host.name, bootMs: 0 });
        this.log.emit({ type: "vmStarted", vm: domain.vm });
        this.defined(domain.vm).add(host.name);
        this.adoptedFrom.set(domain.vm, domain.run);
        adopted.push(domain.vm);
      }
    }
    return adopted;
  }

  /**
   * A run resumed from its stored log (issue 19): asks every host that answers for the domains of
   * this run (its run tag), remembers where each VM's domain is defined (shut off ones too: they
   * are removed at the end), and returns, per answering host, the VMs whose domain runs there
   * (running or paused) for `reconcile`. With Ceph and persistent-ha every VM of the world has its
   * image (made by this run before the controller died).
   */
  async hostReports(): Promise<{ host: string; domains: string[] }[]> {
    const reports: { host: string; domains: string[] }[] = [];
    for (const host of this.hosts.values()) {
      let owned;
      try {
        owned = await host.ownedDomains();
      } catch (error) {
        this.report(`${host.name}: does not answer (${(error as Error).message}): left to its monitor`);
        continue;
      }
      const running: string[] = [];
      for (const domain of owned) {
        if (!this.ownsRun(domain.vm, domain.run)) continue;
        this.defined(domain.vm).add(host.name);
        if (domain.state === "running" || domain.state === "paused") running.push(domain.vm);
      }
      reports.push({ host: host.name, domains: running });
    }
    if (this.ceph && this.world.serviceModel === "persistent-ha") for (const id of this.world.vms.keys()) this.images.add(id);
    return reports;
  }

  /**
   * Waits (at most the inventory's migration timeout) until no migration the log has in flight is
   * still running on its source: a `virsh migrate` the dead controller started goes on without it,
   * and the hosts are to be asked what runs where once it has ended either way.
   */
  async migrationsSettled(): Promise<void> {
    const until = Date.now() + this.inventory.migrateTimeoutMs;
    for (const [id, vm] of [...this.world.vms].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (vm.migration === null || vm.host === null) continue;
      const source = this.host(vm.host);
      while (Date.now() < until && (await source.jobActive(source.domainName(id)))) await sleep(250);
    }
  }

  /** Destroys and undefines a domain of this run that the world does not account for (`reconcile`'s stale ones). */
  removeStale(hostId: string, vmId: string): void {
    const host = this.host(hostId);
    const domain = host.domainName(vmId);
    this.op(vmId, `remove the stale ${domain} on ${hostId}`, async () => {
      this.report(`${hostId}: ${domain} runs there although the log does not account for it: destroyed`);
      if ((await host.domstate(domain)) !== "shut off") await host.destroy(domain, vmId);
      await host.undefine(domain, vmId);
      this.definedOn.get(vmId)?.delete(hostId);
    });
  }

  /** Starts watching every host (and the Ceph cluster). */
  startMonitors(): void {
    if (this.cephEvents && !this.options.virsh.dryRun) this.cephEvents.start();
    for (const host of this.hosts.values()) {
      const monitor = new HostMonitor(host, this.inventory.probeIntervalMs, {
        up: (name) => this.hostAnswers(name),
        down: (name, why, kind) => this.hostSilent(name, why, kind),
        lifecycle: (name, event) => this.lifecycle(name, event),
      });
      this.monitors.set(host.name, monitor);
      monitor.start();
    }
  }

  // ---- the port ----

  get now(): number {
    return this.log.now;
  }

  after(delayMs: number, callback: () => void): void {
    if (this.closed) return;
    const timer = setLongTimeout(() => {
      this.timers.delete(timer);
      if (this.closed) return;
      try {
        callback();
      } catch (error) {
        this.problem(`a timer's callback failed: ${(error as Error).stack ?? String(error)}`);
      }
    }, delayMs, this.options.timers);
    this.timers.add(timer);
  }

  record(body: DomainEventBody): void {
    this.log.emit(body);
  }

  /** Without Ceph the adapter makes no volumes (disk-less guests): nothing to wait for; with it, not while the pool serves no I/O. */
  canCreateVolume(): boolean {
    return this.cephEvents?.canCreateVolume() ?? true;
  }

  startVm(vmId: string, hostId: string): void {
    const host = this.host(hostId);
    const domain = host.domainName(vmId);
    const vm = this.world.vms.get(vmId)!;
    // Still running on a host that cannot be reached: now there are two.
    if ((vm.state === "running" || vm.state === "booting") && vm.host !== null && this.world.hosts.get(vm.host)!.isolated) {
      this.log.emit({ type: "splitBrain", vm: vmId, host: vm.host });
    }
    // Its RBD image is its volume (made at the first boot, below): in the log before the placement, as in the simulation.
    if (this.cephEvents && vm.disk === "volume" && vm.volume === null) this.cephEvents.createVolume(vmId, this.imageName(vmId));
    this.log.emit({ type: "vmPlaced", vm: vmId, host: hostId, bootMs: this.options.bootMs });
    const boots = vm.boots;
    this.op(vmId, `start ${vmId} on ${hostId}`, async () => {
      await this.defineOn(host, vmId);
      await this.bootDomain(host, domain, vmId);
      if (this.booting(vmId, boots, hostId)) this.log.emit({ type: "vmStarted", vm: vmId });
    }, () => this.bootFailed(vmId, boots, hostId));
  }

  /** Defines the VM's domain (our XML, with its disk if there is a guest) on a host. */
  private async defineOn(host: LibvirtHost, vmId: string): Promise<void> {
    const vm = this.world.vms.get(vmId)!;
    const spec: DomainSpec = {
      name: host.domainName(vmId),
      vm: vmId,
      run: this.options.runTag,
      vcpus: vm.vcpus,
      memoryMiB: Math.max(16, Math.round(vm.memoryGiB * 1024)),
      domainType: host.config.domainType,
    };
    await host.define(spec.name, vmId, domainXml(this.inventory.guest ? await this.withGuestDisk(spec, host) : spec));
    this.defined(vmId).add(host.name);
  }

  rebootVm(vmId: string): void {
    const vm = this.world.vms.get(vmId)!;
    const host = this.host(vm.host!);
    this.log.emit({ type: "vmRebooted", vm: vmId, bootMs: this.options.bootMs });
    const boots = vm.boots;
    this.op(vmId, `reboot ${vmId} on ${host.name}`, async () => {
      // Not defined there (a resumed run whose dead controller had placed it but not yet defined it): define it first.
      if (!this.definedOn.get(vmId)?.has(host.name)) await this.defineOn(host, vmId);
      await this.bootDomain(host, host.domainName(vmId), vmId);
      if (this.booting(vmId, boots, host.name)) this.log.emit({ type: "vmStarted", vm: vmId });
    }, () => this.bootFailed(vmId, boots, host.name));
  }

  stopVm(vmId: string): void {
    const vm = this.world.vms.get(vmId)!;
    const host = this.host(vm.host!);
    this.op(vmId, `stop ${vmId} on ${host.name}`, async () => {
      await host.shutdown(host.domainName(vmId), vmId, this.inventory.shutdownGraceMs);
      const now = this.world.vms.get(vmId);
      if (now && now.host === host.name && (now.state === "running" || now.state === "booting")) this.log.emit({ type: "vmDown", vm: vmId, cause: "stopped" });
    });
  }

  migrateVm(vmId: string, to: string, mode: MigrationMode): void {
    const vm = this.world.vms.get(vmId)!;
    const source = this.host(vm.host!);
    const destination = this.host(to);
    const domain = source.domainName(vmId);
    this.log.emit({ type: "migrationStarted", vm: vmId, from: source.name, to, mode });
    const started = this.log.now;
    const current = () => this.world.vms.get(vmId)?.migration?.to === to;
    this.op(vmId, `migrate ${vmId} ${source.name} → ${to} (${mode})`, async () => {
      try {
        if (mode === "live") {
          const stats = await source.migrateLive(domain, vmId, destination, this.inventory.migrateTimeoutMs);
          this.defined(vmId).delete(source.name);
          this.defined(vmId).add(to);
          this.consoles.moved(vmId, to);
          if (current()) this.log.emit({ type: "migrationFinished", vm: vmId, downtimeMs: finite(stats.downtimeMs), transferredGiB: finite(stats.transferredBytes) / 1024 ** 3 });
          return;
        }
        await source.shutdown(domain, vmId, this.inventory.shutdownGraceMs);
        await source.migrateOffline(domain, vmId, destination);
        this.defined(vmId).delete(source.name);
        this.defined(vmId).add(to);
        if (!current()) return;
        this.log.emit({ type: "migrationFinished", vm: vmId, downtimeMs: this.log.now - started, transferredGiB: 0 });
        const boots = this.world.vms.get(vmId)!.boots;
        await this.bootDomain(destination, domain, vmId);
        if (this.booting(vmId, boots, to)) this.log.emit({ type: "vmStarted", vm: vmId });
      } catch (error) {
        if (current()) this.log.emit({ type: "migrationAborted", vm: vmId, reason: await this.abortReason(source.name, to) });
        throw error;
      }
    });
  }

  powerOffHost(hostId: string, reason: PowerOffReason): void {
    const host = this.host(hostId);
    const fence = host.config.fence;
    if (fence === null) {
      this.problem(`cannot power off ${hostId} (${reason}): the inventory gives no fence command for it; refused`);
      return;
    }
    this.powering.add(hostId);
    this.track(
      this.runFence(hostId, fence.off)
        .then(() => {
          if (this.world.hosts.get(hostId)!.poweredOff === null) this.log.emit({ type: "hostPoweredOff", host: hostId, reason });
        })
        .catch((error: Error) => this.problem(`power off ${hostId}: ${error.message}`))
        .finally(() => this.powering.delete(hostId)),
    );
  }

  powerOnHost(hostId: string): void {
    const host = this.host(hostId);
    const fence = host.config.fence;
    if (fence === null) {
      this.problem(`cannot power on ${hostId}: the inventory gives no fence command for it; refused`);
      return;
    }
    this.powering.add(hostId);
    this.track(
      (async () => {
        await this.runFence(hostId, fence.on);
        // Booted when the daemon answers.
        const until = Date.now() + this.inventory.startTimeoutMs;
        for (;;) {
          try {
            await host.probe();
            break;
          } catch (error) {
            if (Date.now() > until) throw error;
            await sleep(200);
          }
        }
        if (this.world.hosts.get(hostId)!.poweredOff !== null) this.log.emit({ type: "hostPoweredOn", host: hostId });
      })()
        .catch((error: Error) => this.problem(`power on ${hostId}: ${error.message}`))
        .finally(() => this.powering.delete(hostId)),
    );
  }

  // ---- failure injection (the test bed's `failures.trace`) ----

  /**
   * Cuts a host's power with its fence command *without* telling the world: the monitor has to
   * notice, as it would a real crash. Returns when the command has run.
   */
  async injectFailure(hostId: string): Promise<void> {
    const fence = this.host(hostId).config.fence;
    if (fence === null) throw new Error(`cannot fail ${hostId}: the inventory gives no fence command for it`);
    await this.runFence(hostId, fence.off);
  }

  /**
   * Stops (`failed`) or starts again the OSD that stands for disk `host/disk` (a `disk` row of
   * `failures.trace`) with the inventory's command, without telling the world: the cluster's
   * poll has to notice, as it would a real OSD going down.
   */
  async injectOsd(target: string, action: "stop" | "start"): Promise<void> {
    const [hostId, disk] = target.split("/");
    const osd = this.cephEvents?.osdOf(hostId!, Number(disk ?? 0));
    if (!this.cephEvents || !osd) throw new Error(`cannot ${action} disk ${target}: no OSD of storage.ceph.osds in ${this.inventory.file} stands for it`);
    await this.cephEvents.injectOsd(osd, action);
  }

  async injectRepair(hostId: string): Promise<void> {
    const fence = this.host(hostId).config.fence;
    if (fence === null) throw new Error(`cannot repair ${hostId}: the inventory gives no fence command for it`);
    await this.runFence(hostId, fence.on);
  }

  // ---- reactions ----

  /** What a host going down does to its VMs (as the simulated adapter); a host back is cleaned up. */
  react(event: DomainEvent): void {
    this.cephEvents?.react(event);
    if (event.type === "vmTerminated") {
      this.removeEverywhere(event.vm);
      return;
    }
    for (const host of hostsDownedBy(this.world, event)) {
      for (const body of hostDownConsequences(this.world, host, event.t)) this.log.emit(body);
    }
    for (const host of hostsBroughtUpBy(this.world, event)) this.track(this.cleanUp(host.id));
  }

  /**
   * A host that stops answering. Refused (the daemon is gone, its connection closed): it failed —
   * `hostFailed`, and its VMs are down. No answer within the probe timeout: it may be hung or cut
   * off with its VMs still running, so it is only `hostIsolated`; the controller fences it (if
   * the scenario says so and the inventory gives a fence command) before restarting its VMs, or
   * restarts them anyway — a split brain, recorded as such.
   */
  private hostSilent(hostId: string, why: string, kind: "timeout" | "refused"): void {
    const host = this.world.hosts.get(hostId);
    if (!host || this.closed) return;
    this.report(`${hostId}: not answering (${kind}: ${why})`);
    if (host.poweredOff !== null || this.powering.has(hostId)) return;
    if (kind === "timeout") {
      if (host.up && !host.isolated) this.log.emit({ type: "hostIsolated", host: hostId });
    } else if (host.failure === null) {
      this.log.emit({ type: "hostFailed", host: hostId, cause: "crash" });
    }
  }

  private hostAnswers(hostId: string): void {
    const host = this.world.hosts.get(hostId);
    if (!host || this.closed) return;
    if (host.failure !== null) {
      this.report(`${hostId}: answering again`);
      this.log.emit({ type: "hostRepaired", host: hostId });
    }
    if (this.world.hosts.get(hostId)!.isolated) {
      this.report(`${hostId}: reachable again`);
      this.log.emit({ type: "hostReconnected", host: hostId });
      this.track(this.cleanUp(hostId));
    }
  }

  /** A lifecycle event of a domain of ours that no command of ours explains: the VM stopped on its own. */
  private lifecycle(hostId: string, event: LifecycleEvent): void {
    if (this.closed || (event.event !== "Stopped" && event.event !== "Crashed")) return;
    const prefix = this.inventory.domainPrefix;
    if (!event.domain.startsWith(prefix)) return;
    const vmId = event.domain.slice(prefix.length);
    const vm = this.world.vms.get(vmId);
    if (!vm || vm.host !== hostId || this.busy.has(vmId) || (vm.state !== "running" && vm.state !== "booting")) return;
    if (event.detail === "Migrated") return;
    // Only if the host is still there: a dying daemon's QEMUs are the host's failure, not the VM's.
    this.track(
      this.host(hostId)
        .probe()
        .then(() => {
          const now = this.world.vms.get(vmId);
          if (!now || now.host !== hostId || this.busy.has(vmId) || (now.state !== "running" && now.state !== "booting")) return;
          this.report(`${vmId}: its domain on ${hostId} stopped on its own (${event.event} ${event.detail})`);
          this.log.emit({ type: "vmDown", vm: vmId, cause: "stopped" });
        })
        .catch(() => void this.monitors.get(hostId)?.checkNow()),
    );
  }

  /**
   * A host answers again: destroy and undefine the domains of this run it still has for VMs that
   * are now elsewhere or gone (they were restarted elsewhere while it was away).
   */
  private async cleanUp(hostId: string): Promise<void> {
    const host = this.host(hostId);
    let owned;
    try {
      owned = await host.ownedDomains();
    } catch (error) {
      this.report(`${hostId}: cannot list its domains after it came back (${(error as Error).message})`);
      return;
    }
    for (const domain of owned) {
      if (!this.ownsRun(domain.vm, domain.run)) continue;
      const vm = this.world.vms.get(domain.vm);
      if (vm && (vm.host === hostId || vm.migration?.to === hostId)) continue;
      this.op(domain.vm, `clean up ${domain.name} on ${hostId}`, async () => {
        if (domain.state === "running" || domain.state === "paused") {
          this.report(`${hostId}: ${domain.name} still ran there although its VM is ${vm ? `on ${vm.host}` : "gone"}: destroyed`);
          await host.destroy(domain.name, domain.vm);
        }
        await host.undefine(domain.name, domain.vm);
        this.definedOn.get(domain.vm)?.delete(hostId);
        // An instance store does not outlive its instance; a vps disk stays with its (assigned) VM.
        if (this.world.serviceModel === "ephemeral" || !vm) this.removeFile(domain.vm, hostId);
      });
    }
  }

  /** A VM no longer wanted: its domains are destroyed and undefined wherever they are defined, then its disks deleted. */
  private removeEverywhere(vmId: string): void {
    for (const hostId of [...(this.definedOn.get(vmId) ?? [])]) {
      const host = this.host(hostId);
      const domain = host.domainName(vmId);
      this.op(vmId, `remove ${domain} from ${hostId}`, async () => {
        const state = await host.domstate(domain).catch(() => "unknown");
        if (state === "running" || state === "paused") await host.destroy(domain, vmId);
        await host.undefine(domain, vmId);
        this.definedOn.get(vmId)?.delete(hostId);
      });
    }
    this.consoles.unwatch(vmId);
    for (const hostId of [...(this.filesOn.get(vmId) ?? [])]) this.op(vmId, `remove ${vmId}'s disk on ${hostId}`, async () => this.removeFile(vmId, hostId));
    if (this.images.has(vmId) && this.ceph) {
      const ceph = this.ceph;
      const image = this.imageName(vmId);
      this.op(vmId, `remove ${vmId}'s RBD image ${image}`, async () => {
        await ceph.remove(image, vmId);
        this.images.delete(vmId);
      });
    }
  }

  /**
   * Destroys and undefines every domain of this run on every host that answers (the end of a
   * run, unless its VMs are to be kept).
   */
  async removeAll(): Promise<void> {
    await this.settle();
    for (const vmId of new Set([...this.definedOn.keys(), ...this.filesOn.keys(), ...this.images])) this.removeEverywhere(vmId);
    await this.settle();
  }

  // ---- the guest and its disks (with a guest in the inventory) ----

  /** The RBD image of a VM: named like its domains. */
  private imageName(vmId: string): string {
    return `${this.inventory.domainPrefix}${checkName("VM", vmId)}`;
  }

  /** The domain spec with the tiny guest's kernel and console, and the VM's disk of its service model, made if need be. */
  private async withGuestDisk(spec: DomainSpec, host: LibvirtHost): Promise<DomainSpec> {
    const guest = this.inventory.guest!;
    if (spec.memoryMiB < GUEST_MIN_MEMORY_MIB) throw new Error(`${spec.vm}: the guest needs at least ${GUEST_MIN_MEMORY_MIB} MiB (64 MiB boots silently into nothing), the VM asks for ${spec.memoryMiB} MiB`);
    const kind = diskModel(this.world.serviceModel!);
    let disk: AttachedDisk;
    if (kind === "rbd") {
      if (!this.ceph) throw new Error(`${spec.vm}: persistent-ha VMs need a Ceph cluster (storage.ceph in ${this.inventory.file})`);
      disk = await this.ceph.ensure(this.imageName(spec.vm), spec.vm, this.options.runTag, guest.baseImage);
      this.images.add(spec.vm);
    } else {
      const dir = host.config.dir;
      if (dir === null) throw new Error(`${spec.vm}: ${kind} VMs keep their disk in the host's directory, and ${host.name} has none (hosts[].dir in ${this.inventory.file})`);
      disk = await this.files.ensure(dir, spec.name, spec.vm, this.options.runTag, kind, guest.baseImage);
      let set = this.filesOn.get(spec.vm);
      if (!set) this.filesOn.set(spec.vm, (set = new Set()));
      set.add(host.name);
    }
    return {
      ...spec,
      disk: disk.type === "rbd" ? { rbd: { pool: disk.pool, image: disk.image, conf: disk.conf } } : { path: disk.path, format: disk.format },
      guest: { kernel: guest.kernel, initrd: guest.initrd, cmdline: GUEST_CMDLINE, serialLog: serialLogPath(guest, spec.name) },
    };
  }

  /**
   * Starts a defined domain. With a guest: its console is watched from here, and a VM with an
   * RBD image first has the image's lock holders blocklisted (unless the inventory says not to).
   */
  private async bootDomain(host: LibvirtHost, domain: string, vmId: string): Promise<void> {
    const guest = this.inventory.guest;
    if (guest) {
      if (this.ceph && this.images.has(vmId) && this.ceph.storage.blocklist) {
        const fenced = await this.ceph.fence(this.imageName(vmId), vmId);
        if (fenced.length > 0) this.report(`${vmId}: blocklisted the holder(s) of its image's lock before starting it on ${host.name}: ${fenced.join(", ")}`);
      }
      this.consoles.watch(vmId, host.name, serialLogPath(guest, domain));
    }
    await this.startDomain(host, domain, vmId);
  }

  private removeFile(vmId: string, hostId: string): void {
    const dir = this.host(hostId).config.dir;
    const set = this.filesOn.get(vmId);
    if (dir === null || !set?.has(hostId)) return;
    this.files.remove(dir, this.host(hostId).domainName(vmId), vmId, this.world.serviceModel === "vps" ? "vps" : "ephemeral");
    set.delete(hostId);
    if (set.size === 0) this.filesOn.delete(vmId);
  }

  /** A line from a guest's console: a boot is recorded if its VM is (still) on that host. */
  private guestSays(line: ConsoleLine): void {
    if (this.closed) return;
    if (line.tick !== undefined) {
      this.lastTick.set(line.vm, this.log.now);
      return;
    }
    const vm = this.world.vms.get(line.vm);
    if (!vm || vm.host !== line.host || (vm.state !== "running" && vm.state !== "booting")) {
      this.report(`${line.vm}: its guest reported boot ${line.bootCount} on ${line.host}, where it no longer runs: not recorded`);
      return;
    }
    this.log.emit({ type: "guestBooted", vm: line.vm, host: line.host, bootCount: line.bootCount! });
  }

  // ---- plumbing ----

  private defined(vmId: string): Set<string> {
    let set = this.definedOn.get(vmId);
    if (!set) this.definedOn.set(vmId, (set = new Set()));
    return set;
  }

  private booting(vmId: string, boots: number, hostId: string): boolean {
    const vm = this.world.vms.get(vmId);
    return vm !== undefined && vm.state === "booting" && vm.boots === boots && vm.host === hostId;
  }

  /** `virsh start`, where a domain already running counts as started (it ran on while its host was unreachable). */
  private async startDomain(host: LibvirtHost, domain: string, vmId: string): Promise<void> {
    try {
      await host.start(domain, vmId);
    } catch (error) {
      if (error instanceof VirshError && /already active|already running/i.test(error.stderr) && (await host.domstate(domain)) === "running") return;
      throw error;
    }
  }

  /** A boot that failed on a host that still answers: the VM is not running — `vmDown` (stopped). */
  private async bootFailed(vmId: string, boots: number, hostId: string): Promise<void> {
    try {
      await this.host(hostId).probe();
    } catch {
      await this.monitors.get(hostId)?.checkNow(); // the host is the problem: its failure takes the VM down
      return;
    }
    if (this.booting(vmId, boots, hostId)) this.log.emit({ type: "vmDown", vm: vmId, cause: "stopped" });
  }

  private async abortReason(from: string, to: string): Promise<MigrationAbortReason> {
    const answers = (id: string) => this.host(id).probe().then(() => true, () => false);
    const [source, destination] = await Promise.all([answers(from), answers(to)]);
    if (!source) void this.monitors.get(from)?.checkNow();
    if (!destination) void this.monitors.get(to)?.checkNow();
    return !source ? "sourceDown" : !destination ? "destinationDown" : "failed";
  }

  /** Runs a VM's command after the ones before it; a failure is reported (and `onError` run). */
  private op(vmId: string, what: string, body: () => Promise<void>, onError?: () => Promise<void>): void {
    checkName("VM", vmId);
    const previous = this.chains.get(vmId) ?? Promise.resolve();
    const run = previous.then(async () => {
      this.busy.set(vmId, (this.busy.get(vmId) ?? 0) + 1);
      try {
        await body();
      } catch (error) {
        this.problem(`${what}: ${(error as Error).message}`);
        if (onError) await onError();
      } finally {
        const n = this.busy.get(vmId)! - 1;
        if (n === 0) this.busy.delete(vmId);
        else this.busy.set(vmId, n);
      }
    });
    const chained = run.catch((error: Error) => this.problem(`${what}: ${error.stack ?? error.message}`));
    this.chains.set(vmId, chained);
    this.track(chained);
  }

  private track(promise: Promise<unknown>): void {
    const p = promise.then(
      () => {},
      (error: Error) => this.problem(error.stack ?? error.message),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Resolves once every command under way (and whatever they started) has finished. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private problem(message: string): void {
    this.problems.push({ t: this.log.now, message });
    this.report(`problem: ${message}`);
  }

  private runFence(hostId: string, argv: string[]): Promise<void> {
    if (this.options.virsh.dryRun) {
      this.report(`[dry-run] ${displayCommand(argv)}`);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      execFile(argv[0]!, argv.slice(1), { timeout: this.inventory.commandTimeoutMs, killSignal: "SIGKILL" }, (error, _stdout, stderr) => {
        if (error) reject(new Error(`fence command for ${hostId} (${displayCommand(argv)}) failed: ${stderr.trim() || error.message}`));
        else resolve();
      });
    });
  }

  /** Stops the monitors and timers and waits for the commands under way: nothing emits after this. */
  async quiesce(): Promise<void> {
    this.consoles.poll();
    this.closed = true;
    this.consoles.stop();
    for (const monitor of this.monitors.values()) monitor.stop();
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
    await this.cephEvents?.stop();
    await this.settle();
  }

  /** Ends the kept virsh sessions (after `quiesce`, and `removeAll` if wanted). */
  dispose(): void {
    for (const monitor of this.monitors.values()) monitor.stop();
    this.options.virsh.close();
  }
}

const finite = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : 0);
