import jStat from "jstat";

/**
 * Quantile of Student's t distribution: the x with P(T ≤ x) = p for `dof` degrees of freedom.
 * simple-statistics has no inverse t CDF; jStat's inverts the regularized incomplete beta
 * function (Numerical Recipes' `ibetainv`: an initial guess refined by Halley steps), accurate
 * to about 1e-9 against the tables (checked in `t-distribution.test.ts`).
 */
export function tQuantile(p: number, dof: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`tQuantile: expected 0 < p < 1, got ${p}`);
  if (!(dof > 0)) throw new RangeError(`tQuantile: expected dof > 0, got ${dof}`);
  return jStat.studentt.inv(p, dof);
}
