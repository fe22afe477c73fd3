import { Subject, type Observable, type Subscription } from "rxjs";
import { Reactions } from "../kernel/reactions.js";
import type { DomainEvent, DomainEventBody } from "./events.js";
import { evolve } from "./evolve.js";
import { emptyWorld, type World } from "./world.js";

/**
 * The event log of one run, simulated or on real hosts: the one place that stamps events and
 * changes the world. `emit` gives an event body the next `seq` and `t` = the clock's reading in ms
 * since the run began (never going back), applies it with `evolve`, publishes it on `events$`
 * (projections subscribe there: metrics, the recorder, the controller's capacity index, invariant
 * checkers), then runs the reactions (the infrastructure adapter, the storage, the controller) on
 * it and on whatever they emit in turn, in log order (`Reactions`).
 *
 * The clock is the simulation's scheduler or the wall clock (SimPy's `Environment` and
 * `RealtimeEnvironment` in one class): the same model runs in both.
 */
export class EventLog {
  readonly world: World = emptyWorld();
  private readonly subject = new Subject<DomainEvent>();
  readonly events$: Observable<DomainEvent> = this.subject.asObservable();
  private subscriberError: { error: unknown } | null = null;
  private readonly reactions = new Reactions<DomainEvent>();

  /** `clock()`: ms since the run began. */
  constructor(private readonly clock: () => number) {}

  get now(): number {
    return this.clock();
  }

  emit(body: DomainEventBody): DomainEvent {
    const event = { seq: this.world.lastSeq + 1, t: Math.max(this.world.t, this.clock()), ...body } as DomainEvent;
    evolve(this.world, event);
    this.subject.next(event);
    if (this.subscriberError) throw this.subscriberError.error;
    this.reactions.push(event);
    return event;
  }

  /** True while `restore` applies a stored event: projections that write the log (the recorder) leave it as it is. */
  restoring = false;

  /**
   * Applies an event recorded earlier (a live run resumed from its stored log, issue 19): the world
   * and the subscribers (the projections: metrics, hashes, the controller's memory) see it as they
   * did then; the reactions do not — what it called for was done, or is reconciled, then.
   */
  restore(event: DomainEvent): void {
    if (event.seq !== this.world.lastSeq + 1) throw new Error(`restoring event ${event.seq} after ${this.world.lastSeq}: the stored log has a gap`);
    this.restoring = true;
    try {
      evolve(this.world, event);
      this.subject.next(event);
    } finally {
      this.restoring = false;
    }
    if (this.subscriberError) throw this.subscriberError.error;
  }

  /**
   * Subscribes to the events so that an exception in `next` stops the run at that event (rxjs
   * reports errors thrown by subscribers asynchronously, after the run would have gone on; a store
   * that cannot write or an invariant that breaks must stop it instead).
   */
  subscribe(next: (event: DomainEvent) => void): Subscription {
    return this.events$.subscribe((event) => {
      try {
        next(event);
      } catch (error) {
        this.subscriberError ??= { error };
      }
    });
  }

  /** Registers a part that acts on events; reactions run in the order they were registered. */
  onEvent(reaction: (event: DomainEvent) => void): void {
    this.reactions.onEvent(reaction);
  }

  /**
   * Registers a hook called whenever the world is settled: an event and every consequence that
   * the reactions drew from it have been applied (invariant checks belong here).
   */
  onSettled(hook: () => void): void {
    this.reactions.onSettled(hook);
  }

  /** Ends the event stream (its subscribers' `complete`). */
  close(): void {
    this.subject.complete();
  }
}
