import type { TopLevelSpec } from "vega-lite";
import { precopy, XEN_PRECOPY_DEFAULTS } from "../migration/precopy.js";
import { MIGRATION_DEFAULTS } from "../scenario/defaults.js";
import { formatNumber, type Chart } from "./chart.js";

/**
 * Chart 5: total migration time and downtime of iterative pre-copy (`src/migration/precopy.ts`,
 * Clark et al. 2005, Xen's limits) against the rate at which the VM dirties memory, for a few
 * memory sizes over one link. The dirty rate runs up to 1.5 × the bandwidth, past the point
 * where pre-copy stops converging (marked).
 */
export interface MigrationSetting {
  memoriesMiB: number[];
  bandwidthMiBps: number;
  switchoverMs: number;
  setupSeconds: number;
}

/** 1, 4 and 16 GiB VMs over a 1 Gbit/s link (≈ 119 MiB/s), with the simulation's switchover and set-up (`MIGRATION_DEFAULTS`). */
export const DEFAULT_MIGRATION: MigrationSetting = {
  memoriesMiB: [1024, 4096, 16384],
  bandwidthMiBps: 1e9 / 8 / 2 ** 20,
  switchoverMs: MIGRATION_DEFAULTS.switchoverMs,
  setupSeconds: MIGRATION_DEFAULTS.setupSeconds,
};

export interface MigrationPoint {
  dirtyRateMiBps: number;
  memory: string;
  totalSeconds: number;
  downtimeMs: number;
  rounds: number;
  converged: boolean;
}

export function migrationPoints(setting: MigrationSetting = DEFAULT_MIGRATION, steps = 120): MigrationPoint[] {
  const points: MigrationPoint[] = [];
  for (const memoryMiB of setting.memoriesMiB) {
    for (let i = 0; i <= steps; i++) {
      const dirtyRateMiBps = (1.5 * setting.bandwidthMiBps * i) / steps;
      const r = precopy({ memoryMiB, dirtyRateMiBps, bandwidthMiBps: setting.bandwidthMiBps, switchoverMs: setting.switchoverMs, setupMs: setting.setupSeconds * 1000, ...XEN_PRECOPY_DEFAULTS });
      points.push({ dirtyRateMiBps, memory: `${memoryMiB / 1024} GiB`, totalSeconds: r.totalMs / 1000, downtimeMs: r.downtimeMs, rounds: r.rounds, converged: r.converged });
    }
  }
  return points;
}

export function migrationChart(setting: MigrationSetting = DEFAULT_MIGRATION): Chart {
  const points = migrationPoints(setting);
  const x = { field: "dirtyRateMiBps", type: "quantitative", title: "page dirty rate (MiB/s)" } as const;
  const color = { field: "memory", type: "ordinal", title: "VM memory", sort: setting.memoriesMiB.map((m) => `${m / 1024} GiB`), scale: { scheme: "viridis" } } as const;
  const rule = {
    data: { values: [{ at: setting.bandwidthMiBps, text: "dirty rate = bandwidth" }] },
    layer: [
      { mark: { type: "rule", strokeDash: [4, 3], color: "#444" }, encoding: { x: { field: "at", type: "quantitative" } } },
      { mark: { type: "text", align: "left", baseline: "top", dx: 5, y: 4, fontSize: 11, color: "#444" }, encoding: { x: { field: "at", type: "quantitative" }, text: { field: "text" } } },
    ],
  };
  const tooltip = [
    { field: "memory", title: "memory" },
    { field: "dirtyRateMiBps", title: "dirty MiB/s", format: ".1f" },
    { field: "totalSeconds", title: "total s", format: ".3~g" },
    { field: "downtimeMs", title: "downtime ms", format: ".3~g" },
    { field: "rounds", title: "rounds" },
    { field: "converged", title: "converged" },
  ];
  const panel = (field: "totalSeconds" | "downtimeMs", title: string, log: boolean) => ({
    width: 560,
    height: 220,
    layer: [{ data: { values: points }, mark: { type: "line", strokeWidth: 2 }, encoding: { x, y: { field, type: "quantitative", title, scale: { type: log ? "log" : "linear" } }, color, tooltip } }, rule],
  });
  const spec = {
    title: {
      text: "Live migration (pre-copy) vs page dirty rate",
      subtitle: `link ${setting.bandwidthMiBps.toFixed(1)} MiB/s (${formatNumber((setting.bandwidthMiBps * 8 * 2 ** 20) / 1e9)} Gbit/s); Xen limits: ≤ ${XEN_PRECOPY_DEFAULTS.maxRounds} rounds, ≤ ${XEN_PRECOPY_DEFAULTS.maxSentFactor}× memory sent; switchover ${setting.switchoverMs} ms, set-up ${setting.setupSeconds} s`,
    },
    vconcat: [panel("totalSeconds", "total migration time (s)", false), panel("downtimeMs", "downtime (ms, log scale)", true)],
    resolve: { scale: { color: "shared" } },
  };
  return { name: "migration-vs-dirty-rate", title: spec.title.text, spec: spec as TopLevelSpec };
}
