import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../src/adapters/sim/run-scenario.js";
import { simulate } from "../src/adapters/sim/simulate.js";
import { EventStore } from "../src/event-store/event-store.js";
import { stateHash } from "../src/recording/hashing.js";
import { CHECKPOINT_BYTES_PER_EVENT, CHECKPOINT_EVERY, MIN_STATE_CHARS_PER_OBJECT } from "../src/recording/recorder.js";
import { replayRun } from "../src/replay/replay.js";
import { loadScenarioObject, parseScenario } from "../src/scenario/load.js";
import { busyScenario, tempDir, testProvenance, tinyFleetScenario } from "./helpers.js";
import { parse } from "yaml";

/** State-hash checkpoints of stored runs (`Recorder`): where they fall, and that replay finds them equal. */
describe("checkpoints", () => {
  const dir = tempDir();

  it("every host, VM and volume takes at least MIN_STATE_CHARS_PER_OBJECT characters of the state, so the bound never postpones a checkpoint past the rule", () => {
    for (const [text, model] of [
      [busyScenario("b", 30, 200), "persistent-ha"],
      [tinyFleetScenario("t", 2000), "vps"],
      [tinyFleetScenario("t", 2000), "ephemeral"],
    ] as const) {
      const { world } = simulate(loadScenarioObject(parse(text)).config, 1, model);
      const objects = world.hosts.size + world.vms.size + world.volumes.size;
      expect(objects).toBeGreaterThan(0);
      expect(stateHash(world).length).toBeGreaterThanOrEqual(objects * MIN_STATE_CHARS_PER_OBJECT);
    }
  });

  async function storedCheckpoints(hosts: number, hours: number): Promise<{ checkpoints: number[]; events: number; ok: boolean }> {
    const store = EventStore.open(join(dir, `h${hosts}.db`));
    try {
      const loaded = parseScenario("(test)", busyScenario(`b${hosts}`, hosts, hours));
      const result = await runScenario(loaded, { seed: 1, serviceModel: "persistent-ha", store, provenance: testProvenance });
      const run = store.getRun(result.runId!)!;
      const checkpoints = [...store.checkpoints(run.id).keys()].sort((a, b) => a - b);
      const report = replayRun(store, run, { verify: true });
      return { checkpoints, events: result.eventCount, ok: report.ok };
    } finally {
      store.close();
    }
  }

  it("come every CHECKPOINT_EVERY events in a small world, and replay finds each equal to the state it rebuilds", async () => {
    const { checkpoints, events, ok } = await storedCheckpoints(20, 1200);
    expect(events).toBeGreaterThan(3 * CHECKPOINT_EVERY);
    expect(checkpoints[0]).toBe(CHECKPOINT_EVERY);
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    expect(ok).toBe(true);
  });

  it("do not hash a large world after its first CHECKPOINT_EVERY events: the first waits for the lower bound of the state's size", async () => {
    const { checkpoints, events, ok } = await storedCheckpoints(400, 12);
    expect(events).toBeGreaterThan(CHECKPOINT_EVERY);
    // 400 hosts, 1 600 VMs and 1 600 volumes: at least 3 600 × 100 characters, one checkpoint per 180 000 events at most.
    const first = checkpoints[0] ?? Infinity;
    expect(first).toBeGreaterThanOrEqual((3_600 * MIN_STATE_CHARS_PER_OBJECT) / CHECKPOINT_BYTES_PER_EVENT);
    expect(ok).toBe(true);
  });
});
