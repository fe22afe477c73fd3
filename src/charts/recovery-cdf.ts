import type { TopLevelSpec } from "vega-lite";
import { msToHours } from "../kernel/time.js";
import { serviceMetrics } from "../metrics/service-metrics.js";
import type { DomainEvent } from "../model/events.js";
import { evolve } from "../model/evolve.js";
import { emptyWorld } from "../model/world.js";
import type { Chart } from "./chart.js";
import { MODEL_COLORS } from "./render.js";

/**
 * Chart 2: the empirical CDF of recovery times per service model — every outage of a demanded
 * VM, from leaving `running` to running again (the RTO users saw), exactly as
 * `recoveryTimeHours` counts them: the durations come from the same fold
 * (`serviceMetrics`), run again over the stored events.
 */
export function recoveryTimesHours(events: Iterable<DomainEvent>): number[] {
  const world = emptyWorld();
  let state = serviceMetrics.init();
  for (const event of events) state = serviceMetrics.apply(state, event, evolve(world, event));
  return state.recoveries.map(msToHours);
}

export interface CdfPoint {
  serviceModel: string;
  hours: number;
  fraction: number;
}

/**
 * The empirical CDF at each distinct value (the fraction of samples ≤ it); with more than
 * `maxPoints` distinct values, at `maxPoints` evenly spaced ranks plus the largest value.
 */
export function empiricalCdf(serviceModel: string, samples: readonly number[], maxPoints = 400): CdfPoint[] {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const points: CdfPoint[] = [];
  if (n > 0) points.push({ serviceModel, hours: sorted[0]!, fraction: 0 }); // the jump at the smallest value is drawn from 0
  for (let i = 0; i < n; i++) {
    if (i + 1 < n && sorted[i + 1] === sorted[i]) continue; // last rank of a tie: F(x) = #(≤ x) / n
    points.push({ serviceModel, hours: sorted[i]!, fraction: (i + 1) / n });
  }
  if (points.length <= maxPoints) return points;
  const thinned: CdfPoint[] = [];
  for (let k = 0; k < maxPoints; k++) thinned.push(points[Math.floor((k * (points.length - 1)) / (maxPoints - 1))]!);
  return thinned;
}

export function recoveryCdfChart(byModel: ReadonlyMap<string, readonly number[]>, note: string): Chart {
  const points: CdfPoint[] = [];
  const counts: string[] = [];
  for (const [model, samples] of byModel) {
    const positive = samples.filter((h) => h > 0);
    points.push(...empiricalCdf(model, positive));
    counts.push(`${model} ${positive.length}`);
  }
  const spec = {
    title: { text: "Recovery time per outage (CDF)", subtitle: [`outages: ${counts.join(", ")}`, note] },
    width: 560,
    height: 340,
    data: { values: points },
    mark: { type: "line", interpolate: "step-after", strokeWidth: 2 },
    encoding: {
      x: { field: "hours", type: "quantitative", title: "time from outage to running again (hours, log scale)", scale: { type: "log" } },
      y: { field: "fraction", type: "quantitative", title: "fraction of outages recovered (≤ x)", scale: { domain: [0, 1] } },
      color: { field: "serviceModel", type: "nominal", title: "service model", scale: MODEL_COLORS },
      tooltip: [{ field: "serviceModel", title: "model" }, { field: "hours", title: "hours", format: ".3~g" }, { field: "fraction", title: "fraction", format: ".3f" }],
    },
  };
  return { name: "recovery-time-cdf", title: spec.title.text, spec: spec as TopLevelSpec };
}
