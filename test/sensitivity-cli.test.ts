import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { BreakevenResult } from "../src/experiment/breakeven.js";
import type { SensitivityResult } from "../src/experiment/sensitivity.js";
import { summarizeDatabase } from "../src/experiment/summary.js";
import { SMALL_CLUSTER, tempDir, testbed, writeScenario } from "./helpers.js";

const dir = tempDir();

/** Ten hosts that fail often, long-lived VMs: ~0.1 s a run. */
const BASE = `name: sens
durationHours: 2000
seed: 1
${SMALL_CLUSTER}failures:
  host:
    hardware:
      timeToFailureHours: { type: exponential, mean: 800 }
      timeToRepairHours: 24
ha:
  heartbeatTimeoutSeconds: 30
users:
  replacementDelayHours: 0.25
`;
const REPAIR = "failures.host.hardware.timeToRepairHours";

describe("testbed sensitivity on a oneAtATime experiment", () => {
  const db = join(dir, "oat.db");
  beforeAll(() => {
    const file = writeScenario(dir, "oat", `${BASE}experiment:\n  design: oneAtATime\n  sweep:\n    ${REPAIR}: [4, 96]\n    ha.heartbeatTimeoutSeconds: [10, 300]\n  replications: 4\n`);
    expect(testbed("run", file, "--db", db, "--no-events", "--quiet").code).toBe(0);
  }, 120_000);

  it("gives each path's effect on one model, paired over seeds, equal to the difference of the cell means", () => {
    const r = testbed("sensitivity", db, "--model", "vps", "--json");
    expect(r.code).toBe(0);
    const [result] = JSON.parse(r.stdout) as SensitivityResult[];
    expect(result!.design).toBe("oneAtATime");
    const { cells } = summarizeDatabase(db, { metrics: ["downtimeHoursPerVmYear"] });
    const vps = cells.filter((c) => c.serviceModel === "vps");
    const base = vps.find((c) => c.cell[REPAIR] === 24 && c.cell["ha.heartbeatTimeoutSeconds"] === 30)!.summary.mean;
    for (const e of result!.effects!) {
      const cell = vps.find((c) => c.cell[e.path] === e.value && Object.entries(c.cell).every(([p, v]) => p === e.path || v === result!.effects!.find((x) => x.path === p)?.baselineValue))!;
      expect(e.effect.mean).toBeCloseTo(cell.summary.mean - base, 9);
    }
    // A vps VM waits for its host's repair: longer repairs, more downtime, the interval says so.
    const longer = result!.effects!.find((e) => e.path === REPAIR && e.value === 96)!;
    expect(longer.effect.ciLow).toBeGreaterThan(0);
    expect(result!.tornado![0]!.path).toBe(REPAIR);
  });

  it("prints a tornado for a paired difference and draws it", () => {
    const r = testbed("sensitivity", db, "--pair", "persistent-ha-vps", "--chart", join(dir, "charts"));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("downtimeHoursPerVmYear of persistent-ha − vps");
    expect(r.stdout).toContain("tornado-sens-persistent-ha-vs-vps.png");
    expect(testbed("sensitivity", db, "--csv").stdout.split("\n")[0]).toBe("experiment,design,response,path,value,measure,estimate,ci_low,ci_high,n");
  });

  it("refuses a pair it cannot read and a database without designed experiments", () => {
    expect(testbed("sensitivity", db, "--pair", "vps-vps").stderr).toContain("--pair vps-vps: expected two different service models");
    const grid = join(dir, "grid.db");
    expect(testbed("run", writeScenario(dir, "grid", `${BASE}experiment:\n  replications: 1\n`), "--db", grid, "--no-events", "--quiet").code).toBe(0);
    const r = testbed("sensitivity", grid);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no oneAtATime or latinHypercube experiment (experiments: sens (grid))");
  });
});

describe("testbed sensitivity on a latinHypercube experiment", () => {
  it("ranks the host repair time above the heartbeat for vps downtime by PRCC", () => {
    const db = join(dir, "lhs.db");
    const file = writeScenario(dir, "lhs", `${BASE}experiment:\n  design: latinHypercube\n  samples: 10\n  sweep:\n    ${REPAIR}: { min: 2, max: 100, scale: log }\n    ha.heartbeatTimeoutSeconds: { min: 10, max: 300 }\n  replications: 2\n`);
    expect(testbed("run", file, "--db", db, "--no-events", "--quiet", "--model", "vps").code).toBe(0);
    const [result] = JSON.parse(testbed("sensitivity", db, "--model", "vps", "--json").stdout) as SensitivityResult[];
    const m = result!.measures!;
    expect(m.points).toBe(10);
    expect(m.prcc[0]!.value).toBeGreaterThan(0.9);
    expect(m.prcc[0]!.ci[0]).toBeGreaterThan(Math.abs(m.prcc[1]!.value));
  }, 120_000);
});

describe("testbed breakeven", () => {
  it("finds where persistent-ha's downtime advantage over ephemeral ends as users relaunch faster, or says there is none", () => {
    const file = writeScenario(dir, "be", BASE);
    const r = testbed("breakeven", file, "--vary", "users.replacementDelayHours", "--between", "0.0001,4", "--log", "--replications", "3", "--probes", "4", "--json");
    if (r.code === 0) {
      const result = JSON.parse(r.stdout) as BreakevenResult;
      expect(result.low).toBeLessThanOrEqual(result.estimate);
      expect(result.high).toBeGreaterThanOrEqual(result.estimate);
      expect(result.probes.every((p) => p.summary.n === 3)).toBe(true);
    } else {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("no crossing between 0.0001 and 4");
    }
    const none = testbed("breakeven", file, "--vary", "ha.heartbeatTimeoutSeconds", "--between", "10,20", "--pair", "vps-ephemeral", "--replications", "2", "--probes", "2");
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no crossing between 10 and 20: the mean difference is .* at 10 and .* at 20/);
    const bad = testbed("breakeven", file, "--vary", "ha.heartbeatTimeoutSecs", "--between", "10,20");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--vary ha.heartbeatTimeoutSecs = 10: ha.heartbeatTimeoutSecs: unknown key");
    expect(testbed("breakeven", file, "--vary", "ha.heartbeatTimeoutSeconds", "--between", "20,10").stderr).toContain("--between 20,10: expected two numbers a,b with a < b");
  }, 120_000);
});
