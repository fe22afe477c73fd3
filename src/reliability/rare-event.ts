import { Random } from "../kernel/random.js";

/**
 * Rare-event estimation of the durability of an N-way replicated volume by importance sampling —
 * over the same birth–death chain as `mttdlMarkov` (k intact copies: k → k−1 at kλ, k → k+1 at
 * (N−k)μ, data lost at 0), not over the full simulation: the chain is where the closed form lives
 * (so the estimator can be validated exactly), and a loss at 2–3 replicas is a 10⁻⁶–10⁻¹² event
 * per degraded period that plain runs of the cluster never see.
 *
 * Regenerative form (Goyal, Shahabuddin, Heidelberger, Nicola & Glynn 1992, IEEE Trans. Computers
 * 41:36): a cycle starts with all N copies intact and ends when they are all intact again or the
 * data is lost. With γ = P(a cycle ends in loss) and E[C] the mean cycle length, MTTDL = E[C]/γ
 * (Wald). E[C] is not rare: plain simulation. γ is: each cycle is simulated under *balanced
 * failure biasing* (Shahabuddin 1994, Management Science 40:333): in every degraded state the
 * next transition is a failure with probability `bias` (0.5: "balanced"; with one kind of
 * component, balancing among components is the identity), a repair otherwise; the fully intact
 * state can only fail anyway. The loss indicator is weighted by the likelihood ratio, the product
 * over the cycle's jumps of P(jump)/P_biased(jump), which keeps the estimator unbiased; its
 * relative error stays bounded as λ/μ → 0 where plain sampling's grows without limit.
 */
export interface RareEventEstimate {
  /** γ: probability that a degraded period ends in data loss; its sample standard error. */
  lossPerCycle: number;
  lossPerCycleSe: number;
  /** E[C], hours, and its standard error. */
  meanCycleHours: number;
  meanCycleSe: number;
  /** E[C]/γ with a 95 % interval by the delta method (relative errors of the two independent parts added in quadrature). */
  mttdlHours: number;
  mttdlLow: number;
  mttdlHigh: number;
  /** Relative error (standard error / estimate) of γ and of the MTTDL. */
  relativeError: number;
  mttdlRelativeError: number;
  cycles: number;
  /** Jumps simulated (the work done; with `plainLossPerCycle`'s equal to it, equal run time). */
  jumps: number;
}

const Z95 = 1.959963984540054;

/** γ of the chain exactly: the gambler's-ruin probability of reaching 0 before N from N − 1. */
export function exactLossPerCycle(n: number, lambda: number, mu: number): number {
  // Embedded chain: from k, down with d_k = kλ/(kλ + (N−k)μ). P(0 before N | i) = Σ_{j≥i} ρ_j / Σ ρ_j
  // over j = 0..N−1 with ρ_0 = 1, ρ_j = Π_{m≤j} (d_m/u_m) = Π kλ/((N−k)μ).
  const rho = [1];
  for (let j = 1; j < n; j++) rho.push(rho[j - 1]! * ((j * lambda) / ((n - j) * mu)));
  const total = rho.reduce((s, r) => s + r, 0);
  return rho[n - 1]! / total;
}

/** One cycle from N − 1 (after the first failure): the loss indicator × likelihood ratio, the jumps, and the (unweighted) time spent degraded. */
function cycle(n: number, lambda: number, mu: number, bias: number | null, random: Random): { weight: number; jumps: number; hours: number } {
  let k = n - 1;
  let ratio = 1;
  let jumps = 1;
  let hours = 0;
  for (;;) {
    const down = k * lambda;
    const up = (n - k) * mu;
    const pDown = down / (down + up);
    hours += -Math.log(1 - random.float()) / (down + up);
    const q = bias ?? pDown;
    const fails = random.float() < q;
    ratio *= fails ? pDown / q : (1 - pDown) / (1 - q);
    jumps++;
    k += fails ? -1 : 1;
    if (k === 0) return { weight: ratio, jumps, hours };
    if (k === n) return { weight: 0, jumps, hours };
  }
}

function meanAndSe(sum: number, sumSquares: number, count: number): [number, number] {
  const mean = sum / count;
  const variance = Math.max(0, (sumSquares - count * mean * mean) / (count - 1));
  return [mean, Math.sqrt(variance / count)];
}

/**
 * Estimates γ (importance sampling with balanced failure biasing, `cycles` cycles) and E[C]
 * (plain, `cycles` cycles), hence the MTTDL, from the stream "rare-event" of `seed`.
 */
export function estimateMttdl(n: number, lambda: number, mu: number, options: { cycles: number; seed?: number; bias?: number }): RareEventEstimate {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`estimateMttdl: expected n ≥ 1 copies, got ${n}`);
  const random = Random.fromSeed(options.seed ?? 1).fork("rare-event");
  const bias = options.bias ?? 0.5;
  let [s, ss, c, cc, jumps] = [0, 0, 0, 0, 0];
  for (let i = 0; i < options.cycles; i++) {
    // n = 1: the first failure loses the data; no degraded state to bias.
    const biased = n === 1 ? { weight: 1, jumps: 1, hours: 0 } : cycle(n, lambda, mu, bias, random);
    s += biased.weight;
    ss += biased.weight ** 2;
    const plain = n === 1 ? { hours: 0, jumps: 1 } : cycle(n, lambda, mu, null, random);
    const length = -Math.log(1 - random.float()) / (n * lambda) + plain.hours;
    c += length;
    cc += length ** 2;
    jumps += biased.jumps + plain.jumps;
  }
  const [gamma, gammaSe] = meanAndSe(s, ss, options.cycles);
  const [meanCycle, meanCycleSe] = meanAndSe(c, cc, options.cycles);
  const mttdl = meanCycle / gamma;
  const relativeError = gammaSe / gamma;
  const mttdlRelativeError = Math.hypot(relativeError, meanCycleSe / meanCycle);
  return {
    lossPerCycle: gamma,
    lossPerCycleSe: gammaSe,
    meanCycleHours: meanCycle,
    meanCycleSe,
    mttdlHours: mttdl,
    mttdlLow: mttdl * Math.max(0, 1 - Z95 * mttdlRelativeError),
    mttdlHigh: mttdl * (1 + Z95 * mttdlRelativeError),
    relativeError,
    mttdlRelativeError,
    cycles: options.cycles,
    jumps,
  };
}

/**
 * Plain Monte Carlo of γ with a budget of `jumps` jumps (the same work as an importance-sampling
 * run): cycles under the true probabilities until the budget is spent. Returns the estimate, the
 * cycles run and the losses seen; its relative error is √((1 − γ)/(γ·cycles)).
 */
export function plainLossPerCycle(n: number, lambda: number, mu: number, jumps: number, seed = 1): { lossPerCycle: number; cycles: number; losses: number } {
  const random = Random.fromSeed(seed).fork("plain");
  let [spent, cycles, losses] = [0, 0, 0];
  while (spent < jumps) {
    const r = cycle(n, lambda, mu, null, random);
    spent += r.jumps;
    cycles++;
    if (r.weight > 0) losses++;
  }
  return { lossPerCycle: losses / cycles, cycles, losses };
}
