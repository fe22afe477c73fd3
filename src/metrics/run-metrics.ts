import type { DomainEvent, ServiceModel } from "../model/events.js";
import { cost, type CostMetrics } from "./cost.js";
import { hostAvailability, type HostAvailability } from "./host-availability.js";
import { operationsMetrics, type OperationsMetrics } from "./operations-metrics.js";
import type { Projection } from "./projection.js";
import { serviceMetrics, type ServiceMetrics } from "./service-metrics.js";
import { storageMetrics, type StorageMetrics } from "./storage-metrics.js";

/** The metrics reported for every run, as one projection over the run's events. */
export type RunMetrics = { serviceModel: ServiceModel | null } & ServiceMetrics & StorageMetrics & { cost: CostMetrics; hosts: HostAvailability; operations: OperationsMetrics };

interface State {
  /** The time of the last event: the skipping folds are advanced to it before their results. */
  t: number;
  serviceModel: ServiceModel | null;
  service: ReturnType<typeof serviceMetrics.init>;
  storage: ReturnType<typeof storageMetrics.init>;
  cost: ReturnType<typeof cost.init>;
  hosts: ReturnType<typeof hostAvailability.init>;
  operations: ReturnType<typeof operationsMetrics.init>;
}

export const runMetrics: Projection<State, RunMetrics> = {
  init: () => ({ t: 0, serviceModel: null, service: serviceMetrics.init(), storage: storageMetrics.init(), cost: cost.init(), hosts: hostAvailability.init(), operations: operationsMetrics.init() }),
  apply(s, e, world) {
    s.t = e.t;
    if (e.type === "runStarted") s.serviceModel = e.serviceModel;
    // Each fold only for the event types it reacts to (issue 18: most events of a busy log are
    // rebuilds); the service and cost folds integrate reserved GiB, a fractional quantity, and the
    // storage fold follows degraded volumes through host events, so they see every event.
    const skip = skipsOf(e.type);
    s.service = serviceMetrics.apply(s.service, e, world);
    if (!(skip & STORAGE)) s.storage = storageMetrics.apply(s.storage, e, world);
    if (!(skip & COST)) s.cost = cost.apply(s.cost, e, world);
    if (!(skip & HOSTS)) s.hosts = hostAvailability.apply(s.hosts, e, world);
    if (!(skip & OPERATIONS)) s.operations = operationsMetrics.apply(s.operations, e, world);
    return s;
  },
  result(s) {
    storageMetrics.advance!(s.storage, s.t);
    hostAvailability.advance!(s.hosts, s.t);
    operationsMetrics.advance!(s.operations, s.t);
    return {
      serviceModel: s.serviceModel,
      ...serviceMetrics.result(s.service),
      ...storageMetrics.result(s.storage),
      cost: cost.result(s.cost),
      hosts: hostAvailability.result(s.hosts),
      operations: operationsMetrics.result(s.operations),
    };
  },
};

const STORAGE = 1;
const COST = 2;
const HOSTS = 4;
const OPERATIONS = 8;
const SKIPPING: [number, Projection<never, unknown>][] = [
  [STORAGE, storageMetrics as Projection<never, unknown>],
  [COST, cost as Projection<never, unknown>],
  [HOSTS, hostAvailability as Projection<never, unknown>],
  [OPERATIONS, operationsMetrics as Projection<never, unknown>],
];
const skipsByType = new Map<string, number>();

/** The folds (bits) that ignore this event type, worked out once per type. */
function skipsOf(type: DomainEvent["type"]): number {
  let skip = skipsByType.get(type);
  if (skip === undefined) {
    skip = 0;
    for (const [bit, fold] of SKIPPING) if (fold.ignores?.has(type)) skip |= bit;
    skipsByType.set(type, skip);
  }
  return skip;
}
