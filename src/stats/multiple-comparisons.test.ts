import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { adjustPValues, familyConfidence, pairedTPValue } from "./multiple-comparisons.js";
import { summarize } from "./summary.js";

describe("adjustPValues", () => {
  it("follows the worked Holm example: 0.01, 0.04, 0.03, 0.005 → 0.03, 0.06, 0.06, 0.02", () => {
    // Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 → running max
    // 0.02, 0.03, 0.06, 0.06: at α = 0.05 Holm rejects the first two (as R's p.adjust does).
    const holm = adjustPValues([0.01, 0.04, 0.03, 0.005], "holm");
    [0.03, 0.06, 0.06, 0.02].forEach((p, i) => expect(holm[i]).toBeCloseTo(p, 12));
    const bonferroni = adjustPValues([0.01, 0.04, 0.03, 0.005], "bonferroni");
    [0.04, 0.16, 0.12, 0.02].forEach((p, i) => expect(bonferroni[i]).toBeCloseTo(p, 12));
  });

  it("leaves NaN (no test) out of the family", () => {
    const out = adjustPValues([0.01, NaN, 0.02], "bonferroni");
    expect(out[0]).toBeCloseTo(0.02, 12);
    expect(Number.isNaN(out[1])).toBe(true);
    expect(out[2]).toBeCloseTo(0.04, 12);
  });

  it("never goes below the raw p, never above Bonferroni, stays ≤ 1 and keeps the order", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }), (p) => {
        const holm = adjustPValues(p, "holm");
        const bonferroni = adjustPValues(p, "bonferroni");
        p.forEach((v, i) => {
          expect(holm[i]).toBeGreaterThanOrEqual(v);
          expect(holm[i]).toBeLessThanOrEqual(bonferroni[i]! + 1e-15);
          expect(bonferroni[i]).toBeLessThanOrEqual(1);
          p.forEach((w, j) => {
            if (v < w) expect(holm[i]).toBeLessThanOrEqual(holm[j]!);
          });
        });
      }),
    );
  });
});

describe("pairedTPValue", () => {
  it("gives the two-sided t-test p-value of the differences", () => {
    // mean 1, sd = 1 (values 0, 1, 2), n = 3: t = √3 = 1.7321, dof 2 → p = 0.2254 (t tables).
    expect(pairedTPValue(summarize([0, 1, 2]))).toBeCloseTo(0.2254, 4);
    expect(pairedTPValue(summarize([0, 0, 0]))).toBe(1);
    expect(pairedTPValue(summarize([2, 2]))).toBe(0);
    expect(Number.isNaN(pairedTPValue(summarize([1])))).toBe(true);
  });

  it("agrees with the interval: p < 0.05 exactly when the 95 % interval leaves out 0", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 3, maxLength: 20 }), (d) => {
        const s = summarize(d);
        fc.pre(s.sd > 1e-9 && Math.abs(Math.abs(s.mean) - (s.ciHigh - s.ciLow) / 2) > 1e-9);
        expect(pairedTPValue(s) < 0.05).toBe(s.ciLow > 0 || s.ciHigh < 0);
      }),
    );
  });
});

describe("familyConfidence", () => {
  it("makes each of m intervals at 1 − α/m under Holm or Bonferroni", () => {
    expect(familyConfidence(0.95, 10, "holm")).toBeCloseTo(0.995, 12);
    expect(familyConfidence(0.95, 10, "bonferroni")).toBeCloseTo(0.995, 12);
    expect(familyConfidence(0.95, 10, "none")).toBe(0.95);
  });
});
