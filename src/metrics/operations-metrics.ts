import { msToHours } from "../kernel/time.js";
import type { DomainEvent, MigrationMode } from "../model/events.js";
import { FailoverReserve, type FailureDomain } from "../placement/failover-reserve.js";
import type { World } from "../model/world.js";
import type { Projection } from "./projection.js";
import { percentiles, type Percentiles } from "./service-metrics.js";

/**
 * What the controller's operations cost and bought:
 * - `migrations`: live migrations finished; `coldMigrations`; `migrationsAborted` (aborted, or
 *   cut short by the VM stopping); `migrationDowntimeMs` (live: the stop-and-copy pause) and
 *   `migrationTimeSeconds` (start to finish), `migrationGiB` sent (memory rounds, or disk).
 * - `hostsPoweredOnMean`: hosts switched on, averaged over time (power-save switches some off).
 * - `maintenanceDowntimeHours`: VM downtime due to maintenance — the outages of VMs that were on
 *   a host when it was switched off for its window, until they ran again, plus the pauses of live
 *   migrations off hosts in maintenance.
 *
 * After `warmupEnded` the counts, sums and time averages are measured from that instant.
 * - `splitBrainEvents`: VMs restarted while their old copy still ran on an isolated host.
 * - `failoverCapacityShortfallHours`: time during which the free capacity of the usable hosts
 *   could not restart the VMs of the largest failure domain (a host; a rack) — the condition
 *   admission control guards (`src/placement/placement.ts`).
 */
export interface OperationsMetrics {
  migrations: number;
  coldMigrations: number;
  migrationsAborted: number;
  migrationDowntimeMs: Percentiles;
  migrationTimeSeconds: Percentiles;
  migrationGiB: number;
  hostsPoweredOnMean: number;
  maintenanceDowntimeHours: number;
  splitBrainEvents: number;
  failoverCapacityShortfallHours: Record<FailureDomain, number>;
}

interface State {
  t: number;
  /** Where the measured period starts: 0, or the end of the warm-up. */
  from: number;
  /** The free capacity and largest failure domain, as admission control sees them (a fold of its own). */
  reserve: FailoverReserve | null;
  started: Map<string, { t: number; mode: MigrationMode; fromMaintenance: boolean }>;
  live: number;
  cold: number;
  aborted: number;
  downtimes: number[];
  durations: number[];
  sentGiB: number;
  poweredOn: number;
  poweredOnMs: number;
  maintenanceSince: Map<string, number>;
  maintenanceMs: number;
  splitBrains: number;
  shortfall: Record<FailureDomain, { now: boolean; ms: number }>;
  /** The VM count when the shortfall was last looked at. */
  vmsSeen: number;
}

export const operationsMetrics: Projection<State, OperationsMetrics> = {
  init: () => ({
    t: 0,
    from: 0,
    reserve: null,
    started: new Map(),
    live: 0,
    cold: 0,
    aborted: 0,
    downtimes: [],
    durations: [],
    sentGiB: 0,
    poweredOn: 0,
    poweredOnMs: 0,
    maintenanceSince: new Map(),
    maintenanceMs: 0,
    splitBrains: 0,
    shortfall: { host: { now: false, ms: 0 }, rack: { now: false, ms: 0 } },
    vmsSeen: 0,
  }),
  apply(s, e, world) {
    operationsMetrics.advance!(s, e.t);
    s.reserve ??= new FailoverReserve(world);
    const reserveChanged = s.reserve.apply(e);
    switch (e.type) {
      case "warmupEnded":
        return warmedUp(s, e.t);
      case "hostAdded":
        s.poweredOn++;
        break;
      case "hostPoweredOff": {
        s.poweredOn--;
        if (e.reason !== "maintenance") break;
        for (const id of world.hosts.get(e.host)!.vms) {
          const state = world.vms.get(id)!.state;
          if ((state === "running" || state === "booting") && !s.maintenanceSince.has(id)) s.maintenanceSince.set(id, e.t);
        }
        break;
      }
      case "hostPoweredOn":
        s.poweredOn++;
        break;
      case "migrationStarted":
        s.started.set(e.vm, { t: e.t, mode: e.mode, fromMaintenance: world.hosts.get(e.from)!.maintenance });
        break;
      case "migrationFinished": {
        const start = s.started.get(e.vm)!;
        s.started.delete(e.vm);
        s.sentGiB += e.transferredGiB;
        if (start.mode === "cold") {
          s.cold++;
          break;
        }
        s.live++;
        s.downtimes.push(e.downtimeMs);
        s.durations.push((e.t - start.t) / 1000);
        if (start.fromMaintenance) s.maintenanceMs += e.downtimeMs;
        break;
      }
      case "migrationAborted":
        s.started.delete(e.vm);
        s.aborted++;
        break;
      case "splitBrain":
        s.splitBrains++;
        break;
      case "vmStarted":
      case "vmResumed":
      case "vmTerminated": {
        const since = s.maintenanceSince.get(e.vm);
        if (since !== undefined) {
          s.maintenanceMs += e.t - since;
          s.maintenanceSince.delete(e.vm);
        }
        break;
      }
    }
    // A migration cut short by its VM stopping or going away ends without an event of its own.
    if ((e.type === "vmDown" || e.type === "vmLost" || e.type === "vmTerminated") && s.started.has(e.vm) && !world.vms.get(e.vm)?.migration) {
      s.started.delete(e.vm);
      s.aborted++;
    }
    // The shortfall is a function of the reserve and of whether there are VMs: looked at again only when one of them changed.
    if (world.serviceModel !== null && e.type !== "runStarted" && (reserveChanged || world.vms.size !== s.vmsSeen)) {
      s.vmsSeen = world.vms.size;
      for (const domain of ["host", "rack"] as const) s.shortfall[domain].now = hasWork(world) && !s.reserve.covered(domain);
    }
    return s;
  },
  // Every type that names no VM, changes no host the failover reserve counts (\`hostsTouchedBy\`) and is
  // not counted here: only the clock moves (the shortfall depends on the reserve and the VM count alone).
  ignores: new Set<DomainEvent["type"]>([
    "runStarted", "hostFailureDetected", "diskFailed", "diskReplaced", "raidRebuildStarted", "raidRebuildFinished", "hostMarkedOut", "volumeDeleted",
    "copyLost", "rebuildStarted", "rebuildFinished", "rebuildAborted", "copyDropped", "sanFailed", "sanRepaired", "storageFailed", "storageRepaired",
    "storageNetworkFailed", "storageNetworkRepaired", "runEnded",
  ]),
  advance(s, t) {
    const dt = t - s.t;
    s.poweredOnMs += s.poweredOn * dt;
    if (s.shortfall.host.now) s.shortfall.host.ms += dt;
    if (s.shortfall.rack.now) s.shortfall.rack.ms += dt;
    s.t = t;
  },
  result(s) {
    let maintenanceMs = s.maintenanceMs;
    for (const since of s.maintenanceSince.values()) maintenanceMs += s.t - since;
    return {
      migrations: s.live,
      coldMigrations: s.cold,
      migrationsAborted: s.aborted,
      migrationDowntimeMs: percentiles(s.downtimes),
      migrationTimeSeconds: percentiles(s.durations),
      migrationGiB: s.sentGiB,
      hostsPoweredOnMean: s.t > s.from ? s.poweredOnMs / (s.t - s.from) : s.poweredOn,
      maintenanceDowntimeHours: msToHours(maintenanceMs),
      splitBrainEvents: s.splitBrains,
      failoverCapacityShortfallHours: { host: msToHours(s.shortfall.host.ms), rack: msToHours(s.shortfall.rack.ms) },
    };
  },
};

/**
 * The end of the warm-up: counts and sums start again at zero from `t`; migrations under way are
 * counted when they end, a VM down for maintenance is down from `t`, a shortfall under way goes on.
 */
function warmedUp(s: State, t: number): State {
  return {
    ...operationsMetrics.init(),
    t,
    from: t,
    reserve: s.reserve,
    started: s.started,
    poweredOn: s.poweredOn,
    maintenanceSince: new Map([...s.maintenanceSince.keys()].map((vm) => [vm, t])),
    shortfall: { host: { now: s.shortfall.host.now, ms: 0 }, rack: { now: s.shortfall.rack.now, ms: 0 } },
  };
}

/** A cluster with no VMs has nothing to restart: no shortfall. */
function hasWork(world: World): boolean {
  return world.vms.size > 0;
}
