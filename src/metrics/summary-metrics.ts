import type { RunMetrics } from "./run-metrics.js";

/**
 * The scalar metrics summarized per cell and service model: dotted paths into a run's
 * `metrics_json` (see `src/metrics/*.ts` for their definitions), plus derived ones. A metric that
 * is null in a run (a mean recovery time when nothing failed) is left out for that run, so its
 * `n` can be smaller than the number of seeds.
 */
export interface MetricDefinition {
  name: string;
  /** Unit or meaning, for tables and axis titles. */
  unit: string;
  read: (m: RunMetrics) => number | null;
  /** A 0/1 outcome per run, summarized as a proportion with an exact interval (`src/stats/proportion.ts`). */
  proportion?: true;
}

const path = (name: string, unit: string): MetricDefinition => ({
  name,
  unit,
  read: (m) => {
    let node: unknown = m;
    for (const key of name.split(".")) node = node === null || typeof node !== "object" ? undefined : (node as Record<string, unknown>)[key];
    return typeof node === "number" && Number.isFinite(node) ? node : null;
  },
});

export const SUMMARY_METRICS: readonly MetricDefinition[] = [
  path("availability", "share of demanded VM-time running"),
  path("downtimeHoursPerVmYear", "hours per VM-year"),
  path("plannedDowntimeHoursPerVmYear", "hours per VM-year: maintenance, cold migrations, live-migration pauses"),
  path("unplannedDowntimeHoursPerVmYear", "hours per VM-year: failures"),
  path("replacementDowntimeHoursPerVmYear", "hours per VM-year: lost VMs until their replacement booted"),
  path("restoreDowntimeHoursPerVmYear", "hours per VM-year: restoring lost VMs' state from a backup"),
  path("blockingProbability", "share of first requests refused"),
  path("outages", "VM outages"),
  path("recoveryTimeHours.mean", "hours"),
  path("recoveryTimeHours.p99", "hours"),
  path("provisioningTimeHours.mean", "hours"),
  path("lostVmStateEvents", "VMs whose state was destroyed"),
  path("dataLossWindowHours.total", "hours of VM state lost"),
  path("dataLossEvents", "persistent disks destroyed"),
  path("gbLost", "GiB of persistent disks destroyed"),
  {
    name: "anyDataLoss",
    unit: "1 if a persistent disk was destroyed during the run, else 0 (its mean: the probability)",
    read: (m) => (m.dataLossEvents > 0 ? 1 : 0),
    proportion: true,
  },
  path("copiesLost", "volume copies lost"),
  path("rebuildHours", "hours of replica rebuilds"),
  path("storageOutageHours", "hours of storage-service outage"),
  path("storageStalls", "VMs stopped by an unreachable volume"),
  path("cost.userUsdPerVmMonth", "USD per VM-month (user)"),
  path("cost.longLived.userUsdPerVmMonth", "USD per VM-month (user) of the long-lived VMs (the fleet)"),
  path("cost.shortLived.userUsdPerVmMonth", "USD per VM-month (user) of the short-lived VMs (with a lifetime)"),
  path("cost.providerUsdPerVmMonth", "USD per VM-month (provider)"),
  path("cost.provider.hostsUsd", "USD (provider): hosts"),
  path("cost.provider.hosts.failoverReserveUsd", "USD (provider): hosts' memory kept free for HA restarts"),
  path("cost.provider.rawDiskUsd", "USD (provider): raw disk, every copy"),
  path("cost.provider.networkUsd", "USD (provider): rebuild and migration traffic"),
  path("hostUtilization.vcpus", "share of vCPUs reserved"),
  path("hostUtilization.memory", "share of memory reserved"),
  path("hosts.hostAvailability", "share of host-time up"),
  path("hosts.meanTimeToRepairHours", "hours"),
  path("operations.migrations", "live migrations"),
  path("operations.migrationTimeSeconds.mean", "seconds per live migration"),
  path("operations.migrationDowntimeMs.mean", "ms of downtime per live migration"),
  path("operations.migrationDowntimeMs.p99", "ms of downtime per live migration"),
  path("operations.maintenanceDowntimeHours", "VM-hours down for maintenance"),
  path("operations.hostsPoweredOnMean", "hosts powered on (time average)"),
];
