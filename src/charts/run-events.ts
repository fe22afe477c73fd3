import type { DomainEvent } from "../model/events.js";
import { decodeEvent } from "../event-store/event-codec.js";
import type { EventStore, RunRecord } from "../event-store/event-store.js";

/** The events of a stored run, decoded, in seq order, read a page at a time. */
export function* runEvents(store: EventStore, runId: number): Generator<DomainEvent> {
  for (const page of store.readEvents(runId, { digests: false })) {
    for (let i = 0; i < page.seq.length; i++) yield decodeEvent(page.seq[i]!, page.t[i]!, page.type[i]!, page.payload[i]!);
  }
}

/**
 * The complete runs that kept their event log, of the scenario that has the most of them
 * (a sweep has one scenario per cell: the charts drawn from logs show one cell, not a mix).
 */
export function runsWithEvents(runs: readonly RunRecord[]): RunRecord[] {
  const groups = new Map<string, RunRecord[]>();
  for (const run of runs) {
    if (run.status !== "complete" || !run.eventsStored) continue;
    const group = groups.get(run.scenarioHash);
    if (group) group.push(run);
    else groups.set(run.scenarioHash, [run]);
  }
  let best: RunRecord[] = [];
  for (const group of groups.values()) if (group.length > best.length) best = group;
  return best;
}
