import type { DomainEvent } from "../model/events.js";
import { hostsBroughtUpBy, volumeAvailable, type Host, type Vm } from "../model/world.js";
import { CapacityIndex } from "../placement/capacity-index.js";
import { admits, AntiAffinityGroups, NO_CONSTRAINTS, place, reserveCovered, type ConstrainedRequest, type PlacementConstraints } from "../placement/placement.js";
import { POLICIES, type PlacementPolicy, type Plan, type PolicyName } from "../placement/policies.js";
import { planDrain } from "./drain.js";
import { canWake, lookAtHost, planWake, storageAllowsOff } from "./power-save.js";
import { byPriority, mirrorHost, onHeartbeatTimeout, onStartRetryDue, startAction, startRetry, type Command } from "./decide.js";
import { Maintenance } from "./maintenance.js";
import { emptyMemory, remember, stalledOnPath, type ControllerMemory } from "./memory.js";
import type { ClusterPort } from "./port.js";
import { planConsolidation, planRebalance, type RebalanceOptions } from "./rebalance.js";
import { WaitingVms } from "./waiting.js";

export interface ControllerConfig {
  /** persistent-ha: silence after which a host is declared dead and its VMs restarted elsewhere. */
  heartbeatTimeoutMs: number;
  /** The placement policy by name (default first fit). */
  policy?: PolicyName;
  constraints?: PlacementConstraints;
  /** persistent-ha: power a silent host off (STONITH) before restarting its VMs elsewhere (default true). */
  fencing?: boolean;
  /** Power-save: switch a host off after it has been empty this long; null: never. */
  idleOffMs?: number | null;
  /** persistent-ha: DRS-like rebalancing every `intervalMs`; null: none. */
  rebalance?: (RebalanceOptions & { intervalMs: number }) | null;
  /** Live migrations at most at once out of one host while draining it (default 2). */
  maxMigrationsPerHost?: number;
  /**
   * persistent-ha: what HA does about a VM stalled on a host cut off from the storage network
   * (vSphere's VM Component Protection for "all paths down"): restart it on a host that reaches
   * its storage after `timeoutMs`, or leave it to resume (or reboot) when the path is back.
   * Default: leave.
   */
  storagePath?: { restart: boolean; timeoutMs: number };
}

/**
 * The cluster controller: the same code drives the simulation and real hosts (through the port).
 *
 * - **Placement**: requested VMs go where the placement policy says, under the constraints
 *   (anti-affinity, storage awareness, admission control); a first request no host can take is
 *   refused (a loss system: the user goes elsewhere) — unless power-save can switch a host on
 *   for it. VMs that must be restarted wait, in order, until there is room and their volume is
 *   reachable.
 * - **HA** by service model: `vps` VMs stay with their host (their disk is there) and reboot when
 *   it is back; `persistent-ha` VMs are restarted elsewhere once their host has been silent for
 *   `heartbeatTimeoutMs` (vSphere HA declares a host dead after ~15 s without heartbeats, then
 *   checks datastore heartbeats — VMware, "vSphere Availability", 2020); a host back before that
 *   reboots them in place; `ephemeral` instances are gone (their user may `relaunch`).
 *   A silent host may be alive but isolated: with fencing it is switched off first (STONITH),
 *   without it its VMs are restarted while their old copies may still run — a split brain.
 * - **Maintenance**: hosts are drained one at a time — live migration for persistent-ha, nothing
 *   to move for vps and ephemeral, whose VMs go down with the host — switched off for their
 *   window and on again (`maintain`, `drain`).
 * - **Power-save** and **rebalancing**: idle hosts are switched off and on again on demand; a
 *   periodic planner migrates VMs to even the load, or to empty hosts for switching off.
 *
 * `observe` must see every event (it keeps the capacity index current); `react` acts on them.
 */
export class Controller {
  private readonly index: CapacityIndex;
  private readonly groups = new AntiAffinityGroups();
  private readonly waiting = new WaitingVms();
  private readonly policy: PlacementPolicy;
  private readonly constraints: PlacementConstraints;
  private readonly maintenance: Maintenance;
  private placements = 0;
  /** What the controller remembers of the log (silent hosts, migrations in flight, failed starts): rebuilt from the log alone. */
  readonly memory: ControllerMemory = emptyMemory();
  /** What `observe` found in each event still to `react` to, by seq (events are observed when emitted, reacted to in log order). */
  private readonly recalled = new Map<number, { silenced?: string[]; migrationEndedFrom?: string }>();
  /**
   * VMs a drain found nowhere to move: not tried again until one of their migrations finishes.
   * Not in the log, on purpose: a controller started afresh tries them again.
   */
  private readonly nowhereToGo = new Set<string>();
  /** Whether the controller is stopped (`controllerFailed`), and what it is to act on when it is back, in order. */
  private down = false;
  private readonly missed: Array<() => void> = [];
  /** Empty hosts and since when they were seen empty (power-save). */
  private readonly idleSince = new Map<string, number>();
  /** Hosts power-save is switching on. */
  private readonly waking = new Set<string>();
  private readonly powerSave: boolean;

  constructor(private readonly port: ClusterPort, private readonly config: ControllerConfig) {
    this.index = new CapacityIndex(port.world);
    this.policy = POLICIES[config.policy ?? "first-fit"];
    this.constraints = config.constraints ?? NO_CONSTRAINTS;
    this.powerSave = config.idleOffMs !== undefined && config.idleOffMs !== null;
    this.maintenance = new Maintenance(
      port,
      {
        migrateOff: (host) => this.migrateOff(host),
        migrating: (host) => [...this.memory.migrating.values()].includes(host),
      },
      (delayMs, callback) => this.after(delayMs, callback),
      (commands) => this.execute(commands),
    );
    if (config.rebalance) this.after(config.rebalance.intervalMs, () => this.rebalanceRound());
    if (this.powerSave) this.after(config.idleOffMs! / 2, () => this.powerSaveRound());
  }

  /** A timer of the controller's: one that comes due while the controller is stopped is acted on when it is back. */
  private after(delayMs: number, callback: () => void): void {
    this.port.after(delayMs, () => this.whenUp(callback));
  }

  private whenUp(action: () => void): void {
    if (this.down) this.missed.push(action);
    else action();
  }

  /**
   * The controller stopped, or is back (`controllerFailed`, `controllerRecovered`). Stopped, it
   * decides nothing: the events, its timers coming due and the requests of users and operators
   * wait. Back, it resumes from the log: its memory is a projection of the log, kept current (the
   * same as rebuilding it from the log: `test/controller-memory.test.ts`), and it acts on what it
   * missed, in log order, against the world as it is now — a host still silent since before the
   * heartbeat timeout ran out is declared dead now, a host repaired meanwhile has its VMs
   * rebooted now, a request that came meanwhile is placed now.
   */
  private controllerOutage(event: DomainEvent): boolean {
    if (event.type === "controllerFailed") {
      this.down = true;
      return true;
    }
    if (event.type === "controllerRecovered") {
      this.down = false;
      this.waiting.unparkAll();
      for (const action of this.missed.splice(0)) action();
      return true;
    }
    return false;
  }

  observe(event: DomainEvent): void {
    this.index.apply(event);
    this.groups.apply(event);
    const recalled = remember(this.memory, this.port.world, event);
    if (recalled.silenced?.length || recalled.migrationEndedFrom !== undefined) this.recalled.set(event.seq, recalled);
  }

  react(event: DomainEvent): void {
    if (this.controllerOutage(event)) return;
    if (this.down) {
      this.missed.push(() => this.react(event));
      return;
    }
    const world = this.port.world;
    this.waiting.consider(world, event);
    const recalled = this.recalled.get(event.seq);
    if (recalled !== undefined) this.recalled.delete(event.seq);
    switch (event.type) {
      case "vmRequested":
        this.request(event.vm);
        break;
      case "hostFailed":
      case "rackFailed":
      case "hostIsolated":
        for (const host of recalled?.silenced ?? []) this.lostContact(world.hosts.get(host)!, event.seq);
        break;
      case "hostPoweredOff":
        // Fenced by this controller: its VMs are down now, restart them elsewhere.
        if (event.reason === "fenced") this.restartDownVms(world.hosts.get(event.host)!);
        break;
      case "hostPoweredOn":
        this.waking.delete(event.host);
        this.maintenance.hostPoweredOn(event.host);
        this.regainedContact(world.hosts.get(event.host)!);
        this.retryWaiting();
        break;
      case "hostReconnected":
        // A host fenced while isolated is switched on again once it can be reached.
        if (world.hosts.get(event.host)!.poweredOff === "fenced") this.port.powerOnHost(event.host);
        this.regainedContact(world.hosts.get(event.host)!);
        this.retryWaiting();
        break;
      case "hostRepaired":
      case "rackRepaired":
        for (const host of hostsBroughtUpBy(world, event)) this.regainedContact(host);
        this.retryWaiting();
        break;
      case "maintenanceFinished":
        this.restartDownVms(world.hosts.get(event.host)!);
        break;
      case "vmDown":
        // Its host is up but its volume unreachable: it waits for a copy to come back.
        if (event.cause === "storage") {
          this.releaseStallLater(event.vm);
          this.placeOrWait(event.vm);
        }
        else if (event.cause === "stopped") this.stoppedOnItsOwn(event.vm);
        break;
      case "migrationFinished":
      case "migrationAborted":
        if (event.type === "migrationFinished") this.nowhereToGo.delete(event.vm);
        if (recalled?.migrationEndedFrom !== undefined) this.maintenance.migrationEnded(recalled.migrationEndedFrom);
        this.retryWaiting();
        break;
      case "vmLost":
      case "vmTerminated":
        // A VM that ends mid-migration ends its migration: a drain of its source goes on.
        if (recalled?.migrationEndedFrom !== undefined) this.maintenance.migrationEnded(recalled.migrationEndedFrom);
        this.retryWaiting();
        break;
      case "volumeDeleted": // room freed for a volume that waits
      case "rebuildFinished":
      case "sanRepaired":
      case "arrayRecreated":
      case "storageRepaired":
        this.retryWaiting();
        break;
      case "storageNetworkRepaired":
        this.retryWaiting();
        break;
    }
    if (this.powerSave && (this.waiting.size > 0 || this.reserveShort())) this.wakeForWaiting();
  }

  /**
   * A request for a new VM: placed, or refused (a loss system), or waiting — for the storage
   * service to make its volume, or for power-save to switch a host on.
   */
  private request(vmId: string): void {
    const vm = this.port.world.vms.get(vmId);
    // Acted on late (the controller was stopped): the request may be gone, or answered.
    if (vm === undefined || vm.state !== "pending") return;
    // A volume cannot be made while the storage service is out everywhere: the request waits for it.
    // With the service up but no disk with room for a copy, it is refused, as a host without room would be.
    if (vm.disk === "volume" && !this.port.canCreateVolume(vm.diskGiB)) {
      if (this.port.canCreateVolume()) this.port.record({ type: "vmRejected", vm: vm.id, reason: "insufficientDisk" });
      else this.waiting.add(vm.id);
      return;
    }
    const plan = this.plan(vm, true);
    if ("host" in plan) this.port.startVm(vm.id, plan.host);
    else if (this.powerSave && isCapacityRefusal(plan) && canWake(this.port.world, this.waking)) this.waiting.add(vm.id);
    else this.port.record({ type: "vmRejected", vm: vm.id, reason: plan.refused });
  }

  /**
   * A controller started on a stored log (a live run resumed after its controller died, issue 19):
   * its memory was rebuilt by observing the log; this re-arms what that memory says was pending,
   * against the world as it is now (after `reconcile`'s events):
   * - a host silent but not yet declared dead: its heartbeat timeout, for what is left of it at
   *   `nowMs` (the clock's reading: the world's time is its last event's, before the gap);
   * - a host declared dead: what the decision at its timeout asked for and the log does not show
   *   done — fencing it (an up host not yet powered off), else restarting its VMs elsewhere;
   * - the down VMs of usable hosts (a reboot asked for that never came): started again — but a VM
   *   that stopped on its own gets VM monitoring's retry when it is due (`startRetry`), or stays
   *   down if monitoring gave up on it; a VM stalled on its storage path keeps waiting for it, or
   *   for what is left of the response's timeout;
   * - requests not yet answered (a VM pending that never booted: it waited for the storage
   *   service or for a host to be switched on), in the order they came: answered again.
   * The queue of VMs waiting for room is so rebuilt from the world and the memory; a lost VM its
   * user has not yet relaunched is the relauncher's (`resume-run.ts`).
   */
  resume(nowMs: number): void {
    this.recalled.clear();
    this.waiting.unparkAll();
    const world = this.port.world;
    const ids = [...world.hosts.keys()].sort();
    for (const id of ids) {
      const host = world.hosts.get(id)!;
      const since = this.memory.silentSince.get(id);
      if (since === undefined) {
        if (host.up && !host.isolated) this.resumeDownVms(host, nowMs);
      } else if (!this.memory.declaredDead.has(id)) this.lostContact(host, since.seq, nowMs);
      else if (world.serviceModel === "persistent-ha" && host.poweredOff === null) {
        this.execute(onHeartbeatTimeout(world, this.memory, id, since, this.config.fencing ?? true).filter((c) => c.type !== "record"));
      } else this.restartDownVms(host);
    }
    for (const vmId of [...this.memory.stalls.keys()].sort()) this.releaseStallLater(vmId);
    for (const vm of [...world.vms.values()]) if (vm.state === "pending" && vm.boots === 0) this.request(vm.id);
  }

  /** At resume, the down VMs of a usable host: VM monitoring's retries where owed, the others started again (or waiting). */
  private resumeDownVms(host: Host, nowMs: number): void {
    for (const vmId of byPriority(this.port.world, [...host.vms])) {
      if (this.port.world.vms.get(vmId)!.state !== "down") continue;
      const retry = startRetry(this.port.world, this.memory, vmId);
      if (retry === "givenUp") continue;
      if (retry === null) this.placeOrWait(vmId);
      else this.after(Math.max(0, retry.atMs - nowMs), () => this.execute(onStartRetryDue(this.port.world, retry)));
    }
  }

  private reserveShort(): boolean {
    const domain = this.constraints.failoverReserve;
    return domain !== null && !reserveCovered(this.index, domain);
  }

  /** A user asks again for a VM that is pending (its instance or its volume was lost). */
  relaunch(vmId: string): void {
    this.whenUp(() => {
      const vm = this.port.world.vms.get(vmId);
      if (vm?.state === "pending") this.placeOrWait(vmId);
    });
  }

  /**
   * Planned maintenance of a host: put it in maintenance mode, drain it (live-migrate its
   * persistent VMs; give up after `drainTimeoutMs`), switch it off for `windowMs`, switch it on,
   * end maintenance mode. Windows are taken one at a time, in the order asked (a rolling upgrade).
   */
  maintain(host: string, windowMs: number, drainTimeoutMs: number): void {
    this.whenUp(() => this.maintenance.enqueue({ host, windowMs, drainTimeoutMs }));
  }

  /** Puts a host in maintenance mode and live-migrates everything off it (no window: it stays on). */
  drain(host: string, onDrained?: (remaining: number) => void): void {
    this.whenUp(() => this.maintenance.drainOnly(host, onDrained));
  }

  // --- HA -------------------------------------------------------------------------------------

  /**
   * The host fell silent at event `seq` (`remember` noted since when): persistent-ha declares it
   * dead once the heartbeat timeout has passed since then (the log says when the silence began: a
   * controller acting late, after an outage of its own, waits only for what is left of it) —
   * unless that silence is over, or another began, by the time the controller acts on it.
   */
  private lostContact(host: Host, seq: number, nowMs = this.port.world.t): void {
    const since = this.memory.silentSince.get(host.id);
    if (since?.seq !== seq) return;
    if (this.port.world.serviceModel === "persistent-ha") {
      this.after(Math.max(0, since.t + this.config.heartbeatTimeoutMs - nowMs), () => this.declareDead(host, since));
    }
  }

  /** Contact with the host is back (`remember` has ended its silence): its down VMs start again. */
  private regainedContact(host: Host): void {
    if (!host.up || host.isolated) return;
    this.restartDownVms(host);
  }

  private declareDead(host: Host, since: { t: number; seq: number }): void {
    this.execute(onHeartbeatTimeout(this.port.world, this.memory, host.id, since, this.config.fencing ?? true));
  }

  /** Carries out a decision's commands, in order, through the port. */
  private execute(commands: readonly Command[]): void {
    for (const command of commands) {
      if (command.type === "record") this.port.record(command.event);
      else if (command.type === "powerOff") this.port.powerOffHost(command.host, command.reason);
      else if (command.type === "powerOn") this.port.powerOnHost(command.host);
      else if (command.type === "restart") this.placeOrWait(command.vm, command.elsewhere);
      else this.bootAgain(command.vm, command.avoid);
    }
  }

  /**
   * A VM stopped on a host the controller can reach, and not by the controller: its boot failed
   * or its guest died (the libvirt adapter reports both so). VM monitoring (`startRetry`) boots it
   * again after a pause, or leaves it down after MAX_START_ATTEMPTS within the hour. A VM stopped
   * on an isolated host is left to HA.
   */
  private stoppedOnItsOwn(vmId: string): void {
    const retry = startRetry(this.port.world, this.memory, vmId);
    if (retry === null || retry === "givenUp") return;
    // Counted from when the controller acts on the stop (later than the stop after an outage of its own).
    this.after(retry.atMs - retry.since, () => this.execute(onStartRetryDue(this.port.world, retry)));
  }

  /** Boots a down VM again, on another host than `avoid` if one can take it and its volume is reachable. */
  private bootAgain(vmId: string, avoid: string | null): void {
    const world = this.port.world;
    const vm = world.vms.get(vmId)!;
    const elsewhere = avoid !== null ? hostOf(this.plan(vm, false, [avoid])) : null;
    if (elsewhere !== null && volumeAvailable(world, world.volumes.get(vm.volume!)!)) this.port.startVm(vmId, elsewhere);
    else this.placeOrWait(vmId);
  }

  /** The down VMs assigned to the host: rebooted there if it is usable, else placed elsewhere (or waiting). */
  private restartDownVms(host: Host): void {
    for (const vmId of byPriority(this.port.world, [...host.vms])) {
      if (this.port.world.vms.get(vmId)!.state === "down") this.placeOrWait(vmId);
    }
  }

  private placeOrWait(vmId: string, elsewhere = false): void {
    if (!this.tryStart(vmId, elsewhere)) this.waiting.add(vmId);
  }

  /**
   * Starts a VM that should run, as `startAction` decides: reboots it where it is if its host is
   * usable, else places it on another host. Returns false if it must wait — for room, or for its
   * volume to be reachable — and true when there is nothing (more) to do for it. `elsewhere`: it
   * is (as far as the controller knows) running on an unreachable host, restart it on another.
   */
  private tryStart(vmId: string, elsewhere = false): boolean {
    const world = this.port.world;
    const action = startAction(world, this.memory, vmId, elsewhere, this.port.now, this.config.storagePath, this.canCreateVolume);
    if (action === "none") return true;
    if (action === "wait") return false;
    if (action === "reboot") {
      this.port.rebootVm(vmId);
      return true;
    }
    const vm = world.vms.get(vmId)!;
    const host = action === "mirror" ? mirrorHost(world, vm) : hostOf(this.plan(vm, false));
    if (host === null) return false;
    this.port.startVm(vmId, host);
    return true;
  }

  private readonly canCreateVolume = (sizeGiB: number) => this.port.canCreateVolume(sizeGiB);

  /**
   * A VM stalled on a host cut off from the storage network waits (`remember` noted the stall);
   * with the restart response, once the timeout has run out it may start on a host that reaches
   * its storage: the waiting VMs are tried again then.
   */
  private releaseStallLater(vmId: string): void {
    const stall = this.memory.stalls.get(vmId);
    const response = this.config.storagePath;
    if (stall === undefined || !response?.restart) return;
    this.after(Math.max(0, stall.t + response.timeoutMs - this.port.now), () => {
      const vm = this.port.world.vms.get(vmId);
      if (this.memory.stalls.get(vmId) === stall && vm?.state === "down" && vm.host === stall.host && vm.since === stall.t) this.retryWaiting();
    });
  }

  /** Asks the placement policy under the constraints; a plan with a host counts as a placement (round robin moves on). */
  private plan(vm: Vm, admission: boolean, avoid?: readonly string[], policy = this.policy, constraints = this.constraints): Plan {
    // A VM with a volume does not go to a host that cannot reach the storage.
    const cutOff = this.port.world.storageOut?.hosts;
    if (vm.disk === "volume" && cutOff !== undefined && cutOff.size > 0) avoid = [...(avoid ?? []), ...cutOff];
    const request: ConstrainedRequest = { ...requestOf(vm), admission, ...(avoid ? { avoid } : {}) };
    const plan = place(policy, { index: this.index, placements: this.placements, world: this.port.world, groups: this.groups }, constraints, request);
    if ("host" in plan) this.placements++;
    return plan;
  }

  /** Tries every waiting VM, by restart priority, then in the order they began to wait; those that still cannot start stay. */
  private retryWaiting(): void {
    this.waiting.retry(this.port.world, (vmId) => this.tryStart(vmId));
  }

  // --- Migration ------------------------------------------------------------------------------

  /**
   * Starts live migrations off a host in maintenance, at most `maxMigrationsPerHost` at once, as
   * `planDrain` plans them — one move at a time, each started before the next is planned (so the
   * placement sees it). Returns how many VMs are still to move (running, movable, not yet given up on).
   */
  private migrateOff(hostId: string): number {
    const world = this.port.world;
    const options = { maxConcurrent: this.config.maxMigrationsPerHost ?? 2, maxMoves: 1, skip: this.nowhereToGo };
    for (;;) {
      const plan = planDrain(world, this.memory, hostId, options, (vm) => hostOf(this.plan(vm, false, [hostId])));
      for (const vmId of plan.nowhereToGo) this.nowhereToGo.add(vmId); // nowhere to go: it stays
      if (plan.moves.length === 0) return plan.remaining;
      for (const move of plan.moves) {
        this.migrate(world.vms.get(move.vm)!, move.to);
        // The port records `migrationStarted` at once; without it the same move would be planned again.
        if (world.vms.get(move.vm)!.migration === null) throw new Error(`migrating ${move.vm}: the port recorded no migrationStarted`);
      }
    }
  }

  private migrate(vm: Vm, to: string): void {
    this.port.migrateVm(vm.id, to, "live");
  }

  // --- Power-save and rebalancing -------------------------------------------------------------

  /**
   * Power-save, every half `idleOffMs`: an up host that has been empty since the last look for
   * at least `idleOffMs` is switched off — unless that would eat into the failover reserve.
   */
  private powerSaveRound(): void {
    const idleOffMs = this.config.idleOffMs!;
    this.after(idleOffMs / 2, () => this.powerSaveRound());
    const world = this.port.world;
    if (world.ended) return;
    for (const host of world.hosts.values()) {
      const look = lookAtHost(host, this.idleSince.get(host.id), world.t, idleOffMs, () => this.reserveAllowsOff(host) && storageAllowsOff(world, host));
      if (look === "busy") this.idleSince.delete(host.id);
      else if (look === "idleFromNow") this.idleSince.set(host.id, world.t);
      else if (look === "switchOff") {
        this.idleSince.delete(host.id);
        this.port.powerOffHost(host.id, "idle");
      }
    }
  }

  /** Switching a host off takes its free capacity away, as placing a VM of its size would. */
  private reserveAllowsOff(host: Host): boolean {
    const domain = this.constraints.failoverReserve;
    return domain === null || admits(this.index, domain, host);
  }

  /** Power-save switches hosts back on for what waits (`planWake`). */
  private wakeForWaiting(): void {
    const domain = this.constraints.failoverReserve;
    const reserveShortGiB = domain === null ? null : Math.max(0, this.index.largestDomainCapacity(domain).memoryGiB - this.index.freeTotal().memoryGiB);
    for (const id of planWake(this.port.world, this.waiting.all(), this.waking, reserveShortGiB)) {
      this.waking.add(id);
      this.port.powerOnHost(id);
    }
  }

  private rebalanceRound(): void {
    const options = this.config.rebalance!;
    this.after(options.intervalMs, () => this.rebalanceRound());
    const world = this.port.world;
    if (world.serviceModel !== "persistent-ha" || world.ended) return;
    const movable = (vm: Vm) => vm.disk === "volume" && !this.memory.migrating.has(vm.id);
    const moves = this.powerSave ? planConsolidation(world, movable) : planRebalance(world, movable, options);
    for (const move of moves) {
      const vm = world.vms.get(move.vm)!;
      // Checked against the live world (room, a usable host) and anti-affinity before moving; not
      // against storage awareness, which would propose a host of its own instead of checking this one.
      if ("refused" in this.plan(vm, false, [move.from], fixedHost(move.to), { ...this.constraints, storageAware: false })) continue;
      this.migrate(vm, move.to);
    }
  }
}

const hostOf = (plan: Plan): string | null => ("host" in plan ? plan.host : null);

const isCapacityRefusal = (plan: Plan): boolean => "refused" in plan && plan.refused !== "violatesAntiAffinity";

function requestOf(vm: Vm): ConstrainedRequest {
  return { vcpus: vm.vcpus, memoryGiB: vm.memoryGiB, diskGiB: vm.diskGiB, disk: vm.disk, vm: vm.id, group: vm.group, volume: vm.volume, admission: false };
}

/** A policy that proposes one given host if it can take the VM (to check a planned move against the constraints). */
function fixedHost(host: string): PlacementPolicy {
  return (view, request) => (view.index.canTake(host, request) ? { host } : { refused: "fragmented" });
}
