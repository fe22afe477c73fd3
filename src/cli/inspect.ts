import { decodeEvent } from "../event-store/event-codec.js";
import { EventStore, type RunRecord } from "../event-store/event-store.js";
import { ExitCode, UsageError } from "./exit-codes.js";

/**
 * What a stored run's status means to a reader. A run left `running` by a process that no longer
 * exists was killed (SIGKILL, power loss): it is incomplete, as are failed and interrupted runs.
 */
export function displayStatus(run: RunRecord): "complete" | "running" | "killed" | "failed" | "interrupted" {
  if (run.status !== "running") return run.status;
  return run.pid !== null && processAlive(run.pid) ? "running" : "killed";
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** `testbed inspect`: the runs of a database, or one run with its last events. */
export function inspectCommand(db: string, options: { runId: number | undefined; tail: number; json: boolean }): number {
  const store = EventStore.openReadonly(db);
  try {
    if (options.runId === undefined) {
      const runs = store.listRuns().map((run) => summary(run, store));
      if (options.json) process.stdout.write(`${JSON.stringify({ db, runs }, null, 2)}\n`);
      else process.stdout.write(table(runs));
      return ExitCode.ok;
    }
    const run = store.getRun(options.runId);
    if (!run) throw new UsageError(`${db}: no run ${options.runId}`);
    const events = store.tailEvents(run.id, options.tail).map(([seq, t, type, payload]) => decodeEvent(seq, t, type, payload));
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ db, run: { ...summary(run, store), metrics: run.metrics, error: run.error }, events }, null, 2)}\n`);
    } else {
      process.stdout.write(table([summary(run, store)]));
      const slurm = store.slurmIdsOf(run.id);
      if (slurm) process.stdout.write(`computed by Slurm array job ${slurm.arrayJobId}, task ${slurm.arrayTaskId} (job ${slurm.jobId})\n`);
      if (run.error) process.stdout.write(`error: ${run.error}\n`);
      process.stdout.write(`last ${events.length} events:\n`);
      for (const { seq, t, type, ...rest } of events) process.stdout.write(`  ${String(seq).padStart(8)}  t=${t} ms  ${type}  ${JSON.stringify(rest)}\n`);
    }
    return ExitCode.ok;
  } finally {
    store.close();
  }
}

function summary(run: RunRecord, store: EventStore) {
  const status = displayStatus(run);
  return {
    runId: run.id,
    scenario: run.scenarioName,
    scenarioHash: run.scenarioHash,
    serviceModel: run.serviceModel,
    seed: run.seed,
    status,
    complete: status === "complete",
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    eventCount: run.eventCount,
    storedEvents: run.eventsStored ? store.storedEventCount(run.id) : 0,
    stateHash: run.stateHash,
    packageVersion: run.packageVersion,
    gitCommit: run.gitCommit,
    /** The Slurm array task that computed it (`testbed run --slurm`), or null. */
    slurm: store.slurmIdsOf(run.id) ?? null,
  };
}

function table(rows: ReturnType<typeof summary>[]): string {
  const header = ["run", "scenario", "model", "seed", "status", "events", "stored", "state hash", "started"];
  const lines = rows.map((r) => [
    String(r.runId),
    r.scenario,
    r.serviceModel ?? "–",
    String(r.seed),
    r.complete ? "complete" : `incomplete (${r.status})`,
    r.eventCount === null ? "–" : String(r.eventCount),
    String(r.storedEvents),
    r.stateHash ? r.stateHash.slice(0, 12) : "–",
    r.startedAt,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [format(header), ...lines.map(format), ""].join("\n");
}
