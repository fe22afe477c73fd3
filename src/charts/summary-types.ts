import type { ServiceModel } from "../model/events.js";

/**
 * The shapes of the experiment statistics (`src/stats/summary.ts` on the experiments branch),
 * copied here so that the charts can be written against them before that module lands; replace
 * this file by a re-export once it does.
 */
export interface MetricSummary {
  n: number;
  mean: number;
  sd: number;
  ciLow: number;
  ciHigh: number;
}

/** One cell of a sweep (scenario path → value), one service model, one metric. */
export interface CellRow {
  experiment: string;
  cell: Record<string, number | string | boolean>;
  serviceModel: ServiceModel;
  metric: string;
  summary: MetricSummary;
}

/** The paired difference a − b of one metric over the seeds of one cell. */
export interface PairedDiffRow {
  experiment: string;
  cell: Record<string, number | string | boolean>;
  metric: string;
  a: ServiceModel;
  b: ServiceModel;
  summary: MetricSummary;
}
