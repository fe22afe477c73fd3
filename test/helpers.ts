import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import type { Provenance } from "../src/run/provenance.js";

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

/** A scenario of `hosts` hosts running VMs (HA), that crash often, so that it yields many events. */
export function busyScenario(name: string, hosts: number, hours: number): string {
  return `name: ${name}
durationHours: ${hours}
serviceModels: [persistent-ha]
workload:
  sizes: [{ name: s, vcpus: 2, memoryGiB: 4, diskGiB: 40 }]
  fleet: ${hosts * 4}
cluster:
  hosts:
    - { name: n, count: ${hosts}, racks: 10, vcpus: 16, memoryGiB: 64, diskGiB: 1000 }
failures:
  host:
    crash:
      timeToFailureHours: { type: exponential, mean: 10 }
      timeToRepairHours: { type: lognormal, mu: 0, sigma: 0.5 }
    hardware:
      timeToFailureHours: { type: weibull, shape: 0.8, scale: 400 }
      timeToRepairHours: { type: uniform, min: 4, max: 48 }
  disk:
    timeToFailureHours: { type: exponential, mean: 2000 }
    timeToRepairHours: 24
`;
}
