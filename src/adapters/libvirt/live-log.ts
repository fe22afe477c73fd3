import { runMetrics, type RunMetrics } from "../../metrics/run-metrics.js";
import { Reactions } from "../../kernel/reactions.js";
import type { DomainEvent, DomainEventBody } from "../../model/events.js";
import { evolve } from "../../model/evolve.js";
import { emptyWorld, type World } from "../../model/world.js";
import { hashWorld, LogHasher } from "../../run/hashing.js";
import { encodeEvent, eventLine } from "../../store/event-codec.js";
import { EventWriter, type EventStore, type RunMeta } from "../../store/event-store.js";
import type { Provenance } from "../../run/provenance.js";

/**
 * The event log of a run on real hosts: the wall-clock counterpart of `Simulation`. `emit` stamps
 * an event body with the next `seq` and `t` = wall-clock ms since the run began (never going
 * back), applies it with `evolve` — the only thing that changes the world — hands it to the
 * subscribers (the controller's capacity index, the store, the metrics), then runs the reactions
 * (the adapter, the controller) on it and on whatever they emit in turn, in order, exactly as the
 * simulation does. Reactions that throw are reported, not swallowed: the run fails.
 */
export class LiveLog {
  readonly world: World = emptyWorld();
  private readonly subscribers: Array<(event: DomainEvent) => void> = [];
  private readonly reactions = new Reactions<DomainEvent>();
  private readonly started: number;

  constructor(private readonly clock: () => number = () => performance.now()) {
    this.started = clock();
  }

  /** Wall-clock ms since the run began. */
  get now(): number {
    return Math.round(this.clock() - this.started);
  }

  emit(body: DomainEventBody): DomainEvent {
    const event = { seq: this.world.lastSeq + 1, t: Math.max(this.world.t, this.now), ...body } as DomainEvent;
    evolve(this.world, event);
    for (const subscriber of this.subscribers) subscriber(event);
    this.reactions.push(event);
    return event;
  }

  subscribe(next: (event: DomainEvent) => void): void {
    this.subscribers.push(next);
  }

  onEvent(reaction: (event: DomainEvent) => void): void {
    this.reactions.onEvent(reaction);
  }

  onSettled(hook: () => void): void {
    this.reactions.onSettled(hook);
  }

}

/**
 * Records a live run in the event store as `runScenario` records a simulated one: the run row
 * first, events flushed whenever the world settles (a killed controller leaves its log up to
 * there), and at the end the final state hash, log hash and metrics, so that `replay --verify`
 * and `inspect` treat real runs like simulated ones.
 */
export class LiveRecorder {
  readonly runId: number;
  private readonly writer: EventWriter;
  private readonly logHash = new LogHasher();
  private metricsState = runMetrics.init();
  eventCount = 0;

  constructor(
    private readonly log: LiveLog,
    private readonly store: EventStore,
    meta: RunMeta,
    private readonly provenance: Provenance,
  ) {
    this.runId = store.beginRun(meta, provenance.now());
    this.writer = new EventWriter(store, this.runId);
    log.subscribe((event) => {
      this.eventCount++;
      const row = encodeEvent(event);
      this.logHash.add(eventLine(row.seq, row.t, row.type, row.payload));
      this.metricsState = runMetrics.apply(this.metricsState, event, log.world);
      this.writer.add(row);
    });
    log.onSettled(() => this.writer.flush());
  }

  /** Ends the run: `runEnded` must have been emitted. */
  complete(): { runId: number; eventCount: number; finalT: number; stateHash: string; logHash: string; metrics: RunMetrics } {
    const result = {
      runId: this.runId,
      eventCount: this.eventCount,
      finalT: this.log.world.t,
      stateHash: hashWorld(this.log.world),
      logHash: this.logHash.digest(),
      metrics: runMetrics.result(this.metricsState),
    };
    this.store.completeRun(this.runId, this.writer.takeBuffered(), result, this.provenance.now());
    return result;
  }

  abandon(status: "failed" | "interrupted", error: string): void {
    try {
      this.writer.flush();
    } finally {
      this.store.abandonRun(this.runId, status, error, this.provenance.now());
    }
  }
}
