/**
 * End to end: what `testbed run` does — for each service model of the scenario, `runScenario`
 * (simulation, metrics, log hash, checkpoints and, with `stored`, the event log) into a fresh
 * temporary database, closed at the end. `no-events` stores only the run records, like
 * `testbed run --no-events`. The scenario is `busyScenario(200 hosts, 2000 h)` (≈ 2 M events,
 * one service model) unless a scenario file is given.
 *
 *   node dist/bench/end-to-end.js stored|no-events [scenario.yaml]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runScenario } from "../src/adapters/sim/run-scenario.js";
import { loadScenarioFile } from "../src/scenario/load.js";
import { EventStore } from "../src/event-store/event-store.js";
import { benchProvenance, busyScenario, measure } from "./common.js";

const mode = process.argv[2];
if (mode !== "stored" && mode !== "no-events") {
  process.stderr.write("usage: end-to-end.js stored|no-events [scenario.yaml]\n");
  process.exit(2);
}
const file = process.argv[3];
const loaded = file === undefined ? busyScenario(200, 2000) : loadScenarioFile(file);
const dir = mkdtempSync(join(tmpdir(), "vm-testbed-bench-"));
try {
  await measure(`end-to-end-${mode}${file === undefined ? "" : ` (${loaded.scenario.name})`}`, async () => {
    const store = EventStore.open(join(dir, "runs.db"));
    let events = 0;
    for (const serviceModel of loaded.scenario.serviceModels) {
      const result = await runScenario(loaded, { seed: 1, serviceModel, store, storeEvents: mode === "stored", provenance: benchProvenance });
      events += result.eventCount;
    }
    store.close(); // checkpoints the WAL into the database file, as the end of `testbed run` does
    return events;
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
