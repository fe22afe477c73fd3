import { createRequire } from "node:module";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";

/** One page as the page query returns it: the row count, then each column as one text. */
export type RawPage = [count: number, seqs: string, ts: string, types: string, payloads: string, digests: string];

/** Pages the worker may read ahead of the consumer: enough to keep it busy, little memory. */
const AHEAD = 2;
/** How long the consumer waits for one page before it gives up on the worker. */
const PAGE_TIMEOUT_MS = 60_000;

// Slots of the shared counters.
const POSTED = 0;
const TAKEN = 1;

/**
 * The worker: runs the page query from `after` on, page after page, and posts each raw page,
 * never more than AHEAD pages before the consumer has taken them. It stops after a short page
 * (the end of the log) or one whose last seq is not a number (a damaged log, which the consumer
 * reads by itself), and then posts `null`. It is a CommonJS script so that it runs the same from
 * the compiled package and from the TypeScript sources under the test runner.
 */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const { file, sql, runId, pageSize, port, counters } = workerData;
const post = (message) => {
  port.postMessage(message);
  Atomics.add(counters, ${POSTED}, 1);
  Atomics.notify(counters, ${POSTED});
};
let db;
try {
  db = new Database(file, { readonly: true, fileMustExist: true });
  const query = db.prepare(sql).raw(true);
  let after = workerData.after;
  for (;;) {
    for (;;) {
      const taken = Atomics.load(counters, ${TAKEN});
      if (Atomics.load(counters, ${POSTED}) - taken < ${AHEAD}) break;
      Atomics.wait(counters, ${TAKEN}, taken);
    }
    const page = query.get(runId, after, pageSize);
    post(page);
    if (page[0] < pageSize) break;
    after = Number(page[1].slice(page[1].lastIndexOf(",") + 1));
    if (Number.isNaN(after)) break;
  }
  post(null);
} catch (error) {
  post({ error: String((error && error.message) || error) });
} finally {
  if (db) db.close();
}
`;

/**
 * Reads a run's raw pages with `sql` (parameters: run id, the seq to read after, the page size)
 * in a worker thread with its own read-only connection, and hands them over synchronously. The
 * SQLite work for the next pages then overlaps the consumer's work on this one: on a machine
 * with a second core, replay's share of reading the log leaves the main thread. Memory stays
 * bounded: the worker is at most AHEAD pages ahead. Closing the generator stops the worker.
 */
export function* prefetchPages(file: string, sql: string, runId: number, after: number, pageSize: number): Generator<RawPage, void> {
  const counters = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  const { port1, port2 } = new MessageChannel();
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver, file, sql, runId, after, pageSize, port: port2, counters },
    transferList: [port2],
    // Its garbage is page texts; a small young generation collects them before they add up.
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
  worker.unref();
  try {
    for (let taken = 0; ; taken++) {
      let received = receiveMessageOnPort(port1);
      while (received === undefined) {
        if (Atomics.wait(counters, POSTED, taken, PAGE_TIMEOUT_MS) === "timed-out") {
          throw new Error(`${file}: the event page reader did not answer within ${PAGE_TIMEOUT_MS / 1000} s`);
        }
        received = receiveMessageOnPort(port1);
      }
      Atomics.add(counters, TAKEN, 1);
      Atomics.notify(counters, TAKEN);
      const message = received.message as RawPage | { error: string } | null;
      if (message === null) return;
      if (!Array.isArray(message)) throw new Error(`${file}: reading events: ${message.error}`);
      yield message;
    }
  } finally {
    port1.close();
    void worker.terminate();
  }
}
