/** The part of jStat (npm `jstat`, no bundled types) that `src/stats` and `src/kernel` use. */
declare module "jstat" {
  interface JStat {
    studentt: {
      /** The quantile: the x with P(T ≤ x) = p for Student's t with `dof` degrees of freedom. */
      inv(p: number, dof: number): number;
      cdf(x: number, dof: number): number;
    };
    beta: {
      /** The quantile of Beta(a, b). */
      inv(p: number, a: number, b: number): number;
    };
    binomial: {
      /** P(X ≤ k) for X ~ Binomial(n, p). */
      cdf(k: number, n: number, p: number): number;
    };
    normal: {
      inv(p: number, mean: number, sd: number): number;
      cdf(x: number, mean: number, sd: number): number;
    };
  }
  const jStat: JStat;
  export default jStat;
}
