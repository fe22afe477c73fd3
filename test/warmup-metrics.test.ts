import { describe, expect, it } from "vitest";
import { busyStartScenario, simulateMetrics } from "./helpers.js";

/**
 * `metrics.warmupHours` applies to every time-integrated metric and count (issue 14), not only
 * to the service and host metrics: four hosts, two long-lived 2 GiB VMs with 2-way replicated
 * volumes; during the 100 h warm-up a maintenance window on h-001 (migrations, maintenance
 * downtime) a 3 h hardware failure of h-002 and each host's disk failing in turn from 40 h
 * (copies lost, rebuilds); nothing after it. Over
 * the measured 900 h the storage, operations and cost metrics must see none of it.
 */
const WARMUP = 100;
const DURATION = 1000;
const scenario = (warmupHours: number) =>
  busyStartScenario("warmup", { prices: { hourlyUsdPerGiB: 0.05, hostUsdPerHour: 0.15 }, ...(warmupHours > 0 ? { metrics: { warmupHours } } : {}) });

describe("the warm-up", () => {
  it("without it, the events of the first 100 h are counted (the control)", () => {
    const m = simulateMetrics(scenario(0), 1, "persistent-ha");
    expect(m.operations.migrations).toBeGreaterThan(0);
    expect(m.copiesLost).toBeGreaterThan(0);
    expect(m.rebuildsStarted).toBeGreaterThan(0);
    expect(m.cost.provider.hostsUsd).toBeCloseTo(4 * DURATION * 0.15, 6);
  });

  it("storage, operations and cost metrics start at warmupEnded", () => {
    const m = simulateMetrics(scenario(WARMUP), 1, "persistent-ha");
    expect(m.operations.migrations).toBe(0);
    expect(m.operations.maintenanceDowntimeHours).toBe(0);
    expect(m.operations.migrationGiB).toBe(0);
    expect(m.operations.hostsPoweredOnMean).toBeCloseTo(4, 9);
    expect(m.copiesLost).toBe(0);
    expect(m.rebuildsStarted).toBe(0);
    expect(m.rebuildHours).toBe(0);
    expect(m.volumesCreated).toBe(0);
    // The two volumes exist through the measured 900 h.
    expect(m.volumeYears).toBeCloseTo((2 * (DURATION - WARMUP)) / 8760, 9);
    // The hosts' hours and the VMs' sessions are billed from the end of the warm-up: 900 h each.
    expect(m.cost.provider.hostsUsd).toBeCloseTo(4 * (DURATION - WARMUP) * 0.15, 6);
    expect(m.cost.provider.networkGB).toBe(0); // the migrations and rebuilds were in the warm-up
    expect(m.cost.provider.rawDiskGBMonths).toBeCloseTo((2 * 20 * 2 * 1.073741824 * (DURATION - WARMUP)) / 730, 6);
    const storageUsd = 2 * ((DURATION - WARMUP) / 730) * 20 * 0.1;
    expect(m.cost.userUsd).toBeCloseTo(2 * (DURATION - WARMUP) * 2 * 0.05 + storageUsd, 6);
  });

  it("a VPS is billed per started month from the end of the warm-up", () => {
    // The 600 h after a 400 h warm-up are one started 730 h month of Slicehost's 2 GB plan ($140)
    // for each VM; the whole run's 1 000 h would be two.
    expect(simulateMetrics(scenario(400), 1, "vps").cost.userUsd).toBeCloseTo(2 * 140, 6);
    expect(simulateMetrics(scenario(0), 1, "vps").cost.userUsd).toBeCloseTo(2 * 2 * 140, 6);
  });
});
