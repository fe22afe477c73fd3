import { describe, expect, it } from "vitest";
import { LocalRaid } from "../../src/adapters/sim/storage/local-raid.js";
import { ReplicatedStorage } from "../../src/adapters/sim/storage/replicated.js";
import { Simulation } from "../../src/adapters/sim/simulation.js";
import type { DomainEvent } from "../../src/model/events.js";
import { checkedPersistentHaLog } from "../helpers.js";

/**
 * Unrecoverable read errors on rebuild reads, against the closed form: a rebuild reading `bits`
 * bits, each unreadable with probability p, meets at least one error with probability
 * 1 − (1 − p)^bits. Only a read from the last readable copy turns it into damage. The share of
 * damaged rebuilds among n independent ones is checked at 4 standard errors of a binomial share.
 */
const GIB = 2 ** 30;

function withinFourSe(damaged: number, n: number, p: number): void {
  const se = Math.sqrt((p * (1 - p)) / n);
  expect(Math.abs(damaged / n - p)).toBeLessThan(4 * se);
}

/** n volumes of `sizeGiB` with `copies` copies on h1..h(copies); h(copies)'s disk fails: n rebuilds, each reading one copy. */
function replicaRebuilds(n: number, copies: number, sizeGiB: number, ureRatePerBit: number, seed: number) {
  const sim = new Simulation(seed);
  const storage = new ReplicatedStorage(
    sim,
    { kind: "replicated", replicas: copies, minSize: 1, spreadRacks: false, rebuildMBps: 100, rebuildHours: null, recoveryDelayMinutes: 0, rackUplinkMBps: null, clusterNetworkMBps: null, downOutSubtreeLimit: "rack", maxBackfills: null, fullRatio: 1, ureRatePerBit, guestTimeoutMs: 180_000 },
    sim.random.fork("storage"),
  );
  sim.onEvent((e) => storage.react(e));
  const log = checkedPersistentHaLog(sim);
  for (let i = 1; i <= copies + 8; i++) sim.emit({ type: "hostAdded", host: `h${i}`, rack: "r1", vcpus: 8, memoryGiB: 32, diskGiB: n * sizeGiB, disks: 1 });
  for (let v = 0; v < n; v++) {
    sim.emit({ type: "vmRequested", vm: `vm${v}`, vcpus: 1, memoryGiB: 1, diskGiB: sizeGiB, lifetimeHours: null });
    sim.emit({ type: "volumeCreated", volume: `vol${v}`, vm: `vm${v}`, kind: "replicated", sizeGiB, replicas: copies, copies: Array.from({ length: copies }, (_, c) => ({ host: `h${c + 1}`, disk: 0 })) });
  }
  sim.emit({ type: "diskFailed", host: `h${copies}`, disk: 0 });
  sim.scheduler.run();
  return { finished: log.filter((e) => e.type === "rebuildFinished").length, damage: log.filter((e) => e.type === "dataDamaged") as Extract<DomainEvent, { type: "dataDamaged" }>[] };
}

/** n hosts with a RAID array of `disks` disks of `diskGiB` usable; disk 0 of each fails and is replaced: n rebuilds. */
function raidRebuilds(n: number, level: 5 | 6 | 1, disks: number, diskGiB: number, ureRatePerBit: number, seed: number) {
  const sim = new Simulation(seed);
  const raid = new LocalRaid(sim, { level, rebuildMBps: 100, ureRatePerBit }, sim.random.fork("raid"));
  sim.onEvent((e) => raid.react(e));
  const log = checkedPersistentHaLog(sim);
  for (let i = 0; i < n; i++) {
    sim.emit({ type: "hostAdded", host: `h${i}`, rack: "r1", vcpus: 8, memoryGiB: 32, diskGiB, disks });
    sim.emit({ type: "diskFailed", host: `h${i}`, disk: 0 });
    sim.emit({ type: "diskReplaced", host: `h${i}`, disk: 0 });
  }
  sim.scheduler.run();
  return { finished: log.filter((e) => e.type === "raidRebuildFinished").length, damage: log.filter((e) => e.type === "dataDamaged") };
}

describe("unrecoverable read errors on rebuild reads", () => {
  it("a rebuild from the last readable copy is damaged with probability 1 − (1 − p)^bits (4 SE)", () => {
    const sizeGiB = 10;
    const bits = sizeGiB * GIB * 8;
    const p = -Math.log(0.7) / bits; // a 30 % chance per rebuild
    const { finished, damage } = replicaRebuilds(1500, 2, sizeGiB, p, 1);
    expect(finished).toBe(1500);
    withinFourSe(damage.length, finished, 1 - Math.pow(1 - p, bits));
    expect(damage.every((d) => d.host === "h1" && d.volume !== null && d.lostGiB === d.errors * (4 / 1024))).toBe(true);
    // The errors per damaged rebuild: Poisson with mean λ = −bits·ln(1 − p), given at least one: E = λ / (1 − e^−λ).
    const lambda = -bits * Math.log1p(-p);
    const meanErrors = damage.reduce((s, d) => s + d.errors, 0) / damage.length;
    expect(Math.abs(meanErrors - lambda / (1 - Math.exp(-lambda)))).toBeLessThan(0.1);
  });

  it("costs nothing where another readable copy holds the data: 3 copies, one lost", () => {
    const { finished, damage } = replicaRebuilds(300, 3, 10, 1e-11, 2); // nearly every read meets an error
    expect(finished).toBe(300);
    expect(damage).toEqual([]);
  });

  it("local RAID 5 rebuilding a disk reads the three others: damaged with 1 − (1 − p)^(3·disk bits); RAID 6 repairs it", () => {
    const diskGiB = 3 * 100; // 4 disks of 100 GiB in RAID 5
    const bits = 3 * 100 * GIB * 8;
    const p = -Math.log(0.5) / bits;
    const raid5 = raidRebuilds(1200, 5, 4, diskGiB, p, 3);
    expect(raid5.finished).toBe(1200);
    withinFourSe(raid5.damage.length, raid5.finished, 1 - Math.pow(1 - p, bits));
    const raid6 = raidRebuilds(300, 6, 4, 200, p, 4);
    expect(raid6.finished).toBe(300);
    expect(raid6.damage).toEqual([]);
  });

  it("without a URE rate, no rebuild is damaged", () => {
    expect(replicaRebuilds(100, 2, 10, 0, 5).damage).toEqual([]);
    expect(raidRebuilds(100, 1, 2, 100, 0, 5).damage).toEqual([]);
  });
});
