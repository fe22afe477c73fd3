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
