import { describe, expect, it } from "vitest";
import { replicationEstimate, seeds, simulateMetrics } from "../helpers.js";

/**
 * Correlated failures against their closed forms, as the fraction of host-time hosts are down
 * (1 − `hostAvailability`), estimated over independent replications (tolerance 4 standard errors).
 *
 * - Power domains: each domain an alternating renewal process (up for F, down for R); every host
 *   of the domain is down while it is: the fraction is E[R] / (E[F] + E[R]) (Barlow & Proschan).
 * - Bursts: Poisson bursts (rate λ) of k hosts chosen uniformly among N (or among the hosts of a
 *   rack chosen uniformly: the same by symmetry), down for D: each host is hit by a Poisson
 *   process of rate λk/N, and merged hits make it an M/G/∞ busy indicator: down a fraction
 *   1 − exp(−λ k E[D] / N), whatever D's distribution.
 * - Independent sources together: 1 − Π (1 − pᵢ).
 */
const N = 40;
const base = {
  name: "correlated",
  durationHours: 20_000,
  cluster: { hosts: [{ name: "h", count: N, racks: 8, vcpus: 8, memoryGiB: 32, diskGiB: 500 }], powerDomains: { racksPerDomain: 2 } },
};
const power = { timeToFailureHours: { type: "exponential", mean: 200 }, timeToRepairHours: { type: "lognormal", mu: Math.log(10) - 0.5, sigma: 1 } };
const powerDown = 10 / 210;
const burstDown = (ratePerHour: number, k: number, meanHours: number) => 1 - Math.exp((-ratePerHour * k * meanHours) / N);

function downFraction(failures: unknown) {
  return replicationEstimate(seeds(8).map((seed) => 1 - simulateMetrics({ ...base, failures }, seed, "vps").hosts.hostAvailability));
}

function expectClose(estimate: { mean: number; standardError: number }, expected: number) {
  expect(estimate.standardError).toBeGreaterThan(0);
  expect(Math.abs(estimate.mean - expected)).toBeLessThan(4 * estimate.standardError);
}

describe("correlated failures agree with their closed forms", () => {
  it("power-domain outages: E[R] / (E[F] + E[R]) of host-time down", () => {
    expectClose(downFraction({ power }), powerDown);
  });

  it("bursts of 4 hosts anywhere: 1 − exp(−λ k E[D] / N)", () => {
    const bursts = [{ name: "b", timeBetweenHours: { type: "exponential", mean: 20 }, hosts: 4, durationHours: { type: "exponential", mean: 5 } }];
    expectClose(downFraction({ bursts }), burstDown(1 / 20, 4, 5));
  });

  it("bursts of 3 hosts within one rack, and cluster-wide events of half the hosts: the same form", () => {
    const bursts = [
      { name: "rack", timeBetweenHours: { type: "exponential", mean: 20 }, hosts: 3, racks: 1, durationHours: { type: "uniform", min: 2, max: 6 } },
      { name: "cooling", timeBetweenHours: { type: "exponential", mean: 1000 }, share: 0.5, durationHours: 24 },
    ];
    const expected = 1 - (1 - burstDown(1 / 20, 3, 4)) * (1 - burstDown(1 / 1000, 20, 24));
    expectClose(downFraction({ bursts }), expected);
  });

  it("power domains and bursts together: 1 − Π (1 − pᵢ)", () => {
    const bursts = [{ name: "b", timeBetweenHours: { type: "exponential", mean: 20 }, hosts: 4, durationHours: 5 }];
    expectClose(downFraction({ power, bursts }), 1 - (1 - powerDown) * (1 - burstDown(1 / 20, 4, 5)));
  });
});
