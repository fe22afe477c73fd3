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

/** A scenario of `hosts` hosts running VMs (HA), that crash often, so that it yields many events (the benchmarks' workload). */
export { busyScenarioText as busyScenario } from "../bench/common.js";
