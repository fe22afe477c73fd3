import type { Random } from "../../../kernel/random.js";

/**
 * Unrecoverable read errors (UREs, latent sector errors found by a read): each bit read fails
 * independently with probability `ratePerBit` (disk datasheets quote "1 sector per 10^14 bits read"
 * for 2008 desktop SATA drives, 10^15 for enterprise ones). The number of errors in a read of
 * `bytes` is drawn as Poisson with mean λ = −bits·ln(1 − p), so that P(at least one) is exactly
 * 1 − (1 − p)^bits (inversion for λ ≤ 30, a rounded normal above).
 */
export function readErrors(random: Random, bytes: number, ratePerBit: number): number {
  if (ratePerBit <= 0 || bytes <= 0) return 0;
  const lambda = -bytes * 8 * Math.log1p(-ratePerBit);
  if (lambda > 30) {
    const z = Math.sqrt(-2 * Math.log(1 - random.float())) * Math.cos(2 * Math.PI * random.float());
    return Math.max(1, Math.round(lambda + Math.sqrt(lambda) * z));
  }
  const u = random.float();
  let k = 0;
  let p = Math.exp(-lambda);
  let cdf = p;
  while (u >= cdf && p > 0) {
    k++;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

/**
 * Data an unreadable sector takes with it, where no other copy holds it: the 4 MiB object around
 * it (the default object size of a Ceph RBD image; for a local array the same unit is assumed).
 */
export const DAMAGED_GIB_PER_ERROR = 4 / 1024;
