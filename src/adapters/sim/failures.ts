import { distribution, type Distribution } from "../../kernel/distributions.js";
import type { Random } from "../../kernel/random.js";
import { hoursToMs } from "../../kernel/time.js";
import type { FailureCause } from "../../model/events.js";
import type { FailureProcessSpec, FailureRow } from "../../scenario/schema.js";
import type { Simulation } from "./simulation.js";

/**
 * Failures of a component (a host, a rack) as an alternating renewal process: while it is up,
 * each configured cause draws its time to failure; the earliest one fails the component, which
 * stays down for a repair time drawn from that cause, then comes back as good as new and the
 * clocks restart. With exponential times this is the classic two-state Markov model of a
 * repairable component, availability MTBF / (MTBF + MTTR) (Barlow & Proschan, 1965); other
 * distributions give a semi-Markov one with the same availability formula of the means.
 *
 * Each component and cause has its own named random stream (`failures/<component>/<cause>`),
 * and every cause draws once per cycle, so a component's failure history depends on nothing
 * else in the run: the service models compared on one seed see the same failures.
 */
export interface FailureCauseModel<C extends string> {
  cause: C;
  timeToFailure: Distribution;
  timeToRepair: Distribution;
}

export function failureCauses<C extends string>(specs: Partial<Record<C, FailureProcessSpec>> | undefined, causes: readonly C[]): FailureCauseModel<C>[] {
  const models: FailureCauseModel<C>[] = [];
  for (const cause of causes) {
    const spec = specs?.[cause];
    if (spec) models.push({ cause, timeToFailure: distribution(spec.timeToFailureHours), timeToRepair: distribution(spec.timeToRepairHours) });
  }
  return models;
}

export const HOST_FAILURE_CAUSES: readonly FailureCause[] = ["crash", "hardware"];

interface Process<C extends string> {
  sim: Simulation;
  causes: { model: FailureCauseModel<C>; random: Random }[];
  onFail: (cause: C) => void;
  onRepair: () => void;
  next: { model: FailureCauseModel<C>; random: Random } | null;
}

/**
 * Starts the failure process of a component that is up now; `streams` is the run's `failures`
 * stream (`sim.random.fork("failures")`, forked once for all components).
 */
export function startFailureProcess<C extends string>(
  sim: Simulation,
  streams: Random,
  component: string,
  causes: FailureCauseModel<C>[],
  onFail: (cause: C) => void,
  onRepair: () => void,
): void {
  if (causes.length === 0) return;
  const process: Process<C> = {
    sim,
    causes: causes.map((model) => ({ model, random: streams.fork(`${component}/${model.cause}`) })),
    onFail,
    onRepair,
    next: null,
  };
  scheduleNextFailure(process);
}

function scheduleNextFailure<C extends string>(p: Process<C>): void {
  let soonest = Infinity;
  for (const c of p.causes) {
    const delay = hoursToMs(c.model.timeToFailure.sample(c.random));
    if (delay < soonest) {
      soonest = delay;
      p.next = c;
    }
  }
  p.sim.scheduler.after(soonest, fail, p);
}

function fail<C extends string>(p: Process<C>): void {
  p.onFail(p.next!.model.cause);
  p.sim.scheduler.after(hoursToMs(p.next!.model.timeToRepair.sample(p.next!.random)), repair, p);
}

function repair<C extends string>(p: Process<C>): void {
  p.onRepair();
  scheduleNextFailure(p);
}

/**
 * Failures replayed from a trace: at each row's time its target fails for its duration — a host
 * (crash or hardware), a rack, or a disk (`host/disk`). A target that is already down at that
 * time is left alone (the row is skipped), so overlapping rows never contradict each other.
 */
export function startFailureTrace(sim: Simulation, rows: readonly FailureRow[]): void {
  for (const row of rows) {
    sim.scheduler.schedule(hoursToMs(row.timeHours), () => {
      const world = sim.world;
      const back = hoursToMs(row.durationHours);
      if (row.kind === "rack") {
        if (!world.racks.get(row.target)!.up) return;
        sim.emit({ type: "rackFailed", rack: row.target });
        sim.scheduler.after(back, () => sim.emit({ type: "rackRepaired", rack: row.target }), null);
      } else if (row.kind === "disk") {
        const [host, index] = row.target.split("/");
        const disk = Number(index);
        if (!world.hosts.get(host!)!.diskUp[disk]) return;
        sim.emit({ type: "diskFailed", host: host!, disk });
        sim.scheduler.after(back, () => sim.emit({ type: "diskReplaced", host: host!, disk }), null);
      } else {
        if (world.hosts.get(row.target)!.failure !== null) return;
        sim.emit({ type: "hostFailed", host: row.target, cause: row.kind });
        sim.scheduler.after(back, () => sim.emit({ type: "hostRepaired", host: row.target }), null);
      }
    }, null);
  }
}
