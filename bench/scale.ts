/**
 * Scale: one service model of a scenario for its whole duration, as `testbed run --model M`
 * does it (simulation, metrics, log hash, and with `stored` the event log) into a fresh
 * temporary database — to check the targets: `scale-1k.yaml` (1 000 hosts, 10 000
 * long-lived VMs, a year) under 10 s and 1 GiB with events stored, and `scale-50k.yaml` (50 000
 * hosts, 100 000 VMs, a year) under 60 s with `no-events`.
 *
 *   node dist/bench/scale.js <scenario.yaml> <model> stored|no-events [path=value ...]
 *
 * `path=value` settings are applied as `testbed run --set` does (the scale ladder of `run.ts`
 * sizes `scale-50k.yaml` this way).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICE_MODELS, type ServiceModel } from "../src/model/events.js";
import { runScenario } from "../src/adapters/sim/run-scenario.js";
import { loadScenarioFile } from "../src/scenario/load.js";
import { EventStore } from "../src/event-store/event-store.js";
import { benchProvenance, measure } from "./common.js";

const [file, model, mode, ...overrides] = process.argv.slice(2);
if (file === undefined || !SERVICE_MODELS.includes(model as ServiceModel) || (mode !== "stored" && mode !== "no-events")) {
  process.stderr.write(`usage: scale.js <scenario.yaml> ${SERVICE_MODELS.join("|")} stored|no-events [path=value ...]\n`);
  process.exit(2);
}
const loaded = loadScenarioFile(file, overrides);
const dir = mkdtempSync(join(tmpdir(), "vm-testbed-bench-"));
try {
  await measure(`scale-${mode} (${loaded.scenario.name}, ${model})`, async () => {
    const store = EventStore.open(join(dir, "runs.db"));
    const result = await runScenario(loaded, { seed: 1, serviceModel: model as ServiceModel, store, storeEvents: mode === "stored", provenance: benchProvenance });
    store.close();
    const refused = result.metrics.blockingProbability;
    if (refused > 0.01) {
      process.stderr.write(`warning: ${model} refused ${(100 * refused).toFixed(1)} % of its requests in ${file}: this measures a cluster that is not doing its work\n`);
    }
    return result.eventCount;
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
