import { Controller } from "../../controller/controller.js";
import { firstFitAfter, planDrain, type DrainPlan } from "../../controller/drain.js";
import { emptyMemory, remember } from "../../controller/memory.js";
import type { EventStore, RunMeta } from "../../event-store/event-store.js";
import { distribution } from "../../kernel/distributions.js";
import { Random } from "../../kernel/random.js";
import { hoursToMs, MS_PER_MINUTE } from "../../kernel/time.js";
import type { RunMetrics } from "../../metrics/run-metrics.js";
import { EventLog } from "../../model/event-log.js";
import type { DomainEvent, ServiceModel } from "../../model/events.js";
import type { Provenance } from "../../recording/provenance.js";
import { Recorder } from "../../recording/recorder.js";
import type { RunConfig } from "../../scenario/resolve.js";
import { fleetRequests } from "../../workload/fleet.js";
import { setLongTimeout } from "./wall-clock.js";
import { LibvirtInfrastructure, type AdapterProblem } from "./infrastructure.js";
import type { Inventory } from "./inventory.js";
import type { Virsh } from "./virsh.js";

export interface LiveRunOptions {
  inventory: Inventory;
  /** The scenario, resolved. */
  config: RunConfig;
  meta: Omit<RunMeta, "serviceModel" | "eventsStored">;
  serviceModel: ServiceModel;
  seed: number;
  store: EventStore;
  provenance: Provenance;
  virsh: Virsh;
  /** How long the run lasts on the wall clock (default: the scenario's durationHours). */
  durationMs?: number;
  /** Leave the VMs running at the end (default: destroy and undefine the run's domains). */
  keep?: boolean;
  /** Take the domains of ours already running on the hosts into the run (`drain` on VMs a `live --keep` left). */
  adopt?: boolean;
  /** Hosts to drain (live-migrate everything off) `atMs` after the start; `endWhenDrained`: the run ends when they are. */
  drain?: { hosts: string[]; atMs: number; endWhenDrained?: boolean };
  report?: (line: string) => void;
  signal?: AbortSignal;
  /** Sees every event as it is emitted (tests, progress). */
  observe?: (event: DomainEvent) => void;
  /** Called once hosts, monitors and the controller are running (tests inject failures from here). */
  onStarted?: (context: { adapter: LibvirtInfrastructure; controller: Controller; log: EventLog }) => void;
}

export interface LiveRunResult {
  runId: number;
  eventCount: number;
  finalT: number;
  stateHash: string;
  logHash: string | null;
  metrics: RunMetrics;
  problems: AdapterProblem[];
  interrupted: boolean;
}

/**
 * A run of a scenario on the inventory's real hosts, with the same controller as the simulation:
 *
 * 1. `runStarted`; each host discovered and added (`hostAdded`); monitors started.
 * 2. The workload: the fleet (`pet-0001` ..., sizes drawn from the scenario's mix with the same
 *    seeded stream as the simulation, so both runs ask for the same VMs) at t = 0, and the
 *    requests of `workload.trace` at their times (hours of wall-clock time), terminated after
 *    their lifetimes. (Poisson arrivals are a simulation thing and are not replayed here.)
 * 3. The scenario's maintenance (windows, rolling upgrade) through the controller's `maintain`:
 *    drained by live migration, switched off and on with the hosts' fence commands.
 * 4. `failures.trace` host rows (crash, hardware): at the row's time the host's fence command
 *    cuts it *without* telling the world — the monitor has to notice — and after its duration
 *    the fence command brings it back. Disk rows (`host/disk`) stop the OSD that stands for that
 *    disk (`storage.ceph.osds`) and start it after the duration; the Ceph poll records what follows.
 * 5. A VM lost with its host (an ephemeral instance) is relaunched by its user after the
 *    scenario's `users.replacementDelayHours`, as in the simulation.
 * 6. After the duration: the adapter stops, `runEnded` closes the log, the run is completed in
 *    the store with its hashes and metrics, and the run's domains are removed unless `keep`.
 */
export async function runLive(options: LiveRunOptions): Promise<LiveRunResult> {
  const { config, inventory } = options;
  const report = options.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const clockStartMs = Date.now();
  const log = wallClockLog();
  const runTag = `${options.meta.scenarioName}-${options.provenance.now().replace(/[^0-9]/g, "").slice(0, 14)}`;
  const boot = config.provisioning.bootSeconds;
  const bootMs = Math.round(boot.type === "deterministic" ? boot.value * 1000 : 1000);
  const adapter = new LibvirtInfrastructure({ inventory, virsh: options.virsh, log, runTag, bootMs, report, guestTimeoutMs: config.storage.guestTimeoutMs });
  const recorder = new Recorder(log, {
    store: options.store,
    meta: { ...options.meta, serviceModel: options.serviceModel },
    provenance: options.provenance,
    flushWhenSettled: true,
  });
  // What `live --resume` needs to take the run over if this process dies (issue 19).
  const durationMs = options.durationMs ?? hoursToMs(config.durationHours);
  options.store.recordLiveRun(recorder.runId!, { runTag, durationMs, clockStartMs });
  const controller = new Controller(adapter, config.controller);
  log.subscribe((event) => controller.observe(event));
  // While running domains are adopted into the world, the controller only watches (they are placed already).
  let adopting = false;
  log.onEvent((event) => adopting || controller.react(event));
  if (options.observe) log.subscribe(options.observe);
  // As in the simulation: the user of a lost VM launches a replacement after a while (wall clock here).
  const users = Random.fromSeed(options.seed).fork("users");
  const replacementDelay = distribution(config.replacementDelayHours);
  log.onEvent((event) => {
    if (event.type === "vmLost") adapter.after(hoursToMs(replacementDelay.sample(users)), () => controller.relaunch(event.vm));
  });

  const unfenced = inventory.hosts.filter((h) => h.fence === null).map((h) => h.name);
  if (config.controller.fencing !== false && options.serviceModel === "persistent-ha" && unfenced.length > 0) {
    report(`warning: ha.fencing is on but ${unfenced.join(", ")} ha${unfenced.length > 1 ? "ve" : "s"} no fence command: if one is cut off (isolated), its VMs are not restarted elsewhere`);
  }
  let interrupted = false;
  try {
    log.emit({ type: "runStarted", serviceModel: options.serviceModel, prices: config.prices });
    await adapter.addHosts();
    if (options.adopt) {
      adopting = true;
      const adopted = await adapter.adoptRunningDomains().finally(() => (adopting = false));
      report(`adopted ${adopted.length} running VM(s): ${adopted.join(", ") || "none"}`);
    }
    adapter.startMonitors();
    options.onStarted?.({ adapter, controller, log });
    startLiveWorkload(config, options.seed, log, adapter);
    startLiveFailures(config, adapter, report);
    startLiveMaintenance(config, controller, adapter);
    const stop = new AbortController();
    options.signal?.addEventListener("abort", () => stop.abort(), { once: true });
    if (options.drain) {
      const { hosts, atMs, endWhenDrained } = options.drain;
      let left = hosts.length;
      adapter.after(atMs, () => {
        for (const host of hosts) {
          drainHost(controller, host, (remaining) => {
            report(`${host}: drained${remaining > 0 ? `, ${remaining} VM(s) could not be moved` : ""}`);
            if (remaining > 0) adapter.problems.push({ t: log.now, message: `${host}: ${remaining} VM(s) could not be moved off` });
            if (--left === 0 && endWhenDrained) stop.abort();
          });
        }
      });
    }
    interrupted = (await waitFor(durationMs, stop.signal)) && options.signal?.aborted === true;
    return { runId: recorder.runId!, ...(await endLiveRun(adapter, log, recorder)), problems: adapter.problems, interrupted };
  } catch (error) {
    return await failLiveRun(adapter, recorder, error);
  } finally {
    await releaseHosts(adapter, options.keep === true, report);
  }
}

/** The end of a live run (started or resumed): the hosts' commands finished, `runEnded` recorded, the run completed. */
export async function endLiveRun(adapter: LibvirtInfrastructure, log: EventLog, recorder: Recorder): Promise<ReturnType<Recorder["complete"]>> {
  await adapter.quiesce();
  log.emit({ type: "runEnded" });
  return recorder.complete();
}

/** A live run that failed: its commands let finish, the run stored as failed, the error passed on. */
export async function failLiveRun(adapter: LibvirtInfrastructure, recorder: Recorder, error: unknown): Promise<never> {
  await adapter.quiesce().catch(() => {});
  recorder.abandon("failed", (error as Error).message);
  throw error;
}

/** After a live run, whatever its end: the run's domains removed unless kept, the monitors stopped. */
export async function releaseHosts(adapter: LibvirtInfrastructure, keep: boolean, report: (line: string) => void): Promise<void> {
  if (!keep) await adapter.removeAll().catch((error: Error) => report(`cleaning up: ${error.message}`));
  adapter.dispose();
}

/**
 * `drain --dry-run`: the plan of a drain of `host` on the hosts as they are — the running domains
 * of ours taken into a world (as `drain` adopts them, in a log that is not recorded), and the
 * drain planned whole (`planDrain`, first fit counting the moves before: what the drain would do
 * if nothing else changed meanwhile). Only read-only commands run (`virsh` must be a dry run).
 */
export async function planLiveDrain(options: { inventory: Inventory; virsh: Virsh; host: string; config: RunConfig; report?: (line: string) => void }): Promise<DrainPlan> {
  if (!options.virsh.dryRun) throw new Error("planLiveDrain: expected a dry-run virsh");
  const report = options.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = wallClockLog();
  const memory = emptyMemory();
  log.subscribe((event) => remember(memory, log.world, event));
  const adapter = new LibvirtInfrastructure({ inventory: options.inventory, virsh: options.virsh, log, runTag: "drain-plan", bootMs: 1000, report });
  try {
    log.emit({ type: "runStarted", serviceModel: "persistent-ha", prices: options.config.prices });
    await adapter.addHosts();
    await adapter.adoptRunningDomains();
    const whole = { maxConcurrent: Infinity, maxMoves: Infinity, skip: new Set<string>() };
    return planDrain(log.world, memory, options.host, whole, (vm, planned) => firstFitAfter(log.world, vm, planned));
  } finally {
    adapter.dispose();
  }
}

/** Live-migrates everything off a host with the controller's drain. */
export function drainHost(controller: Controller, host: string, onDrained: (remaining: number) => void): void {
  controller.drain(host, onDrained);
}

/** The scenario's maintenance windows and rolling upgrade, at wall-clock times (as `scheduleMaintenance` in the simulation). */
function startLiveMaintenance(config: RunConfig, controller: Controller, adapter: LibvirtInfrastructure): void {
  const rolling = config.maintenance.rollingUpgrade;
  if (rolling) {
    const hosts = [...adapter.hosts.keys()].slice(0, rolling.hostCount ?? undefined);
    const drainTimeoutMs = Math.round(rolling.drainTimeoutMinutes * MS_PER_MINUTE);
    adapter.after(hoursToMs(rolling.startHours), () => {
      for (const host of hosts) controller.maintain(host, hoursToMs(rolling.windowHours), drainTimeoutMs);
    });
  }
  for (const window of config.maintenance.windows) {
    adapter.after(hoursToMs(window.atHours), () => controller.maintain(window.host, hoursToMs(window.hours), Math.round(window.drainTimeoutMinutes * MS_PER_MINUTE)));
  }
}

/**
 * The workload. A resumed run (`resumed`: what happened up to `doneUntilMs`, the log's time
 * `nowMs`) asks only for the trace rows still to come (overdue ones at once); its fleet and the
 * lifetimes of VMs requested before are not scheduled again.
 */
export function startLiveWorkload(config: RunConfig, seed: number, log: EventLog, adapter: LibvirtInfrastructure, resumed?: { doneUntilMs: number; nowMs: number }): void {
  const spec = config.workload;
  if (!spec) return;
  for (const row of spec.trace ?? []) {
    if (resumed && hoursToMs(row.timeHours) <= resumed.doneUntilMs) continue;
    adapter.after(Math.max(0, hoursToMs(row.timeHours) - (resumed?.nowMs ?? 0)), () => {
      const { vm, vcpus, memoryGiB, diskGiB, lifetimeHours } = row;
      if (lifetimeHours !== null) {
        adapter.after(hoursToMs(lifetimeHours), () => {
          const wanted = log.world.vms.get(vm);
          if (wanted) log.emit({ type: "vmTerminated", vm, volume: wanted.volume });
        });
      }
      log.emit({ type: "vmRequested", vm, vcpus, memoryGiB, diskGiB, lifetimeHours });
    });
  }
  // The same fleet as the simulation draws for this seed (its `workload/fleet` stream).
  if (resumed) return;
  for (const request of fleetRequests(spec, Random.fromSeed(seed).fork("workload").fork("fleet"))) log.emit(request);
}

/** The event log of a run on real hosts: stamped with wall-clock ms since it was made, plus `offsetMs` (a resumed run: its time so far). */
export function wallClockLog(offsetMs = 0): EventLog {
  const started = performance.now();
  return new EventLog(() => Math.round(offsetMs + performance.now() - started));
}

/**
 * `failures.trace` host rows injected at their times. A resumed run (`resumed`: what happened up to
 * `doneUntilMs`, the log's time `nowMs`): a row begun before only has its repair scheduled (at
 * once if overdue), unless that was done too; later rows as usual, overdue ones at once.
 */
export function startLiveFailures(config: RunConfig, adapter: LibvirtInfrastructure, report: (line: string) => void, resumed?: { doneUntilMs: number; nowMs: number }): void {
  const nowMs = resumed?.nowMs ?? 0;
  for (const row of config.failures.trace) {
    if (row.kind !== "crash" && row.kind !== "hardware" && row.kind !== "disk") {
      report(`failures.trace: ${row.kind} failures are not injected on real hosts; row at ${row.timeHours} h skipped`);
      continue;
    }
    // A disk row stops and starts the OSD that stands for the disk; a host row fences and repairs the host.
    const begin = () => (row.kind === "disk" ? adapter.injectOsd(row.target, "stop") : adapter.injectFailure(row.target));
    const end = () => (row.kind === "disk" ? adapter.injectOsd(row.target, "start") : adapter.injectRepair(row.target));
    const what = row.kind === "disk" ? `a failure of disk ${row.target} (its OSD stopped)` : `a ${row.kind} of ${row.target}`;
    if (resumed && hoursToMs(row.timeHours) <= resumed.doneUntilMs) {
      if (hoursToMs(row.timeHours + row.durationHours) <= resumed.doneUntilMs) continue;
      adapter.after(Math.max(0, hoursToMs(row.timeHours + row.durationHours) - nowMs), () => {
        report(`ending ${what} (begun before the run was resumed)`);
        void end().catch((e: Error) => report(e.message));
      });
      continue;
    }
    adapter.after(Math.max(0, hoursToMs(row.timeHours) - nowMs), () => {
      report(`injecting ${what} for ${row.durationHours} h`);
      begin()
        .then(() => adapter.after(hoursToMs(row.durationHours), () => void end().catch((e: Error) => report(e.message))))
        .catch((e: Error) => report(e.message));
    });
  }
}

/** Resolves after `ms`, or when the signal aborts (then with true). */
export function waitFor(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const timer = setLongTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      timer.cancel();
      resolve(true);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
