import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { designPoints, expandExperiment } from "../src/experiment/expand.js";
import { ScenarioError } from "../src/scenario/load.js";

const BASE = `name: designs
durationHours: 1000
seed: 4
workload:
  sizes: [{ name: s, vcpus: 2, memoryGiB: 4, diskGiB: 40 }]
  fleet: 10
cluster:
  hosts:
    - { name: n, count: 6, racks: 3, vcpus: 16, memoryGiB: 64, diskGiB: 1000 }
failures:
  host:
    hardware:
      timeToFailureHours: { type: exponential, mean: 2000 }
      timeToRepairHours: 24
ha:
  heartbeatTimeoutSeconds: 30
users:
  replacementDelayHours: 0.25
experiment:
`;
const file = "designs.yaml";
const REPAIR = "failures.host.hardware.timeToRepairHours";
const MTBF = "failures.host.hardware.timeToFailureHours.mean";

function problems(section: string): string[] {
  try {
    expandExperiment(file, BASE + section);
  } catch (error) {
    if (error instanceof ScenarioError) return error.problems;
    throw error;
  }
  return [];
}

describe("a oneAtATime design", () => {
  it("runs the scenario as written, then each path moved alone over its values, on the same seeds", () => {
    const plan = expandExperiment(file, `${BASE}  design: oneAtATime\n  sweep:\n    ${REPAIR}: [4, 24, 96]\n    ha.heartbeatTimeoutSeconds: [10, 120]\n  replications: 2\n`);
    expect(plan.design).toBe("oneAtATime");
    expect(plan.baseline).toEqual({ [REPAIR]: 24, "ha.heartbeatTimeoutSeconds": 30 });
    expect(plan.cells.map((c) => c.values)).toEqual([
      { [REPAIR]: 24, "ha.heartbeatTimeoutSeconds": 30 },
      { [REPAIR]: 4, "ha.heartbeatTimeoutSeconds": 30 },
      { [REPAIR]: 96, "ha.heartbeatTimeoutSeconds": 30 },
      { [REPAIR]: 24, "ha.heartbeatTimeoutSeconds": 10 },
      { [REPAIR]: 24, "ha.heartbeatTimeoutSeconds": 120 },
    ]);
    // The baseline cell is the scenario as written: the same hash as the file without experiment.
    expect(plan.cells[0]!.loaded.hash).toBe(expandExperiment(file, `${BASE}  replications: 2\n`).cells[0]!.loaded.hash);
    expect(plan.runs).toHaveLength(5 * 2 * 3);
  });

  it("refuses a path the scenario does not set, naming it", () => {
    expect(problems(`  design: oneAtATime\n  sweep:\n    storage.replicas: [2, 3]\n`)).toEqual([
      "experiment.sweep.storage.replicas: expected the scenario to set this path to a number, a text or true/false (the oneAtATime baseline), got nothing",
    ]);
  });
});

describe("a latinHypercube design", () => {
  const section = `  design: latinHypercube\n  samples: 8\n  sweep:\n    ${REPAIR}: { min: 2, max: 200, scale: log }\n    ha.heartbeatTimeoutSeconds: { min: 5, max: 60 }\n    users.replacementDelayHours: [0.1, 1]\n  replications: 3\n`;

  it("draws each path once in each of its strata, from the file's seed, the same every time", () => {
    const plan = expandExperiment(file, BASE + section);
    expect(plan.cells).toHaveLength(8);
    const repair = plan.cells.map((c) => Math.log(c.values[REPAIR] as number / 2) / Math.log(100));
    const heartbeat = plan.cells.map((c) => ((c.values["ha.heartbeatTimeoutSeconds"] as number) - 5) / 55);
    for (const u of [repair, heartbeat]) expect(u.map((x) => Math.min(7, Math.floor(x * 8))).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const delays = plan.cells.map((c) => c.values["users.replacementDelayHours"]);
    expect(delays.filter((d) => d === 0.1)).toHaveLength(4);
    expect(expandExperiment(file, BASE + section).cells.map((c) => c.values)).toEqual(plan.cells.map((c) => c.values));
    expect(expandExperiment(file, (BASE + section).replace("seed: 4", "seed: 5")).cells.map((c) => c.values)).not.toEqual(plan.cells.map((c) => c.values));
  });

  it("fills every stratum exactly once for any number of samples and paths", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 4 }), fc.integer(), (n, k, seed) => {
        const points = designPoints("latinHypercube", Array.from({ length: k }, () => ({ min: 0, max: 1, scale: "linear" as const })), { baseline: [], samples: n, seed });
        expect(points).toHaveLength(n);
        for (let j = 0; j < k; j++) {
          const strata = points.map((p) => Math.min(n - 1, Math.floor((p[j] as number) * n))).sort((a, b) => a - b);
          // Rounding to 6 significant digits may move a draw onto its stratum's upper edge.
          expect(new Set(strata).size).toBeGreaterThanOrEqual(n - 1);
        }
      }),
    );
  });

  const bad: [string, string, string[]][] = [
    ["no samples", `  design: latinHypercube\n  sweep:\n    ${REPAIR}: { min: 2, max: 200 }\n`, ["experiment.samples: expected the number of points (a positive integer) for a latinHypercube design"]],
    ["a range in a grid", `  sweep:\n    ${REPAIR}: { min: 2, max: 200 }\n`, [`experiment.sweep.${REPAIR}: expected a list of values (a { min, max } range is for design: latinHypercube), got a range with design: grid`]],
    ["max below min", `  design: latinHypercube\n  samples: 4\n  sweep:\n    ${REPAIR}: { min: 20, max: 2 }\n`, [`experiment.sweep.${REPAIR}.max: expected max > min (20), got 2`]],
    ["a log scale from 0", `  design: latinHypercube\n  samples: 4\n  sweep:\n    ${REPAIR}: { min: 0, max: 2, scale: log }\n`, [`experiment.sweep.${REPAIR}.min: expected min > 0 on a log scale, got 0`]],
    ["a range the field refuses", `  design: latinHypercube\n  samples: 4\n  sweep:\n    ${MTBF}: { min: -5, max: 2 }\n`, [`experiment.sweep.${MTBF} = -5: ${MTBF}: expected a positive number, got -5`]],
    ["an unknown design", `  design: factorial\n`, ["experiment.design: expected one of grid, oneAtATime, latinHypercube, got \"factorial\""]],
  ];
  for (const [what, text, expected] of bad) {
    it(`is refused with a line naming the path for ${what}`, () => {
      expect(problems(text)).toEqual(expected);
    });
  }
});
