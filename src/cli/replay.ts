import { replayRun, type ReplayReport } from "../replay/replay.js";
import { EventStore, isSqliteError, type RunRecord } from "../event-store/event-store.js";
import { reportDamage } from "./damage.js";
import { ExitCode, UsageError } from "./exit-codes.js";

/** `testbed replay`: rebuild (and with --verify, check) one run or every run with a stored log. */
export function replayCommand(db: string, options: { runId: number | undefined; verify: boolean; json: boolean }): number {
  const store = EventStore.openReadonly(db);
  try {
    const runs = selectRuns(store, options.runId, db);
    // One damaged run (a corrupt page, a missing table) is reported and the others still replay.
    const reports: ReplayReport[] = runs.map((run) => {
      try {
        return replayRun(store, run, { verify: options.verify });
      } catch (error) {
        if (!isSqliteError(error) && options.verify) throw error;
        const reason = `cannot read the run's events: ${(error as Error).message}`;
        return { runId: run.id, status: run.status, eventCount: 0, stateHash: "", recordedStateHash: run.stateHash, metrics: null, ok: false, divergence: { seq: null, reason } };
      }
    });
    if (options.json) process.stdout.write(`${JSON.stringify({ db, verify: options.verify, ok: reports.every((r) => r.ok), reports }, null, 2)}\n`);
    else for (const r of reports) process.stdout.write(describe(r, options.verify));
    return reportDamage(db, store.damage, reports.every((r) => r.ok) ? ExitCode.ok : ExitCode.failed);
  } finally {
    store.close();
  }
}

function selectRuns(store: EventStore, runId: number | undefined, db: string): RunRecord[] {
  if (runId !== undefined) {
    const run = store.getRun(runId);
    if (!run) throw new UsageError(`${db}: no run ${runId}`);
    if (!run.eventsStored) throw new UsageError(`${db}: run ${runId} was recorded with --no-events; there is no log to replay`);
    return [run];
  }
  const runs = store.listRuns().filter((r) => r.eventsStored && r.status === "complete");
  if (runs.length === 0) throw new UsageError(`${db}: no complete run with a stored event log`);
  return runs;
}

function describe(r: ReplayReport, verify: boolean): string {
  const head = `run ${r.runId}: ${r.eventCount} events replayed, state ${r.stateHash.slice(0, 16)}`;
  if (!verify && r.ok) return `${head}\n`;
  if (r.ok) return `${head} — verified: equals the recorded state\n`;
  return `${head}\n  DIVERGES${r.divergence?.seq != null ? ` at event seq ${r.divergence.seq}` : ""}: ${r.divergence?.reason}\n`;
}
