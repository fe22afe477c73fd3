/**
 * Closed forms for the mean time to data loss (MTTDL) of a replicated volume whose copies fail
 * independently and exponentially (rate λ per copy, per hour). `test/validation/mttdl.test.ts`
 * checks the simulation against both; `src/charts/mttdl.ts` draws them.
 */

/**
 * 2-way replication with a *fixed* rebuild time R (size / bandwidth), not the exponential repair
 * of the textbook Markov chain (MTTDL is not insensitive to the repair distribution).
 *
 * Both copies intact: the first failure comes after Exp(2λ), mean 1/(2λ). Then the rebuild runs;
 * within it two things can happen at rate λ each — the survivor fails (data loss) or the disk
 * being written fails (the rebuild restarts elsewhere from scratch). With e = exp(−2λR), one
 * attempt completes with probability e, loses the data with (1 − e)/2, restarts with (1 − e)/2,
 * and lasts E[min(Exp(2λ), R)] = (1 − e)/(2λ) on average. So per degraded period
 *   P(loss) q = (1 − e)/(1 + e),   mean length T₁ = ((1 − e)/(2λ)) / (1 − (1 − e)/2),
 * and by Wald's identity over the iid cycles MTTDL = (1/(2λ) + T₁) / q.
 */
export function mttdlTwoWayFixedRebuild(lambda: number, rebuildHours: number): number {
  const e = Math.exp(-2 * lambda * rebuildHours);
  const q = (1 - e) / (1 + e);
  const degraded = (1 - e) / (2 * lambda) / (1 - (1 - e) / 2);
  return (1 / (2 * lambda) + degraded) / q;
}

/**
 * N-way replication with exponential copy failures (rate λ each) and exponential rebuilds (rate μ
 * each, in parallel; `storage.rebuildHours` exponential) is a birth–death Markov chain on the
 * number k of intact copies: k → k−1 at kλ, k → k+1 at (N−k)μ, absorbed at 0 (Gibson, "Redundant
 * Disk Arrays", 1991; Chen et al., ACM CSUR 1994). A rebuild whose target fails restarts, which
 * an exponential rebuild does not notice. The mean time to absorption from N solves
 * (kλ + (N−k)μ)·T_k − kλ·T_{k−1} − (N−k)μ·T_{k+1} = 1, T_0 = 0; for N = 2 it is (3λ + μ)/(2λ²).
 * Computed through first-passage times (below), not by solving that system.
 */
export function mttdlMarkov(n: number, lambda: number, mu: number): number {
  // τ_k, the mean time to go from k intact copies to k − 1: from k the chain leaves after a mean
  // 1/(kλ + (N−k)μ), down with probability kλ/(…), else up, after which it needs τ_{k+1} + τ_k.
  // So τ_N = 1/(Nλ), τ_k = (1 + (N−k)μ·τ_{k+1}) / (kλ), and T_N = Σ τ_k: a sum of positive
  // terms, exact to rounding even where MTTDL is 10^20 hours (solving the linear system for T_k
  // directly loses every digit to cancellation there).
  let tau = 0;
  let total = 0;
  for (let k = n; k >= 1; k--) {
    tau = (1 + (n - k) * mu * tau) / (k * lambda);
    total += tau;
  }
  return total;
}
