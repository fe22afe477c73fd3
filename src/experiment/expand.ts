import { SERVICE_MODELS, type ServiceModel } from "../model/events.js";
import { Random } from "../kernel/random.js";
import { LIMITS } from "../scenario/limits.js";
import { documentWithOverrides, readScenarioDocument, ScenarioError, validateScenario, type LoadedScenario } from "../scenario/load.js";
import type { EXPERIMENT_DESIGNS } from "../scenario/schema.js";
import type { ExperimentDefinition, StoredCell } from "../event-store/event-store.js";
import { reuseSources } from "./reuse.js";

/** A swept value, as written in the file. */
export type SweepValue = number | string | boolean;

export type ExperimentDesign = (typeof EXPERIMENT_DESIGNS)[number];

/** A swept range of a Latin hypercube design. */
export interface SweepRange {
  min: number;
  max: number;
  scale: "linear" | "log";
}

/** One point of the design: the base scenario with one value for each swept path. */
export interface Cell {
  /** Position in the design: in a grid, first path outermost, values in file order; see `designPoints`. */
  index: number;
  /** Swept path → its value here, every path of the design (`{}` when nothing is swept). */
  values: Record<string, SweepValue>;
  /** The `path=value` settings applied to the base scenario (the `--set` machinery). */
  overrides: string[];
  /** The cell's scenario, validated and resolved, with its own canonical hash. */
  loaded: LoadedScenario;
  /** Models whose run this cell takes from an earlier cell (same resolved configuration for that model, `./reuse.ts`): model → that cell's index. */
  reusedFrom: Partial<Record<ServiceModel, number>>;
}

export interface PlannedRun {
  cell: number;
  seed: number;
  serviceModel: ServiceModel;
  /** The cell whose run of this seed and model is this one's too (not run again), if any. */
  reusedFrom?: number;
}

export interface ExperimentPlan {
  /** The scenario's name: the results folder and the experiment's key in the database. */
  name: string;
  file: string;
  design: ExperimentDesign;
  sweepPaths: string[];
  /** oneAtATime: each path's value in the scenario as written (cell 0); the other cells move one path away from it. */
  baseline?: Record<string, SweepValue>;
  cells: Cell[];
  seeds: number[];
  serviceModels: ServiceModel[];
  /** Every run: cells × seeds × service models, in that nesting order (reused ones included, marked). */
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
    const swept = spec.sweep[path]!;
    for (const value of Array.isArray(swept) ? swept : [swept.min, swept.max]) {
      try {
        validateScenario(document, [...overrides, setting(path, value)]);
      } catch (error) {
        if (!(error instanceof ScenarioError)) throw error;
        const prefix = `--set ${setting(path, value)}: `; // the override machinery's own wording
        problems.push(...error.problems.map((p) => `experiment.sweep.${path} = ${JSON.stringify(value)}: ${p.startsWith(prefix) ? p.slice(prefix.length) : p}`));
      }
    }
  }
  let baseline: Record<string, SweepValue> | undefined;
  if (spec.design === "oneAtATime") {
    baseline = {};
    const written = documentWithOverrides(document, overrides);
    for (const path of sweepPaths) {
      // As written (a number stays a number where the schema makes it a distribution), else the default.
      const value = valueAt(written, path) ?? valueAt(base.scenario, path);
      if (typeof value === "number" || typeof value === "string" || typeof value === "boolean") baseline[path] = value;
      else problems.push(`experiment.sweep.${path}: expected the scenario to set this path to a number, a text or true/false (the oneAtATime baseline), got ${value === undefined ? "nothing" : JSON.stringify(value)}`);
    }
  }
  if (problems.length > 0) throw new ScenarioError(file, problems);

  const first = base.scenario.seed ?? 1;
  // Counted before the points are built: a grid of 100 values on each of 6 paths would not fit in memory.
  const cellCount =
    spec.design === "oneAtATime"
      ? 1 + sweepPaths.reduce((n, path) => n + (spec.sweep[path] as unknown[]).length, 0)
      : spec.design === "latinHypercube"
        ? (spec.samples ?? 0)
        : sweepPaths.reduce((n, path) => n * (spec.sweep[path] as unknown[]).length, 1);
  if (cellCount > MAX_CELLS) {
    throw new ScenarioError(file, [`experiment.sweep: expected at most ${MAX_CELLS} cells, got ${cellCount}`]);
  }
  const seedCount = spec.seeds?.length ?? spec.replications ?? 1;
  const runCount = cellCount * seedCount * base.scenario.serviceModels.length;
  if (runCount > LIMITS.experimentRuns) {
    throw new ScenarioError(file, [`experiment: expected at most ${LIMITS.experimentRuns} runs (cells × seeds × service models), got ${cellCount} × ${seedCount} × ${base.scenario.serviceModels.length} = ${runCount}`]);
  }
  const combinations = designPoints(spec.design, sweepPaths.map((path) => spec.sweep[path]!), { baseline: sweepPaths.map((p) => baseline?.[p]!), samples: spec.samples ?? 0, seed: first });
  const cells = combinations.map((combination, index): Cell => {
    const values = Object.fromEntries(sweepPaths.map((path, i) => [path, combination[i]!]));
    const cellOverrides = sweepPaths.map((path, i) => setting(path, combination[i]!));
    try {
      return { index, values, overrides: cellOverrides, loaded: validateScenario(document, [...overrides, ...cellOverrides]), reusedFrom: {} };
    } catch (error) {
      if (!(error instanceof ScenarioError)) throw error;
      const where = sweepPaths.map((path, i) => `${path} = ${JSON.stringify(combination[i])}`).join(", ");
      throw new ScenarioError(file, error.problems.map((p) => `experiment.sweep (${where}): ${p}`));
    }
  });
  const seeds = spec.seeds ?? Array.from({ length: spec.replications ?? 1 }, (_, i) => first + i);
  const serviceModels = SERVICE_MODELS.filter((m) => base.scenario.serviceModels.includes(m));
  reuseSources(cells.map((c) => c.loaded.config), serviceModels).forEach((reused, i) => (cells[i]!.reusedFrom = reused));
  const runs = cells.flatMap((cell) =>
    seeds.flatMap((seed) => serviceModels.map((serviceModel): PlannedRun => ({ cell: cell.index, seed, serviceModel, ...(cell.reusedFrom[serviceModel] !== undefined ? { reusedFrom: cell.reusedFrom[serviceModel] } : {}) }))),
  );
  return { name: base.scenario.name, file, design: spec.design, sweepPaths, ...(baseline ? { baseline } : {}), cells, seeds, serviceModels, runs };
}

/**
 * The points of a design, one value per path (paths in file order):
 * - `grid`: every combination, first path outermost.
 * - `oneAtATime`: the baseline first, then each path in turn over its listed values, the others
 *   at the baseline (a value equal to the baseline is not run twice): 1 + Σ (values − 1) points.
 * - `latinHypercube`: `samples` points; each path's range is cut into `samples` strata of equal
 *   probability and every stratum is used exactly once, the strata of different paths matched by
 *   independent random permutations, each point uniform within its stratum (McKay, Beckman &
 *   Conover 1979, Technometrics 21:239). A range maps the unit draw u linearly (min + u·(max −
 *   min)) or logarithmically (min·(max/min)^u); a list takes entry ⌊u·length⌋. Values are rounded to
 *   6 significant digits so that cells read well. The draws come from the scenario's `seed`, stream
 *   "latinHypercube", so the design is fixed by the file and does not move with the run seeds.
 */
export function designPoints(
  design: ExperimentDesign,
  sweeps: readonly (readonly SweepValue[] | SweepRange)[],
  options: { baseline: readonly SweepValue[]; samples: number; seed: number },
): SweepValue[][] {
  const lists = () => sweeps.map((s) => (Array.isArray(s) ? (s as SweepValue[]) : []));
  if (design === "grid") return grid(lists());
  if (design === "oneAtATime") {
    const points: SweepValue[][] = [[...options.baseline]];
    lists().forEach((values, i) => {
      for (const value of values) if (value !== options.baseline[i]) points.push(options.baseline.map((b, j) => (j === i ? value : b)));
    });
    return points;
  }
  const n = options.samples;
  const random = Random.fromSeed(options.seed).fork("latinHypercube");
  const columns = sweeps.map((sweep) => {
    const strata = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = random.int(i + 1);
      [strata[i], strata[j]] = [strata[j]!, strata[i]!];
    }
    return strata.map((stratum) => valueOf(sweep, (stratum + random.float()) / n));
  });
  return Array.from({ length: n }, (_, i) => columns.map((column) => column[i]!));
}

function valueOf(sweep: readonly SweepValue[] | SweepRange, u: number): SweepValue {
  if (Array.isArray(sweep)) return sweep[Math.min(sweep.length - 1, Math.floor(u * sweep.length))]!;
  const { min, max, scale } = sweep as SweepRange;
  const x = scale === "log" ? min * (max / min) ** u : min + u * (max - min);
  return Math.min(max, Math.max(min, Number(x.toPrecision(6))));
}

/** The value at a dotted path of the (validated) scenario, or undefined. */
function valueAt(scenario: unknown, path: string): unknown {
  let node: unknown = scenario;
  for (const key of path.split(/\.|(?=\[)/)) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[/^\[\d+\]$/.test(key) ? key.slice(1, -1) : key];
  }
  return node;
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

/** What an experiment is, as the database keeps it (the local runner records the same). */
export function experimentDefinition(plan: ExperimentPlan): ExperimentDefinition {
  return {
    file: plan.file,
    design: plan.design,
    sweepPaths: plan.sweepPaths,
    ...(plan.baseline ? { baseline: plan.baseline } : {}),
    seeds: plan.seeds,
    serviceModels: plan.serviceModels,
    reusedFrom: Object.fromEntries(plan.cells.filter((c) => Object.keys(c.reusedFrom).length > 0).map((c) => [String(c.index), c.reusedFrom as Record<string, number>])),
  };
}

/** The cells as the database keeps them. */
export function storedCells(plan: ExperimentPlan): StoredCell[] {
  return plan.cells.map((c) => ({ index: c.index, values: c.values, scenarioHash: c.loaded.hash }));
}
