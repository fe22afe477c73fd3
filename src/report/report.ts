import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { isChart, type ChartOrSkip } from "../charts/chart.js";
import { themed } from "../charts/render.js";
import type { CellRow, MetricSummary, PairedDiffRow } from "../charts/summary-types.js";
import type { RunMetrics } from "../metrics/run-metrics.js";
import type { RunRecord } from "../store/event-store.js";

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
  return String(Number(x.toPrecision(digits)));
}

const meanCi = (s: MetricSummary) => `${fmt(s.mean)} <span class="ci">[${fmt(s.ciLow)}, ${fmt(s.ciHigh)}]</span>`;
const cellText = (cell: Record<string, unknown>) =>
  Object.keys(cell).length === 0 ? "(base scenario)" : Object.entries(cell).map(([k, v]) => `${escapeHtml(k)} = ${escapeHtml(String(v))}`).join("<br>");

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

/** Means and 95 % CIs: one row per cell and metric, one column per service model. */
function cellsTable(cells: readonly CellRow[]): string {
  const models = [...new Set(cells.map((c) => c.serviceModel))];
  const rows = new Map<string, { cell: Record<string, unknown>; metric: string; experiment: string; by: Map<string, MetricSummary> }>();
  for (const c of cells) {
    const key = `${c.experiment}\t${JSON.stringify(c.cell)}\t${c.metric}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { cell: c.cell, metric: c.metric, experiment: c.experiment, by: new Map() }));
    row.by.set(c.serviceModel, c.summary);
  }
  return table(
    ["cell", "metric", "n", ...models.map((m) => `${escapeHtml(m)}: mean [95% CI]`)],
    [...rows.values()].map((r) => [
      cellText(r.cell),
      escapeHtml(r.metric),
      [...new Set([...r.by.values()].map((s) => s.n))].join("/"),
      ...models.map((m) => (r.by.has(m) ? meanCi(r.by.get(m)!) : "–")),
    ]),
  );
}

function pairedTable(paired: readonly PairedDiffRow[]): string {
  return table(
    ["cell", "metric", "difference", "n", "mean [95% CI]", "sd"],
    paired.map((p) => [cellText(p.cell), escapeHtml(p.metric), `${escapeHtml(p.a)} − ${escapeHtml(p.b)}`, String(p.summary.n), meanCi(p.summary), fmt(p.summary.sd)]),
  );
}

const STYLE = `
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; vertical-align: top; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
.ci { color: #666; font-size: 0.9em; }
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
    `<p>Database <code>${escapeHtml(input.db)}</code>: ${input.runs.length} runs (${complete} complete). Means with 95 % confidence intervals over seeds; paired differences use the same seeds (same failures and workload) for both models.</p>`,
    `<h2>Summary per cell and service model</h2>`,
    input.cells.length > 0 ? `<div class="scroll">${cellsTable(input.cells)}</div>` : `<p class="skipped">No cell statistics in this database.</p>`,
    `<h2>Paired differences between service models</h2>`,
    input.paired.length > 0 ? `<div class="scroll">${pairedTable(input.paired)}</div>` : `<p class="skipped">No paired differences in this database.</p>`,
    `<h2>Charts</h2>`,
    ...charts.map((c) => `<div class="chart" id="chart-${escapeHtml(c.name)}" data-chart="${escapeHtml(c.name)}"></div>`),
    ...skipped.map((c) => `<p class="skipped">Not drawn: <b>${escapeHtml(c.name)}</b> — ${escapeHtml("skipped" in c ? c.skipped : "")}</p>`),
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
