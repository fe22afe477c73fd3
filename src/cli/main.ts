#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { FontError } from "../charts/render.js";
import { SERVICE_MODELS, type ServiceModel } from "../model/events.js";
import { expandExperiment } from "../experiment/expand.js";
import { SUMMARY_METRICS } from "../metrics/summary-metrics.js";
import { ScenarioError, loadScenarioFile } from "../scenario/load.js";
import { StoreError } from "../event-store/event-store.js";
import { chartCommand } from "./chart.js";
import { ExitCode, UsageError } from "./exit-codes.js";
import { experimentCommand } from "./experiment.js";
import { inspectCommand } from "./inspect.js";
import { replayCommand } from "./replay.js";
import { reportCommand } from "./report.js";
import { runCommand } from "./run.js";
import { drainCommand, hostsCommand, liveCommand } from "./libvirt.js";
import { InventoryError } from "../adapters/libvirt/inventory.js";
import { StorageUnavailable } from "../adapters/libvirt/disks.js";
import { InvalidName } from "../adapters/libvirt/names.js";
import { summarizeCommand } from "./summarize.js";

/**
 * `testbed`: a thin shell over the library. Exit codes: 0 ok, 1 a run or a verification failed,
 * 2 bad input (scenario file, flags, database, run id), 130 interrupted (Ctrl-C / SIGTERM).
 */
function integer(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected ${what}, got "${value}"`);
    return n;
  };
}

function positiveInteger(what: string) {
  return (value: string): number => {
    const n = integer(what)(value);
    if (n < 1) throw new InvalidArgumentError(`expected ${what}, got "${value}"`);
    return n;
  };
}

function existingDatabase(file: string): string {
  if (!existsSync(file)) throw new UsageError(`${file}: no such results database`);
  return file;
}

function buildProgram(): Command {
  const program = new Command("testbed")
    .description("vm-testbed: simulate and compare cloud hosting models (ephemeral, vps, persistent-ha)")
    .showHelpAfterError()
    .exitOverride();

  program
    .command("run")
    .description("run a scenario (or an experiment: a scenario with an experiment section) and record it in a results database")
    .argument("<scenario>", "scenario file (YAML)")
    .addOption(new Option("--seed <n>", "seed (default: the scenario's seed, else 1)").argParser(integer("an integer seed")))
    .option("--out <dir>", "results directory (default: results/<scenario name>)")
    .option("--db <file>", "results database (default: <out>/runs.db)")
    .addOption(new Option("--model <name...>", "only these service models (default: the scenario's serviceModels)").choices([...SERVICE_MODELS]))
    .option("--set <path=value>", "override a scenario field, e.g. --set storage.replicas=2 (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--no-events", "store only the run record and metrics, not the event log")
    .option("--json", "print the results as JSON on stdout")
    .option("--check", "check the world's invariants as the run goes (slower); a violation fails the run")
    .option("--quiet", "no progress bar")
    .addOption(new Option("--jobs <n>", "experiments: worker threads (default: one per core)").argParser(positiveInteger("a positive number of jobs")))
    .action(async (file: string, opts: { seed?: number; set: string[]; model?: ServiceModel[]; out?: string; db?: string; events: boolean; json?: boolean; quiet?: boolean; check?: boolean; jobs?: number }) => {
      const loaded = loadScenarioFile(file, opts.set);
      const db = opts.db ?? join(opts.out ?? join("results", loaded.scenario.name), "runs.db");
      if (loaded.scenario.experiment) {
        if (opts.seed !== undefined) throw new UsageError(`--seed: ${file} is an experiment; its seeds are experiment.seeds or experiment.replications`);
        // Read again: `loaded.text` carries the --set settings as comments, and each cell applies them itself.
        const text = readFileSync(file, "utf8");
        const plan = expandExperiment(file, text, opts.set);
        if (opts.model) {
          plan.serviceModels = plan.serviceModels.filter((m) => opts.model!.includes(m));
          plan.runs = plan.runs.filter((r) => opts.model!.includes(r.serviceModel));
        }
        process.exitCode = await experimentCommand(plan, {
          db,
          jobs: opts.jobs,
          storeEvents: opts.events,
          json: opts.json === true,
          progress: opts.quiet !== true,
          check: opts.check === true,
        });
        return;
      }
      if (opts.jobs !== undefined) throw new UsageError(`--jobs: ${file} has no experiment section; its service models run one after another`);
      process.exitCode = await runCommand(loaded, {
        seed: opts.seed ?? loaded.scenario.seed ?? 1,
        serviceModels: opts.model ?? loaded.scenario.serviceModels,
        db,
        storeEvents: opts.events,
        json: opts.json === true,
        progress: opts.quiet !== true,
        check: opts.check === true,
      });
    });

  program
    .command("replay")
    .description("rebuild runs from their stored events; --verify checks them against what the run recorded")
    .argument("<db>", "results database")
    .addOption(new Option("--run <id>", "only this run (default: every run with a stored log)").argParser(positiveInteger("a run id")))
    .option("--verify", "check digests, checkpoints, final state hash and metrics; exit 1 on any difference")
    .option("--json", "print the reports as JSON on stdout")
    .action((db: string, opts: { run?: number; verify?: boolean; json?: boolean }) => {
      process.exitCode = replayCommand(existingDatabase(db), { runId: opts.run, verify: opts.verify === true, json: opts.json === true });
    });

  program
    .command("inspect")
    .description("list the runs in a results database, or the last events of one run")
    .argument("<db>", "results database")
    .addOption(new Option("--run <id>", "show this run and its last events").argParser(positiveInteger("a run id")))
    .addOption(new Option("--tail <n>", "how many events to show with --run").argParser(positiveInteger("a positive count")).default(20))
    .option("--json", "print as JSON on stdout")
    .action((db: string, opts: { run?: number; tail: number; json?: boolean }) => {
      process.exitCode = inspectCommand(existingDatabase(db), { runId: opts.run, tail: opts.tail, json: opts.json === true });
    });

  program
    .command("hosts")
    .description("what the libvirt adapter sees on each host of an inventory: capacity, domain types, the domains it owns")
    .argument("<inventory>", "host inventory (YAML)")
    .option("--json", "print as JSON on stdout")
    .action(async (inventory: string, opts: { json?: boolean }) => {
      process.exitCode = await hostsCommand(inventory, { json: opts.json === true });
    });

  program
    .command("live")
    .description("run a scenario's workload (and failure trace) on real hosts through libvirt, with the same controller, and record it")
    .argument("<inventory>", "host inventory (YAML)")
    .argument("<scenario>", "scenario file (YAML): workload, placement policy, ha, failures.trace")
    .option("--db <file>", "results database (default: results/<scenario name>/live.db)")
    .addOption(new Option("--model <name>", "service model (default: the scenario's first)").choices([...SERVICE_MODELS]))
    .addOption(new Option("--seed <n>", "seed for the VM sizes (default: the scenario's seed, else 1)").argParser(integer("an integer seed")))
    .addOption(new Option("--duration <seconds>", "wall-clock length of the run (default: the scenario's durationHours)").argParser(positiveInteger("a number of seconds")))
    .option("--keep", "leave the VMs running at the end (default: destroy and undefine them)")
    .option("--dry-run", "print the commands that would change the hosts instead of running them")
    .option("--trace", "print every virsh command as it runs")
    .option("--json", "print the result as JSON on stdout")
    .action(async (inventory: string, file: string, opts: { db?: string; model?: ServiceModel; seed?: number; duration?: number; keep?: boolean; dryRun?: boolean; trace?: boolean; json?: boolean }) => {
      const loaded = loadScenarioFile(file);
      process.exitCode = await liveCommand(inventory, loaded, {
        db: opts.db ?? join("results", loaded.scenario.name, "live.db"),
        serviceModel: opts.model ?? loaded.scenario.serviceModels[0]!,
        seed: opts.seed ?? loaded.scenario.seed ?? 1,
        ...(opts.duration !== undefined ? { durationSeconds: opts.duration } : {}),
        keep: opts.keep === true,
        dryRun: opts.dryRun === true,
        trace: opts.trace === true,
        json: opts.json === true,
      });
    });

  program
    .command("drain")
    .description("live-migrate every VM of ours off a host (planned maintenance), with the controller's drain, and record it")
    .argument("<inventory>", "host inventory (YAML)")
    .argument("<host>", "the host to empty (a name from the inventory)")
    .option("--db <file>", "results database (default: results/drain/live.db)")
    .addOption(new Option("--timeout <seconds>", "give up after this long").argParser(positiveInteger("a number of seconds")).default(600))
    .option("--dry-run", "print the commands that would change the hosts instead of running them")
    .option("--trace", "print every virsh command as it runs")
    .option("--json", "print the result as JSON on stdout")
    .action(async (inventory: string, host: string, opts: { db?: string; timeout: number; dryRun?: boolean; trace?: boolean; json?: boolean }) => {
      process.exitCode = await drainCommand(inventory, host, {
        db: opts.db ?? join("results", "drain", "live.db"),
        timeoutSeconds: opts.timeout,
        dryRun: opts.dryRun === true,
        trace: opts.trace === true,
        json: opts.json === true,
      });
    });

  program
    .command("summarize")
    .description("statistics of the runs in a results database: per cell and service model, and paired differences")
    .argument("<db>", "results database")
    .option("--json", "print { cells, paired } as JSON on stdout (NaN as null)")
    .option("--csv", "print one CSV table (kind cell | paired) on stdout")
    .option("--metric <name...>", "only these metrics")
    .action((db: string, opts: { json?: boolean; csv?: boolean; metric?: string[] }) => {
      if (opts.json && opts.csv) throw new UsageError("--json and --csv: choose one");
      const known = new Set(SUMMARY_METRICS.map((m) => m.name));
      const unknown = opts.metric?.filter((m) => !known.has(m));
      if (unknown?.length) throw new UsageError(`--metric ${unknown.join(" ")}: expected one of ${[...known].join(", ")}`);
      process.exitCode = summarizeCommand(existingDatabase(db), { format: opts.json ? "json" : opts.csv ? "csv" : "table", metrics: opts.metric });
    });

  program
    .command("chart")
    .description("draw the charts of a results database (vega-lite spec, SVG and PNG of each)")
    .argument("<db>", "results database")
    .option("--out <dir>", "output directory (default: <db dir>/charts)")
    .addOption(new Option("--run <id>", "the run whose timeline is drawn (default: the first persistent-ha run with a stored log)").argParser(positiveInteger("a run id")))
    .option("--json", "print what was written as JSON on stdout")
    .action(async (db: string, opts: { out?: string; run?: number; json?: boolean }) => {
      process.exitCode = await chartCommand(existingDatabase(db), { out: opts.out, run: opts.run, json: opts.json === true });
    });

  program
    .command("report")
    .description("write a self-contained HTML report (tables and interactive charts, works offline)")
    .argument("<db>", "results database")
    .option("--out <file>", "output file (default: <db dir>/report.html)")
    .action((db: string, opts: { out?: string }) => {
      process.exitCode = reportCommand(existingDatabase(db), { out: opts.out });
    });

  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help"
        ? ExitCode.ok
        : ExitCode.badInput;
    }
    if (error instanceof ScenarioError || error instanceof UsageError || error instanceof StoreError || error instanceof InventoryError || error instanceof InvalidName) {
      process.stderr.write(`${error.message}\n`);
      return ExitCode.badInput;
    }
    if (error instanceof StorageUnavailable) {
      process.stderr.write(`testbed: ${error.message}\n`);
      return ExitCode.failed;
    }
    if (error instanceof FontError) {
      process.stderr.write(`testbed: ${error.message}\n`);
      return ExitCode.failed;
    }
    process.stderr.write(`testbed: ${(error as Error).stack ?? String(error)}\n`);
    return ExitCode.failed;
  }
}

// A reader that stops early (`testbed summarize db | head`) closes the pipe: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? ExitCode.ok);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
