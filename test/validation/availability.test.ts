import { describe, expect, it } from "vitest";
import { replicationEstimate, seeds, simulateMetrics } from "../helpers.js";

/**
 * VM availability against closed forms for a host that fails with exponential times to failure
 * (mean M) and is repaired after a time R (mean r, any distribution), a VM boot taking b.
 *
 * - `vps`: the VM is down from its host's failure until the host is repaired *and* the VM has
 *   booted again. Per renewal cycle (time to failure + repair, mean M + r) the VM is up for
 *   (T − b)⁺ of the host's up time T, and for exponential T, E[(T − b)⁺] = M·e^(−b/M). So
 *   A = M·e^(−b/M) / (M + r) — the alternating-renewal availability M / (M + r) (Barlow &
 *   Proschan 1965) less the boot. It depends on the repair time only through its mean.
 * - `persistent-ha`: on a failure the controller waits for the heartbeat timeout d; a host back
 *   before that reboots the VM in place, otherwise the VM restarts on another host. Either way
 *   the outage is min(R, d) + b, and since the time to failure is memoryless the VM's next
 *   outage comes after a mean M of running. So A = M / (M + E[min(R, d)] + b), with
 *   E[min(R, d)] = r·(1 − e^(−d/r)) for exponential R. (A host failing during a boot, with
 *   probability ≈ b/M = 0.1 %, lengthens that outage; its effect on A is < 10⁻⁶.)
 *
 * - `persistent-ha` on a SAN (no host failures, the array fails with mean M and is repaired in
 *   r): every VM is down from the array's failure until its repair and a boot, exactly the VPS
 *   cycle with the array in the host's place: A = M·e^(−b/M) / (M + r).
 *
 * Tolerance: 4 standard errors of independent replications.
 */
const M = 100;
const r = 10;
const bootHours = 0.1;
const heartbeatHours = 0.5;

const cluster = (repair: unknown) => ({
  name: "availability",
  durationHours: 20_000,
  cluster: { hosts: [{ name: "h", count: 40, vcpus: 2, memoryGiB: 8, diskGiB: 100 }] },
  failures: { host: { hardware: { timeToFailureHours: { type: "exponential", mean: M }, timeToRepairHours: repair } } },
  workload: { sizes: [{ name: "one", vcpus: 1, memoryGiB: 1, diskGiB: 10 }], fleet: 20 },
  provisioning: { bootSeconds: bootHours * 3600, volumeAttachSeconds: 0 },
  ha: { heartbeatTimeoutSeconds: heartbeatHours * 3600 },
});

function estimate(repair: unknown, model: "vps" | "persistent-ha") {
  return replicationEstimate(seeds(8).map((seed) => simulateMetrics(cluster(repair), seed, model).availability!));
}

describe("VM availability agrees with the closed forms", () => {
  it("vps: M·e^(−b/M) / (M + r), with exponential repairs", () => {
    const { mean, standardError } = estimate({ type: "exponential", mean: r }, "vps");
    const expected = (M * Math.exp(-bootHours / M)) / (M + r);
    expect(Math.abs(mean - expected)).toBeLessThan(4 * standardError);
    expect(standardError).toBeLessThan(0.002);
  });

  it("vps: the same with lognormal repairs of the same mean (insensitivity)", () => {
    const sigma = 1;
    const { mean, standardError } = estimate({ type: "lognormal", mu: Math.log(r) - sigma ** 2 / 2, sigma }, "vps");
    const expected = (M * Math.exp(-bootHours / M)) / (M + r);
    expect(Math.abs(mean - expected)).toBeLessThan(4 * standardError);
  });

  it("persistent-ha on a SAN: M·e^(−b/M) / (M + r)", () => {
    const onSan = { ...cluster({ type: "exponential", mean: r }), storage: { kind: "san" } };
    onSan.failures = { san: onSan.failures.host.hardware } as never;
    const { mean, standardError } = replicationEstimate(seeds(8).map((seed) => simulateMetrics(onSan, seed, "persistent-ha").availability!));
    const expected = (M * Math.exp(-bootHours / M)) / (M + r);
    expect(Math.abs(mean - expected)).toBeLessThan(4 * standardError);
    expect(standardError).toBeLessThan(0.005);
  });

  it("persistent-ha: M / (M + r·(1 − e^(−d/r)) + b)", () => {
    const { mean, standardError } = estimate({ type: "exponential", mean: r }, "persistent-ha");
    const expected = M / (M + r * (1 - Math.exp(-heartbeatHours / r)) + bootHours);
    expect(Math.abs(mean - expected)).toBeLessThan(4 * standardError);
    expect(standardError).toBeLessThan(0.0005);
  });
});
