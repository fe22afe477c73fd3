import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Random } from "../kernel/random.js";
import { bootstrapSensitivity, leastSquares, ranks, sensitivityMeasures } from "./sensitivity.js";

/** n points, inputs uniform on [0, 1), y = Σ b_j x_j + normal noise of sd `noise`. */
function synthetic(n: number, b: number[], noise: number, seed = 7, shape: (v: number) => number = (v) => v) {
  const random = Random.fromSeed(seed).fork("synthetic");
  const normal = () => Math.sqrt(-2 * Math.log(1 - random.float())) * Math.cos(2 * Math.PI * random.float());
  const x = Array.from({ length: n }, () => b.map(() => random.float()));
  const y = x.map((row) => shape(row.reduce((s, v, j) => s + b[j]! * v, 0)) + noise * normal());
  return { x, y };
}

describe("leastSquares", () => {
  it("recovers an exact linear relation", () => {
    const x = [[0, 1], [1, 0], [2, 3], [3, 1], [4, 4]];
    const y = x.map(([a, b]) => 1 + 2 * a! - 3 * b!);
    const fit = leastSquares(x, y);
    expect(fit.coefficients[0]).toBeCloseTo(2, 10);
    expect(fit.coefficients[1]).toBeCloseTo(-3, 10);
    expect(Math.max(...fit.residuals.map(Math.abs))).toBeLessThan(1e-9);
  });

  it("refuses collinear inputs with a reason", () => {
    expect(() => leastSquares([[1, 2], [2, 4], [3, 6], [4, 8]], [1, 2, 3, 4])).toThrow(/collinear/);
  });
});

describe("ranks", () => {
  it("gives tied values their mean rank", () => {
    expect(ranks([10, 30, 20, 20])).toEqual([1, 4, 2.5, 2.5]);
  });
});

describe("sensitivityMeasures on a synthetic response with a known ranking", () => {
  // y = 5·x1 − 2·x2 + 0.5·x3 + N(0, 0.5²), x ~ U(0, 1): var x = 1/12, var y = 29.25/12 + 0.25.
  const b = [5, -2, 0.5];
  const noise = 0.5;
  const n = 400;
  const varY = b.reduce((s, v) => s + (v * v) / 12, 0) + noise * noise;
  const trueSrc = b.map((v) => (v * Math.sqrt(1 / 12)) / Math.sqrt(varY));
  const trueR2 = 1 - (noise * noise) / varY;

  it("gives SRC_j = b_j·sd(x_j)/sd(y) and R² = explained share, within 4 standard errors", () => {
    const { x, y } = synthetic(n, b, noise);
    const m = sensitivityMeasures(x, y);
    // Standard error of a standardized coefficient with independent inputs: √((1 − R²)/n).
    const se = Math.sqrt((1 - trueR2) / n);
    m.src.forEach((v, j) => expect(Math.abs(v - trueSrc[j]!)).toBeLessThan(4 * se));
    // R² of n points: standard error ≈ 2·√R²·(1 − R²)/√n (delta method, Fisher's normal approximation).
    expect(Math.abs(m.rSquared - trueR2)).toBeLessThan(4 * ((2 * Math.sqrt(trueR2) * (1 - trueR2)) / Math.sqrt(n)));
  });

  it("ranks the inputs by |PRCC| as by |b_j|, with the signs of b", () => {
    const { x, y } = synthetic(n, b, noise);
    const { prcc } = sensitivityMeasures(x, y);
    expect(Math.abs(prcc[0]!)).toBeGreaterThan(Math.abs(prcc[1]!));
    expect(Math.abs(prcc[1]!)).toBeGreaterThan(Math.abs(prcc[2]!));
    expect(prcc.map(Math.sign)).toEqual([1, -1, 1]);
  });

  it("sees a monotone but strongly non-linear effect through PRCC where the linear fit loses R²", () => {
    const { x, y } = synthetic(n, [8, 0.1], 0.01, 3, Math.exp);
    const m = sensitivityMeasures(x, y);
    expect(m.prcc[0]).toBeGreaterThan(0.99);
    expect(m.rSquared).toBeLessThan(0.9);
  });

  it("gives bootstrap intervals that cover the true SRC 95 % of the time (4 standard errors) and separate the ranking", () => {
    // 40 data sets of 200 points, every SRC: 120 intervals (not independent within a data set).
    const datasets = 40;
    let covered = 0;
    for (let d = 0; d < datasets; d++) {
      const { x, y } = synthetic(200, b, noise, 500 + d);
      const boot = bootstrapSensitivity(x, y, { resamples: 150, seed: d });
      boot.src.forEach(([lo, hi], j) => (covered += lo <= trueSrc[j]! && trueSrc[j]! <= hi ? 1 : 0));
    }
    expect(covered / (3 * datasets)).toBeGreaterThan(0.95 - 4 * Math.sqrt((0.95 * 0.05) / datasets));
    const { x, y } = synthetic(120, b, noise, 11);
    const boot = bootstrapSensitivity(x, y, { resamples: 400, seed: 2 });
    expect(boot.prcc[0]![0]).toBeGreaterThan(boot.prcc[2]![1]);
    expect(bootstrapSensitivity(x, y, { resamples: 50, seed: 2 })).toEqual(bootstrapSensitivity(x, y, { resamples: 50, seed: 2 }));
  });

  it("keeps every PRCC and SRC in [−1, 1] and R² in [0, 1] for random data", () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 40 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (points, k, seed) => {
        const { x, y } = synthetic(points, Array.from({ length: k }, (_, j) => j - 1), 1, seed);
        const m = sensitivityMeasures(x, y);
        for (const v of m.prcc) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-9);
        expect(m.rSquared).toBeGreaterThanOrEqual(-1e-9);
        expect(m.rSquared).toBeLessThanOrEqual(1 + 1e-9);
      }),
      { numRuns: 50 },
    );
  });
});
