/**
 * Domain events: the only record of what happened in a run. The world state is the fold of
 * `evolve` over them, starting from `emptyWorld()`, so a log holds everything needed to rebuild
 * a run (the hosts themselves arrive as `hostAdded` events at t = 0).
 *
 * Every event carries `seq` (its 1-based position in the run's log) and `t` (simulated or
 * wall-clock milliseconds since the start of the run). Payload field names carry their units.
 */
export type FailureCause = "crash" | "hardware";

export type DomainEventBody =
  | {
      type: "hostAdded";
      host: string;
      rack: string;
      vcpus: number;
      memoryGiB: number;
      diskGiB: number;
    }
  /** A host stopped: a transient crash (back after a reboot) or a hardware failure (back after repair). */
  | { type: "hostFailed"; host: string; cause: FailureCause }
  | { type: "hostRepaired"; host: string }
  /** The end of the observed period: metrics are measured over [0, t of this event]. */
  | { type: "runEnded" };

export type DomainEvent = { seq: number; t: number } & DomainEventBody;
export type EventType = DomainEvent["type"];
export type EventOf<K extends EventType> = Extract<DomainEvent, { type: K }>;
