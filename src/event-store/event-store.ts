import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { chainDigest, FIRST_DIGEST, type EventRow } from "./event-codec.js";
import { prefetchPages, type RawPage } from "./page-prefetch.js";

/**
 * The event store: one SQLite file (better-sqlite3) holding runs, their event logs and state
 * checkpoints. WAL journal with synchronous=NORMAL: a committed transaction survives the process
 * being killed; events are written in batched transactions.
 *
 * Consistency rules: a run row is inserted (status `running`) before any of its events, and
 * becomes `complete` in the same transaction as its last events, final state hash and metrics.
 * A run that stops early is marked `failed` or `interrupted`; one killed outright stays `running`
 * with a dead pid and is reported as `killed`. Nothing ever updates or deletes a complete run.
 */
export type RunStatus = "running" | "complete" | "failed" | "interrupted";

export interface RunMeta {
  scenarioName: string;
  scenarioFile: string | null;
  scenarioYaml: string;
  scenarioJson: string;
  scenarioHash: string;
  seed: number;
  serviceModel: string | null;
  packageVersion: string;
  gitCommit: string | null;
  eventsStored: boolean;
  /** The Slurm array task that computed the run, when it ran as one (table `run_slurm`). */
  slurm?: SlurmIds;
}

/** Which Slurm job computed a run: the array job, the task's index in it, and the task's own job id. */
export interface SlurmIds {
  arrayJobId: string;
  arrayTaskId: number;
  jobId: string;
}

export interface RunOutcome {
  eventCount: number;
  finalT: number;
  stateHash: string;
  /** Null for a run whose log was neither stored nor hashed. */
  logHash: string | null;
  metrics: unknown;
}

export interface RunRecord extends RunMeta {
  id: number;
  startedAt: string;
  endedAt: string | null;
  status: RunStatus;
  eventCount: number | null;
  finalT: number | null;
  stateHash: string | null;
  logHash: string | null;
  metrics: unknown;
  error: string | null;
  pid: number | null;
}

/** Whether a process of this host exists (a run's or a claim's owner): `kill(pid, 0)`; EPERM means it exists under another user. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A run as an experiment knows it before it exists: what `claimRun` claims. */
export interface RunClaimKey {
  scenarioHash: string;
  seed: number;
  serviceModel: string;
}

/** A live run's own facts (table `live_runs`): its domains' run tag, its length, and the wall-clock ms (epoch) of its t = 0. */
export interface LiveRunRecord {
  runTag: string;
  durationMs: number;
  clockStartMs: number;
}

/** Who claimed a run: a process on a host. */
export interface RunOwner {
  pid: number;
  host: string;
}

/** What an experiment was when it was last run: its swept paths, seeds and service models. */
export interface ExperimentDefinition {
  file: string;
  /** grid when absent (databases written before designs existed). */
  design?: "grid" | "oneAtATime" | "latinHypercube";
  sweepPaths: string[];
  /** oneAtATime: each path's value in the scenario as written. */
  baseline?: Record<string, number | string | boolean>;
  /** Cell index → model → the earlier cell whose runs of that model it uses (same resolved configuration for that model). */
  reusedFrom?: Record<string, Record<string, number>>;
  seeds: number[];
  serviceModels: string[];
}

/** One cell of an experiment: its swept values and the hash of its scenario (which its runs carry). */
export interface StoredCell {
  index: number;
  values: Record<string, number | string | boolean>;
  scenarioHash: string;
}

export interface StoredExperiment {
  name: string;
  definition: ExperimentDefinition;
  cells: StoredCell[];
}

/** What identifies a run's result: same scenario hash, seed and service model ⇒ same log. */
export function runKey(scenarioHash: string, seed: number, serviceModel: string | null): string {
  return `${scenarioHash}\t${seed}\t${serviceModel ?? ""}`;
}

export type StoredEventRow = [seq: number, t: number, type: string, payload: string, digest: number];

/** Consecutive rows of a run's log, in seq order, as parallel columns. */
export interface EventPage {
  seq: number[];
  t: number[];
  type: string[];
  payload: string[];
  digest: number[];
}

/**
 * 8: event format 5 — `volumeCreated.minSize`: the copies a replicated volume needs reachable to
 *    serve I/O (Ceph's pool min_size, `storage.minSize`; absent means 1). Tables as in 7. Older
 *    logs have no `minSize`: their volumes serve I/O from one copy, as they did when recorded, so
 *    their runs replay and verify as they are. An older vm-testbed refuses a version-8 database.
 * 7: new table `live_runs` (a live run's run tag, wall-clock length and the wall-clock instant of
 *    its t = 0: what `testbed live --resume` needs to take a run over from a dead controller,
 *    issue 19); events as in 6. An older database has no live run to resume: `--resume` refuses
 *    its runs, naming the reason; everything else reads it as it is.
 * 6: event format 4 — new events `controllerFailed` and `controllerRecovered` (the controller's own
 *    outages, `failures.controller`, issue 19) and `dataDamaged` (a rebuild read hit unrecoverable
 *    read errors where no other copy held the data, issue 13), and `runStarted.prices` carries the
 *    provider's own prices, `rawDiskUsdPerGBMonth` and `networkUsdPerGB` (the provider's cost
 *    breakdown, `cost.provider`). Tables as in 5. Older logs have none of these: their runs replay
 *    and verify as they are, with those parts of the provider's cost at 0 (so their `providerUsd` is
 *    what they recorded: hosts only). An older vm-testbed refuses a version-6 database.
 * 5: event format 3 — new events: `arrayRecreated` (a lost local array comes back only once all its
 *    disks are replaced, and the host has no local disk for VMs until then), the storage-service
 *    and storage-network outages (`storageFailed`, `storageRepaired`, `storageNetworkFailed`,
 *    `storageNetworkRepaired`, `vmResumed`), `warmupEnded`, and `guestBooted` (what a real guest
 *    reports on its console); new tables `claims` (runs claimed by concurrent runners: pid, host,
 *    lease) and `run_slurm` (the Slurm array job, task index and job id of a run computed by an
 *    array task). Older logs have none of the new events and still replay and verify with the
 *    same states. An older vm-testbed refuses a version-5 database (it would not know the events).
 * 4: event format 2 — `vmTerminated` names the VM's volume (`volume`, null without one), so the
 *    storage needs no map of its own from VMs to volumes. Tables as in 3.
 * 3: experiments and their cells (tables `experiments`, `cells`); runs and events as in 2.
 * 2: row digests are a chained FNV-1a (version 1 chained CRC-32).
 * A version-2 to -7 database is upgraded to 8 when opened for writing and read as it is: the
 * upgrade only adds tables, and its runs keep their logs, which replay still verifies (`evolve`
 * checks `volume` only where an event has it). A run of the same scenario, seed and model
 * recorded after the upgrade has the same metrics and state hash but another log hash. Version 1
 * is refused.
 */
const SCHEMA_VERSION = "8";
const READABLE_VERSIONS = ["2", "3", "4", "5", "6", "7", "8"];
/** How long a connection waits for another one's write transaction (worker threads share the file). */
const BUSY_TIMEOUT_MS = 60_000;
/** Rows per INSERT statement: one statement per row costs about twice as much per row. */
const ROWS_PER_INSERT = 500;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  scenario_name TEXT NOT NULL,
  scenario_file TEXT,
  scenario_yaml TEXT NOT NULL,
  scenario_json TEXT NOT NULL,
  scenario_hash TEXT NOT NULL,
  seed INTEGER NOT NULL,
  service_model TEXT,
  package_version TEXT NOT NULL,
  git_commit TEXT,
  events_stored INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
  event_count INTEGER,
  final_t INTEGER,
  state_hash TEXT,
  log_hash TEXT,
  metrics_json TEXT,
  error TEXT,
  pid INTEGER
);
CREATE INDEX IF NOT EXISTS runs_by_scenario ON runs (scenario_hash, seed, status);
CREATE TABLE IF NOT EXISTS events (
  run_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  t INTEGER NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  digest INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS experiments (
  name TEXT PRIMARY KEY,
  definition_json TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cells (
  experiment TEXT NOT NULL,
  idx INTEGER NOT NULL,
  cell_json TEXT NOT NULL,
  scenario_hash TEXT NOT NULL,
  PRIMARY KEY (experiment, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
  scenario_hash TEXT NOT NULL,
  seed INTEGER NOT NULL,
  service_model TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  renewed_at INTEGER NOT NULL,
  PRIMARY KEY (scenario_hash, seed, service_model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run_slurm (
  run_id INTEGER PRIMARY KEY,
  array_job_id TEXT NOT NULL,
  array_task_id INTEGER NOT NULL,
  job_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS live_runs (
  run_id INTEGER PRIMARY KEY,
  run_tag TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,
  clock_start_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
  run_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  state_hash TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
`;

export class StoreError extends Error {}

/** Whether an error is SQLite's (a damaged file, a missing table): `SQLITE_CORRUPT`, `SQLITE_ERROR`, ... */
export function isSqliteError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "string" && (error as unknown as { code: string }).code.startsWith("SQLITE_");
}

export class EventStore {
  /**
   * Runs found damaged while reading (a row whose metrics are not JSON, a run whose events cannot
   * be read), with what is wrong: the read-only commands report them, go on with the others, and
   * exit 1. Such runs are left out of `completeRunsOf`.
   */
  readonly damage = new Map<number, string>();
  private readonly db: Database.Database;
  private readonly appendBatch: (runId: number, rows: readonly StoredEventRow[]) => void;
  private readonly insertCheckpoint: (runId: number, seq: number, stateHash: string) => void;

  private constructor(readonly file: string, options: { readonly: boolean }) {
    try {
      this.db = new Database(file, { readonly: options.readonly, fileMustExist: options.readonly });
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      const hasMeta = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
      const found = hasMeta ? (this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined)?.value : undefined;
      const empty = !hasMeta && this.db.prepare("SELECT 1 FROM sqlite_master").get() === undefined;
      if (!(empty && !options.readonly) && !READABLE_VERSIONS.includes(found ?? "")) {
        throw new StoreError(
          `${file}: schema version ${found ?? "(none)"}, expected ${SCHEMA_VERSION}` +
            (found === "1" ? " (written by an older vm-testbed whose row digests were CRC-32: run the scenarios again into a new database)" : ""),
        );
      }
      if (!options.readonly) {
        this.db.pragma("page_size = 16384"); // only takes effect in a new file: fewer, fuller pages for the event log
        this.db.pragma("journal_mode = WAL");
        this.db.pragma("synchronous = NORMAL");
        this.db.transaction(() => {
          this.db.exec(SCHEMA);
          this.db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(SCHEMA_VERSION);
        }).immediate();
      }
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError(`${file}: not a vm-testbed results database (${(error as Error).message})`);
    }
    if (options.readonly) {
      this.appendBatch = this.insertCheckpoint = () => {
        throw new StoreError(`${file} is open read-only`);
      };
      return;
    }
    const insertEvents = (n: number) =>
      this.db.prepare(`INSERT INTO events (run_id, seq, t, type, payload, digest) VALUES ${Array(n).fill("(?, ?, ?, ?, ?, ?)").join(", ")}`);
    const insertMany = insertEvents(ROWS_PER_INSERT);
    const insertOne = insertEvents(1);
    const values: unknown[] = new Array(6 * ROWS_PER_INSERT);
    const insertCheckpoint = this.db.prepare("INSERT INTO checkpoints (run_id, seq, state_hash) VALUES (?, ?, ?)");
    this.appendBatch = this.db.transaction((runId: number, rows: readonly StoredEventRow[]) => {
      let i = 0;
      for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
        for (let j = 0; j < ROWS_PER_INSERT; j++) {
          const [seq, t, type, payload, digest] = rows[i + j]!;
          const k = 6 * j;
          values[k] = runId;
          values[k + 1] = seq;
          values[k + 2] = t;
          values[k + 3] = type;
          values[k + 4] = payload;
          values[k + 5] = digest;
        }
        insertMany.run(values);
      }
      for (; i < rows.length; i++) {
        const [seq, t, type, payload, digest] = rows[i]!;
        insertOne.run(runId, seq, t, type, payload, digest);
      }
    });
    this.insertCheckpoint = (runId, seq, stateHash) => void insertCheckpoint.run(runId, seq, stateHash);
  }

  /**
   * Opens (creating if needed) a results database for writing. `maxMB` caps its size (SQLite's
   * `max_page_count`): a write beyond it fails with SQLITE_FULL, the run is recorded failed.
   */
  static open(file: string, maxMB?: number): EventStore {
    mkdirSync(dirname(file), { recursive: true });
    const store = new EventStore(file, { readonly: false });
    if (maxMB !== undefined) {
      const pageSize = store.db.pragma("page_size", { simple: true }) as number;
      store.db.pragma(`max_page_count = ${Math.max(1, Math.floor((maxMB * 1024 * 1024) / pageSize))}`);
    }
    return store;
  }

  /** Opens an existing results database read-only. */
  static openReadonly(file: string): EventStore {
    return new EventStore(file, { readonly: true });
  }

  close(): void {
    this.db.close();
  }

  beginRun(meta: RunMeta, startedAt: string): number {
    const result = this.db
      .prepare(
        `INSERT INTO runs (scenario_name, scenario_file, scenario_yaml, scenario_json, scenario_hash, seed, service_model,
           package_version, git_commit, events_stored, started_at, status, pid)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)`,
      )
      .run(
        meta.scenarioName,
        meta.scenarioFile,
        meta.scenarioYaml,
        meta.scenarioJson,
        meta.scenarioHash,
        meta.seed,
        meta.serviceModel,
        meta.packageVersion,
        meta.gitCommit,
        meta.eventsStored ? 1 : 0,
        startedAt,
        process.pid,
      );
    const runId = Number(result.lastInsertRowid);
    if (meta.slurm) {
      this.db.prepare("INSERT INTO run_slurm (run_id, array_job_id, array_task_id, job_id) VALUES (?, ?, ?, ?)").run(runId, meta.slurm.arrayJobId, meta.slurm.arrayTaskId, meta.slurm.jobId);
    }
    return runId;
  }

  /** What `testbed live --resume` needs of a live run besides its row and log (table `live_runs`). */
  recordLiveRun(runId: number, live: LiveRunRecord): void {
    this.db.prepare("INSERT INTO live_runs (run_id, run_tag, duration_ms, clock_start_ms) VALUES (?, ?, ?, ?)").run(runId, live.runTag, live.durationMs, live.clockStartMs);
  }

  /** A live run's tag, length and clock start; undefined for a simulated run or one recorded before schema 7. */
  liveRunOf(runId: number): LiveRunRecord | undefined {
    if (!this.hasTable("live_runs")) return undefined;
    const row = this.db.prepare("SELECT run_tag, duration_ms, clock_start_ms FROM live_runs WHERE run_id = ?").get(runId) as { run_tag: string; duration_ms: number; clock_start_ms: number } | undefined;
    return row && { runTag: row.run_tag, durationMs: row.duration_ms, clockStartMs: row.clock_start_ms };
  }

  /** A running run taken over by this process (its owner died): the row names the new owner. */
  takeOverRun(runId: number): void {
    const changed = this.db.prepare("UPDATE runs SET pid = ? WHERE id = ? AND status = 'running'").run(process.pid, runId).changes;
    if (changed !== 1) throw new StoreError(`run ${runId} is not running; refusing to take it over`);
  }

  /** Appends a batch of event rows to a running run, in one transaction. */
  appendEvents(runId: number, rows: readonly StoredEventRow[]): void {
    this.appendBatch(runId, rows);
  }

  addCheckpoint(runId: number, seq: number, stateHash: string): void {
    this.insertCheckpoint(runId, seq, stateHash);
  }

  /** Writes the last events and marks the run complete, atomically. */
  completeRun(runId: number, lastRows: readonly StoredEventRow[], outcome: RunOutcome, endedAt: string): void {
    this.db.transaction(() => {
      this.appendBatch(runId, lastRows);
      const changed = this.db
        .prepare(
          `UPDATE runs SET status = 'complete', ended_at = ?, event_count = ?, final_t = ?, state_hash = ?, log_hash = ?, metrics_json = ?
           WHERE id = ? AND status = 'running'`,
        )
        .run(endedAt, outcome.eventCount, outcome.finalT, outcome.stateHash, outcome.logHash, JSON.stringify(outcome.metrics), runId).changes;
      if (changed !== 1) throw new StoreError(`run ${runId} is not running; refusing to complete it`);
    })();
  }

  /** Marks a running run as stopped early; complete runs are never touched. */
  abandonRun(runId: number, status: "failed" | "interrupted", error: string, endedAt: string): void {
    this.db.prepare("UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE id = ? AND status = 'running'").run(status, error, endedAt, runId);
  }

  /**
   * Records an experiment's definition and cells, replacing what an earlier `testbed run` of the
   * same experiment recorded (its runs stay: they are found again by scenario hash and seed).
   */
  saveExperiment(name: string, definition: ExperimentDefinition, cells: readonly StoredCell[], at: string): void {
    this.db.transaction(() => {
      this.db
        .prepare("INSERT INTO experiments (name, definition_json, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET definition_json = excluded.definition_json, updated_at = excluded.updated_at")
        .run(name, JSON.stringify(definition), at);
      this.db.prepare("DELETE FROM cells WHERE experiment = ?").run(name);
      const insert = this.db.prepare("INSERT INTO cells (experiment, idx, cell_json, scenario_hash) VALUES (?, ?, ?, ?)");
      for (const cell of cells) insert.run(name, cell.index, JSON.stringify(cell.values), cell.scenarioHash);
    }).immediate();
  }

  /** The experiments recorded in this database (none in a version-2 database), by name. */
  listExperiments(): StoredExperiment[] {
    if (!this.hasTable("experiments")) return [];
    const experiments = this.db.prepare("SELECT name, definition_json FROM experiments ORDER BY name").all() as { name: string; definition_json: string }[];
    const cells = this.db.prepare("SELECT idx, cell_json, scenario_hash FROM cells WHERE experiment = ? ORDER BY idx");
    return experiments.map((e) => ({
      name: e.name,
      definition: JSON.parse(e.definition_json) as ExperimentDefinition,
      cells: (cells.all(e.name) as { idx: number; cell_json: string; scenario_hash: string }[]).map((c) => ({
        index: c.idx,
        values: JSON.parse(c.cell_json) as StoredCell["values"],
        scenarioHash: c.scenario_hash,
      })),
    }));
  }

  /** `scenarioHash \t seed \t serviceModel` of every complete run: what a resumed experiment skips. */
  completeRunKeys(): Set<string> {
    const rows = this.db.prepare("SELECT scenario_hash, seed, service_model FROM runs WHERE status = 'complete'").raw(true).all() as [string, number, string | null][];
    return new Set(rows.map(([hash, seed, model]) => runKey(hash, seed, model)));
  }

  /** The complete runs (of these scenario hashes, if given), oldest first, without scenario texts. */
  completeRunsOf(scenarioHashes?: readonly string[]): RunRecord[] {
    const wanted = scenarioHashes && new Set(scenarioHashes);
    const rows = this.db
      .prepare("SELECT id, scenario_name, scenario_file, '' AS scenario_yaml, '' AS scenario_json, scenario_hash, seed, service_model, package_version, git_commit, events_stored, started_at, ended_at, status, event_count, final_t, state_hash, log_hash, metrics_json, error, pid FROM runs WHERE status = 'complete' ORDER BY id")
      .all() as RawRun[];
    return rows
      .filter((r) => wanted === undefined || wanted.has(r.scenario_hash))
      .map((r) => this.toRecord(r))
      .filter((r) => !this.damage.has(r.id));
  }

  /**
   * Claims a run for one owner (a process: pid and host), so that experiment runners sharing a
   * database split the work instead of both doing it (table `claims`, one row per run key, in
   * an immediate transaction). Refused if the run is complete already, or claimed by another
   * owner that is alive: on this host its pid exists (`ownerAlive`), elsewhere it renewed its claim
   * within `leaseMs`. A dead owner's claim is taken over.
   */
  claimRun(key: RunClaimKey, owner: RunOwner, nowMs: number, leaseMs: number, ownerAlive: (pid: number) => boolean): { claimed: true } | { claimed: false; reason: "complete" | "claimed"; by?: RunOwner } {
    return this.db.transaction(() => {
      const complete = this.db.prepare("SELECT 1 FROM runs WHERE scenario_hash = ? AND seed = ? AND service_model IS ? AND status = 'complete' LIMIT 1").get(key.scenarioHash, key.seed, key.serviceModel);
      if (complete !== undefined) return { claimed: false as const, reason: "complete" as const };
      const row = this.db.prepare("SELECT pid, host, renewed_at AS renewedAt FROM claims WHERE scenario_hash = ? AND seed = ? AND service_model = ?").get(key.scenarioHash, key.seed, key.serviceModel) as
        | { pid: number; host: string; renewedAt: number }
        | undefined;
      if (row !== undefined && !(row.pid === owner.pid && row.host === owner.host)) {
        const alive = row.host === owner.host ? ownerAlive(row.pid) : nowMs - row.renewedAt < leaseMs;
        if (alive) return { claimed: false as const, reason: "claimed" as const, by: { pid: row.pid, host: row.host } };
      }
      this.db
        .prepare("INSERT INTO claims (scenario_hash, seed, service_model, pid, host, renewed_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET pid = excluded.pid, host = excluded.host, renewed_at = excluded.renewed_at")
        .run(key.scenarioHash, key.seed, key.serviceModel, owner.pid, owner.host, nowMs);
      return { claimed: true as const };
    }).immediate();
  }

  /** Keeps a claim alive (a runner on another host sees it renewed within the lease). */
  renewClaim(key: RunClaimKey, owner: RunOwner, nowMs: number): void {
    this.db.prepare("UPDATE claims SET renewed_at = ? WHERE scenario_hash = ? AND seed = ? AND service_model = ? AND pid = ? AND host = ?").run(nowMs, key.scenarioHash, key.seed, key.serviceModel, owner.pid, owner.host);
  }

  /** Gives a claim up (the run is recorded, complete or not). */
  releaseClaim(key: RunClaimKey, owner: RunOwner): void {
    this.db.prepare("DELETE FROM claims WHERE scenario_hash = ? AND seed = ? AND service_model = ? AND pid = ? AND host = ?").run(key.scenarioHash, key.seed, key.serviceModel, owner.pid, owner.host);
  }

  /** How many runs the database holds, whatever their status. */
  runCount(): number {
    return this.db.prepare("SELECT count(*) FROM runs").pluck().get() as number;
  }

  /** The id of the latest run of this scenario hash, seed and service model, if any. */
  lastRunId(scenarioHash: string, seed: number, serviceModel: string | null): number | null {
    const row = this.db.prepare("SELECT max(id) AS id FROM runs WHERE scenario_hash = ? AND seed = ? AND service_model IS ?").get(scenarioHash, seed, serviceModel) as { id: number | null };
    return row.id;
  }

  /** The Slurm ids of a run computed by an array task, if it was. */
  slurmIdsOf(runId: number): SlurmIds | undefined {
    if (!this.hasTable("run_slurm")) return undefined;
    const row = this.db.prepare("SELECT array_job_id, array_task_id, job_id FROM run_slurm WHERE run_id = ?").get(runId) as { array_job_id: string; array_task_id: number; job_id: string } | undefined;
    return row && { arrayJobId: row.array_job_id, arrayTaskId: row.array_task_id, jobId: row.job_id };
  }

  /**
   * Copies complete runs of another results database (a shard, already checked by the caller)
   * into this one, in one transaction: each run row under a new id, with its events, checkpoints
   * and Slurm ids. A run whose scenario hash, seed and service model is already complete here is
   * skipped, so importing twice changes nothing. Returns, per given run, its new id or null (skipped).
   */
  importRuns(shardFile: string, shardRunIds: readonly number[]): (number | null)[] {
    this.db.prepare("ATTACH DATABASE ? AS shard").run(shardFile);
    try {
      const shardHasSlurm = this.db.prepare("SELECT 1 FROM shard.sqlite_master WHERE type = 'table' AND name = 'run_slurm'").get() !== undefined;
      const columns = "scenario_name, scenario_file, scenario_yaml, scenario_json, scenario_hash, seed, service_model, package_version, git_commit, events_stored, started_at, ended_at, status, event_count, final_t, state_hash, log_hash, metrics_json, error, pid";
      const already = this.db.prepare(
        "SELECT 1 FROM main.runs m JOIN shard.runs s ON m.scenario_hash = s.scenario_hash AND m.seed = s.seed AND m.service_model IS s.service_model WHERE s.id = ? AND m.status = 'complete' LIMIT 1",
      );
      const copyRun = this.db.prepare(`INSERT INTO main.runs (${columns}) SELECT ${columns} FROM shard.runs WHERE id = ? AND status = 'complete'`);
      const copyEvents = this.db.prepare("INSERT INTO main.events (run_id, seq, t, type, payload, digest) SELECT ?, seq, t, type, payload, digest FROM shard.events WHERE run_id = ? ORDER BY seq");
      const copyCheckpoints = this.db.prepare("INSERT INTO main.checkpoints (run_id, seq, state_hash) SELECT ?, seq, state_hash FROM shard.checkpoints WHERE run_id = ?");
      const copySlurm = shardHasSlurm
        ? this.db.prepare("INSERT INTO main.run_slurm (run_id, array_job_id, array_task_id, job_id) SELECT ?, array_job_id, array_task_id, job_id FROM shard.run_slurm WHERE run_id = ?")
        : null;
      return this.db.transaction(() =>
        shardRunIds.map((shardRunId) => {
          if (already.get(shardRunId) !== undefined) return null;
          const inserted = copyRun.run(shardRunId);
          if (inserted.changes !== 1) throw new StoreError(`${shardFile}: run ${shardRunId} is not a complete run`);
          const runId = Number(inserted.lastInsertRowid);
          copyEvents.run(runId, shardRunId);
          copyCheckpoints.run(runId, shardRunId);
          copySlurm?.run(runId, shardRunId);
          return runId;
        }),
      ).immediate();
    } finally {
      this.db.prepare("DETACH DATABASE shard").run();
    }
  }

  private hasTable(name: string): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
  }

  listRuns(): RunRecord[] {
    return (this.db.prepare("SELECT * FROM runs ORDER BY id").all() as RawRun[]).map((r) => this.toRecord(r));
  }

  getRun(runId: number): RunRecord | undefined {
    const raw = this.db.prepare("SELECT * FROM runs WHERE id = ?").get(runId) as RawRun | undefined;
    return raw && this.toRecord(raw);
  }

  /**
   * Streams a run's events in seq order, a page of `pageSize` rows (default 5 000) at a time, so
   * that memory stays bounded however long the log is. `digests: false` leaves `digest` empty.
   *
   * A page is one aggregate query that returns each column as one text (`group_concat`), split
   * in JS: several times cheaper than fetching the rows one by one. From the second page on, a
   * worker thread runs these queries ahead of the consumer (see `prefetchPages`).
   *
   * SQLite leaves the order of `group_concat` unspecified (all columns of one query do see the
   * rows in the same order), so a page is used only if its seqs come back strictly increasing
   * and every column splits into exactly one value of the right kind per row. Otherwise — a log
   * changed by hand, say a payload with a raw newline — the rest of the log is read row by row
   * with `ORDER BY seq`. (Read as text, a value whose storage class was changed but whose text
   * was not, like a BLOB '77' for the INTEGER 77, reads as that number.)
   */
  *readEvents(runId: number, options: { pageSize?: number; digests?: boolean } = {}): Generator<EventPage> {
    const pageSize = options.pageSize ?? 5_000;
    const digests = options.digests ?? true;
    const sql = `SELECT count(*), group_concat(seq), group_concat(t), group_concat(type), group_concat(payload, char(10)), ${digests ? "group_concat(digest)" : "''"}
      FROM (SELECT seq, t, type, payload, digest FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?)`;
    const query = this.db.prepare(sql).raw(true);
    let after = -Infinity;
    let ahead: Generator<RawPage, void> | null = null;
    try {
      let raw = query.get(runId, after, pageSize) as RawPage;
      for (;;) {
        const [count, seqs, ts, types, payloads, digestList] = raw;
        if (count === 0) return;
        const page = splitPage(count, seqs, ts, types, payloads, digests ? digestList : null);
        if (page === null) break;
        if (count < pageSize) {
          yield page;
          return;
        }
        after = page.seq[count - 1]!;
        if (ahead === null && !this.db.memory) ahead = prefetchPages(this.file, sql, runId, after, pageSize);
        yield page;
        const next = ahead?.next();
        raw = next && !next.done ? next.value : (query.get(runId, after, pageSize) as RawPage);
      }
    } finally {
      ahead?.return();
    }
    let page = emptyPage();
    const rows = this.db.prepare("SELECT seq, t, type, payload, digest FROM events WHERE run_id = ? AND seq > ? ORDER BY seq").raw(true);
    for (const [seq, t, type, payload, digest] of rows.iterate(runId, after) as IterableIterator<StoredEventRow>) {
      page.seq.push(seq);
      page.t.push(t);
      page.type.push(type);
      page.payload.push(payload);
      if (digests) page.digest.push(digest);
      if (page.seq.length === pageSize) {
        yield page;
        page = emptyPage();
      }
    }
    if (page.seq.length > 0) yield page;
  }

  storedEventCount(runId: number): number {
    return (this.db.prepare("SELECT count(*) AS n FROM events WHERE run_id = ?").get(runId) as { n: number }).n;
  }

  /** The last `n` events of a run, oldest first. */
  tailEvents(runId: number, n: number): StoredEventRow[] {
    const rows = this.db
      .prepare("SELECT seq, t, type, payload, digest FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT ?")
      .raw(true)
      .all(runId, n) as StoredEventRow[];
    return rows.reverse();
  }

  /** A run row as a record; metrics that are not a JSON object (a damaged row) read as null and the run is noted in `damage`. */
  private toRecord(raw: RawRun): RunRecord {
    let metrics: unknown = null;
    if (raw.metrics_json !== null) {
      try {
        metrics = JSON.parse(raw.metrics_json);
      } catch {
        metrics = null;
      }
      if (metrics === null || typeof metrics !== "object") {
        metrics = null;
        this.damage.set(raw.id, "its metrics (runs.metrics_json) are not a JSON object");
      }
    } else if (raw.status === "complete") this.damage.set(raw.id, "it is complete but its metrics (runs.metrics_json) are missing");
    return toRecord(raw, metrics);
  }

  checkpoints(runId: number): Map<number, string> {
    const rows = this.db.prepare("SELECT seq, state_hash FROM checkpoints WHERE run_id = ? ORDER BY seq").all(runId) as {
      seq: number;
      state_hash: string;
    }[];
    return new Map(rows.map((r) => [r.seq, r.state_hash]));
  }
}

/**
 * Buffers a run's events and writes them in batches. The digest chain starts at `FIRST_DIGEST`
 * and runs over every event, so the digest of row k covers rows 1..k.
 */
export class EventWriter {
  private buffer: StoredEventRow[] = [];
  private digest = FIRST_DIGEST;

  constructor(
    private readonly store: EventStore,
    readonly runId: number,
    private readonly batchSize = 10_000,
  ) {}

  /** Chains an event already stored (a resumed run's earlier events) without writing it. */
  chainStored(row: EventRow): void {
    this.digest = chainDigest(this.digest, row.seq, row.t, row.type, row.payload);
  }

  /**
   * Adds an encoded event. `_line`, the event's `eventLine`, is accepted for callers written when
   * the digest was computed from it, and ignored: the digest is computed from the row's fields.
   */
  add(row: EventRow): void {
    this.digest = chainDigest(this.digest, row.seq, row.t, row.type, row.payload);
    this.buffer.push([row.seq, row.t, row.type, row.payload, this.digest]);
    if (this.buffer.length >= this.batchSize) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    this.store.appendEvents(this.runId, this.buffer);
    this.buffer = [];
  }

  /** The events not yet written, handed over to `completeRun` so they commit with the run's end. */
  takeBuffered(): StoredEventRow[] {
    const rows = this.buffer;
    this.buffer = [];
    return rows;
  }
}

function emptyPage(): EventPage {
  return { seq: [], t: [], type: [], payload: [], digest: [] };
}

/** The columns of one `readEvents` page, or null unless they are one well-formed value per row in seq order. */
function splitPage(count: number, seqs: string, ts: string, types: string, payloads: string, digests: string | null): EventPage | null {
  const seq = numbers(seqs, count);
  const t = numbers(ts, count);
  const digest = digests === null ? [] : numbers(digests, count);
  const type = types.split(",");
  const payload = payloads.split("\n");
  if (seq === null || t === null || digest === null || type.length !== count || payload.length !== count) return null;
  for (let i = 1; i < count; i++) if (!(seq[i]! > seq[i - 1]!)) return null;
  return { seq, t, type, payload, digest };
}

/** `count` numbers from a `group_concat` of a numeric column, or null if it holds anything else. */
function numbers(list: string, count: number): number[] | null {
  let values: unknown[];
  try {
    values = JSON.parse(`[${list}]`) as unknown[];
  } catch {
    return null;
  }
  if (values.length !== count) return null;
  for (const value of values) if (typeof value !== "number") return null;
  return values as number[];
}

interface RawRun {
  id: number;
  scenario_name: string;
  scenario_file: string | null;
  scenario_yaml: string;
  scenario_json: string;
  scenario_hash: string;
  seed: number;
  service_model: string | null;
  package_version: string;
  git_commit: string | null;
  events_stored: number;
  started_at: string;
  ended_at: string | null;
  status: RunStatus;
  event_count: number | null;
  final_t: number | null;
  state_hash: string | null;
  log_hash: string | null;
  metrics_json: string | null;
  error: string | null;
  pid: number | null;
}

function toRecord(r: RawRun, metrics: unknown): RunRecord {
  return {
    id: r.id,
    scenarioName: r.scenario_name,
    scenarioFile: r.scenario_file,
    scenarioYaml: r.scenario_yaml,
    scenarioJson: r.scenario_json,
    scenarioHash: r.scenario_hash,
    seed: r.seed,
    serviceModel: r.service_model,
    packageVersion: r.package_version,
    gitCommit: r.git_commit,
    eventsStored: r.events_stored === 1,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    status: r.status,
    eventCount: r.event_count,
    finalT: r.final_t,
    stateHash: r.state_hash,
    logHash: r.log_hash,
    metrics,
    error: r.error,
    pid: r.pid,
  };
}
