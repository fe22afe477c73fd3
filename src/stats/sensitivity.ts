import { Random } from "../kernel/random.js";
import { mean } from "simple-statistics";

/**
 * Global sensitivity measures of a sampled design (Saltelli et al., Sensitivity Analysis in
 * Practice, Wiley 2004, ch. 1; Marino et al. 2008, J. Theor. Biol. 254:178, for PRCC with
 * Latin hypercube samples): inputs `x` (one row per design point, one column per input) and the
 * response `y` (one per point).
 * - SRC: coefficients of the least-squares fit of standardized y on standardized x. For a
 *   linear response with independent inputs SRC_j = b_j·sd(x_j)/sd(y) and Σ SRC_j² = R², so they
 *   rank the inputs by the share of variance each explains — as far as R² says the fit holds.
 * - PRCC: the correlation of the ranks of x_j and y after removing the linear effect of the
 *   other inputs' ranks from both: the strength of a monotone relation, whatever its shape.
 */
export interface SensitivityMeasures {
  src: number[];
  rSquared: number;
  prcc: number[];
}

/** Solves the least-squares fit y ≈ a + X·b; returns b and the residuals. */
export function leastSquares(x: readonly (readonly number[])[], y: readonly number[]): { coefficients: number[]; residuals: number[] } {
  const n = y.length;
  const k = x[0]?.length ?? 0;
  const rows = x.map((row) => [1, ...row]);
  const p = k + 1;
  if (n < p) throw new RangeError(`leastSquares: expected at least ${p} points for ${k} inputs, got ${n}`);
  // Normal equations (XᵀX)·β = Xᵀy, solved by Gaussian elimination with partial pivoting.
  const a = Array.from({ length: p }, (_, i) => [...Array.from({ length: p }, (_, j) => rows.reduce((s, r) => s + r[i]! * r[j]!, 0)), rows.reduce((s, r, t) => s + r[i]! * y[t]!, 0)]);
  for (let col = 0; col < p; col++) {
    let pivot = col;
    for (let r = col + 1; r < p; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const scale = Math.max(1e-300, ...a.map((r) => Math.abs(r[col]!)));
    if (Math.abs(a[col]![col]!) <= 1e-12 * scale) throw new RangeError("leastSquares: the inputs are collinear (an input constant, or one a combination of others)");
    for (let r = 0; r < p; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= p; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  const beta = a.map((r, i) => r[p]! / r[i]!);
  const residuals = rows.map((r, t) => y[t]! - r.reduce((s, v, j) => s + v * beta[j]!, 0));
  return { coefficients: beta.slice(1), residuals };
}

function standardize(v: readonly number[]): number[] {
  const m = mean([...v]);
  const sd = Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1));
  return v.map((x) => (sd > 0 ? (x - m) / sd : 0));
}

/** Ranks 1..n, ties given their mean rank. */
export function ranks(v: readonly number[]): number[] {
  const order = v.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
  const out = new Array<number>(v.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let t = i; t <= j; t++) out[order[t]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

function correlation(a: readonly number[], b: readonly number[]): number {
  const ma = mean([...a]);
  const mb = mean([...b]);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

const column = (x: readonly (readonly number[])[], j: number) => x.map((row) => row[j]!);
const without = (x: readonly (readonly number[])[], j: number) => x.map((row) => row.filter((_, i) => i !== j));

/** SRC with R², and PRCC, of a design (see `SensitivityMeasures`). */
export function sensitivityMeasures(x: readonly (readonly number[])[], y: readonly number[]): SensitivityMeasures {
  const k = x[0]?.length ?? 0;
  const zx = Array.from({ length: k }, (_, j) => standardize(column(x, j)));
  const zy = standardize(y);
  const rowsZ = y.map((_, t) => zx.map((c) => c[t]!));
  const fit = leastSquares(rowsZ, zy);
  const ssTotal = zy.reduce((s, v) => s + v * v, 0);
  const rSquared = ssTotal > 0 ? 1 - fit.residuals.reduce((s, r) => s + r * r, 0) / ssTotal : 0;
  const rx = Array.from({ length: k }, (_, j) => ranks(column(x, j)));
  const ry = ranks(y);
  const rowsR = y.map((_, t) => rx.map((c) => c[t]!));
  const prcc = Array.from({ length: k }, (_, j) => {
    if (k === 1) return correlation(rx[0]!, ry);
    const others = without(rowsR, j);
    return correlation(leastSquares(others, rx[j]!).residuals, leastSquares(others, ry).residuals);
  });
  return { src: fit.coefficients, rSquared, prcc };
}

/**
 * Percentile bootstrap intervals (Efron & Tibshirani 1993, ch. 13) of the SRC and PRCC: the design
 * points resampled with replacement `resamples` times (a resample whose inputs are collinear is
 * drawn again), from the stream "bootstrap" of `seed`: the same data give the same intervals.
 */
export function bootstrapSensitivity(
  x: readonly (readonly number[])[],
  y: readonly number[],
  options: { resamples?: number; confidence?: number; seed?: number } = {},
): { src: [number, number][]; prcc: [number, number][]; rSquared: [number, number] } {
  const resamples = options.resamples ?? 1000;
  const alpha = 1 - (options.confidence ?? 0.95);
  const random = Random.fromSeed(options.seed ?? 1).fork("bootstrap");
  const n = y.length;
  const k = x[0]?.length ?? 0;
  const src: number[][] = Array.from({ length: k }, () => []);
  const prcc: number[][] = Array.from({ length: k }, () => []);
  const r2: number[] = [];
  for (let b = 0, attempts = 0; b < resamples && attempts < resamples * 10; attempts++) {
    const pick = Array.from({ length: n }, () => random.int(n));
    try {
      const m = sensitivityMeasures(pick.map((i) => x[i]!), pick.map((i) => y[i]!));
      m.src.forEach((v, j) => src[j]!.push(v));
      m.prcc.forEach((v, j) => prcc[j]!.push(v));
      r2.push(m.rSquared);
      b++;
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
    }
  }
  const interval = (values: number[]): [number, number] => {
    const sorted = [...values].sort((p, q) => p - q);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * sorted.length)))]!;
    return sorted.length === 0 ? [NaN, NaN] : [at(alpha / 2), at(1 - alpha / 2)];
  };
  return { src: src.map(interval), prcc: prcc.map(interval), rSquared: interval(r2) };
}
