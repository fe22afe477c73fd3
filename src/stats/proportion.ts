import jStat from "jstat";
import { CONFIDENCE, type MetricSummary } from "./summary.js";

/**
 * The exact (Clopper–Pearson) interval of a binomial proportion: the p whose binomial test of
 * `successes` in `n` is not rejected at level 1 − confidence, two-sided, with α/2 in each tail.
 * Its bounds are beta quantiles (Clopper & Pearson 1934, Biometrika 26:404; the beta form e.g.
 * Brown, Cai & DasGupta 2001, Stat. Sci. 16:101, eq. 4):
 *   low = B(α/2; k, n − k + 1), high = B(1 − α/2; k + 1, n − k),
 * with low = 0 for k = 0 and high = 1 for k = n. A zero count keeps its upper bound:
 * 0 of 10 gives [0, 1 − (α/2)^(1/n)] = [0, 0.3085], not [0, 0]. It is conservative (coverage ≥
 * the nominal level for every p), which is what a claim like "no data loss" needs.
 */
export function clopperPearson(successes: number, n: number, confidence = CONFIDENCE): { low: number; high: number } {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`clopperPearson: expected n ≥ 1, got ${n}`);
  if (!(Number.isInteger(successes) && successes >= 0 && successes <= n)) throw new RangeError(`clopperPearson: expected 0 ≤ successes ≤ ${n}, got ${successes}`);
  const alpha = 1 - confidence;
  const low = successes === 0 ? 0 : jStat.beta.inv(alpha / 2, successes, n - successes + 1);
  const high = successes === n ? 1 : jStat.beta.inv(1 - alpha / 2, successes + 1, n - successes);
  return { low, high };
}

/** n, the share of ones, the sample sd, and the Clopper–Pearson interval of 0/1 `values`. */
export function summarizeProportion(values: readonly number[], confidence = CONFIDENCE): MetricSummary {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, ciLow: NaN, ciHigh: NaN };
  const k = values.filter((v) => v === 1).length;
  if (k + values.filter((v) => v === 0).length !== n) throw new RangeError("summarizeProportion: expected values of 0 or 1");
  const p = k / n;
  const sd = n > 1 ? Math.sqrt((n * p * (1 - p)) / (n - 1)) : NaN;
  const { low, high } = clopperPearson(k, n, confidence);
  return { n, mean: p, sd, ciLow: low, ciHigh: high };
}

/**
 * The difference of two proportions observed on the same seeds, a − b. Its interval joins the two
 * exact intervals at level 1 − α/2 each, [low_a − high_b, high_a − low_b]: by Bonferroni both hold
 * together with probability ≥ 1 − α, so the difference's interval does too, for any n and any
 * correlation between the pair (common random numbers make them correlated; this interval does not
 * use that, so it is conservative, but it stays honest at zero counts where a paired t interval
 * of all-zero differences would claim [0, 0]). `pairs` are (a, b) per seed.
 */
export function pairedProportionDifference(pairs: readonly (readonly [number, number])[], confidence = CONFIDENCE): MetricSummary {
  const n = pairs.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, ciLow: NaN, ciHigh: NaN };
  const half = 1 - (1 - confidence) / 2;
  const a = summarizeProportion(pairs.map(([x]) => x), half);
  const b = summarizeProportion(pairs.map(([, y]) => y), half);
  const diffs = pairs.map(([x, y]) => x - y);
  const mean = a.mean - b.mean;
  const sd = n > 1 ? Math.sqrt(diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1)) : NaN;
  return { n, mean, sd, ciLow: a.ciLow - b.ciHigh, ciHigh: a.ciHigh - b.ciLow };
}

/**
 * Exact two-sided McNemar test of "a and b are equally likely to be 1" on paired 0/1 outcomes: only
 * the discordant seeds (1, 0) and (0, 1) carry information; under the null their split is
 * Binomial(d, ½) (McNemar 1947, Psychometrika 12:153; the exact form e.g. Agresti, Categorical
 * Data Analysis, 3rd ed., §11.1.1). p = min(1, 2·P(X ≤ min(b, c))); no discordant seed gives 1.
 */
export function mcnemarExactPValue(pairs: readonly (readonly [number, number])[]): number {
  const b = pairs.filter(([x, y]) => x === 1 && y === 0).length;
  const c = pairs.filter(([x, y]) => x === 0 && y === 1).length;
  const d = b + c;
  if (d === 0) return 1;
  return Math.min(1, 2 * jStat.binomial.cdf(Math.min(b, c), d, 0.5));
}
