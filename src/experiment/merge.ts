import { existsSync, realpathSync } from "node:fs";
import { chainDigest, eventLine, FIRST_DIGEST } from "../event-store/event-codec.js";
import { EventStore, runKey, StoreError, type RunRecord, type StoredExperiment } from "../event-store/event-store.js";
import { LogHasher } from "../recording/hashing.js";

/** What became of one shard: merged (its complete runs new here brought in, the others skipped) or refused, with the reason. */
export interface ShardReport {
  shard: string;
  status: "merged" | "refused";
  /** Complete runs brought into the database. */
  merged: number;
  /** Complete runs whose scenario hash, seed and service model the database already had. */
  skipped: number;
  /** Runs of the shard that are not complete (failed, interrupted, killed): never merged. */
  incomplete: number;
  /** Events copied with the merged runs. */
  events: number;
  reason: string | null;
}

export interface MergeReport {
  db: string;
  shards: ShardReport[];
  merged: number;
  skipped: number;
  refused: number;
}

/**
 * Merges shard databases (one per Slurm array task) into a results database. Each shard is
 * checked first — readable schema, an experiment the database has (a database without any
 * experiment adopts the shard's), every complete run a cell of it, and every run to bring in
 * intact: its events numbered 1..n, each row's chained digest (`chainDigest`) and the run's log
 * hash recomputed from the rows — and then its complete runs that are new here are copied in one
 * transaction. A run already complete here (same scenario hash, seed and service model) is
 * skipped, so merging again changes nothing. A damaged or foreign shard is refused whole, with
 * the reason; the other shards are merged.
 */
export function mergeShards(db: string, shards: readonly string[]): MergeReport {
  const store = EventStore.open(db);
  const reports: ShardReport[] = [];
  try {
    for (const shard of shards) reports.push(mergeShard(store, db, shard));
  } finally {
    store.close();
  }
  return {
    db,
    shards: reports,
    merged: reports.reduce((n, r) => n + r.merged, 0),
    skipped: reports.reduce((n, r) => n + r.skipped, 0),
    refused: reports.filter((r) => r.status === "refused").length,
  };
}

class Refused extends Error {}

function mergeShard(store: EventStore, db: string, shard: string): ShardReport {
  const report: ShardReport = { shard, status: "refused", merged: 0, skipped: 0, incomplete: 0, events: 0, reason: null };
  try {
    if (!existsSync(shard)) throw new Refused("no such file");
    if (realpathSync(shard) === realpathSync(db)) throw new Refused("it is the database itself");
    let reader: EventStore;
    try {
      reader = EventStore.openReadonly(shard);
    } catch (error) {
      if (error instanceof StoreError) throw new Refused(error.message.startsWith(`${shard}: `) ? error.message.slice(shard.length + 2) : error.message);
      throw error;
    }
    let toImport: RunRecord[];
    try {
      const complete = reader.completeRunsOf(); // without the scenario texts: a shard may hold thousands of runs
      report.incomplete = reader.runCount() - complete.length;
      checkExperiment(store, db, reader.listExperiments(), complete);
      const have = store.completeRunKeys();
      toImport = complete.filter((r) => !have.has(runKey(r.scenarioHash, r.seed, r.serviceModel)));
      report.skipped = complete.length - toImport.length;
      for (const run of toImport) report.events += checkRunIntact(reader, run);
    } finally {
      reader.close();
    }
    const ids = store.importRuns(shard, toImport.map((r) => r.id));
    const skippedNow = ids.filter((id) => id === null).length; // brought in meanwhile by another merge
    report.merged = ids.length - skippedNow;
    report.skipped += skippedNow;
    report.status = "merged";
    return report;
  } catch (error) {
    if (!(error instanceof Refused) && !(error instanceof StoreError)) throw error;
    return { ...report, merged: 0, skipped: 0, events: 0, reason: error.message };
  }
}

/**
 * The shard must hold an experiment that the database holds (a database without experiments
 * takes the shard's), and each of its complete runs must be of a cell of that experiment here.
 */
function checkExperiment(store: EventStore, db: string, experiments: StoredExperiment[], complete: RunRecord[]): void {
  if (experiments.length === 0) throw new Refused("not a shard of an experiment: it records no experiment");
  const mine = store.listExperiments();
  if (mine.length === 0) {
    for (const e of experiments) store.saveExperiment(e.name, e.definition, e.cells, new Date().toISOString());
    return;
  }
  const cellHashes = new Set<string>();
  for (const e of experiments) {
    const here = mine.find((m) => m.name === e.name);
    if (!here) throw new Refused(`foreign: a shard of experiment ${e.name}, but ${db} holds ${mine.map((m) => m.name).join(", ")}`);
    for (const cell of here.cells) cellHashes.add(cell.scenarioHash);
  }
  const stranger = complete.find((r) => !cellHashes.has(r.scenarioHash));
  if (stranger) {
    throw new Refused(`foreign: its run ${stranger.id} (seed ${stranger.seed}, ${stranger.serviceModel}) has scenario hash ${stranger.scenarioHash.slice(0, 12)}…, not a cell of experiment ${experiments.map((e) => e.name).join(", ")} in ${db}`);
  }
}

/** Reads a complete run's log back and checks it against what the run recorded; returns its event count. */
function checkRunIntact(reader: EventStore, run: RunRecord): number {
  const where = `run ${run.id} (seed ${run.seed}, ${run.serviceModel})`;
  // A run recorded without its events has no log hash unless one was asked for (`--log-hash`, issue 18).
  if (run.stateHash === null || (run.logHash === null && run.eventsStored) || run.eventCount === null || run.metrics === null) throw new Refused(`damaged: ${where} is complete without its hashes or metrics`);
  if (!run.eventsStored) {
    if (reader.storedEventCount(run.id) !== 0) throw new Refused(`damaged: ${where} was recorded without events but has some`);
    return 0;
  }
  let digest = FIRST_DIGEST;
  let expectedSeq = 1;
  const log = new LogHasher();
  for (const page of reader.readEvents(run.id)) {
    for (let i = 0; i < page.seq.length; i++) {
      const seq = page.seq[i]!;
      if (seq !== expectedSeq) throw new Refused(`damaged: ${where}: event ${expectedSeq} is missing (next stored: ${seq})`);
      digest = chainDigest(digest, seq, page.t[i]!, page.type[i]!, page.payload[i]!);
      if (digest !== page.digest[i]) throw new Refused(`damaged: ${where}: the chained digest differs at event ${seq} (a row was changed)`);
      log.add(eventLine(seq, page.t[i]!, page.type[i]!, page.payload[i]!));
      expectedSeq++;
    }
  }
  const count = expectedSeq - 1;
  if (count !== run.eventCount) throw new Refused(`damaged: ${where} recorded ${run.eventCount} events, ${count} are stored`);
  if (log.digest() !== run.logHash) throw new Refused(`damaged: ${where}: the log hash of its stored events differs from the recorded one`);
  return count;
}
