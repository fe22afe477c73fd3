import { Controller } from "../../controller/controller.js";
import { distribution } from "../../kernel/distributions.js";
import { hoursToMs, MS_PER_MINUTE, MS_PER_YEAR } from "../../kernel/time.js";
import type { ServiceModel } from "../../model/events.js";
import type { RunConfig } from "../../scenario/resolve.js";
import type { Random } from "../../kernel/random.js";
import type { FailureCause } from "../../model/events.js";
import { failureCauses, HOST_FAILURE_CAUSES, startBursts, startFailureProcess, startFailureTrace, type FailureCauseModel, type FailureTargets } from "./failures.js";
import { Outages } from "./outages.js";
import { SimulatedInfrastructure } from "./infrastructure.js";
import { Provisioning } from "./provisioning.js";
import { Simulation } from "./simulation.js";
import { LocalRaid } from "./storage/local-raid.js";
import { ReplicatedStorage } from "./storage/replicated.js";
import { StorageOutages } from "./storage/outages.js";
import { San } from "./storage/san.js";
import type { VolumeStorage } from "./storage/volume-storage.js";
import { startWorkload } from "./workload.js";

export interface SimulatedCluster {
  sim: Simulation;
  controller: Controller;
  /** The port the controller drives (a second controller may be started on it: a resume, in tests). */
  infrastructure: SimulatedInfrastructure;
}

/**
 * Builds the simulation of a resolved scenario under one service model. At t = 0: `runStarted`,
 * every host (and its rack's and its own failure process), then the workload. At the end of the
 * observed period `runEnded` closes the log; it is scheduled first, so it precedes any other
 * event due at the same millisecond (FIFO ties).
 *
 * Failures and workload draw from their own named streams, never from anything the service
 * model influences: two models run with one seed see the same failures and the same requests.
 */
export function buildSimulation(config: RunConfig, seed: number, serviceModel: ServiceModel): SimulatedCluster {
  const sim = new Simulation(seed);
  sim.scheduler.schedule(hoursToMs(config.durationHours), () => {
    sim.emit({ type: "runEnded" });
    sim.scheduler.stop();
  }, null);
  if (config.warmupHours > 0) sim.scheduler.schedule(hoursToMs(config.warmupHours), () => sim.emit({ type: "warmupEnded" }), null);

  const storage: VolumeStorage | null =
    serviceModel !== "persistent-ha" ? null : config.storage.kind === "san" ? new San(sim) : new ReplicatedStorage(sim, config.storage, sim.random.fork("storage"));
  const raid = serviceModel === "persistent-ha" ? null : new LocalRaid(sim, config.localRaid, sim.random.fork("local-raid/read-errors"));
  const infrastructure = new SimulatedInfrastructure(
    sim,
    new Provisioning(config.provisioning, sim.random.fork("provisioning"), config.stateRestore, sim.random.fork("restore")),
    storage,
    { migration: config.migration, dirtyRateMiBps: distribution(config.migration.dirtyRateMiBps), ...config.hostBehaviour },
    sim.random.fork("migration"),
  );
  const controller = new Controller(infrastructure, config.controller);
  sim.subscribe((event) => controller.observe(event));
  // An instance lost because its host was switched off for maintenance was retired with notice
  // (EC2's scheduled retirement, PATCH_REBOOT_DEFAULTS): its user relaunches it at once. Seen
  // before any reaction to the power-off, while the host still holds its VMs.
  let retired: { t: number; vms: ReadonlySet<string> } = { t: -1, vms: new Set() };
  sim.onEvent((event) => {
    if (event.type === "hostPoweredOff" && event.reason === "maintenance") retired = { t: event.t, vms: new Set(sim.world.hosts.get(event.host)!.vms) };
  });
  if (storage) {
    sim.onEvent((event) => storage.react(event));
    const outages = new StorageOutages(sim, config.storage.guestTimeoutMs);
    sim.onEvent((event) => outages.react(event));
  }
  if (raid) sim.onEvent((event) => raid.react(event));
  sim.onEvent((event) => infrastructure.react(event));
  sim.onEvent((event) => controller.react(event));

  // A user whose VM was lost (with its host's instance store, or with its volume) launches a
  // replacement from a fresh image after a while.
  const users = sim.random.fork("users");
  const delay = distribution(config.replacementDelayHours);
  sim.onEvent((event) => {
    if (event.type === "vmLost") {
      const delayMs = hoursToMs(delay.sample(users));
      const noticed = retired.t === event.t && retired.vms.has(event.vm);
      sim.scheduler.after(noticed ? 0 : delayMs, (vm) => controller.relaunch(vm), event.vm);
    }
  });

  const f = config.failures;
  const hostCauses = failureCauses(f.host, HOST_FAILURE_CAUSES);
  const rackCauses = failureCauses({ outage: f.rack ?? undefined }, ["outage"] as const);
  const diskCauses = failureCauses({ failure: f.disk ?? undefined }, ["failure"] as const);
  const sanCauses = failureCauses({ outage: f.san ?? undefined }, ["outage"] as const);
  // The storage service and its network serve volumes: a model without them (ephemeral, vps) never
  // sees their outages (their own streams, so the other failures are the same for every model).
  const storageCauses = storage === null ? [] : failureCauses({ outage: f.storage ?? undefined }, ["outage"] as const);
  const partitionCauses = storage === null ? [] : failureCauses({ partition: f.storageNetwork ?? undefined }, ["partition"] as const);
  const isolationCauses = failureCauses({ partition: f.isolation ?? undefined }, ["partition"] as const);
  const powerCauses = failureCauses({ outage: f.power ?? undefined }, ["outage"] as const);
  const controllerCauses = failureCauses({ outage: f.controller ?? undefined }, ["outage"] as const);
  const failures = sim.random.fork("failures");
  // Every source of host, rack and disk failures goes through these: overlapping outages merge.
  const targets: FailureTargets = {
    hosts: new Outages<FailureCause>((host, cause) => sim.emit({ type: "hostFailed", host, cause }), (host) => sim.emit({ type: "hostRepaired", host })),
    racks: new Outages<null>((rack) => sim.emit({ type: "rackFailed", rack }), (rack) => sim.emit({ type: "rackRepaired", rack })),
    disks: new Outages<null>(
      (id) => sim.emit({ type: "diskFailed", host: id.slice(0, id.lastIndexOf("/")), disk: Number(id.slice(id.lastIndexOf("/") + 1)) }),
      (id) => sim.emit({ type: "diskReplaced", host: id.slice(0, id.lastIndexOf("/")), disk: Number(id.slice(id.lastIndexOf("/") + 1)) }),
    ),
    controller: new Outages<null>(() => sim.emit({ type: "controllerFailed" }), () => sim.emit({ type: "controllerRecovered" })),
  };
  sim.scheduler.schedule(0, () => {
    sim.emit({ type: "runStarted", serviceModel, prices: config.prices });
    startFailureProcess(sim, failures, "san", sanCauses, () => sim.emit({ type: "sanFailed" }), () => sim.emit({ type: "sanRepaired" }), f.initialAges);
    if (f.storage?.scope === "cluster") startStorageOutages(sim, failures, storageCauses, null);
    startFailureProcess(sim, failures, "controller", controllerCauses, () => targets.controller.begin("controller", null), () => targets.controller.end("controller"), f.initialAges);
    const racks = new Set<string>();
    for (const host of config.hosts) {
      if (!racks.has(host.rack)) {
        racks.add(host.rack);
        const rack = host.rack;
        startFailureProcess(sim, failures, `rack/${rack}`, rackCauses, () => targets.racks.begin(rack, null), () => targets.racks.end(rack), f.initialAges);
        if (f.storage?.scope === "rack") startStorageOutages(sim, failures, storageCauses, rack);
        if (f.storageNetwork?.scope === "rack") {
          const hosts = config.hosts.filter((h) => h.rack === rack).map((h) => h.id);
          startStoragePartitions(sim, failures, partitionCauses, `storageNetwork/${rack}`, hosts);
        }
      }
      sim.emit({ type: "hostAdded", host: host.id, rack: host.rack, vcpus: host.vcpus, memoryGiB: host.memoryGiB, diskGiB: host.diskGiB, disks: host.disks });
      startFailureProcess(
        sim,
        failures,
        `host/${host.id}`,
        hostCauses,
        (cause) => targets.hosts.begin(host.id, cause),
        () => targets.hosts.end(host.id),
        f.initialAges,
      );
      startFailureProcess(
        sim,
        failures,
        `isolation/${host.id}`,
        isolationCauses,
        () => sim.emit({ type: "hostIsolated", host: host.id }),
        () => sim.emit({ type: "hostReconnected", host: host.id }),
        f.initialAges,
      );
      if (f.storageNetwork?.scope === "host") startStoragePartitions(sim, failures, partitionCauses, `storageNetwork/${host.id}`, [host.id]);
      for (let disk = 0; disk < host.disks; disk++) {
        startFailureProcess(
          sim,
          failures,
          `disk/${host.id}/${disk}`,
          diskCauses,
          () => targets.disks.begin(`${host.id}/${disk}`, null),
          () => targets.disks.end(`${host.id}/${disk}`),
          f.initialAges,
        );
      }
    }
    // Power domains: each an alternating renewal process that takes all its racks down.
    f.powerDomains.forEach((racksOfDomain, i) => {
      startFailureProcess(
        sim,
        failures,
        `power/domain-${i + 1}`,
        powerCauses,
        () => racksOfDomain.forEach((rack) => targets.racks.begin(rack, null)),
        () => racksOfDomain.forEach((rack) => targets.racks.end(rack)),
        f.initialAges,
      );
    });
    startBursts(sim, failures, config.hosts, f.bursts, targets, f.initialAges);
    if (f.trace.length > 0) startFailureTrace(sim, f.trace, targets);
    startWorkload(sim, config.workload);
    scheduleMaintenance(sim, config, controller);
  }, null);
  return { sim, controller, infrastructure };
}

/**
 * The storage service's outages, of the whole service (`rack` null) or of its part in one rack,
 * each from its own stream (`failures/storage/outage`, `failures/storage/<rack>/outage`).
 */
function startStorageOutages(sim: Simulation, failures: Random, causes: FailureCauseModel<"outage">[], rack: string | null): void {
  startFailureProcess(sim, failures, rack === null ? "storage" : `storage/${rack}`, causes, () => sim.emit({ type: "storageFailed", rack }), () => sim.emit({ type: "storageRepaired", rack }));
}

/** Partitions between hosts and the storage network: all of `hosts` (one host, or a rack's) cut off at once. */
function startStoragePartitions(sim: Simulation, failures: Random, causes: FailureCauseModel<"partition">[], component: string, hosts: string[]): void {
  startFailureProcess(
    sim,
    failures,
    component,
    causes,
    () => hosts.forEach((host) => sim.emit({ type: "storageNetworkFailed", host })),
    () => hosts.forEach((host) => sim.emit({ type: "storageNetworkRepaired", host })),
  );
}

/** The scenario's maintenance: a rolling upgrade over its hosts, and single windows. */
function scheduleMaintenance(sim: Simulation, config: RunConfig, controller: Controller): void {
  const rolling = config.maintenance.rollingUpgrade;
  if (rolling) {
    sim.scheduler.schedule(hoursToMs(rolling.startHours), () => {
      for (const host of config.hosts.slice(0, rolling.hostCount ?? undefined)) controller.maintain(host.id, hoursToMs(rolling.windowHours), Math.round(rolling.drainTimeoutMinutes * MS_PER_MINUTE));
    }, null);
  }
  for (const window of config.maintenance.windows) {
    sim.scheduler.schedule(hoursToMs(window.atHours), () => controller.maintain(window.host, hoursToMs(window.hours), Math.round(window.drainTimeoutMinutes * MS_PER_MINUTE)), null);
  }
  const patches = config.maintenance.patchReboots;
  if (patches && config.hosts.length > 0) {
    // Host i of N reboots at (k + (i + ½)/N) · P, P = a year / perYear: one slot every P/N, in cluster order.
    const slotMs = MS_PER_YEAR / patches.perYear / config.hosts.length;
    const reboot = (slot: number) => {
      const host = config.hosts[slot % config.hosts.length]!;
      controller.maintain(host.id, Math.round(patches.shutdownMinutes * MS_PER_MINUTE), Math.round(patches.drainTimeoutMinutes * MS_PER_MINUTE));
      sim.scheduler.schedule(Math.round((slot + 1.5) * slotMs), reboot, slot + 1);
    };
    sim.scheduler.schedule(Math.round(0.5 * slotMs), reboot, 0);
  }
}
