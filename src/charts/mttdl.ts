import type { TopLevelSpec } from "vega-lite";
import { mttdlMarkov } from "../storage/mttdl.js";
import { formatNumber, type Chart } from "./chart.js";
import type { CellRow } from "./summary-types.js";

/**
 * Chart 3: mean time to data loss of one volume against the rebuild bandwidth, one line per
 * replication factor: the birth–death Markov chain of `src/storage/mttdl.ts` (copies fail
 * independently at λ = 1 / disk MTTF, rebuilds exponential with mean size / bandwidth), and —
 * when the experiment swept `storage.replicas` or `storage.rebuildMBps` — the simulated
 * `mttdlHours` of persistent-ha with its 95 % confidence interval, under the scenario's whole
 * failure model (host outages that outlast the recovery delay also cost copies, so the simulated
 * points need not sit on the independent-disk lines).
 */
export interface MttdlSetting {
  diskMttfHours: number;
  volumeGiB: number;
  replicas: number[];
  /** The bandwidth range drawn, MB/s (log axis). */
  minMBps: number;
  maxMBps: number;
}

/** Disk MTTF 300 000 h (annual failure rate ≈ 2.9 %, within the 2–4 % Schroeder & Gibson, FAST'07, saw in the field); 160 GiB volumes. */
export const DEFAULT_MTTDL: MttdlSetting = { diskMttfHours: 300_000, volumeGiB: 160, replicas: [2, 3, 4], minMBps: 1, maxMBps: 1000 };

const HOURS_PER_YEAR = 8760;

export interface MttdlLinePoint {
  rebuildMBps: number;
  replicas: string;
  mttdlYears: number;
  rebuildHours: number;
}

export interface MttdlSimPoint {
  rebuildMBps: number;
  replicas: string;
  mttdlYears: number;
  ciLowYears: number;
  ciHighYears: number;
  n: number;
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
      points.push({ rebuildMBps: mbps, replicas: `${n} copies`, mttdlYears: mttdlMarkov(n, 1 / setting.diskMttfHours, 1 / r) / HOURS_PER_YEAR, rebuildHours: r });
    }
  }
  return points;
}

/** Simulated MTTDL of persistent-ha per cell, placed by the cell's (or the scenario's) replicas and rebuild bandwidth. */
export function simulatedMttdl(cells: readonly CellRow[], base: { replicas: number; rebuildMBps: number }): MttdlSimPoint[] {
  return cells
    .filter((r) => r.metric === "mttdlHours" && r.serviceModel === "persistent-ha" && ("storage.replicas" in r.cell || "storage.rebuildMBps" in r.cell))
    .filter((r) => Number.isFinite(r.summary.mean) && r.summary.mean > 0)
    .map((r) => ({
      rebuildMBps: Number(r.cell["storage.rebuildMBps"] ?? base.rebuildMBps),
      replicas: `${Number(r.cell["storage.replicas"] ?? base.replicas)} copies`,
      mttdlYears: r.summary.mean / HOURS_PER_YEAR,
      ciLowYears: Math.max(r.summary.ciLow, r.summary.mean * 1e-3) / HOURS_PER_YEAR,
      ciHighYears: r.summary.ciHigh / HOURS_PER_YEAR,
      n: r.summary.n,
    }));
}

export function mttdlChart(setting: MttdlSetting = DEFAULT_MTTDL, simulated: MttdlSimPoint[] = []): Chart {
  const line = mttdlLine(setting);
  const x = { field: "rebuildMBps", type: "quantitative", title: "rebuild bandwidth per target host (MB/s, log scale)", axis: { format: "~s" }, scale: { type: "log" } } as const;
  const y = { field: "mttdlYears", type: "quantitative", title: "MTTDL per volume (years, log)", scale: { type: "log" }, axis: { format: ".0e" } } as const;
  const color = { field: "replicas", type: "nominal", title: "replication", scale: { scheme: "dark2" } } as const;
  const layers: unknown[] = [
    {
      data: { values: line },
      mark: { type: "line", strokeWidth: 2 },
      encoding: {
        x,
        y,
        color,
        tooltip: [
          { field: "replicas" },
          { field: "rebuildMBps", title: "MB/s", format: ".3~g" },
          { field: "rebuildHours", title: "rebuild (h)", format: ".3~g" },
          { field: "mttdlYears", title: "MTTDL (years)", format: ".3~g" },
        ],
      },
    },
  ];
  if (simulated.length > 0) {
    layers.push(
      { data: { values: simulated }, mark: { type: "rule", strokeWidth: 1.5 }, encoding: { x, y: { field: "ciLowYears", type: "quantitative" }, y2: { field: "ciHighYears" }, color } },
      {
        data: { values: simulated },
        mark: { type: "point", shape: "diamond", filled: true, size: 110, stroke: "black", strokeWidth: 0.8 },
        encoding: { x, y, color, tooltip: [{ field: "replicas" }, { field: "rebuildMBps", title: "MB/s" }, { field: "mttdlYears", title: "simulated MTTDL (years)", format: ".3~g" }, { field: "n", title: "seeds" }] },
      },
    );
  }
  const spec = {
    title: {
      text: "Mean time to data loss vs replication and rebuild bandwidth",
      subtitle: [
        `lines: Markov chain, independent copy failures (disk MTTF ${formatNumber(setting.diskMttfHours)} h), exponential rebuilds of ${setting.volumeGiB} GiB`,
        simulated.length > 0 ? "diamonds: simulated persistent-ha (mean and 95 % CI over seeds)" : "no simulated points: the experiment did not sweep storage.replicas or storage.rebuildMBps",
      ],
    },
    width: 560,
    height: 340,
    layer: layers,
  };
  return { name: "mttdl-vs-replication", title: spec.title.text, spec: spec as TopLevelSpec };
}
