import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { chartsForDatabase } from "../charts/from-database.js";
import { reportHtml } from "../report/report.js";
import { summarizeDatabase } from "../experiment/summary.js";
import { EventStore } from "../event-store/event-store.js";
import { reportDamage } from "./damage.js";
import { ExitCode } from "./exit-codes.js";

/** `testbed report <db>`: writes the self-contained HTML report (default `<db dir>/report.html`) and prints its path. */
export function reportCommand(db: string, options: { out: string | undefined }): number {
  const out = options.out ?? join(dirname(db), "report.html");
  const { cells, paired, damaged } = summarizeDatabase(db);
  const store = EventStore.openReadonly(db);
  let html: string;
  try {
    const charts = chartsForDatabase(store, { cells });
    html = reportHtml({ db, runs: store.listRuns(), cells, paired, charts });
    for (const [run, problem] of store.damage) damaged.set(run, problem);
  } finally {
    store.close();
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, html);
  process.stdout.write(`${out}\n`);
  return reportDamage(db, damaged, ExitCode.ok);
}
