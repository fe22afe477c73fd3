import type { ControllerConfig } from "../controller/controller.js";
import type { DistributionSpec } from "../kernel/distributions.js";
import { hoursToMs, MS_PER_MINUTE, MS_PER_SECOND } from "../kernel/time.js";
import type { MigrationConfig } from "../migration/migration-model.js";
import type { PriceModel } from "../model/events.js";
import { POWER_SAVING_POLICIES } from "../placement/policies.js";
import {
  LOCAL_RAID_DEFAULTS,
  MAINTENANCE_DEFAULTS,
  MIGRATION_DEFAULTS,
  PRICES_2008,
  PROVISIONING_DEFAULTS,
  REBALANCE_DEFAULTS,
  READ_ERROR_DEFAULTS,
  REBUILD_TRAFFIC_DEFAULTS,
  RECOVERY_THROTTLE_DEFAULTS,
  STORAGE_CAPACITY_DEFAULTS,
  STORAGE_DEFAULTS,
  defaultMinSize,
  USERS_DEFAULTS,
} from "./defaults.js";
import { clusterLayout, type BurstSpec, type FailureProcessSpec, type FailureRow, type Scenario, type WorkloadSpec } from "./schema.js";

/**
 * A scenario resolved for running: every default filled in (from `./defaults.ts`), every unit
 * converted once, each component's part in its own field. Plain data (no functions, no class
 * instances), so an experiment resolves each cell once and sends it to its workers as it is.
 */
export interface RunConfig {
  name: string;
  durationHours: number;
  /** Metrics leave out [0, warmupHours) (`warmupEnded`); 0: none. */
  warmupHours: number;
  /** Every host, in file order, with its rack and schedulable capacity (after overcommit). */
  hosts: HostConfig[];
  failures: FailureConfig;
  /** The users' requests; null when the scenario has none. */
  workload: WorkloadSpec | null;
  provisioning: ProvisioningConfig;
  /** persistent-ha volumes: replicated over the hosts, a two-host mirror, or a SAN. */
  storage: StorageConfig;
  /** vps and ephemeral: the hosts' local disk arrays. */
  localRaid: LocalRaidConfig;
  migration: MigrationConfig & { dirtyRateMiBps: DistributionSpec };
  controller: ControllerConfig;
  /** What the simulated hosts do on their own: boot after power-on, notice their isolation. */
  hostBehaviour: HostBehaviourConfig;
  maintenance: MaintenanceConfig;
  /** Time until the user of a lost VM launches a replacement (hours). */
  replacementDelayHours: DistributionSpec;
  /** Restoring a lost VM's state on its replacement, after the boot; null: none (it runs empty). */
  stateRestore: StateRestoreConfig | null;
  prices: PriceModel;
}

export interface HostConfig {
  id: string;
  rack: string;
  vcpus: number;
  memoryGiB: number;
  diskGiB: number;
  disks: number;
}

export interface FailureConfig {
  host: { crash?: FailureProcessSpec; hardware?: FailureProcessSpec };
  rack: FailureProcessSpec | null;
  disk: FailureProcessSpec | null;
  san: FailureProcessSpec | null;
  /** Storage-service outages, of the whole service or of each rack's part. */
  storage: (FailureProcessSpec & { scope: "cluster" | "rack" }) | null;
  /** Compute–storage partitions, per host or per rack. */
  storageNetwork: (FailureProcessSpec & { scope: "host" | "rack" }) | null;
  isolation: FailureProcessSpec | null;
  /** Outages of the controller itself; null: none. */
  controller: FailureProcessSpec | null;
  /** Outages of each power domain; null: none. */
  power: FailureProcessSpec | null;
  /** The racks of each power domain, in order (empty without `cluster.powerDomains`). */
  powerDomains: string[][];
  /** Bursts of host failures and cluster-wide events. */
  bursts: BurstSpec[];
  /**
   * How every failure process starts: new, in its equilibrium (as if long in service), or each
   * component at an age drawn from this distribution (hours).
   */
  initialAges: InitialAges;
  /** Failures replayed from a trace (empty: none), on top of the random ones. */
  trace: FailureRow[];
}

export interface ProvisioningConfig {
  bootSeconds: DistributionSpec;
  keyInjectionSeconds: DistributionSpec;
  volumeAttachSeconds: DistributionSpec;
  imageGiB: number;
  imageTransferMiBps: number;
  imageCache: boolean;
}

export interface StorageConfig {
  kind: "replicated" | "mirror" | "san";
  /** Copies kept (2 for a mirror, 1 for the SAN). */
  replicas: number;
  /** Copies that must be reachable for a volume to serve I/O (Ceph's pool min_size; 1 for a mirror and the SAN). */
  minSize: number;
  spreadRacks: boolean;
  rebuildMBps: number;
  /**
   * Rebuild durations drawn from this distribution instead of following from size and bandwidth
   * (measured rebuild times, or the exponential repairs of the Markov models); null: size / bandwidth.
   */
  rebuildHours: DistributionSpec | null;
  recoveryDelayMinutes: number;
  /** Rebuild bandwidth of each rack's uplink per direction and of the cluster network (MB/s); null: no limit. */
  rackUplinkMBps: number | null;
  clusterNetworkMBps: number | null;
  /** Rebuilds reading from, and writing to, one host at once (Ceph's `osd_max_backfills`); null: no limit. */
  maxBackfills: number | null;
  /** `rack`: a host is not marked out while its whole rack is down (Ceph's `mon_osd_down_out_subtree_limit`). */
  downOutSubtreeLimit: "rack" | "none";
  /** Unrecoverable read errors per bit read, on every rebuild read. */
  ureRatePerBit: number;
  /** No copy goes onto a disk it would fill past this share of the disk (`diskGiB` / `disks` of its host). */
  fullRatio: number;
  /** A VM stalled longer than this by a storage outage needs a reboot (ms). */
  guestTimeoutMs: number;
}

export interface LocalRaidConfig {
  /** RAID level; null: RAID 1 on hosts with two or more disks, RAID 0 on a single disk. */
  level: 0 | 1 | 5 | 6 | null;
  rebuildMBps: number;
  /** Unrecoverable read errors per bit read (the same disks as `storage.ureRatePerBit`). */
  ureRatePerBit: number;
}

export type StateRestoreConfig = { hours: DistributionSpec } | { backupMBps: number };

export interface HostBehaviourConfig {
  hostBootMs: number;
  /** persistent-ha isolation response: after `isolationDetectionMs` an isolated host stops its VMs. */
  isolationPowerOff: boolean;
  isolationDetectionMs: number;
}

/**
 * How a failure process starts: `new` (at age 0), `stationary` (the equilibrium residual) or at
 * an age drawn from a distribution (hours).
 */
export type InitialAges = "new" | "stationary" | DistributionSpec;

export interface MaintenanceConfig {
  /** A rolling upgrade over the first `hostCount` hosts (null: all), in order, from `startHours`; null: none. */
  rollingUpgrade: { hostCount: number | null; startHours: number; windowHours: number; drainTimeoutMinutes: number } | null;
  windows: { host: string; atHours: number; hours: number; drainTimeoutMinutes: number }[];
  /** In-place patch reboots of every host, `perYear` each, staggered evenly; null: none. */
  patchReboots: { perYear: number; shutdownMinutes: number; drainTimeoutMinutes: number } | null;
}

const fixed = (value: number): DistributionSpec => ({ type: "deterministic", value });

/** Resolves a validated scenario: the one place where its optional fields get their defaults. */
export function resolveScenario(scenario: Scenario): RunConfig {
  const hosts = clusterLayout(scenario).map(({ id, rack, group }) => ({
    id,
    rack,
    vcpus: Math.floor(group.vcpus * group.vcpuOvercommit),
    memoryGiB: group.memoryGiB * group.memoryOvercommit,
    diskGiB: group.diskGiB,
    disks: group.disks,
  }));
  const f = scenario.failures;
  const p = scenario.provisioning;
  const m = scenario.migration;
  const s = scenario.storage;
  const kind = s.kind ?? STORAGE_DEFAULTS.kind;
  // The schema leaves an optional field out when the file does: the file's fields win.
  const migration = { ...MIGRATION_DEFAULTS, dirtyRateMiBps: fixed(MIGRATION_DEFAULTS.dirtyRateMiBps), ...m };
  const rolling = scenario.maintenance?.rollingUpgrade;
  return {
    name: scenario.name,
    durationHours: scenario.durationHours,
    warmupHours: scenario.metrics?.warmupHours ?? 0,
    hosts,
    failures: {
      host: { ...(f?.host?.crash ? { crash: f.host.crash } : {}), ...(f?.host?.hardware ? { hardware: f.host.hardware } : {}) },
      rack: f?.rack ?? null,
      disk: f?.disk ?? null,
      san: f?.san ?? null,
      storage: f?.storage ?? null,
      storageNetwork: f?.storageNetwork ?? null,
      isolation: f?.isolation ?? null,
      controller: f?.controller ?? null,
      power: f?.power ?? null,
      powerDomains: powerDomains(hosts, scenario.cluster.powerDomains?.racksPerDomain ?? null),
      bursts: f?.bursts ?? [],
      initialAges: f?.initialAges ?? "new",
      trace: f?.trace ?? [],
    },
    workload: scenario.workload ?? null,
    provisioning: {
      ...PROVISIONING_DEFAULTS,
      bootSeconds: fixed(PROVISIONING_DEFAULTS.bootSeconds),
      keyInjectionSeconds: fixed(PROVISIONING_DEFAULTS.keyInjectionSeconds),
      volumeAttachSeconds: fixed(PROVISIONING_DEFAULTS.volumeAttachSeconds),
      ...p,
    },
    storage: {
      kind,
      replicas: kind === "mirror" ? 2 : kind === "san" ? 1 : s.replicas ?? STORAGE_DEFAULTS.replicas,
      minSize: kind === "replicated" ? s.minSize ?? defaultMinSize(s.replicas ?? STORAGE_DEFAULTS.replicas) : 1,
      spreadRacks: s.spreadRacks ?? STORAGE_DEFAULTS.spreadRacks,
      rebuildMBps: s.rebuildMBps ?? STORAGE_DEFAULTS.rebuildMBps,
      rebuildHours: s.rebuildHours ?? null,
      recoveryDelayMinutes: s.recoveryDelayMinutes ?? STORAGE_DEFAULTS.recoveryDelayMinutes,
      fullRatio: s.fullRatio ?? STORAGE_CAPACITY_DEFAULTS.fullRatio,
      ureRatePerBit: s.ureRatePerBit ?? READ_ERROR_DEFAULTS.ureRatePerBit,
      rackUplinkMBps: s.rackUplinkMBps ?? REBUILD_TRAFFIC_DEFAULTS.rackUplinkMBps,
      clusterNetworkMBps: s.clusterNetworkMBps ?? REBUILD_TRAFFIC_DEFAULTS.clusterNetworkMBps,
      downOutSubtreeLimit: s.downOutSubtreeLimit ?? REBUILD_TRAFFIC_DEFAULTS.downOutSubtreeLimit,
      maxBackfills: s.maxBackfills === undefined ? RECOVERY_THROTTLE_DEFAULTS.maxBackfills : s.maxBackfills,
      guestTimeoutMs: Math.round((s.guestTimeoutSeconds ?? STORAGE_DEFAULTS.guestTimeoutSeconds) * MS_PER_SECOND),
    },
    localRaid: { level: s.localRaid?.level ?? LOCAL_RAID_DEFAULTS.level, rebuildMBps: s.localRaid?.rebuildMBps ?? LOCAL_RAID_DEFAULTS.rebuildMBps, ureRatePerBit: s.ureRatePerBit ?? READ_ERROR_DEFAULTS.ureRatePerBit },
    migration,
    controller: controllerConfig(scenario, migration.maxPerHost),
    hostBehaviour: {
      hostBootMs: Math.round(scenario.power.hostBootMinutes * MS_PER_MINUTE),
      isolationPowerOff: scenario.ha.isolationResponse === "powerOff",
      isolationDetectionMs: Math.round(scenario.ha.isolationDetectionSeconds * MS_PER_SECOND),
    },
    maintenance: {
      rollingUpgrade: rolling
        ? { hostCount: rolling.hosts ?? null, startHours: rolling.startHours, windowHours: rolling.windowHours, drainTimeoutMinutes: rolling.drainTimeoutMinutes }
        : null,
      windows: (scenario.maintenance?.windows ?? []).map((w) => ({ ...w, drainTimeoutMinutes: MAINTENANCE_DEFAULTS.drainTimeoutMinutes })),
      patchReboots: scenario.maintenance?.patchReboots ?? null,
    },
    replacementDelayHours: scenario.users.replacementDelayHours ?? fixed(USERS_DEFAULTS.replacementDelayHours),
    stateRestore: stateRestore(scenario.users.stateRestore),
    prices: { ...PRICES_2008, ...scenario.prices },
  };
}

function stateRestore(spec: { hours?: DistributionSpec; backupMBps?: number } | undefined): StateRestoreConfig | null {
  if (spec?.hours !== undefined) return { hours: spec.hours };
  if (spec?.backupMBps !== undefined) return { backupMBps: spec.backupMBps };
  return null;
}

/** Racks in order of appearance, `racksPerDomain` consecutive ones a domain; none without domains. */
function powerDomains(hosts: readonly { rack: string }[], racksPerDomain: number | null): string[][] {
  if (racksPerDomain === null) return [];
  const racks = [...new Set(hosts.map((h) => h.rack))];
  const domains: string[][] = [];
  for (let i = 0; i < racks.length; i += racksPerDomain) domains.push(racks.slice(i, i + racksPerDomain));
  return domains;
}

/** The controller's settings: policy, constraints, HA, power-save, rebalancing. */
function controllerConfig(scenario: Scenario, maxMigrationsPerHost: number): ControllerConfig {
  const rebalance = scenario.rebalance;
  const powerSave = POWER_SAVING_POLICIES.has(scenario.placement.policy);
  return {
    heartbeatTimeoutMs: Math.round(scenario.ha.heartbeatTimeoutSeconds * MS_PER_SECOND),
    policy: scenario.placement.policy,
    constraints: {
      antiAffinity: scenario.workload?.antiAffinity?.domain ?? null,
      failoverReserve: scenario.ha.admissionControl?.failureDomain ?? null,
      storageAware: scenario.placement.storageAware,
    },
    fencing: scenario.ha.fencing,
    idleOffMs: powerSave ? Math.max(MS_PER_MINUTE, Math.round(scenario.placement.idleMinutes * MS_PER_MINUTE)) : null,
    rebalance:
      rebalance || powerSave
        ? {
            intervalMs: Math.round((rebalance?.intervalMinutes ?? REBALANCE_DEFAULTS.intervalMinutes) * MS_PER_MINUTE),
            minImprovement: rebalance?.minImprovement ?? REBALANCE_DEFAULTS.minImprovement,
            maxMoves: rebalance?.maxMigrations ?? REBALANCE_DEFAULTS.maxMigrations,
          }
        : null,
    maxMigrationsPerHost,
    storagePath: { restart: scenario.ha.storagePathResponse === "restart", timeoutMs: Math.round(scenario.ha.storagePathTimeoutSeconds * MS_PER_SECOND) },
  };
}

/** The end of the observed period (ms). */
export function durationMs(config: Pick<RunConfig, "durationHours">): number {
  return hoursToMs(config.durationHours);
}
