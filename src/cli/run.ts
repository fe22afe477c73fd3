import { SingleBar } from "cli-progress";
import { msToHours } from "../kernel/time.js";
import type { ServiceModel } from "../model/events.js";
import type { LoadedScenario } from "../scenario/load.js";
import { currentProvenance } from "../run/provenance.js";
import { runScenario, RunInterrupted, type RunResult } from "../run/run-scenario.js";
import { EventStore } from "../store/event-store.js";
import { ExitCode } from "./exit-codes.js";

export interface RunCommandOptions {
  seed: number;
  serviceModels: ServiceModel[];
  db: string;
  storeEvents: boolean;
  json: boolean;
  progress: boolean;
  check: boolean;
}

/**
 * `testbed run`: one scenario and one seed, once per service model (all on the same failures and
 * workload), each recorded as a run in `db`.
 */
export async function runCommand(loaded: LoadedScenario, options: RunCommandOptions): Promise<number> {
  const store = EventStore.open(options.db);
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
      const result = await runScenario(loaded, {
        seed: options.seed,
        serviceModel,
        store,
        storeEvents: options.storeEvents,
        check: options.check,
        provenance: currentProvenance(),
        signal: abort.signal,
        onProgress: ({ t, events }) => bar?.update(i * hours + Math.round(msToHours(t)), { hours: Math.round(msToHours(t)), events, model: serviceModel }),
      });
      results.push(result);
      if (!options.json && !bar) process.stderr.write(`run ${result.runId}: ${serviceModel} done (${result.eventCount} events)\n`);
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
  const first = runs[0]!.metrics;
  const h = first.hosts;
  const lines = [
    `${scenario}, seed ${seed}: ${h.hosts} hosts over ${h.observedHours.toFixed(0)} simulated hours`,
    `  host availability ${h.hostAvailability.toFixed(6)}   failures: ${h.hostFailures.crash} crashes, ${h.hostFailures.hardware} hardware, ${h.rackOutages} rack outages`,
    "",
    `  ${"model".padEnd(14)} ${"run".padStart(4)} ${"availability".padStart(12)} ${"down h/VM-yr".padStart(12)} ${"blocking".padStart(9)} ${"RTO p50 h".padStart(9)} ${"RTO p99 h".padStart(9)} ${"lost VMs".padStart(8)} ${"events".padStart(9)}`,
  ];
  for (const r of runs) {
    const m = r.metrics;
    lines.push(
      `  ${r.serviceModel.padEnd(14)} ${String(r.runId ?? "–").padStart(4)} ${fixed(m.availability, 6).padStart(12)} ${fixed(m.downtimeHoursPerVmYear, 2).padStart(12)} ${m.blockingProbability.toFixed(4).padStart(9)} ${fixed(m.recoveryTimeHours.p50, 3).padStart(9)} ${fixed(m.recoveryTimeHours.p99, 3).padStart(9)} ${String(m.lostVmStateEvents).padStart(8)} ${String(r.eventCount).padStart(9)}`,
    );
  }
  lines.push("", `  stored in ${db}`, "");
  return lines.join("\n");
}
