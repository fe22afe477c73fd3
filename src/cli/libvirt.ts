import { existsSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { LibvirtHost, type HostCapacity, type OwnedDomain } from "../adapters/libvirt/host.js";
import { inventoryHost, loadInventoryFile, type Inventory } from "../adapters/libvirt/inventory.js";
import { planLiveDrain, runLive, type LiveRunResult } from "../adapters/libvirt/live-run.js";
import { ResumeRefused, resumeLive, runToResume } from "../adapters/libvirt/resume-run.js";
import { Virsh } from "../adapters/libvirt/virsh.js";
import { CephVolumes, execRunner } from "../adapters/libvirt/disks.js";
import type { ServiceModel } from "../model/events.js";
import { currentProvenance } from "../recording/provenance.js";
import { parseScenario, type LoadedScenario } from "../scenario/load.js";
import type { RunConfig } from "../scenario/resolve.js";
import { EventStore } from "../event-store/event-store.js";
import { ExitCode, UsageError } from "./exit-codes.js";

export interface HostReport {
  name: string;
  uri: string;
  answering: boolean;
  error: string | null;
  capacity: HostCapacity | null;
  domains: OwnedDomain[];
}

/** `testbed hosts`: what the adapter sees on each host of the inventory. Exit 1 if a host does not answer. */
export async function hostsCommand(file: string, options: { json: boolean }): Promise<number> {
  const inventory = loadInventoryFile(file);
  const virsh = new Virsh();
  try {
    const reports = await Promise.all(
      inventory.hosts.map(async (config): Promise<HostReport> => {
        const host = new LibvirtHost(config, inventory, virsh);
        try {
          const capacity = await host.discover();
          const domains = await host.ownedDomains();
          return { name: host.name, uri: host.uri, answering: true, error: null, capacity, domains };
        } catch (error) {
          return { name: host.name, uri: host.uri, answering: false, error: (error as Error).message, capacity: null, domains: [] };
        }
      }),
    );
    if (options.json) process.stdout.write(`${JSON.stringify({ inventory: file, hosts: reports }, null, 2)}\n`);
    else {
      for (const r of reports) {
        if (!r.answering) {
          process.stdout.write(`${r.name}  NOT ANSWERING  ${r.uri}\n  ${r.error}\n`);
          continue;
        }
        const c = r.capacity!;
        const gib = (kib: number) => (kib / 1024 ** 2).toFixed(2);
        process.stdout.write(
          `${r.name}  up  ${c.cpus} CPUs, ${gib(c.memoryKiB)} GiB (${gib(c.freeMemoryKiB)} free), domain types ${c.domainTypes.join("/")}, host uuid ${c.hostUuid ?? "?"}\n  ${r.uri}\n`,
        );
        for (const d of r.domains) process.stdout.write(`  ${d.name}  ${d.state}  vm ${d.vm}  run ${d.run}\n`);
      }
    }
    return reports.every((r) => r.answering) ? ExitCode.ok : ExitCode.failed;
  } finally {
    virsh.close();
  }
}

export interface LiveCommandOptions {
  db: string;
  serviceModel: ServiceModel;
  seed: number;
  durationSeconds?: number;
  keep: boolean;
  dryRun: boolean;
  trace: boolean;
  json: boolean;
}

/** `testbed live`: runs a scenario on the inventory's hosts and records it. */
/** What a live run of the scenario needs of the inventory (hosts it names, OSDs for disk rows, the disks' homes, Ceph answering); a usage error otherwise. */
export async function checkLiveRun(inventoryFile: string, inventory: Inventory, loaded: LoadedScenario, serviceModel: ServiceModel): Promise<void> {
  // The hosts the scenario names (failures to inject, maintenance windows) must be hosts of the inventory.
  const named = [
    ...(loaded.scenario.failures?.trace ?? []).filter((r) => r.kind === "crash" || r.kind === "hardware").map((r) => [`failures.trace target`, r.target]),
    ...(loaded.scenario.maintenance?.windows ?? []).map((w) => [`maintenance.windows host`, w.host]),
  ];
  for (const [what, host] of named) {
    if (!inventory.hosts.some((h) => h.name === host)) throw new UsageError(`${loaded.file}: ${what} ${JSON.stringify(host)} is not a host of ${inventoryFile} (${inventory.hosts.map((h) => h.name).join(", ")})`);
  }
  // Disk rows stop the OSD that stands for the disk: the inventory must say which one.
  for (const row of (loaded.scenario.failures?.trace ?? []).filter((r) => r.kind === "disk")) {
    const [host, disk] = row.target.split("/");
    const osd = inventory.ceph?.osds.find((o) => o.host === host && o.disk === Number(disk ?? 0));
    if (!osd?.stop || !osd.start) throw new UsageError(`${loaded.file}: failures.trace target ${JSON.stringify(row.target)} (kind disk): expected a disk with an OSD and its stop and start commands in ${inventoryFile} (storage.ceph.osds), got ${osd ? "an OSD without them" : "none"}`);
  }
  // With the real guest, each model needs its disks' home: Ceph for persistent-ha (and it must answer), the hosts' directories for the others.
  if (inventory.guest) {
    if (serviceModel === "persistent-ha") {
      if (!inventory.ceph) throw new UsageError(`${inventoryFile}: persistent-ha VMs boot the guest from an RBD image, and the inventory has no storage.ceph section`);
      await new CephVolumes(inventory.ceph, execRunner(false), inventory.commandTimeoutMs).check();
    } else {
      const without = inventory.hosts.filter((h) => h.dir === null).map((h) => h.name);
      if (without.length > 0) throw new UsageError(`${inventoryFile}: ${serviceModel} VMs keep their disk in their host's directory, and ${without.join(", ")} ha${without.length > 1 ? "ve" : "s"} no dir`);
    }
  }
}

export async function liveCommand(inventoryFile: string, loaded: LoadedScenario, options: LiveCommandOptions): Promise<number> {
  const inventory = loadInventoryFile(inventoryFile);
  await checkLiveRun(inventoryFile, inventory, loaded, options.serviceModel);
  return withRun(options, (store, virsh, signal) =>
    runLive({
      inventory,
      config: loaded.config,
      meta: {
        scenarioName: loaded.scenario.name,
        scenarioFile: loaded.file,
        scenarioYaml: `${loaded.text.replace(/\n?$/, "\n")}# --- inventory ${inventoryFile}\n${commented(readFileSync(inventoryFile, "utf8"))}`,
        scenarioJson: loaded.canonical,
        scenarioHash: loaded.hash,
        seed: options.seed,
        packageVersion: "",
        gitCommit: null,
      },
      serviceModel: options.serviceModel,
      seed: options.seed,
      store,
      provenance: currentProvenance(),
      virsh,
      ...(options.durationSeconds !== undefined ? { durationMs: options.durationSeconds * 1000 } : {}),
      keep: options.keep,
      signal,
    }),
  );
}

/**
 * `testbed live --resume FILE <inventory>`: takes over the last unfinished live run of FILE (or
 * `runId`) whose controller died, with the scenario stored with it, on the inventory's hosts.
 */
export async function resumeCommand(inventoryFile: string, options: { db: string; runId?: number; keep: boolean; trace: boolean; json: boolean }): Promise<number> {
  if (!existsSync(options.db)) throw new UsageError(`${options.db}: no such results database to resume a run from`);
  const inventory = loadInventoryFile(inventoryFile);
  const store = EventStore.open(options.db);
  let run;
  let config: RunConfig;
  try {
    run = runToResume(store, options.db, options.runId);
    const loaded = parseScenario(run.scenarioFile ?? `${options.db} run ${run.id}`, run.scenarioYaml);
    if (loaded.hash !== run.scenarioHash) throw new ResumeRefused(`${options.db}: run ${run.id}'s stored scenario no longer resolves to the scenario it ran (hash ${loaded.hash}, stored ${run.scenarioHash}): this vm-testbed reads it differently, resume it with the version that started it`);
    config = loaded.config;
  } catch (error) {
    if (error instanceof ResumeRefused) throw new UsageError(error.message);
    throw error;
  } finally {
    store.close();
  }
  const resumed = run;
  return withRun({ ...options, dryRun: false }, (store, virsh, signal) =>
    resumeLive({ inventory, store, run: resumed, config, provenance: currentProvenance(), virsh, keep: options.keep, signal }),
  );
}

export interface DrainCommandOptions {
  db: string;
  timeoutSeconds: number;
  dryRun: boolean;
  trace: boolean;
  json: boolean;
}

/**
 * `testbed drain`: takes the running domains of ours on the inventory's hosts into a new run,
 * live-migrates everything off `host` with the controller's drain, and records it. The VMs stay
 * where they were moved.
 */
export async function drainCommand(inventoryFile: string, host: string, options: DrainCommandOptions): Promise<number> {
  const inventory = loadInventoryFile(inventoryFile);
  inventoryHost(inventory, host);
  if (options.dryRun) return drainPlanCommand(inventory, host, options);
  const text = readFileSync(inventoryFile, "utf8");
  const scenarioJson = JSON.stringify({ drain: host, inventory: text });
  return withRun({ ...options, keep: true }, (store, virsh, signal) =>
    runLive({
      inventory,
      config: drainScenario(),
      meta: {
        scenarioName: `drain-${host}`,
        scenarioFile: inventoryFile,
        scenarioYaml: `# testbed drain ${inventoryFile} ${host}\n${text}`,
        scenarioJson,
        scenarioHash: createHash("sha256").update(scenarioJson).digest("hex"),
        seed: 0,
        packageVersion: "",
        gitCommit: null,
      },
      serviceModel: "persistent-ha",
      seed: 0,
      store,
      provenance: currentProvenance(),
      virsh,
      durationMs: options.timeoutSeconds * 1000,
      keep: true,
      adopt: true,
      drain: { hosts: [host], atMs: 0, endWhenDrained: true },
      signal,
    }),
  );
}

/** `drain --dry-run`: prints the drain's plan (moves), changes nothing and records nothing. */
async function drainPlanCommand(inventory: Inventory, host: string, options: DrainCommandOptions): Promise<number> {
  const plan = await planLiveDrain({ inventory, virsh: new Virsh({ dryRun: true, trace: options.trace }), host, config: drainScenario() });
  if (options.json) process.stdout.write(`${JSON.stringify({ host, ...plan }, null, 2)}\n`);
  else {
    const lines = [`drain plan for ${host} (dry run: nothing changed, nothing recorded): ${plan.moves.length} move(s)`];
    for (const move of plan.moves) lines.push(`  ${move.vm}: ${move.from} → ${move.to}`);
    if (plan.nowhereToGo.length > 0) lines.push(`  nowhere to go (would stay on ${host}): ${plan.nowhereToGo.join(", ")}`);
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return ExitCode.ok;
}

async function withRun(
  options: { db: string; dryRun: boolean; trace: boolean; json: boolean; keep: boolean },
  body: (store: EventStore, virsh: Virsh, signal: AbortSignal) => Promise<LiveRunResult>,
): Promise<number> {
  // A dry run changes nothing, so it records nothing either: its log goes to a database in memory.
  const store = EventStore.open(options.dryRun ? ":memory:" : options.db);
  const virsh = new Virsh({ dryRun: options.dryRun, trace: options.trace });
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await body(store, virsh, abort.signal);
    if (options.json) process.stdout.write(`${JSON.stringify({ db: options.dryRun ? null : options.db, ...result }, null, 2)}\n`);
    else {
      const m = result.metrics;
      process.stdout.write(
        `${options.dryRun ? "dry run (nothing recorded)" : `run ${result.runId} recorded in ${options.db}`}: ${result.eventCount} events over ${(result.finalT / 1000).toFixed(1)} s; availability ${m.availability === null ? "–" : m.availability.toFixed(4)}; ${result.problems.length} problem(s)\n`,
      );
      for (const p of result.problems) process.stdout.write(`  t=${p.t} ms: ${p.message}\n`);
    }
    if (result.interrupted) return ExitCode.interrupted;
    return result.problems.length === 0 ? ExitCode.ok : ExitCode.failed;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    store.close();
  }
}

function commented(text: string): string {
  return text
    .split("\n")
    .map((l) => `# ${l}`)
    .join("\n");
}

/** The settings a drain runs under: persistent-ha, first fit, no fencing (nothing fails on purpose). */
function drainScenario(): RunConfig {
  return parseScenario(
    "(drain)",
    "name: drain\ndurationHours: 1\nserviceModels: [persistent-ha]\ncluster: { hosts: [{ name: h, vcpus: 1, memoryGiB: 1, diskGiB: 1 }] }\nha: { heartbeatTimeoutSeconds: 5, fencing: false }\n",
  ).config;
}
