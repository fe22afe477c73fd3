import type { TopLevelSpec } from "vega-lite";
import type { BreakevenResult } from "../experiment/breakeven.js";
import { formatNumber, type Chart } from "./chart.js";

/**
 * A break-even search: the mean paired difference a − b at each probe with its 95 % interval, the
 * zero line, and the crossing (estimate and the band of values whose interval holds zero).
 */
export function breakevenChart(result: BreakevenResult, name = `breakeven-${result.question.path.replace(/[^A-Za-z0-9]+/g, "-")}`): Chart {
  const { path, pair, metric, seeds } = result.question;
  const probes = result.probes.map((p) => ({ value: p.value, mean: p.summary.mean, ciLow: p.summary.ciLow, ciHigh: p.summary.ciHigh, n: p.summary.n }));
  const x = { field: "value", type: "quantitative", title: path, scale: result.question.log ? { type: "log" } : { zero: false } } as const;
  const band = `${result.lowOpen ? "≤ " : ""}${formatNumber(result.low)} – ${formatNumber(result.high)}${result.highOpen ? " or more" : ""}`;
  const spec = {
    title: {
      text: [`Break-even of ${metric}: ${pair[0]} − ${pair[1]}`, `against ${path}`],
      subtitle: [`crossing at ${formatNumber(result.estimate)} (values not ruled out: ${band}); ${seeds.length} shared seeds per probe, ${result.runs} runs`, "points: mean difference per probe; bars: 95 % CI (Student t over seeds); shaded: where the CI holds 0"],
    },
    width: 720,
    height: 300,
    layer: [
      { data: { values: [{ low: result.low, high: result.high }] }, mark: { type: "rect", color: "#f2b701", opacity: 0.25 }, encoding: { x: { field: "low", type: "quantitative", scale: x.scale, title: path }, x2: { field: "high" } } },
      { data: { values: probes }, mark: { type: "rule" }, encoding: { x, y: { field: "ciLow", type: "quantitative", title: `${pair[0]} − ${pair[1]} (symlog)`, scale: { type: "symlog" } }, y2: { field: "ciHigh" } } },
      {
        data: { values: probes },
        mark: { type: "point", filled: true, size: 50 },
        encoding: { x, y: { field: "mean", type: "quantitative" }, tooltip: [{ field: "value" }, { field: "mean", format: ".4~g" }, { field: "ciLow", format: ".4~g" }, { field: "ciHigh", format: ".4~g" }, { field: "n", title: "seeds" }] },
      },
      { data: { values: [{ zero: 0 }] }, mark: { type: "rule", strokeDash: [4, 3], color: "#888" }, encoding: { y: { field: "zero", type: "quantitative" } } },
      { data: { values: [{ at: result.estimate }] }, mark: { type: "rule", color: "#c00" }, encoding: { x: { field: "at", type: "quantitative", scale: x.scale } } },
    ],
  };
  return { name, title: spec.title.text.join(), spec: spec as unknown as TopLevelSpec };
}
