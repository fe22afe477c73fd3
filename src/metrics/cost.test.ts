import { describe, expect, it } from "vitest";
import { PRICES_2008 } from "../scenario/defaults.js";
import { simulateMetrics } from "../../test/helpers.js";

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

  it("bills a VPS per started month, whether it runs or not", () => {
    expect(simulateMetrics(oneVm(), 1, "vps").cost.userUsd).toBeCloseTo(1.7 * 70, 9);
  });

  it("bills persistent-ha per started hour plus its volume per GB-month", () => {
    const expected = 10 * 0.1 + 160 * (10 / 730) * 0.1;
    expect(simulateMetrics(oneVm(), 1, "persistent-ha").cost.userUsd).toBeCloseTo(expected, 9);
  });

  it("charges the provider per host-hour and takes the prices from the scenario", () => {
    const m = simulateMetrics(oneVm({ hostUsdPerHour: 1 }), 1, "vps");
    expect(m.cost.providerUsd).toBeCloseTo(2 * 10 * 1, 9);
    expect(simulateMetrics(oneVm(), 1, "vps").cost.providerUsd).toBeCloseTo(2 * 10 * PRICES_2008.hostUsdPerHour, 9);
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
