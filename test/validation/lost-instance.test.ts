import { describe, expect, it } from "vitest";
import { replicationEstimate, seeds, simulateMetrics } from "../helpers.js";

/**
 * The real cost of a lost instance, against a renewal-reward closed form. An ephemeral instance
 * runs until its host fails (exponential, mean M: memoryless, so whichever host it is on); it is
 * then lost, and down for the user's replacement delay U (any distribution, mean u), the boot b
 * and the restore of its state r (s = b + r). If the new host fails during s (probability
 * 1 − e^(−s/M)) the replacement is lost too and it all starts again, so the down period has mean
 *   E[D] = (u + E[min(T, s)]) / P(T > s) = (u + M(1 − e^(−s/M))) / e^(−s/M),
 * and A = M / (M + E[D]) (renewal-reward: a cycle is an up period, mean M, and a down period).
 * Each cycle ends with one completed restore, so restoring costs r · 8760 / (M + E[D]) hours per
 * VM-year, and the rest of the down time is the replacement's part. Tolerance: 4 standard errors
 * of independent replications.
 */
const M = 100;
const u = 0.5;
const bootHours = 0.1;
const restoreHours = 0.2;
const s = bootHours + restoreHours;
const down = (u + M * (1 - Math.exp(-s / M))) / Math.exp(-s / M);
const hoursPerYear = 8760; // the metrics' year (365 days)

const scenario = {
  name: "lost-instance",
  durationHours: 20_000,
  serviceModels: ["ephemeral"],
  cluster: { hosts: [{ name: "h", count: 40, vcpus: 2, memoryGiB: 8, diskGiB: 100 }] },
  failures: { host: { hardware: { timeToFailureHours: { type: "exponential", mean: M }, timeToRepairHours: 10 } } },
  workload: { sizes: [{ name: "one", vcpus: 1, memoryGiB: 1, diskGiB: 10 }], fleet: 20 },
  provisioning: { bootSeconds: bootHours * 3600, keyInjectionSeconds: 0, imageGiB: 0.001, imageTransferMiBps: 1000 },
  users: { replacementDelayHours: { type: "exponential", mean: u }, stateRestore: { hours: restoreHours } },
};

describe("a lost instance's downtime agrees with the renewal-reward closed form", () => {
  const runs = seeds(8).map((seed) => simulateMetrics(scenario, seed, "ephemeral"));
  const estimate = (pick: (m: (typeof runs)[number]) => number) => replicationEstimate(runs.map(pick));

  it("availability M / (M + E[D]), with a replacement delay distribution and a restore time", () => {
    const { mean, standardError } = estimate((m) => m.availability!);
    expect(Math.abs(mean - M / (M + down))).toBeLessThan(4 * standardError);
    expect(standardError).toBeLessThan(0.001);
  });

  it("both parts reported: the restore r · year / (M + E[D]), the replacement the rest", () => {
    const restore = estimate((m) => m.restoreDowntimeHoursPerVmYear!);
    const replacement = estimate((m) => m.replacementDowntimeHoursPerVmYear!);
    expect(Math.abs(restore.mean - (restoreHours * hoursPerYear) / (M + down))).toBeLessThan(4 * restore.standardError);
    expect(Math.abs(replacement.mean - ((down - restoreHours) * hoursPerYear) / (M + down))).toBeLessThan(4 * replacement.standardError);
    for (const m of runs) expect(m.restoreDowntimeHoursPerVmYear! + m.replacementDowntimeHoursPerVmYear!).toBeLessThanOrEqual(m.downtimeHoursPerVmYear! + 1e-9);
  });
});
