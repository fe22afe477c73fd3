import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PRICES_2008 } from "../scenario/defaults.js";
import { vpsMonthlyUsd } from "./cost.js";
import { busyStartScenario, simulateMetrics } from "../../test/helpers.js";

/** One m1.small-sized VM (1.7 GiB, 160 GB disk) wanted for 10 hours on a cluster that never fails. */
const oneVm = (prices = {}) => ({
  name: "bill",
  durationHours: 10,
  cluster: { hosts: [{ name: "h", count: 2, vcpus: 4, memoryGiB: 16, diskGiB: 1000 }] },
  workload: { sizes: [{ name: "m1.small", vcpus: 1, memoryGiB: 1.7, diskGiB: 160 }], fleet: 1 },
  prices,
});

describe("cost", () => {
  it("bills an ephemeral instance per started hour at EC2's 2008 price", () => {
    expect(simulateMetrics(oneVm(), 1, "ephemeral").cost.userUsd).toBeCloseTo(10 * 0.1, 9);
  });

  it("bills a VPS per started month, whether it runs or not, at the smallest Slicehost plan that holds it", () => {
    expect(simulateMetrics(oneVm(), 1, "vps").cost.userUsd).toBeCloseTo(140, 9); // 1.7 GiB: the 2 GB plan
    expect(vpsMonthlyUsd(PRICES_2008, 0.25)).toBe(20);
    expect(vpsMonthlyUsd(PRICES_2008, 0.3)).toBe(38);
    expect(vpsMonthlyUsd(PRICES_2008, 1)).toBe(70);
    expect(vpsMonthlyUsd(PRICES_2008, 7.5)).toBeCloseTo(7.5 * 70, 9); // past the largest plan: per GiB
    expect(simulateMetrics(oneVm({ vpsPlans: [] }), 1, "vps").cost.userUsd).toBeCloseTo(1.7 * 70, 9); // no plans: linear
  });

  it("bills long-lived and short-lived VMs apart: a short VPS pays its whole month", () => {
    const mixed = {
      ...oneVm(),
      durationHours: 730,
      workload: { sizes: [{ name: "s", vcpus: 1, memoryGiB: 0.5, diskGiB: 20 }], fleet: 1, trace: [{ timeHours: 0, vm: "short", vcpus: 1, memoryGiB: 0.5, diskGiB: 20, lifetimeHours: 73 }] },
    };
    const { longLived, shortLived, userUsd } = simulateMetrics(mixed, 1, "vps").cost;
    expect(longLived.userUsd).toBeCloseTo(38, 9);
    expect(longLived.vmMonths).toBeCloseTo(1 - 40 / 3600 / 730, 6); // from its first start (a 40 s boot)
    expect(shortLived.userUsd).toBeCloseTo(38, 9);
    expect(shortLived.vmMonths).toBeCloseTo((73 - 40 / 3600) / 730, 9);
    expect(shortLived.userUsdPerVmMonth!).toBeCloseTo(38 / ((73 - 40 / 3600) / 730), 6); // ten times the long-lived VM's rate
    expect(longLived.userUsd + shortLived.userUsd).toBeCloseTo(userUsd, 9);
    const ephemeral = simulateMetrics(mixed, 1, "ephemeral").cost;
    expect(ephemeral.shortLived.userUsd).toBeCloseTo(73 * 0.5 * (0.1 / 1.7), 9);
  });

  it("bills persistent-ha per started hour plus its volume per GB-month", () => {
    const expected = 10 * 0.1 + 160 * (10 / 730) * 0.1;
    expect(simulateMetrics(oneVm(), 1, "persistent-ha").cost.userUsd).toBeCloseTo(expected, 9);
  });

  it("charges the provider per host-hour and takes the prices from the scenario", () => {
    const m = simulateMetrics(oneVm({ hostUsdPerHour: 1, rawDiskUsdPerGBMonth: 0 }), 1, "vps");
    expect(m.cost.providerUsd).toBeCloseTo(2 * 10 * 1, 9);
    expect(simulateMetrics(oneVm(), 1, "vps").cost.provider.hostsUsd).toBeCloseTo(2 * 10 * PRICES_2008.hostUsdPerHour, 9);
  });

  it("bills each session of an instance that is lost and relaunched from its own first hour", () => {
    const failing = {
      ...oneVm(),
      durationHours: 100,
      failures: { host: { crash: { timeToFailureHours: { type: "exponential", mean: 20 }, timeToRepairHours: 0.1 } } },
    };
    const sessions: number[] = [];
    let since = 0;
    const m = simulateMetrics(failing, 3, "ephemeral", (e) => {
      if (e.type === "vmPlaced") since = e.t;
      if (e.type === "vmLost" || e.type === "runEnded") sessions.push(Math.max(1, Math.ceil((e.t - since) / 3_600_000)));
    });
    expect(sessions.length).toBeGreaterThan(2);
    expect(m.cost.userUsd).toBeCloseTo(sessions.reduce((a, b) => a + b, 0) * 0.1, 9);
  });
});

/**
 * The provider's cost by part (issue 13): four hosts of 16 GiB, two long-lived 2 GiB VMs with
 * 20 GiB disks, 2-way replicated volumes, 1 000 h; a maintenance window at 10 h (two live
 * migrations), a host failure and each host's disk failing in turn (copy rebuilds): `busyStartScenario`.
 */
describe("the provider's cost", () => {
  const T = 1000;
  const GB_PER_GIB = 1.073741824;
  const scenario = busyStartScenario("provider");
  const months = T / 730;

  it.each(["ephemeral", "vps", "persistent-ha"] as const)("%s: the parts are computed and add up to the provider's total", (model) => {
    const m = simulateMetrics(scenario, 1, model);
    const p = m.cost.provider;
    expect(p.hostsUsd + p.rawDiskUsd + p.networkUsd).toBeCloseTo(m.cost.providerUsd, 9);
    expect(p.hosts.inUseUsd + p.hosts.failoverReserveUsd + p.hosts.idleUsd).toBeCloseTo(p.hostsUsd, 9);
    expect(p.hostsUsd).toBeCloseTo(4 * T * PRICES_2008.hostUsdPerHour, 9);
    // The VMs hold 4 of the 64 GiB installed for (nearly) the whole run.
    expect(p.hosts.inUseUsd / p.hostsUsd).toBeCloseTo(4 / 64, 3);
    expect(p.rawDiskUsd).toBeCloseTo(p.rawDiskGBMonths * PRICES_2008.rawDiskUsdPerGBMonth!, 9);
    expect(p.networkUsd).toBeCloseTo(p.networkGB * PRICES_2008.networkUsdPerGB!, 9);
  });

  it("persistent-ha pays raw disk for every copy, rebuild and migration traffic, and a host's worth kept free", () => {
    const m = simulateMetrics(scenario, 1, "persistent-ha");
    const p = m.cost.provider;
    // Two volumes of 20 GiB × 2 copies from t = 0 (created at placement) to the end.
    expect(p.rawDiskGBMonths).toBeCloseTo(2 * 20 * 2 * GB_PER_GIB * months, 6);
    // Every finished rebuild copies its 20 GiB volume; every migration sends what the pre-copy model says.
    expect(m.rebuildsFinished).toBeGreaterThan(0);
    expect(m.operations.migrations).toBeGreaterThan(0);
    expect(p.networkGB).toBeCloseTo((m.rebuildsFinished * 20 + m.operations.migrationGiB) * GB_PER_GIB, 6);
    // The free memory (60 of 64 GiB) covers the largest host (16 GiB): a quarter of the hosts kept free.
    expect(p.hosts.failoverReserveUsd / p.hostsUsd).toBeCloseTo(16 / 64, 3);
  });

  it("vps and ephemeral pay each local disk once and keep nothing free for failover", () => {
    for (const model of ["vps", "ephemeral"] as const) {
      const p = simulateMetrics(scenario, 1, model).cost.provider;
      // Less the hours between a lost array (each host has one disk) and the relaunch elsewhere.
      expect(p.rawDiskGBMonths).toBeLessThanOrEqual(2 * 20 * GB_PER_GIB * months + 1e-9);
      expect(p.rawDiskGBMonths / (2 * 20 * GB_PER_GIB * months)).toBeGreaterThan(0.99);
      expect(p.hosts.failoverReserveUsd).toBe(0);
    }
    // persistent-ha costs the provider more for the same two VMs: twice the raw disk and the reserve.
    const ha = simulateMetrics(scenario, 1, "persistent-ha").cost.provider;
    const vps = simulateMetrics(scenario, 1, "vps").cost.provider;
    expect(ha.rawDiskUsd).toBeGreaterThan(1.9 * vps.rawDiskUsd);
  });

  it("every part is ≥ 0 and they add up, whatever fails and whatever the model (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 12 }),
        fc.double({ min: 20, max: 2000, noNaN: true }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom("ephemeral", "vps", "persistent-ha" as const),
        fc.integer({ min: 1, max: 1000 }),
        (hosts, fleet, mttf, replicas, model, seed) => {
          const m = simulateMetrics(
            {
              name: "parts",
              durationHours: 500,
              cluster: { hosts: [{ name: "h", count: hosts, vcpus: 8, memoryGiB: 16, diskGiB: 400, disks: 2 }] },
              workload: { sizes: [{ name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 20 }], fleet, arrivals: { ratePerHour: 0.05, lifetimeHours: 30 } },
              storage: { replicas: Math.min(replicas, hosts), spreadRacks: false },
              maintenance: { windows: [{ host: "h-001", atHours: 100, hours: 1 }] },
              failures: {
                host: { crash: { timeToFailureHours: { type: "exponential", mean: mttf }, timeToRepairHours: 2 } },
                disk: { timeToFailureHours: { type: "exponential", mean: 5 * mttf }, timeToRepairHours: 10 },
              },
            },
            seed,
            model,
          );
          const p = m.cost.provider;
          for (const part of [p.hostsUsd, p.rawDiskUsd, p.networkUsd, p.hosts.inUseUsd, p.hosts.failoverReserveUsd]) expect(part).toBeGreaterThanOrEqual(0);
          expect(p.hosts.idleUsd).toBeGreaterThanOrEqual(-1e-9);
          expect(p.hostsUsd + p.rawDiskUsd + p.networkUsd).toBeCloseTo(m.cost.providerUsd, 9);
          expect(p.hosts.inUseUsd + p.hosts.failoverReserveUsd + p.hosts.idleUsd).toBeCloseTo(p.hostsUsd, 9);
        },
      ),
      { numRuns: 25, seed: 42 },
    );
  });
});
