import { describe, expect, it } from "vitest";
import { replicationEstimate, seeds, simulateMetrics } from "../helpers.js";

/**
 * Erlang's loss formula: c servers, Poisson arrivals, offered load A = λ·E[holding time]; a
 * request that finds every server busy is lost. B(c, A) = (A^c / c!) / Σ_{k=0..c} A^k / k!,
 * computed with the stable recursion B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)) (e.g. Kleinrock,
 * "Queueing Systems", vol. 1, 1975, §3.7). It is insensitive to the holding-time distribution
 * beyond its mean (Sevastyanov 1957), so lognormal lifetimes must give the same blocking.
 *
 * Here a server is a one-vCPU slot: 5 hosts × 4 vCPUs, VMs of 1 vCPU, no failures, so first fit
 * finds a slot whenever one is free. Tolerance: 4 standard errors of the mean of independent
 * replications (long runs are autocorrelated; replications are not).
 */
export function erlangB(servers: number, load: number): number {
  let b = 1;
  for (let k = 1; k <= servers; k++) b = (load * b) / (k + load * b);
  return b;
}

const lossSystem = (lifetimeHours: unknown) => ({
  name: "erlang-b",
  durationHours: 3000,
  cluster: { hosts: [{ name: "h", count: 5, vcpus: 4, memoryGiB: 64, diskGiB: 1000 }] },
  workload: { sizes: [{ name: "one", vcpus: 1, memoryGiB: 1, diskGiB: 10 }], arrivals: { ratePerHour: 15, lifetimeHours } },
});

describe("blocking in a loss system agrees with Erlang B", () => {
  it("the formula gives the textbook value", () => {
    expect(erlangB(20, 15)).toBeCloseTo(0.04557, 4);
    expect(erlangB(1, 1)).toBeCloseTo(0.5, 12);
  });

  for (const [name, lifetime] of [
    ["exponential", { type: "exponential", mean: 1 }],
    ["lognormal (insensitivity)", { type: "lognormal", mu: -0.5, sigma: 1 }], // mean e^(mu + sigma²/2) = 1
  ] as const) {
    it(`with ${name} lifetimes`, () => {
      const samples = seeds(8).map((seed) => simulateMetrics(lossSystem(lifetime), seed, "vps").blockingProbability);
      const { mean, standardError } = replicationEstimate(samples);
      const expected = erlangB(20, 15);
      expect(Math.abs(mean - expected)).toBeLessThan(4 * standardError);
      expect(standardError).toBeLessThan(0.1 * expected); // the test has the power to see a 10 % error
    });
  }
});

/**
 * From an empty start the loss system fills up with time constant E[holding time] (1 h here), so
 * the blocking measured over the first hours is biased low; `metrics.warmupHours` leaves that
 * transient out. Many short replications: 3 h measured, after no warm-up or after 6 h of it
 * (the bias left, of order e^(−6), is far below the test's resolution).
 */
describe("a warm-up removes the start-up bias of the loss system", () => {
  const short = (warmupHours: number) => ({ ...lossSystem({ type: "exponential", mean: 1 }), durationHours: warmupHours + 3, ...(warmupHours > 0 ? { metrics: { warmupHours } } : {}) });
  const estimate = (warmupHours: number) => replicationEstimate(seeds(400).map((seed) => simulateMetrics(short(warmupHours), seed, "vps").blockingProbability));

  it("after 6 h of warm-up the blocking agrees with Erlang B; without, it is biased low", () => {
    const expected = erlangB(20, 15);
    const warm = estimate(6);
    expect(Math.abs(warm.mean - expected)).toBeLessThan(4 * warm.standardError);
    const cold = estimate(0);
    expect(expected - cold.mean).toBeGreaterThan(4 * cold.standardError);
  });
});
