/** The experiment statistics the charts and the report draw from (`src/stats/summary.ts`). */
export type { CellRow, MetricSummary, PairedDiffRow } from "../stats/summary.js";
