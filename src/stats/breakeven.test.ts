import { describe, expect, it } from "vitest";
import { Random } from "../kernel/random.js";
import { findCrossing, NoCrossing } from "./breakeven.js";

/**
 * A synthetic paired difference linear in v: per seed, slope·(v − v0) + a seed effect (what common
 * random numbers share across v) + a small noise that depends on v and the seed.
 */
function linear(v0: number, slope: number, seeds: number, trial: number) {
  const seedEffects = Array.from({ length: seeds }, (_, s) => {
    const r = Random.fromSeed(trial * 1000 + s).fork("seed");
    return 2 * (r.float() - 0.5) * 3;
  });
  return (v: number) =>
    seedEffects.map((e, s) => {
      const r = Random.fromSeed(trial * 1000 + s).fork(`at ${v}`);
      return slope * (v - v0) + e + 0.3 * (r.float() - 0.5);
    });
}

describe("findCrossing on a synthetic linear response", () => {
  it("recovers the crossing within its interval, and the interval covers it ≥ 95 % of the time (4 standard errors)", () => {
    const trials = 200;
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      const c = findCrossing(linear(3.7, 2, 10, t), 0, 10);
      expect(c.low).toBeLessThanOrEqual(c.estimate);
      expect(c.high).toBeGreaterThanOrEqual(c.estimate);
      if (c.low <= 3.7 && 3.7 <= c.high) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.95 - 4 * Math.sqrt((0.95 * 0.05) / trials));
  });

  it("finds the crossing of the mean to within a small share of the range in a few probes", () => {
    const f = linear(3.7, 2, 10, 1);
    const c = findCrossing(f, 0, 10, { probes: 6 });
    const meanAt = (v: number) => f(v).reduce((s, x) => s + x, 0) / 10;
    expect(Math.abs(meanAt(c.estimate))).toBeLessThan(0.05);
    expect(c.probes.length).toBeLessThanOrEqual(2 + 6 + 2);
  });

  it("works on a log scale", () => {
    const c = findCrossing((v) => [Math.log10(v) - 2, Math.log10(v) - 2.1, Math.log10(v) - 1.9], 1, 1e5, { log: true });
    expect(c.estimate).toBeCloseTo(100, 6);
    expect(c.low).toBeLessThan(100);
    expect(c.high).toBeGreaterThan(100);
  });

  it("refuses a range without a crossing, saying what it found at both ends", () => {
    expect(() => findCrossing(() => [1, 2, 3], 0, 10)).toThrow(NoCrossing);
    expect(() => findCrossing(() => [1, 2, 3], 0, 10)).toThrow(/no crossing between 0 and 10: the mean difference is 2 \[.*\] at 0 and 2 \[.*\] at 10/);
  });
});
