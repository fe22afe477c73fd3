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

/**
 * Ages from a given distribution: every host at age a = 2 000 h (deterministic), Weibull wear-out
 * (shape 3, scale 1 000 h), repairs longer than the run so that a host fails at most once. A host
 * fails within the first t hours with the conditional probability
 * p = 1 − S(a + t) / S(a) = 1 − exp((a/λ)^k − ((a + t)/λ)^k), so the failures of N hosts are
 * Binomial(N, p): over t = 10 h, p = 1 − exp(8 − 8.1206) = 0.1136, against 10⁻³ for new hosts.
 */
describe("initial ages from a distribution", () => {
  const N = 400;
  const t = 10;
  const [k, lambda, a] = [3, 1000, 2000];
  const aged = (initialAges: unknown) => ({
    name: "aged",
    durationHours: t,
    cluster: { hosts: [{ name: "h", count: N, vcpus: 2, memoryGiB: 8, diskGiB: 100 }] },
    failures: { initialAges, host: { hardware: { timeToFailureHours: { type: "weibull", shape: k, scale: lambda }, timeToRepairHours: 1000 } } },
  });

  it("a fleet at age a fails within t hours with probability 1 − S(a + t) / S(a), within 4 SE of the binomial", () => {
    const p = 1 - Math.exp((a / lambda) ** k - ((a + t) / lambda) ** k);
    const counts = seeds(5).map((seed) => simulateMetrics(aged({ type: "deterministic", value: a }), seed, "vps").hosts.hostFailures.hardware);
    const total = counts.reduce((x, y) => x + y, 0);
    const n = 5 * N;
    expect(Math.abs(total - n * p)).toBeLessThan(4 * Math.sqrt(n * p * (1 - p)));
  });

  it("new hosts of the same fleet almost never fail in those hours", () => {
    const p = 1 - Math.exp(-((t / lambda) ** k));
    const total = seeds(5).map((seed) => simulateMetrics(aged("new"), seed, "vps").hosts.hostFailures.hardware).reduce((x, y) => x + y, 0);
    expect(total).toBeLessThan(5 * N * p + 4 * Math.sqrt(5 * N * p) + 1);
  });
});
