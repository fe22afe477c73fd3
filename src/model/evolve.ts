import type { DomainEvent } from "./events.js";
import type { Host, World } from "./world.js";

/** An event that cannot follow the state it was applied to: the log is corrupt or out of order. */
export class EvolveError extends Error {
  constructor(readonly event: DomainEvent, reason: string) {
    super(`event seq ${event.seq} (${event.type} at t=${event.t} ms) cannot be applied: ${reason}`);
  }
}

/**
 * Applies one event to the world: the only code that changes world state.
 *
 * It is deterministic and reads nothing but its arguments. For speed it updates `world` in place
 * and returns it (copying a cluster of 50 000 hosts per event would make every event O(hosts));
 * whoever folds owns the state. It checks that the event may follow the state — next seq, time
 * not going back, a transition that exists — and throws `EvolveError` otherwise, so a damaged log
 * is caught at the first event that does not fit.
 */
export function evolve(world: World, event: DomainEvent): World {
  if (event.seq !== world.lastSeq + 1) throw new EvolveError(event, `expected seq ${world.lastSeq + 1}`);
  if (!(event.t >= world.t)) throw new EvolveError(event, `time goes back from t=${world.t} ms`);
  if (world.ended) throw new EvolveError(event, "the run has already ended");
  switch (event.type) {
    case "hostAdded": {
      if (world.hosts.has(event.host)) throw new EvolveError(event, `host ${event.host} already exists`);
      world.hosts.set(event.host, {
        id: event.host,
        rack: event.rack,
        vcpus: event.vcpus,
        memoryGiB: event.memoryGiB,
        diskGiB: event.diskGiB,
        status: "up",
        since: event.t,
        failures: 0,
      });
      break;
    }
    case "hostFailed": {
      const host = hostIn(world, event, event.host);
      if (host.status !== "up") throw new EvolveError(event, `host ${host.id} is ${host.status}, not up`);
      host.status = "failed";
      host.since = event.t;
      host.failures++;
      break;
    }
    case "hostRepaired": {
      const host = hostIn(world, event, event.host);
      if (host.status !== "failed") throw new EvolveError(event, `host ${host.id} is ${host.status}, not failed`);
      host.status = "up";
      host.since = event.t;
      break;
    }
    case "runEnded":
      world.ended = true;
      break;
    default:
      return unreachable(event);
  }
  world.t = event.t;
  world.lastSeq = event.seq;
  return world;
}

function hostIn(world: World, event: DomainEvent, id: string): Host {
  const host = world.hosts.get(id);
  if (!host) throw new EvolveError(event, `unknown host ${id}`);
  return host;
}

function unreachable(event: never): never {
  const e = event as DomainEvent;
  throw new EvolveError(e, `unknown event type ${JSON.stringify(e.type)}`);
}
