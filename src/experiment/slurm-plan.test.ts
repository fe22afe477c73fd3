import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_ARRAY_TASKS, sizeTasks, TARGET_TASK_SECONDS } from "./slurm-plan.js";

describe("sizing a Slurm job", () => {
  it("takes --runs-per-task or --tasks as given", () => {
    expect(sizeTasks(810, { runsPerTask: 10, medianRunSeconds: 1 })).toMatchObject({ tasks: 81, runsPerTask: 10 });
    expect(sizeTasks(810, { tasks: 100, medianRunSeconds: 1 })).toMatchObject({ tasks: 100, runsPerTask: 9 });
  });

  it("gives a task ten minutes of runs when run times were measured", () => {
    expect(sizeTasks(8100, { medianRunSeconds: 0.4 })).toMatchObject({ runsPerTask: TARGET_TASK_SECONDS / 0.4, tasks: Math.ceil(8100 / 1500) });
    expect(sizeTasks(50, { medianRunSeconds: 3600 })).toMatchObject({ runsPerTask: 1, tasks: 50 });
  });

  it("without measurements fills the partition once, or spreads over 100 tasks", () => {
    expect(sizeTasks(100, { medianRunSeconds: null, partitionCpus: 2 })).toMatchObject({ tasks: 2, runsPerTask: 50 });
    expect(sizeTasks(270, { medianRunSeconds: null, partitionCpus: null })).toMatchObject({ tasks: 90, runsPerTask: 3 });
  });

  it("never makes more than MAX_ARRAY_TASKS tasks, nor an empty one, and has room for every run", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200_000 }),
        fc.oneof(
          fc.record({ runsPerTask: fc.integer({ min: 1, max: 5000 }) }),
          fc.record({ tasks: fc.integer({ min: 1, max: 5000 }) }),
          fc.record({ partitionCpus: fc.integer({ min: 1, max: 100_000 }) }),
          fc.record({ median: fc.double({ min: 0, max: 1e5, noNaN: true }) }),
        ),
        (missing, choice) => {
          const sizing = "median" in choice ? { medianRunSeconds: choice.median } : { medianRunSeconds: null, ...choice };
          const { tasks, runsPerTask } = sizeTasks(missing, sizing);
          expect(tasks).toBeLessThanOrEqual(MAX_ARRAY_TASKS);
          expect(tasks * runsPerTask).toBeGreaterThanOrEqual(missing);
          expect(tasks).toBeLessThanOrEqual(missing);
          expect(tasks).toBeGreaterThanOrEqual(1);
        },
      ),
    );
  });
});
