import jStat from "jstat";
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

/**
 * The time to the next renewal seen from a random instant of a stationary renewal process whose
 * intervals follow `spec` (the equilibrium forward-recurrence time: density S(x) / E[T], mean
 * E[T²] / 2E[T]; Cox, "Renewal Theory", 1962, §5.2). Sampled as U · L, L drawn length-biased
 * (density x f(x) / E[T]): exponential → the same exponential (memoryless); Weibull(k, λ) →
 * λ G^(1/k), G ~ Gamma(1 + 1/k); lognormal(μ, σ) → lognormal(μ + σ², σ); uniform(a, b) → inverse
 * of (x² − a²) / (b² − a²); deterministic v → v; empirical → a sample with probability ∝ its value.
 */
export function equilibriumResidual(spec: DistributionSpec, random: Random): number {
  switch (spec.type) {
    case "exponential":
      return -spec.mean * Math.log(1 - random.float());
    case "weibull":
      return random.float() * spec.scale * Math.pow(gammaVariate(1 + 1 / spec.shape, random), 1 / spec.shape);
    case "lognormal":
      return random.float() * Math.exp(spec.mu + spec.sigma * spec.sigma + spec.sigma * standardNormal(random));
    case "uniform": {
      const { min, max } = spec;
      return random.float() * Math.sqrt(min * min + random.float() * (max * max - min * min));
    }
    case "deterministic":
      return random.float() * spec.value;
    case "empirical": {
      const total = spec.samples.reduce((a, b) => a + b, 0);
      if (total === 0) return 0;
      let target = random.float() * total;
      for (const x of spec.samples) {
        if (target < x) return random.float() * x;
        target -= x;
      }
      return random.float() * spec.samples[spec.samples.length - 1]!;
    }
  }
}

/**
 * The life left to a component of age `age` that has not failed yet: T − a given T > a, sampled
 * by inversion of its survival S(a + x) / S(a) (Barlow & Proschan, 1965, the residual life).
 * Exponential → the same exponential (memoryless); Weibull(k, λ) → λ((a/λ)^k + E)^(1/k) − a,
 * E ~ Exp(1); lognormal → exp(μ + σ Φ⁻¹(Φ(z_a) + U(1 − Φ(z_a)))) − a; uniform(min, max) →
 * uniform over (max(a, min), max) − a; empirical → a sample above a, uniformly, minus a. Past the
 * largest value the distribution allows (deterministic v ≤ a, uniform max ≤ a, no sample above a)
 * the component is worn out and fails at once (0); a lognormal whose S(a) underflows never fails.
 */
export function residualLife(spec: DistributionSpec, age: number, random: Random): number {
  if (age <= 0) return distribution(spec).sample(random);
  switch (spec.type) {
    case "exponential":
      return -spec.mean * Math.log(1 - random.float());
    case "weibull": {
      const { shape, scale } = spec;
      return scale * Math.pow(Math.pow(age / scale, shape) - Math.log(1 - random.float()), 1 / shape) - age;
    }
    case "lognormal": {
      if (spec.sigma === 0) return Math.max(0, Math.exp(spec.mu) - age);
      const below = jStat.normal.cdf((Math.log(age) - spec.mu) / spec.sigma, 0, 1);
      const u = below + random.float() * (1 - below);
      return u >= 1 ? Infinity : Math.max(0, Math.exp(spec.mu + spec.sigma * jStat.normal.inv(u, 0, 1)) - age);
    }
    case "uniform": {
      const from = Math.max(age, spec.min);
      return from >= spec.max ? 0 : from + random.float() * (spec.max - from) - age;
    }
    case "deterministic":
      return Math.max(0, spec.value - age);
    case "empirical": {
      const above = spec.samples.filter((x) => x > age);
      return above.length === 0 ? 0 : above[Math.min(above.length - 1, Math.floor(random.float() * above.length))]! - age;
    }
  }
}

/** A Gamma(shape, 1) variate, shape ≥ 1, by Marsaglia & Tsang's squeeze method (ACM TOMS 26, 2000). */
export function gammaVariate(shape: number, random: Random): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = standardNormal(random);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    if (Math.log(1 - random.float()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}
