import { SingleBar } from "cli-progress";
import type { ExperimentPlan } from "../experiment/expand.js";
import { runExperiment, type ExperimentOutcome } from "../experiment/runner.js";
import { currentProvenance } from "../recording/provenance.js";
import { ExitCode } from "./exit-codes.js";

export interface ExperimentCommandOptions {
  db: string;
  jobs?: number;
  storeEvents: boolean;
  /** Hash the event log even when it is not stored (`--log-hash`). */
  hashLog: boolean;
  json: boolean;
  progress: boolean;
  check: boolean;
  /** `--max-events` and `--max-db-mb`, as for a single run. */
  maxEvents?: number;
  maxDatabaseMB?: number;
}

/**
 * `testbed run` on a scenario with an `experiment:` section: every cell × seed × service model,
 * on a pool of worker threads, into one database; runs already complete there are skipped.
 * Exit code 1 if a run failed, 130 if interrupted (Ctrl-C / SIGTERM: the runs in progress are
 * recorded as interrupted and run again next time).
 */
export async function experimentCommand(plan: ExperimentPlan, options: ExperimentCommandOptions): Promise<number> {
  const abort = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) process.exit(ExitCode.interrupted);
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const tty = options.progress && process.stderr.isTTY;
  const bar = tty
    ? new SingleBar({
        format: "{bar} {value}/{total} runs | {failed} failed | {duration_formatted} elapsed | ETA {eta_formatted}",
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 20,
      })
    : null;
  const failures: string[] = [];
  try {
    const outcome = await runExperiment(plan, {
      db: options.db,
      jobs: options.jobs,
      storeEvents: options.storeEvents,
      hashLog: options.hashLog,
      check: options.check,
      ...(options.maxEvents !== undefined ? { maxEvents: options.maxEvents } : {}),
      ...(options.maxDatabaseMB !== undefined ? { maxDatabaseMB: options.maxDatabaseMB } : {}),
      provenance: currentProvenance(),
      signal: abort.signal,
      onStart: ({ total, skipped }) => {
        if (options.progress && !options.json && skipped > 0) process.stderr.write(`${skipped} runs already complete in ${options.db}; ${total} to run\n`);
        bar?.start(total, 0, { failed: 0 });
      },
      onRunDone: ({ done, total, failed, run }) => {
        bar?.update(done, { failed });
        const what = `${describeCell(run.cell)}seed ${run.seed}, ${run.serviceModel}`;
        if (run.status === "failed") {
          const line = `run ${run.runId ?? "–"} (${what}) failed: ${run.error}\n`;
          if (bar) failures.push(line); // printed under the bar once it stops
          else process.stderr.write(line);
        } else if (!bar && options.progress && !options.json && run.status === "complete") {
          process.stderr.write(`[${done}/${total}] run ${run.runId} (${what}) done: ${run.eventCount} events\n`);
        }
      },
    });
    bar?.stop();
    for (const line of failures) process.stderr.write(line);
    if (options.json) process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
    else process.stdout.write(describeOutcome(outcome));
    if (outcome.interrupted) {
      process.stderr.write(`experiment ${plan.name} interrupted; run the same command again to finish it\n`);
      return ExitCode.interrupted;
    }
    return outcome.failed > 0 ? ExitCode.failed : ExitCode.ok;
  } finally {
    bar?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function describeCell(cell: Record<string, unknown>): string {
  const parts = Object.entries(cell).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length === 0 ? "" : `${parts.join(", ")}, `;
}

function describeOutcome(o: ExperimentOutcome): string {
  const models = [...new Set(o.runs.map((r) => r.serviceModel))];
  const seeds = new Set(o.runs.map((r) => r.seed)).size;
  return [
    `experiment ${o.experiment}: ${count(o.cells, "cell")} × ${count(seeds, "seed")} × ${count(models.length, "service model")} (${models.join(", ")}) = ${count(o.runs.length, "run")}`,
    `  ${o.ran} run now on ${count(o.jobs, "worker thread")}, ${o.skipped} already complete, ${o.reused} reused from another cell (same configuration for that model), ${o.failed} failed${o.elsewhere > 0 ? `, ${o.elsewhere} being run by another process (run again once it ends)` : ""}`,
    `  stored in ${o.db}; statistics: testbed summarize ${o.db}`,
    "",
  ].join("\n");
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
