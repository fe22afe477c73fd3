import { mkdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { parse } from "yaml";
import { loadInventoryFile } from "../adapters/libvirt/inventory.js";
import { runLive } from "../adapters/libvirt/live-run.js";
import { Virsh } from "../adapters/libvirt/virsh.js";
import { simulate } from "../adapters/sim/simulate.js";
import { simVsRealChart, type ComparedPoint } from "../charts/sim-vs-real.js";
import { writeChart } from "../charts/write.js";
import { EventStore } from "../event-store/event-store.js";
import { calibrationSamples } from "../metrics/calibration.js";
import type { RunMetrics } from "../metrics/run-metrics.js";
import type { DomainEvent, ServiceModel } from "../model/events.js";
import { currentProvenance } from "../recording/provenance.js";
import { loadScenarioFile, ScenarioError } from "../scenario/load.js";
import { summarize } from "../stats/summary.js";
import { overlayOverrides } from "./calibrate.js";
import { checkLiveRun } from "./libvirt.js";
import { ExitCode, UsageError } from "./exit-codes.js";

export interface CompareOptions {
  reps: number;
  /** Default: the scenario's first. */
  serviceModel: ServiceModel | null;
  /** `--set` settings, on both sides. */
  set: string[];
  calibration: string | null;
  db: string;
  chartDir: string;
  report?: (line: string) => void;
}

/** What `compare` puts side by side, per run: availability, recovery time per outage (p50, p99), live migrations. */
export interface RunSample {
  availability: number | null;
  recoveryP50Seconds: number | null;
  recoveryP99Seconds: number | null;
  migrationSeconds: number | null;
  migrationDowntimeSeconds: number | null;
}

const METRICS: { key: keyof RunSample; label: string }[] = [
  { key: "availability", label: "availability" },
  { key: "recoveryP50Seconds", label: "recovery time p50 (s)" },
  { key: "recoveryP99Seconds", label: "recovery time p99 (s)" },
  { key: "migrationSeconds", label: "migration time (s)" },
  { key: "migrationDowntimeSeconds", label: "migration downtime (s)" },
];

/** One run's sample from its metrics and events (migrations: the mean over the run's live migrations). */
export function runSample(metrics: RunMetrics, events: readonly DomainEvent[]): RunSample {
  const c = calibrationSamples(events, []);
  const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
  const r = metrics.recoveryTimeHours;
  return {
    availability: metrics.availability,
    recoveryP50Seconds: r.p50 === null ? null : r.p50 * 3600,
    recoveryP99Seconds: r.p99 === null ? null : r.p99 * 3600,
    migrationSeconds: mean(c.migrationSeconds),
    migrationDowntimeSeconds: mean(c.migrationDowntimeSeconds),
  };
}

export interface ComparisonRow {
  label: string;
  simulated: ComparedPoint | null;
  real: ComparedPoint | null;
  /** (real − simulated) / simulated, null if either is missing or simulated is 0. */
  relativeDifference: number | null;
  /** Whether the two 95 % intervals overlap (null: an interval is missing, fewer than two runs). */
  overlap: boolean | null;
}

/** Per metric, the mean and 95 % Student-t interval over the runs of each side (runs where the metric is defined). */
export function comparisonRows(simulated: readonly RunSample[], real: readonly RunSample[]): ComparisonRow[] {
  const point = (side: "simulated" | "real", samples: readonly RunSample[], key: keyof RunSample, metric: string): ComparedPoint | null => {
    const values = samples.map((s) => s[key]).filter((v): v is number => v !== null && Number.isFinite(v));
    if (values.length === 0) return null;
    const s = summarize(values);
    return { metric, side, n: s.n, mean: s.mean, ciLow: Number.isFinite(s.ciLow) ? s.ciLow : null, ciHigh: Number.isFinite(s.ciHigh) ? s.ciHigh : null };
  };
  return METRICS.map(({ key, label }) => {
    const sim = point("simulated", simulated, key, label);
    const live = point("real", real, key, label);
    const both = sim !== null && live !== null;
    return {
      label,
      simulated: sim,
      real: live,
      relativeDifference: both && sim.mean !== 0 ? (live.mean - sim.mean) / sim.mean : null,
      overlap: both && sim.ciLow !== null && live.ciLow !== null ? sim.ciLow <= live.ciHigh! && live.ciLow <= sim.ciHigh! : null,
    };
  });
}

/** The side-by-side table as text. */
export function comparisonTable(rows: readonly ComparisonRow[]): string {
  const f = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : Number(x.toPrecision(4)).toString());
  const cell = (p: ComparedPoint | null) => (p === null ? "–" : `${f(p.mean)}${p.ciLow === null ? "" : ` [${f(p.ciLow)}, ${f(p.ciHigh!)}]`} (n=${p.n})`);
  const lines = [["metric", "simulated", "real", "real − sim", "intervals"]];
  for (const r of rows) {
    lines.push([
      r.label,
      cell(r.simulated),
      cell(r.real),
      r.relativeDifference === null ? "–" : `${r.relativeDifference >= 0 ? "+" : ""}${(r.relativeDifference * 100).toFixed(1)} %`,
      r.overlap === null ? "–" : r.overlap ? "overlap" : "apart",
    ]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines.map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

/** A calibration overlay (what `calibrate` writes) as `--set` overrides; a bad file is a scenario error naming it. */
export function calibrationOverrides(file: string): string[] {
  const data = parse(readFileSync(file, "utf8")) as unknown;
  if (data === null || typeof data !== "object" || Array.isArray(data) || Object.values(data).some((v) => v === null || typeof v !== "object" || Array.isArray(v))) {
    throw new ScenarioError(file, ["expected a calibration overlay (sections of scenario fields, as `testbed calibrate` writes)"]);
  }
  return overlayOverrides(data as Record<string, Record<string, unknown>>);
}

/**
 * `testbed compare <inventory> <scenario>`: the scenario run `reps` times on the real hosts
 * (recorded in `db`) and `reps` seeds simulated — with the calibration overlay applied to the
 * simulated side only (the live side runs on what it measures) — and the metrics side by side
 * with their intervals and relative differences; the chart "simulated vs real" in `chartDir`.
 */
export async function compareCommand(inventoryFile: string, scenarioFile: string, options: CompareOptions): Promise<number> {
  const loaded = loadScenarioFile(scenarioFile, options.set);
  const serviceModel = options.serviceModel ?? loaded.scenario.serviceModels[0]!;
  const say = options.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const inventory = loadInventoryFile(inventoryFile);
  const overrides = options.calibration ? calibrationOverrides(options.calibration) : [];
  const calibrated = overrides.length > 0 ? loadScenarioFile(scenarioFile, [...options.set, ...overrides]) : loaded;
  if (!loaded.scenario.serviceModels.includes(serviceModel)) throw new UsageError(`${loaded.file}: serviceModels does not include ${serviceModel}`);
  await checkLiveRun(inventoryFile, inventory, loaded, serviceModel);
  const seed0 = loaded.scenario.seed ?? 1;
  const simulated: RunSample[] = [];
  for (let i = 0; i < options.reps; i++) {
    const events: DomainEvent[] = [];
    const outcome = simulate(calibrated.config, seed0 + i, serviceModel, { observe: (e) => events.push(e) });
    simulated.push(runSample(outcome.metrics, events));
  }
  say(`simulated ${options.reps} seed(s)${options.calibration ? ` with ${options.calibration}` : ""}`);
  mkdirSync(dirname(options.db), { recursive: true });
  const store = EventStore.open(options.db);
  const real: RunSample[] = [];
  const loads: number[] = [];
  let problems = 0;
  try {
    for (let i = 0; i < options.reps; i++) {
      say(`live run ${i + 1} of ${options.reps} (${Math.round(loaded.config.durationHours * 3600)} s)`);
      const events: DomainEvent[] = [];
      loads.push(loadavg()[0]!);
      const result = await runLive({
        inventory,
        config: loaded.config,
        meta: { scenarioName: loaded.scenario.name, scenarioFile: loaded.file, scenarioYaml: loaded.text, scenarioJson: loaded.canonical, scenarioHash: loaded.hash, seed: seed0 + i, packageVersion: "", gitCommit: null },
        serviceModel: serviceModel,
        seed: seed0 + i,
        store,
        provenance: currentProvenance(),
        virsh: new Virsh(),
        observe: (e) => events.push(e),
        report: (line) => say(`  ${line}`),
      });
      loads.push(loadavg()[0]!);
      problems += result.problems.length;
      real.push(runSample(result.metrics, events));
    }
  } finally {
    store.close();
  }
  const rows = comparisonRows(simulated, real);
  const note = `${loaded.scenario.name}, ${serviceModel}: ${options.reps} simulated seed(s)${options.calibration ? " (calibrated)" : ""} vs ${options.reps} live run(s); load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; 95 % t-intervals`;
  process.stdout.write(`${note}\n${comparisonTable(rows)}\n`);
  const points = rows.flatMap((r) => [r.simulated, r.real].filter((p): p is ComparedPoint => p !== null));
  const written = await writeChart(simVsRealChart(points, note), options.chartDir);
  say(`chart: ${written.files.find((f) => f.endsWith(".png"))}`);
  return problems === 0 ? ExitCode.ok : ExitCode.failed;
}
