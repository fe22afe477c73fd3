import { distribution, type DistributionSpec } from "../kernel/distributions.js";

/**
 * The largest inputs the testbed accepts, and the smallest times that still let simulated time
 * advance. Each is a documented limit (README, "Limits"), checked when a scenario is loaded so that
 * a run that could not finish, or could not fit in memory, is refused with the field named instead
 * of hanging or dying out of memory. The figures are orders of magnitude above the largest study
 * we run (the 50 000-host scale benchmark), not tight fits.
 */
export const LIMITS = {
  /** A scenario file (YAML), read whole before parsing: the largest example is 4 KB. */
  scenarioBytes: 4 * 1024 * 1024,
  /** A trace (CSV) or an inventory file: a million trace rows fit. */
  traceBytes: 64 * 1024 * 1024,
  /** Aliases a YAML file may use (the `yaml` package's own default is 100); alias bombs stop here. */
  yamlAliases: 100,
  /** Hosts in a cluster (all groups): 4 × the scale benchmark. */
  hosts: 200_000,
  /** Disks per host. */
  disksPerHost: 64,
  /** The long-lived fleet: 10 × the scale benchmark's. */
  fleet: 1_000_000,
  /** Simulated length of a run, hours (≈ 114 years); simulated time is integer ms, exact to 2^53. */
  durationHours: 1_000_000,
  /** The shortest run, hours (one second): time is integer ms, and a run that ends at 0 ms would end before it starts. */
  minDurationHours: 1 / 3600,
  /**
   * Expected firings of the random processes (failures, repairs, arrivals, rebalancing rounds) in
   * one run, from their means: each firing emits a few events, so 10^8 is a run of roughly 10^9
   * events, minutes to hours at 1–2 M events/s. The scale benchmark expects about 3 × 10^5.
   */
  expectedFirings: 100_000_000,
  /** Seeds of an experiment (replications or the listed seeds). */
  seeds: 10_000,
  /** Runs of an experiment (cells × seeds × service models): each is a row and a task in memory. */
  experimentRuns: 100_000,
  /** The shortest mean time to failure of a process: below a second in ms time, a host fails again before anything else happens. */
  minMeanTimeToFailureHours: 1 / 3600,
  /** In-place patch reboots of one host a year: at most one an hour. */
  maxPatchRebootsPerYear: 8760,
  /** The shortest rebalancing interval (one second). */
  minRebalanceIntervalMinutes: 1 / 60,
} as const;

/** The mean of a distribution as written, or NaN when it is not finite. */
export function distributionMean(spec: DistributionSpec): number {
  const mean = distribution(spec).mean;
  return Number.isFinite(mean) ? mean : NaN;
}

/**
 * Heap a run needs, estimated before it starts from the sizes that dominate it: measured on the
 * simulation (20 000 hosts of 4 disks ≈ 69 MB; 10^5 long-lived VMs ≈ 80 MB with their volumes),
 * rounded up — 4 KB a host, 0.5 KB a disk, 2 KB a VM of the fleet or the trace — plus 100 MB for
 * the program. The CLI refuses a run whose estimate exceeds 3/4 of the heap limit, naming the
 * field that contributes most (`checkMemory`).
 */
export function memoryEstimate(scenario: { cluster: { hosts: readonly { count: number; disks: number }[] }; workload?: { fleet: number; trace?: readonly unknown[] } | undefined }) {
  const hosts = scenario.cluster.hosts.reduce((sum, g) => sum + g.count, 0);
  const disks = scenario.cluster.hosts.reduce((sum, g) => sum + g.count * g.disks, 0);
  const parts: [string, number][] = [
    ["cluster.hosts", hosts * 4096 + disks * 512],
    ["workload.fleet", (scenario.workload?.fleet ?? 0) * 2048],
    ["workload.trace", (scenario.workload?.trace?.length ?? 0) * 2048],
  ];
  const bytes = 100 * 1024 * 1024 + parts.reduce((sum, [, b]) => sum + b, 0);
  const [field] = parts.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { bytes, field };
}

/** Null if a run of this scenario fits in `heapLimitBytes`, else the problem (field, estimate, limit). */
export function memoryProblem(scenario: Parameters<typeof memoryEstimate>[0], heapLimitBytes: number): string | null {
  const { bytes, field } = memoryEstimate(scenario);
  if (bytes <= 0.75 * heapLimitBytes) return null;
  const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MB`;
  return `${field}: expected a run that fits in memory, but it needs about ${mb(bytes)} and the heap limit is ${mb(heapLimitBytes)} (NODE_OPTIONS=--max-old-space-size=MB raises it)`;
}
