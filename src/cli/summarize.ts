import { stringify } from "csv-stringify/sync";
import { SUMMARY_METRICS } from "../metrics/summary-metrics.js";
import { summarizeDatabase } from "../experiment/summary.js";
import type { CellRow, MetricSummary, PairedDiffRow } from "../stats/summary.js";
import { reportDamage } from "./damage.js";
import { ExitCode } from "./exit-codes.js";

export interface SummarizeOptions {
  format: "table" | "json" | "csv";
  /** Only these metrics (default: all). */
  metrics?: string[];
}

/** `testbed summarize <db>`: per cell × service model × metric, and paired differences. */
export function summarizeCommand(db: string, options: SummarizeOptions): number {
  let { cells, paired, damaged } = summarizeDatabase(db);
  if (options.metrics) {
    const wanted = new Set(options.metrics);
    cells = cells.filter((r) => wanted.has(r.metric));
    paired = paired.filter((r) => wanted.has(r.metric));
  }
  if (options.format === "json") process.stdout.write(`${JSON.stringify({ cells, paired }, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`);
  else if (options.format === "csv") process.stdout.write(toCsv(cells, paired));
  else process.stdout.write(cells.length === 0 ? `${db}: no complete runs\n` : toTable(cells, paired));
  return reportDamage(db, damaged, ExitCode.ok);
}

const cellText = (cell: Record<string, unknown>) => Object.entries(cell).map(([k, v]) => `${k}=${String(v)}`).join(";");
const num = (x: number) => (Number.isFinite(x) ? x : "");

function toCsv(cells: CellRow[], paired: PairedDiffRow[]): string {
  const stats = (s: MetricSummary) => [s.n, num(s.mean), num(s.sd), num(s.ciLow), num(s.ciHigh)];
  return stringify([
    ["kind", "experiment", "cell", "model", "baseline", "metric", "n", "mean", "sd", "ci_low", "ci_high"],
    ...cells.map((r) => ["cell", r.experiment, cellText(r.cell), r.serviceModel, "", r.metric, ...stats(r.summary)]),
    ...paired.map((r) => ["paired", r.experiment, cellText(r.cell), r.a, r.b, r.metric, ...stats(r.summary)]),
  ]);
}

/** `mean ± half-width` with as many decimals as the half-width's first two significant digits need. */
export function formatEstimate(s: MetricSummary): string {
  if (s.n === 0) return "–";
  const half = (s.ciHigh - s.ciLow) / 2;
  if (!Number.isFinite(half)) return `${trim(s.mean)} (n=${s.n})`;
  // Rounding noise of identical values (sd ≈ 1e-17) is no spread.
  if (half <= 1e-12 * Math.max(1, Math.abs(s.mean))) return `${trim(s.mean)} ± 0`;
  const digits = Math.min(10, Math.max(0, 1 - Math.floor(Math.log10(half))));
  return `${s.mean.toFixed(digits)} ± ${half.toFixed(digits)}`;
}

const trim = (x: number) => String(Number(x.toPrecision(6)));

function toTable(cells: CellRow[], paired: PairedDiffRow[]): string {
  const out: string[] = [];
  const groupKey = (r: { experiment: string; cell: Record<string, unknown> }) => `${r.experiment}\u0000${cellText(r.cell)}`;
  const groups = [...new Set(cells.map(groupKey))];
  const units = new Map(SUMMARY_METRICS.map((m) => [m.name, m.unit]));
  for (const key of groups) {
    const rows = cells.filter((r) => groupKey(r) === key);
    const pairs = paired.filter((r) => groupKey(r) === key);
    const first = rows[0]!;
    const models = [...new Set(rows.map((r) => r.serviceModel))];
    const n = Math.max(...rows.map((r) => r.summary.n));
    const cell = Object.entries(first.cell).map(([k, v]) => `${k} = ${String(v)}`).join(", ");
    out.push(`${first.experiment}${cell === "" ? "" : ` — ${cell}`} (up to ${n} seeds; mean ± 95 % CI half-width, Student t)`);
    const metrics = [...new Set(rows.map((r) => r.metric))];
    const pairNames = [...new Set(pairs.map((p) => `${p.a} − ${p.b}`))];
    out.push(
      ...table(["metric", ...models], metrics.map((metric) => [metric, ...models.map((m) => formatEstimate(rows.find((r) => r.metric === metric && r.serviceModel === m)!.summary))])),
    );
    if (pairNames.length > 0) {
      out.push(
        "  paired differences a − b over the same seeds (common random numbers):",
        ...table(["metric", ...pairNames], metrics.map((metric) => [metric, ...pairNames.map((p) => formatEstimate(pairs.find((r) => r.metric === metric && `${r.a} − ${r.b}` === p)!.summary))])),
      );
    }
    out.push("");
  }
  out.push("units:", ...[...units].map(([name, unit]) => `  ${name}: ${unit}`), "");
  return out.join("\n");
}

function table(header: string[], body: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}`;
  return [line(header), ...body.map(line)];
}
