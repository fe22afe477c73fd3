import type { TopLevelSpec } from "vega-lite";
import { estimateMttdl } from "../reliability/rare-event.js";
import { mttdlMarkov } from "../reliability/mttdl.js";
import { formatNumber, type Chart } from "./chart.js";
import type { CellRow } from "../stats/summary.js";

/**
 * Chart 3, two panels.
 *
 * Left: mean time to data loss of one volume against the rebuild bandwidth, one line per
 * replication factor — the birth–death Markov chain of `src/reliability/mttdl.ts`: copies fail
 * independently at λ = 1 / disk MTTF, rebuilds are exponential with mean size / bandwidth.
 *
 * Right: the probability that a run loses at least one volume, against the replication factor:
 * from the chain, 1 − exp(−V·T / MTTDL) for V volumes kept for T hours (a volume's time to loss
 * is close to exponential when MTTDL ≫ the rebuild time), and — when the experiment swept
 * `storage.replicas` — the simulated share of persistent-ha runs that lost data (`anyDataLoss`,
 * mean and 95 % CI over seeds), one point per value of the other swept parameters. The simulation
 * has the scenario's whole failure model (racks, hosts marked out, rebuilds sharing bandwidth),
 * the chain only independent disk failures: where they part is what correlation costs.
 */
export interface MttdlSetting {
  diskMttfHours: number;
  volumeGiB: number;
  replicas: number[];
  /** The bandwidth range drawn, MB/s (log axis). */
  minMBps: number;
  maxMBps: number;
  /** The rebuild bandwidth of the scenario (right panel). */
  rebuildMBps: number;
  /** Volumes kept at a time, and for how long (right panel). */
  volumes: number;
  hours: number;
}

/**
 * Disk MTTF 300 000 h (annual failure rate ≈ 2.9 %, within the 2–4 % Schroeder & Gibson, FAST'07,
 * saw in the field); 160 GiB volumes (EC2's m1.small disk), rebuilt at 100 MB/s; 1 000 volumes
 * for a year.
 */
export const DEFAULT_MTTDL: MttdlSetting = { diskMttfHours: 300_000, volumeGiB: 160, replicas: [1, 2, 3, 4], minMBps: 1, maxMBps: 1000, rebuildMBps: 100, volumes: 1000, hours: 8760 };

const HOURS_PER_YEAR = 8760;

export interface MttdlLinePoint {
  rebuildMBps: number;
  replicas: string;
  mttdlYears: number;
  rebuildHours: number;
}

export interface LossPoint {
  replicas: number;
  probability: number;
  ciLow: number | null;
  ciHigh: number | null;
  n: number | null;
  source: string;
}

export const rebuildHours = (volumeGiB: number, mbps: number) => (volumeGiB * 2 ** 30) / (mbps * 1e6) / 3600;

export function mttdlLine(setting: MttdlSetting = DEFAULT_MTTDL, perDecade = 20): MttdlLinePoint[] {
  const points: MttdlLinePoint[] = [];
  const decades = Math.log10(setting.maxMBps / setting.minMBps);
  const steps = Math.round(decades * perDecade);
  for (const n of setting.replicas) {
    for (let i = 0; i <= steps; i++) {
      const mbps = setting.minMBps * 10 ** ((decades * i) / steps);
      const r = rebuildHours(setting.volumeGiB, mbps);
      points.push({ rebuildMBps: mbps, replicas: `${n} ${n === 1 ? "copy" : "copies"}`, mttdlYears: mttdlMarkov(n, 1 / setting.diskMttfHours, 1 / r) / HOURS_PER_YEAR, rebuildHours: r });
    }
  }
  return points;
}

export interface SampledMttdlPoint {
  rebuildMBps: number;
  replicas: string;
  mttdlYears: number;
  lowYears: number;
  highYears: number;
}

/**
 * The chain's MTTDL estimated by importance sampling (balanced failure biasing,
 * `src/reliability/rare-event.ts`) at one bandwidth per decade, with its 95 % interval: it must lie
 * on the closed-form line; at the real rates a loss at 3 copies is ~10⁻¹¹ per degraded period,
 * which plain sampling could not estimate at all. Deterministic (seed 1), `cycles` per point.
 */
export function importanceSampledMttdl(setting: MttdlSetting = DEFAULT_MTTDL, cycles = 4000): SampledMttdlPoint[] {
  const points: SampledMttdlPoint[] = [];
  for (const n of setting.replicas.filter((k) => k >= 2)) {
    for (let mbps = setting.minMBps; mbps <= setting.maxMBps * (1 + 1e-9); mbps *= 10) {
      const e = estimateMttdl(n, 1 / setting.diskMttfHours, 1 / rebuildHours(setting.volumeGiB, mbps), { cycles, seed: 1 });
      points.push({ rebuildMBps: mbps, replicas: `${n} ${n === 1 ? "copy" : "copies"}`, mttdlYears: e.mttdlHours / HOURS_PER_YEAR, lowYears: e.mttdlLow / HOURS_PER_YEAR, highYears: e.mttdlHigh / HOURS_PER_YEAR });
    }
  }
  return points;
}

/** P(at least one of `volumes` volumes lost within `hours`) from the chain, for each replication factor. */
export function lossProbabilityLine(setting: MttdlSetting = DEFAULT_MTTDL): LossPoint[] {
  const mu = 1 / rebuildHours(setting.volumeGiB, setting.rebuildMBps);
  return setting.replicas.map((n) => ({
    replicas: n,
    probability: -Math.expm1((-setting.volumes * setting.hours) / mttdlMarkov(n, 1 / setting.diskMttfHours, mu)),
    ciLow: null,
    ciHigh: null,
    n: null,
    source: "Markov chain, independent disk failures",
  }));
}

/** The right panel's loss probability from the importance-sampled MTTDL at the scenario's bandwidth, with its interval. */
export function importanceSampledLoss(setting: MttdlSetting = DEFAULT_MTTDL, cycles = 4000): LossPoint[] {
  const mu = 1 / rebuildHours(setting.volumeGiB, setting.rebuildMBps);
  const exposure = setting.volumes * setting.hours;
  return setting.replicas.map((n) => {
    const e = estimateMttdl(n, 1 / setting.diskMttfHours, mu, { cycles, seed: 1 });
    const p = (mttdl: number) => -Math.expm1(-exposure / mttdl);
    return { replicas: n, probability: p(e.mttdlHours), ciLow: p(e.mttdlHigh), ciHigh: e.mttdlLow > 0 ? p(e.mttdlLow) : 1, n: null, source: "the chain by importance sampling (95 % CI)" };
  });
}

/** The simulated probability of losing data in a run (`anyDataLoss` of persistent-ha) per swept replication factor. */
export function simulatedLoss(cells: readonly CellRow[]): LossPoint[] {
  return cells
    .filter((r) => r.metric === "anyDataLoss" && r.serviceModel === "persistent-ha" && typeof r.cell["storage.replicas"] === "number" && Number.isFinite(r.summary.mean))
    .map((r) => {
      const others = Object.entries(r.cell).filter(([k]) => k !== "storage.replicas");
      return {
        replicas: r.cell["storage.replicas"] as number,
        probability: r.summary.mean,
        ciLow: Number.isFinite(r.summary.ciLow) ? Math.max(0, r.summary.ciLow) : null,
        ciHigh: Number.isFinite(r.summary.ciHigh) ? Math.min(1, r.summary.ciHigh) : null,
        n: r.summary.n,
        source: others.length > 0 ? `simulated, ${others.map(([k, v]) => `${shortPath(k)} ${String(v)}`).join(", ")}` : "simulated",
      };
    });
}

/** A short name for a swept path in a legend: `host hardware MTBF` for `failures.host.hardware.timeToFailureHours.mean`. */
function shortPath(path: string): string {
  const m = /^failures\.(\w+)\.(?:(\w+)\.)?timeToFailureHours/.exec(path);
  if (m) return `${m[1]}${m[2] ? ` ${m[2]}` : ""} MTBF (h)`;
  return path.split(".").slice(-2).join(".");
}

export function mttdlChart(setting: MttdlSetting = DEFAULT_MTTDL, simulated: LossPoint[] = []): Chart {
  const line = mttdlLine(setting);
  const sampled = importanceSampledMttdl(setting);
  const x = { field: "rebuildMBps", type: "quantitative", title: "rebuild bandwidth per target host (MB/s, log scale)", scale: { type: "log" }, axis: { format: "~s" } } as const;
  const y = { field: "mttdlYears", type: "quantitative", title: "MTTDL per volume (years, log)", scale: { type: "log" }, axis: { format: ".0e" } } as const;
  const left = {
    width: 420,
    height: 320,
    data: { values: line },
    layer: [
      {
        mark: { type: "line", strokeWidth: 2 },
        encoding: {
          x,
          y,
          color: { field: "replicas", type: "nominal", title: "replication", scale: { scheme: "dark2" } },
          tooltip: [
            { field: "replicas" },
            { field: "rebuildMBps", title: "MB/s", format: ".3~g" },
            { field: "rebuildHours", title: "rebuild (h)", format: ".3~g" },
            { field: "mttdlYears", title: "MTTDL (years)", format: ".3~g" },
          ],
        },
      },
      {
        data: { values: sampled },
        layer: [
          { mark: { type: "rule", strokeWidth: 1.5 }, encoding: { x, y: { field: "lowYears", type: "quantitative" }, y2: { field: "highYears" }, color: { field: "replicas", type: "nominal", scale: { scheme: "dark2" } } } },
          {
            mark: { type: "point", shape: "diamond", filled: true, size: 60 },
            encoding: { x, y, color: { field: "replicas", type: "nominal", scale: { scheme: "dark2" } }, tooltip: [{ field: "replicas" }, { field: "rebuildMBps", title: "MB/s" }, { field: "mttdlYears", title: "IS estimate (years)", format: ".3~g" }, { field: "lowYears", title: "95% CI low", format: ".3~g" }, { field: "highYears", title: "95% CI high", format: ".3~g" }] },
          },
        ],
      },
      {
        data: { values: [{ at: setting.rebuildMBps, text: `scenario: ${formatNumber(setting.rebuildMBps)} MB/s` }] },
        layer: [
          { mark: { type: "rule", strokeDash: [4, 3], color: "#444" }, encoding: { x: { field: "at", type: "quantitative" } } },
          { mark: { type: "text", align: "left", baseline: "top", dx: 4, y: 4, fontSize: 11, color: "#444" }, encoding: { x: { field: "at", type: "quantitative" }, text: { field: "text" } } },
        ],
      },
    ],
  };
  const sampledLoss = importanceSampledLoss(setting);
  const loss = [...lossProbabilityLine(setting), ...sampledLoss, ...simulated];
  const px = { field: "replicas", type: "ordinal", title: "copies of each volume", axis: { labelAngle: 0 } } as const;
  const py = { field: "probability", type: "quantitative", title: "P(a volume is lost during the run)", scale: { domain: [0, 1] } } as const;
  const order = [...new Set(loss.map((p) => p.source))];
  const offset = { field: "source", sort: order } as const;
  const color = { field: "source", type: "nominal", title: null, sort: order, legend: { orient: "bottom", direction: "vertical", labelLimit: 420 } } as const;
  const right = {
    width: 300,
    height: 320,
    data: { values: loss },
    layer: [
      { transform: [{ filter: "isValid(datum.ciLow)" }], mark: { type: "rule", strokeWidth: 1.5 }, encoding: { x: px, xOffset: offset, y: { field: "ciLow", type: "quantitative" }, y2: { field: "ciHigh" }, color } },
      {
        mark: { type: "point", filled: true, size: 90 },
        encoding: {
          x: px,
          xOffset: offset,
          y: py,
          color,
          shape: color,
          tooltip: [{ field: "source" }, { field: "replicas" }, { field: "probability", format: ".3~g" }, { field: "ciLow", title: "95% CI low", format: ".3~g" }, { field: "ciHigh", title: "95% CI high", format: ".3~g" }, { field: "n", title: "seeds" }],
        },
      },
    ],
  };
  const spec = {
    title: {
      text: "Data loss vs replication and rebuild bandwidth",
      subtitle: [
        `Markov chain: independent copy failures (disk MTTF ${formatNumber(setting.diskMttfHours)} h), exponential rebuilds of ${formatNumber(setting.volumeGiB)} GiB volumes; diamonds: the chain by importance sampling (95 % CI)`,
        `right: ${formatNumber(setting.volumes)} volumes for ${formatNumber(setting.hours)} h at ${formatNumber(setting.rebuildMBps)} MB/s` +
          (simulated.length > 0 ? "; simulated: share of persistent-ha runs that lost a volume (95 % CI)" : "; no simulated points (the experiment did not sweep storage.replicas)"),
      ],
    },
    hconcat: [left, right],
    resolve: { scale: { color: "independent", shape: "independent" } },
    spacing: 40,
  };
  return { name: "mttdl-vs-replication", title: spec.title.text, spec: spec as unknown as TopLevelSpec };
}
