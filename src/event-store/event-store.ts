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
}

export interface RunOutcome {
  eventCount: number;
  finalT: number;
  stateHash: string;
  logHash: string;
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

/** What an experiment was when it was last run: its swept paths, seeds and service models. */
export interface ExperimentDefinition {
  file: string;
  sweepPaths: string[];
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
 * 5: event format 3 — a new event, `guestBooted { vm, host, bootCount }` (what a real guest
 *    reports on its console). Tables as in 4. A version-2, -3 or -4 database is upgraded to 5
 *    when opened for writing and read as it is: its logs have no `guestBooted`, and replay still
 *    verifies them. An older vm-testbed refuses a version-5 database (it would not know the event).
 * 4: event format 2 — `vmTerminated` names the VM's volume (`volume`, null without one), so the
 *    storage needs no map of its own from VMs to volumes. Tables as in 3.
 * 3: experiments and their cells (tables `experiments`, `cells`); runs and events as in 2.
 * 2: row digests are a chained FNV-1a (version 1 chained CRC-32).
 * A version-2 or -3 database is upgraded to 4 when opened for writing and read as it is: the
 * upgrade only adds tables, and its runs keep their logs, which replay still verifies (`evolve`
 * checks `volume` only where an event has it). A run of the same scenario, seed and model
 * recorded after the upgrade has the same metrics and state hash but another log hash. Version 1
 * is refused.
 */
const SCHEMA_VERSION = "5";
const READABLE_VERSIONS = ["2", "3", "4", "5"];
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
CREATE TABLE IF NOT EXISTS checkpoints (
  run_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  state_hash TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
`;

export class StoreError extends Error {}

export class EventStore {
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

  /** Opens (creating if needed) a results database for writing. */
  static open(file: string): EventStore {
    mkdirSync(dirname(file), { recursive: true });
    return new EventStore(file, { readonly: false });
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
    return Number(result.lastInsertRowid);
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
    return rows.filter((r) => wanted === undefined || wanted.has(r.scenario_hash)).map(toRecord);
  }

  /** The id of the latest run of this scenario hash, seed and service model, if any. */
  lastRunId(scenarioHash: string, seed: number, serviceModel: string | null): number | null {
    const row = this.db.prepare("SELECT max(id) AS id FROM runs WHERE scenario_hash = ? AND seed = ? AND service_model IS ?").get(scenarioHash, seed, serviceModel) as { id: number | null };
    return row.id;
  }

  private hasTable(name: string): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
  }

  listRuns(): RunRecord[] {
    return (this.db.prepare("SELECT * FROM runs ORDER BY id").all() as RawRun[]).map(toRecord);
  }

  getRun(runId: number): RunRecord | undefined {
    const raw = this.db.prepare("SELECT * FROM runs WHERE id = ?").get(runId) as RawRun | undefined;
    return raw && toRecord(raw);
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

function toRecord(r: RawRun): RunRecord {
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
    metrics: r.metrics_json === null ? null : JSON.parse(r.metrics_json),
    error: r.error,
    pid: r.pid,
  };
}
