import { describe, expect, it } from "vitest";
import type { DomainEvent } from "../../src/model/events.js";
import { simulateMetrics } from "../helpers.js";

/**
 * Local RAID against its closed form. A degraded period starts when a disk of a healthy n-disk
 * array fails (tolerance 1: RAID 1 over two disks, RAID 5). The k = n − 1 survivors fail at rate λ
 * each; the failed disk is replaced after a fixed D and rebuilt in a fixed R, during which the
 * new disk may fail too (then it is replaced and rebuilt again). One attempt:
 *   P(loss)    = (1 − e^(−kλD)) + e^(−kλD) · (k/n) · (1 − e^(−nλR))
 *   P(restart) = e^(−kλD) · (1/n) · (1 − e^(−nλR))
 *   E[length]  = (1 − e^(−kλD)) / (kλ) + e^(−kλD) · (1 − e^(−nλR)) / (nλ)
 * so a degraded period ends in data loss with q = P(loss) / (1 − P(restart)) and lasts on average
 * E[length] / (1 − P(restart)) (Wald). (With D = 0 and n = 2 this is the 2-way replication
 * case of mttdl.test.ts.) Degraded periods are independent, so q̂ has the binomial standard
 * error and the mean length the sample one; tolerance 4 standard errors.
 */
function degradedPeriod(n: number, lambda: number, D: number, R: number) {
  const k = n - 1;
  const survive = Math.exp(-k * lambda * D);
  const rebuildHit = 1 - Math.exp(-n * lambda * R);
  const loss = 1 - survive + survive * (k / n) * rebuildHit;
  const restart = survive * (1 / n) * rebuildHit;
  const length = (1 - survive) / (k * lambda) + (survive * rebuildHit) / (n * lambda);
  return { lossProbability: loss / (1 - restart), meanHours: length / (1 - restart) };
}

const lambda = 1 / 500;
const D = 5;
const R = 10;

function observe(n: number, level: 1 | 5) {
  const diskGiB = 1000;
  const usableGiB = level === 1 ? diskGiB : diskGiB * (n - 1);
  const scenario = {
    name: "raid",
    durationHours: 50_000,
    serviceModels: ["vps"],
    cluster: { hosts: [{ name: "h", count: 300, disks: n, vcpus: 8, memoryGiB: 32, diskGiB: usableGiB }] },
    failures: { disk: { timeToFailureHours: { type: "exponential", mean: 1 / lambda }, timeToRepairHours: D } },
    storage: { localRaid: { level, rebuildMBps: (diskGiB * 2 ** 30) / (R * 3600) / 1e6 } },
  };
  const failed = new Map<string, Set<number>>();
  const rebuilding = new Map<string, Set<number>>();
  const periodStart = new Map<string, number>();
  const lengths: number[] = [];
  let periods = 0;
  let losses = 0;
  const set = (m: Map<string, Set<number>>, host: string) => m.get(host) ?? m.set(host, new Set()).get(host)!;
  const healthy = (host: string) => set(failed, host).size === 0 && set(rebuilding, host).size === 0;
  const end = (host: string, t: number) => {
    lengths.push((t - periodStart.get(host)!) / 3_600_000);
    periodStart.delete(host);
  };
  const metrics = simulateMetrics(scenario, 3, "vps", (e: DomainEvent) => {
    if (e.type === "diskFailed") {
      if (healthy(e.host)) {
        periods++;
        periodStart.set(e.host, e.t);
      }
      set(failed, e.host).add(e.disk);
      set(rebuilding, e.host).delete(e.disk);
    } else if (e.type === "diskReplaced") set(failed, e.host).delete(e.disk);
    else if (e.type === "raidRebuildStarted") set(rebuilding, e.host).add(e.disk);
    else if (e.type === "raidRebuildFinished") {
      set(rebuilding, e.host).delete(e.disk);
      if (healthy(e.host) && periodStart.has(e.host)) end(e.host, e.t);
    } else if (e.type === "arrayLost") {
      set(rebuilding, e.host).clear();
      if (periodStart.has(e.host)) {
        losses++;
        end(e.host, e.t);
      }
    }
  });
  return { periods, losses, lengths, metrics };
}

describe("local RAID agrees with the closed form of its degraded periods", () => {
  for (const [name, n, level] of [
    ["RAID 1 over 2 disks", 2, 1],
    ["RAID 5 over 4 disks", 4, 5],
  ] as const) {
    it(name, () => {
      const { periods, losses, lengths, metrics } = observe(n, level);
      const expected = degradedPeriod(n, lambda, D, R);
      const q = losses / periods;
      expect(periods).toBeGreaterThan(20_000);
      expect(metrics.arraysLost).toBe(losses); // only arrays that were whole are lost
      expect(Math.abs(q - expected.lossProbability)).toBeLessThan(4 * Math.sqrt((expected.lossProbability * (1 - expected.lossProbability)) / periods));
      const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
      const sd = Math.sqrt(lengths.reduce((a, b) => a + (b - mean) ** 2, 0) / (lengths.length - 1));
      expect(Math.abs(mean - expected.meanHours)).toBeLessThan(4 * (sd / Math.sqrt(lengths.length)));
    });
  }
});
