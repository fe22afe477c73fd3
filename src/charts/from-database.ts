import { PRICES_2008, type PriceModel } from "../metrics/cost.js";
import { SERVICE_MODELS } from "../model/events.js";
import { scenarioSchema, type Scenario } from "../scenario/schema.js";
import { storageConfig } from "../sim/scenario-world.js";
import type { EventStore, RunRecord } from "../store/event-store.js";
import { availabilityChart } from "./availability.js";
import type { ChartOrSkip } from "./chart.js";
import { costChart, M1_SMALL, type VmSize } from "./cost.js";
import { migrationChart } from "./migration.js";
import { DEFAULT_MTTDL, mttdlChart, simulatedMttdl, type MttdlSetting } from "./mttdl.js";
import { recoveryCdfChart, recoveryTimesHours } from "./recovery-cdf.js";
import { runEvents, runsWithEvents } from "./run-events.js";
import type { CellRow } from "./summary-types.js";
import { timeline, timelineChart } from "./timeline.js";

/**
 * The six charts of a results database: (1) from the experiment's cell statistics, (2) and (6)
 * from stored event logs, (3), (4) and (5) from the closed-form models under the parameters of
 * the database's scenario (its prices, VM size, disk failure rate, volume size), with the
 * simulated MTTDL of the cells on (3). A chart without its data is skipped, with the reason.
 */
export interface ChartInputs {
  /** The experiment's per-cell statistics (empty: chart 1 is skipped). */
  cells: readonly CellRow[];
  /** Draw the timeline of this run (default: the first persistent-ha run with a stored log). */
  timelineRun?: number;
}

export function chartsForDatabase(store: EventStore, inputs: ChartInputs): ChartOrSkip[] {
  const runs = store.listRuns();
  const complete = runs.filter((r) => r.status === "complete");
  const scenario = complete[0] ? scenarioOf(complete[0]) : null;
  const charts: ChartOrSkip[] = [];

  charts.push(
    inputs.cells.length > 0
      ? availabilityChart(inputs.cells)
      : { name: "availability-vs-mtbf", skipped: "no cell statistics in this database (run an experiment with a sweep over a host failure rate)" },
  );

  const logged = runsWithEvents(runs);
  if (logged.length === 0) {
    charts.push({ name: "recovery-time-cdf", skipped: "no complete run with a stored event log (runs made with --no-events keep none)" });
  } else {
    const byModel = new Map<string, number[]>();
    for (const model of SERVICE_MODELS) {
      for (const run of logged.filter((r) => r.serviceModel === model)) {
        const times = recoveryTimesHours(runEvents(store, run.id));
        byModel.set(model, [...(byModel.get(model) ?? []), ...times]);
      }
    }
    const seeds = [...new Set(logged.map((r) => r.seed))];
    charts.push(recoveryCdfChart(byModel, `scenario ${logged[0]!.scenarioName}, ${seeds.length === 1 ? `seed ${seeds[0]}` : `${seeds.length} seeds pooled`}, runs ${logged.map((r) => r.id).join(", ")}`));
  }

  const mttdl = scenario ? mttdlSetting(scenario) : DEFAULT_MTTDL;
  const storage = scenario ? storageConfig(scenario) : null;
  charts.push(mttdlChart(mttdl, storage ? simulatedMttdl(inputs.cells, storage) : []));

  charts.push(costChart(scenario ? typicalVm(scenario) : M1_SMALL, scenario ? prices(scenario) : PRICES_2008));
  charts.push(migrationChart());

  const chosen =
    inputs.timelineRun !== undefined
      ? complete.find((r) => r.id === inputs.timelineRun && r.eventsStored)
      : (logged.find((r) => r.serviceModel === "persistent-ha") ?? logged[0]);
  if (inputs.timelineRun !== undefined && !chosen) {
    charts.push({ name: "run-timeline", skipped: `run ${inputs.timelineRun} is not a complete run with a stored event log` });
  } else if (!chosen) {
    charts.push({ name: "run-timeline", skipped: "no complete run with a stored event log" });
  } else {
    charts.push(timelineChart(timeline(runEvents(store, chosen.id)), `run ${chosen.id}: scenario ${chosen.scenarioName}, seed ${chosen.seed}`));
  }
  return charts;
}

/** The scenario a run recorded (its canonical JSON, validated again). */
export function scenarioOf(run: RunRecord): Scenario {
  return scenarioSchema.parse(JSON.parse(run.scenarioJson));
}

function prices(scenario: Scenario): PriceModel {
  return { ...PRICES_2008, ...scenario.prices };
}

/** The most requested VM size of the workload (the first of equal weight); m1.small without one. */
function typicalVm(scenario: Scenario): VmSize {
  const sizes = scenario.workload?.sizes ?? [];
  let best = sizes[0];
  for (const s of sizes) if ((s.weight ?? 1) > (best?.weight ?? 1)) best = s;
  return best ? { name: best.name, memoryGiB: best.memoryGiB, diskGiB: best.diskGiB } : M1_SMALL;
}

/** Disk MTTF from the scenario when its disk failures are exponential or fixed, and the typical volume size. */
function mttdlSetting(scenario: Scenario): MttdlSetting {
  const ttf: unknown = scenario.failures?.disk?.timeToFailureHours;
  const mean = typeof ttf === "number" ? ttf : ttf && typeof ttf === "object" && (ttf as { type?: string }).type === "exponential" ? (ttf as { mean: number }).mean : null;
  return { ...DEFAULT_MTTDL, diskMttfHours: mean ?? DEFAULT_MTTDL.diskMttfHours, volumeGiB: typicalVm(scenario).diskGiB };
}
