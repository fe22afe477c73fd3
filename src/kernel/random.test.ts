import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Random } from "./random.js";

describe("Random", () => {
  it("reproduces the xoshiro128** reference outputs for state (1, 2, 3, 4)", () => {
    // Computed with the reference C code of xoshiro128** 1.1 (prng.di.unimi.it).
    const r = Random.fromState(1, 2, 3, 4);
    const out = Array.from({ length: 8 }, () => r.nextUint32());
    expect(out).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
  });

  it("seeds its state with SplitMix64 as the reference code does", () => {
    // Reference: x = 42; two splitmix64() outputs split into four 32-bit words, then next() × 5.
    const r = Random.fromSeed(42);
    expect(Array.from({ length: 5 }, () => r.nextUint32())).toEqual([1776835114, 4165204688, 17111135, 2317295270, 2792088233]);
  });

  it("gives floats in [0, 1)", () => {
    const r = Random.fromSeed(7);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = r.float();
      if (!(u >= 0 && u < 1)) outside++;
    }
    expect(outside).toBe(0);
  });

  it("draws integers in [0, n) with frequencies that pass a chi-square test", () => {
    const r = Random.fromSeed(3);
    const n = 10;
    const draws = 100_000;
    const counts = new Array(n).fill(0);
    for (let i = 0; i < draws; i++) counts[r.int(n)]++;
    const expected = draws / n;
    const chi2 = counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: P(χ² > 27.88) = 0.001.
    expect(chi2).toBeLessThan(27.88);
  });

  it("forks the same stream for the same label however the other streams were used", () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.nat({ max: 2 }), { maxLength: 60 }), (seed, usage) => {
        const a = Random.fromSeed(seed);
        const b = Random.fromSeed(seed);
        // In run a, the parent and a sibling stream are used in some order before forking.
        const sibling = a.fork("workload");
        for (const u of usage) (u === 0 ? a : sibling).nextUint32();
        const failuresA = a.fork("failures");
        for (const u of usage) if (u === 2) sibling.float();
        const failuresB = b.fork("failures");
        const xs = Array.from({ length: 8 }, () => failuresA.nextUint32());
        const ys = Array.from({ length: 8 }, () => failuresB.nextUint32());
        expect(xs).toEqual(ys);
      }),
      { verbose: true },
    );
  });

  it("gives different labels and different seeds different streams", () => {
    const root = Random.fromSeed(1);
    const first = (r: Random) => Array.from({ length: 4 }, () => r.nextUint32());
    expect(first(root.fork("failures"))).not.toEqual(first(root.fork("workload")));
    expect(first(root.fork("failures"))).not.toEqual(first(Random.fromSeed(2).fork("failures")));
    expect(first(root.fork("a").fork("b"))).not.toEqual(first(root.fork("b").fork("a")));
  });

  it("gives forked streams that are uncorrelated with their parent", () => {
    const parent = Random.fromSeed(11);
    const child = parent.fork("x");
    const n = 50_000;
    let sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
    for (let i = 0; i < n; i++) {
      const x = parent.float();
      const y = child.float();
      sx += x; sy += y; sxy += x * y; sxx += x * x; syy += y * y;
    }
    const r = (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
    // Under independence r ≈ Normal(0, 1/n): |r| < 4.4/√n fails with probability 1e-5.
    expect(Math.abs(r)).toBeLessThan(4.4 / Math.sqrt(n));
  });
});
