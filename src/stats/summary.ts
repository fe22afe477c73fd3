import { mean, sampleStandardDeviation } from "simple-statistics";
import { SERVICE_MODELS, type ServiceModel } from "../model/events.js";
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

/**
 * How an interval was made: Student t of the mean, exact Clopper–Pearson of a proportion
 * (`./proportion.ts`), or the Bonferroni join of two exact intervals for a paired difference of
 * proportions.
 */
export type IntervalMethod = "student-t" | "clopper-pearson" | "paired-clopper-pearson";

export interface CellRow {
  experiment: string;
  cell: Record<string, number | string | boolean>;
  serviceModel: ServiceModel;
  metric: string;
  summary: MetricSummary;
  /** Student t when absent. */
  method?: IntervalMethod;
  /** Why the interval is not to be trusted at this number of replications (`replicationFlag`). */
  flag?: string;
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
  method?: IntervalMethod;
  flag?: string;
  /** Two-sided p of "no difference": paired t, or exact McNemar for proportions. */
  pValue?: number;
  /** `pValue` adjusted for the family (`--adjust`), and the level the interval was made at. */
  pAdjusted?: number;
  confidence?: number;
}

/** Fewer runs than this away from the most common value make a t interval a guess. */
export const MIN_RUNS_AWAY_FROM_MODE = 5;

/**
 * Why an interval over these per-run values should not be trusted, or undefined. Exact intervals
 * (Clopper–Pearson) hold at any n ≥ 1. A Student-t interval leans on the mean being near normal;
 * a metric that is the same in most runs (a rare event: 0 in 8 runs, 3 in 2) is far from it, like
 * a binomial with n·p < 5, the usual floor for the normal approximation (e.g. Brown, Cai &
 * DasGupta 2001, Stat. Sci. 16:101, §1). So t intervals are flagged when fewer than 5 runs differ
 * from the most common value, which includes n < 6, and all runs equal (an interval of width 0
 * says nothing beyond these seeds).
 */
export function replicationFlag(values: readonly number[], method: IntervalMethod): string | undefined {
  const n = values.length;
  if (n === 0) return "no value: the metric is undefined in every run";
  if (method !== "student-t") return undefined;
  if (n < 2) return "1 run: no interval";
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const away = n - Math.max(...counts.values());
  if (away === 0) return `all ${n} runs equal: the interval has no width; more seeds or a proportion`;
  if (away < MIN_RUNS_AWAY_FROM_MODE && away === n - 1) return `${n} runs: too few for a t interval (want ≥ ${MIN_RUNS_AWAY_FROM_MODE + 1})`;
  if (away < MIN_RUNS_AWAY_FROM_MODE) return `only ${away} of ${n} runs differ from the most common value: too few for a t interval (want ≥ ${MIN_RUNS_AWAY_FROM_MODE})`;
  return undefined;
}

export const CONFIDENCE = 0.95;

/** n, mean, sd and the Student-t interval (95 % unless told) of the mean of `values`. */
export function summarize(values: readonly number[], confidence = CONFIDENCE): MetricSummary {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, ciLow: NaN, ciHigh: NaN };
  const m = mean([...values]);
  if (n === 1) return { n, mean: m, sd: NaN, ciLow: NaN, ciHigh: NaN };
  const sd = sampleStandardDeviation([...values]);
  const half = tQuantile(1 - (1 - confidence) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean: m, sd, ciLow: m - half, ciHigh: m + half };
}

/**
 * The unpaired (Welch) 95 % interval of mean(a) − mean(b), with the Welch–Satterthwaite degrees
 * of freedom: what the comparison would give without common random numbers. For contrast with
 * the paired interval; `summarizeDatabase` (`src/experiment/summary.ts`) reports the paired one.
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
