import { describe, expect, it } from "vitest";
import { simulate } from "../../src/adapters/sim/simulate.js";
import { loadScenarioObject, parseScenario } from "../../src/scenario/load.js";
import { replicationEstimate, seeds } from "../helpers.js";

/**
 * A replicated volume serves I/O only with `storage.minSize` copies reachable (Ceph's pool
 * min_size). Three hosts in three racks, one VM whose volume has a copy on each, hosts failing
 * independently (exponential up times, mean F; repairs exponential, mean M) with no fourth host
 * to rebuild onto: each host is down with probability q = M / (F + M), independently, so the
 * volume is unavailable with probability P(fewer than k of 3 up) — k = 2 (Ceph's default for 3
 * copies): 3q²(1 − q) + q³; k = 1: q³. Restarts cost next to nothing here (1 s boot, 1 s
 * heartbeat), so the VM's unavailability is the volume's.
 */
const F = 1_000;
const M = 100;
const q = M / (F + M);
const HOURS = 100_000;

const scenario = (minSize: number) => ({
  name: "min-size",
  durationHours: HOURS,
  cluster: { hosts: [{ name: "h", count: 3, racks: 3, vcpus: 4, memoryGiB: 16, diskGiB: 400 }] },
  workload: { sizes: [{ name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 20 }], fleet: 1 },
  provisioning: { bootSeconds: 1, keyInjectionSeconds: 0, volumeAttachSeconds: 0 },
  ha: { heartbeatTimeoutSeconds: 1 },
  storage: { replicas: 3, minSize },
  failures: { host: { hardware: { timeToFailureHours: { type: "exponential", mean: F }, timeToRepairHours: { type: "exponential", mean: M } } } },
});

const unavailability = (minSize: number, n: number) =>
  replicationEstimate(seeds(n).map((seed) => 1 - simulate(loadScenarioObject(scenario(minSize)).config, seed, "persistent-ha", { check: true }).metrics.availability!));

describe("storage.minSize (Ceph's pool min_size)", () => {
  it("makes a 3-copy volume unavailable whenever fewer than 2 of its hosts are up: 3q²(1 − q) + q³", () => {
    const { mean, standardError } = unavailability(2, 12);
    const expected = 3 * q * q * (1 - q) + q ** 3;
    expect(Math.abs(mean - expected)).toBeLessThan(4 * standardError);
    expect(standardError / expected).toBeLessThan(0.15); // the comparison has power
  });

  it("with a min_size of 1, only when all three are down: q³, about 30 times less", () => {
    const { mean, standardError } = unavailability(1, 12);
    const expected = q ** 3;
    expect(Math.abs(mean - expected)).toBeLessThan(4 * standardError + 1e-5);
    expect(mean).toBeLessThan((3 * q * q * (1 - q) + q ** 3) / 5);
  });

  it("is checked against the storage: at most storage.replicas, and only for replicated volumes", () => {
    const text = (storage: string) => `name: x\ndurationHours: 10\ncluster:\n  hosts: [{ name: h, count: 3, vcpus: 4, memoryGiB: 16, diskGiB: 400 }]\nworkload:\n  sizes: [{ name: s, vcpus: 1, memoryGiB: 1, diskGiB: 10 }]\n  fleet: 1\nstorage: ${storage}\n`;
    expect(() => parseScenario("s.yaml", text("{ replicas: 2, minSize: 3 }"))).toThrow(/storage\.minSize.*expected at most storage\.replicas \(2\), got 3/);
    expect(() => parseScenario("s.yaml", text("{ kind: san, minSize: 1 }"))).toThrow(/storage\.minSize.*expected no minSize for storage kind san/);
    expect(() => parseScenario("s.yaml", text("{ minSize: 0 }"))).toThrow(/storage\.minSize/);
    expect(parseScenario("s.yaml", text("{ replicas: 4 }")).config.storage.minSize).toBe(2);
    expect(parseScenario("s.yaml", text("{ replicas: 2 }")).config.storage.minSize).toBe(1);
    expect(parseScenario("s.yaml", text("{ kind: mirror }")).config.storage.minSize).toBe(1);
  });
});
