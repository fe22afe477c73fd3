import { describe, expect, it } from "vitest";
import { tQuantile } from "./t-distribution.js";

describe("tQuantile", () => {
  // Two-sided 95 % (p = 0.975) and 99 % (p = 0.995) critical values from the standard table.
  const table: [number, number, number][] = [
    [0.975, 1, 12.706],
    [0.975, 2, 4.303],
    [0.975, 4, 2.776],
    [0.975, 9, 2.262],
    [0.975, 29, 2.045],
    [0.975, 120, 1.98],
    [0.995, 3, 5.841],
    [0.995, 10, 3.169],
    [0.95, 5, 2.015],
  ];
  for (const [p, dof, value] of table) {
    it(`gives t(${p}, ${dof}) = ${value} to the table's three decimals`, () => {
      expect(tQuantile(p, dof)).toBeCloseTo(value, 3);
    });
  }

  it("is symmetric around zero and tends to the normal quantile 1.960 for many degrees of freedom", () => {
    expect(tQuantile(0.025, 7)).toBeCloseTo(-tQuantile(0.975, 7), 10);
    expect(tQuantile(0.5, 7)).toBeCloseTo(0, 10);
    expect(tQuantile(0.975, 1e6)).toBeCloseTo(1.959964, 5);
  });

  it("accepts the fractional degrees of freedom of Welch's test", () => {
    const t = tQuantile(0.975, 4.5);
    expect(t).toBeLessThan(tQuantile(0.975, 4));
    expect(t).toBeGreaterThan(tQuantile(0.975, 5));
  });

  it("refuses a probability outside (0, 1) and degrees of freedom ≤ 0", () => {
    expect(() => tQuantile(1, 3)).toThrow(/0 < p < 1/);
    expect(() => tQuantile(0.975, 0)).toThrow(/dof > 0/);
  });
});
