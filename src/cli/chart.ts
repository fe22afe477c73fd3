import { dirname, join } from "node:path";
import { isChart } from "../charts/chart.js";
import { chartsForDatabase, SENSITIVITY_PAIRS } from "../charts/from-database.js";
import { sensitivityForPairs } from "../experiment/sensitivity.js";
import { writeChart } from "../charts/write.js";
import { summarizeDatabase } from "../experiment/summary.js";
import { EventStore } from "../event-store/event-store.js";
import { reportDamage } from "./damage.js";
import { ExitCode } from "./exit-codes.js";
import { breakevenChart } from "../charts/breakeven.js";
import { readBreakeven } from "./report.js";

/**
 * `testbed chart <db>`: writes the charts of a results database (statistics by
 * `summarizeDatabase`, event logs where the runs kept them) into `out` (default
 * `<db dir>/charts`) as `.vl.json`, `.svg` and `.png`; prints each file, and each chart that
 * could not be drawn with the reason. Exit 1 if vega reported a problem with a chart.
 */
export async function chartCommand(db: string, options: { out: string | undefined; run: number | undefined; json: boolean; breakeven?: string[] }): Promise<number> {
  const out = options.out ?? join(dirname(db), "charts");
  const { cells, damaged } = summarizeDatabase(db);
  const store = EventStore.openReadonly(db);
  let charts;
  try {
    charts = chartsForDatabase(store, { cells, sensitivity: sensitivityForPairs(db, "downtimeHoursPerVmYear", SENSITIVITY_PAIRS), ...(options.run !== undefined ? { timelineRun: options.run } : {}) });
    for (const [run, problem] of store.damage) damaged.set(run, problem);
  } finally {
    store.close();
  }
  charts.push(...(options.breakeven ?? []).map((file) => breakevenChart(readBreakeven(file))));
  const written = [];
  const skipped = [];
  let failed = false;
  for (const chart of charts) {
    if (!isChart(chart)) {
      skipped.push(chart);
      process.stderr.write(`skipped ${chart.name}: ${chart.skipped}\n`);
      continue;
    }
    const w = await writeChart(chart, out);
    written.push(w);
    for (const warning of w.warnings) process.stderr.write(`${chart.name}: vega: ${warning}\n`);
    if (w.warnings.length > 0) failed = true;
    if (!options.json) process.stdout.write(`${w.files.join("\n")}\n`);
  }
  if (options.json) process.stdout.write(`${JSON.stringify({ db, out, charts: written, skipped }, null, 2)}\n`);
  return reportDamage(db, damaged, failed ? ExitCode.failed : ExitCode.ok);
}
