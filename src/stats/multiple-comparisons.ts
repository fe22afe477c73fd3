import jStat from "jstat";
import type { MetricSummary } from "./summary.js";

/** How a family of comparisons is corrected for multiplicity: not at all, Holm, or Bonferroni. */
export type Adjustment = "none" | "holm" | "bonferroni";
export const ADJUSTMENTS: readonly Adjustment[] = ["none", "holm", "bonferroni"];

/**
 * Two-sided p-value of the paired t test of "the mean difference is 0" from a summary of the
 * differences: t = mean / (sd/√n) with n − 1 degrees of freedom. Identical differences (sd = 0)
 * give 1 when they are all 0 and 0 otherwise; fewer than two give NaN (no test).
 */
export function pairedTPValue(s: MetricSummary): number {
  if (!(s.n >= 2) || !Number.isFinite(s.mean)) return NaN;
  if (!(s.sd > 1e-12 * Math.max(1, Math.abs(s.mean)))) return Math.abs(s.mean) <= 1e-12 ? 1 : 0;
  const t = s.mean / (s.sd / Math.sqrt(s.n));
  return 2 * (1 - jStat.studentt.cdf(Math.abs(t), s.n - 1));
}

/**
 * Adjusted p-values of a family (NaN entries are not part of it and stay NaN), so that rejecting
 * every adjusted p ≤ α keeps the family-wise error rate ≤ α:
 * - Bonferroni: min(1, m·p).
 * - Holm (1979, Scand. J. Statist. 6:65), step-down: sort ascending, p₍ᵢ₎ · (m − i + 1), made
 *   non-decreasing by a running maximum, capped at 1. Never larger than Bonferroni's, same guarantee.
 *   These are R's `p.adjust(p, "holm")` values.
 */
export function adjustPValues(p: readonly number[], method: Adjustment): number[] {
  const members = p.map((v, i) => [v, i] as const).filter(([v]) => !Number.isNaN(v));
  const m = members.length;
  const out = p.map(() => NaN);
  if (method === "none") return [...p];
  if (method === "bonferroni") {
    for (const [v, i] of members) out[i] = Math.min(1, m * v);
    return out;
  }
  const sorted = [...members].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let running = 0;
  sorted.forEach(([v, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * v));
    out[i] = running;
  });
  return out;
}

/**
 * The confidence level of each interval in a family of m under an adjustment: 1 − α/m for Holm
 * and Bonferroni (simultaneous intervals: all m cover together with probability ≥ 1 − α). Holm's
 * step-down has no interval form of its own that stays simultaneous, so both use Bonferroni's
 * intervals; Holm's gain is in the adjusted p-values.
 */
export function familyConfidence(confidence: number, m: number, method: Adjustment): number {
  return method === "none" || m <= 1 ? confidence : 1 - (1 - confidence) / m;
}
