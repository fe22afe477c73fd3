import { distribution, type Distribution } from "../kernel/distributions.js";
import type { Random } from "../kernel/random.js";
import { hoursToMs } from "../kernel/time.js";
import type { FailureCause } from "../model/events.js";
import type { FailureProcessSpec } from "../scenario/schema.js";
import type { Simulation } from "./simulation.js";

/**
 * Host failures as an alternating renewal process per host: while a host is up, each configured
 * cause (crash, hardware) draws its time to failure; the earliest one fails the host, which stays
 * down for a repair time drawn from that cause, then comes back as good as new and the clocks
 * restart. With exponential times this is the classic two-state Markov model of a repairable
 * component (availability MTBF / (MTBF + MTTR)); other distributions give a semi-Markov one.
 *
 * Each host and cause has its own named random stream (`failures/host/<id>/<cause>`), so a host's
 * failure history does not depend on anything else in the run — the same across service models.
 */
export interface FailureCauseModel {
  cause: FailureCause;
  timeToFailure: Distribution;
  timeToRepair: Distribution;
}

interface HostProcess {
  sim: Simulation;
  host: string;
  causes: { model: FailureCauseModel; random: Random }[];
  pendingCause: FailureCause | null;
  pendingRepair: Distribution | null;
  pendingRandom: Random | null;
}

export function failureCauses(spec: { crash?: FailureProcessSpec; hardware?: FailureProcessSpec } | undefined): FailureCauseModel[] {
  const causes: FailureCauseModel[] = [];
  for (const cause of ["crash", "hardware"] as const) {
    const process = spec?.[cause];
    if (process) {
      causes.push({ cause, timeToFailure: distribution(process.timeToFailureHours), timeToRepair: distribution(process.timeToRepairHours) });
    }
  }
  return causes;
}

/** Starts the failure process of one host, which must be up. */
export function startHostFailures(sim: Simulation, host: string, causes: FailureCauseModel[]): void {
  if (causes.length === 0) return;
  const streams = sim.random.fork("failures");
  const process: HostProcess = {
    sim,
    host,
    causes: causes.map((model) => ({ model, random: streams.fork(`host/${host}/${model.cause}`) })),
    pendingCause: null,
    pendingRepair: null,
    pendingRandom: null,
  };
  scheduleNextFailure(process);
}

function scheduleNextFailure(p: HostProcess): void {
  let soonest = Infinity;
  for (const c of p.causes) {
    // Every cause draws each cycle, so each stream's position depends only on the cycle count.
    const delay = hoursToMs(c.model.timeToFailure.sample(c.random));
    if (delay < soonest) {
      soonest = delay;
      p.pendingCause = c.model.cause;
      p.pendingRepair = c.model.timeToRepair;
      p.pendingRandom = c.random;
    }
  }
  p.sim.scheduler.after(soonest, fail, p);
}

function fail(p: HostProcess): void {
  p.sim.emit({ type: "hostFailed", host: p.host, cause: p.pendingCause! });
  p.sim.scheduler.after(hoursToMs(p.pendingRepair!.sample(p.pendingRandom!)), repair, p);
}

function repair(p: HostProcess): void {
  p.sim.emit({ type: "hostRepaired", host: p.host });
  scheduleNextFailure(p);
}
