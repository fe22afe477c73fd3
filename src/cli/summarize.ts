import { stringify } from "csv-stringify/sync";
import { SUMMARY_METRICS } from "../metrics/summary-metrics.js";
import { summarizeDatabase, type ExperimentReuse } from "../experiment/summary.js";
import type { Adjustment } from "../stats/multiple-comparisons.js";
import { CONFIDENCE, type CellRow, type IntervalMethod, type MetricSummary, type PairedDiffRow } from "../stats/summary.js";
import { reportDamage } from "./damage.js";
import { ExitCode } from "./exit-codes.js";

export interface SummarizeOptions {
  format: "table" | "json" | "csv";
  /** Only these metrics (default: all). */
  metrics?: string[];
  /** Correct the paired comparisons of each experiment for multiplicity (default none). */
  adjust?: Adjustment;
}

/** `testbed summarize <db>`: per cell × service model × metric, and paired differences. */
export function summarizeCommand(db: string, options: SummarizeOptions): number {
  const { cells, paired, reuse, damaged } = summarizeDatabase(db, { metrics: options.metrics, adjust: options.adjust });
  if (options.format === "json") process.stdout.write(`${JSON.stringify({ cells, paired, reuse }, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`);
  else if (options.format === "csv") process.stdout.write(toCsv(cells, paired));
  else process.stdout.write(cells.length === 0 ? `${db}: no complete runs\n` : toTable(cells, paired, options.adjust ?? "none", reuse));
  return reportDamage(db, damaged, ExitCode.ok);
}

const cellText = (cell: Record<string, unknown>) => Object.entries(cell).map(([k, v]) => `${k}=${String(v)}`).join(";");
const num = (x: number) => (Number.isFinite(x) ? x : "");

function toCsv(cells: CellRow[], paired: PairedDiffRow[]): string {
  const stats = (s: MetricSummary) => [s.n, num(s.mean), num(s.sd), num(s.ciLow), num(s.ciHigh)];
  return stringify([
    ["kind", "experiment", "cell", "model", "baseline", "metric", "n", "mean", "sd", "ci_low", "ci_high", "method", "confidence", "p_value", "p_adjusted", "flag"],
    ...cells.map((r) => ["cell", r.experiment, cellText(r.cell), r.serviceModel, "", r.metric, ...stats(r.summary), r.method ?? "student-t", CONFIDENCE, "", "", r.flag ?? ""]),
    ...paired.map((r) => ["paired", r.experiment, cellText(r.cell), r.a, r.b, r.metric, ...stats(r.summary), r.method ?? "student-t", r.confidence ?? CONFIDENCE, num(r.pValue ?? NaN), num(r.pAdjusted ?? NaN), r.flag ?? ""]),
  ]);
}

/**
 * `mean ± half-width` for a symmetric (t) interval, `mean [low, high]` for an exact one (a zero
 * count keeps its upper bound), with as many decimals as the interval's first two significant digits need.
 */
export function formatInterval(s: MetricSummary, method: IntervalMethod = "student-t"): string {
  if (method === "student-t" || s.n === 0) return formatEstimate(s);
  const width = s.ciHigh - s.ciLow;
  const digits = width > 0 ? Math.min(10, Math.max(0, 1 - Math.floor(Math.log10(width / 2)))) : 3;
  return `${s.mean.toFixed(digits)} [${s.ciLow.toFixed(digits)}, ${s.ciHigh.toFixed(digits)}]`;
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

function toTable(cells: CellRow[], paired: PairedDiffRow[], adjust: Adjustment, reuse: readonly ExperimentReuse[]): string {
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
    out.push(`${first.experiment}${cell === "" ? "" : ` — ${cell}`} (up to ${n} seeds; mean ± 95 % CI half-width, Student t; proportions: mean [exact 95 % CI]; * flagged, see below)`);
    const metrics = [...new Set(rows.map((r) => r.metric))];
    const pairNames = [...new Set(pairs.map((p) => `${p.a} − ${p.b}`))];
    out.push(
      ...table(["metric", ...models], metrics.map((metric) => [metric, ...models.map((m) => shown(rows.find((r) => r.metric === metric && r.serviceModel === m)!))])),
    );
    if (pairNames.length > 0) {
      out.push(
        adjust === "none"
          ? "  paired differences a − b over the same seeds (common random numbers), not adjusted for multiple comparisons:"
          : `  paired differences a − b over the same seeds (common random numbers), ${adjust}-adjusted: simultaneous ${pct(pairs[0]?.confidence ?? CONFIDENCE)} % intervals; (p) ${adjust}-adjusted p-value:`,
        ...table(["metric", ...pairNames], metrics.map((metric) => [metric, ...pairNames.map((p) => shownPair(pairs.find((r) => r.metric === metric && `${r.a} − ${r.b}` === p)!, adjust))])),
      );
    }
    out.push("");
  }
  // One line per reason (a study has thousands of flagged intervals); --json and --csv name each.
  const flagged = [...cells, ...paired].flatMap((r) => (r.flag ? [r.flag] : []));
  const reasons = new Map<string, number>();
  for (const flag of flagged) {
    const reason = flag.replace(/^all \d+ runs/, "all runs").replace(/^\d+ runs?:/, "n runs:").replace(/^only \d+ of \d+ runs/, "only k of n runs");
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  if (flagged.length > 0) out.push(`flagged (${flagged.length}): intervals with too few replications for their method, marked *; --json or --csv names each`, ...[...reasons].map(([reason, count]) => `  ${count} × ${reason}`), "");
  for (const r of reuse.filter((e) => e.reused > 0)) out.push(`${r.experiment}: ${r.reused} of ${r.planned} runs reused from another cell (same resolved configuration for that model: not run again)`, "");
  out.push("units:", ...[...units].map(([name, unit]) => `  ${name}: ${unit}`), "");
  return out.join("\n");
}

const pct = (confidence: number) => String(Number((100 * confidence).toPrecision(4)));
const shown = (r: CellRow) => `${formatInterval(r.summary, r.method)}${r.flag ? " *" : ""}`;
const shownPair = (r: PairedDiffRow, adjust: Adjustment) =>
  `${formatInterval(r.summary, r.method)}${adjust !== "none" && r.pAdjusted !== undefined && Number.isFinite(r.pAdjusted) ? ` (p ${Number(r.pAdjusted.toPrecision(2))})` : ""}${r.flag ? " *" : ""}`;

function table(header: string[], body: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}`;
  return [line(header), ...body.map(line)];
}
