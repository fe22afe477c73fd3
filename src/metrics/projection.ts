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
}

/** Folds a sequence of events through `evolve` and a projection. */
export function project<S, R>(projection: Projection<S, R>, events: Iterable<DomainEvent>): R {
  const world = emptyWorld();
  let state = projection.init();
  for (const event of events) state = projection.apply(state, event, evolve(world, event));
  return projection.result(state);
}
