import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import { simulate } from "../src/adapters/sim/simulate.js";
import type { EventLog } from "../src/model/event-log.js";
import { InvariantChecker } from "../src/model/invariants.js";
import { PRICES_2008 } from "../src/scenario/defaults.js";
import type { RunMetrics } from "../src/metrics/run-metrics.js";
import type { DomainEvent, ServiceModel } from "../src/model/events.js";
import type { Provenance } from "../src/recording/provenance.js";
import { loadScenarioObject } from "../src/scenario/load.js";

/** A fresh temporary directory, removed after the test file. */
export function tempDir(prefix = "vm-testbed-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Provenance with a fixed clock, for runs recorded by tests. */
export const testProvenance: Provenance = { packageVersion: "test", gitCommit: null, now: () => "2026-01-01T00:00:00.000Z" };

export const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "src", "cli", "main.js");

/** Runs the built `testbed` CLI and returns its exit code and output. */
export function testbed(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI in the background. */
export function startTestbed(...args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

/** Writes a scenario file into `dir` and returns its path. */
export function writeScenario(dir: string, name: string, text: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

/**
 * A small experiment's base scenario (no experiment section): ten hosts in five racks failing
 * often (crashes, hardware, disks), `fleet` long-lived VMs; at 3 000 h about 0.1 s a run.
 */
export function tinyFleetScenario(name: string, durationHours: number, options: { fleet?: number; serviceModels?: string } = {}): string {
  return `name: ${name}
durationHours: ${durationHours}
serviceModels: ${options.serviceModels ?? "[ephemeral, vps, persistent-ha]"}
workload:
  sizes: [{ name: s, vcpus: 2, memoryGiB: 4, diskGiB: 40 }]
  fleet: ${options.fleet ?? 40}
cluster:
  hosts:
    - { name: n, count: 10, racks: 5, disks: 3, vcpus: 16, memoryGiB: 64, diskGiB: 1000 }
failures:
  host:
    crash:
      timeToFailureHours: { type: exponential, mean: 300 }
      timeToRepairHours: { type: lognormal, mu: 0, sigma: 0.5 }
    hardware:
      timeToFailureHours: { type: exponential, mean: 2000 }
      timeToRepairHours: { type: uniform, min: 4, max: 48 }
  disk:
    timeToFailureHours: { type: exponential, mean: 5000 }
    timeToRepairHours: 24
`;
}

/** A scenario of `hosts` hosts running VMs (HA), that crash often, so that it yields many events (the benchmarks' workload). */
export { busyScenarioText as busyScenario } from "../bench/common.js";

/**
 * Runs a scenario, given as the object a YAML file would hold, in memory under one service model
 * with the invariant checker on (the testbed's own `simulate`), and returns its metrics.
 */
export function simulateMetrics(scenario: unknown, seed: number, model: ServiceModel, observe?: (event: DomainEvent) => void): RunMetrics {
  return simulate(loadScenarioObject(scenario).config, seed, model, { check: true, ...(observe ? { observe } : {}) }).metrics;
}

/** Mean and standard error of independent replications. */
export function replicationEstimate(samples: number[]): { mean: number; standardError: number } {
  const n = samples.length;
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, standardError: Math.sqrt(variance / n) };
}

export const seeds = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/**
 * A small cluster with every kind of failure and both kinds of workload. `harsh`: failures far
 * more often than in life, hosts down past the storage's recovery delay, slow rebuilds — so that
 * copies are marked out, rebuilt, dropped and come back while others fail — and correlated
 * failures on top: power domains of two racks, bursts of a few hosts in one rack, and rare
 * cluster-wide events.
 */
export const smallScenario = (hosts: number, racks: number, fleet: number, ratePerHour: number, harsh = false, storageKind: "replicated" | "mirror" | "san" = "replicated") => ({
  name: "crn",
  durationHours: 2000,
  cluster: { hosts: [{ name: "h", count: hosts, racks, disks: 2, vcpus: 8, memoryGiB: 32, diskGiB: 500 }], ...(harsh ? { powerDomains: { racksPerDomain: 2 } } : {}) },
  failures: {
    ...(harsh
      ? {
          power: { timeToFailureHours: { type: "exponential", mean: 800 }, timeToRepairHours: { type: "uniform", min: 1, max: 6 } },
          bursts: [
            { name: "few", timeBetweenHours: { type: "exponential", mean: 200 }, hosts: { type: "uniform", min: 2, max: 4 }, racks: 1, durationHours: { type: "exponential", mean: 1 } },
            { name: "cooling", timeBetweenHours: { type: "exponential", mean: 1500 }, share: 0.8, durationHours: 12 },
          ],
        }
      : {}),
    host: {
      crash: harsh
        ? { timeToFailureHours: { type: "exponential", mean: 50 }, timeToRepairHours: { type: "exponential", mean: 1 } }
        : { timeToFailureHours: { type: "exponential", mean: 300 }, timeToRepairHours: 0.1 },
      hardware: { timeToFailureHours: { type: "weibull", shape: 0.8, scale: 2000 }, timeToRepairHours: { type: "lognormal", mu: 2, sigma: 1 } },
    },
    rack: { timeToFailureHours: { type: "exponential", mean: 1000 }, timeToRepairHours: 2 },
    disk: { timeToFailureHours: { type: "exponential", mean: harsh ? 200 : 3000 }, timeToRepairHours: 24 },
    ...(storageKind === "san" ? { san: { timeToFailureHours: { type: "exponential", mean: harsh ? 100 : 1000 }, timeToRepairHours: 1 } } : {}),
    // Storage-service outages of a few minutes, about the guests' I/O timeout: some stalls resumed, some rebooted.
    ...(storageKind === "mirror"
      ? {}
      : {
          storage: { scope: harsh && storageKind === "replicated" ? "rack" : "cluster", timeToFailureHours: { type: "exponential", mean: harsh ? 100 : 1000 }, timeToRepairHours: { type: "exponential", mean: 0.05 } },
          storageNetwork: { scope: harsh ? "rack" : "host", timeToFailureHours: { type: "exponential", mean: harsh ? 200 : 2000 }, timeToRepairHours: { type: "exponential", mean: 0.2 } },
        }),
  },
  // Harsh: VMs stalled on a host cut off from the storage are restarted elsewhere after 5 minutes.
  ha: harsh ? { storagePathResponse: "restart", storagePathTimeoutSeconds: 300 } : {},
  storage: storageKind === "replicated" ? { replicas: Math.min(3, racks), rebuildMBps: harsh ? 1 : 20 } : { kind: storageKind, rebuildMBps: harsh ? 1 : 20 },
  workload: {
    sizes: [
      { name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 20, weight: 3 },
      { name: "l", vcpus: 4, memoryGiB: 16, diskGiB: 100 },
    ],
    fleet,
    arrivals: { ratePerHour, lifetimeHours: { type: "exponential", mean: 50 } },
  },
});

/** A small cluster for scenario texts in tests: 30 long-lived VMs on ten hosts in five racks, three disks each (~0.1 s a run of 2 000 h). */
export const SMALL_CLUSTER = `workload:
  sizes: [{ name: s, vcpus: 2, memoryGiB: 4, diskGiB: 40 }]
  fleet: 30
cluster:
  hosts:
    - { name: n, count: 10, racks: 5, disks: 3, vcpus: 16, memoryGiB: 64, diskGiB: 1000 }
`;

/**
 * Four hosts of 16 GiB, two long-lived 2 GiB VMs with 20 GiB disks on 2-way replicated volumes,
 * 1 000 h: a maintenance window on h-001 at 10 h (live migrations for persistent-ha), a 3 h
 * hardware failure of h-002 at 20 h and each host's disk failing in turn from 40 h (copy
 * rebuilds) — the operations, storage and cost metrics all have something to count early on.
 */
export function busyStartScenario(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    durationHours: 1000,
    cluster: { hosts: [{ name: "h", count: 4, vcpus: 4, memoryGiB: 16, diskGiB: 400 }] },
    workload: { sizes: [{ name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 20 }], fleet: 2 },
    storage: { replicas: 2, spreadRacks: false },
    maintenance: { windows: [{ host: "h-001", atHours: 10, hours: 2 }] },
    failures: {
      trace: [
        { timeHours: 20, target: "h-002", kind: "hardware", durationHours: 3 },
        ...[1, 2, 3, 4].map((i) => ({ timeHours: 30 + 10 * i, target: `h-00${i}/0`, kind: "disk", durationHours: 5 })),
      ],
    },
    ...extra,
  };
}

/**
 * Records a hand-driven persistent-ha run (a simulation or a bare event log): every event into the returned log, the invariant
 * checker noting each and verifying the world whenever it is settled; starts the run. Register the
 * parts under test (`sim.onEvent`) before the first host is added.
 */
export function checkedPersistentHaLog(sim: EventLog): DomainEvent[] {
  const checker = new InvariantChecker(sim.world);
  const log: DomainEvent[] = [];
  sim.subscribe((e) => {
    log.push(e);
    checker.note(e);
  });
  sim.onSettled(() => checker.verify());
  sim.emit({ type: "runStarted", serviceModel: "persistent-ha", prices: PRICES_2008 });
  return log;
}
