import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { chartsForDatabase } from "../charts/from-database.js";
import { reportHtml } from "../report/report.js";
import { summarizeDatabase } from "../experiment/summary.js";
import { EventStore } from "../event-store/event-store.js";
import { readFileSync } from "node:fs";
import { breakevenChart } from "../charts/breakeven.js";
import { SENSITIVITY_PAIRS } from "../charts/from-database.js";
import type { BreakevenResult } from "../experiment/breakeven.js";
import { sensitivityForPairs } from "../experiment/sensitivity.js";
import { reportDamage } from "./damage.js";
import { ExitCode, UsageError } from "./exit-codes.js";

/** A break-even result written by `testbed breakeven --json`. */
export function readBreakeven(file: string): BreakevenResult {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(`${file}: cannot read a break-even result (${(error as Error).message})`);
  }
  const r = data as Partial<BreakevenResult>;
  if (typeof r !== "object" || r === null || typeof r.estimate !== "number" || !Array.isArray(r.probes) || typeof r.question !== "object") {
    throw new UsageError(`${file}: expected the JSON of testbed breakeven --json (estimate, probes, question), got something else`);
  }
  return r as BreakevenResult;
}

/** `testbed report <db>`: writes the self-contained HTML report (default `<db dir>/report.html`) and prints its path. */
export function reportCommand(db: string, options: { out: string | undefined; breakeven?: string[] }): number {
  const out = options.out ?? join(dirname(db), "report.html");
  const { cells, paired, damaged } = summarizeDatabase(db);
  const sensitivity = sensitivityForPairs(db, "downtimeHoursPerVmYear", SENSITIVITY_PAIRS);
  const breakeven = (options.breakeven ?? []).map(readBreakeven);
  const store = EventStore.openReadonly(db);
  let html: string;
  try {
    const charts = [...chartsForDatabase(store, { cells, sensitivity }), ...breakeven.map((r) => breakevenChart(r))];
    html = reportHtml({ db, runs: store.listRuns(), cells, paired, charts, sensitivity, breakeven });
    for (const [run, problem] of store.damage) damaged.set(run, problem);
  } finally {
    store.close();
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, html);
  process.stdout.write(`${out}\n`);
  return reportDamage(db, damaged, ExitCode.ok);
}
