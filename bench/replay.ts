/**
 * Replay throughput: `replayRun` over a stored run, with and without `--verify` (digest chain,
 * checkpoints, final state and metrics). The database is made once by `prepare`, a real run of
 * `busyScenario` (≈ 2 M events by default) stored with its log; each measurement then replays
 * it in a fresh process, so the peak RSS shows that replay does not hold the log in memory.
 *
 *   node dist/bench/replay.js prepare <db> [hosts] [hours]
 *   node dist/bench/replay.js verify|plain <db>
 */
import { runScenario } from "../src/adapters/sim/run-scenario.js";
import { replayRun } from "../src/replay/replay.js";
import { EventStore } from "../src/event-store/event-store.js";
import { benchProvenance, busyScenario, measure } from "./common.js";

const [mode, db] = process.argv.slice(2);
if (db === undefined || !["prepare", "verify", "plain"].includes(mode!)) {
  process.stderr.write("usage: replay.js prepare <db> [hosts] [hours] | replay.js verify|plain <db>\n");
  process.exit(2);
}

if (mode === "prepare") {
  const store = EventStore.open(db);
  const loaded = busyScenario(Number(process.argv[4] ?? 200), Number(process.argv[5] ?? 2000));
  const result = await runScenario(loaded, { seed: 1, serviceModel: "persistent-ha", store, provenance: benchProvenance });
  store.close();
  process.stderr.write(`prepared ${db}: ${result.eventCount} events\n`);
} else {
  const store = EventStore.openReadonly(db);
  const run = store.getRun(1)!;
  await measure(mode === "verify" ? "replay-verify" : "replay", () => {
    const report = replayRun(store, run, { verify: mode === "verify" });
    if (!report.ok) throw new Error(`replay failed: ${report.divergence?.reason}`);
    return report.eventCount;
  });
  store.close();
}
