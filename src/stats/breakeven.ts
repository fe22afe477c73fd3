import { summarize, type MetricSummary } from "./summary.js";

/** One probe of a break-even search: the parameter value and the per-seed differences there. */
export interface Probe {
  value: number;
  summary: MetricSummary;
}

export interface Crossing {
  /** Where the mean difference crosses zero (linear interpolation between the bracketing probes). */
  estimate: number;
  /**
   * The values whose 95 % interval of the mean difference contains zero, between the probes
   * (each bound interpolated linearly): the crossing values the data cannot rule out. An end at
   * the range's edge is `open` (the interval may go on beyond the range).
   */
  low: number;
  high: number;
  lowOpen: boolean;
  highOpen: boolean;
  probes: Probe[];
}

export class NoCrossing extends Error {
  constructor(
    message: string,
    readonly probes: Probe[],
  ) {
    super(message);
  }
}

/**
 * Finds where a paired difference crosses zero as one parameter moves over [a, b]. `differences(v)`
 * returns the per-seed differences at v, the same seeds at every v (common random numbers: with
 * the seeds fixed the mean difference is a deterministic function of v, so a bracketing search
 * on it is well defined). The mean at the ends must have opposite signs, else `NoCrossing`.
 * Between them the bracket is narrowed by the Illinois variant of regula falsi (a secant step that
 * keeps the bracket; Dowell & Jarratt 1971, BIT 11:168), falling back to bisection when a step
 * lands outside the middle 80 % of the bracket, for `probes` evaluations. On a `log` scale the
 * search runs in log v. Then the points where the interval bounds cross zero are probed too, so
 * that the crossing's interval is bracketed by probes on both sides.
 */
export function findCrossing(differences: (value: number) => readonly number[], a: number, b: number, options: { probes?: number; log?: boolean } = {}): Crossing {
  const log = options.log ?? false;
  const to = (v: number) => (log ? Math.log(v) : v);
  const from = (u: number) => (log ? Math.exp(u) : u);
  const probes: Probe[] = [];
  const probe = (value: number): Probe => {
    const p = { value, summary: summarize(differences(value)) };
    probes.push(p);
    return p;
  };
  const pa = probe(a);
  const pb = probe(b);
  const fa0 = pa.summary.mean;
  const fb0 = pb.summary.mean;
  if (!(Number.isFinite(fa0) && Number.isFinite(fb0)) || Math.sign(fa0) === Math.sign(fb0)) {
    throw new NoCrossing(`no crossing between ${a} and ${b}: the mean difference is ${fmt(pa.summary)} at ${a} and ${fmt(pb.summary)} at ${b} (the same sign at both ends)`, probes);
  }
  let [ua, ub, fa, fb] = [to(a), to(b), fa0, fb0];
  let side = 0;
  for (let i = 0; i < (options.probes ?? 8) && fa !== 0 && fb !== 0; i++) {
    let u = ub - (fb * (ub - ua)) / (fb - fa);
    const lo = Math.min(ua, ub);
    const width = Math.abs(ub - ua);
    if (!(u > lo + 0.1 * width && u < lo + 0.9 * width)) u = (ua + ub) / 2;
    const f = probe(from(u)).summary.mean;
    if (Math.sign(f) === Math.sign(fb)) {
      [ub, fb] = [u, f];
      if (side === -1) fa /= 2; // Illinois: halve the stale end's weight
      side = -1;
    } else {
      [ua, fa] = [u, f];
      if (side === 1) fb /= 2;
      side = 1;
    }
  }
  // Probe where each interval bound crosses zero, so the crossing's interval has probes around it.
  for (const bound of ["ciLow", "ciHigh"] as const) {
    const u = zeroOf(probes, bound, to);
    if (u !== null && !probes.some((p) => Math.abs(to(p.value) - u) < 1e-9 * Math.max(1, Math.abs(u)))) probe(from(u));
  }
  probes.sort((p, q) => p.value - q.value);
  const estimate = from(zeroOf(probes, "mean", to)!);
  const crossings = (["ciLow", "ciHigh"] as const).map((bound) => zeroOf(probes, bound, to)).filter((u): u is number => u !== null);
  // The probes whose interval holds zero, and the interpolated bound crossings: their span.
  const inside = probes.filter((p) => p.summary.ciLow <= 0 && p.summary.ciHigh >= 0).map((p) => to(p.value));
  const span = [...crossings, ...inside, to(estimate)];
  const low = Math.min(...span);
  const high = Math.max(...span);
  const first = probes[0]!.summary;
  const last = probes[probes.length - 1]!.summary;
  return {
    estimate,
    low: from(low),
    high: from(high),
    lowOpen: first.ciLow <= 0 && first.ciHigh >= 0,
    highOpen: last.ciLow <= 0 && last.ciHigh >= 0,
    probes,
  };
}

/** The (transformed) value where a field of the probes, linear between neighbours, is first zero; null if it never changes sign. */
function zeroOf(probes: readonly Probe[], field: "mean" | "ciLow" | "ciHigh", to: (v: number) => number): number | null {
  const sorted = [...probes].sort((p, q) => p.value - q.value);
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [p, q] = [sorted[i]!, sorted[i + 1]!];
    const [fp, fq] = [p.summary[field], q.summary[field]];
    if (!(Number.isFinite(fp) && Number.isFinite(fq))) continue;
    if (fp === 0) return to(p.value);
    if (Math.sign(fp) !== Math.sign(fq)) return to(p.value) + (fp / (fp - fq)) * (to(q.value) - to(p.value));
  }
  const last = sorted[sorted.length - 1];
  return last && last.summary[field] === 0 ? to(last.value) : null;
}

const fmt = (s: MetricSummary) => `${Number(s.mean.toPrecision(4))} [${Number(s.ciLow.toPrecision(4))}, ${Number(s.ciHigh.toPrecision(4))}]`;
