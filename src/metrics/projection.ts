import type { DomainEvent } from "../model/events.js";

/**
 * A metric is a fold over the event stream: `init`, then `apply` for every event in order,
 * then `result`. The same projection runs live (subscribed to a run's event stream) and later
 * over a stored log, and both must give the same result.
 */
export interface Projection<S, R> {
  init(): S;
  apply(state: S, event: DomainEvent): S;
  result(state: S): R;
}

/** Folds a sequence of events through a projection. */
export function project<S, R>(projection: Projection<S, R>, events: Iterable<DomainEvent>): R {
  let state = projection.init();
  for (const event of events) state = projection.apply(state, event);
  return projection.result(state);
}
