import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { availabilityChart, mtbfPoints } from "../src/charts/availability.js";
import { isChart, type Chart } from "../src/charts/chart.js";
import { breakEvenHours, costChart, M1_SMALL, monthlyCost } from "../src/charts/cost.js";
import { chartsForDatabase } from "../src/charts/from-database.js";
import { migrationChart, migrationPoints } from "../src/charts/migration.js";
import { DEFAULT_MTTDL, lossProbabilityLine, mttdlChart, mttdlLine, rebuildHours, simulatedLoss } from "../src/charts/mttdl.js";
import { empiricalCdf, recoveryTimesHours } from "../src/charts/recovery-cdf.js";
import { FONT_FILES, render } from "../src/charts/render.js";
import { runEvents } from "../src/charts/run-events.js";
import type { CellRow } from "../src/stats/summary.js";
import { timeline } from "../src/charts/timeline.js";
import { PRICES_2008 } from "../src/scenario/defaults.js";
import type { RunMetrics } from "../src/metrics/run-metrics.js";
import { precopy, XEN_PRECOPY_DEFAULTS } from "../src/migration/precopy.js";
import { evolve } from "../src/model/evolve.js";
import { emptyWorld } from "../src/model/world.js";
import { mttdlMarkov } from "../src/reliability/mttdl.js";
import { EventStore } from "../src/event-store/event-store.js";
import { tempDir, testbed } from "./helpers.js";

const dir = tempDir("vm-testbed-charts-");
const SCENARIO = join(import.meta.dirname, "..", "scenarios", "hosts-fail-and-repair.yaml");

/** A database with the three service models of a shortened hosts-fail-and-repair, with event logs. */
function recordedDatabase(): string {
  const db = join(dir, "runs.db");
  const r = testbed("run", SCENARIO, "--db", db, "--set", "durationHours=3000", "--quiet");
  expect(r.code, r.stderr).toBe(0);
  return db;
}

const simpleSpec: Chart["spec"] = {
  data: { values: [{ hours: 1, hosts: 40 }, { hours: 2, hosts: 38 }, { hours: 3, hosts: 39 }] },
  mark: "line",
  encoding: { x: { field: "hours", type: "quantitative", title: "time (hours)" }, y: { field: "hosts", type: "quantitative", title: "hosts up (count)" } },
};

describe("headless rendering", () => {
  it("draws the same PNG bytes twice, with the axis titles as text", async () => {
    const a = await render(simpleSpec);
    const b = await render(simpleSpec);
    expect(a.png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(Buffer.compare(a.png, b.png)).toBe(0);
    expect(a.svg).toBe(b.svg);
    expect(a.svg).toContain(">time (hours)</text>");
    expect(a.svg).toContain(">hosts up (count)</text>");
    expect(a.svg).toContain('font-family="DejaVu Sans"');
    expect(a.warnings).toEqual([]);
  });

  it("draws the text with the fonts it is given: without them resvg draws none and the PNG differs", async () => {
    for (const f of FONT_FILES) expect(existsSync(f), `${f}: run npm ci (dejavu-fonts-ttf)`).toBe(true);
    const withFonts = await render(simpleSpec);
    const without = await render(simpleSpec, { fontFiles: [] });
    expect(without.svg).toBe(withFonts.svg);
    expect(Buffer.compare(without.png, withFonts.png)).not.toBe(0);
    // Text is many small dark strokes: PNG compresses them worse, so the text-less picture is smaller.
    expect(without.png.length).toBeLessThan(withFonts.png.length * 0.9);
  });
});

describe("charts from models", () => {
  it("cost: flat VPS price against hourly bills; the break-even is where the lines meet", () => {
    const even = breakEvenHours("ephemeral", M1_SMALL, PRICES_2008);
    expect(even).toBeCloseTo(140 / (1.7 * PRICES_2008.hourlyUsdPerGiB), 9); // 1.7 GiB takes the 2 GB plan, $140: 1400 h, past the month
    expect(monthlyCost("ephemeral", 730, M1_SMALL, PRICES_2008)).toBeCloseTo(73, 6); // $0.10 an hour for 730 hours
    expect(monthlyCost("persistent-ha", 0, M1_SMALL, PRICES_2008)).toBeCloseTo(16, 6); // 160 GB at $0.10/GB-month
    const { vpsPlans: _plans, ...linear } = PRICES_2008;
    const cheapVps = { ...linear, monthlyUsdPerGiB: 20 };
    const at = breakEvenHours("persistent-ha", M1_SMALL, cheapVps);
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(730);
    expect(monthlyCost("persistent-ha", Math.ceil(at) - 1, M1_SMALL, cheapVps)).toBeLessThan(monthlyCost("vps", 0, M1_SMALL, cheapVps));
    expect(monthlyCost("persistent-ha", Math.ceil(at) + 1, M1_SMALL, cheapVps)).toBeGreaterThan(monthlyCost("vps", 0, M1_SMALL, cheapVps));
    const spec = JSON.stringify(costChart(M1_SMALL, cheapVps).spec);
    expect(spec).toContain(`persistent-ha = vps at ${Number(at.toPrecision(3))} h`);
  });

  it("MTTDL: the chain's lines, growing with bandwidth and with copies", () => {
    const line = mttdlLine(DEFAULT_MTTDL);
    for (const p of line) {
      const n = Number(p.replicas.split(" ")[0]);
      expect(p.replicas).toBe(n === 1 ? "1 copy" : `${n} copies`);
      expect(p.mttdlYears).toBeCloseTo(mttdlMarkov(n, 1 / DEFAULT_MTTDL.diskMttfHours, 1 / rebuildHours(DEFAULT_MTTDL.volumeGiB, p.rebuildMBps)) / 8760, 6);
      expect(Number.isFinite(p.mttdlYears) && p.mttdlYears > 0).toBe(true);
    }
    expect(new Set(line.filter((p) => p.replicas === "1 copy").map((p) => p.mttdlYears)).size).toBe(1); // one copy: lost with its disk, whatever the bandwidth
    for (const copies of ["2 copies", "3 copies", "4 copies"]) {
      const ys = line.filter((p) => p.replicas === copies).map((p) => p.mttdlYears);
      for (let i = 1; i < ys.length; i++) expect(ys[i]!).toBeGreaterThan(ys[i - 1]!);
    }
    // Two copies with rebuild ≪ MTTF: MTTDL ≈ μ / (2λ²) (Gibson); the chain agrees to the small terms.
    const lambda = 1 / 300_000;
    const mu = 1 / rebuildHours(160, 100);
    expect(mttdlMarkov(2, lambda, mu) / (mu / (2 * lambda ** 2))).toBeCloseTo(1, 4);
    // Three copies at 10^16 years and beyond: first-passage sums stay exact where a linear solve cancels.
    expect(mttdlMarkov(3, lambda, mu)).toBeGreaterThan(mttdlMarkov(2, lambda, mu) * 1e5);
  });

  it("data-loss probability: the chain's for V volumes over T hours, and the simulated share of runs per swept replication factor", () => {
    const setting = { ...DEFAULT_MTTDL, volumes: 1500, hours: 8760, diskMttfHours: 287_600 };
    const [one, two] = lossProbabilityLine(setting);
    expect(one!.probability).toBeCloseTo(1 - Math.exp((-1500 * 8760) / 287_600), 12); // one copy: lost with its disk
    const mttdl2 = mttdlMarkov(2, 1 / 287_600, 1 / rebuildHours(160, 100));
    expect(two!.probability).toBeCloseTo(1 - Math.exp((-1500 * 8760) / mttdl2), 15);
    expect(two!.probability).toBeGreaterThan(0);
    const row = (replicas: number, mtbf: number, mean: number, model: "persistent-ha" | "vps" = "persistent-ha", metric = "anyDataLoss"): CellRow => ({
      experiment: "e",
      cell: { "storage.replicas": replicas, "failures.host.hardware.timeToFailureHours.mean": mtbf },
      serviceModel: model,
      metric,
      summary: { n: 3, mean, sd: 0.5, ciLow: mean - 0.7, ciHigh: mean + 0.7 },
    });
    const sim = simulatedLoss([row(1, 1000, 1), row(2, 1000, 1 / 3), row(2, 1000, 1, "vps"), row(3, 1000, 0, "persistent-ha", "dataLossEvents")]);
    expect(sim.map((p) => [p.replicas, p.probability])).toEqual([[1, 1], [2, 1 / 3]]);
    expect(sim[1]).toMatchObject({ ciLow: 0, ciHigh: 1, n: 3, source: "simulated, host hardware MTBF (h) 1000" }); // the interval is clipped to [0, 1]
    expect(sim[0]!.ciHigh).toBe(1);
  });

  it("migration: the points are the pre-copy model's, and downtime jumps where pre-copy stops converging", () => {
    const points = migrationPoints();
    const p = points.find((q) => q.memory === "4 GiB" && q.dirtyRateMiBps > 50)!;
    const r = precopy({ memoryMiB: 4096, dirtyRateMiBps: p.dirtyRateMiBps, bandwidthMiBps: 1e9 / 8 / 2 ** 20, switchoverMs: 20, setupMs: 650, ...XEN_PRECOPY_DEFAULTS });
    expect(p.totalSeconds).toBeCloseTo(r.totalMs / 1000, 9);
    expect(p.downtimeMs).toBeCloseTo(r.downtimeMs, 9);
    const oneGiB = points.filter((q) => q.memory === "1 GiB");
    expect(oneGiB[0]!.downtimeMs).toBeCloseTo(20, 6); // nothing dirtied: only the switchover (the simulation's)
    expect(oneGiB[oneGiB.length - 1]!.converged).toBe(false);
    expect(oneGiB[oneGiB.length - 1]!.downtimeMs).toBeGreaterThan(1000);
  });

  it("availability: x is the swept host MTBF, other swept paths become panels, CI bands from the summaries", () => {
    const cells: CellRow[] = [];
    for (const mtbf of [1000, 10000]) {
      for (const replicas of [2, 3]) {
        for (const [i, model] of (["ephemeral", "vps", "persistent-ha"] as const).entries()) {
          const mean = (100 + i * 10) / mtbf;
          cells.push({
            experiment: "e",
            cell: { "failures.host.hardware.timeToFailureHours.mean": mtbf, "storage.replicas": replicas },
            serviceModel: model,
            metric: "downtimeHoursPerVmYear",
            summary: { n: 5, mean, sd: mean / 10, ciLow: mean * 0.9, ciHigh: mean * 1.1 },
          });
        }
      }
    }
    // Runs of a plain scenario in the same database are summarized with `cell: {}`: they are not part of the chart.
    const plain: CellRow = { experiment: "e", cell: {}, serviceModel: "vps", metric: "downtimeHoursPerVmYear", summary: { n: 2, mean: 1, sd: 0, ciLow: 1, ciHigh: 1 } };
    const found = mtbfPoints([plain, ...cells], "downtimeHoursPerVmYear")!;
    expect(found.experiment).toBe("e");
    expect(found.xPath).toBe("failures.host.hardware.timeToFailureHours.mean");
    expect(found.points).toHaveLength(12);
    expect(new Set(found.points.map((p) => p.panel))).toEqual(new Set(["storage.replicas = 2", "storage.replicas = 3"]));
    expect(availabilityChart(cells)).toHaveProperty("spec");
    const noSweep = cells.map((c) => ({ ...c, cell: { "storage.replicas": c.cell["storage.replicas"]! } }));
    expect(availabilityChart(noSweep)).toHaveProperty("skipped");
  });

  it("every model chart renders without a warning from vega-lite or vega", async () => {
    for (const chart of [costChart(), mttdlChart(), migrationChart()]) {
      const { warnings, svg } = await render(chart.spec);
      expect(warnings, chart.name).toEqual([]);
      expect(svg).toContain(chart.title);
    }
  });
});

describe("charts from a results database", () => {
  let db: string;
  beforeAll(() => {
    db = recordedDatabase();
  });

  it("recovery times refolded from the stored log are the ones the run's metrics summarised", () => {
    const store = EventStore.openReadonly(db);
    try {
      for (const run of store.listRuns()) {
        const hours = recoveryTimesHours(runEvents(store, run.id));
        const recorded = (run.metrics as RunMetrics).recoveryTimeHours;
        expect(hours.length).toBe(recorded.count);
        expect(hours.length).toBeGreaterThan(10);
        expect(hours.reduce((a, b) => a + b, 0) / hours.length).toBeCloseTo(recorded.mean!, 9);
        const cdf = empiricalCdf(run.serviceModel!, hours);
        expect(cdf[0]!.fraction).toBe(0);
        expect(cdf[cdf.length - 1]!.fraction).toBe(1);
        for (let i = 1; i < cdf.length; i++) expect(cdf[i]!.hours).toBeGreaterThanOrEqual(cdf[i - 1]!.hours);
      }
    } finally {
      store.close();
    }
  });

  it("the timeline's counts are the world's: hosts up and VMs running after every event", () => {
    const store = EventStore.openReadonly(db);
    try {
      const events = [...runEvents(store, 3)];
      const tl = timeline(events, { maxSteps: Number.MAX_SAFE_INTEGER });
      const world = emptyWorld();
      const truth = new Map<number, { hosts: number; vms: number }>();
      for (const e of events) {
        evolve(world, e);
        let hosts = 0;
        for (const h of world.hosts.values()) if (h.up) hosts++;
        let vms = 0;
        for (const v of world.vms.values()) if (v.state === "running") vms++;
        truth.set(e.t, { hosts, vms });
      }
      const hostSteps = tl.steps.filter((s) => s.series === "hosts up");
      expect(hostSteps.length).toBeGreaterThan(20);
      expect(tl.binHours).toBeNull();
      expect(tl.unit).toBe("days");
      for (const s of hostSteps.slice(0, -1)) expect(s.count).toBe(truth.get(Math.round(s.t * 24 * 3_600_000))?.hosts);
      for (const s of tl.steps.filter((q) => q.series === "VMs running").slice(0, -1)) expect(s.count).toBe(truth.get(Math.round(s.t * 24 * 3_600_000))?.vms);
      expect(tl.markers.filter((m) => m.row === "host failed").length).toBe(events.filter((e) => e.type === "hostFailed").length);
      const binned = timeline(events, { maxSteps: 100 });
      expect(binned.binHours).not.toBeNull();
      expect(binned.steps.length).toBeLessThanOrEqual(2 * 51);
      expect(Math.min(...binned.steps.filter((s) => s.series === "hosts up").map((s) => s.count))).toBe(Math.min(...hostSteps.map((s) => s.count)));
    } finally {
      store.close();
    }
  });

  it("draws the event-log charts and the model charts, and skips the cell chart without statistics", async () => {
    const store = EventStore.openReadonly(db);
    const charts = chartsForDatabase(store, { cells: [] });
    store.close();
    expect(charts.map((c) => c.name)).toEqual(["availability-vs-mtbf", "recovery-time-cdf", "mttdl-vs-replication", "cost-vs-usage", "migration-vs-dirty-rate", "run-timeline"]);
    expect(charts.filter((c) => !isChart(c)).map((c) => c.name)).toEqual(["availability-vs-mtbf"]);
    for (const chart of charts.filter(isChart)) expect((await render(chart.spec)).warnings, chart.name).toEqual([]);
  });

  it("testbed chart writes the spec with its data, the SVG and the PNG of each chart", () => {
    const out = join(dir, "charts");
    const r = testbed("chart", db, "--out", out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("skipped availability-vs-mtbf");
    for (const name of ["recovery-time-cdf", "mttdl-vs-replication", "cost-vs-usage", "migration-vs-dirty-rate", "run-timeline"]) {
      const spec = JSON.parse(readFileSync(join(out, `${name}.vl.json`), "utf8")) as { config: { font: string }; $schema: string };
      expect(spec.config.font).toBe("DejaVu Sans");
      expect(spec.$schema).toContain("vega-lite/v6");
      expect(JSON.stringify(spec)).toContain('"values":[');
      expect(readFileSync(join(out, `${name}.svg`), "utf8")).toMatch(/^<svg/);
      expect(readFileSync(join(out, `${name}.png`)).subarray(1, 4).toString()).toBe("PNG");
    }
  });

  it("testbed chart: a missing database is bad input (exit 2), named", () => {
    const r = testbed("chart", join(dir, "nope.db"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("nope.db");
  });
});
