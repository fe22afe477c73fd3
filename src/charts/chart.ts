import type { TopLevelSpec } from "vega-lite";

/**
 * A chart: a vega-lite spec with its data inlined (so that it can be restyled on its own) and
 * the file name it is written under. A chart that cannot be drawn from a database (no event log,
 * no sweep of the right parameter) is a `Skipped` with the reason, printed instead.
 */
export interface Chart {
  name: string;
  title: string;
  spec: TopLevelSpec;
}

export interface Skipped {
  name: string;
  skipped: string;
}

export type ChartOrSkip = Chart | Skipped;

export const isChart = (c: ChartOrSkip): c is Chart => "spec" in c;

/** A number for labels: 3 significant digits, no exponent for ordinary sizes. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3)) return x.toExponential(2);
  return String(Number(x.toPrecision(3)));
}
