import { SERVICE_MODELS, type ServiceModel } from "../model/events.js";
import type { RunMetrics } from "../metrics/run-metrics.js";
import { reuseCount } from "./reuse.js";
import { SUMMARY_METRICS } from "../metrics/summary-metrics.js";
import { EventStore, runKey, type RunRecord } from "../event-store/event-store.js";
import { adjustPValues, familyConfidence, pairedTPValue, type Adjustment } from "../stats/multiple-comparisons.js";
import { mcnemarExactPValue, pairedProportionDifference, summarizeProportion } from "../stats/proportion.js";
import { CONFIDENCE, modelPairs, replicationFlag, summarize, type CellRow, type MetricSummary, type PairedDiffRow } from "../stats/summary.js";

/** A group of complete runs: one experiment cell (or one scenario without experiment). */
export interface Group {
  experiment: string;
  cell: Record<string, number | string | boolean>;
  /** serviceModel → seed → metrics, seeds ascending. */
  runs: Map<ServiceModel, Map<number, RunMetrics>>;
}

/** Of an experiment's planned runs, how many another cell's run stands for (`./reuse.ts`). */
export interface ExperimentReuse {
  experiment: string;
  planned: number;
  reused: number;
}

export interface SummaryOptions {
  /** Only these metrics (default: all); the family of paired comparisons is made of these. */
  metrics?: readonly string[];
  /** Correction for multiple paired comparisons, per experiment (default none). */
  adjust?: Adjustment;
}

/**
 * Reads a results database and summarizes every cell × service model × metric, and the paired
 * differences between service models on the same seeds. Cells come from the experiments recorded
 * in the database (their seeds and service models as last run); complete runs that belong to no
 * experiment are grouped by scenario (hash) with `cell: {}`, the experiment named after the scenario.
 *
 * Proportions (`anyDataLoss`) get exact intervals; t intervals with too few runs behind them are
 * flagged (`replicationFlag`). Every paired row carries a p-value of "no difference"; with
 * `adjust`, the family is every paired row of one experiment (all its cells, pairs and the chosen
 * metrics), its p-values are adjusted and its intervals made simultaneous (`familyConfidence`).
 */
export function summarizeDatabase(file: string, options: SummaryOptions = {}): { cells: CellRow[]; paired: PairedDiffRow[]; reuse: ExperimentReuse[]; damaged: Map<number, string> } {
  const store = EventStore.openReadonly(file);
  let groups: Group[];
  let reuse: ExperimentReuse[];
  try {
    groups = readGroups(store);
    reuse = store.listExperiments().map((e) => ({ experiment: e.name, ...reuseCount(e) }));
  } finally {
    store.close();
  }
  const wanted = options.metrics ? new Set(options.metrics) : null;
  const metrics = SUMMARY_METRICS.filter((m) => wanted === null || wanted.has(m.name));
  const read = (metric: (typeof SUMMARY_METRICS)[number], m: RunMetrics): number | null => {
    // A metrics row edited by hand (a JSON object of another shape) reads as no value, not as a crash.
    try {
      const v = metric.read(m);
      return typeof v === "number" ? v : null;
    } catch {
      return null;
    }
  };
  const cells: CellRow[] = [];
  const paired: { row: PairedDiffRow; pairs: [number, number][]; proportion: boolean }[] = [];
  for (const group of groups) {
    const models = SERVICE_MODELS.filter((m) => group.runs.has(m));
    for (const metric of metrics) {
      for (const serviceModel of models) {
        const values = [...group.runs.get(serviceModel)!.values()].map((m) => read(metric, m)).filter((v): v is number => v !== null);
        const method = metric.proportion ? "clopper-pearson" : "student-t";
        cells.push({ experiment: group.experiment, cell: group.cell, serviceModel, metric: metric.name, summary: metric.proportion ? summarizeProportion(values) : summarize(values), method, flag: replicationFlag(values, method) });
      }
      for (const [a, b] of modelPairs(models)) {
        const ra = group.runs.get(a)!;
        const rb = group.runs.get(b)!;
        const pairs: [number, number][] = [];
        for (const [seed, ma] of ra) {
          const mb = rb.get(seed);
          const va = read(metric, ma);
          const vb = mb === undefined ? null : read(metric, mb);
          if (va !== null && vb !== null) pairs.push([va, vb]);
        }
        const row = pairedRow(pairs, metric.proportion === true, CONFIDENCE);
        const method = metric.proportion ? "paired-clopper-pearson" : "student-t";
        paired.push({
          row: { experiment: group.experiment, cell: group.cell, metric: metric.name, a, b, ...row, method, flag: replicationFlag(pairs.map(([x, y]) => x - y), method) },
          pairs,
          proportion: metric.proportion === true,
        });
      }
    }
  }
  const adjust = options.adjust ?? "none";
  if (adjust !== "none") {
    for (const experiment of new Set(paired.map((p) => p.row.experiment))) {
      const family = paired.filter((p) => p.row.experiment === experiment);
      const adjusted = adjustPValues(family.map((p) => p.row.pValue ?? NaN), adjust);
      const confidence = familyConfidence(CONFIDENCE, adjusted.filter((p) => !Number.isNaN(p)).length, adjust);
      family.forEach((p, i) => {
        Object.assign(p.row, pairedRow(p.pairs, p.proportion, confidence), { pAdjusted: adjusted[i] });
      });
    }
  }
  return { cells, paired: paired.map((p) => p.row), reuse, damaged: store.damage };
}

/** The summary of a − b over (a, b) per seed at `confidence`, and its p-value of "no difference". */
function pairedRow(pairs: readonly [number, number][], proportion: boolean, confidence: number): { summary: MetricSummary; pValue: number; confidence: number } {
  if (proportion) return { summary: pairedProportionDifference(pairs, confidence), pValue: pairs.length === 0 ? NaN : mcnemarExactPValue(pairs), confidence };
  const summary = summarize(pairs.map(([x, y]) => x - y), confidence);
  return { summary, pValue: pairedTPValue(summary), confidence };
}

/** The complete runs of a database grouped by experiment cell (reused runs under every cell that uses them), then loose runs by scenario. */
export function readGroups(store: EventStore): Group[] {
  const groups: Group[] = [];
  const claimed = new Set<number>();
  const add = (group: Group, run: RunRecord) => {
    const model = run.serviceModel as ServiceModel;
    const bySeed = group.runs.get(model) ?? new Map<number, RunMetrics>();
    group.runs.set(model, bySeed);
    // The oldest complete run of a key; the same scenario and seed give the same metrics anyway.
    if (!bySeed.has(run.seed)) bySeed.set(run.seed, run.metrics as RunMetrics);
    claimed.add(run.id);
  };
  for (const experiment of store.listExperiments()) {
    const runs = store.completeRunsOf(experiment.cells.map((c) => c.scenarioHash));
    const seeds = new Set(experiment.definition.seeds);
    const models = new Set(experiment.definition.serviceModels);
    const hashOf = new Map(experiment.cells.map((c) => [c.index, c.scenarioHash]));
    for (const cell of experiment.cells) {
      const group: Group = { experiment: experiment.name, cell: cell.values, runs: new Map() };
      // A model whose configuration this cell shares with an earlier one reads that cell's runs.
      const reused = experiment.definition.reusedFrom?.[String(cell.index)] ?? {};
      const hashFor = (model: string) => (reused[model] !== undefined ? hashOf.get(reused[model]) : cell.scenarioHash);
      for (const run of runs) {
        if (run.scenarioHash === hashFor(run.serviceModel ?? "") && seeds.has(run.seed) && models.has(run.serviceModel ?? "")) add(group, run);
      }
      groups.push(sortSeeds(group));
    }
  }
  const loose = new Map<string, Group>();
  for (const run of store.completeRunsOf()) {
    if (claimed.has(run.id) || run.serviceModel === null) continue;
    const key = runKey(run.scenarioHash, 0, null);
    if (!loose.has(key)) loose.set(key, { experiment: run.scenarioName, cell: {}, runs: new Map() });
    add(loose.get(key)!, run);
  }
  const names = new Map<string, number>();
  for (const g of loose.values()) names.set(g.experiment, (names.get(g.experiment) ?? 0) + 1);
  for (const [key, g] of loose) {
    // Several scenarios of one name (e.g. run with different --set): tell them apart by hash.
    if (names.get(g.experiment)! > 1) g.experiment = `${g.experiment}@${key.slice(0, 12)}`;
    groups.push(sortSeeds(g));
  }
  return groups;
}

function sortSeeds(group: Group): Group {
  for (const [model, bySeed] of group.runs) group.runs.set(model, new Map([...bySeed].sort(([a], [b]) => a - b)));
  return group;
}
