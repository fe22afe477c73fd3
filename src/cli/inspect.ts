import { decodeEvent } from "../event-store/event-codec.js";
import { EventStore, isSqliteError, processAlive, type RunRecord } from "../event-store/event-store.js";
import { reuseCount } from "../experiment/reuse.js";
import { reportDamage } from "./damage.js";
import { ExitCode, UsageError } from "./exit-codes.js";

/**
 * What a stored run's status means to a reader. A run left `running` by a process that no longer
 * exists was killed (SIGKILL, power loss): it is incomplete, as are failed and interrupted runs.
 */
export function displayStatus(run: RunRecord): "complete" | "running" | "killed" | "failed" | "interrupted" {
  if (run.status !== "running") return run.status;
  return run.pid !== null && processAlive(run.pid) ? "running" : "killed";
}


/** `testbed inspect`: the runs of a database, or one run with its last events. */
export function inspectCommand(db: string, options: { runId: number | undefined; tail: number; json: boolean }): number {
  const store = EventStore.openReadonly(db);
  try {
    if (options.runId === undefined) {
      const runs = store.listRuns().map((run) => summary(run, store));
      const experiments = store.listExperiments().map((e) => ({ name: e.name, design: e.definition.design ?? "grid", cells: e.cells.length, ...reuseCount(e) }));
      if (options.json) process.stdout.write(`${JSON.stringify({ db, runs, experiments }, null, 2)}\n`);
      else process.stdout.write(table(runs) + experiments.map(experimentLine).join(""));
      return reportDamage(db, store.damage, ExitCode.ok);
    }
    const run = store.getRun(options.runId);
    if (!run) throw new UsageError(`${db}: no run ${options.runId}`);
    const events = readTail(store, run.id, options.tail);
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
    return reportDamage(db, store.damage, ExitCode.ok);
  } finally {
    store.close();
  }
}

/** The last events of a run; rows that cannot be read or decoded mark the run damaged and are left out. */
function readTail(store: EventStore, runId: number, n: number) {
  try {
    return store.tailEvents(runId, n).flatMap(([seq, t, type, payload]) => {
      try {
        return [decodeEvent(seq, t, type, payload)];
      } catch (error) {
        store.damage.set(runId, `event seq ${seq} cannot be decoded (${(error as Error).message.slice(0, 120)})`);
        return [];
      }
    });
  } catch (error) {
    if (!isSqliteError(error)) throw error;
    store.damage.set(runId, `its events cannot be read (${error.message})`);
    return [];
  }
}

/** How many events of a run are stored, or null (the run noted as damaged) when they cannot be counted. */
function storedEvents(run: RunRecord, store: EventStore): number | null {
  if (!run.eventsStored) return 0;
  try {
    return store.storedEventCount(run.id);
  } catch (error) {
    if (!isSqliteError(error)) throw error;
    store.damage.set(run.id, `its events cannot be read (${error.message})`);
    return null;
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
    storedEvents: storedEvents(run, store),
    stateHash: run.stateHash,
    packageVersion: run.packageVersion,
    gitCommit: run.gitCommit,
    /** The Slurm array task that computed it (`testbed run --slurm`), or null. */
    slurm: store.slurmIdsOf(run.id) ?? null,
  };
}

const experimentLine = (e: { name: string; design: string; cells: number; planned: number; reused: number }) =>
  `experiment ${e.name} (${e.design}): ${e.cells} cells, ${e.planned} planned runs, ${e.reused} of them reused from another cell (same resolved configuration for that model)\n`;

function table(rows: ReturnType<typeof summary>[]): string {
  const header = ["run", "scenario", "model", "seed", "status", "events", "stored", "state hash", "started"];
  const lines = rows.map((r) => [
    String(r.runId),
    r.scenario,
    r.serviceModel ?? "–",
    String(r.seed),
    r.complete ? "complete" : `incomplete (${r.status})`,
    r.eventCount === null ? "–" : String(r.eventCount),
    r.storedEvents === null ? "damaged" : String(r.storedEvents),
    r.stateHash ? r.stateHash.slice(0, 12) : "–",
    r.startedAt,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [format(header), ...lines.map(format), ""].join("\n");
}
