import type { TopLevelSpec } from "vega-lite";
import { responseText, type SensitivityResult } from "../experiment/sensitivity.js";
import { formatNumber, type ChartOrSkip } from "./chart.js";

/** A short row label for a scenario path: `host.hardware repair μ` for `failures.host.hardware.timeToRepairHours.mu`. */
const label = (path: string) =>
  path
    .replace(/^failures\./, "")
    .replace(/^maintenance\.rollingUpgrade\./, "maintenance ")
    .replace(/\.timeToFailureHours\.mean$/, " MTBF")
    .replace(/\.timeToRepairHours(\.mean)?$/, " repair")
    .replace(/\.timeToRepairHours\.mu$/, " repair (lognormal μ)");

/**
 * Tornado chart of a oneAtATime experiment: one row per path, sorted by swing, a bar from the
 * smallest to the largest mean effect of moving that path alone over its values (labelled), with
 * the 95 % interval of each end's paired effect (over the shared seeds) as a black rule.
 */
export function tornadoChart(result: SensitivityResult, name = `tornado-${result.experiment}`): ChartOrSkip {
  const bars = result.tornado ?? [];
  if (bars.length === 0) return { name, skipped: `experiment ${result.experiment}: no effect with runs (a oneAtATime experiment with finished runs is needed)` };
  const rows = bars.map((b, rank) => ({
    path: `${label(b.path)} (${b.low.baselineValue})`,
    rank,
    low: b.low.effect.mean,
    high: b.high.effect.mean,
    lowValue: `${formatNumber(Number(b.low.value))}`,
    highValue: `${formatNumber(Number(b.high.value))}`,
  }));
  const ends = bars.flatMap((b) => [b.low, b.high].map((e) => ({ path: `${label(b.path)} (${e.baselineValue})`, value: String(e.value), mean: e.effect.mean, ciLow: Number.isFinite(e.effect.ciLow) ? e.effect.ciLow : e.effect.mean, ciHigh: Number.isFinite(e.effect.ciHigh) ? e.effect.ciHigh : e.effect.mean, n: e.effect.n })));
  const y = { field: "path", type: "nominal", sort: rows.map((r) => r.path), title: null, axis: { labelLimit: 360 } } as const;
  const base = result.baseline ? `baseline ${formatNumber(result.baseline.mean)} [${formatNumber(result.baseline.ciLow)}, ${formatNumber(result.baseline.ciHigh)}]` : "";
  const spec = {
    title: {
      text: `Which assumption moves ${responseText(result.response)}?`,
      subtitle: [`experiment ${result.experiment} (one at a time, ${result.seeds} shared seeds; rows: path (baseline value)); ${base}`, "bar: effect of moving one path alone over its values (labels: the values at the ends); rules: 95 % CI of each end's paired effect"],
    },
    width: 520,
    height: { step: 34 },
    layer: [
      { data: { values: rows }, mark: { type: "bar", opacity: 0.55, color: "#4c78a8" }, encoding: { y, x: { field: "low", type: "quantitative", title: `effect on ${responseText(result.response)}` }, x2: { field: "high" } } },
      { data: { values: ends }, mark: { type: "rule", color: "black" }, encoding: { y, x: { field: "ciLow", type: "quantitative" }, x2: { field: "ciHigh" } } },
      {
        data: { values: ends },
        mark: { type: "point", filled: true, color: "black" },
        encoding: { y, x: { field: "mean", type: "quantitative" }, tooltip: [{ field: "path" }, { field: "value" }, { field: "mean", format: ".4~g" }, { field: "ciLow", format: ".4~g" }, { field: "ciHigh", format: ".4~g" }, { field: "n", title: "seeds" }] },
      },
      { data: { values: ends }, mark: { type: "text", dy: -11, fontSize: 10 }, encoding: { y, x: { field: "mean", type: "quantitative" }, text: { field: "value" } } },
      { data: { values: [{ zero: 0 }] }, mark: { type: "rule", strokeDash: [4, 3], color: "#888" }, encoding: { x: { field: "zero", type: "quantitative" } } },
    ],
  };
  return { name, title: spec.title.text, spec: spec as unknown as TopLevelSpec };
}

/** PRCC (with bootstrap intervals) and SRC of a Latin hypercube experiment, one row per path. */
export function prccChart(result: SensitivityResult, name = `prcc-${result.experiment}`): ChartOrSkip {
  const m = result.measures;
  if (!m) return { name, skipped: `experiment ${result.experiment}: not a latinHypercube experiment` };
  const rows = m.paths.flatMap((path, j) => [
    { path: label(path), measure: "PRCC", value: m.prcc[j]!.value, ciLow: m.prcc[j]!.ci[0], ciHigh: m.prcc[j]!.ci[1] },
    { path: label(path), measure: "SRC", value: m.src[j]!.value, ciLow: m.src[j]!.ci[0], ciHigh: m.src[j]!.ci[1] },
  ]);
  const order = m.paths.map((p, j) => [label(p), Math.abs(m.prcc[j]!.value)] as const).sort((a, b) => b[1] - a[1]).map(([p]) => p);
  const y = { field: "path", type: "nominal", sort: order, title: null, axis: { labelLimit: 360 } } as const;
  const spec = {
    title: {
      text: `Rank correlation of each assumption with ${responseText(result.response)}`,
      subtitle: [`experiment ${result.experiment}: Latin hypercube of ${m.points} points × ${result.seeds} shared seeds (response: mean over seeds)`, `PRCC and SRC with 95 % percentile bootstrap intervals; linear fit R² = ${formatNumber(m.rSquared.value)} [${formatNumber(m.rSquared.ci[0])}, ${formatNumber(m.rSquared.ci[1])}]`],
    },
    data: { values: rows },
    width: 480,
    height: { step: 22 },
    encoding: { y, yOffset: { field: "measure" }, color: { field: "measure", type: "nominal", title: null } },
    layer: [
      { mark: { type: "bar" }, encoding: { x: { field: "value", type: "quantitative", scale: { domain: [-1, 1] }, title: "coefficient" } } },
      { mark: { type: "rule", color: "black" }, encoding: { x: { field: "ciLow", type: "quantitative" }, x2: { field: "ciHigh" } } },
    ],
  };
  return { name, title: spec.title.text, spec: spec as unknown as TopLevelSpec };
}
