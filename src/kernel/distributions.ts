import type { Random } from "./random.js";

/**
 * Probability distributions of durations and sizes, as written in scenario files.
 * Every distribution knows its closed-form mean and variance: the tests compare samples with
 * them, and reports can quote them.
 */
export type DistributionSpec =
  | { type: "exponential"; mean: number }
  /** Weibull with shape k and scale λ: F(x) = 1 − exp(−(x/λ)^k). k < 1: infant mortality. */
  | { type: "weibull"; shape: number; scale: number }
  /** Lognormal: ln X ~ Normal(mu, sigma²). The median is e^mu. */
  | { type: "lognormal"; mu: number; sigma: number }
  | { type: "uniform"; min: number; max: number }
  | { type: "deterministic"; value: number }
  /** Draws uniformly among the given observations (the empirical distribution function). */
  | { type: "empirical"; samples: readonly number[] };

export interface Distribution {
  readonly spec: DistributionSpec;
  readonly mean: number;
  readonly variance: number;
  sample(random: Random): number;
}

/** Builds a sampler. Parameters are assumed valid (the scenario schema checks them). */
export function distribution(spec: DistributionSpec): Distribution {
  switch (spec.type) {
    case "exponential": {
      const { mean } = spec;
      // Inversion: F⁻¹(u) = −mean · ln(1 − u); 1 − u is in (0, 1] so the log is finite.
      return { spec, mean, variance: mean * mean, sample: (r) => -mean * Math.log(1 - r.float()) };
    }
    case "weibull": {
      const { shape, scale } = spec;
      const g1 = gamma(1 + 1 / shape);
      const g2 = gamma(1 + 2 / shape);
      return {
        spec,
        mean: scale * g1,
        variance: scale * scale * (g2 - g1 * g1),
        sample: (r) => scale * Math.pow(-Math.log(1 - r.float()), 1 / shape),
      };
    }
    case "lognormal": {
      const { mu, sigma } = spec;
      const s2 = sigma * sigma;
      return {
        spec,
        mean: Math.exp(mu + s2 / 2),
        variance: (Math.exp(s2) - 1) * Math.exp(2 * mu + s2),
        sample: (r) => Math.exp(mu + sigma * standardNormal(r)),
      };
    }
    case "uniform": {
      const { min, max } = spec;
      const width = max - min;
      return { spec, mean: (min + max) / 2, variance: (width * width) / 12, sample: (r) => min + width * r.float() };
    }
    case "deterministic": {
      const { value } = spec;
      return { spec, mean: value, variance: 0, sample: () => value };
    }
    case "empirical": {
      const samples = spec.samples.slice();
      const n = samples.length;
      const mean = samples.reduce((a, b) => a + b, 0) / n;
      const variance = samples.reduce((a, x) => a + (x - mean) * (x - mean), 0) / n;
      return { spec, mean, variance, sample: (r) => samples[r.int(n)]! };
    }
  }
}

/**
 * A standard normal variate by the Box–Muller transform (Box & Muller 1958), using two uniforms
 * per call and discarding the second variate, so a stream's position never depends on a cache.
 */
export function standardNormal(random: Random): number {
  const u1 = 1 - random.float(); // (0, 1]
  const u2 = random.float();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * The gamma function by the Lanczos approximation with g = 7, n = 9 (Press et al., Numerical
 * Recipes 3rd ed. §6.1, coefficients of Godfrey), with the reflection formula below 1/2.
 * Relative error about 1e-15 for the arguments we use (1 + 1/k, 1 + 2/k).
 */
export function gamma(z: number): number {
  if (z < 0.5) return Math.PI / (Math.sin(Math.PI * z) * gamma(1 - z));
  const x = z - 1;
  let a = LANCZOS[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (x + i);
  return Math.sqrt(2 * Math.PI) * Math.pow(t, x + 0.5) * Math.exp(-t) * a;
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
