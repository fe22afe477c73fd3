import { SingleBar } from "cli-progress";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { msToHours } from "../kernel/time.js";
import type { ServiceModel } from "../model/events.js";
import type { LoadedScenario } from "../scenario/load.js";
import { currentProvenance } from "../recording/provenance.js";
import { runScenario, RunInterrupted, type RunResult } from "../adapters/sim/run-scenario.js";
import { EventStore } from "../event-store/event-store.js";
import { ExitCode } from "./exit-codes.js";

export interface RunCommandOptions {
  seed: number;
  serviceModels: ServiceModel[];
  db: string;
  storeEvents: boolean;
  /** Hash the event log even when it is not stored (`--log-hash`). */
  hashLog: boolean;
  json: boolean;
  progress: boolean;
  check: boolean;
  /** `--max-events`: the event budget of each run. */
  maxEvents?: number;
  /** `--max-db-mb`: the database may not grow beyond this. */
  maxDatabaseMB?: number;
}

/**
 * `testbed run`: one scenario and one seed, once per service model (all on the same failures and
 * workload), each recorded as a run in `db`.
 */
export async function runCommand(loaded: LoadedScenario, options: RunCommandOptions): Promise<number> {
  const store = EventStore.open(options.db, options.maxDatabaseMB);
  const abort = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) process.exit(ExitCode.interrupted); // a second Ctrl-C: stop now (the run stays incomplete)
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const bar = options.progress && process.stderr.isTTY ? new SingleBar({
    format: "{bar} {percentage}% | {model} | {hours} simulated hours | {events} events | ETA {eta_formatted}",
    stream: process.stderr,
    hideCursor: true,
  }) : null;
  const hours = Math.round(loaded.scenario.durationHours);
  const totalHours = hours * options.serviceModels.length;
  bar?.start(totalHours, 0, { hours: 0, events: 0, model: "" });
  try {
    const results: RunResult[] = [];
    for (const [i, serviceModel] of options.serviceModels.entries()) {
      // A Ctrl-C during runs too short to look at the signal: the remaining models do not start.
      await yieldToEventLoop();
      if (abort.signal.aborted) throw new RunInterrupted(`stopped before ${serviceModel} (${results.length} of ${options.serviceModels.length} runs complete)`);
      const result = await runScenario(loaded, {
        seed: options.seed,
        serviceModel,
        store,
        storeEvents: options.storeEvents,
        hashLog: options.hashLog,
        check: options.check,
        ...(options.maxEvents !== undefined ? { maxEvents: options.maxEvents } : {}),
        provenance: currentProvenance(),
        signal: abort.signal,
        onProgress: ({ t, events }) => bar?.update(i * hours + Math.round(msToHours(t)), { hours: Math.round(msToHours(t)), events, model: serviceModel }),
      });
      results.push(result);
      if (options.progress && !options.json && !bar) process.stderr.write(`run ${result.runId}: ${serviceModel} done (${result.eventCount} events)\n`);
    }
    bar?.stop();
    if (options.json) process.stdout.write(`${JSON.stringify({ db: options.db, runs: results }, null, 2)}\n`);
    else process.stdout.write(describeRuns(loaded.scenario.name, options.seed, results, options.db));
    return ExitCode.ok;
  } catch (error) {
    bar?.stop();
    if (error instanceof RunInterrupted) {
      process.stderr.write(`run ${error.message}; recorded as interrupted in ${options.db}\n`);
      return ExitCode.interrupted;
    }
    process.stderr.write(`run failed: ${(error as Error).message}\n`);
    return ExitCode.failed;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    store.close();
  }
}

const fixed = (x: number | null, digits: number) => (x === null ? "–" : x.toFixed(digits));

function describeRuns(scenario: string, seed: number, runs: RunResult[], db: string): string {
  const h = runs[0]!.metrics.hosts;
  const columns: [string, number, (r: RunResult) => string][] = [
    ["model", 14, (r) => r.serviceModel],
    ["run", 4, (r) => String(r.runId ?? "–")],
    ["availability", 12, (r) => fixed(r.metrics.availability, 6)],
    ["down h/VM-yr", 12, (r) => fixed(r.metrics.downtimeHoursPerVmYear, 2)],
    ["blocking", 8, (r) => r.metrics.blockingProbability.toFixed(4)],
    ["RTO p50 h", 9, (r) => fixed(r.metrics.recoveryTimeHours.p50, 3)],
    ["RTO p99 h", 9, (r) => fixed(r.metrics.recoveryTimeHours.p99, 3)],
    ["lost VMs", 8, (r) => String(r.metrics.lostVmStateEvents)],
    ["data lost", 9, (r) => `${r.metrics.dataLossEvents}/${Math.round(r.metrics.gbLost)}G`],
    ["$/VM-month", 10, (r) => fixed(r.metrics.cost.userUsdPerVmMonth, 2)],
    ["events", 9, (r) => String(r.eventCount)],
  ];
  const row = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(columns[i]![1]) : c.padStart(columns[i]![1]))).join(" ")}`;
  return [
    `${scenario}, seed ${seed}: ${h.hosts} hosts over ${h.observedHours.toFixed(0)} simulated hours`,
    `  host availability ${h.hostAvailability.toFixed(6)}   failures: ${h.hostFailures.crash} crashes, ${h.hostFailures.hardware} hardware, ${h.hostFailures.burst} in bursts, ${h.rackOutages} rack outages`,
    "",
    row(columns.map(([title]) => title)),
    ...runs.map((r) => row(columns.map(([, , cell]) => cell(r)))),
    "",
    `  lost VMs: instances or disks destroyed (state since boot or since the disk was made); data lost: persistent disks destroyed / GiB`,
    `  stored in ${db}`,
    "",
  ].join("\n");
}
