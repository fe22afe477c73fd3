import { simulate } from "../adapters/sim/simulate.js";
import type { ServiceModel } from "../model/events.js";
import { SUMMARY_METRICS } from "../metrics/summary-metrics.js";
import { readScenarioDocument, ScenarioError, validateScenario } from "../scenario/load.js";
import { findCrossing, type Crossing } from "../stats/breakeven.js";
import { modelRunKey } from "./reuse.js";

export interface BreakevenQuestion {
  file: string;
  text: string;
  /** `--set` settings applied to the scenario at every probe. */
  overrides: readonly string[];
  path: string;
  between: [number, number];
  pair: [ServiceModel, ServiceModel];
  metric: string;
  /** The seeds of every probe (common random numbers). */
  seeds: readonly number[];
  probes?: number;
  log?: boolean;
}

export interface BreakevenResult extends Crossing {
  question: Omit<BreakevenQuestion, "text">;
  /** Simulated runs made, and runs whose model's configuration was the same at another probe (not run again). */
  runs: number;
  reused: number;
}

/**
 * Where the paired difference `metric(a) − metric(b)` of two service models crosses zero as
 * `path` moves over `between`, each probe the scenario with `path=value` run for both models on
 * the same seeds (`src/stats/breakeven.ts` for the search and the interval). A model whose
 * resolved configuration does not change with the path (`./reuse.ts`) is run once per seed.
 * Throws `ScenarioError` naming the path for a value the scenario does not accept, and
 * `NoCrossing` when the sign is the same at both ends.
 */
export function breakeven(question: BreakevenQuestion): BreakevenResult {
  const metric = SUMMARY_METRICS.find((m) => m.name === question.metric);
  if (!metric) throw new ScenarioError(question.file, [`--metric ${question.metric}: expected one of ${SUMMARY_METRICS.map((m) => m.name).join(", ")}`]);
  const document = readScenarioDocument(question.file, question.text);
  const cache = new Map<string, number | null>();
  let runs = 0;
  let reused = 0;
  const valueOf = (config: Parameters<typeof modelRunKey>[0], model: ServiceModel, seed: number) => {
    const key = `${model}\t${seed}\t${modelRunKey(config, model)}`;
    if (cache.has(key)) {
      reused++;
      return cache.get(key)!;
    }
    runs++;
    const value = metric.read(simulate(config, seed, model).metrics);
    cache.set(key, value);
    return value;
  };
  const differences = (value: number) => {
    let config;
    try {
      config = validateScenario(document, [...question.overrides, `${question.path}=${JSON.stringify(value)}`]).config;
    } catch (error) {
      if (!(error instanceof ScenarioError)) throw error;
      throw new ScenarioError(question.file, error.problems.map((p) => `--vary ${question.path} = ${value}: ${p}`));
    }
    const out: number[] = [];
    for (const seed of question.seeds) {
      const a = valueOf(config, question.pair[0], seed);
      const b = valueOf(config, question.pair[1], seed);
      if (a !== null && b !== null) out.push(a - b);
    }
    return out;
  };
  const crossing = findCrossing(differences, question.between[0], question.between[1], { probes: question.probes, log: question.log });
  const { text: _text, ...asked } = question;
  return { ...crossing, question: asked, runs, reused };
}

export function breakevenText(r: BreakevenResult): string {
  const { path, pair, metric, seeds } = r.question;
  const g = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : String(x));
  const lines = [
    `${metric}: ${pair[0]} − ${pair[1]} crosses zero at ${path} = ${g(r.estimate)}`,
    `  values the data cannot rule out (95 % CI of the difference holds 0): ${r.lowOpen ? "≤ " : ""}${g(r.low)} … ${g(r.high)}${r.highOpen ? " or more" : ""}`,
    `  ${r.probes.length} probes × ${seeds.length} shared seeds; ${r.runs} runs, ${r.reused} reused (a model whose configuration the path does not change)`,
    "  probe  mean difference [95 % CI]",
    ...r.probes.map((p) => `  ${g(p.value).padStart(8)}  ${g(p.summary.mean)} [${g(p.summary.ciLow)}, ${g(p.summary.ciHigh)}]`),
  ];
  return `${lines.join("\n")}\n`;
}
