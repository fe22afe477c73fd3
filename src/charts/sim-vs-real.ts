import type { TopLevelSpec } from "vega-lite";
import type { Chart } from "./chart.js";

/** One metric of `testbed compare`: its mean and 95 % interval per side. */
export interface ComparedPoint {
  metric: string;
  side: "simulated" | "real";
  n: number;
  mean: number;
  ciLow: number | null;
  ciHigh: number | null;
}

/**
 * "Simulated vs real": per metric (one panel each, its own scale), the mean of the simulated
 * runs and of the live runs with their 95 % intervals (none with fewer than two runs).
 */
export function simVsRealChart(points: readonly ComparedPoint[], note: string): Chart {
  const metrics = [...new Set(points.map((p) => p.metric))];
  const color = { field: "side", type: "nominal", scale: { domain: ["simulated", "real"], range: ["#7570b3", "#d95f02"] }, legend: null };
  const spec = {
    title: { text: "Simulated vs real", subtitle: [note] },
    data: { values: points.map((p) => ({ ...p, ciLow: p.ciLow ?? p.mean, ciHigh: p.ciHigh ?? p.mean })) },
    vconcat: metrics.map((metric) => ({
      title: { text: metric, anchor: "start", fontSize: 12 },
      width: 480,
      height: 60,
      transform: [{ filter: { field: "metric", equal: metric } }],
      layer: [
        { mark: { type: "rule", strokeWidth: 2 }, encoding: { x: { field: "ciLow", type: "quantitative", title: null, scale: { zero: false } }, x2: { field: "ciHigh" }, y: { field: "side", type: "nominal", title: null, sort: ["simulated", "real"] }, color } },
        {
          mark: { type: "point", filled: true, size: 80 },
          encoding: {
            x: { field: "mean", type: "quantitative" },
            y: { field: "side", type: "nominal", sort: ["simulated", "real"] },
            color,
            tooltip: [{ field: "metric" }, { field: "side" }, { field: "n" }, { field: "mean", format: ".4~g" }, { field: "ciLow", format: ".4~g" }, { field: "ciHigh", format: ".4~g" }],
          },
        },
      ],
    })),
  } as unknown as TopLevelSpec;
  return { name: "sim-vs-real", title: "Simulated vs real", spec };
}
