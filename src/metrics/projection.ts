import type { DomainEvent } from "../model/events.js";
import { evolve } from "../model/evolve.js";
import { emptyWorld, type World } from "../model/world.js";

/**
 * A metric is a fold over the event stream: `init`, then `apply` for every event in order,
 * then `result`. `apply` also sees the world as `evolve` left it after the event (read-only), so
 * a metric need not rebuild what the world already knows; both are functions of the log prefix.
 * The same projection runs live (subscribed to a run's event stream) and later over a stored
 * log, and both must give the same result.
 */
export interface Projection<S, R> {
  init(): S;
  apply(state: S, event: DomainEvent, world: World): S;
  result(state: S): R;
  /**
   * For speed, optional (issue 18): the event types on which `apply` does nothing but `advance` the
   * fold to the event's time. A composite (`runMetrics`) skips `apply` for them and calls
   * `advance` before `result`. Only for folds whose time integrals are then unchanged to the bit:
   * integer counts times integer milliseconds (exact below 2^53), so that Σ c·Δt over the skipped
   * events equals c·(Σ Δt); a fold that integrates a fractional quantity (reserved GiB) must not
   * declare it. A type not listed is applied, so an event type added later is never skipped.
   */
  ignores?: ReadonlySet<DomainEvent["type"]>;
  /** Moves the fold's clock to `t` (≥ its time), integrating what accrues with time: what `apply` does first. */
  advance?(state: S, t: number): void;
}

/** Folds a sequence of events through `evolve` and a projection. */
export function project<S, R>(projection: Projection<S, R>, events: Iterable<DomainEvent>): R {
  const world = emptyWorld();
  let state = projection.init();
  for (const event of events) state = projection.apply(state, event, evolve(world, event));
  return projection.result(state);
}
