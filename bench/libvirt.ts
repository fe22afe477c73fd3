/**
 * Real hosts against the simulation, side by side (issue 5). Needs libvirt, QEMU and tini
 * (`.ci/run` installs them); not part of `npm run bench`.
 *
 *   node dist/bench/libvirt.js [--reps 5] [--json]
 *
 * Starts three libvirtd daemons (`test/libvirt/hosts.sh`), runs the controller on them with two
 * tiny persistent TCG guests (64 MiB, no disk), and `reps` times: kills the host the VMs run on
 * (its daemon and QEMUs, SIGKILL) and measures until the adapter notices (`hostFailed`), the
 * controller declares it dead (heartbeat timeout 2 s), and the VMs run again elsewhere; brings it
 * back. Then `reps` live migrations of one guest (total time, and the downtime QEMU reports).
 * Also: a `virsh` command one-shot versus on a kept connection. Then the same scenario in the
 * simulation — the same controller, heartbeat timeout 2 s, boot time = the median real start,
 * a maintenance drain for the migration — and prints both.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadInventoryFile } from "../src/adapters/libvirt/inventory.js";
import type { EventLog } from "../src/model/event-log.js";
import { runLive } from "../src/adapters/libvirt/live-run.js";
import { Virsh, VirshSession } from "../src/adapters/libvirt/virsh.js";
import type { DomainEvent } from "../src/model/events.js";
import { parseScenario } from "../src/scenario/load.js";
import { simulate } from "../src/adapters/sim/simulate.js";
import { EventStore } from "../src/event-store/event-store.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const HOSTS = join(ROOT, "test", "libvirt", "hosts.sh");
const args = process.argv.slice(2);
const reps = Number(args[args.indexOf("--reps") + 1] ?? 5) || 5;
const json = args.includes("--json");

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function scenarioText(bootSeconds: number, extra = ""): string {
  return `
name: libvirt-bench
durationHours: 1
serviceModels: [persistent-ha]
cluster: { hosts: [{ name: h, count: 3, vcpus: 2, memoryGiB: 1, diskGiB: 10 }] }
workload: { sizes: [{ name: tiny, vcpus: 1, memoryGiB: 0.0625, diskGiB: 1 }], fleet: 2 }
provisioning: { bootSeconds: ${bootSeconds}, volumeAttachSeconds: 0 }
storage: { kind: san }
ha: { heartbeatTimeoutSeconds: 2, fencing: false }
migration: { bandwidthMiBps: 1000, dirtyRateMiBps: 1 }
${extra}`;
}

async function virshModes(uri: string): Promise<{ oneShotMs: number; keptMs: number }> {
  const run = promisify(execFile);
  const n = 50;
  let t = performance.now();
  for (let i = 0; i < n; i++) await run("virsh", ["-q", "-c", uri, "list", "--all", "--name"]);
  const oneShotMs = (performance.now() - t) / n;
  const session = new VirshSession("virsh", uri);
  await session.run(["uri"], { timeoutMs: 5000 });
  t = performance.now();
  for (let i = 0; i < n; i++) await session.run(["list", "--all", "--name"], { timeoutMs: 5000 });
  const keptMs = (performance.now() - t) / n;
  session.close();
  return { oneShotMs, keptMs };
}

async function real() {
  const dir = mkdtempSync("/tmp/tbh-");
  const up = spawnSync("bash", [HOSTS, "up", dir, "3"], { encoding: "utf8" });
  if (up.status !== 0) throw new Error(`hosts.sh up: ${up.stderr}`);
  const dbDir = mkdtempSync(join(tmpdir(), "libvirt-bench-"));
  const store = EventStore.open(join(dbDir, "live.db"));
  const events: DomainEvent[] = [];
  const kills: { killMs: number; detectMs: number; declaredMs: number; restartMs: number; totalMs: number }[] = [];
  const migrations: { totalMs: number; downtimeMs: number }[] = [];
  try {
    const modes = await virshModes(`qemu:///session?socket=${dir}/h1/run/libvirt/libvirt-sock`);
    const stop = new AbortController();
    let steps: Promise<void> = Promise.resolve();
    await runLive({
      inventory: loadInventoryFile(join(dir, "inventory.yaml")),
      config: parseScenario("bench", scenarioText(1)).config,
      meta: { scenarioName: "libvirt-bench", scenarioFile: null, scenarioYaml: scenarioText(1), scenarioJson: "{}", scenarioHash: "bench", seed: 1, packageVersion: "bench", gitCommit: null },
      serviceModel: "persistent-ha",
      seed: 1,
      store,
      provenance: { packageVersion: "bench", gitCommit: null, now: () => new Date().toISOString() },
      virsh: new Virsh(),
      durationMs: 3_600_000,
      signal: stop.signal,
      report: () => {},
      observe: (e) => events.push(e),
      onStarted: ({ adapter, log }) => {
        const running = () => [...log.world.vms.values()].filter((v) => v.state === "running");
        const until = async (test: () => boolean) => {
          const deadline = Date.now() + 60_000;
          while (!test()) {
            if (Date.now() > deadline) throw new Error("timed out");
            await sleep(5);
          }
        };
        /** The first event of that type from index `from` of the log on. */
        const after = (type: string, from: number) => events.slice(from).find((e) => e.type === type)!;
        steps = (async (l: EventLog) => {
          await until(() => running().length === 2);
          for (let r = 0; r < reps; r++) {
            const host = running()[0]!.host!;
            const started = l.now;
            const from = events.length;
            await adapter.injectFailure(host);
            const killed = l.now;
            await until(() => running().length === 2 && running().every((v) => v.host !== host));
            const failed = after("hostFailed", from).t;
            const declared = after("hostFailureDetected", from).t;
            kills.push({ killMs: killed - started, detectMs: failed - started, declaredMs: declared - failed, restartMs: l.now - declared, totalMs: l.now - started });
            await adapter.injectRepair(host);
            await until(() => l.world.hosts.get(host)!.up);
            await adapter.settle();
          }
          for (let r = 0; r < reps; r++) {
            const vm = running()[0]!;
            const to = ["h1", "h2", "h3"].find((h) => h !== vm.host)!;
            const from = events.length;
            adapter.migrateVm(vm.id, to, "live");
            const started = events[from]!.t; // migrationStarted
            await until(() => l.world.vms.get(vm.id)!.migration === null);
            const finished = after("migrationFinished", from);
            if (!finished || finished.type !== "migrationFinished") throw new Error("migration aborted");
            migrations.push({ totalMs: finished.t - started, downtimeMs: finished.downtimeMs });
          }
        })(log).finally(() => stop.abort());
      },
    });
    await steps;
    const boots = events.filter((e) => e.type === "vmStarted").map((e) => e.t - [...events].reverse().find((p) => (p.type === "vmPlaced" || p.type === "vmRebooted") && p.vm === (e as { vm: string }).vm && p.t <= e.t)!.t);
    return { modes, kills, migrations, bootMs: median(boots) };
  } finally {
    store.close();
    spawnSync("bash", [HOSTS, "down", dir]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(dbDir, { recursive: true, force: true });
  }
}

function simulated(bootSeconds: number) {
  // The VMs' host crashes at 10 s for 20 s; a maintenance window on the other host at 60 s drains it by live migration.
  const text = scenarioText(
    bootSeconds,
    "failures: { trace: [{ timeHours: 0.0027778, target: h-001, kind: crash, durationHours: 0.0055556 }] }\nmaintenance: { windows: [{ host: h-002, atHours: 0.0166667, hours: 0.01 }] }\n",
  );
  const events: DomainEvent[] = [];
  simulate(parseScenario("sim", text).config, 1, "persistent-ha", { observe: (e) => events.push(e) });
  const failed = events.find((e) => e.type === "hostFailed")!;
  const declared = events.find((e) => e.type === "hostFailureDetected")!;
  const restarted = Math.max(...events.filter((e) => e.type === "vmStarted" && e.t > declared.t && e.t < declared.t + 60_000).map((e) => e.t));
  const started = events.filter((e) => e.type === "migrationStarted");
  const finished = events.filter((e): e is Extract<DomainEvent, { type: "migrationFinished" }> => e.type === "migrationFinished");
  return {
    detectMs: 0,
    declaredMs: declared.t - failed.t,
    restartMs: restarted - declared.t,
    totalMs: restarted - failed.t,
    migrationTotalMs: finished.map((f) => f.t - started.find((s) => s.type === "migrationStarted" && s.vm === f.vm)!.t),
    migrationDowntimeMs: finished.map((f) => f.downtimeMs),
  };
}

const r = await real();
const s = simulated(Math.round(r.bootMs) / 1000);
const row = (name: string, real: number[], sim: number | number[]) =>
  `${name.padEnd(42)} ${`${median(real).toFixed(0)} (${Math.min(...real).toFixed(0)}–${Math.max(...real).toFixed(0)})`.padStart(18)} ${String(Array.isArray(sim) ? median(sim).toFixed(0) : sim.toFixed(0)).padStart(12)}`;
if (json) process.stdout.write(`${JSON.stringify({ reps, real: r, simulated: s }, null, 2)}\n`);
else {
  process.stdout.write(`virsh list: one-shot ${r.modes.oneShotMs.toFixed(1)} ms/command, kept connection ${r.modes.keptMs.toFixed(2)} ms/command\n`);
  process.stdout.write(`median real start (vmPlaced → vmStarted): ${r.bootMs} ms — used as the simulation's boot time\n\n`);
  process.stdout.write(`${"ms".padEnd(42)} ${`real median (min–max), n=${reps}`.padStart(18)} ${"simulation".padStart(12)}\n`);
  process.stdout.write(`${row("kill command runs (daemon + QEMUs, SIGKILL)", r.kills.map((k) => k.killMs), 0)}\n`);
  process.stdout.write(`${row("kill issued → hostFailed (adapter notices)", r.kills.map((k) => k.detectMs), s.detectMs)}\n`);
  process.stdout.write(`${row("hostFailed → hostFailureDetected", r.kills.map((k) => k.declaredMs), s.declaredMs)}\n`);
  process.stdout.write(`${row("detected → both VMs running elsewhere", r.kills.map((k) => k.restartMs), s.restartMs)}\n`);
  process.stdout.write(`${row("kill issued → both VMs running elsewhere", r.kills.map((k) => k.totalMs), s.totalMs)}\n`);
  process.stdout.write(`${row("live migration, total", r.migrations.map((m) => m.totalMs), s.migrationTotalMs)}\n`);
  process.stdout.write(`${row("live migration, downtime", r.migrations.map((m) => m.downtimeMs), s.migrationDowntimeMs)}\n`);
}
