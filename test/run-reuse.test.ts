import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { simulate } from "../src/adapters/sim/simulate.js";
import { expandExperiment } from "../src/experiment/expand.js";
import type { ExperimentOutcome } from "../src/experiment/runner.js";
import { modelRunKey } from "../src/experiment/reuse.js";
import { summarizeDatabase } from "../src/experiment/summary.js";
import type { ServiceModel } from "../src/model/events.js";
import { parseScenario } from "../src/scenario/load.js";
import { SMALL_CLUSTER, tempDir, testbed, writeScenario } from "./helpers.js";

/** Ten hosts with disks that fail, long-lived VMs, every model; a replicas sweep. */
const BASE = `name: reuse
durationHours: 2000
seed: 1
${SMALL_CLUSTER}failures:
  host:
    hardware:
      timeToFailureHours: { type: exponential, mean: 800 }
      timeToRepairHours: { type: uniform, min: 4, max: 48 }
  disk:
    timeToFailureHours: { type: exponential, mean: 3000 }
    timeToRepairHours: 24
storage:
  localRaid: { level: 5, rebuildMBps: 50 }
`;
const MODELS: ServiceModel[] = ["ephemeral", "vps", "persistent-ha"];

describe("the parts of a configuration a service model does not read", () => {
  it("leave that model's log unchanged, byte for byte, and change the model that reads them", () => {
    const variants = {
      base: parseScenario("r.yaml", BASE),
      storage: parseScenario("r.yaml", BASE, ["storage.replicas=1", "storage.rebuildMBps=20"]),
      raid: parseScenario("r.yaml", BASE, ["storage.localRaid.level=1", "storage.localRaid.rebuildMBps=5"]),
      outages: parseScenario("r.yaml", BASE, [
        "failures.storage={ timeToFailureHours: { type: exponential, mean: 300 }, timeToRepairHours: 2 }",
        "failures.storageNetwork={ timeToFailureHours: { type: exponential, mean: 500 }, timeToRepairHours: 1 }",
      ]),
    };
    for (const seed of [1, 2, 3]) {
      const log = (v: keyof typeof variants, model: ServiceModel) => simulate(variants[v].config, seed, model).logHash;
      for (const model of ["ephemeral", "vps"] as const) {
        expect(modelRunKey(variants.storage.config, model)).toBe(modelRunKey(variants.base.config, model));
        expect(log("storage", model)).toBe(log("base", model));
        expect(modelRunKey(variants.outages.config, model)).toBe(modelRunKey(variants.base.config, model));
        expect(log("outages", model)).toBe(log("base", model));
        expect(modelRunKey(variants.raid.config, model)).not.toBe(modelRunKey(variants.base.config, model));
      }
      expect(modelRunKey(variants.raid.config, "persistent-ha")).toBe(modelRunKey(variants.base.config, "persistent-ha"));
      expect(log("raid", "persistent-ha")).toBe(log("base", "persistent-ha"));
      expect(modelRunKey(variants.storage.config, "persistent-ha")).not.toBe(modelRunKey(variants.base.config, "persistent-ha"));
      expect(modelRunKey(variants.outages.config, "persistent-ha")).not.toBe(modelRunKey(variants.base.config, "persistent-ha"));
      expect(log("outages", "persistent-ha")).not.toBe(log("base", "persistent-ha"));
    }
    // The variants do matter to the model that reads them (else this test would prove nothing).
    const changed = [1, 2, 3].some((seed) => simulate(variants.storage.config, seed, "persistent-ha").logHash !== simulate(variants.base.config, seed, "persistent-ha").logHash);
    expect(changed).toBe(true);
  });
});

describe("an experiment whose cells differ only where a model does not look", () => {
  const text = `${BASE}experiment:\n  sweep:\n    storage.replicas: [1, 2, 3]\n  replications: 2\n`;

  it("plans each such run once: the later cells reuse the first cell's ephemeral and vps runs", () => {
    const plan = expandExperiment("r.yaml", text);
    expect(plan.cells.map((c) => c.reusedFrom)).toEqual([{}, { ephemeral: 0, vps: 0 }, { ephemeral: 0, vps: 0 }]);
    expect(plan.runs.filter((r) => r.reusedFrom !== undefined)).toHaveLength(2 * 2 * 2);
  });

  it("runs only the others, counts the reused ones, and summarizes every cell from the runs it reuses", () => {
    const dir = tempDir();
    const file = writeScenario(dir, "reuse", text);
    const db = join(dir, "reuse.db");
    const r = testbed("run", file, "--db", db, "--json", "--quiet", "--no-events", "--jobs", "1");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as ExperimentOutcome;
    expect(out).toMatchObject({ ran: 18 - 8, reused: 8, skipped: 0, failed: 0 });
    const reused = out.runs.filter((o) => o.status === "reused");
    for (const o of reused) {
      const source = out.runs.find((s) => s.cellIndex === o.reusedFrom && s.seed === o.seed && s.serviceModel === o.serviceModel)!;
      expect(o.stateHash).toBe(source.stateHash);
      expect(o.runId).toBe(source.runId);
    }
    const { cells, reuse } = summarizeDatabase(db, { metrics: ["availability"] });
    expect(reuse).toEqual([{ experiment: "reuse", planned: 18, reused: 8 }]);
    for (const model of MODELS) {
      const rows = cells.filter((c) => c.serviceModel === model);
      expect(rows).toHaveLength(3);
      expect(rows.every((c) => c.summary.n === 2)).toBe(true);
      if (model !== "persistent-ha") expect(new Set(rows.map((c) => c.summary.mean)).size).toBe(1);
    }
    expect(testbed("inspect", db).stdout).toContain("experiment reuse (grid): 3 cells, 18 planned runs, 8 of them reused from another cell");
    expect(testbed("summarize", db).stdout).toContain("reuse: 8 of 18 runs reused from another cell");
  });
});
