/**
 * Rare-event durability at equal run time: importance sampling (balanced failure biasing) against
 * plain simulation of the same birth–death chain (`src/reliability/rare-event.ts`), each given
 * the same wall-clock budget; prints the relative errors of γ (loss per degraded period) and their
 * ratio, median of `--runs` repetitions.
 *
 *   node dist/bench/rare-event.js [--seconds 2] [--runs 5]
 */
import { estimateMttdl, exactLossPerCycle, plainLossPerCycle } from "../src/reliability/rare-event.js";

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const seconds = arg("--seconds", 2);
const runs = arg("--runs", 5);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** Runs `step(size)` with doubling sizes until `seconds` of wall time are spent; returns the last result and its size. */
function forSeconds<T>(step: (size: number) => T): { result: T; ms: number } {
  let size = 500;
  for (;;) {
    const started = performance.now();
    const result = step(size);
    const ms = performance.now() - started;
    if (ms >= seconds * 1000 || size > 1e9) return { result, ms };
    size = Math.ceil(size * Math.max(1.2, Math.min(8, (seconds * 1000) / Math.max(ms, 1))));
  }
}

const rows = [];
for (const [n, lambda, mu] of [[2, 1e-3, 1], [3, 1e-3, 1], [3, 1e-4, 1]] as const) {
  const gamma = exactLossPerCycle(n, lambda, mu);
  const ratios: number[] = [];
  const isRe: number[] = [];
  const plainRe: number[] = [];
  for (let r = 0; r < runs; r++) {
    const is = forSeconds((cycles) => estimateMttdl(n, lambda, mu, { cycles, seed: r + 1 }));
    const plain = forSeconds((jumps) => plainLossPerCycle(n, lambda, mu, jumps, r + 1));
    const plainRelativeError = Math.sqrt((1 - gamma) / (gamma * plain.result.cycles));
    isRe.push(is.result.relativeError);
    plainRe.push(plainRelativeError);
    ratios.push(plainRelativeError / is.result.relativeError);
  }
  rows.push({ copies: n, lambdaPerHour: lambda, muPerHour: mu, gamma, seconds, isRelativeError: median(isRe), plainRelativeError: median(plainRe), ratio: median(ratios) });
}
process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
