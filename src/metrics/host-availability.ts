import { msToHours } from "../kernel/time.js";
import type { DomainEvent } from "../model/events.js";
import type { World } from "../model/world.js";
import type { Projection } from "./projection.js";

/**
 * Host availability: the fraction of host-time during which hosts had not failed (a host failure
 * or its rack's outage; a host switched off on purpose has not failed), over [0, end of run],
 * with the failures counted by cause (rack outages separately) and the mean time to repair of
 * the host outages that ended. For one host with independent up and down periods this estimates
 * the steady-state availability MTBF / (MTBF + MTTR) of an alternating renewal process (Barlow &
 * Proschan, "Mathematical Theory of Reliability", 1965, ch. 7).
 */
export interface HostAvailability {
  hosts: number;
  observedHours: number;
  hostAvailability: number;
  hostDowntimeHours: number;
  hostFailures: { crash: number; hardware: number; burst: number };
  rackOutages: number;
  repairs: number;
  meanTimeToRepairHours: number | null;
}

interface State {
  t: number;
  /** Where the measured period starts: 0, or the end of the warm-up (`warmupEnded`: counts start again, a host down then is down from then). */
  from: number;
  hosts: number;
  downSince: Map<string, number>;
  downMs: number;
  failures: { crash: number; hardware: number; burst: number };
  rackOutages: number;
  repairs: number;
}

export const hostAvailability: Projection<State, HostAvailability> = {
  init: () => ({ t: 0, from: 0, hosts: 0, downSince: new Map(), downMs: 0, failures: { crash: 0, hardware: 0, burst: 0 }, rackOutages: 0, repairs: 0 }),
  apply(s, e, world) {
    hostAvailability.advance!(s, e.t);
    if (e.type === "warmupEnded") {
      for (const id of s.downSince.keys()) s.downSince.set(id, e.t);
      return { ...hostAvailability.init(), t: e.t, from: e.t, hosts: s.hosts, downSince: s.downSince };
    }
    if (e.type === "hostAdded") s.hosts++; // (one that joins a rack that is out is down from the start)
    else if (e.type === "hostFailed") s.failures[e.cause]++;
    else if (e.type === "rackFailed") s.rackOutages++;
    for (const id of hostsOf(e, world)) {
      const host = world.hosts.get(id)!;
      const failed = host.failure !== null || !world.racks.get(host.rack)!.up;
      if (failed && !s.downSince.has(id)) s.downSince.set(id, e.t);
      else if (!failed && s.downSince.has(id)) {
        s.downMs += e.t - s.downSince.get(id)!;
        s.downSince.delete(id);
        s.repairs++;
      }
    }
    return s;
  },
  // Every type that is neither counted here nor changes a host's failure status (\`hostsOf\`): only the clock moves.
  ignores: new Set<DomainEvent["type"]>([
    "runStarted", "hostFailureDetected", "hostPoweredOff", "hostPoweredOn", "maintenanceStarted", "maintenanceFinished", "hostIsolated", "hostReconnected",
    "vmRequested", "vmRejected", "vmPlaced", "vmRebooted", "vmStarted", "migrationStarted", "migrationFinished", "migrationAborted", "splitBrain",
    "vmDown", "vmLost", "vmTerminated", "diskFailed", "diskReplaced", "raidRebuildStarted", "raidRebuildFinished", "arrayLost", "arrayRecreated",
    "hostMarkedOut", "volumeCreated", "volumeDeleted", "copyLost", "rebuildStarted", "rebuildFinished", "rebuildAborted", "copyDropped",
    "sanFailed", "sanRepaired", "storageFailed", "storageRepaired", "storageNetworkFailed", "storageNetworkRepaired", "vmResumed", "volumeLost",
    "guestBooted", "runEnded",
  ]),
  advance(s, t) {
    s.t = t;
  },
  result(s) {
    let downMs = s.downMs;
    for (const since of s.downSince.values()) downMs += s.t - since;
    const hostMs = s.hosts * (s.t - s.from);
    return {
      hosts: s.hosts,
      observedHours: msToHours(s.t - s.from),
      hostAvailability: hostMs > 0 ? 1 - downMs / hostMs : 1,
      hostDowntimeHours: msToHours(downMs),
      hostFailures: { ...s.failures },
      rackOutages: s.rackOutages,
      repairs: s.repairs,
      meanTimeToRepairHours: s.repairs > 0 ? msToHours(s.downMs / s.repairs) : null,
    };
  },
};

/** The hosts whose failure status the event may have changed. */
function hostsOf(e: DomainEvent, world: World): readonly string[] {
  switch (e.type) {
    case "hostAdded":
    case "hostFailed":
    case "hostRepaired":
      return [e.host];
    case "rackFailed":
    case "rackRepaired":
      return world.racks.get(e.rack)!.hosts;
    default:
      return [];
  }
}
