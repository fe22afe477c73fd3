import { describe, expect, it } from "vitest";
import { replicationEstimate, seeds, simulateMetrics } from "../helpers.js";

/**
 * Storage-service outages (`failures.storage`) against closed forms. The service fails after an
 * exponential time (mean Ms) and is back after an exponential outage R (mean rs); a VM stalled
 * for R ≤ τ (the guest's I/O timeout) resumes at once, one stalled longer reboots (b). Per cycle
 * the VM is down for R, plus the boot with probability p = P(R > τ) = e^(−τ/rs), and the next
 * outage comes after an exponential time T of the service being up, of which the boot takes
 * min(T, b): E[(T − b)⁺] = Ms·e^(−b/Ms). So
 *
 *   A_storage = Ms·(1 − p·(1 − e^(−b/Ms))) / (Ms + rs)
 *
 * (a boot cut short by the next outage reboots again however short that one is, with
 * probability ≈ b/Ms per reboot: an effect of order (b/Ms)², far below the tolerance), and the
 * share of stalls ridden out without a reboot is 1 − p.
 *
 * With independent host failures (exponential, mean M, repairs mean r, heartbeat timeout d) the
 * two kinds of outage overlap independently: A = A_host · A_storage, the product form of
 * independent components in series, with A_host = M / (M + r·(1 − e^(−d/r)) + b) (see
 * availability.test.ts). Where the two overlap a restart waits for the storage and one boot
 * serves both: an effect of order b·(1 − A_storage)/M, about 10⁻⁵ here.
 *
 * A rack-scoped outage takes only the copies in its rack: with 2 copies in 2 racks, each rack's
 * service out with stationary probability u = rs / (Ms + rs), independently, a VM is stalled
 * exactly when both are out: A = 1 − u² (with τ far above any overlap, no reboots).
 *
 * Tolerance: 4 standard errors of independent replications.
 */
const exponential = (mean: number) => ({ type: "exponential", mean });

function cluster(overrides: Record<string, unknown>) {
  return {
    name: "storage-outages",
    durationHours: 20_000,
    cluster: { hosts: [{ name: "h", count: 6, disks: 1, vcpus: 2, memoryGiB: 8, diskGiB: 100 }] },
    workload: { sizes: [{ name: "one", vcpus: 1, memoryGiB: 1, diskGiB: 10 }], fleet: 5 },
    provisioning: { bootSeconds: 900, volumeAttachSeconds: 0 },
    ...overrides,
  };
}

describe("storage-service outages agree with the closed forms", () => {
  it("a cluster-wide outage: A = Ms·(1 − p·(1 − e^(−b/Ms))) / (Ms + rs), and a share 1 − p of stalls resumed without a reboot", () => {
    const Ms = 50;
    const rs = 0.5;
    const tauHours = 1 / 3;
    const b = 0.25;
    const scenario = cluster({
      failures: { storage: { timeToFailureHours: exponential(Ms), timeToRepairHours: exponential(rs) } },
      storage: { replicas: 3, guestTimeoutSeconds: tauHours * 3600 },
    });
    const runs = seeds(16).map((seed) => simulateMetrics(scenario, seed, "persistent-ha"));
    const p = Math.exp(-tauHours / rs);
    const expected = (Ms * (1 - p * (1 - Math.exp(-b / Ms)))) / (Ms + rs);
    const { mean, standardError } = replicationEstimate(runs.map((m) => m.availability!));
    expect(Math.abs(mean - expected)).toBeLessThan(4 * standardError);
    // The boot after a long stall is 10 standard errors: the test tells resume from reboot.
    expect(standardError).toBeLessThan((p * b) / (Ms + rs) / 8);

    // Every VM stalls in every outage (5 VMs, all running): outages are the trials.
    const outages = runs.reduce((sum, m) => sum + m.storageOutages, 0);
    const resumedShare = runs.reduce((sum, m) => sum + m.stallsResumed, 0) / runs.reduce((sum, m) => sum + m.storageStalls, 0);
    expect(Math.abs(resumedShare - (1 - p))).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / outages));
    // Storage outage hours: the alternating renewal's share rs / (Ms + rs) of the run.
    const outageShare = replicationEstimate(runs.map((m) => m.storageOutageHours / 20_000));
    expect(Math.abs(outageShare.mean - rs / (Ms + rs))).toBeLessThan(4 * outageShare.standardError);
  });

  it("with independent host failures: the product form A_host · A_storage", () => {
    const M = 100;
    const r = 10;
    const d = 0.5;
    const b = 0.1;
    const Ms = 100;
    const rs = 1;
    const tauHours = 180 / 3600; // the default guest timeout
    const scenario = {
      ...cluster({}),
      cluster: { hosts: [{ name: "h", count: 40, vcpus: 2, memoryGiB: 8, diskGiB: 100 }] },
      workload: { sizes: [{ name: "one", vcpus: 1, memoryGiB: 1, diskGiB: 10 }], fleet: 20 },
      failures: {
        host: { hardware: { timeToFailureHours: exponential(M), timeToRepairHours: exponential(r) } },
        storage: { timeToFailureHours: exponential(Ms), timeToRepairHours: exponential(rs) },
      },
      // Volumes on a SAN, so that host failures never make a volume unreachable: only the service does.
      storage: { kind: "san" },
      provisioning: { bootSeconds: b * 3600, volumeAttachSeconds: 0 },
      ha: { heartbeatTimeoutSeconds: d * 3600 },
    };
    const p = Math.exp(-tauHours / rs);
    const host = M / (M + r * (1 - Math.exp(-d / r)) + b);
    const storage = (Ms * (1 - p * (1 - Math.exp(-b / Ms)))) / (Ms + rs);
    const { mean, standardError } = replicationEstimate(seeds(8).map((seed) => simulateMetrics(scenario, seed, "persistent-ha").availability!));
    expect(Math.abs(mean - host * storage)).toBeLessThan(4 * standardError);
    expect(standardError).toBeLessThan(0.001);
  });

  it("rack-scoped outages with 2 copies in 2 racks: A = 1 − u², u = rs / (Ms + rs)", () => {
    const Ms = 20;
    const rs = 5;
    const scenario = cluster({
      cluster: { hosts: [{ name: "h", count: 4, racks: 2, disks: 1, vcpus: 2, memoryGiB: 8, diskGiB: 100 }] },
      failures: { storage: { scope: "rack", timeToFailureHours: exponential(Ms), timeToRepairHours: exponential(rs) } },
      storage: { replicas: 2, guestTimeoutSeconds: 1e9 },
    });
    const u = rs / (Ms + rs);
    const runs = seeds(8).map((seed) => simulateMetrics(scenario, seed, "persistent-ha"));
    const { mean, standardError } = replicationEstimate(runs.map((m) => m.availability!));
    expect(Math.abs(mean - (1 - u * u))).toBeLessThan(4 * standardError);
    expect(standardError).toBeLessThan(0.003);
    // No reboots: every stall is ridden out, but for the 5 VMs' stalls still under way when a run ends.
    for (const m of runs) {
      expect(m.storageStalls).toBeGreaterThan(0);
      expect(m.storageStalls - m.stallsResumed).toBeLessThanOrEqual(5);
    }
  });

  /**
   * Compute–storage partitions (`failures.storageNetwork`, per host: exponential, mean Mp, cut
   * off for an exponential R of mean rp), VMs on a SAN so that only the path matters, and a guest
   * I/O timeout far above every stall. With the `restart` response after T, a VM's outage is R
   * when R ≤ T (it resumes), else T and a boot b on another host; the next partition of the
   * VM's host (its own, or the new one's) comes after a mean Mp either way (memoryless). So
   * A = Mp / (Mp + rp·(1 − e^(−T/rp)) + b·e^(−T/rp)); with `leave`, A = Mp / (Mp + rp).
   */
  describe("partitions between hosts and the storage network", () => {
    const Mp = 100;
    const rp = 2;
    const T = 1;
    const b = 0.25;
    const partitioned = (response: "restart" | "leave") =>
      cluster({
        cluster: { hosts: [{ name: "h", count: 40, vcpus: 2, memoryGiB: 8, diskGiB: 100 }] },
        workload: { sizes: [{ name: "one", vcpus: 1, memoryGiB: 1, diskGiB: 10 }], fleet: 20 },
        failures: { storageNetwork: { timeToFailureHours: exponential(Mp), timeToRepairHours: exponential(rp) } },
        storage: { kind: "san", guestTimeoutSeconds: 1e9 },
        ha: { storagePathResponse: response, storagePathTimeoutSeconds: T * 3600 },
      });

    it("restart after T: A = Mp / (Mp + rp·(1 − e^(−T/rp)) + b·e^(−T/rp))", () => {
      const runs = seeds(8).map((seed) => simulateMetrics(partitioned("restart"), seed, "persistent-ha"));
      const { mean, standardError } = replicationEstimate(runs.map((m) => m.availability!));
      const expected = Mp / (Mp + rp * (1 - Math.exp(-T / rp)) + b * Math.exp(-T / rp));
      expect(Math.abs(mean - expected)).toBeLessThan(4 * standardError);
      // Leaving them would cost rp·e^(−T/rp) − b·e^(−T/rp) more per partition: far more than 4 standard errors.
      expect(Math.abs(mean - Mp / (Mp + rp))).toBeGreaterThan(10 * standardError);
      expect(runs.every((m) => m.storagePathRestarts > 0 && m.storagePartitions > 0)).toBe(true);
    });

    it("leave: A = Mp / (Mp + rp), and nothing is restarted", () => {
      const runs = seeds(8).map((seed) => simulateMetrics(partitioned("leave"), seed, "persistent-ha"));
      const { mean, standardError } = replicationEstimate(runs.map((m) => m.availability!));
      expect(Math.abs(mean - Mp / (Mp + rp))).toBeLessThan(4 * standardError);
      expect(runs.every((m) => m.storagePathRestarts === 0)).toBe(true);
    });
  });
});

