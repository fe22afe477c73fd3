import { describe, expect, it } from "vitest";
import { modelPairs, replicationFlag, summarize, welchDifference } from "./summary.js";
import { tQuantile } from "./t-distribution.js";

describe("summarize", () => {
  it("gives n, mean, the n − 1 standard deviation and the Student-t 95 % interval", () => {
    // mean 5, sd = sqrt(10/4) = 1.5811; half-width t(0.975, 4) · sd / √5 = 2.7764 · 0.70711 = 1.9632
    const s = summarize([3, 4, 5, 6, 7]);
    expect(s.n).toBe(5);
    expect(s.mean).toBe(5);
    expect(s.sd).toBeCloseTo(1.58114, 5);
    expect(s.ciLow).toBeCloseTo(5 - 1.96324, 4);
    expect(s.ciHigh).toBeCloseTo(5 + 1.96324, 4);
  });

  it("has no spread and no interval for fewer than two values", () => {
    expect(summarize([])).toMatchObject({ n: 0 });
    expect(Number.isNaN(summarize([]).mean)).toBe(true);
    const one = summarize([4]);
    expect(one).toMatchObject({ n: 1, mean: 4 });
    expect(Number.isNaN(one.sd) && Number.isNaN(one.ciLow) && Number.isNaN(one.ciHigh)).toBe(true);
  });

  it("gives a zero-width interval for identical values", () => {
    expect(summarize([2, 2, 2])).toEqual({ n: 3, mean: 2, sd: 0, ciLow: 2, ciHigh: 2 });
  });
});

describe("welchDifference", () => {
  it("gives the Welch interval with Welch–Satterthwaite degrees of freedom", () => {
    // a: mean 5, variance 2.5, n 5; b: mean 2, variance 5/6, n 4.
    // se² = 2.5/5 + (5/6)/4 = 0.708333; dof = se⁴ / (0.5²/4 + 0.208333²/3) = 6.519
    const d = welchDifference([3, 4, 5, 6, 7], [1, 1.5, 2.5, 3]);
    const se = Math.sqrt(0.5 + 5 / 24);
    const dof = se ** 4 / (0.25 / 4 + (5 / 24) ** 2 / 3);
    expect(dof).toBeCloseTo(6.519, 3);
    expect(d.mean).toBeCloseTo(3, 12);
    expect(d.sd).toBeCloseTo(se, 12);
    expect(d.ciHigh - d.mean).toBeCloseTo(tQuantile(0.975, dof) * se, 10);
    expect(tQuantile(0.975, dof)).toBeGreaterThan(2.365); // between t(0.975, 7) and t(0.975, 6)
    expect(tQuantile(0.975, dof)).toBeLessThan(2.447);
  });
});

describe("modelPairs", () => {
  it("compares the thesis model with each other model, then vps with ephemeral", () => {
    expect(modelPairs(["vps", "persistent-ha", "ephemeral"])).toEqual([
      ["persistent-ha", "ephemeral"],
      ["persistent-ha", "vps"],
      ["vps", "ephemeral"],
    ]);
    expect(modelPairs(["vps"])).toEqual([]);
  });
});

describe("replicationFlag", () => {
  it("flags t intervals with fewer than 5 runs away from the most common value, and none of the exact ones", () => {
    expect(replicationFlag([0, 0, 0, 0, 0, 0, 0, 0, 3, 1], "student-t")).toMatch(/only 2 of 10 runs differ/);
    expect(replicationFlag([0, 0, 0], "student-t")).toMatch(/all 3 runs equal/);
    expect(replicationFlag([1, 2, 3], "student-t")).toMatch(/3 runs: too few/);
    expect(replicationFlag([4], "student-t")).toMatch(/no interval/);
    expect(replicationFlag([1, 2, 3, 4, 5, 6], "student-t")).toBeUndefined();
    expect(replicationFlag([0, 0, 0], "clopper-pearson")).toBeUndefined();
  });
});
