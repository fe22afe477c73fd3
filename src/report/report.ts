import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { isChart, type ChartOrSkip } from "../charts/chart.js";
import { themed } from "../charts/render.js";
import type { CellRow, MetricSummary, PairedDiffRow } from "../stats/summary.js";
import type { RunMetrics } from "../metrics/run-metrics.js";
import type { RunRecord } from "../event-store/event-store.js";
import { breakevenText, type BreakevenResult } from "../experiment/breakeven.js";
import { sensitivityText, type SensitivityResult } from "../experiment/sensitivity.js";

/**
 * The HTML report of a results database: one self-contained page — vega, vega-lite and
 * vega-embed are inlined from node_modules (their browser builds), the chart specs carry their
 * data — so it opens offline, from a file, anywhere. It holds the runs, the per-cell means with
 * their 95 % confidence intervals, the paired differences between service models, and the charts,
 * interactive (tooltips). When every chart has rendered, `<body data-charts-rendered>` holds their
 * number and `data-charts-failed` the number that failed (a failed one says why in its box).
 */
export interface ReportInput {
  db: string;
  runs: readonly RunRecord[];
  cells: readonly CellRow[];
  paired: readonly PairedDiffRow[];
  charts: readonly ChartOrSkip[];
  /** Sensitivity of the designed experiments, and break-even searches: their text in "Which assumptions decide the ranking". */
  sensitivity?: readonly SensitivityResult[];
  breakeven?: readonly BreakevenResult[];
}

const LIBRARIES = [
  ["vega", "vega.min.js"],
  ["vega-lite", "vega-lite.min.js"],
  ["vega-embed", "vega-embed.min.js"],
] as const;

/** The browser (UMD) builds of vega, vega-lite and vega-embed, from the installed packages. */
export function libraryScripts(): string[] {
  const require = createRequire(import.meta.url);
  return LIBRARIES.map(([pkg, file]) => readFileSync(join(dirname(require.resolve(pkg)), file), "utf8"));
}

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Text safe inside a `<script>` element: no `</script` (nor `<!--`) can end it early. */
const scriptText = (s: string) => s.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");

function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3)) return x.toExponential(digits - 1);
  // Shares close to 1 (availability) need the digits after the nines.
  return String(Number(x.toPrecision(Math.abs(x) > 0.99 && Math.abs(x) < 1 ? Math.max(digits, 6) : digits)));
}

const meanCi = (s: MetricSummary) => `${fmt(s.mean)} <span class="ci">[${fmt(s.ciLow)}, ${fmt(s.ciHigh)}]</span>`;
const cellText = (cell: Record<string, unknown>) =>
  Object.keys(cell).length === 0 ? "the scenario as written" : Object.entries(cell).map(([k, v]) => `${escapeHtml(k)} = ${escapeHtml(String(v))}`).join(", ");

function table(headers: string[], rows: string[][]): string {
  const head = `<tr>${headers.map((h) => `<th>${h}</th>`).join("")}</tr>`;
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n")}\n</tbody>\n</table>`;
}

function runsTable(runs: readonly RunRecord[]): string {
  const rows = runs.map((r) => {
    const m = r.metrics as RunMetrics | null;
    return [
      String(r.id),
      escapeHtml(r.scenarioName),
      escapeHtml(r.serviceModel ?? "–"),
      String(r.seed),
      r.status,
      r.eventsStored ? String(r.eventCount ?? "–") : "not stored",
      fmt(m?.availability, 6),
      fmt(m?.downtimeHoursPerVmYear),
      fmt(m?.recoveryTimeHours.p50),
      m ? String(m.lostVmStateEvents) : "–",
      m ? String(m.dataLossEvents) : "–",
      fmt(m?.cost.userUsdPerVmMonth),
    ];
  });
  return table(["run", "scenario", "model", "seed", "status", "events", "availability", "downtime h/VM-yr", "RTO p50 h", "VMs lost", "data losses", "$/VM-month"], rows);
}

/**
 * One table per cell (experiment and swept values): a row per metric, the mean [95 % CI] of each
 * service model, then each paired difference a − b over the same seeds.
 */
function cellTables(cells: readonly CellRow[], paired: readonly PairedDiffRow[]): string {
  const key = (experiment: string, cell: Record<string, unknown>) => `${experiment}\t${JSON.stringify(cell)}`;
  type Shown = { summary: MetricSummary; flag?: string };
  const groups = new Map<string, { experiment: string; cell: Record<string, unknown>; metrics: Map<string, Map<string, Shown>> }>();
  const at = (experiment: string, cell: Record<string, unknown>, metric: string) => {
    let group = groups.get(key(experiment, cell));
    if (!group) groups.set(key(experiment, cell), (group = { experiment, cell, metrics: new Map() }));
    let row = group.metrics.get(metric);
    if (!row) group.metrics.set(metric, (row = new Map()));
    return row;
  };
  for (const c of cells) at(c.experiment, c.cell, c.metric).set(c.serviceModel, c);
  for (const p of paired) at(p.experiment, p.cell, p.metric).set(`${p.a} − ${p.b}`, p);
  const columns = [...new Set([...cells.map((c) => c.serviceModel), ...paired.map((p) => `${p.a} − ${p.b}`)])];
  return [...groups.values()]
    .map((g) => {
      const n = (row: Map<string, Shown>) => [...new Set([...row.values()].map((s) => s.summary.n))].join("/");
      const shown = (s: Shown) => `${meanCi(s.summary)}${s.flag ? ` <span class="flag" title="${escapeHtml(s.flag)}">*</span>` : ""}`;
      const rows = [...g.metrics].map(([metric, row]) => [escapeHtml(metric), n(row), ...columns.map((c) => (row.has(c) ? shown(row.get(c)!) : "–"))]);
      return `<h3>${escapeHtml(g.experiment)}: ${cellText(g.cell)}</h3>\n<div class="scroll">${table(["metric", "n", ...columns.map(escapeHtml)], rows)}</div>`;
    })
    .join("\n");
}

/** Which assumptions decide the ranking: the sensitivity and break-even results as text (their charts are above). */
function conditionsSection(input: ReportInput): string[] {
  const sensitivity = input.sensitivity ?? [];
  const breakeven = input.breakeven ?? [];
  if (sensitivity.length === 0 && breakeven.length === 0) return [];
  return [
    `<h2>Which assumptions decide the ranking</h2>`,
    `<p>Effects of moving one assumption alone (paired over the shared seeds), rank correlations of sampled designs, and the values where a paired difference crosses zero. Charts: tornado-*, prcc-*, breakeven-* above.</p>`,
    ...sensitivity.map((r) => `<pre>${escapeHtml(sensitivityText(r))}</pre>`),
    ...breakeven.map((r) => `<pre>${escapeHtml(breakevenText(r))}</pre>`),
  ];
}

const STYLE = `
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { font-size: 1em; margin: 1.5em 0 0.3em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; vertical-align: top; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
.ci { color: #666; font-size: 0.9em; }
.flag { color: #b60; cursor: help; }
.chart { margin: 1.5em 0; min-height: 100px; }
.chart-error { color: #b00; white-space: pre-wrap; }
.skipped { color: #666; }
.scroll { overflow-x: auto; }
`;

export function reportHtml(input: ReportInput): string {
  const charts = input.charts.filter(isChart);
  const skipped = input.charts.filter((c) => !isChart(c));
  const specs = Object.fromEntries(charts.map((c) => [c.name, themed(c.spec)]));
  const scenarios = [...new Set(input.runs.map((r) => r.scenarioName))];
  const complete = input.runs.filter((r) => r.status === "complete").length;
  const sections = [
    `<h1>vm-testbed report: ${escapeHtml(scenarios.join(", ") || basename(input.db))}</h1>`,
    `<p>Database <code>${escapeHtml(input.db)}</code>: ${input.runs.length} runs (${complete} complete). Means with 95 % confidence intervals (Student t) over seeds, proportions (anyDataLoss) with exact Clopper–Pearson intervals; * marks an interval with too few replications for its method (hover for why); intervals are not adjusted for multiple comparisons (see <code>testbed summarize --adjust</code>); paired differences a − b use the same seeds (the same failures and workload) for both models. Hover a chart for its values.</p>`,
    `<h2>Charts</h2>`,
    ...charts.map((c) => `<div class="chart" id="chart-${escapeHtml(c.name)}" data-chart="${escapeHtml(c.name)}"></div>`),
    ...skipped.map((c) => `<p class="skipped">Not drawn: <b>${escapeHtml(c.name)}</b> — ${escapeHtml("skipped" in c ? c.skipped : "")}</p>`),
    ...conditionsSection(input),
    `<h2>Summary per cell: service models and paired differences</h2>`,
    input.cells.length > 0 ? cellTables(input.cells, input.paired) : `<p class="skipped">No complete runs to summarize.</p>`,
    `<h2>Runs</h2>`,
    `<div class="scroll">${runsTable(input.runs)}</div>`,
  ];
  const boot = `
const specs = ${JSON.stringify(specs)};
const names = Object.keys(specs);
let failed = 0;
Promise.all(names.map((name) => {
  const box = document.getElementById("chart-" + name);
  return vegaEmbed(box, specs[name], { renderer: "svg", actions: false })
    .catch((error) => { failed++; box.innerHTML = ""; const p = document.createElement("p"); p.className = "chart-error"; p.textContent = "chart " + name + " failed: " + error; box.appendChild(p); });
})).then(() => { document.body.dataset.chartsFailed = String(failed); document.body.dataset.chartsRendered = String(names.length - failed); });
`;
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<title>vm-testbed report: ${escapeHtml(scenarios.join(", "))}</title>`,
    `<style>${STYLE}</style>`,
    ...libraryScripts().map((js) => `<script>${scriptText(js)}</script>`),
    "</head>",
    "<body>",
    ...sections,
    `<script>${scriptText(boot)}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
