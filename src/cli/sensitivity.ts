import { stringify } from "csv-stringify/sync";
import { isChart } from "../charts/chart.js";
import { sensitivityCharts } from "../charts/from-database.js";
import { writeChart } from "../charts/write.js";
import { responseText, SensitivityError, sensitivityOfDatabase, sensitivityText, type Response, type SensitivityResult } from "../experiment/sensitivity.js";
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
    for (const chart of sensitivityCharts(results)) {
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
