import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SERVICE_MODELS, type DomainEvent } from "../src/model/events.js";
import { simulate } from "./simulate.js";

/**
 * A small cluster with every kind of failure and both kinds of workload. `harsh`: failures far
 * more often than in life, hosts down past the storage's recovery delay, slow rebuilds — so that
 * copies are marked out, rebuilt, dropped and come back while others fail.
 */
const scenario = (hosts: number, racks: number, fleet: number, ratePerHour: number, harsh = false) => ({
  name: "crn",
  durationHours: 2000,
  cluster: { hosts: [{ name: "h", count: hosts, racks, disks: 2, vcpus: 8, memoryGiB: 32, diskGiB: 500 }] },
  failures: {
    host: {
      crash: harsh
        ? { timeToFailureHours: { type: "exponential", mean: 50 }, timeToRepairHours: { type: "exponential", mean: 1 } }
        : { timeToFailureHours: { type: "exponential", mean: 300 }, timeToRepairHours: 0.1 },
      hardware: { timeToFailureHours: { type: "weibull", shape: 0.8, scale: 2000 }, timeToRepairHours: { type: "lognormal", mu: 2, sigma: 1 } },
    },
    rack: { timeToFailureHours: { type: "exponential", mean: 1000 }, timeToRepairHours: 2 },
    disk: { timeToFailureHours: { type: "exponential", mean: harsh ? 200 : 3000 }, timeToRepairHours: 24 },
  },
  storage: { replicas: Math.min(3, racks), rebuildMBps: harsh ? 1 : 20 },
  workload: {
    sizes: [
      { name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 20, weight: 3 },
      { name: "l", vcpus: 4, memoryGiB: 16, diskGiB: 100 },
    ],
    fleet,
    arrivals: { ratePerHour, lifetimeHours: { type: "exponential", mean: 50 } },
  },
});

const isFailure = (e: DomainEvent) => ["hostFailed", "hostRepaired", "rackFailed", "rackRepaired", "diskFailed", "diskReplaced"].includes(e.type);
const strip = ({ seq: _seq, ...rest }: DomainEvent) => rest;

function trace(seed: number, model: (typeof SERVICE_MODELS)[number], s = scenario(12, 3, 20, 1)) {
  const failures: unknown[] = [];
  const requests: unknown[] = [];
  simulate(s, seed, model, (e) => {
    if (isFailure(e)) failures.push(strip(e));
    if (e.type === "vmRequested") requests.push(strip(e));
  });
  return { failures, requests };
}

describe("common random numbers", () => {
  it("the three service models see the identical failures and requests with one seed", () => {
    const [a, b, c] = SERVICE_MODELS.map((model) => trace(7, model));
    expect(a!.failures.length).toBeGreaterThan(50);
    expect(a!.requests.length).toBeGreaterThan(1000);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it("a different seed gives different failures", () => {
    expect(trace(8, "vps").failures).not.toEqual(trace(7, "vps").failures);
  });

  it.each([
    ["realistic", false],
    ["harsh", true],
  ])("random small %s scenarios keep every invariant under every model (checker on)", (_name, harsh) => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 40 }),
        fc.double({ min: 0.01, max: 3, noNaN: true }),
        fc.nat(),
        fc.constantFrom(...SERVICE_MODELS),
        (hosts, racks, fleet, rate, seed, model) => {
          let events = 0;
          const metrics = simulate(scenario(hosts, racks, fleet, rate, harsh), seed, model, () => events++);
          expect(events).toBeGreaterThan(hosts);
          if (metrics.availability !== null) expect(metrics.availability).toBeLessThanOrEqual(1);
          expect(metrics.blockingProbability).toBeGreaterThanOrEqual(0);
          expect(metrics.gbLost).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 40, verbose: true },
    );
  });
});
