import type { ServiceModel } from "../model/events.js";
import { cost, type CostMetrics } from "./cost.js";
import { hostAvailability, type HostAvailability } from "./host-availability.js";
import { operationsMetrics, type OperationsMetrics } from "./operations-metrics.js";
import type { Projection } from "./projection.js";
import { serviceMetrics, type ServiceMetrics } from "./service-metrics.js";
import { storageMetrics, type StorageMetrics } from "./storage-metrics.js";

/** The metrics reported for every run, as one projection over the run's events. */
export type RunMetrics = { serviceModel: ServiceModel | null } & ServiceMetrics & StorageMetrics & { cost: CostMetrics; hosts: HostAvailability; operations: OperationsMetrics };

interface State {
  serviceModel: ServiceModel | null;
  service: ReturnType<typeof serviceMetrics.init>;
  storage: ReturnType<typeof storageMetrics.init>;
  cost: ReturnType<typeof cost.init>;
  hosts: ReturnType<typeof hostAvailability.init>;
  operations: ReturnType<typeof operationsMetrics.init>;
}

export const runMetrics: Projection<State, RunMetrics> = {
  init: () => ({ serviceModel: null, service: serviceMetrics.init(), storage: storageMetrics.init(), cost: cost.init(), hosts: hostAvailability.init(), operations: operationsMetrics.init() }),
  apply(s, e, world) {
    if (e.type === "runStarted") s.serviceModel = e.serviceModel;
    s.service = serviceMetrics.apply(s.service, e, world);
    s.storage = storageMetrics.apply(s.storage, e, world);
    s.cost = cost.apply(s.cost, e, world);
    s.hosts = hostAvailability.apply(s.hosts, e, world);
    s.operations = operationsMetrics.apply(s.operations, e, world);
    return s;
  },
  result: (s) => ({
    serviceModel: s.serviceModel,
    ...serviceMetrics.result(s.service),
    ...storageMetrics.result(s.storage),
    cost: cost.result(s.cost),
    hosts: hostAvailability.result(s.hosts),
    operations: operationsMetrics.result(s.operations),
  }),
};
