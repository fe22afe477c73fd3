import { stringify } from "csv-stringify/sync";
import { isChart } from "../charts/chart.js";
import { prccChart, tornadoChart } from "../charts/sensitivity.js";
import { writeChart } from "../charts/write.js";
import { responseText, SensitivityError, sensitivityOfDatabase, type Response, type SensitivityResult } from "../experiment/sensitivity.js";
import type { MetricSummary } from "../stats/summary.js";
import { ExitCode, UsageError } from "./exit-codes.js";

export interface SensitivityOptions {
  response: Response;
  experiment?: string;
  format: "table" | "json" | "csv";
  /** Write the tornado / PRCC charts into this directory. */
  chartDir?: string;
}

/** `testbed sensitivity <db>`: which swept assumption moves a metric (or a paired difference) most. */
export async function sensitivityCommand(db: string, options: SensitivityOptions): Promise<number> {
  let results: SensitivityResult[];
  try {
    results = sensitivityOfDatabase(db, options.response, { experiment: options.experiment });
  } catch (error) {
    if (error instanceof SensitivityError) throw new UsageError(error.message);
    throw error;
  }
  if (options.format === "json") process.stdout.write(`${JSON.stringify(results, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`);
  else if (options.format === "csv") process.stdout.write(sensitivityCsv(results));
  else process.stdout.write(results.map(sensitivityText).join("\n"));
  let failed = false;
  if (options.chartDir) {
    for (const result of results) {
      const chart = result.design === "oneAtATime" ? tornadoChart(result) : prccChart(result);
      if (!isChart(chart)) {
        process.stderr.write(`skipped ${chart.name}: ${chart.skipped}\n`);
        continue;
      }
      const written = await writeChart(chart, options.chartDir);
      for (const warning of written.warnings) process.stderr.write(`${chart.name}: vega: ${warning}\n`);
      failed ||= written.warnings.length > 0;
      if (options.format === "table") process.stdout.write(`${written.files.join("\n")}\n`);
    }
  }
  return failed ? ExitCode.failed : ExitCode.ok;
}

const g = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(4))) : "–");
const ci = (s: MetricSummary) => `${g(s.mean)} [${g(s.ciLow)}, ${g(s.ciHigh)}]`;

export function sensitivityText(r: SensitivityResult): string {
  const out = [`${r.experiment} (${r.design}, ${r.seeds} shared seeds): ${responseText(r.response)}`];
  if (r.design === "oneAtATime") {
    out.push(`  baseline: ${r.baseline ? ci(r.baseline) : "–"} (mean [95 % CI])`, "  tornado, largest swing first: effect of moving one path alone (paired over seeds, mean [95 % CI])");
    for (const bar of r.tornado ?? []) {
      out.push(`  ${bar.path} (baseline ${String(bar.low.baselineValue)}): swing ${g(bar.swing)}`);
      for (const e of (r.effects ?? []).filter((x) => x.path === bar.path)) out.push(`      = ${String(e.value)}: ${ci(e.effect)}`);
    }
  } else {
    const m = r.measures!;
    out.push(`  ${m.points} points; linear fit R² = ${g(m.rSquared.value)} [${g(m.rSquared.ci[0])}, ${g(m.rSquared.ci[1])}] (SRC are trustworthy as far as R² is high); 95 % bootstrap intervals`);
    const order = m.paths.map((p, j) => j).sort((a, b) => Math.abs(m.prcc[b]!.value) - Math.abs(m.prcc[a]!.value));
    for (const j of order) out.push(`  ${m.paths[j]}: PRCC ${g(m.prcc[j]!.value)} [${g(m.prcc[j]!.ci[0])}, ${g(m.prcc[j]!.ci[1])}], SRC ${g(m.src[j]!.value)} [${g(m.src[j]!.ci[0])}, ${g(m.src[j]!.ci[1])}]`);
  }
  return `${out.join("\n")}\n`;
}

function sensitivityCsv(results: readonly SensitivityResult[]): string {
  const num = (x: number) => (Number.isFinite(x) ? x : "");
  const rows: (string | number)[][] = [["experiment", "design", "response", "path", "value", "measure", "estimate", "ci_low", "ci_high", "n"]];
  for (const r of results) {
    const response = responseText(r.response);
    for (const e of r.effects ?? []) rows.push([r.experiment, r.design, response, e.path, String(e.value), "effect", num(e.effect.mean), num(e.effect.ciLow), num(e.effect.ciHigh), e.effect.n]);
    const m = r.measures;
    if (m) {
      m.paths.forEach((path, j) => {
        rows.push([r.experiment, r.design, response, path, "", "prcc", num(m.prcc[j]!.value), num(m.prcc[j]!.ci[0]), num(m.prcc[j]!.ci[1]), m.points]);
        rows.push([r.experiment, r.design, response, path, "", "src", num(m.src[j]!.value), num(m.src[j]!.ci[0]), num(m.src[j]!.ci[1]), m.points]);
      });
      rows.push([r.experiment, r.design, response, "", "", "r_squared", num(m.rSquared.value), num(m.rSquared.ci[0]), num(m.rSquared.ci[1]), m.points]);
    }
  }
  return stringify(rows);
}
