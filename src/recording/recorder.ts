import { runMetrics, type RunMetrics } from "../metrics/run-metrics.js";
import type { EventLog } from "../model/event-log.js";
import { encodeEvent, eventLine } from "../event-store/event-codec.js";
import { EventWriter, type EventStore, type RunMeta } from "../event-store/event-store.js";
import { hashWorld, LogHasher, stateHash } from "./hashing.js";
import type { Provenance } from "./provenance.js";

/** What a finished run yields: its size, its hashes and its metrics. */
export interface RunOutcome {
  eventCount: number;
  finalT: number;
  stateHash: string;
  /** sha256 of the event lines; null when the log was neither stored nor asked to be hashed (`hashLog`). */
  logHash: string | null;
  metrics: RunMetrics;
}

export interface RecorderOptions {
  /** Where to record the run; without a store the run's hashes and metrics are only computed. */
  store?: EventStore;
  /** The run row's description (needed with a store). */
  meta?: Omit<RunMeta, "eventsStored">;
  provenance?: Provenance;
  /** Store the event log (default true); metrics and hashes are stored either way. */
  storeEvents?: boolean;
  /**
   * Hash the event log (the log hash) — default: unless `storeEvents` is false. A run whose events
   * are not stored then encodes and hashes nothing per event (≈ 10–15 % of a run, issue 18); ask for
   * it to compare two such runs event for event.
   */
  hashLog?: boolean;
  /**
   * Continue a stored run that is still `running` (a live run taken over from a dead controller):
   * no new row; the events the log restores are folded and chained but not written again.
   */
  resumeRunId?: number;
  /** Flush the stored events whenever the world settles (a live run: a killed controller leaves its log up to there). */
  flushWhenSettled?: boolean;
}

/**
 * State-hash checkpoints, so replay can locate a divergence: the next one comes this many events
 * after the last, or one event per CHECKPOINT_BYTES_PER_EVENT characters of the last hashed state
 * (before the first: of a lower bound of it, `MIN_STATE_CHARS_PER_OBJECT`) if that is more, so that
 * hashing stays a small share of the work however large the world.
 */
export const CHECKPOINT_EVERY = 20_000;
export const CHECKPOINT_BYTES_PER_EVENT = 2;
/**
 * Characters of canonical JSON that every host, VM and volume of the world takes at least (each has
 * a dozen named fields or more): before the first checkpoint, when no state has been hashed yet,
 * `CHECKPOINT_BYTES_PER_EVENT` is applied to this lower bound, so that a large world is not hashed
 * after its first 20 000 events (in `scale-1k` that one hash of 5.6 MB was ≈ 4 % of a stored run).
 */
export const MIN_STATE_CHARS_PER_OBJECT = 100;

/**
 * Records a run, simulated or live, from its event log: counts the events, hashes their lines
 * (the log hash), folds the run's metrics, and with a store writes the run row first, the events
 * in batches with state checkpoints, and at the end — in one transaction with its last events —
 * the final state hash, log hash and metrics (`complete`), or the reason it stopped (`abandon`).
 * `replay --verify` recomputes all of it from the stored log.
 */
export class Recorder {
  readonly runId: number | null;
  eventCount = 0;
  private readonly writer: EventWriter | null;
  private readonly logHash: LogHasher | null;
  private metricsState = runMetrics.init();
  private nextCheckpoint = CHECKPOINT_EVERY;
  private lastCheckpoint = 0;

  constructor(private readonly log: EventLog, private readonly options: RecorderOptions = {}) {
    const { store, meta } = options;
    const storeEvents = store !== undefined && options.storeEvents !== false;
    this.runId = options.resumeRunId ?? (store && meta ? store.beginRun({ ...meta, eventsStored: storeEvents }, this.now()) : null);
    this.writer = storeEvents && this.runId !== null ? new EventWriter(store!, this.runId) : null;
    this.logHash = (options.hashLog ?? options.storeEvents !== false) ? new LogHasher() : null;
    log.subscribe((event) => {
      this.eventCount++;
      this.metricsState = runMetrics.apply(this.metricsState, event, log.world);
      if (this.logHash === null && this.writer === null) return;
      const row = encodeEvent(event);
      this.logHash?.add(eventLine(row.seq, row.t, row.type, row.payload));
      if (this.writer) {
        if (log.restoring) this.writer.chainStored(row);
        else this.writer.add(row);
        if (event.seq === this.nextCheckpoint && this.lastCheckpoint === 0) {
          const { hosts, vms, volumes } = log.world;
          const atLeast = Math.ceil(((hosts.size + vms.size + volumes.size) * MIN_STATE_CHARS_PER_OBJECT) / CHECKPOINT_BYTES_PER_EVENT);
          if (atLeast > event.seq) this.nextCheckpoint = atLeast;
        }
        if (event.seq === this.nextCheckpoint) {
          this.lastCheckpoint = event.seq;
          const state = stateHash(log.world);
          if (!log.restoring) store!.addCheckpoint(this.runId!, event.seq, state.hash);
          this.nextCheckpoint += Math.max(CHECKPOINT_EVERY, Math.ceil(state.length / CHECKPOINT_BYTES_PER_EVENT));
        }
      }
    });
    if (options.flushWhenSettled) log.onSettled(() => this.flush());
  }

  /** Writes the buffered events. */
  flush(): void {
    this.writer?.flush();
  }

  /** Ends the run (`runEnded` must have been emitted): its outcome, stored as complete with a store. */
  complete(): RunOutcome {
    const outcome: RunOutcome = {
      eventCount: this.eventCount,
      finalT: this.log.world.t,
      stateHash: hashWorld(this.log.world),
      logHash: this.logHash?.digest() ?? null,
      metrics: runMetrics.result(this.metricsState),
    };
    if (this.runId !== null) this.options.store!.completeRun(this.runId, this.writer?.takeBuffered() ?? [], outcome, this.now());
    return outcome;
  }

  /** Marks a run that stopped early; the events written so far stay, under a run that is not complete. */
  abandon(status: "failed" | "interrupted", error: string): void {
    if (this.runId === null) return;
    try {
      this.writer?.flush();
    } finally {
      this.options.store!.abandonRun(this.runId, status, error, this.now());
    }
  }

  private now(): string {
    if (!this.options.provenance) throw new Error("a recorder with a store needs the provenance");
    return this.options.provenance.now();
  }
}
