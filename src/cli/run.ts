import { SingleBar } from "cli-progress";
import { msToHours } from "../kernel/time.js";
import type { LoadedScenario } from "../scenario/load.js";
import { currentProvenance } from "../run/provenance.js";
import { runScenario, RunInterrupted, type RunResult } from "../run/run-scenario.js";
import { EventStore } from "../store/event-store.js";
import { ExitCode } from "./exit-codes.js";

export interface RunCommandOptions {
  seed: number;
  db: string;
  storeEvents: boolean;
  json: boolean;
  progress: boolean;
}

/** `testbed run`: one scenario, one seed, recorded in `db`. */
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
    format: "{bar} {percentage}% | {hours}/{total} simulated hours | {events} events | ETA {eta_formatted}",
    stream: process.stderr,
    hideCursor: true,
  }) : null;
  const totalHours = Math.round(loaded.scenario.durationHours);
  bar?.start(totalHours, 0, { hours: 0, events: 0 });
  try {
    const result = await runScenario(loaded, {
      seed: options.seed,
      store,
      storeEvents: options.storeEvents,
      provenance: currentProvenance(),
      signal: abort.signal,
      onProgress: ({ t, events }) => bar?.update(Math.round(msToHours(t)), { hours: Math.round(msToHours(t)), events }),
    });
    bar?.stop();
    if (options.json) process.stdout.write(`${JSON.stringify({ db: options.db, runs: [result] }, null, 2)}\n`);
    else process.stdout.write(describeRun(result, options.db));
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

function describeRun(r: RunResult, db: string): string {
  const m = r.metrics;
  const mttr = m.meanTimeToRepairHours === null ? "–" : `${m.meanTimeToRepairHours.toFixed(2)} h`;
  return [
    `run ${r.runId}: ${r.scenario}, seed ${r.seed}`,
    `  ${r.eventCount} events over ${m.observedHours.toFixed(0)} simulated hours, ${m.hosts} hosts`,
    `  host availability ${m.hostAvailability.toFixed(6)}   failures: ${m.hostFailures.crash} crashes, ${m.hostFailures.hardware} hardware   mean time to repair ${mttr}`,
    `  state ${r.stateHash.slice(0, 16)}   log ${r.logHash.slice(0, 16)}`,
    `  stored in ${db}`,
    "",
  ].join("\n");
}
