import { SERVICE_MODELS, type ServiceModel } from "../model/events.js";
import type { RunMetrics } from "../metrics/run-metrics.js";
import { SUMMARY_METRICS, type MetricDefinition } from "../metrics/summary-metrics.js";
import { EventStore, type StoredExperiment } from "../event-store/event-store.js";
import { bootstrapSensitivity, sensitivityMeasures } from "../stats/sensitivity.js";
import { summarize, type MetricSummary } from "../stats/summary.js";
import { readGroups, type Group } from "./summary.js";

/** What is analysed: one model's metric, or the paired difference a − b of two models on the same seeds. */
export type Response = { metric: string; model: ServiceModel } | { metric: string; pair: [ServiceModel, ServiceModel] };

export const responseText = (r: Response) => ("pair" in r ? `${r.metric} of ${r.pair[0]} − ${r.pair[1]}` : `${r.metric} of ${r.model}`);

/** One path moved alone from the baseline to one value: the effect on the response, paired over seeds. */
export interface OneAtATimeEffect {
  path: string;
  value: number | string | boolean;
  baselineValue: number | string | boolean;
  /** Per seed, response(moved) − response(baseline): mean, sd and Student-t 95 % interval. */
  effect: MetricSummary;
}

/** A tornado bar: the smallest and largest effect of one path over its values; bars sorted by swing. */
export interface TornadoBar {
  path: string;
  low: OneAtATimeEffect;
  high: OneAtATimeEffect;
  swing: number;
}

export interface LatinHypercubeMeasures {
  /** The paths with numeric values, in file order (a path of texts cannot enter a regression: left out). */
  paths: string[];
  points: number;
  src: { value: number; ci: [number, number] }[];
  prcc: { value: number; ci: [number, number] }[];
  rSquared: { value: number; ci: [number, number] };
}

export interface SensitivityResult {
  experiment: string;
  design: "oneAtATime" | "latinHypercube";
  response: Response;
  seeds: number;
  /** The response at the baseline (oneAtATime). */
  baseline?: MetricSummary;
  effects?: OneAtATimeEffect[];
  tornado?: TornadoBar[];
  measures?: LatinHypercubeMeasures;
}

export class SensitivityError extends Error {}

/**
 * The sensitivity of a response to the paths of every oneAtATime or latinHypercube experiment
 * in a database. The response of a cell and seed is the metric of the model (or a − b of the pair)
 * in that seed's run; seeds are shared by every cell, so effects are paired differences over
 * seeds (common random numbers) and Latin hypercube points are compared on equal footing.
 * - oneAtATime: for each moved path and value, the per-seed effect against the baseline cell with
 *   its t interval; the tornado bar of a path spans its smallest and largest mean effect.
 * - latinHypercube: the response averaged over seeds at each point; SRC with R² and PRCC over the
 *   points, with percentile bootstrap intervals (`src/stats/sensitivity.ts`).
 */
export function sensitivityOfDatabase(file: string, response: Response, options: { experiment?: string; resamples?: number } = {}): SensitivityResult[] {
  const metric = SUMMARY_METRICS.find((m) => m.name === response.metric);
  if (!metric) throw new SensitivityError(`--metric ${response.metric}: expected one of ${SUMMARY_METRICS.map((m) => m.name).join(", ")}`);
  const store = EventStore.openReadonly(file);
  let experiments: StoredExperiment[];
  let groups: Group[];
  try {
    experiments = store.listExperiments();
    groups = readGroups(store);
  } finally {
    store.close();
  }
  const designed = experiments.filter((e) => (options.experiment === undefined || e.name === options.experiment) && (e.definition.design === "oneAtATime" || e.definition.design === "latinHypercube"));
  if (designed.length === 0) {
    throw new SensitivityError(`${file}: no ${options.experiment ? `experiment ${options.experiment} with a ` : ""}oneAtATime or latinHypercube experiment (experiments: ${experiments.map((e) => `${e.name} (${e.definition.design ?? "grid"})`).join(", ") || "none"})`);
  }
  return designed.map((experiment) => {
    const cells = experiment.cells.map((cell) => {
      const group = groups.find((g) => g.experiment === experiment.name && g.cell === cell.values) ?? groups.find((g) => g.experiment === experiment.name && JSON.stringify(g.cell) === JSON.stringify(cell.values));
      return { values: cell.values, bySeed: group ? responseBySeed(group, response, metric) : new Map<number, number>() };
    });
    const seeds = experiment.definition.seeds.length;
    if (experiment.definition.design === "oneAtATime") return oneAtATime(experiment, response, cells, seeds);
    return latinHypercube(experiment, response, cells, seeds, options.resamples ?? 1000);
  });
}

/** seed → the response of that seed's run(s) in a cell, for seeds where it is defined. */
function responseBySeed(group: Group, response: Response, metric: MetricDefinition): Map<number, number> {
  const out = new Map<number, number>();
  const read = (model: ServiceModel, seed: number) => {
    const m: RunMetrics | undefined = group.runs.get(model)?.get(seed);
    return m === undefined ? null : metric.read(m);
  };
  const models = "pair" in response ? response.pair : [response.model];
  for (const seed of group.runs.get(models[0]!)?.keys() ?? []) {
    const a = read(models[0]!, seed);
    const b = models.length === 2 ? read(models[1]!, seed) : 0;
    if (a !== null && b !== null) out.set(seed, a - b);
  }
  return out;
}

type CellResponses = { values: Record<string, number | string | boolean>; bySeed: Map<number, number> }[];

function oneAtATime(experiment: StoredExperiment, response: Response, cells: CellResponses, seeds: number): SensitivityResult {
  const baselineValues = experiment.definition.baseline ?? {};
  const base = cells[0]!;
  const effects: OneAtATimeEffect[] = [];
  for (const cell of cells.slice(1)) {
    const moved = Object.keys(cell.values).find((p) => cell.values[p] !== baselineValues[p]);
    if (moved === undefined) continue;
    const diffs = [...cell.bySeed].filter(([seed]) => base.bySeed.has(seed)).map(([seed, y]) => y - base.bySeed.get(seed)!);
    effects.push({ path: moved, value: cell.values[moved]!, baselineValue: baselineValues[moved]!, effect: summarize(diffs) });
  }
  const tornado: TornadoBar[] = [];
  for (const path of experiment.definition.sweepPaths) {
    const mine = effects.filter((e) => e.path === path && Number.isFinite(e.effect.mean));
    if (mine.length === 0) continue;
    const low = mine.reduce((a, b) => (b.effect.mean < a.effect.mean ? b : a));
    const high = mine.reduce((a, b) => (b.effect.mean > a.effect.mean ? b : a));
    tornado.push({ path, low, high, swing: Math.max(Math.abs(low.effect.mean), Math.abs(high.effect.mean), high.effect.mean - low.effect.mean) });
  }
  tornado.sort((a, b) => b.swing - a.swing || a.path.localeCompare(b.path));
  return { experiment: experiment.name, design: "oneAtATime", response, seeds, baseline: summarize([...base.bySeed.values()]), effects, tornado };
}

function latinHypercube(experiment: StoredExperiment, response: Response, cells: CellResponses, seeds: number, resamples: number): SensitivityResult {
  const paths = experiment.definition.sweepPaths.filter((p) => cells.every((c) => typeof c.values[p] === "number"));
  const points = cells.filter((c) => c.bySeed.size > 0);
  if (points.length < paths.length + 2) {
    throw new SensitivityError(`experiment ${experiment.name}: ${points.length} points with runs for ${paths.length} numeric paths; PRCC and SRC need at least ${paths.length + 2} (more samples, or finish the runs)`);
  }
  const x = points.map((c) => paths.map((p) => c.values[p] as number));
  const y = points.map((c) => summarize([...c.bySeed.values()]).mean);
  const m = sensitivityMeasures(x, y);
  const boot = bootstrapSensitivity(x, y, { resamples });
  return {
    experiment: experiment.name,
    design: "latinHypercube",
    response,
    seeds,
    measures: {
      paths,
      points: points.length,
      src: m.src.map((value, j) => ({ value, ci: boot.src[j]! })),
      prcc: m.prcc.map((value, j) => ({ value, ci: boot.prcc[j]! })),
      rSquared: { value: m.rSquared, ci: boot.rSquared },
    },
  };
}

/**
 * The sensitivity of `metric` for each pair that both models of a designed experiment ran, or []
 * when the database has no oneAtATime / latinHypercube experiment (for charts and the report).
 */
export function sensitivityForPairs(file: string, metric: string, pairs: readonly [ServiceModel, ServiceModel][]): SensitivityResult[] {
  const out: SensitivityResult[] = [];
  for (const pair of pairs) {
    try {
      out.push(...sensitivityOfDatabase(file, { metric, pair }).filter((r) => r.baseline === undefined || r.baseline.n > 0 || r.measures !== undefined));
    } catch (error) {
      if (!(error instanceof SensitivityError)) throw error;
    }
  }
  return out;
}

/** Parses `a-b` into two service models (names may contain '-'): `persistent-ha-ephemeral`. */
export function parsePair(text: string): [ServiceModel, ServiceModel] | null {
  for (const a of SERVICE_MODELS) for (const b of SERVICE_MODELS) if (a !== b && text === `${a}-${b}`) return [a, b];
  return null;
}

const g = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(4))) : "–");
const ci = (s: MetricSummary) => `${g(s.mean)} [${g(s.ciLow)}, ${g(s.ciHigh)}]`;

export function sensitivityText(r: SensitivityResult): string {
  const out = [`${r.experiment} (${r.design}, ${r.seeds} shared seeds): ${responseText(r.response)}`];
  if (r.design === "oneAtATime") {
    out.push(`  baseline: ${r.baseline ? ci(r.baseline) : "–"} (mean [95 % CI])`, "  tornado, largest swing first: effect of moving one path alone (paired over seeds, mean [95 % CI])");
    for (const bar of r.tornado ?? []) {
      out.push(`  ${bar.path} (baseline ${String(bar.low.baselineValue)}): swing ${g(bar.swing)}`);
      for (const e of (r.effects ?? []).filter((x) => x.path === bar.path)) out.push(`      = ${String(e.value)}: ${ci(e.effect)}`);
    }
  } else {
    const m = r.measures!;
    out.push(`  ${m.points} points; linear fit R² = ${g(m.rSquared.value)} [${g(m.rSquared.ci[0])}, ${g(m.rSquared.ci[1])}] (SRC are trustworthy as far as R² is high); 95 % bootstrap intervals`);
    const order = m.paths.map((p, j) => j).sort((a, b) => Math.abs(m.prcc[b]!.value) - Math.abs(m.prcc[a]!.value));
    for (const j of order) out.push(`  ${m.paths[j]}: PRCC ${g(m.prcc[j]!.value)} [${g(m.prcc[j]!.ci[0])}, ${g(m.prcc[j]!.ci[1])}], SRC ${g(m.src[j]!.value)} [${g(m.src[j]!.ci[0])}, ${g(m.src[j]!.ci[1])}]`);
  }
  return `${out.join("\n")}\n`;
}
