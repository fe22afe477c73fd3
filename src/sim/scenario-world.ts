import { Controller, type ControllerConfig } from "../controller/controller.js";
import { PRICES_2008 } from "../metrics/cost.js";
import { POLICIES, POWER_SAVING_POLICIES } from "../placement/policies.js";
import { distribution } from "../kernel/distributions.js";
import { hoursToMs, MS_PER_MINUTE, MS_PER_SECOND } from "../kernel/time.js";
import { MIGRATION_DEFAULTS, type MigrationConfig } from "../migration/migration-model.js";
import type { ServiceModel } from "../model/events.js";
import { clusterLayout, type Scenario } from "../scenario/schema.js";
import { failureCauses, HOST_FAILURE_CAUSES, startFailureProcess, startFailureTrace } from "./failures.js";
import { SimulatedInfrastructure } from "./infrastructure.js";
import { LocalRaid, LOCAL_RAID_DEFAULTS } from "../storage/local-raid.js";
import { San } from "../storage/san.js";
import type { VolumeStorage } from "../storage/volume-storage.js";
import { ReplicatedStorage, STORAGE_DEFAULTS, type StorageConfig } from "../storage/replicated-storage.js";
import { Provisioning } from "./provisioning.js";
import { Simulation } from "./simulation.js";
import { startWorkload } from "./workload.js";

/**
 * Time until the user of a lost VM (or an autoscaler) launches a replacement.
 * Default 15 min: in 2008 a person noticed and relaunched by hand (EC2 Auto Scaling arrived in
 * 2009; its default health-check grace period is 300 s, AWS documentation).
 */
export const DEFAULT_REPLACEMENT_DELAY_HOURS = 0.25;

/** The hosts a scenario describes, in file order, with their racks and schedulable capacity. */
export function expandHosts(scenario: Scenario) {
  return clusterLayout(scenario).map(({ id, rack, group }) => ({
    id,
    rack,
    vcpus: Math.floor(group.vcpus * group.vcpuOvercommit),
    memoryGiB: group.memoryGiB * group.memoryOvercommit,
    diskGiB: group.diskGiB,
    disks: group.disks,
  }));
}

export function storageConfig(scenario: Scenario): StorageConfig {
  const d = STORAGE_DEFAULTS;
  const s = scenario.storage;
  const kind = s.kind === "mirror" ? "mirror" : "replicated";
  return {
    kind,
    replicas: kind === "mirror" ? 2 : s.replicas ?? d.replicas,
    spreadRacks: s.spreadRacks ?? d.spreadRacks,
    rebuildMBps: s.rebuildMBps ?? d.rebuildMBps,
    ...(s.rebuildHours ? { rebuildHours: s.rebuildHours } : {}),
    recoveryDelayMinutes: s.recoveryDelayMinutes ?? d.recoveryDelayMinutes,
  };
}

export function migrationConfig(scenario: Scenario): MigrationConfig {
  const d = MIGRATION_DEFAULTS;
  const m = scenario.migration;
  return {
    bandwidthMBps: m.bandwidthMBps ?? d.bandwidthMBps,
    writableWorkingSetFraction: m.writableWorkingSetFraction ?? d.writableWorkingSetFraction,
    stopCopyThresholdMiB: m.stopCopyThresholdMiB ?? d.stopCopyThresholdMiB,
    maxRounds: m.maxRounds ?? d.maxRounds,
    maxSentFactor: m.maxSentFactor ?? d.maxSentFactor,
    switchoverMs: m.switchoverMs ?? d.switchoverMs,
    abortOnNonConvergence: m.abortOnNonConvergence ?? d.abortOnNonConvergence,
    maxPerHost: m.maxPerHost ?? d.maxPerHost,
  };
}

/** The controller's settings from a scenario: policy, constraints, HA, power-save, rebalancing. */
export function controllerConfig(scenario: Scenario): ControllerConfig {
  const rebalance = scenario.rebalance;
  const powerSave = POWER_SAVING_POLICIES.has(scenario.placement.policy);
  return {
    heartbeatTimeoutMs: Math.round(scenario.ha.heartbeatTimeoutSeconds * MS_PER_SECOND),
    policy: POLICIES[scenario.placement.policy],
    constraints: {
      antiAffinity: scenario.workload?.antiAffinity?.domain ?? null,
      failoverReserve: scenario.ha.admissionControl?.failureDomain ?? null,
      storageAware: scenario.placement.storageAware,
    },
    fencing: scenario.ha.fencing,
    idleOffMs: powerSave ? Math.max(MS_PER_MINUTE, Math.round(scenario.placement.idleMinutes * MS_PER_MINUTE)) : null,
    rebalance: rebalance || powerSave ? { intervalMs: Math.round((rebalance?.intervalMinutes ?? 60) * MS_PER_MINUTE), minImprovement: rebalance?.minImprovement ?? 0.02, maxMoves: rebalance?.maxMigrations ?? 4 } : null,
    maxMigrationsPerHost: migrationConfig(scenario).maxPerHost,
  };
}

/** The scenario's maintenance: a rolling upgrade over the first hosts (all by default), and single windows. */
function scheduleMaintenance(sim: Simulation, scenario: Scenario, controller: Controller): void {
  const rolling = scenario.maintenance?.rollingUpgrade;
  if (rolling) {
    const hosts = expandHosts(scenario).slice(0, rolling.hosts);
    const drainTimeoutMs = Math.round(rolling.drainTimeoutMinutes * MS_PER_MINUTE);
    sim.scheduler.schedule(hoursToMs(rolling.startHours), () => {
      for (const host of hosts) controller.maintain(host.id, hoursToMs(rolling.windowHours), drainTimeoutMs);
    }, null);
  }
  for (const window of scenario.maintenance?.windows ?? []) {
    sim.scheduler.schedule(hoursToMs(window.atHours), () => controller.maintain(window.host, hoursToMs(window.hours), 60 * MS_PER_MINUTE), null);
  }
}

export interface ScenarioSimulation {
  sim: Simulation;
  controller: Controller;
}

/**
 * Builds the simulation of a scenario under one service model. At t = 0: `runStarted`, every
 * host (and its rack's and its own failure process), then the workload. At the end of the
 * observed period `runEnded` closes the log; it is scheduled first, so it precedes any other
 * event due at the same millisecond (FIFO ties).
 *
 * Failures and workload draw from their own named streams, never from anything the service
 * model influences: two models run with one seed see the same failures and the same requests.
 */
export function simulateScenario(scenario: Scenario, seed: number, serviceModel: ServiceModel): ScenarioSimulation {
  const sim = new Simulation(seed);
  const end = hoursToMs(scenario.durationHours);
  sim.scheduler.schedule(end, () => {
    sim.emit({ type: "runEnded" });
    sim.scheduler.stop();
  }, null);

  const storage: VolumeStorage | null =
    serviceModel !== "persistent-ha" ? null : scenario.storage.kind === "san" ? new San(sim) : new ReplicatedStorage(sim, storageConfig(scenario), sim.random.fork("storage"));
  const raid = serviceModel === "persistent-ha" ? null : new LocalRaid(sim, { level: scenario.storage.localRaid?.level ?? null, rebuildMBps: scenario.storage.localRaid?.rebuildMBps ?? LOCAL_RAID_DEFAULTS.rebuildMBps });
  const infrastructure = new SimulatedInfrastructure(
    sim,
    new Provisioning(scenario.provisioning, sim.random.fork("provisioning")),
    storage,
    {
      migration: migrationConfig(scenario),
      dirtyRateMBps: distribution(scenario.migration.dirtyRateMBps ?? { type: "deterministic", value: MIGRATION_DEFAULTS.dirtyRateMBps }),
      hostBootMs: Math.round(scenario.power.hostBootMinutes * MS_PER_MINUTE),
      isolationPowerOff: scenario.ha.isolationResponse === "powerOff",
      isolationDetectionMs: Math.round(scenario.ha.isolationDetectionSeconds * MS_PER_SECOND),
    },
    sim.random.fork("migration"),
  );
  const controller = new Controller(infrastructure, controllerConfig(scenario));
  sim.subscribe((event) => controller.observe(event));
  if (storage) sim.onEvent((event) => storage.react(event));
  if (raid) sim.onEvent((event) => raid.react(event));
  sim.onEvent((event) => infrastructure.react(event));
  sim.onEvent((event) => controller.react(event));

  // A user whose VM was lost (with its host's instance store, or with its volume) launches a
  // replacement from a fresh image after a while.
  const users = sim.random.fork("users");
  const delay = distribution(scenario.users.replacementDelayHours ?? { type: "deterministic", value: DEFAULT_REPLACEMENT_DELAY_HOURS });
  sim.onEvent((event) => {
    if (event.type === "vmLost") sim.scheduler.after(hoursToMs(delay.sample(users)), (vm) => controller.relaunch(vm), event.vm);
  });

  const hostCauses = failureCauses(scenario.failures?.host, HOST_FAILURE_CAUSES);
  const rackCauses = failureCauses({ outage: scenario.failures?.rack }, ["outage"] as const);
  const diskCauses = failureCauses({ failure: scenario.failures?.disk }, ["failure"] as const);
  const sanCauses = failureCauses({ outage: scenario.failures?.san }, ["outage"] as const);
  const isolationCauses = failureCauses({ partition: scenario.failures?.isolation }, ["partition"] as const);
  const failures = sim.random.fork("failures");
  sim.scheduler.schedule(0, () => {
    sim.emit({ type: "runStarted", serviceModel, prices: { ...PRICES_2008, ...scenario.prices } });
    startFailureProcess(sim, failures, "san", sanCauses, () => sim.emit({ type: "sanFailed" }), () => sim.emit({ type: "sanRepaired" }));
    const racks = new Set<string>();
    for (const host of expandHosts(scenario)) {
      if (!racks.has(host.rack)) {
        racks.add(host.rack);
        const rack = host.rack;
        startFailureProcess(sim, failures, `rack/${rack}`, rackCauses, () => sim.emit({ type: "rackFailed", rack }), () => sim.emit({ type: "rackRepaired", rack }));
      }
      sim.emit({ type: "hostAdded", host: host.id, rack: host.rack, vcpus: host.vcpus, memoryGiB: host.memoryGiB, diskGiB: host.diskGiB, disks: host.disks });
      startFailureProcess(
        sim,
        failures,
        `host/${host.id}`,
        hostCauses,
        (cause) => sim.emit({ type: "hostFailed", host: host.id, cause }),
        () => sim.emit({ type: "hostRepaired", host: host.id }),
      );
      startFailureProcess(
        sim,
        failures,
        `isolation/${host.id}`,
        isolationCauses,
        () => sim.emit({ type: "hostIsolated", host: host.id }),
        () => sim.emit({ type: "hostReconnected", host: host.id }),
      );
      for (let disk = 0; disk < host.disks; disk++) {
        startFailureProcess(
          sim,
          failures,
          `disk/${host.id}/${disk}`,
          diskCauses,
          () => sim.emit({ type: "diskFailed", host: host.id, disk }),
          () => sim.emit({ type: "diskReplaced", host: host.id, disk }),
        );
      }
    }
    if (scenario.failures?.trace) startFailureTrace(sim, scenario.failures.trace);
    startWorkload(sim, scenario.workload);
    scheduleMaintenance(sim, scenario, controller);
  }, null);
  return { sim, controller };
}
