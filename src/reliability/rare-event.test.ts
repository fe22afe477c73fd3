import { describe, expect, it } from "vitest";
import { mttdlMarkov } from "./mttdl.js";
import { estimateMttdl, exactLossPerCycle, plainLossPerCycle } from "./rare-event.js";

describe("exactLossPerCycle", () => {
  it("is λ/(λ + μ) for two copies, and agrees with the MTTDL through E[C]/γ", () => {
    // N = 2: from 1 intact copy, down (loss) at λ, up at μ: γ = λ/(λ + μ); E[C] = 1/(2λ) + 1/(λ + μ).
    const [lambda, mu] = [0.01, 0.5];
    expect(exactLossPerCycle(2, lambda, mu)).toBeCloseTo(lambda / (lambda + mu), 14);
    expect((1 / (2 * lambda) + 1 / (lambda + mu)) / exactLossPerCycle(2, lambda, mu)).toBeCloseTo(mttdlMarkov(2, lambda, mu), 6);
  });
});

describe("estimateMttdl: importance sampling with balanced failure biasing", () => {
  // Accelerated rates (disks failing every 1 000 h, rebuilt in 1–10 h): the chain's answer is known exactly.
  const settings: [number, number, number][] = [
    [2, 1e-3, 0.1],
    [3, 1e-3, 0.1],
    [3, 1e-3, 1],
    [4, 1e-2, 1],
  ];
  for (const [n, lambda, mu] of settings) {
    it(`agrees with the Markov MTTDL and γ within 4 standard errors for N = ${n}, λ = ${lambda}, μ = ${mu}`, () => {
      const e = estimateMttdl(n, lambda, mu, { cycles: 20_000, seed: 3 });
      const gamma = exactLossPerCycle(n, lambda, mu);
      expect(Math.abs(e.lossPerCycle - gamma)).toBeLessThan(4 * e.lossPerCycleSe);
      const exact = mttdlMarkov(n, lambda, mu);
      expect(Math.abs(e.mttdlHours - exact)).toBeLessThan(4 * e.mttdlRelativeError * e.mttdlHours);
      expect(e.mttdlLow).toBeLessThan(e.mttdlHours);
      expect(e.mttdlHigh).toBeGreaterThan(e.mttdlHours);
    });
  }

  it("covers the exact MTTDL with its 95 % interval about 95 % of the time (4 standard errors)", () => {
    const trials = 200;
    const exact = mttdlMarkov(3, 1e-3, 0.1);
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      const e = estimateMttdl(3, 1e-3, 0.1, { cycles: 2_000, seed: 100 + t });
      if (e.mttdlLow <= exact && exact <= e.mttdlHigh) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.95 - 4 * Math.sqrt((0.95 * 0.05) / trials));
  });

  it("has a relative error at least 10× smaller than plain simulation's for the same number of jumps", () => {
    // 3 copies, λ/μ = 10⁻³: γ ≈ 2·10⁻⁶ per degraded period.
    const [n, lambda, mu] = [3, 1e-3, 1];
    const gamma = exactLossPerCycle(n, lambda, mu);
    const is = estimateMttdl(n, lambda, mu, { cycles: 5_000, seed: 9 });
    const plain = plainLossPerCycle(n, lambda, mu, is.jumps, 9);
    const plainRelativeError = Math.sqrt((1 - gamma) / (gamma * plain.cycles));
    expect(plainRelativeError / is.relativeError).toBeGreaterThan(10);
    expect(Math.abs(is.lossPerCycle - gamma)).toBeLessThan(4 * is.lossPerCycleSe);
  });
});
