/**
 * One rung of the scale ladder (issue 18): `scale-50k.yaml` resized to `hosts` hosts with
 * everything in proportion — a rack per 40 hosts, two long-lived VMs per host, an arrival an hour
 * per 5 000 hosts — and run for its year under one service model without the event log, as
 * `testbed run --model M --no-events --set …` does it. `run.ts` fits the exponent of run time
 * against hosts over the rungs.
 *
 *   node dist/bench/ladder.js <hosts> [model]
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SERVICE_MODELS, type ServiceModel } from "../src/model/events.js";
import { runScenario } from "../src/adapters/sim/run-scenario.js";
import { loadScenarioFile } from "../src/scenario/load.js";
import { benchProvenance, measure } from "./common.js";

const hosts = Number(process.argv[2]);
const model = (process.argv[3] ?? "persistent-ha") as ServiceModel;
if (!Number.isInteger(hosts) || hosts < 40 || hosts % 40 !== 0 || !SERVICE_MODELS.includes(model)) {
  process.stderr.write(`usage: ladder.js <hosts, a multiple of 40> [${SERVICE_MODELS.join("|")}]\n`);
  process.exit(2);
}
const ladderSettings = (n: number): string[] => [
  `name=scale-ladder-${n}`,
  `cluster.hosts[0].count=${n}`,
  `cluster.hosts[0].racks=${n / 40}`,
  `workload.fleet=${2 * n}`,
  `workload.arrivals.ratePerHour=${n / 5000}`,
];
const file = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "scenarios", "scale-50k.yaml");
const loaded = loadScenarioFile(file, ladderSettings(hosts));
await measure(`ladder (${hosts / 1000}k hosts, ${model})`, async () => {
  const result = await runScenario(loaded, { seed: 1, serviceModel: model, storeEvents: false, provenance: benchProvenance });
  return result.eventCount;
});
