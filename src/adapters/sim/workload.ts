import { distribution, type Distribution } from "../../kernel/distributions.js";
import type { Random } from "../../kernel/random.js";
import { hoursToMs } from "../../kernel/time.js";
import type { WorkloadSpec } from "../../scenario/schema.js";
import { fleetRequests, SizeMix } from "../../workload/fleet.js";
import type { Simulation } from "./simulation.js";

/**
 * The users: who asks for which VM, when, and for how long.
 *
 * - a fleet of long-lived VMs ("pets") requested at t = 0, wanted to the end (`fleetRequests`);
 * - a Poisson stream of requests (`vm-1`, `vm-2`, ...) at `ratePerHour`, each of a size drawn
 *   from the weighted mix and wanted for a lifetime drawn from `lifetimeHours`, counted from the
 *   request: the user terminates it then, whatever happened in between.
 *
 * - requests read from a trace (`workload.trace`), replayed at their times with their sizes.
 *
 * Every draw comes from the `workload/...` streams, in an order that depends only on the
 * workload itself, so every service model sees the same requests (common random numbers).
 */
export function startWorkload(sim: Simulation, spec: WorkloadSpec | null): void {
  if (!spec) return;
  for (const row of spec.trace ?? []) {
    sim.scheduler.schedule(hoursToMs(row.timeHours), () => {
      const { vm, vcpus, memoryGiB, diskGiB, lifetimeHours } = row;
      if (lifetimeHours !== null) sim.scheduler.after(hoursToMs(lifetimeHours), terminate, { sim, vm });
      sim.emit({ type: "vmRequested", vm, vcpus, memoryGiB, diskGiB, lifetimeHours });
    }, null);
  }
  if (!spec.sizes) return;
  const sizes = new SizeMix(spec.sizes);
  const streams = sim.random.fork("workload");
  for (const request of fleetRequests(spec, streams.fork("fleet"))) sim.emit(request);
  if (spec.arrivals) {
    const arrivals: Arrivals = {
      sim,
      sizes,
      random: streams.fork("arrivals"),
      meanGapMs: hoursToMs(1) / spec.arrivals.ratePerHour,
      lifetime: distribution(spec.arrivals.lifetimeHours),
      count: 0,
    };
    scheduleArrival(arrivals);
  }
}

interface Arrivals {
  sim: Simulation;
  sizes: SizeMix;
  random: Random;
  meanGapMs: number;
  lifetime: Distribution;
  count: number;
}

function scheduleArrival(a: Arrivals): void {
  // Exponential gaps (a Poisson process), rounded to the millisecond grid.
  const gap = Math.round(-a.meanGapMs * Math.log(1 - a.random.float()));
  a.sim.scheduler.after(gap, arrive, a);
}

function arrive(a: Arrivals): void {
  const vm = `vm-${++a.count}`;
  const size = a.sizes.draw(a.random);
  const lifetimeHours = a.lifetime.sample(a.random);
  a.sim.scheduler.after(hoursToMs(lifetimeHours), terminate, { sim: a.sim, vm });
  a.sim.emit({ type: "vmRequested", vm, ...size, lifetimeHours });
  scheduleArrival(a);
}

function terminate({ sim, vm }: { sim: Simulation; vm: string }): void {
  const wanted = sim.world.vms.get(vm);
  if (wanted) sim.emit({ type: "vmTerminated", vm, volume: wanted.volume });
}
