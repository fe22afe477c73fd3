import { describe, expect, it } from "vitest";
import { mttdlMarkov, mttdlTwoWayFixedRebuild } from "../../src/reliability/mttdl.js";
import { replicationEstimate, seeds, simulateMetrics } from "../helpers.js";

/**
 * Mean time to data loss of a 2-way replicated volume with exponential copy failures (rate λ per
 * copy: one disk per host, disk failures exponential) and a *fixed* rebuild time R = size /
 * bandwidth — not the exponential repair of the textbook Markov chain, so the formula is derived
 * for the fixed time (the warning: MTTDL is not insensitive to the repair distribution).
 *
 * Both copies intact: the first failure comes after Exp(2λ), mean 1/(2λ). Then the rebuild runs;
 * within it two things can happen at rate λ each — the survivor fails (data loss) or the disk
 * being written fails (the rebuild restarts elsewhere from scratch). With e = exp(−2λR), one
 * attempt completes with probability e, loses the data with (1 − e)/2, restarts with (1 − e)/2,
 * and lasts E[min(Exp(2λ), R)] = (1 − e)/(2λ) on average. So per degraded period
 *   P(loss) q = (1 − e)/(1 + e),   mean length T₁ = ((1 − e)/(2λ)) / (1 − (1 − e)/2),
 * and by Wald's identity over the iid cycles MTTDL = (1/(2λ) + T₁) / q.
 * The exponential-repair Markov result (3λ + μ)/(2λ²) with μ = 1/R (Gibson 1991; Chen et al.,
 * ACM CSUR 1994) is 4.5 % higher here: the test can tell them apart.
 *
 * The simulation keeps 20 volumes of 100 GiB on 500 single-disk hosts; a lost volume's VM is
 * relaunched (after 0.001 h) on a fresh volume, so losses repeat; MTTDL = volume-hours / losses
 * (renewal-reward). Concurrent rebuilds onto one host would share its bandwidth and lengthen R:
 * with ~2 rebuilds at a time among 500 hosts that touches ~0.2 % of rebuilds, far below the
 * tolerance of 4 standard errors of independent replications.
 */
const lambda = 1 / 200;
const R = 10;
const sizeGiB = 100;
const rebuildMBps = (sizeGiB * 2 ** 30) / (R * 3600) / 1e6;


const scenario = {
  name: "mttdl",
  durationHours: 100_000,
  serviceModels: ["persistent-ha"],
  cluster: { hosts: [{ name: "h", count: 500, racks: 10, vcpus: 64, memoryGiB: 256, diskGiB: 4000 }] },
  failures: { disk: { timeToFailureHours: { type: "exponential", mean: 1 / lambda }, timeToRepairHours: 1 } },
  // No recovery throttle: the closed forms and the chain repair every failed copy at once, independently.
  storage: { replicas: 2, rebuildMBps, recoveryDelayMinutes: 15, maxBackfills: null },
  users: { replacementDelayHours: 0.001 },
  workload: { sizes: [{ name: "v", vcpus: 1, memoryGiB: 1, diskGiB: sizeGiB }], fleet: 20 },
};

describe("mean time to data loss agrees with the closed form for fixed rebuild times", () => {
  it.each([
    ["2-way replication", { replicas: 2 }],
    ["a two-host mirror (DRBD-like)", { kind: "mirror" }],
  ])("%s", (_name, storage) => {
    const runs = seeds(5).map((seed) => simulateMetrics({ ...scenario, storage: { ...scenario.storage, ...storage } }, seed, "persistent-ha"));
    for (const m of runs) {
      expect(m.dataLossEvents).toBeGreaterThan(500);
      expect(m.rebuildTimeHours.p50).toBeCloseTo(R, 3); // an undisturbed rebuild takes size / bandwidth
      expect(m.gbLost).toBe(m.dataLossEvents * sizeGiB);
    }
    const { mean, standardError } = replicationEstimate(runs.map((m) => m.mttdlHours!));
    const expected = mttdlTwoWayFixedRebuild(lambda, R);
    expect(Math.abs(mean - expected)).toBeLessThan(4 * standardError);
    const markovExponential = (3 * lambda + 1 / R) / (2 * lambda ** 2);
    expect(Math.abs(mean - markovExponential)).toBeGreaterThan(2 * standardError);
  });
});


/**
 * N-way replication with exponential copy failures and exponential rebuilds (`storage.rebuildHours`
 * exponential) against the birth–death Markov chain of `mttdlMarkov`; a rebuild whose target
 * fails restarts, which an exponential rebuild does not notice.
 */
describe("mean time to data loss agrees with the Markov chain for exponential rebuilds", () => {
  it("the chain gives the classic two-copy result", () => {
    expect(mttdlMarkov(2, 1 / 200, 1 / 10)).toBeCloseTo((3 / 200 + 1 / 10) / (2 / 200 ** 2), 6);
  });

  it.each([
    [2, 1 / 200, 10],
    [3, 1 / 50, 10],
  ])("%i-way replication (λ = %f per hour, mean rebuild %f h)", (n, lambda, rebuildHours) => {
    const markov = {
      ...scenario,
      durationHours: 40_000,
      cluster: { hosts: [{ name: "h", count: 100, racks: 10, vcpus: 64, memoryGiB: 256, diskGiB: 4000 }] }, // no bandwidth to share: fewer hosts do
      failures: { disk: { timeToFailureHours: { type: "exponential", mean: 1 / lambda }, timeToRepairHours: 1 } },
      storage: { replicas: n, rebuildHours: { type: "exponential", mean: rebuildHours }, maxBackfills: null },
    };
    const runs = seeds(5).map((seed) => simulateMetrics(markov, seed, "persistent-ha"));
    for (const m of runs) expect(m.dataLossEvents).toBeGreaterThan(200);
    const { mean, standardError } = replicationEstimate(runs.map((m) => m.mttdlHours!));
    expect(Math.abs(mean - mttdlMarkov(n, lambda, 1 / rebuildHours))).toBeLessThan(4 * standardError);
  });
});

