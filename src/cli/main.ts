#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { getHeapStatistics } from "node:v8";
import { memoryProblem } from "../scenario/limits.js";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { FontError } from "../charts/render.js";
import { SERVICE_MODELS, type ServiceModel } from "../model/events.js";
import { expandExperiment } from "../experiment/expand.js";
import { SUMMARY_METRICS } from "../metrics/summary-metrics.js";
import { ScenarioError, loadScenarioFile } from "../scenario/load.js";
import { failureTraceCsv, machineEventsToFailures, TraceFormatError } from "../scenario/trace-convert.js";
import { isSqliteError, StoreError } from "../event-store/event-store.js";
import { chartCommand } from "./chart.js";
import { ExitCode, UsageError } from "./exit-codes.js";
import { experimentCommand } from "./experiment.js";
import { inspectCommand } from "./inspect.js";
import { replayCommand } from "./replay.js";
import { reportCommand } from "./report.js";
import { runCommand } from "./run.js";
import { DEFAULT_MAX_EVENTS } from "../adapters/sim/run-scenario.js";
import { drainCommand, hostsCommand, liveCommand, resumeCommand } from "./libvirt.js";
import { calibrateCommand } from "./calibrate.js";
import { compareCommand } from "./compare.js";
import { InventoryError } from "../adapters/libvirt/inventory.js";
import { StorageUnavailable } from "../adapters/libvirt/disks.js";
import { InvalidName } from "../adapters/libvirt/names.js";
import { summarizeCommand } from "./summarize.js";
import { sensitivityCommand } from "./sensitivity.js";
import { breakevenCommand } from "./breakeven.js";
import { parsePair, type Response } from "../experiment/sensitivity.js";
import type { Adjustment } from "../stats/multiple-comparisons.js";
import { mergeCommand, slurmCommand, slurmTaskCommand } from "./slurm.js";
import { SlurmError } from "./slurm-client.js";

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

/** `--max-db-mb`'s default: 50 GiB, far above a year of the 50 000-host scale benchmark's log. */
const DEFAULT_MAX_DATABASE_MB = 50 * 1024;

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
    .option("--log-hash", "with --no-events: hash the event log all the same (logHash; it costs ≈ 10–15 % of the run), to compare runs event for event")
    .option("--json", "print the results as JSON on stdout")
    .option("--check", "check the world's invariants as the run goes (slower); a violation fails the run")
    .option("--quiet", "no progress bar")
    .addOption(new Option("--jobs <n>", "experiments: worker threads (default: one per core)").argParser(positiveInteger("a positive number of jobs")))
    .addOption(new Option("--max-events <n>", "stop a run (failed) after this many events").argParser(positiveInteger("a positive number of events")).default(DEFAULT_MAX_EVENTS))
    .addOption(new Option("--max-db-mb <n>", "the results database may not grow beyond this many MiB").argParser(positiveInteger("a positive number of MiB")).default(DEFAULT_MAX_DATABASE_MB))
    .option("--slurm", "experiments: run the missing runs as a Slurm job array (sbatch), each task into its own shard, merged at the end")
    .addOption(new Option("--tasks <n>", "--slurm: array tasks (default: from --runs-per-task, or from measured run times)").argParser(positiveInteger("a positive number of tasks")))
    .addOption(new Option("--runs-per-task <k>", "--slurm: runs per array task").argParser(positiveInteger("a positive number of runs")))
    .option("--partition <name>", "--slurm: the Slurm partition")
    .option("--time <limit>", "--slurm: each task's time limit, HH:MM:SS")
    .option("--sbatch-arg <arg>", "--slurm: one more argument for sbatch, e.g. --sbatch-arg=--requeue (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--no-wait", "--slurm: return once the job is submitted; the same command run again later merges it")
    .action(async (file: string, opts: RunFlags) => {
      const loaded = loadScenarioFile(file, opts.set);
      const memory = memoryProblem(loaded.scenario, getHeapStatistics().heap_size_limit);
      if (memory !== null) throw new ScenarioError(file, [memory]);
      const db = opts.db ?? join(opts.out ?? join("results", loaded.scenario.name), "runs.db");
      checkSlurmFlags(file, opts, loaded.scenario.experiment !== undefined);
      if (loaded.scenario.experiment) {
        if (opts.seed !== undefined) throw new UsageError(`--seed: ${file} is an experiment; its seeds are experiment.seeds or experiment.replications`);
        // Read again: `loaded.text` carries the --set settings as comments, and each cell applies them itself.
        const text = readFileSync(file, "utf8");
        const plan = expandExperiment(file, text, opts.set);
        for (const cell of plan.cells) {
          const problem = memoryProblem(cell.loaded.scenario, getHeapStatistics().heap_size_limit);
          if (problem !== null) throw new ScenarioError(file, [`experiment cell ${cell.index} (${cell.overrides.join(" ") || "the base scenario"}): ${problem}`]);
        }
        if (opts.model) {
          plan.serviceModels = plan.serviceModels.filter((m) => opts.model!.includes(m));
          plan.runs = plan.runs.filter((r) => opts.model!.includes(r.serviceModel));
          if (plan.runs.length === 0) throw new UsageError(`--model ${opts.model.join(" ")}: expected a service model of the experiment (${loaded.scenario.serviceModels.join(" | ")})`);
        }
        if (opts.slurm) {
          process.exitCode = await slurmCommand(plan, {
            db,
            storeEvents: opts.events,
            check: opts.check === true,
            json: opts.json === true,
            progress: opts.quiet !== true,
            ...(opts.tasks !== undefined ? { tasks: opts.tasks } : {}),
            ...(opts.runsPerTask !== undefined ? { runsPerTask: opts.runsPerTask } : {}),
            ...(opts.partition !== undefined ? { partition: opts.partition } : {}),
            ...(opts.time !== undefined ? { time: opts.time } : {}),
            sbatchArgs: opts.sbatchArg,
            wait: opts.wait,
            argv: process.argv.slice(2),
          });
          return;
        }
        process.exitCode = await experimentCommand(plan, {
          db,
          jobs: opts.jobs,
          storeEvents: opts.events,
          hashLog: opts.events || opts.logHash === true,
          json: opts.json === true,
          progress: opts.quiet !== true,
          check: opts.check === true,
          maxEvents: opts.maxEvents,
          maxDatabaseMB: opts.maxDbMb,
        });
        return;
      }
      if (opts.jobs !== undefined) throw new UsageError(`--jobs: ${file} has no experiment section; its service models run one after another`);
      process.exitCode = await runCommand(loaded, {
        seed: opts.seed ?? loaded.scenario.seed ?? 1,
        serviceModels: opts.model ?? loaded.scenario.serviceModels,
        db,
        storeEvents: opts.events,
        hashLog: opts.events || opts.logHash === true,
        json: opts.json === true,
        progress: opts.quiet !== true,
        check: opts.check === true,
        maxEvents: opts.maxEvents,
        maxDatabaseMB: opts.maxDbMb,
      });
    });

  program
    .command("merge")
    .description("bring the complete runs of shard databases (Slurm array tasks) into a results database; a damaged or foreign shard is refused")
    .argument("<db>", "results database (created if missing)")
    .argument("<shards...>", "shard databases")
    .option("--json", "print the report as JSON on stdout")
    .action((db: string, shards: string[], opts: { json?: boolean }) => {
      process.exitCode = mergeCommand(db, shards, { json: opts.json === true });
    });

  program
    .command("slurm-task", { hidden: true })
    .description("run one array task of a Slurm job plan (what job.sh runs)")
    .argument("<plan>", "the job folder's plan.json")
    .addOption(new Option("--task <i>", "the task index (default: SLURM_ARRAY_TASK_ID)").argParser(integer("a task index")))
    .action(async (planFile: string, opts: { task?: number }) => {
      process.exitCode = await slurmTaskCommand(planFile, opts.task);
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
    .argument("[scenario]", "scenario file (YAML): workload, placement policy, ha, failures.trace (not with --resume)")
    .option("--db <file>", "results database (default: results/<scenario name>/live.db)")
    .option("--resume <file>", "take over the last unfinished live run of this results database (its controller died), with its stored scenario")
    .addOption(new Option("--run <id>", "with --resume: the run to take over").argParser(positiveInteger("a run id")))
    .addOption(new Option("--model <name>", "service model (default: the scenario's first)").choices([...SERVICE_MODELS]))
    .addOption(new Option("--seed <n>", "seed for the VM sizes (default: the scenario's seed, else 1)").argParser(integer("an integer seed")))
    .addOption(new Option("--duration <seconds>", "wall-clock length of the run (default: the scenario's durationHours)").argParser(positiveInteger("a number of seconds")))
    .option("--keep", "leave the VMs running at the end (default: destroy and undefine them)")
    .option("--dry-run", "print the commands that would change the hosts instead of running them")
    .option("--trace", "print every virsh command as it runs")
    .option("--json", "print the result as JSON on stdout")
    .option("--set <path=value>", "override a scenario field, e.g. --set placement.policy=spread (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .action(async (inventory: string, file: string | undefined, opts: { db?: string; resume?: string; run?: number; model?: ServiceModel; seed?: number; duration?: number; keep?: boolean; dryRun?: boolean; trace?: boolean; json?: boolean; set: string[] }) => {
      if (opts.resume !== undefined) {
        const extra = [file !== undefined && "a scenario", opts.db !== undefined && "--db", opts.model !== undefined && "--model", opts.seed !== undefined && "--seed", opts.duration !== undefined && "--duration", opts.set.length > 0 && "--set", opts.dryRun && "--dry-run"].filter(Boolean);
        if (extra.length > 0) throw new UsageError(`live --resume takes the run's scenario, model, seed and length from the database: drop ${extra.join(", ")}`);
        process.exitCode = await resumeCommand(inventory, { db: opts.resume, ...(opts.run !== undefined ? { runId: opts.run } : {}), keep: opts.keep === true, trace: opts.trace === true, json: opts.json === true });
        return;
      }
      if (opts.run !== undefined) throw new UsageError("live: --run only goes with --resume");
      if (file === undefined) throw new UsageError("live: expected <inventory> <scenario>, or <inventory> --resume <results database>");
      const loaded = loadScenarioFile(file, opts.set);
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
    .option("--dry-run", "print the drain's plan (the moves: VM, from, to) and change nothing")
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
    .command("calibrate")
    .description("measure on real hosts what the simulation assumes (boot, failure detection, restart elsewhere, migration, OSD recovery) and write a scenario overlay")
    .argument("<inventory>", "host inventory (YAML) with the guest, storage.ceph (with osds) and fence commands for 3 hosts")
    .addOption(new Option("--reps <n>", "calibration runs (175 s each)").argParser(positiveInteger("a number of runs")).default(1))
    .option("--out <file>", "where to write the overlay", "calibration.yaml")
    .option("--db <file>", "where the runs are recorded (default: results/calibration/live.db)")
    .action(async (inventory: string, opts: { reps: number; out: string; db?: string }) => {
      process.exitCode = await calibrateCommand(inventory, { reps: opts.reps, out: opts.out, db: opts.db ?? join("results", "calibration", "live.db") });
    });

  program
    .command("compare")
    .description("the same scenario simulated and run live, N times each: availability, recovery time, migration time and downtime side by side with intervals, and a chart")
    .argument("<inventory>", "host inventory (YAML)")
    .argument("<scenario>", "scenario file (YAML)")
    .addOption(new Option("--reps <n>", "live runs, and simulated seeds").argParser(positiveInteger("a number of runs")).default(3))
    .addOption(new Option("--model <name>", "service model (default: the scenario's first)").choices([...SERVICE_MODELS]))
    .option("--calibration <file>", "a calibration overlay (testbed calibrate) applied to the simulated side")
    .option("--db <file>", "where the live runs are recorded (default: results/compare/live.db)")
    .option("--charts <dir>", "where the chart goes (default: results/compare/charts)")
    .option("--set <path=value>", "override a scenario field on both sides, e.g. --set placement.policy=spread (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .action(async (inventory: string, file: string, opts: { reps: number; model?: ServiceModel; calibration?: string; db?: string; charts?: string; set: string[] }) => {
      process.exitCode = await compareCommand(inventory, file, {
        reps: opts.reps,
        serviceModel: opts.model ?? null,
        set: opts.set,
        calibration: opts.calibration ?? null,
        db: opts.db ?? join("results", "compare", "live.db"),
        chartDir: opts.charts ?? join("results", "compare", "charts"),
      });
    });

  program
    .command("summarize")
    .description("statistics of the runs in a results database: per cell and service model, and paired differences")
    .argument("<db>", "results database")
    .option("--json", "print { cells, paired } as JSON on stdout (NaN as null)")
    .option("--csv", "print one CSV table (kind cell | paired) on stdout")
    .option("--metric <name...>", "only these metrics")
    .addOption(new Option("--adjust <method>", "correct each experiment's paired comparisons for multiplicity: adjusted p-values and simultaneous intervals").choices(["none", "holm", "bonferroni"]).default("none"))
    .action((db: string, opts: { json?: boolean; csv?: boolean; metric?: string[]; adjust: Adjustment }) => {
      if (opts.json && opts.csv) throw new UsageError("--json and --csv: choose one");
      const known = new Set(SUMMARY_METRICS.map((m) => m.name));
      const unknown = opts.metric?.filter((m) => !known.has(m));
      if (unknown?.length) throw new UsageError(`--metric ${unknown.join(" ")}: expected one of ${[...known].join(", ")}`);
      process.exitCode = summarizeCommand(existingDatabase(db), { format: opts.json ? "json" : opts.csv ? "csv" : "table", metrics: opts.metric, adjust: opts.adjust });
    });

  program
    .command("chart")
    .description("draw the charts of a results database (vega-lite spec, SVG and PNG of each)")
    .argument("<db>", "results database")
    .option("--out <dir>", "output directory (default: <db dir>/charts)")
    .addOption(new Option("--run <id>", "the run whose timeline is drawn (default: the first persistent-ha run with a stored log)").argParser(positiveInteger("a run id")))
    .option("--json", "print what was written as JSON on stdout")
    .option("--breakeven <json...>", "also draw these break-even results (testbed breakeven --json)")
    .action(async (db: string, opts: { out?: string; run?: number; json?: boolean; breakeven?: string[] }) => {
      process.exitCode = await chartCommand(existingDatabase(db), { out: opts.out, run: opts.run, json: opts.json === true, breakeven: opts.breakeven });
    });

  program
    .command("sensitivity")
    .description("which swept assumption moves a metric, or the paired difference of two models: tornado (oneAtATime), PRCC and SRC (latinHypercube)")
    .argument("<db>", "results database")
    .option("--metric <name>", "the metric", "downtimeHoursPerVmYear")
    .option("--model <model>", "one service model's metric")
    .option("--pair <a-b>", "the paired difference a − b of two models on the same seeds (default persistent-ha-ephemeral)")
    .option("--experiment <name>", "only this experiment")
    .option("--json", "print the results as JSON")
    .option("--csv", "print one CSV table")
    .option("--chart <dir>", "write the tornado / PRCC chart (.vl.json, .svg, .png) into this directory")
    .action(async (db: string, opts: { metric: string; model?: string; pair?: string; experiment?: string; json?: boolean; csv?: boolean; chart?: string }) => {
      if (opts.json && opts.csv) throw new UsageError("--json and --csv: choose one");
      if (opts.model && opts.pair) throw new UsageError("--model and --pair: choose one");
      let response: Response;
      if (opts.model) {
        if (!(SERVICE_MODELS as readonly string[]).includes(opts.model)) throw new UsageError(`--model ${opts.model}: expected one of ${SERVICE_MODELS.join(", ")}`);
        response = { metric: opts.metric, model: opts.model as ServiceModel };
      } else {
        const pair = parsePair(opts.pair ?? "persistent-ha-ephemeral");
        if (!pair) throw new UsageError(`--pair ${opts.pair}: expected two different service models joined by '-', e.g. persistent-ha-ephemeral`);
        response = { metric: opts.metric, pair };
      }
      process.exitCode = await sensitivityCommand(existingDatabase(db), { response, experiment: opts.experiment, format: opts.json ? "json" : opts.csv ? "csv" : "table", chartDir: opts.chart });
    });

  program
    .command("breakeven")
    .description("find the value of one parameter where the paired difference of two service models crosses zero (same seeds at every probe)")
    .argument("<scenario>", "scenario file (YAML)")
    .requiredOption("--vary <path>", "the scenario path to move, e.g. users.replacementDelayHours")
    .requiredOption("--between <a,b>", "the range searched, e.g. 0.05,8")
    .option("--pair <a-b>", "the two models compared, a − b", "persistent-ha-ephemeral")
    .option("--metric <name>", "the metric", "downtimeHoursPerVmYear")
    .addOption(new Option("--replications <n>", "seeds per probe (default: the scenario's experiment replications or seeds, else 10)").argParser(positiveInteger("a positive integer")))
    .addOption(new Option("--probes <n>", "search steps after the two ends").argParser(positiveInteger("a positive integer")).default(8))
    .option("--log", "search on a log scale (for rates and times spanning decades)")
    .option("--set <path=value...>", "override scenario fields at every probe", [])
    .option("--json", "print the result as JSON")
    .option("--chart <dir>", "write the break-even chart into this directory")
    .action(async (file: string, opts: { vary: string; between: string; pair: string; metric: string; replications?: number; probes: number; log?: boolean; set: string[]; json?: boolean; chart?: string }) => {
      const between = opts.between.split(",").map((v) => Number(v.trim()));
      if (between.length !== 2 || !between.every(Number.isFinite) || !(between[0]! < between[1]!)) throw new UsageError(`--between ${opts.between}: expected two numbers a,b with a < b`);
      if (opts.log && !(between[0]! > 0)) throw new UsageError(`--between ${opts.between}: expected a > 0 on a log scale`);
      const pair = parsePair(opts.pair);
      if (!pair) throw new UsageError(`--pair ${opts.pair}: expected two different service models joined by '-', e.g. persistent-ha-ephemeral`);
      const scenario = loadScenarioFile(file, opts.set).scenario;
      const first = scenario.seed ?? 1;
      const seeds = opts.replications !== undefined ? Array.from({ length: opts.replications }, (_, i) => first + i) : scenario.experiment?.seeds ?? Array.from({ length: scenario.experiment?.replications ?? 10 }, (_, i) => first + i);
      process.exitCode = await breakevenCommand(
        { file, overrides: opts.set, path: opts.vary, between: [between[0]!, between[1]!], pair, metric: opts.metric, seeds, probes: opts.probes, log: opts.log === true },
        { json: opts.json === true, chartDir: opts.chart },
      );
    });

  program
    .command("convert-trace")
    .description("convert a public failure trace into the CSV of failures.trace (on stdout; notes on stderr)")
    .argument("<format>", "google-machine-events (Google's 2011 cluster trace, table machine_events)")
    .argument("<file>", "the trace file (CSV, uncompressed)")
    .requiredOption("--hosts <name:count>", "the host group the machines become, e.g. h:200 (hosts h-001 ... h-200)")
    .option("--hardware-after-hours <h>", "outages at least this long are hardware failures, shorter ones crashes", "1")
    .action((format: string, file: string, opts: { hosts: string; hardwareAfterHours: string }) => {
      if (format !== "google-machine-events") throw new UsageError(`convert-trace: expected the format google-machine-events, got "${format}"`);
      const group = /^([A-Za-z0-9][A-Za-z0-9._-]*):([1-9]\d*)$/.exec(opts.hosts);
      if (!group) throw new UsageError(`--hosts: expected name:count, e.g. h:200, got "${opts.hosts}"`);
      const hardwareAfterHours = Number(opts.hardwareAfterHours);
      if (!(hardwareAfterHours > 0)) throw new UsageError(`--hardware-after-hours: expected a positive number, got "${opts.hardwareAfterHours}"`);
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (error) {
        throw new UsageError(`${file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      }
      const { rows, notes } = machineEventsToFailures(file, text, { prefix: group[1]!, hosts: Number(group[2]), hardwareAfterHours });
      process.stdout.write(failureTraceCsv(rows));
      for (const note of notes) process.stderr.write(`${file}: ${note}\n`);
    });

  program
    .command("report")
    .description("write a self-contained HTML report (tables and interactive charts, works offline)")
    .argument("<db>", "results database")
    .option("--out <file>", "output file (default: <db dir>/report.html)")
    .option("--breakeven <json...>", "break-even results (testbed breakeven --json) to include with their charts")
    .action((db: string, opts: { out?: string; breakeven?: string[] }) => {
      process.exitCode = reportCommand(existingDatabase(db), { out: opts.out, breakeven: opts.breakeven });
    });

  return program;
}

interface RunFlags {
  seed?: number;
  set: string[];
  model?: ServiceModel[];
  out?: string;
  db?: string;
  events: boolean;
  logHash?: boolean;
  json?: boolean;
  quiet?: boolean;
  check?: boolean;
  jobs?: number;
  maxEvents: number;
  maxDbMb: number;
  slurm?: boolean;
  tasks?: number;
  runsPerTask?: number;
  partition?: string;
  time?: string;
  sbatchArg: string[];
  wait: boolean;
}

/** Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
const SLURM_TIME = /^(\d+-\d+(:\d+){0,2}|\d+(:\d+){0,2})$/;

/** The --slurm flags make sense only together, and only for an experiment. */
function checkSlurmFlags(file: string, opts: RunFlags, isExperiment: boolean): void {
  const slurmOnly = (["tasks", "runsPerTask", "partition", "time"] as const).filter((k) => opts[k] !== undefined).map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  if (opts.sbatchArg.length > 0) slurmOnly.push("--sbatch-arg");
  if (!opts.wait) slurmOnly.push("--no-wait");
  if (!opts.slurm) {
    if (slurmOnly.length > 0) throw new UsageError(`${slurmOnly.join(", ")}: only with --slurm`);
    return;
  }
  if (!isExperiment) throw new UsageError(`--slurm: ${file} has no experiment section; a Slurm job runs an experiment's cells × seeds × service models (add experiment: { replications: N })`);
  if (opts.jobs !== undefined) throw new UsageError("--jobs: with --slurm each array task runs its runs one after another; size the job with --tasks or --runs-per-task");
  if (opts.tasks !== undefined && opts.runsPerTask !== undefined) throw new UsageError("--tasks and --runs-per-task: give one (the other follows from the number of runs)");
  if (opts.time !== undefined && !SLURM_TIME.test(opts.time)) throw new UsageError(`--time: expected HH:MM:SS (or Slurm's MM, MM:SS, D-HH:MM:SS), got "${opts.time}"`);
  if (opts.partition !== undefined && !/^[A-Za-z0-9_.,-]+$/.test(opts.partition)) throw new UsageError(`--partition: expected a partition name (letters, digits, . _ , -), got "${opts.partition}"`);
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
    if (error instanceof ScenarioError || error instanceof UsageError || error instanceof StoreError || error instanceof InventoryError || error instanceof InvalidName || error instanceof TraceFormatError) {
      process.stderr.write(`${error.message}\n`);
      return ExitCode.badInput;
    }
    if (error instanceof SlurmError || error instanceof StorageUnavailable) {
      process.stderr.write(`testbed: ${error.message}\n`);
      return ExitCode.failed;
    }
    if (error instanceof FontError) {
      process.stderr.write(`testbed: ${error.message}\n`);
      return ExitCode.failed;
    }
    if (isSqliteError(error)) {
      // A damaged file or a dropped table met where no run can be singled out (listing the runs).
      process.stderr.write(`testbed: the results database is damaged (${error.code}: ${error.message}); the runs that can still be read: inspect --run ID, replay --run ID\n`);
      return ExitCode.failed;
    }
    const io = error as NodeJS.ErrnoException;
    if (typeof io.code === "string" && typeof io.syscall === "string" && typeof io.path === "string") {
      // An output path that cannot be written (--out naming a file, a read-only directory).
      process.stderr.write(`${io.path}: cannot ${io.syscall} (${io.code})\n`);
      return ExitCode.badInput;
    }
    // A bug: say so in one line; the trace only on request.
    process.stderr.write(`testbed: internal error: ${(error as Error).message ?? String(error)}${process.env.TESTBED_DEBUG ? `\n${(error as Error).stack}` : " (TESTBED_DEBUG=1 shows where)"}\n`);
    return ExitCode.failed;
  }
}

// A reader that stops early (`testbed summarize db | head`) closes the pipe: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? ExitCode.ok);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
