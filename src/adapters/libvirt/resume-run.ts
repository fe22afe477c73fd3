import { Controller } from "../../controller/controller.js";
import { reconcile } from "../../controller/reconcile.js";
import { decodeEvent } from "../../event-store/event-codec.js";
import { processAlive, type EventStore, type RunRecord } from "../../event-store/event-store.js";
import { distribution } from "../../kernel/distributions.js";
import { Random } from "../../kernel/random.js";
import { hoursToMs, MS_PER_MINUTE } from "../../kernel/time.js";
import type { DomainEvent } from "../../model/events.js";
import type { Provenance } from "../../recording/provenance.js";
import { Recorder } from "../../recording/recorder.js";
import type { RunConfig } from "../../scenario/resolve.js";
import { LibvirtInfrastructure } from "./infrastructure.js";
import type { Inventory } from "./inventory.js";
import { endLiveRun, failLiveRun, releaseHosts, startLiveFailures, startLiveWorkload, waitFor, wallClockLog, type LiveRunResult } from "./live-run.js";
import type { Virsh } from "./virsh.js";

export interface ResumeOptions {
  inventory: Inventory;
  store: EventStore;
  /** The stored run to take over: `running`, its owner dead, with its live facts (`liveRunOf`). */
  run: RunRecord;
  /** Its scenario as stored, resolved. */
  config: RunConfig;
  provenance: Provenance;
  virsh: Virsh;
  keep?: boolean;
  report?: (line: string) => void;
  signal?: AbortSignal;
  observe?: (event: DomainEvent) => void;
}

/**
 * Takes over a live run whose controller died (`testbed live --resume`, issue 19):
 *
 * 1. The run's log is restored into a new event log — the world, the controller's memory (a
 *    projection of the log), the metrics and the log hash and digest chain see every stored event
 *    again; nothing is written again. Its clock goes on from the run's start on the wall clock:
 *    the time after the gap is the last stored time plus the real gap.
 * 2. The adapter, with the run's tag, asks each host that answers for the run's domains;
 *    `reconcile` turns the difference into events (recorded) and stale domains (destroyed).
 * 3. The controller re-arms what its memory says was pending (`Controller.resume`: heartbeat
 *    timeouts, fencing, restarts); the monitors start (a host that died or came back meanwhile is
 *    reported by its monitor); the trace's failures and requests still to come, and the repairs of
 *    hosts it had failed, are scheduled; users' relaunches of lost VMs not yet relaunched are
 *    scheduled at the times the same `users` stream gives them; maintenance not finished is taken
 *    up again (`resumeMaintenance`). Before the hosts are asked, a live migration the dead
 *    controller started is left to end on its own (`virsh migrate` goes on without it).
 * 4. The run goes on to its end and is completed in the store as any live run.
 */
export async function resumeLive(options: ResumeOptions): Promise<LiveRunResult> {
  const { config, inventory, store, run } = options;
  const report = options.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const live = store.liveRunOf(run.id);
  if (live === undefined) throw new Error(`run ${run.id} has no live-run record (a simulated run, or a live run recorded before store schema 7): it cannot be resumed`);
  const log = wallClockLog(Date.now() - live.clockStartMs);
  const boot = config.provisioning.bootSeconds;
  const bootMs = Math.round(boot.type === "deterministic" ? boot.value * 1000 : 1000);
  const adapter = new LibvirtInfrastructure({ inventory, virsh: options.virsh, log, runTag: live.runTag, bootMs, report });
  const recorder = new Recorder(log, { store, provenance: options.provenance, flushWhenSettled: true, resumeRunId: run.id });
  const controller = new Controller(adapter, config.controller);
  log.subscribe((event) => controller.observe(event));
  let restoring = true;
  log.onEvent((event) => controller.react(event));
  if (options.observe) log.subscribe(options.observe);
  // Users relaunch lost VMs after a delay drawn from the `users` stream, one draw per `vmLost` in
  // log order, as the dead controller's process drew them: the same delays again.
  const users = Random.fromSeed(run.seed).fork("users");
  const replacementDelay = distribution(config.replacementDelayHours);
  const relaunchAt = new Map<string, number>();
  log.subscribe((event) => {
    if (event.type !== "vmLost") return;
    const delayMs = hoursToMs(replacementDelay.sample(users));
    if (restoring) relaunchAt.set(event.vm, event.t + delayMs);
    else adapter.after(delayMs, () => controller.relaunch(event.vm));
  });

  const finishedMaintenance = new Map<string, number>();
  log.subscribe((event) => {
    if (event.type === "maintenanceFinished") finishedMaintenance.set(event.host, (finishedMaintenance.get(event.host) ?? 0) + 1);
  });
  for (const page of store.readEvents(run.id, { digests: false })) {
    for (let i = 0; i < page.seq.length; i++) log.restore(decodeEvent(page.seq[i]!, page.t[i]!, page.type[i]!, page.payload[i]!));
  }
  restoring = false;
  const doneUntilMs = log.world.t;
  if (log.world.lastSeq === 0) throw new Error(`run ${run.id} has no stored events: nothing to resume from`);
  store.takeOverRun(run.id);
  const nowMs = log.now;
  report(`resuming run ${run.id} (${live.runTag}) after ${log.world.lastSeq} events: its last at ${(doneUntilMs / 1000).toFixed(1)} s, now ${(nowMs / 1000).toFixed(1)} s`);

  let interrupted = false;
  try {
    await adapter.migrationsSettled();
    const reconciliation = reconcile(log.world, await adapter.hostReports());
    for (const body of reconciliation.events) log.emit(body);
    for (const { host, vm } of reconciliation.stale) adapter.removeStale(host, vm);
    report(`reconciled: ${reconciliation.events.length} event(s) recorded, ${reconciliation.stale.length} stale domain(s) removed`);
    controller.resume(log.now);
    for (const [vm, at] of [...relaunchAt].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (log.world.vms.get(vm)?.state === "pending") adapter.after(Math.max(0, at - nowMs), () => controller.relaunch(vm));
    }
    adapter.startMonitors();
    startLiveWorkload(config, run.seed, log, adapter, { doneUntilMs, nowMs });
    startLiveFailures(config, adapter, report, { doneUntilMs, nowMs });
    resumeMaintenance(config, controller, adapter, finishedMaintenance, { doneUntilMs, nowMs });
    interrupted = await waitFor(Math.max(0, live.durationMs - log.now), options.signal);
    return { runId: run.id, ...(await endLiveRun(adapter, log, recorder)), problems: adapter.problems, interrupted };
  } catch (error) {
    return await failLiveRun(adapter, recorder, error);
  } finally {
    await releaseHosts(adapter, options.keep === true, report);
  }
}

/**
 * The scenario's maintenance in a resumed run: a window (or rolling-upgrade host) still to come is
 * scheduled as usual; one begun before the controller died and not finished in the log (its queue
 * and phase died with it) is taken up again now, in order — drained again from where the world is,
 * then switched off for its whole window (the part of the window already spent is not deducted).
 */
function resumeMaintenance(config: RunConfig, controller: Controller, adapter: LibvirtInfrastructure, finished: Map<string, number>, resumed: { doneUntilMs: number; nowMs: number }): void {
  const jobs: { atMs: number; host: string; windowMs: number; drainTimeoutMs: number }[] = [];
  const rolling = config.maintenance.rollingUpgrade;
  if (rolling) {
    for (const host of [...adapter.hosts.keys()].slice(0, rolling.hostCount ?? undefined)) {
      jobs.push({ atMs: hoursToMs(rolling.startHours), host, windowMs: hoursToMs(rolling.windowHours), drainTimeoutMs: Math.round(rolling.drainTimeoutMinutes * MS_PER_MINUTE) });
    }
  }
  for (const w of config.maintenance.windows) jobs.push({ atMs: hoursToMs(w.atHours), host: w.host, windowMs: hoursToMs(w.hours), drainTimeoutMs: Math.round(w.drainTimeoutMinutes * MS_PER_MINUTE) });
  jobs.sort((a, b) => a.atMs - b.atMs);
  const done = new Map(finished);
  for (const job of jobs) {
    const maintain = () => controller.maintain(job.host, job.windowMs, job.drainTimeoutMs);
    if (job.atMs > resumed.doneUntilMs) adapter.after(Math.max(0, job.atMs - resumed.nowMs), maintain);
    else if ((done.get(job.host) ?? 0) > 0) done.set(job.host, done.get(job.host)! - 1);
    else maintain();
  }
}

/** The run of a database that `--resume` takes over: `runId` if given, else the last unfinished live run; refused (with the reason) if it cannot be. */
export function runToResume(store: EventStore, file: string, runId?: number): RunRecord {
  const candidates = store.listRuns().filter((r) => store.liveRunOf(r.id) !== undefined);
  const run = runId !== undefined ? store.getRun(runId) : [...candidates].reverse().find((r) => r.status === "running");
  if (run === undefined) throw new ResumeRefused(runId !== undefined ? `${file}: no run ${runId}` : `${file}: no unfinished live run to resume (${candidates.length} live run(s), none running)`);
  if (store.liveRunOf(run.id) === undefined) throw new ResumeRefused(`${file}: run ${run.id} is not a live run recorded by this version (no live_runs row): it cannot be resumed`);
  if (run.status !== "running") throw new ResumeRefused(`${file}: run ${run.id} is ${run.status}: only an unfinished run (status running, its process dead) can be resumed`);
  if (run.pid !== null && run.pid !== process.pid && processAlive(run.pid)) throw new ResumeRefused(`${file}: run ${run.id} is still run by process ${run.pid}: stop it first (a controller killed with SIGKILL leaves it to resume)`);
  return run;
}

export class ResumeRefused extends Error {}
