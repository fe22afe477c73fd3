import { distribution, equilibriumResidual, residualLife, type Distribution, type DistributionSpec } from "../../kernel/distributions.js";
import type { Random } from "../../kernel/random.js";
import { hoursToMs } from "../../kernel/time.js";
import type { FailureCause } from "../../model/events.js";
import type { InitialAges } from "../../scenario/resolve.js";
import type { BurstSpec, FailureProcessSpec, FailureRow } from "../../scenario/schema.js";
import type { Outages } from "./outages.js";
import type { Simulation } from "./simulation.js";

/**
 * Failures of a component (a host, a rack) as an alternating renewal process: while it is up,
 * each configured cause draws its time to failure; the earliest one fails the component, which
 * stays down for a repair time drawn from that cause, then comes back as good as new and the
 * clocks restart. With exponential times this is the classic two-state Markov model of a
 * repairable component, availability MTBF / (MTBF + MTTR) (Barlow & Proschan, 1965); other
 * distributions give a semi-Markov one with the same availability formula of the means.
 *
 * Components start new (their clocks at zero, all at once) or, with `stationary`, as if the
 * process had long been running: each cause's first time to failure is drawn from its
 * equilibrium forward-recurrence distribution (`equilibriumResidual`) — exact for one cause; with
 * competing causes an approximation (it ignores that the other causes' clocks also restart at a
 * failure), and every component starts up. A Weibull shape below or above 1 then no longer
 * synchronises early failures or wear-out across the fleet. With a distribution of ages, each
 * component draws its age from it (in its own stream `failures/<component>/age`) and each cause's
 * first time to failure is the life left at that age (`residualLife`, T − a given T > a).
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
  /** How the next times to failure are drawn: the first cycle of a stationary or aged start; null: afresh. */
  start: FirstFailure | null;
}

/** The first draw of a started process: from the equilibrium residual, or the life left at `age`. */
type FirstFailure = "stationary" | { age: number };

/** How a component's process starts; an age is drawn from `component`'s own `age` stream. */
function firstFailure(initialAges: InitialAges, streams: Random, component: string): FirstFailure | null {
  if (initialAges === "new") return null;
  if (initialAges === "stationary") return "stationary";
  return { age: distribution(initialAges).sample(streams.fork(`${component}/age`)) };
}

/** The first time to failure (hours) of a process started so. */
function firstTimeToFailure(start: FirstFailure, spec: DistributionSpec, random: Random): number {
  return start === "stationary" ? equilibriumResidual(spec, random) : residualLife(spec, start.age, random);
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
  initialAges: InitialAges = "new",
): void {
  if (causes.length === 0) return;
  const process: Process<C> = {
    sim,
    causes: causes.map((model) => ({ model, random: streams.fork(`${component}/${model.cause}`) })),
    onFail,
    onRepair,
    next: null,
    start: firstFailure(initialAges, streams, component),
  };
  scheduleNextFailure(process);
}

function scheduleNextFailure<C extends string>(p: Process<C>): void {
  let soonest = Infinity;
  for (const c of p.causes) {
    const delay = hoursToMs(p.start !== null ? firstTimeToFailure(p.start, c.model.timeToFailure.spec, c.random) : c.model.timeToFailure.sample(c.random));
    if (delay < soonest) {
      soonest = delay;
      p.next = c;
    }
  }
  p.start = null;
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

/** Where every failure source begins and ends its outages (`./outages.ts`): overlapping ones are merged. */
export interface FailureTargets {
  hosts: Outages<FailureCause>;
  racks: Outages<null>;
  /** Disks by `host/disk`. */
  disks: Outages<null>;
  /** The controller (one target, `controller`): its random outages and trace rows merge. */
  controller: Outages<null>;
}

/**
 * Failures replayed from a trace: at each row's time its target fails for its duration — a host
 * (crash or hardware), a rack, or a disk (`host/disk`) — on top of the random failures. A row
 * that overlaps another outage of its target (another row, a random failure) is merged with it
 * (`Outages`): the target is down from the first start to the last end, and no row is dropped.
 */
export function startFailureTrace(sim: Simulation, rows: readonly FailureRow[], targets: FailureTargets): void {
  for (const row of rows) {
    sim.scheduler.schedule(hoursToMs(row.timeHours), () => {
      const back = hoursToMs(row.durationHours);
      if (row.kind === "rack") {
        targets.racks.begin(row.target, null);
        sim.scheduler.after(back, () => targets.racks.end(row.target), null);
      } else if (row.kind === "disk") {
        targets.disks.begin(row.target, null);
        sim.scheduler.after(back, () => targets.disks.end(row.target), null);
      } else if (row.kind === "controller") {
        targets.controller.begin(row.target, null);
        sim.scheduler.after(back, () => targets.controller.end(row.target), null);
      } else {
        targets.hosts.begin(row.target, row.kind);
        sim.scheduler.after(back, () => targets.hosts.end(row.target), null);
      }
    }, null);
  }
}

/**
 * Bursts: several hosts failing together. Ford et al. ("Availability in Globally Distributed
 * Storage Systems", OSDI 2010) found that a large share of Google's node unavailability comes in
 * bursts (failures within 120 s of each other), the large ones mostly within a rack or a few;
 * Dean ("Designs, Lessons and Advice from Building Large Distributed Systems", LADIS 2009) lists
 * a cluster's yearly events, among them overheating that takes most machines down for 1–2 days.
 *
 * Each process draws, in its own stream `failures/burst/<name>`: the time to the next burst; its
 * racks (`racks` of them, uniformly without replacement; all when unset); its size (`hosts`,
 * rounded, at least 1, or `share` of the hosts it can hit); its hosts, uniformly without
 * replacement among those; and one duration, after which they all come back. With Poisson bursts
 * of k hosts chosen uniformly among N, each host is hit by a Poisson process of rate λk/N, so
 * (hits merged) it is down a fraction 1 − exp(−λ k E[D] / N) of the time (M/G/∞).
 */
export function startBursts(sim: Simulation, streams: Random, hosts: readonly { id: string; rack: string }[], bursts: readonly BurstSpec[], targets: FailureTargets, initialAges: InitialAges = "new"): void {
  const byRack = new Map<string, string[]>();
  for (const host of hosts) (byRack.get(host.rack) ?? byRack.set(host.rack, []).get(host.rack)!).push(host.id);
  const racks = [...byRack.keys()];
  const all = hosts.map((h) => h.id);
  for (const spec of bursts) {
    const random = streams.fork(`burst/${spec.name}`);
    const between = distribution(spec.timeBetweenHours);
    const size = spec.hosts === undefined ? null : distribution(spec.hosts);
    const duration = distribution(spec.durationHours);
    const burst = () => {
      const pool = spec.racks === undefined ? all : pick(random, racks, spec.racks).flatMap((rack) => byRack.get(rack)!);
      const count = Math.max(1, Math.round(size === null ? spec.share! * pool.length : size.sample(random)));
      const hit = pick(random, pool, count);
      for (const id of hit) targets.hosts.begin(id, "burst");
      sim.scheduler.after(hoursToMs(duration.sample(random)), () => {
        for (const id of hit) targets.hosts.end(id);
      }, null);
      next();
    };
    const next = () => sim.scheduler.after(hoursToMs(between.sample(random)), burst, null);
    // An aged start: the time since the last burst is drawn as a component's age.
    const start = firstFailure(initialAges, streams, `burst/${spec.name}`);
    sim.scheduler.after(hoursToMs(start !== null ? firstTimeToFailure(start, spec.timeBetweenHours, random) : between.sample(random)), burst, null);
  }
}

/** `count` members of `items` (all if fewer), uniformly without replacement (a partial Fisher–Yates shuffle of a copy). */
function pick<T>(random: Random, items: readonly T[], count: number): T[] {
  const copy = [...items];
  const n = Math.min(count, copy.length);
  for (let i = 0; i < n; i++) {
    const j = i + random.int(copy.length - i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}
