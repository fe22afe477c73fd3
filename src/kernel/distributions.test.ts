import { errorFunction } from "simple-statistics";
import { describe, expect, it } from "vitest";
import { distribution, equilibriumResidual, gamma, residualLife, type DistributionSpec } from "./distributions.js";
import { Random } from "./random.js";

/**
 * Sample moments against closed forms. With n independent samples the sample mean has standard
 * error √(σ²/n) and the sample variance √((μ₄ − σ⁴)/n) (μ₄ the fourth central moment, estimated
 * from the same sample). A deviation beyond 4.4 standard errors has probability ≈ 1e-5 under a
 * correct sampler; the seeds are fixed, so each test is deterministic.
 * Shape: the Kolmogorov–Smirnov statistic against the exact CDF, with the asymptotic critical
 * value 1.949/√n at α = 0.001 (Massey 1951).
 */
const N = 200_000;
const Z = 4.4;

const normalCdf = (x: number) => 0.5 * (1 + errorFunction(x / Math.SQRT2));

const cases: { spec: DistributionSpec; cdf?: (x: number) => number }[] = [
  { spec: { type: "exponential", mean: 2000 }, cdf: (x) => 1 - Math.exp(-x / 2000) },
  { spec: { type: "weibull", shape: 0.7, scale: 1000 }, cdf: (x) => 1 - Math.exp(-((x / 1000) ** 0.7)) },
  { spec: { type: "weibull", shape: 3, scale: 50 }, cdf: (x) => 1 - Math.exp(-((x / 50) ** 3)) },
  { spec: { type: "lognormal", mu: 3, sigma: 0.8 }, cdf: (x) => (x <= 0 ? 0 : normalCdf((Math.log(x) - 3) / 0.8)) },
  { spec: { type: "uniform", min: 5, max: 17 }, cdf: (x) => Math.min(1, Math.max(0, (x - 5) / 12)) },
  { spec: { type: "deterministic", value: 4.5 } },
  { spec: { type: "empirical", samples: [1, 2, 2, 3, 10, 40] } },
];

describe("distributions", () => {
  for (const { spec } of cases) {
    it(`draws the equilibrium residual of ${JSON.stringify(spec)} with mean E[T²] / 2E[T]`, () => {
      const d = distribution(spec);
      const r = Random.fromSeed(7).fork(`residual/${spec.type}`);
      const xs = Float64Array.from({ length: N }, () => equilibriumResidual(spec, r));
      const mean = xs.reduce((a, x) => a + x, 0) / N;
      const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (N - 1));
      const expected = (d.variance + d.mean ** 2) / (2 * d.mean);
      expect(Math.abs(mean - expected)).toBeLessThanOrEqual(Z * (sd / Math.sqrt(N)) + 1e-12 * expected);
      expect(xs.every((x) => x >= 0)).toBe(true);
    });
  }

  for (const { spec, cdf } of cases) {
    it(`samples ${JSON.stringify(spec)} with its closed-form mean and variance`, () => {
      const d = distribution(spec);
      const r = Random.fromSeed(2024).fork(spec.type);
      const xs = Float64Array.from({ length: N }, () => d.sample(r));
      const mean = xs.reduce((a, x) => a + x, 0) / N;
      let m2 = 0;
      let m4 = 0;
      for (const x of xs) {
        const d2 = (x - mean) ** 2;
        m2 += d2;
        m4 += d2 * d2;
      }
      const variance = m2 / (N - 1);
      m4 /= N;
      expect(Math.abs(mean - d.mean)).toBeLessThanOrEqual(Z * Math.sqrt(d.variance / N) + 1e-12 * Math.abs(d.mean));
      expect(Math.abs(variance - d.variance)).toBeLessThanOrEqual(Z * Math.sqrt(Math.max(0, m4 - variance ** 2) / N) + 1e-9 * d.variance);

      if (cdf) {
        const sorted = Float64Array.from(xs).sort();
        let ks = 0;
        sorted.forEach((x, i) => {
          const f = cdf(x);
          ks = Math.max(ks, Math.abs((i + 1) / N - f), Math.abs(f - i / N));
        });
        expect(ks).toBeLessThan(1.949 / Math.sqrt(N));
      }
    });
  }

  // The life left at age a: its CDF is 1 − S(a + x) / S(a), with S = 1 − F of the distribution
  // (at age 10 for the uniform over 5–17, which no component survives to 30).
  for (const { spec, cdf } of cases) {
    if (!cdf) continue;
    const AGE = cdf(30) < 1 ? 30 : 10;
    it(`draws the life left at age ${AGE} of ${JSON.stringify(spec)} from S(a + x) / S(a) (Kolmogorov–Smirnov)`, () => {
      const r = Random.fromSeed(7).fork(`residual/${spec.type}`);
      const n = 50_000;
      const survival = (x: number) => 1 - cdf(x);
      const sorted = Float64Array.from({ length: n }, () => residualLife(spec, AGE, r)).sort();
      let ks = 0;
      sorted.forEach((x, i) => {
        const f = 1 - survival(AGE + x) / survival(AGE);
        ks = Math.max(ks, Math.abs((i + 1) / n - f), Math.abs(f - i / n));
      });
      expect(sorted[0]!).toBeGreaterThanOrEqual(0);
      expect(ks).toBeLessThan(1.949 / Math.sqrt(n));
    });
  }

  it("wears a component out past the largest value its distribution allows: it fails at once", () => {
    const r = Random.fromSeed(1);
    expect(residualLife({ type: "deterministic", value: 10 }, 25, r)).toBe(0);
    expect(residualLife({ type: "deterministic", value: 10 }, 4, r)).toBe(6);
    expect(residualLife({ type: "uniform", min: 5, max: 17 }, 20, r)).toBe(0);
    expect(residualLife({ type: "empirical", samples: [1, 2, 40] }, 2, r)).toBe(38);
  });

  it("computes the gamma function to near machine precision", () => {
    expect(gamma(5)).toBeCloseTo(24, 10);
    expect(gamma(0.5)).toBeCloseTo(Math.sqrt(Math.PI), 12);
    // Reference values from CPython's math.gamma.
    expect(gamma(1 + 1 / 0.7)).toBeCloseTo(1.2658235060572833, 12);
    expect(gamma(1 + 2 / 3)).toBeCloseTo(0.9027452929509336, 12);
    expect(gamma(0.1)).toBeCloseTo(9.513507698668732, 10);
  });

  it("draws only the given observations from an empirical distribution, each equally often", () => {
    const d = distribution({ type: "empirical", samples: [3, 7, 11] });
    const r = Random.fromSeed(5);
    const counts = new Map<number, number>();
    for (let i = 0; i < 30_000; i++) {
      const x = d.sample(r);
      counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([3, 7, 11]);
    // Binomial(30000, 1/3): sd ≈ 81.6; allow 4.4 sd.
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(4.4 * 81.65);
  });
});
