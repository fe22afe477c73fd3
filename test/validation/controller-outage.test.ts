import { describe, expect, it } from "vitest";
import { simulate } from "../../src/adapters/sim/simulate.js";
import type { DomainEvent, ServiceModel } from "../../src/model/events.js";
import { loadScenarioObject } from "../../src/scenario/load.js";

/**
 * Issue 19: the controller's own outages (`failures.controller`). While it is out nothing is
 * decided; back, it acts on what it missed. With host failures only, a host is declared dead when
 * the heartbeat timeout T after its failure has passed and the controller is up: a failure whose
 * declaration falls due in a controller outage waits for the outage's residual. With outages an
 * alternating renewal process of exponential up times (mean U) and outages (mean R), the moment
 * s + T of a Poisson host failure finds the controller out with probability R / (U + R), and the
 * residual is then R again (memoryless): the mean extra delay per host failure is R² / (U + R).
 */
const U = 22;
const R = 2;
const T_SECONDS = 30;

const scenario = (controller: boolean) => ({
  name: "controller-outage",
  durationHours: 200_000,
  cluster: { hosts: [{ name: "h", count: 20, racks: 4, disks: 2, vcpus: 16, memoryGiB: 64, diskGiB: 4000 }] },
  workload: { sizes: [{ name: "s", vcpus: 2, memoryGiB: 8, diskGiB: 40 }], fleet: 40 },
  ha: { heartbeatTimeoutSeconds: T_SECONDS },
  failures: {
    // Repairs far longer than any controller outage: the VMs wait for the controller, not for the host.
    host: { hardware: { timeToFailureHours: { type: "exponential", mean: 1_000 }, timeToRepairHours: { type: "deterministic", value: 24 } } },
    ...(controller ? { controller: { timeToFailureHours: { type: "exponential", mean: U }, timeToRepairHours: { type: "exponential", mean: R } } } : {}),
  },
});

function run(controller: boolean, model: ServiceModel) {
  const log: DomainEvent[] = [];
  const { metrics } = simulate(loadScenarioObject(scenario(controller)).config, 1, model, { check: true, observe: (e) => log.push(e) });
  return { metrics, log };
}

describe("controller outages", () => {
  const withOutages = run(true, "persistent-ha");
  const without = run(false, "persistent-ha");

  it("delay HA restarts by the residual outage: R² / (U + R) per host failure on average", () => {
    const { log } = withOutages;
    const failedAt = new Map<string, number>();
    const extraHours: number[] = [];
    for (const e of log) {
      if (e.type === "hostFailed") failedAt.set(e.host, e.t);
      if (e.type === "hostFailureDetected") extraHours.push((e.t - failedAt.get(e.host)! - T_SECONDS * 1000) / 3_600_000);
    }
    const n = extraHours.length;
    expect(n).toBeGreaterThan(3_000);
    const mean = extraHours.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(extraHours.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    const expected = (R * R) / (U + R);
    expect(Math.abs(mean - expected)).toBeLessThan(4 * (sd / Math.sqrt(n)));
    // Without controller outages every failure is detected after exactly T.
    for (const e of without.log) if (e.type === "hostFailed") failedAt.set(e.host, e.t);
    for (const e of without.log) if (e.type === "hostFailureDetected") expect(e.t - failedAt.get(e.host)!).toBeLessThanOrEqual(T_SECONDS * 1000);
  });

  it("leave the same host failures (common random numbers) and cost persistent-ha availability", () => {
    const failures = (log: DomainEvent[]) => log.filter((e) => e.type === "hostFailed").map((e) => `${e.t} ${(e as { host: string }).host}`);
    expect(failures(withOutages.log)).toEqual(failures(without.log));
    expect(withOutages.log.filter((e) => e.type === "controllerFailed").length).toBeGreaterThan(7_000);
    expect(withOutages.metrics.downtimeHoursPerVmYear!).toBeGreaterThan(without.metrics.downtimeHoursPerVmYear!);
  });

  it("from a trace: a host failing in a controller outage is declared dead when the controller is back, its VMs restarted then", () => {
    const traced = (controller: boolean) => ({
      name: "controller-trace",
      durationHours: 50,
      cluster: { hosts: [{ name: "h", count: 3, disks: 2, vcpus: 16, memoryGiB: 64, diskGiB: 4000 }] },
      workload: { sizes: [{ name: "s", vcpus: 2, memoryGiB: 8, diskGiB: 40 }], fleet: 6 },
      ha: { heartbeatTimeoutSeconds: T_SECONDS },
      failures: {
        trace: [
          { timeHours: 10, target: "h-001", kind: "hardware", durationHours: 30 },
          ...(controller ? [{ timeHours: 9.5, target: "controller", kind: "controller", durationHours: 2 }] : []),
        ],
      },
    });
    const hour = 3_600_000;
    for (const [controller, detectedAt] of [[false, 10 * hour + T_SECONDS * 1000], [true, 11.5 * hour]] as const) {
      const log: DomainEvent[] = [];
      simulate(loadScenarioObject(traced(controller)).config, 1, "persistent-ha", { check: true, observe: (e) => log.push(e) });
      expect(log.find((e) => e.type === "hostFailureDetected")!.t).toBe(detectedAt);
      const restarted = log.filter((e) => e.type === "vmPlaced" && e.t > 0);
      expect(restarted.length).toBeGreaterThan(0);
      for (const e of restarted) expect(e.t).toBe(detectedAt);
    }
  });

  it("a controller row of a trace must name the controller", () => {
    const bad = { name: "bad", durationHours: 1, cluster: { hosts: [{ name: "h", count: 1, vcpus: 1, memoryGiB: 1, diskGiB: 1 }] }, failures: { trace: [{ timeHours: 0, target: "h-001", kind: "controller", durationHours: 1 }] } };
    expect(() => loadScenarioObject(bad)).toThrow('failures.trace[0].target: expected controller, got "h-001"');
  });
});
