import { hostAvailability, type HostAvailability } from "./host-availability.js";

/** The metrics reported for every run, as one projection over the run's events. */
export type RunMetrics = HostAvailability;
export const runMetrics = hostAvailability;
