import { SERVICE_MODELS, type ServiceModel } from "../model/events.js";
import type { RunMetrics } from "../metrics/run-metrics.js";
import { SUMMARY_METRICS } from "../metrics/summary-metrics.js";
import { EventStore, runKey, type RunRecord } from "../event-store/event-store.js";
import { modelPairs, summarize, type CellRow, type PairedDiffRow } from "../stats/summary.js";

/** A group of complete runs: one experiment cell (or one scenario without experiment). */
interface Group {
  experiment: string;
  cell: Record<string, number | string | boolean>;
  /** serviceModel → seed → metrics, seeds ascending. */
  runs: Map<ServiceModel, Map<number, RunMetrics>>;
}

/**
 * Reads a results database and summarizes every cell × service model × metric, and the paired
 * differences between service models on the same seeds. Cells come from the experiments recorded
 * in the database (their seeds and service models as last run); complete runs that belong to no
 * experiment are grouped by scenario (hash) with `cell: {}`, the experiment named after the scenario.
 */
export function summarizeDatabase(file: string): { cells: CellRow[]; paired: PairedDiffRow[]; damaged: Map<number, string> } {
  const store = EventStore.openReadonly(file);
  let groups: Group[];
  try {
    groups = readGroups(store);
  } finally {
    store.close();
  }
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
  const paired: PairedDiffRow[] = [];
  for (const group of groups) {
    const models = SERVICE_MODELS.filter((m) => group.runs.has(m));
    for (const metric of SUMMARY_METRICS) {
      for (const serviceModel of models) {
        const values = [...group.runs.get(serviceModel)!.values()].map((m) => read(metric, m)).filter((v): v is number => v !== null);
        cells.push({ experiment: group.experiment, cell: group.cell, serviceModel, metric: metric.name, summary: summarize(values) });
      }
      for (const [a, b] of modelPairs(models)) {
        const ra = group.runs.get(a)!;
        const rb = group.runs.get(b)!;
        const diffs: number[] = [];
        for (const [seed, ma] of ra) {
          const mb = rb.get(seed);
          const va = read(metric, ma);
          const vb = mb === undefined ? null : read(metric, mb);
          if (va !== null && vb !== null) diffs.push(va - vb);
        }
        paired.push({ experiment: group.experiment, cell: group.cell, metric: metric.name, a, b, summary: summarize(diffs) });
      }
    }
  }
  return { cells, paired, damaged: store.damage };
}

function readGroups(store: EventStore): Group[] {
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
    for (const cell of experiment.cells) {
      const group: Group = { experiment: experiment.name, cell: cell.values, runs: new Map() };
      for (const run of runs) {
        if (run.scenarioHash === cell.scenarioHash && seeds.has(run.seed) && models.has(run.serviceModel ?? "")) add(group, run);
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
