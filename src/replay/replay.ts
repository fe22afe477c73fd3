import { runMetrics } from "../metrics/run-metrics.js";
import { canonicalJson } from "../model/canonical.js";
import type { DomainEvent } from "../model/events.js";
import { evolve } from "../model/evolve.js";
import { emptyWorld, type World } from "../model/world.js";
import { hashWorld } from "../recording/hashing.js";
import { chainDigest, decodeEvent, FIRST_DIGEST } from "../event-store/event-codec.js";
import type { EventStore, RunRecord } from "../event-store/event-store.js";

export interface ReplayReport {
  runId: number;
  status: RunRecord["status"];
  eventCount: number;
  stateHash: string;
  recordedStateHash: string | null;
  metrics: unknown;
  /** True when verification found nothing wrong (always true without `verify`). */
  ok: boolean;
  /** The first point where the log or the rebuilt state departs from what the run recorded. */
  divergence: { seq: number | null; reason: string } | null;
}

/**
 * Rebuilds a run's state from its stored events with the same `evolve` and metrics as the live
 * run, reading the log a page at a time (`EventStore.readEvents`): memory stays bounded by the
 * state and one page, not the log.
 *
 * With `verify` it checks, in order: each row against the digest chain written with it (a
 * changed, inserted or removed row is named exactly); that each event can follow the state
 * (`evolve` refuses gaps, time going back, impossible transitions); the state at every
 * checkpoint; and at the end the final state hash, the event count and the metrics recorded
 * by the live run. The first failure is reported as the divergence.
 */
export function replayRun(store: EventStore, run: RunRecord, options: { verify: boolean; observe?: (event: DomainEvent, world: World) => void }): ReplayReport {
  const world = emptyWorld();
  let metricsState = runMetrics.init();
  const checkpoints = options.verify ? store.checkpoints(run.id) : new Map<number, string>();
  let lastCheckpoint = 0;
  let digest = FIRST_DIGEST;
  let count = 0;
  const report = (divergence: ReplayReport["divergence"]): ReplayReport => ({
    runId: run.id,
    status: run.status,
    eventCount: count,
    stateHash: hashWorld(world),
    recordedStateHash: run.stateHash,
    metrics: runMetrics.result(metricsState),
    ok: divergence === null,
    divergence,
  });

  for (const page of store.readEvents(run.id, { digests: options.verify })) {
    for (let i = 0; i < page.seq.length; i++) {
      const seq = page.seq[i]!;
      const t = page.t[i]!;
      const type = page.type[i]!;
      const payload = page.payload[i]!;
      if (options.verify) {
        if (seq !== count + 1) {
          const missing = seq === count + 2 ? `seq ${count + 1} is` : `seqs ${count + 1}..${seq - 1} are`;
          return report({ seq: count + 1, reason: `event ${missing} missing from the stored log (a gap: rows were deleted before seq ${seq})` });
        }
        digest = chainDigest(digest, seq, t, type, payload);
        if (digest !== page.digest[i]) {
          return report({ seq, reason: `event seq ${seq} (${type} at t=${t} ms) is not the event the run wrote (digest mismatch): the stored log was changed here` });
        }
      }
      let event: DomainEvent;
      try {
        event = decodeEvent(seq, t, type, payload);
        evolve(world, event);
      } catch (error) {
        if (!options.verify) throw error;
        return report({ seq, reason: (error as Error).message });
      }
      metricsState = runMetrics.apply(metricsState, event, world);
      options.observe?.(event, world);
      count++;
      const expected = checkpoints.get(seq);
      if (expected !== undefined) {
        if (hashWorld(world) !== expected) {
          return report({
            seq,
            reason: `the state after event seq ${seq} differs from the checkpoint the run wrote: the first diverging event is in seq ${lastCheckpoint + 1}..${seq} (evolve or the event format changed since the run)`,
          });
        }
        lastCheckpoint = seq;
      }
    }
  }

  if (!options.verify) return report(null);
  const done = report(null);
  if (run.status !== "complete") {
    return { ...done, ok: false, divergence: { seq: null, reason: `run ${run.id} is not complete (${run.status}): ${count} events replayed, no final state to compare` } };
  }
  if (count !== run.eventCount) {
    return { ...done, ok: false, divergence: { seq: count + 1, reason: `the run wrote ${run.eventCount} events but ${count} are stored: the log ends early after seq ${count}` } };
  }
  if (done.stateHash !== run.stateHash) {
    return { ...done, ok: false, divergence: { seq: null, reason: `final state hash ${done.stateHash} differs from the recorded ${run.stateHash} (after seq ${lastCheckpoint}, the last checkpoint that matched)` } };
  }
  // Metrics a later version added are not in an older run's record: compare those it has.
  if (canonicalJson(recordedFields(done.metrics, run.metrics)) !== canonicalJson(run.metrics)) {
    return { ...done, ok: false, divergence: { seq: null, reason: "the metrics computed from the log differ from the metrics the live run recorded" } };
  }
  return done;
}

/** `computed` cut down to the fields present in `recorded` (recursively), so metrics added since a run was recorded do not count as a difference. */
function recordedFields(computed: unknown, recorded: unknown): unknown {
  if (computed === null || recorded === null || typeof computed !== "object" || typeof recorded !== "object" || Array.isArray(recorded)) return computed;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(recorded as Record<string, unknown>)) {
    out[key] = recordedFields((computed as Record<string, unknown>)[key], (recorded as Record<string, unknown>)[key]);
  }
  return out;
}
