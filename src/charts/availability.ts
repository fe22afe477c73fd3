import type { TopLevelSpec } from "vega-lite";
import type { ChartOrSkip } from "./chart.js";
import { MODEL_COLORS } from "./render.js";
import type { CellRow } from "../stats/summary.js";

/**
 * Chart 1: downtime per VM-year (or availability) against the hosts' mean time between
 * failures, one line per service model, with the 95 % confidence band of each cell mean.
 *
 * The x axis is the swept scenario path that sets a host failure rate (`failures.host.*
 * .timeToFailureHours.mean`, or any path naming `mtbf`); with several such paths (crash and
 * hardware swept together) the first in alphabetical order. Cells that differ in other swept
 * parameters are drawn in separate panels, one per combination.
 */
export const AVAILABILITY_METRICS = ["downtimeHoursPerVmYear", "availability"] as const;

const MTBF_PATH = /^failures\.host\..*timeToFailureHours(\.mean|\.scale)?$|mtbf/i;

export interface MtbfPoint {
  mtbfHours: number;
  serviceModel: string;
  mean: number;
  /** null where the interval is undefined (fewer than two seeds). */
  ciLow: number | null;
  ciHigh: number | null;
  n: number;
  panel: string;
}

/** The numeric swept paths among the cells that take at least two values. */
export function sweptPaths(cells: readonly CellRow[]): string[] {
  const values = new Map<string, Set<string>>();
  for (const row of cells) {
    for (const [path, value] of Object.entries(row.cell)) {
      let set = values.get(path);
      if (!set) values.set(path, (set = new Set()));
      set.add(JSON.stringify(value));
    }
  }
  return [...values].filter(([, v]) => v.size >= 2).map(([path]) => path).sort();
}

/**
 * The points of the first experiment in `cells` that sweeps a host failure rate (a database may
 * also hold runs of other experiments, or of plain scenarios with `cell: {}`).
 */
export function mtbfPoints(cells: readonly CellRow[], metric: string): { experiment: string; xPath: string; points: MtbfPoint[] } | null {
  const candidates = [...new Set(cells.flatMap((r) => Object.keys(r.cell)))].filter((p) => MTBF_PATH.test(p)).sort();
  for (const [experiment, xPath] of [...new Set(cells.map((r) => r.experiment))].flatMap((e) => candidates.map((p) => [e, p] as const))) {
    const rows = cells.filter((r) => r.experiment === experiment && typeof r.cell[xPath] === "number");
    const swept = sweptPaths(rows);
    if (!swept.includes(xPath)) continue;
    const others = swept.filter((p) => p !== xPath);
    const points = rows
      .filter((r) => r.metric === metric && Number.isFinite(r.summary.mean))
      .map((r) => ({
        mtbfHours: r.cell[xPath] as number,
        serviceModel: r.serviceModel,
        mean: r.summary.mean,
        ciLow: Number.isFinite(r.summary.ciLow) ? r.summary.ciLow : null,
        ciHigh: Number.isFinite(r.summary.ciHigh) ? r.summary.ciHigh : null,
        n: r.summary.n,
        panel: others.map((p) => `${p} = ${String(r.cell[p])}`).join(", "),
      }))
      .sort((a, b) => a.panel.localeCompare(b.panel) || a.serviceModel.localeCompare(b.serviceModel) || a.mtbfHours - b.mtbfHours);
    if (points.length > 0) return { experiment, xPath, points };
  }
  return null;
}

/** "host hardware MTBF (hours)" for failures.host.hardware.timeToFailureHours.mean; the path itself otherwise. */
function xTitle(path: string): string {
  const m = /^failures\.host\.(\w+)\.timeToFailureHours/.exec(path);
  return m ? `host ${m[1]} MTBF (hours, log scale)` : path;
}

export function availabilityChart(cells: readonly CellRow[]): ChartOrSkip {
  const name = "availability-vs-mtbf";
  for (const metric of AVAILABILITY_METRICS) {
    const found = mtbfPoints(cells, metric);
    if (!found) continue;
    const { experiment, xPath, points } = found;
    const downtime = metric === "downtimeHoursPerVmYear";
    const yTitle = downtime ? "downtime per VM-year (hours)" : "availability (fraction of demanded VM-time)";
    const xs = points.map((p) => p.mtbfHours);
    const logX = Math.max(...xs) / Math.min(...xs) >= 10;
    const lows = points.map((p) => p.ciLow ?? p.mean);
    const highs = points.map((p) => p.ciHigh ?? p.mean);
    const logY = downtime && lows.every((v) => v > 0) && Math.max(...highs) / Math.min(...lows) >= 20;
    const panels = new Set(points.map((p) => p.panel));
    const n = [...new Set(points.map((p) => p.n))].sort((a, b) => a - b);
    const x = { field: "mtbfHours", type: "quantitative", title: xTitle(xPath), scale: logX ? { type: "log" } : { zero: false } } as const;
    const color = { field: "serviceModel", type: "nominal", title: "service model", scale: MODEL_COLORS } as const;
    const layers = [
      {
        mark: { type: "line", point: true, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: "mean", type: "quantitative", title: yTitle, scale: logY ? { type: "log" } : { zero: downtime } },
          color,
          tooltip: [
            { field: "serviceModel", title: "model" },
            { field: "mtbfHours", title: "MTBF (h)" },
            { field: "mean", title: "mean", format: ".4~g" },
            { field: "ciLow", title: "95% CI low", format: ".4~g" },
            { field: "ciHigh", title: "95% CI high", format: ".4~g" },
            { field: "n", title: "seeds" },
          ],
        },
      },
      { transform: [{ filter: "isValid(datum.ciLow)" }], mark: { type: "area", opacity: 0.18 }, encoding: { x, y: { field: "ciLow", type: "quantitative" }, y2: { field: "ciHigh" }, color } },
    ];
    const title = {
      text: downtime ? "Downtime per VM-year vs host MTBF" : "Availability vs host MTBF",
      subtitle: [`experiment ${experiment}; x: ${xPath}`, `mean over ${n.join("/")} seeds per point; band: 95 % confidence interval of the mean (Student t)`],
    };
    const spec =
      panels.size > 1
        ? { title, data: { values: points }, facet: { field: "panel", type: "nominal", title: null }, columns: Math.min(3, panels.size), spec: { width: panels.size >= 3 ? 300 : 420, height: 280, layer: layers } }
        : { title, data: { values: points }, width: 560, height: 340, layer: layers };
    return { name, title: title.text, spec: spec as TopLevelSpec };
  }
  return { name, skipped: "no sweep of a host failure rate (a numeric failures.host.*.timeToFailureHours… path with two or more values) among the cells" };
}
