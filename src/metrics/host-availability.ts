import { msToHours } from "../kernel/time.js";
import type { FailureCause } from "../model/events.js";
import type { Projection } from "./projection.js";

/**
 * Host availability: the fraction of host-time during which hosts were up, over [0, end of run],
 * with the failures counted by cause and the mean time to repair of the repairs that finished.
 * For one host with independent up and down periods this estimates the steady-state
 * availability MTBF / (MTBF + MTTR) of an alternating renewal process (Barlow & Proschan,
 * "Mathematical Theory of Reliability", 1965, ch. 7).
 */
export interface HostAvailability {
  hosts: number;
  observedHours: number;
  hostAvailability: number;
  hostDowntimeHours: number;
  hostFailures: Record<FailureCause, number>;
  repairs: number;
  meanTimeToRepairHours: number | null;
}

interface State {
  t: number;
  hosts: number;
  downSince: Map<string, number>;
  downMs: number;
  failures: Record<FailureCause, number>;
  repairs: number;
  repairMs: number;
}

export const hostAvailability: Projection<State, HostAvailability> = {
  init: () => ({ t: 0, hosts: 0, downSince: new Map(), downMs: 0, failures: { crash: 0, hardware: 0 }, repairs: 0, repairMs: 0 }),
  apply(s, e) {
    s.t = e.t;
    switch (e.type) {
      case "hostAdded":
        s.hosts++;
        break;
      case "hostFailed":
        s.downSince.set(e.host, e.t);
        s.failures[e.cause]++;
        break;
      case "hostRepaired": {
        const since = s.downSince.get(e.host) ?? e.t;
        s.downSince.delete(e.host);
        s.downMs += e.t - since;
        s.repairs++;
        s.repairMs += e.t - since;
        break;
      }
    }
    return s;
  },
  result(s) {
    let downMs = s.downMs;
    for (const since of s.downSince.values()) downMs += s.t - since;
    const hostMs = s.hosts * s.t;
    return {
      hosts: s.hosts,
      observedHours: msToHours(s.t),
      hostAvailability: hostMs > 0 ? 1 - downMs / hostMs : 1,
      hostDowntimeHours: msToHours(downMs),
      hostFailures: { ...s.failures },
      repairs: s.repairs,
      meanTimeToRepairHours: s.repairs > 0 ? msToHours(s.repairMs / s.repairs) : null,
    };
  },
};
