import { mean, sampleStandardDeviation } from "simple-statistics";
import { SERVICE_MODELS, type ServiceModel } from "../model/events.js";
import type { RunMetrics } from "../metrics/run-metrics.js";
import { EventStore, runKey, type RunRecord } from "../store/event-store.js";
import { SUMMARY_METRICS } from "./metrics.js";
import { tQuantile } from "./t-distribution.js";

/**
 * Summary statistics of independent replications: n, mean, sample standard deviation (n − 1) and
 * the 95 % confidence interval of the mean, `mean ± t(0.975, n − 1) · sd / √n`.
 *
 * Why Student t: each replication (one seed) is one independent observation of a run-level
 * metric, and experiments have few of them (5–30). With the standard deviation estimated from
 * the same few values, (mean − μ)/(sd/√n) follows Student's t with n − 1 degrees of freedom when
 * the observations are normal, and approximately so otherwise (run-level metrics are averages over
 * a long run, hence close to normal). The normal quantile 1.96 would understate the interval:
 * t(0.975, 4) = 2.776, t(0.975, 9) = 2.262, t(0.975, 29) = 2.045. With n < 2 there is no
 * estimate of the spread: sd and the interval are NaN (null in JSON).
 */
export interface MetricSummary {
  n: number;
  mean: number;
  sd: number;
  ciLow: number;
  ciHigh: number;
}

export interface CellRow {
  experiment: string;
  cell: Record<string, number | string | boolean>;
  serviceModel: ServiceModel;
  metric: string;
  summary: MetricSummary;
}

/**
 * A paired comparison: for each seed that both service models ran in this cell, the difference
 * a − b of the metric, summarized like a metric. Common random numbers (same seed ⇒ same failures
 * and workload) make the two runs of a seed positively correlated, so the differences vary much
 * less than the metrics themselves: the interval is tighter than the unpaired (Welch) one.
 */
export interface PairedDiffRow {
  experiment: string;
  cell: Record<string, number | string | boolean>;
  metric: string;
  a: ServiceModel;
  b: ServiceModel;
  summary: MetricSummary /* of a − b per seed */;
}

export const CONFIDENCE = 0.95;

/** n, mean, sd and the Student-t 95 % interval of the mean of `values`. */
export function summarize(values: readonly number[]): MetricSummary {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, ciLow: NaN, ciHigh: NaN };
  const m = mean([...values]);
  if (n === 1) return { n, mean: m, sd: NaN, ciLow: NaN, ciHigh: NaN };
  const sd = sampleStandardDeviation([...values]);
  const half = tQuantile(1 - (1 - CONFIDENCE) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean: m, sd, ciLow: m - half, ciHigh: m + half };
}

/**
 * The unpaired (Welch) 95 % interval of mean(a) − mean(b), with the Welch–Satterthwaite degrees
 * of freedom: what the comparison would give without common random numbers. For contrast with
 * the paired interval; `summarizeDatabase` reports the paired one.
 */
export function welchDifference(a: readonly number[], b: readonly number[]): MetricSummary {
  const sa = summarize(a);
  const sb = summarize(b);
  const va = sa.sd ** 2 / sa.n;
  const vb = sb.sd ** 2 / sb.n;
  const m = sa.mean - sb.mean;
  const se = Math.sqrt(va + vb);
  if (!(se > 0)) return { n: Math.min(sa.n, sb.n), mean: m, sd: se, ciLow: m, ciHigh: m };
  const dof = (va + vb) ** 2 / (va ** 2 / (sa.n - 1) + vb ** 2 / (sb.n - 1));
  const half = tQuantile(1 - (1 - CONFIDENCE) / 2, dof) * se;
  return { n: Math.min(sa.n, sb.n), mean: m, sd: se, ciLow: m - half, ciHigh: m + half };
}

/** The pairs compared, `a − b`: the thesis model against each other, then vps against ephemeral. */
export function modelPairs(models: readonly ServiceModel[]): [ServiceModel, ServiceModel][] {
  const ordered = SERVICE_MODELS.filter((m) => models.includes(m));
  const pairs: [ServiceModel, ServiceModel][] = [];
  for (let i = ordered.length - 1; i >= 0; i--) for (let j = 0; j < i; j++) pairs.push([ordered[i]!, ordered[j]!]);
  return pairs;
}

/** A group of complete runs: one experiment cell (or one scenario without experiment). */
interface Group {
  experiment: string;
  cell: Record<string, number | string | boolean>;
  /** serviceModel → seed → metrics, seeds ascending. */
  runs: Map<ServiceModel, Map<number, RunMetrics>>;
}

/**
 * Reads a results database and summarizes every cell × service model × metric, and the paired
 * differences between service models on the same seeds. Cells come from the experiments recorded
 * in the database (their seeds and service models as last run); complete runs that belong to no
 * experiment are grouped by scenario (hash) with `cell: {}`, the experiment named after the scenario.
 */
export function summarizeDatabase(file: string): { cells: CellRow[]; paired: PairedDiffRow[] } {
  const store = EventStore.openReadonly(file);
  let groups: Group[];
  try {
    groups = readGroups(store);
  } finally {
    store.close();
  }
  const cells: CellRow[] = [];
  const paired: PairedDiffRow[] = [];
  for (const group of groups) {
    const models = SERVICE_MODELS.filter((m) => group.runs.has(m));
    for (const metric of SUMMARY_METRICS) {
      for (const serviceModel of models) {
        const values = [...group.runs.get(serviceModel)!.values()].map(metric.read).filter((v): v is number => v !== null);
        cells.push({ experiment: group.experiment, cell: group.cell, serviceModel, metric: metric.name, summary: summarize(values) });
      }
      for (const [a, b] of modelPairs(models)) {
        const ra = group.runs.get(a)!;
        const rb = group.runs.get(b)!;
        const diffs: number[] = [];
        for (const [seed, ma] of ra) {
          const mb = rb.get(seed);
          const va = metric.read(ma);
          const vb = mb === undefined ? null : metric.read(mb);
          if (va !== null && vb !== null) diffs.push(va - vb);
        }
        paired.push({ experiment: group.experiment, cell: group.cell, metric: metric.name, a, b, summary: summarize(diffs) });
      }
    }
  }
  return { cells, paired };
}

function readGroups(store: EventStore): Group[] {
  const groups: Group[] = [];
  const claimed = new Set<number>();
  const add = (group: Group, run: RunRecord) => {
    const model = run.serviceModel as ServiceModel;
    const bySeed = group.runs.get(model) ?? new Map<number, RunMetrics>();
    group.runs.set(model, bySeed);
    // The oldest complete run of a key; the same scenario and seed give the same metrics anyway.
    if (!bySeed.has(run.seed)) bySeed.set(run.seed, run.metrics as RunMetrics);
    claimed.add(run.id);
  };
  for (const experiment of store.listExperiments()) {
    const runs = store.completeRunsOf(experiment.cells.map((c) => c.scenarioHash));
    const seeds = new Set(experiment.definition.seeds);
    const models = new Set(experiment.definition.serviceModels);
    for (const cell of experiment.cells) {
      const group: Group = { experiment: experiment.name, cell: cell.values, runs: new Map() };
      for (const run of runs) {
        if (run.scenarioHash === cell.scenarioHash && seeds.has(run.seed) && models.has(run.serviceModel ?? "")) add(group, run);
      }
      groups.push(sortSeeds(group));
    }
  }
  const loose = new Map<string, Group>();
  for (const run of store.completeRunsOf()) {
    if (claimed.has(run.id) || run.serviceModel === null) continue;
    const key = runKey(run.scenarioHash, 0, null);
    if (!loose.has(key)) loose.set(key, { experiment: run.scenarioName, cell: {}, runs: new Map() });
    add(loose.get(key)!, run);
  }
  const names = new Map<string, number>();
  for (const g of loose.values()) names.set(g.experiment, (names.get(g.experiment) ?? 0) + 1);
  for (const [key, g] of loose) {
    // Several scenarios of one name (e.g. run with different --set): tell them apart by hash.
    if (names.get(g.experiment)! > 1) g.experiment = `${g.experiment}@${key.slice(0, 12)}`;
    groups.push(sortSeeds(g));
  }
  return groups;
}

function sortSeeds(group: Group): Group {
  for (const [model, bySeed] of group.runs) group.runs.set(model, new Map([...bySeed].sort(([a], [b]) => a - b)));
  return group;
}
