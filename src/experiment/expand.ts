import { SERVICE_MODELS, type ServiceModel } from "../model/events.js";
import { LIMITS } from "../scenario/limits.js";
import { readScenarioDocument, ScenarioError, validateScenario, type LoadedScenario } from "../scenario/load.js";

/** A swept value, as written in the file. */
export type SweepValue = number | string | boolean;

/** One point of the sweep grid: the base scenario with one value for each swept path. */
export interface Cell {
  /** Position in the grid, first path outermost, values in file order. */
  index: number;
  /** Swept path → its value here (`{}` when nothing is swept). */
  values: Record<string, SweepValue>;
  /** The `path=value` settings applied to the base scenario (the `--set` machinery). */
  overrides: string[];
  /** The cell's scenario, validated and resolved, with its own canonical hash. */
  loaded: LoadedScenario;
}

export interface PlannedRun {
  cell: number;
  seed: number;
  serviceModel: ServiceModel;
}

export interface ExperimentPlan {
  /** The scenario's name: the results folder and the experiment's key in the database. */
  name: string;
  file: string;
  sweepPaths: string[];
  cells: Cell[];
  seeds: number[];
  serviceModels: ServiceModel[];
  /** Every run: cells × seeds × service models, in that nesting order. */
  runs: PlannedRun[];
}

/** Cells above this are almost certainly a mistake in the sweep (and would take days). */
const MAX_CELLS = 10_000;

/**
 * Expands a scenario file with an `experiment:` section into its cells and runs. The file is parsed
 * once; each cell is that document with `overrides` (the `--set` settings given for the whole
 * experiment) plus one `path=value` per swept path, validated like a file written that way and
 * resolved once here (workers get it resolved); its hash is that of such a file. Problems are reported as `file: experiment.sweep.<path> = <value>: <problem>`:
 * first each value alone, then each combination (a value can be fine alone and clash with another).
 */
export function expandExperiment(file: string, text: string, overrides: readonly string[] = []): ExperimentPlan {
  const document = readScenarioDocument(file, text);
  const base = validateScenario(document, overrides);
  const spec = base.scenario.experiment;
  if (!spec) throw new ScenarioError(file, ["experiment: expected an experiment section (sweep, replications or seeds)"]);
  const sweepPaths = Object.keys(spec.sweep);
  const problems: string[] = [];
  for (const path of sweepPaths) {
    const missing = missingParent(base.scenario, path);
    if (missing !== null) {
      problems.push(`experiment.sweep.${path}: expected a path into the scenario, but ${missing}`);
      continue;
    }
    for (const value of spec.sweep[path]!) {
      try {
        validateScenario(document, [...overrides, setting(path, value)]);
      } catch (error) {
        if (!(error instanceof ScenarioError)) throw error;
        const prefix = `--set ${setting(path, value)}: `; // the override machinery's own wording
        problems.push(...error.problems.map((p) => `experiment.sweep.${path} = ${JSON.stringify(value)}: ${p.startsWith(prefix) ? p.slice(prefix.length) : p}`));
      }
    }
  }
  if (problems.length > 0) throw new ScenarioError(file, problems);

  // Counted before the grid is built: a sweep of 100 values on each of 6 paths would not fit in memory.
  const cellCount = sweepPaths.reduce((n, path) => n * spec.sweep[path]!.length, 1);
  if (cellCount > MAX_CELLS) {
    throw new ScenarioError(file, [`experiment.sweep: expected at most ${MAX_CELLS} cells, got ${cellCount}`]);
  }
  const seedCount = spec.seeds?.length ?? spec.replications ?? 1;
  const runCount = cellCount * seedCount * base.scenario.serviceModels.length;
  if (runCount > LIMITS.experimentRuns) {
    throw new ScenarioError(file, [`experiment: expected at most ${LIMITS.experimentRuns} runs (cells × seeds × service models), got ${cellCount} × ${seedCount} × ${base.scenario.serviceModels.length} = ${runCount}`]);
  }
  const combinations = grid(sweepPaths.map((path) => spec.sweep[path]!));
  const cells = combinations.map((combination, index): Cell => {
    const values = Object.fromEntries(sweepPaths.map((path, i) => [path, combination[i]!]));
    const cellOverrides = sweepPaths.map((path, i) => setting(path, combination[i]!));
    try {
      return { index, values, overrides: cellOverrides, loaded: validateScenario(document, [...overrides, ...cellOverrides]) };
    } catch (error) {
      if (!(error instanceof ScenarioError)) throw error;
      const where = sweepPaths.map((path, i) => `${path} = ${JSON.stringify(combination[i])}`).join(", ");
      throw new ScenarioError(file, error.problems.map((p) => `experiment.sweep (${where}): ${p}`));
    }
  });
  const first = base.scenario.seed ?? 1;
  const seeds = spec.seeds ?? Array.from({ length: spec.replications ?? 1 }, (_, i) => first + i);
  const serviceModels = SERVICE_MODELS.filter((m) => base.scenario.serviceModels.includes(m));
  const runs = cells.flatMap((cell) => seeds.flatMap((seed) => serviceModels.map((serviceModel) => ({ cell: cell.index, seed, serviceModel }))));
  return { name: base.scenario.name, file, sweepPaths, cells, seeds, serviceModels, runs };
}

/** `path=value` for the override machinery; JSON is YAML, so the value reads back as written. */
function setting(path: string, value: SweepValue): string {
  return `${path}=${JSON.stringify(value)}`;
}

/** Every combination of one value per list, the first list outermost. */
function grid(lists: SweepValue[][]): SweepValue[][] {
  return lists.reduce<SweepValue[][]>((acc, values) => acc.flatMap((prefix) => values.map((v) => [...prefix, v])), [[]]);
}

/**
 * Null if everything above the path's last key is in the scenario (after defaults), else what is
 * missing. The last key itself is checked by the strict schema when the value is applied, so an
 * optional field that the file leaves out (`storage.replicas`) can still be swept.
 */
function missingParent(scenario: unknown, path: string): string | null {
  const keys = path.split(/\.|(?=\[)/).map((k) => (/^\[\d+\]$/.test(k) ? Number(k.slice(1, -1)) : k));
  let node: unknown = scenario;
  let walked = "";
  for (const key of keys.slice(0, -1)) {
    walked += typeof key === "number" ? `[${key}]` : walked === "" ? key : `.${key}`;
    if (node === null || typeof node !== "object") return `${walked} is not a mapping or a list`;
    node = (node as Record<string | number, unknown>)[key];
    if (node === undefined) return `${walked} is not in it`;
  }
  const last = keys[keys.length - 1]!;
  if (node === null || typeof node !== "object") return `${walked} is not a mapping or a list`;
  if (Array.isArray(node) !== (typeof last === "number")) return `${walked} is ${Array.isArray(node) ? "a list" : "a mapping"}`;
  if (typeof last === "number" && last >= (node as unknown[]).length) return `${walked} has ${(node as unknown[]).length} entries`;
  return null;
}
