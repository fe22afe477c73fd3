import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { simulate } from "../adapters/sim/simulate.js";
import { simVsRealChart } from "../charts/sim-vs-real.js";
import { writeChart } from "../charts/write.js";
import type { DomainEvent } from "../model/events.js";
import { ScenarioError, loadScenarioFile } from "../scenario/load.js";
import { calibrationOverrides, comparisonRows, comparisonTable, runSample, type RunSample } from "./compare.js";

const sample = (availability: number, recovery: number): RunSample => ({ availability, recoveryP50Seconds: recovery, recoveryP99Seconds: recovery, migrationSeconds: null, migrationDowntimeSeconds: null });

describe("testbed compare", () => {
  it("puts each metric side by side: means, 95 % t-intervals, the relative difference, whether the intervals overlap", () => {
    const rows = comparisonRows([sample(0.9, 10), sample(0.92, 12), sample(0.91, 11)], [sample(0.8, 30), sample(0.82, 31), sample(0.81, 29)]);
    const availability = rows.find((r) => r.label === "availability")!;
    expect(availability.simulated!.mean).toBeCloseTo(0.91, 12);
    expect(availability.real!.mean).toBeCloseTo(0.81, 12);
    // t(0.975, 2) = 4.303, sd 0.01, n 3: ± 0.02484
    expect(availability.simulated!.ciHigh! - 0.91).toBeCloseTo(4.303 * 0.01 / Math.sqrt(3), 3);
    expect(availability.relativeDifference).toBeCloseTo(-0.1 / 0.91, 12);
    expect(availability.overlap).toBe(false);
    expect(rows.find((r) => r.label === "migration time (s)")).toMatchObject({ simulated: null, real: null, relativeDifference: null, overlap: null });
    const table = comparisonTable(rows);
    expect(table).toMatch(/^availability\s+0\.91 \[0\.8852, 0\.9348\] \(n=3\)\s+0\.81 \[0\.7852, 0\.8348\] \(n=3\)\s+-11\.0 %\s+apart$/m);
  });

  it("with one run per side there is no interval, and it says so with a dash", () => {
    const rows = comparisonRows([sample(0.9, 10)], [sample(0.9, 10)]);
    expect(rows[0]).toMatchObject({ relativeDifference: 0, overlap: null });
    expect(rows[0]!.simulated!.ciLow).toBeNull();
  });

  it("reads a simulated run's recovery times and migrations from its metrics and events", () => {
    const loaded = loadScenarioFile("scenarios/live-ha.yaml");
    const events: DomainEvent[] = [];
    const outcome = simulate(loaded.config, 1, "persistent-ha", { observe: (e) => events.push(e) });
    const s = runSample(outcome.metrics, events);
    expect(s.availability).toBe(outcome.metrics.availability);
    expect(s.recoveryP50Seconds).toBeCloseTo(outcome.metrics.recoveryTimeHours.p50! * 3600, 9);
    expect(s.migrationSeconds).toBeNull(); // live-ha migrates nothing
  });

  it("applies a calibration overlay's fields as overrides, and refuses a file that is not one, naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "compare-"));
    const file = join(dir, "cal.yaml");
    writeFileSync(file, "# measured\nprovisioning:\n  bootSeconds: { type: empirical, samples: [2, 7] }\nha: { heartbeatTimeoutSeconds: 2.1 }\n");
    expect(calibrationOverrides(file)).toEqual(['provisioning.bootSeconds={"type":"empirical","samples":[2,7]}', "ha.heartbeatTimeoutSeconds=2.1"]);
    writeFileSync(file, "- 1\n- 2\n");
    expect(() => calibrationOverrides(file)).toThrow(ScenarioError);
    expect(() => calibrationOverrides(file)).toThrow(new RegExp(`${file}: expected a calibration overlay`));
  });

  it("draws the chart 'simulated vs real' as a PNG", async () => {
    const rows = comparisonRows([sample(0.9, 10), sample(0.92, 12)], [sample(0.8, 30), sample(0.82, 31)]);
    const points = rows.flatMap((r) => [r.simulated, r.real].filter((p) => p !== null));
    const written = await writeChart(simVsRealChart(points, "test"), mkdtempSync(join(tmpdir(), "chart-")));
    const png = readFileSync(written.files.find((f) => f.endsWith(".png"))!);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(written.warnings).toEqual([]);
  }, 60_000);
});
