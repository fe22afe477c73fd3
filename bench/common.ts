import { PRICES_2008 } from "../src/scenario/defaults.js";
import type { DomainEvent, DomainEventBody } from "../src/model/events.js";
import { evolve } from "../src/model/evolve.js";
import { emptyWorld } from "../src/model/world.js";
import { CapacityIndex } from "../src/placement/capacity-index.js";
import { parseScenario, type LoadedScenario } from "../src/scenario/load.js";

/**
 * What every benchmark prints: one JSON line on stdout. `bench/run.ts` runs each benchmark in
 * a fresh process, so the peak RSS is that of one measurement (plus whatever its setup needed).
 */
export interface Measurement {
  bench: string;
  /** Events processed in the timed section. */
  events: number;
  /** Wall-clock milliseconds of the timed section. */
  ms: number;
  /** Peak resident set size of the whole process, in MB (`process.resourceUsage().maxRSS`). */
  rssMB: number;
  /** CPU milliseconds (user + system, all threads) of the timed section, when `measure` timed it: on a shared machine, what the work cost regardless of who else ran. */
  cpuMs?: number;
}

export function report(bench: string, events: number, ms: number, cpuMs?: number): void {
  const measurement: Measurement = { bench, events, ms, rssMB: process.resourceUsage().maxRSS / 1024, ...(cpuMs === undefined ? {} : { cpuMs }) };
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

/** Times `work`, which returns how many events it processed, and reports it. */
export async function measure(bench: string, work: () => number | Promise<number>): Promise<void> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const events = await work();
  const used = process.cpuUsage(cpu);
  report(bench, events, performance.now() - start, (used.user + used.system) / 1000);
}

/**
 * The benchmarks' workload: `hosts` hosts in 10 racks, four VMs per host kept running as
 * persistent-HA VMs, hosts crashing about every 10 h and failing for good now and then, disks
 * failing — the shape of the busy scenario of the tests, scaled up. Each simulated host-year
 * yields about 1 500 events.
 */
export function busyScenario(hosts: number, hours: number): LoadedScenario {
  return parseScenario(`(bench ${hosts} hosts)`, busyScenarioText(`bench-${hosts}-hosts-${hours}-h`, hosts, hours));
}

/** The text of that scenario (the tests use it too, at small sizes). */
export function busyScenarioText(name: string, hosts: number, hours: number): string {
  return `name: ${name}
durationHours: ${hours}
serviceModels: [persistent-ha]
workload:
  sizes: [{ name: s, vcpus: 2, memoryGiB: 4, diskGiB: 40 }]
  fleet: ${hosts * 4}
cluster:
  hosts:
    - { name: n, count: ${hosts}, racks: 10, vcpus: 16, memoryGiB: 64, diskGiB: 1000 }
failures:
  host:
    crash:
      timeToFailureHours: { type: exponential, mean: 10 }
      timeToRepairHours: { type: lognormal, mu: 0, sigma: 0.5 }
    hardware:
      timeToFailureHours: { type: weibull, shape: 0.8, scale: 400 }
      timeToRepairHours: { type: uniform, min: 4, max: 48 }
  disk:
    timeToFailureHours: { type: exponential, mean: 2000 }
    timeToRepairHours: 24
`;
}

/** A provenance for benchmark runs: no git lookups, a wall clock for the run record only. */
export const benchProvenance = { packageVersion: "bench", gitCommit: null, now: () => new Date().toISOString() };

/**
 * A world and its capacity index, driven by hand: `emit` stamps a body with the next seq (at
 * t = 0), applies it to the world and brings the index up to date — what a placement policy sees.
 * It starts with `runStarted` (vps).
 */
export function indexedWorld() {
  const world = emptyWorld();
  const index = new CapacityIndex(world);
  let seq = 0;
  const emit = (body: DomainEventBody) => {
    const event = { seq: ++seq, t: 0, ...body } as DomainEvent;
    evolve(world, event);
    index.apply(event);
  };
  emit({ type: "runStarted", serviceModel: "vps", prices: PRICES_2008 });
  return { world, index, emit };
}
