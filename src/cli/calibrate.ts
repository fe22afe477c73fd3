import { loadavg } from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { stringify } from "yaml";
import { CephVolumes, execRunner } from "../adapters/libvirt/disks.js";
import { loadInventoryFile, type Inventory } from "../adapters/libvirt/inventory.js";
import { runLive } from "../adapters/libvirt/live-run.js";
import { Virsh } from "../adapters/libvirt/virsh.js";
import { EventStore } from "../event-store/event-store.js";
import { calibrationSamples, emptyCalibration, spread, type CalibrationQuantity, type CalibrationSamples, type Injection } from "../metrics/calibration.js";
import type { DomainEvent } from "../model/events.js";
import { currentProvenance } from "../recording/provenance.js";
import { parseScenario } from "../scenario/load.js";
import { ExitCode, UsageError } from "./exit-codes.js";

export interface CalibrateOptions {
  reps: number;
  out: string;
  db: string;
  report?: (line: string) => void;
}

/** The calibration sequence's times (s after the run's start): room for a boot of up to ~50 s under TCG on a loaded machine. */
const SEQUENCE = { drainS: 60, crashS: 90, crashForS: 30, osdS: 135, osdForS: 15, durationS: 175 } as const;

/** The heartbeat timeout of the calibration runs: the controller waits this long after `hostFailed`. */
const HEARTBEAT_S = 2;

/**
 * The scenario of one calibration run on the inventory's first three hosts A, B, C: one
 * persistent-ha VM (the tiny guest, its disk an RBD image) boots on A (first fit); A is drained at
 * 60 s (live migration to B); B is killed at 90 s for 30 s (detection, fencing, the image's lock
 * holder blocklisted, restart on A or C); the OSD that stands for A's disk is stopped at 135 s
 * for 15 s (detection, recovery).
 */
export function calibrationScenario(inventory: Inventory): string {
  const [a, b] = inventory.hosts;
  const osd = inventory.ceph!.osds.find((o) => o.host === a!.name) ?? inventory.ceph!.osds[0]!;
  const h = (s: number) => (s / 3600).toFixed(7);
  return [
    "name: calibration",
    "seed: 1",
    `durationHours: ${h(SEQUENCE.durationS)}`,
    "serviceModels: [persistent-ha]",
    "cluster:",
    "  hosts:",
    ...inventory.hosts.map((x) => `    - { name: ${x.name}, vcpus: 2, memoryGiB: 7, diskGiB: 1024 }`),
    "workload:",
    "  sizes: [{ name: guest, vcpus: 1, memoryGiB: 0.09375, diskGiB: 1 }]",
    "  fleet: 1",
    "provisioning: { bootSeconds: 3, volumeAttachSeconds: 0 }",
    "storage: { kind: replicated, replicas: 3, spreadRacks: false }",
    `ha: { heartbeatTimeoutSeconds: ${HEARTBEAT_S} }`,
    "placement: { policy: first-fit }",
    "failures:",
    "  trace:",
    `    - { timeHours: ${h(SEQUENCE.crashS)}, target: ${b!.name}, kind: crash, durationHours: ${h(SEQUENCE.crashForS)} }`,
    `    - { timeHours: ${h(SEQUENCE.osdS)}, target: ${osd.host}/${osd.disk}, kind: disk, durationHours: ${h(SEQUENCE.osdForS)} }`,
    "",
  ].join("\n");
}

/** What the inventory must give for the calibration sequence; a list of what is missing (empty: fine). */
export function calibrationNeeds(inventory: Inventory): string[] {
  const missing: string[] = [];
  if (inventory.hosts.length < 3) missing.push(`at least 3 hosts (it has ${inventory.hosts.length})`);
  if (!inventory.guest) missing.push("guest: (the tiny guest: boot counts)");
  if (!inventory.ceph) missing.push("storage.ceph (persistent-ha disks)");
  else if (!inventory.ceph.osds.some((o) => o.stop && o.start)) missing.push("storage.ceph.osds with stop and start commands");
  const unfenced = inventory.hosts.slice(0, 3).filter((h) => h.fence === null);
  if (unfenced.length > 0) missing.push(`fence commands for ${unfenced.map((h) => h.name).join(", ")}`);
  return missing;
}

/**
 * Which scenario field each measured quantity sets, or null: measured and reported, not an input.
 *
 * - `provisioning.bootSeconds` from libvirt's start (`vmStarted`), not the guest's report: the
 *   availability and recovery times of both sides are counted from `vmStarted`, so that is the
 *   boot the simulation must model to be compared; the guest's own boot is reported beside it
 *   (the gap is what libvirt's view leaves out).
 * - `ha.heartbeatTimeoutSeconds`: the simulation's VMs go down at the failure and are restarted
 *   a heartbeat timeout later; on real hosts they go down when the monitor notices
 *   (`detectionSeconds`) and the controller then waits the scenario's timeout: the sum, with the
 *   calibration runs' timeout (2 s). The detection itself is missing from the live log's downtime.
 * - `migration.switchoverMs`: the measured downtime (a 96 MiB guest that dirties little memory:
 *   nearly all of it is the switchover).
 * - `storage.rebuildHours`: OSD back → pool active+clean (Ceph catches up from the others' logs).
 */
const FIELDS: Record<CalibrationQuantity, string | null> = {
  bootSeconds: null,
  libvirtStartSeconds: "provisioning.bootSeconds",
  detectionSeconds: "ha.heartbeatTimeoutSeconds",
  restartElsewhereSeconds: null,
  migrationSeconds: null,
  migrationDowntimeSeconds: "migration.switchoverMs",
  osdDetectionSeconds: null,
  osdRecoverySeconds: "storage.rebuildHours",
  storageOutageSeconds: null,
};

const DESCRIPTIONS: Record<CalibrationQuantity, string> = {
  bootSeconds: "vmPlaced → the guest has read its disk (guestBooted)",
  libvirtStartSeconds: "vmPlaced → libvirt reports it running (vmStarted)",
  detectionSeconds: `host killed → hostFailed (+ the ${HEARTBEAT_S} s timeout)`,
  restartElsewhereSeconds: "hostFailed → the guest booted on another host",
  migrationSeconds: "live migration, start → finish",
  migrationDowntimeSeconds: "live migration downtime (QEMU's domjobinfo)",
  osdDetectionSeconds: "OSD stopped → diskFailed",
  osdRecoverySeconds: "OSD back → pool active+clean (rebuildFinished)",
  storageOutageSeconds: "pool's placement groups not active → active again",
};

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * The scenario overlay `calibrate` writes: the fields the simulation takes as inputs, set to what
 * was measured (empirical distributions where the field takes one; the median where it takes a
 * number), and every quantity's spread as a comment. Apply it with `--set` (each `path=value`) or
 * copy the fields into a scenario.
 */
export function calibrationOverlay(samples: CalibrationSamples, header: string[]): string {
  const data: Record<string, Record<string, unknown>> = {};
  const set = (path: string, value: unknown) => {
    const [section, field] = path.split(".") as [string, string];
    (data[section] ??= {})[field] = value;
  };
  const lines = header.map((l) => `# ${l}`);
  lines.push("#", "# measured (n, median [min, max] seconds) — and the field it sets:");
  for (const quantity of Object.keys(FIELDS) as CalibrationQuantity[]) {
    const values = samples[quantity];
    const s = spread(values);
    const field = FIELDS[quantity];
    lines.push(`#   ${quantity}: ${s ? `n=${s.n}, ${round(s.median)} [${round(s.min)}, ${round(s.max)}]` : "not measured"} — ${DESCRIPTIONS[quantity]}${field ? ` → ${field}` : ""}`);
    if (!s || !field) continue;
    if (field === "provisioning.bootSeconds") set(field, { type: "empirical", samples: values.map(round) });
    else if (field === "storage.rebuildHours") set(field, { type: "empirical", samples: values.map((v) => v / 3600) });
    else if (field === "migration.switchoverMs") set(field, Math.round(s.median * 1000));
    else if (field === "ha.heartbeatTimeoutSeconds") set(field, round(HEARTBEAT_S + s.median));
  }
  return `${lines.join("\n")}\n${stringify(data)}`;
}

/** The overlay's fields as `--set path=value` overrides (YAML flow values). */
export function overlayOverrides(data: Record<string, Record<string, unknown>>): string[] {
  return Object.entries(data).flatMap(([section, fields]) => Object.entries(fields).map(([field, value]) => `${section}.${field}=${JSON.stringify(value)}`));
}

/**
 * `testbed calibrate <inventory>`: runs the calibration sequence `reps` times on the real hosts
 * (each run recorded in `db`), measures from the logs what the simulation assumes, and writes
 * the overlay to `out`.
 */
export async function calibrateCommand(inventoryFile: string, options: CalibrateOptions): Promise<number> {
  const say = options.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const inventory = loadInventoryFile(inventoryFile);
  const missing = calibrationNeeds(inventory);
  if (missing.length > 0) throw new UsageError(`${inventoryFile}: calibrate needs ${missing.join("; ")}`);
  await new CephVolumes(inventory.ceph!, execRunner(false), inventory.commandTimeoutMs).check();
  const text = calibrationScenario(inventory);
  const loaded = parseScenario("(calibration)", text);
  mkdirSync(dirname(options.db), { recursive: true });
  const store = EventStore.open(options.db);
  const samples = emptyCalibration();
  const loads: number[] = [];
  let problems = 0;
  try {
    for (let rep = 1; rep <= options.reps; rep++) {
      say(`calibration run ${rep} of ${options.reps} (${SEQUENCE.durationS} s)`);
      const events: DomainEvent[] = [];
      const injected: Injection[] = [];
      let now = () => 0;
      loads.push(loadavg()[0]!);
      const result = await runLive({
        inventory,
        config: loaded.config,
        meta: { scenarioName: "calibration", scenarioFile: null, scenarioYaml: text, scenarioJson: loaded.canonical, scenarioHash: loaded.hash, seed: 1, packageVersion: "", gitCommit: null },
        serviceModel: "persistent-ha",
        seed: 1,
        store,
        provenance: currentProvenance(),
        virsh: new Virsh(),
        drain: { hosts: [inventory.hosts[0]!.name], atMs: SEQUENCE.drainS * 1000 },
        observe: (event) => events.push(event),
        onStarted: ({ log }) => (now = () => log.now),
        report: (line) => {
          const injection = /^injecting a (?:crash|hardware) of (\S+)|^injecting a failure of disk (\S+)/.exec(line);
          if (injection) injected.push({ target: (injection[1] ?? injection[2])!, t: now() });
          say(`  ${line}`);
        },
      });
      loads.push(loadavg()[0]!);
      problems += result.problems.length;
      for (const p of result.problems) say(`  problem: ${p.message}`);
      calibrationSamples(events, injected, samples);
      say(`  run ${result.runId}: ${result.eventCount} events recorded in ${options.db}`);
    }
  } finally {
    store.close();
  }
  const header = [
    `testbed calibrate: measured on the hosts of ${inventoryFile} (${inventory.hosts.map((h) => h.name).join(", ")}), ${options.reps} run(s), ${new Date().toISOString()}`,
    `sequence per run: boot on ${inventory.hosts[0]!.name}; drain it at ${SEQUENCE.drainS} s; kill ${inventory.hosts[1]!.name} at ${SEQUENCE.crashS} s for ${SEQUENCE.crashForS} s; stop an OSD at ${SEQUENCE.osdS} s for ${SEQUENCE.osdForS} s`,
    `1-minute load average during the runs: ${round(Math.min(...loads))}–${round(Math.max(...loads))} (${process.env.HOSTNAME ?? "this machine"}); runs recorded in ${options.db}`,
  ];
  const overlay = calibrationOverlay(samples, header);
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, overlay);
  process.stdout.write(overlay);
  say(`written to ${options.out}`);
  return problems === 0 ? ExitCode.ok : ExitCode.failed;
}
