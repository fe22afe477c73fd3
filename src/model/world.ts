/**
 * The world state that `evolve` builds from events. Plain data: Maps keyed by id, in the order
 * the ids first appeared in the log, so iteration order is itself a function of the log.
 */
export type HostStatus = "up" | "failed";

export interface Host {
  readonly id: string;
  readonly rack: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly diskGiB: number;
  status: HostStatus;
  /** When the host entered its current status (ms). */
  since: number;
  failures: number;
}

export interface World {
  /** Time of the last applied event (ms). */
  t: number;
  /** `seq` of the last applied event; the next must be `lastSeq + 1`. */
  lastSeq: number;
  ended: boolean;
  hosts: Map<string, Host>;
}

export function emptyWorld(): World {
  return { t: 0, lastSeq: 0, ended: false, hosts: new Map() };
}
