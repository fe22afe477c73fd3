import { describe, expect, it } from "vitest";
import { replicationEstimate, seeds, simulateMetrics } from "../helpers.js";

/**
 * Ageing: a fleet whose hosts fail with Weibull times to failure of shape 0.5 (a decreasing
 * hazard, as fitted to the LANL records, DESIGN.md), mean μ = 1 000 h, repaired in 36 s.
 * Started new, every host is at the steep start of its hazard at once: far more failures early
 * than on average. Started `stationary`, each host's first failure comes after the equilibrium
 * residual, and a stationary renewal process has E[N(t)] = t / (μ + E[R]) exactly (Cox, "Renewal
 * Theory", 1962): N hosts over T hours give N·T / (μ + r) failures. (With the repair this short,
 * starting every host up rather than down with probability r / (μ + r) changes it by 10⁻⁵.)
 * Tolerance: 4 standard errors of independent replications.
 */
const hosts = 200;
const T = 100;
const mu = 1000;
const r = 0.01;
const fleet = (initialAges: "new" | "stationary") => ({
  name: "ageing",
  durationHours: T,
  cluster: { hosts: [{ name: "h", count: hosts, vcpus: 2, memoryGiB: 8, diskGiB: 100 }] },
  failures: { initialAges, host: { hardware: { timeToFailureHours: { type: "weibull", shape: 0.5, scale: mu / 2 }, timeToRepairHours: r } } }, // mean = scale · Γ(3)
});

const failures = (initialAges: "new" | "stationary") =>
  replicationEstimate(seeds(20).map((seed) => simulateMetrics(fleet(initialAges), seed, "vps").hosts.hostFailures.hardware));

describe("initial ages", () => {
  it("stationary: a Weibull fleet fails at its long-run rate from the start, N·T / (μ + r)", () => {
    const { mean, standardError } = failures("stationary");
    expect(Math.abs(mean - (hosts * T) / (mu + r))).toBeLessThan(4 * standardError);
  });

  it("new: the same fleet started new fails far more often early (the synchronised infant mortality)", () => {
    const { mean, standardError } = failures("new");
    expect(mean - (hosts * T) / (mu + r)).toBeGreaterThan(4 * standardError);
    expect(mean).toBeGreaterThan(3 * ((hosts * T) / (mu + r)));
  });
});
