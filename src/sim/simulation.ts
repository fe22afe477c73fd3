import { Subject, type Observable, type Subscription } from "rxjs";
import { Reactions } from "../kernel/reactions.js";
import { Scheduler } from "../kernel/scheduler.js";
import { Random } from "../kernel/random.js";
import type { DomainEvent, DomainEventBody } from "../model/events.js";
import { evolve } from "../model/evolve.js";
import { emptyWorld, type World } from "../model/world.js";

/**
 * A simulated run: the scheduler that owns time, the root random stream, and the world that the
 * emitted events build. Models emit event bodies; `emit` stamps them with `seq` and the current
 * simulated time, applies them with `evolve`, and publishes them on the rxjs stream `events$`, to
 * which projections (metrics, the store, invariant checkers, progress) subscribe.
 */
export class Simulation {
  readonly scheduler = new Scheduler();
  readonly world: World = emptyWorld();
  readonly random: Random;
  private readonly subject = new Subject<DomainEvent>();
  readonly events$: Observable<DomainEvent> = this.subject.asObservable();
  private subscriberError: { error: unknown } | null = null;
  private readonly reactions = new Reactions<DomainEvent>();

  constructor(readonly seed: number) {
    this.random = Random.fromSeed(seed);
  }

  emit(body: DomainEventBody): DomainEvent {
    const event = { seq: this.world.lastSeq + 1, t: this.scheduler.now, ...body } as DomainEvent;
    evolve(this.world, event);
    this.subject.next(event);
    if (this.subscriberError) throw this.subscriberError.error;
    this.reactions.push(event);
    return event;
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


  get now(): number {
    return this.scheduler.now;
  }

  /**
   * Subscribes to the event stream so that an exception in `next` stops the run at that event.
   * (rxjs reports errors thrown by subscribers asynchronously, after the run would have gone on;
   * a store that cannot write or an invariant that breaks must stop it instead.)
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

  /** Runs up to `maxEvents` timers; returns true once the run has ended (no more work). */
  advance(maxEvents: number): boolean {
    this.scheduler.run(Infinity, maxEvents);
    const done = this.world.ended || this.scheduler.pending === 0;
    if (done) this.subject.complete();
    return done;
  }
}
