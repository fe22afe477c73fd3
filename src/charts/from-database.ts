import { distribution, type DistributionSpec } from "../kernel/distributions.js";
import { PRICES_2008 } from "../scenario/defaults.js";
import { SERVICE_MODELS, type PriceModel, type ServiceModel } from "../model/events.js";
import { resolveScenario } from "../scenario/resolve.js";
import { scenarioSchema, type Scenario } from "../scenario/schema.js";
import type { EventStore, RunRecord } from "../event-store/event-store.js";
import { availabilityChart } from "./availability.js";
import type { ChartOrSkip } from "./chart.js";
import { costChart, M1_SMALL, type VmSize } from "./cost.js";
import { migrationChart } from "./migration.js";
import { DEFAULT_MTTDL, mttdlChart, simulatedLoss, type MttdlSetting } from "./mttdl.js";
import { recoveryCdfChart, recoveryTimesHours } from "./recovery-cdf.js";
import { runEvents, runsWithEvents } from "./run-events.js";
import type { CellRow } from "../stats/summary.js";
import { timeline, timelineChart } from "./timeline.js";
import { prccChart, tornadoChart } from "./sensitivity.js";
import type { SensitivityResult } from "../experiment/sensitivity.js";

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
  /** Sensitivity of the database's oneAtATime / latinHypercube experiments (`sensitivityCharts`): a tornado or PRCC chart each. */
  sensitivity?: readonly SensitivityResult[];
}

/** The pairs whose sensitivity the charts and the report show: the thesis model against each other. */
export const SENSITIVITY_PAIRS: readonly [ServiceModel, ServiceModel][] = [
  ["persistent-ha", "ephemeral"],
  ["persistent-ha", "vps"],
];

/** The tornado (oneAtATime) or PRCC (latinHypercube) chart of each result, named after the experiment and the pair. */
export function sensitivityCharts(results: readonly SensitivityResult[]): ChartOrSkip[] {
  return results.map((r) => {
    const suffix = "pair" in r.response ? `${r.response.pair[0]}-vs-${r.response.pair[1]}` : r.response.model;
    return r.design === "oneAtATime" ? tornadoChart(r, `tornado-${r.experiment}-${suffix}`) : prccChart(r, `prcc-${r.experiment}-${suffix}`);
  });
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

  charts.push(mttdlChart(scenario ? mttdlSetting(scenario) : DEFAULT_MTTDL, simulatedLoss(inputs.cells)));

  charts.push(costChart(scenario ? typicalVm(scenario) : M1_SMALL, scenario ? prices(scenario) : PRICES_2008));
  charts.push(migrationChart());
  charts.push(...sensitivityCharts(inputs.sensitivity ?? []));

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
  return resolveScenario(scenario).prices;
}

/** The most requested VM size of the workload (the first of equal weight); m1.small without one. */
function typicalVm(scenario: Scenario): VmSize {
  const sizes = scenario.workload?.sizes ?? [];
  let best = sizes[0];
  for (const s of sizes) if ((s.weight ?? 1) > (best?.weight ?? 1)) best = s;
  return best ? { name: best.name, memoryGiB: best.memoryGiB, diskGiB: best.diskGiB } : M1_SMALL;
}

/**
 * The chain's parameters from the scenario: its disks' mean time to failure (when it has disk
 * failures), the typical volume size, the rebuild bandwidth, and the volumes kept on average
 * (the fleet plus arrivals × mean lifetime) over the run's duration.
 */
function mttdlSetting(scenario: Scenario): MttdlSetting {
  const ttf = scenario.failures?.disk?.timeToFailureHours as DistributionSpec | number | undefined;
  const mean = (spec: DistributionSpec | number) => (typeof spec === "number" ? spec : distribution(spec).mean);
  const arrivals = scenario.workload?.arrivals;
  const volumes = (scenario.workload?.fleet ?? 0) + (arrivals ? arrivals.ratePerHour * mean(arrivals.lifetimeHours as DistributionSpec | number) : 0);
  return {
    ...DEFAULT_MTTDL,
    diskMttfHours: ttf !== undefined ? mean(ttf) : DEFAULT_MTTDL.diskMttfHours,
    volumeGiB: typicalVm(scenario).diskGiB,
    rebuildMBps: resolveScenario(scenario).storage.rebuildMBps,
    volumes: volumes > 0 ? volumes : DEFAULT_MTTDL.volumes,
    hours: scenario.durationHours,
  };
}
