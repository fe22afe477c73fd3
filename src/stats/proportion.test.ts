import fc from "fast-check";
import jStat from "jstat";
import { describe, expect, it } from "vitest";
import { clopperPearson, mcnemarExactPValue, pairedProportionDifference, summarizeProportion } from "./proportion.js";

/** P(X ≤ k), X ~ Binomial(n, p), summed term by term: the definition the bounds must satisfy. */
function binomialCdf(k: number, n: number, p: number): number {
  let term = (1 - p) ** n;
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term *= ((n - i) / (i + 1)) * (p / (1 - p));
  }
  return sum;
}

describe("clopperPearson", () => {
  // Exact 95 % intervals as tabulated (R: binom.test(k, n)$conf.int; Clopper–Pearson tables).
  const table: [number, number, number, number][] = [
    [0, 10, 0, 0.3085],
    [1, 10, 0.0025, 0.445],
    [5, 10, 0.1871, 0.8129],
    [10, 10, 0.6915, 1],
    [3, 20, 0.0321, 0.3789],
    [0, 30, 0, 0.1157],
  ];
  for (const [k, n, low, high] of table) {
    it(`gives [${low}, ${high}] for ${k} of ${n}, as the tables do`, () => {
      const ci = clopperPearson(k, n);
      expect(ci.low).toBeCloseTo(low, 4);
      expect(ci.high).toBeCloseTo(high, 4);
    });
  }

  it("gives a zero count its upper bound 1 − (α/2)^(1/n), never [0, 0]", () => {
    for (const n of [1, 5, 10, 100]) expect(clopperPearson(0, n).high).toBeCloseTo(1 - 0.025 ** (1 / n), 10);
  });

  it("puts exactly α/2 of the binomial in each tail at its bounds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, share) => {
        const k = Math.min(n, Math.floor(share * (n + 1)));
        const { low, high } = clopperPearson(k, n);
        if (k < n) expect(binomialCdf(k, n, high)).toBeCloseTo(0.025, 6);
        if (k > 0) expect(1 - binomialCdf(k - 1, n, low)).toBeCloseTo(0.025, 6);
        expect(low).toBeLessThanOrEqual(k / n);
        expect(high).toBeGreaterThanOrEqual(k / n);
      }),
    );
  });

  it("refuses counts outside 0..n", () => {
    expect(() => clopperPearson(11, 10)).toThrow(/expected 0 ≤ successes ≤ 10, got 11/);
    expect(() => clopperPearson(0, 0)).toThrow(/expected n ≥ 1/);
  });
});

describe("summarizeProportion", () => {
  it("summarizes 0 data losses in 10 runs as 0 with the interval [0, 0.31]", () => {
    const s = summarizeProportion(Array(10).fill(0));
    expect(s).toMatchObject({ n: 10, mean: 0, ciLow: 0 });
    expect(s.ciHigh).toBeCloseTo(0.3085, 4);
  });

  it("refuses values other than 0 and 1", () => {
    expect(() => summarizeProportion([0, 2])).toThrow(/0 or 1/);
  });
});

describe("pairedProportionDifference", () => {
  it("joins the two 97.5 % exact intervals, so 0 vs 0 in 10 is not [0, 0]", () => {
    const s = pairedProportionDifference(Array.from({ length: 10 }, () => [0, 0] as const));
    const high = clopperPearson(0, 10, 0.975).high;
    expect(s.mean).toBe(0);
    expect(s.ciLow).toBeCloseTo(-high, 12);
    expect(s.ciHigh).toBeCloseTo(high, 12);
  });

  it("covers the true difference at least 95 % of the time (simulated, 4 standard errors)", () => {
    // Correlated pairs like common random numbers make: a = 1 with p 0.3, b = a or a fresh draw.
    let state = 12345;
    const uniform = () => ((state = (state * 1103515245 + 12345) % 2 ** 31), state / 2 ** 31);
    const trials = 2000;
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      const pairs = Array.from({ length: 20 }, () => {
        const a = uniform() < 0.3 ? 1 : 0;
        const b = uniform() < 0.5 ? a : uniform() < 0.1 ? 1 : 0;
        return [a, b] as const;
      });
      const s = pairedProportionDifference(pairs);
      const truth = 0.3 - (0.5 * 0.3 + 0.5 * 0.1);
      if (s.ciLow <= truth && truth <= s.ciHigh) covered++;
    }
    const se = Math.sqrt((0.95 * 0.05) / trials);
    expect(covered / trials).toBeGreaterThan(0.95 - 4 * se);
  });
});

describe("mcnemarExactPValue", () => {
  it("is 2·P(X ≤ min(b, c)) over the discordant pairs, and 1 without any", () => {
    // b = 5 discordant (1, 0), c = 0: p = 2 · 0.5^5 = 0.0625.
    const pairs = [...Array(5).fill([1, 0]), ...Array(5).fill([0, 0])] as [number, number][];
    expect(mcnemarExactPValue(pairs)).toBeCloseTo(0.0625, 12);
    expect(mcnemarExactPValue([[1, 1], [0, 0]])).toBe(1);
    // b = 8, c = 2 of 10 discordant: 2 · P(X ≤ 2 | 10, ½) = 2 · 56/1024.
    const mixed = [...Array(8).fill([1, 0]), ...Array(2).fill([0, 1])] as [number, number][];
    expect(mcnemarExactPValue(mixed)).toBeCloseTo((2 * 56) / 1024, 12);
    expect(jStat.binomial.cdf(2, 10, 0.5)).toBeCloseTo(56 / 1024, 12);
  });
});
