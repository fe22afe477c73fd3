import { describe, expect, it } from "vitest";
import { SimulatedRun } from "../src/adapters/sim/simulate.js";
import type { ServiceModel } from "../src/model/events.js";
import type { World } from "../src/model/world.js";
import { loadScenarioObject } from "../src/scenario/load.js";
import { smallScenario } from "./helpers.js";

/**
 * A guard that needs no stopwatch (issue 18): the work done per event, counted, at two cluster
 * sizes of the same shape (hosts, racks, VMs and arrivals all ×4). Work that is O(log n) or O(1)
 * per event stays put; a scan of every host, VM or volume per event grows 4×.
 *
 * - World objects read per event: every property read of a host, VM or volume object of the world
 *   (they are wrapped in counting proxies as `evolve` creates them), and every entry of the
 *   world's host, VM and volume maps that an iteration passes. This sees whoever reads them: the
 *   capacity index, placement, the failover reserve, storage target picking, the metrics.
 * - Timers scheduled and cancelled per event: the heap operations of the scheduler.
 *
 * Counted from the first event after t = 0 (building the cluster and the first placements are
 * once per run) until `runEnded` (the final state hash reads the whole world once).
 */

interface WorkPerEvent {
  events: number;
  worldReadsPerEvent: number;
  timerOperationsPerEvent: number;
}

function countWork(hosts: number, model: ServiceModel): WorkPerEvent {
  const scenario = { ...smallScenario(hosts, hosts / 20, 2 * hosts, hosts / 50, true), durationHours: 200 };
  const run = new SimulatedRun(loadScenarioObject(scenario).config, 1, model);
  const counter = { on: false, reads: 0, timerOperations: 0, events: 0 };
  instrumentWorld(run.world, counter);
  const scheduler = run.sim.scheduler;
  const schedule = scheduler.schedule.bind(scheduler);
  const cancel = scheduler.cancel.bind(scheduler);
  scheduler.schedule = (at, handler, arg) => {
    if (counter.on) counter.timerOperations++;
    return schedule(at, handler, arg);
  };
  scheduler.cancel = (id) => {
    if (counter.on) counter.timerOperations++;
    return cancel(id);
  };
  run.sim.subscribe((event) => {
    if (event.type === "runEnded") counter.on = false;
    else if (event.t > 0) counter.on = true;
    if (counter.on) counter.events++;
  });
  while (!run.advance(100_000));
  return { events: counter.events, worldReadsPerEvent: counter.reads / counter.events, timerOperationsPerEvent: counter.timerOperations / counter.events };
}

/** Wraps the world's hosts, VMs and volumes (as they are added) so that reads of them are counted. */
function instrumentWorld(world: World, counter: { on: boolean; reads: number }): void {
  const handler: ProxyHandler<object> = {
    get(target, key, receiver) {
      if (counter.on) counter.reads++;
      return Reflect.get(target, key, receiver);
    },
  };
  for (const map of [world.hosts, world.vms, world.volumes] as Map<string, object>[]) {
    const set = map.set.bind(map);
    map.set = (key, value) => set(key, new Proxy(value, handler));
    for (const name of ["keys", "values", "entries", "forEach", Symbol.iterator] as const) {
      const original = (map as unknown as Record<PropertyKey, (...args: unknown[]) => unknown>)[name]!.bind(map);
      (map as unknown as Record<PropertyKey, unknown>)[name] = (...args: unknown[]) => {
        if (counter.on) counter.reads += map.size;
        return original(...args);
      };
    }
  }
}

/** How much more work per event the larger cluster may take: noise and O(log n), far below the 4× of a scan. */
const GROWTH_ALLOWED = 1.5;

describe("work per event does not grow with the cluster", () => {
  for (const model of ["persistent-ha", "vps", "ephemeral"] as const) {
    it(`${model}: world objects read and timers scheduled per event stay the same from 100 to 400 hosts`, () => {
      const small = countWork(100, model);
      const large = countWork(400, model);
      // Both runs are busy enough for a mean per event to mean something.
      expect(small.events).toBeGreaterThan(5_000);
      expect(large.events).toBeGreaterThan(4 * small.events * 0.8);
      expect(large.worldReadsPerEvent, `world reads per event: ${small.worldReadsPerEvent.toFixed(1)} at 100 hosts, ${large.worldReadsPerEvent.toFixed(1)} at 400`).toBeLessThan(GROWTH_ALLOWED * small.worldReadsPerEvent);
      expect(large.timerOperationsPerEvent, `timer operations per event: ${small.timerOperationsPerEvent.toFixed(2)} at 100 hosts, ${large.timerOperationsPerEvent.toFixed(2)} at 400`).toBeLessThan(GROWTH_ALLOWED * small.timerOperationsPerEvent);
    });
  }
});
