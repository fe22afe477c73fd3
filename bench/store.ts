/**
 * Event-store write throughput: the events of a real simulation run (`busyScenario`, ≈ 1 M
 * events) appended through `EventWriter` — digest chain, 10 000-row transactions of multi-row
 * INSERTs — into a fresh temporary database file, the last batch committed with `completeRun`.
 *
 * The simulation runs untimed: its events are collected 10 000 at a time, and two things are
 * timed over each chunk. `store-append`: `EventWriter.add` of the encoded rows, with the SQLite
 * writes it triggers, and the final `completeRun` — what storing the log adds to a run, which
 * encodes every event for its log hash anyway. `store-encode+append`: the same plus
 * `encodeEvent`, the whole per-event cost of turning events into stored rows.
 *
 *   node dist/bench/store.js [hosts] [hours]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DomainEvent } from "../src/model/events.js";
import { runScenario } from "../src/adapters/sim/run-scenario.js";
import { encodeEvent } from "../src/event-store/event-codec.js";
import { EventStore, EventWriter } from "../src/event-store/event-store.js";
import { benchProvenance, busyScenario, report } from "./common.js";

const hosts = Number(process.argv[2] ?? 200);
const hours = Number(process.argv[3] ?? 1000);
const CHUNK = 10_000;

const dir = mkdtempSync(join(tmpdir(), "vm-testbed-bench-"));
try {
  const loaded = busyScenario(hosts, hours);
  const store = EventStore.open(join(dir, "store.db"));
  const runId = store.beginRun(
    {
      scenarioName: loaded.scenario.name,
      scenarioFile: null,
      scenarioYaml: loaded.text,
      scenarioJson: loaded.canonical,
      scenarioHash: loaded.hash,
      seed: 1,
      serviceModel: "persistent-ha",
      packageVersion: "bench",
      gitCommit: null,
      eventsStored: true,
    },
    benchProvenance.now(),
  );
  const writer = new EventWriter(store, runId);
  let chunk: DomainEvent[] = [];
  let encodeMs = 0;
  let appendMs = 0;
  let events = 0;
  const append = () => {
    const start = performance.now();
    const rows = chunk.map(encodeEvent);
    const encoded = performance.now();
    for (const row of rows) writer.add(row);
    encodeMs += encoded - start;
    appendMs += performance.now() - encoded;
    events += chunk.length;
    chunk = [];
  };
  const result = await runScenario(loaded, {
    seed: 1,
    serviceModel: "persistent-ha",
    provenance: benchProvenance,
    observe: (event) => {
      chunk.push(event);
      if (chunk.length === CHUNK) append();
    },
  });
  append();
  const start = performance.now();
  store.completeRun(runId, writer.takeBuffered(), result, benchProvenance.now());
  appendMs += performance.now() - start;
  store.close();
  report("store-append", events, appendMs);
  report("store-encode+append", events, encodeMs + appendMs);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
