import Database from "better-sqlite3";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chainDigest, FIRST_DIGEST, type EventRow } from "./event-codec.js";
import { EventStore, EventWriter, type EventPage, type StoredEventRow } from "./event-store.js";

const dir = mkdtempSync(join(tmpdir(), "vm-testbed-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const meta = {
  scenarioName: "s",
  scenarioFile: null,
  scenarioYaml: "",
  scenarioJson: "{}",
  scenarioHash: "h",
  seed: 0,
  serviceModel: null,
  packageVersion: "t",
  gitCommit: null,
  eventsStored: true,
};

/** Rows whose texts hold what JSON may: quotes, commas, escaped newlines and tabs, non-ASCII. */
function sampleRows(n: number): EventRow[] {
  const payloads = ['{"host":"n-1","cause":"crash"}', "{}", '{"note":"a, b\\n\\tc \\"d\\""}', '{"host":"hôte-é-日本-😀","vcpus":16}'];
  return Array.from({ length: n }, (_, i) => ({ seq: i + 1, t: i * 1000 + (i % 7), type: i % 3 === 0 ? "hostFailed" : "hostRepaired", payload: payloads[i % payloads.length]! }));
}

/** Writes rows as a run would (EventWriter, batches, completeRun) into a fresh database. */
function writeRun(file: string, rows: EventRow[], batchSize: number): void {
  const store = EventStore.open(file);
  const runId = store.beginRun(meta, "start");
  const writer = new EventWriter(store, runId, batchSize);
  for (const row of rows) writer.add(row);
  store.completeRun(runId, writer.takeBuffered(), { eventCount: rows.length, finalT: 0, stateHash: "-", logHash: "-", metrics: null }, "end");
  store.close();
}

/** The rows as SQLite has them, in seq order. */
function storedRows(file: string): StoredEventRow[] {
  const db = new Database(file, { readonly: true });
  const rows = db.prepare("SELECT seq, t, type, payload, digest FROM events WHERE run_id = 1 ORDER BY seq").raw(true).all() as StoredEventRow[];
  db.close();
  return rows;
}

function readAll(file: string, options: { pageSize: number; digests?: boolean }): { rows: StoredEventRow[]; pages: number } {
  const store = EventStore.openReadonly(file);
  const rows: StoredEventRow[] = [];
  let pages = 0;
  for (const page of store.readEvents(1, options)) {
    pages++;
    expect(page.seq.length).toBeLessThanOrEqual(options.pageSize);
    for (let i = 0; i < page.seq.length; i++) rows.push(rowOf(page, i));
  }
  store.close();
  return { rows, pages };
}

function rowOf(page: EventPage, i: number): StoredEventRow {
  return [page.seq[i]!, page.t[i]!, page.type[i]!, page.payload[i]!, page.digest[i]!];
}

describe("EventWriter", () => {
  it("stores every row as given, with the digest chained over all rows before it", () => {
    const file = join(dir, "write.db");
    const rows = sampleRows(2345); // batches of 1000: multi-row statements and a remainder
    writeRun(file, rows, 1000);
    let digest = FIRST_DIGEST;
    const expected = rows.map((r): StoredEventRow => [r.seq, r.t, r.type, r.payload, (digest = chainDigest(digest, r.seq, r.t, r.type, r.payload))]);
    expect(storedRows(file)).toEqual(expected);
  });
});

describe("EventStore.readEvents", () => {
  const file = join(dir, "read.db");
  writeRun(file, sampleRows(1000), 300);

  it("returns every row in seq order, in pages, also when a reader thread reads ahead", () => {
    const stored = storedRows(file);
    for (const pageSize of [1, 7, 100, 1000, 5000]) {
      const { rows, pages } = readAll(file, { pageSize });
      expect(rows).toEqual(stored);
      expect(pages).toBe(Math.ceil(1000 / pageSize));
    }
  });

  it("leaves the digests out when asked to", () => {
    const { rows } = readAll(file, { pageSize: 64, digests: false });
    expect(rows).toEqual(storedRows(file).map(([seq, t, type, payload]) => [seq, t, type, payload, undefined]));
  });

  it("reads a log changed by hand exactly as stored, row by row from the first page it cannot split", () => {
    const copy = join(dir, "changed.db");
    writeRun(copy, sampleRows(1000), 1000);
    const db = new Database(copy);
    db.exec(`UPDATE events SET payload = '{"a":1}' || char(10) || '{"b":2}' WHERE seq = 250;
      UPDATE events SET type = 'host,Failed' WHERE seq = 400;
      UPDATE events SET t = 'late' WHERE seq = 600;
      UPDATE events SET t = 1.5 WHERE seq = 700;
      DELETE FROM events WHERE seq = 800;
      UPDATE events SET seq = 'x' WHERE seq = 900;`);
    db.close();
    const stored = storedRows(copy);
    expect(stored.at(-1)![0]).toBe("x"); // SQLite sorts text after numbers
    for (const pageSize of [10, 128]) expect(readAll(copy, { pageSize }).rows).toEqual(stored);
  });

  it("can be abandoned after any page", () => {
    const store = EventStore.openReadonly(file);
    for (const stopAfter of [1, 2, 5]) {
      let pages = 0;
      for (const _page of store.readEvents(1, { pageSize: 10 })) if (++pages === stopAfter) break;
      expect(pages).toBe(stopAfter);
    }
    expect([...store.readEvents(1, { pageSize: 10 })].length).toBe(100);
    store.close();
  });
});

describe("chainDigest", () => {
  const row = fc.record({
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    t: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    type: fc.string({ unit: "grapheme", maxLength: 12 }),
    payload: fc.string({ unit: "binary", maxLength: 60 }),
  });
  const digestOf = (r: EventRow, previous = FIRST_DIGEST) => chainDigest(previous, r.seq, r.t, r.type, r.payload);
  const replaceUnit = (text: string, at: number, unit: number) => {
    const i = at % text.length;
    return text.slice(0, i) + String.fromCharCode(unit) + text.slice(i + 1);
  };

  it("always tells apart two rows that differ in one 32-bit word of a number or in one code unit of a text", () => {
    const word = fc.integer({ min: 0, max: 2 ** 32 - 1 });
    const withLow = (n: number, low: number) => Math.floor(n / 2 ** 32) * 2 ** 32 + low;
    const withHigh = (n: number, high: number) => (high % 2 ** 21) * 2 ** 32 + (n % 2 ** 32);
    fc.assert(
      fc.property(row, fc.integer(), fc.nat(), fc.integer({ min: 0, max: 0xffff }), word, (r, previous, at, unit, w) => {
        const base = digestOf(r, previous | 0);
        const changed = [
          { ...r, seq: withLow(r.seq, w) },
          { ...r, seq: withHigh(r.seq, w) },
          { ...r, t: withLow(r.t, w) },
          { ...r, t: withHigh(r.t, w) },
          ...(r.type.length > 0 ? [{ ...r, type: replaceUnit(r.type, at, unit) }] : []),
          ...(r.payload.length > 0 ? [{ ...r, payload: replaceUnit(r.payload, at, unit) }] : []),
        ];
        for (const c of changed) {
          const same = c.seq === r.seq && c.t === r.t && c.type === r.type && c.payload === r.payload;
          expect(digestOf(c, previous | 0) === base).toBe(same);
        }
      }),
    );
  });

  it("tells apart a number from a nearby fraction, and text moved between type and payload", () => {
    const r: EventRow = { seq: 77, t: 1000, type: "hostFailed", payload: "{}" };
    expect(digestOf({ ...r, t: 1000.5 })).not.toBe(digestOf(r));
    expect(digestOf({ ...r, t: 1000 + 2 ** -40 })).not.toBe(digestOf(r));
    expect(digestOf({ ...r, type: "hostFailed{", payload: "}" })).not.toBe(digestOf(r));
  });
});

describe("schema versions", () => {
  /** A database as version 2 left it: no experiment tables, schema_version 2. */
  function versionTwo(file: string, version = "2"): void {
    writeRun(file, sampleRows(3), 10);
    const conn = new Database(file);
    conn.exec(`DROP TABLE experiments; DROP TABLE cells; UPDATE meta SET value = '${version}' WHERE key = 'schema_version'`);
    conn.close();
  }

  it("reads a version-2 database as it is, with no experiments", () => {
    const file = join(dir, "v2-read.db");
    versionTwo(file);
    const store = EventStore.openReadonly(file);
    expect(store.listRuns()).toHaveLength(1);
    expect(store.listExperiments()).toEqual([]);
    store.close();
  });

  it("upgrades a version-2 database to 7 when opened for writing, keeping its runs", () => {
    const file = join(dir, "v2-write.db");
    versionTwo(file);
    const store = EventStore.open(file);
    store.saveExperiment("e", { file: "e.yaml", sweepPaths: ["storage.replicas"], seeds: [1], serviceModels: ["vps"] }, [{ index: 0, values: { "storage.replicas": 2 }, scenarioHash: "h" }], "now");
    expect(store.listRuns()).toHaveLength(1);
    expect(store.listExperiments()).toEqual([
      { name: "e", definition: { file: "e.yaml", sweepPaths: ["storage.replicas"], seeds: [1], serviceModels: ["vps"] }, cells: [{ index: 0, values: { "storage.replicas": 2 }, scenarioHash: "h" }] },
    ]);
    store.close();
    const conn = new Database(file, { readonly: true });
    expect(conn.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe("8");
    conn.close();
  });

  it("refuses a version-1 database with a message saying why, without changing it", () => {
    const file = join(dir, "v1.db");
    versionTwo(file, "1");
    expect(() => EventStore.open(file)).toThrow(/schema version 1, expected 8 \(written by an older vm-testbed whose row digests were CRC-32/);
    expect(() => EventStore.openReadonly(file)).toThrow(/schema version 1, expected 8/);
    const conn = new Database(file, { readonly: true });
    expect(conn.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'cells'").pluck().get()).toBe(0);
    conn.close();
  });

  it("keeps a live run's tag, length and clock start for --resume; a database from before version 7 has none, read-only too", () => {
    const file = join(dir, "live.db");
    const store = EventStore.open(file);
    const runId = store.beginRun(meta, "start");
    store.recordLiveRun(runId, { runTag: "s-20261202", durationMs: 45_000, clockStartMs: 1_764_650_000_000 });
    expect(store.liveRunOf(runId)).toEqual({ runTag: "s-20261202", durationMs: 45_000, clockStartMs: 1_764_650_000_000 });
    expect(store.liveRunOf(runId + 1)).toBeUndefined();
    store.close();
    const old = join(dir, "v6.db");
    versionTwo(old, "6");
    new Database(old).exec("DROP TABLE live_runs");
    const readonly = EventStore.openReadonly(old);
    expect(readonly.liveRunOf(1)).toBeUndefined();
    readonly.close();
  });

  it("replaces an experiment's cells when it is saved again", () => {
    const store = EventStore.open(join(dir, "resave.db"));
    const def = { file: "e.yaml", sweepPaths: ["x"], seeds: [1], serviceModels: ["vps"] };
    store.saveExperiment("e", def, [0, 1, 2].map((i) => ({ index: i, values: { x: i }, scenarioHash: `h${i}` })), "t1");
    store.saveExperiment("e", { ...def, seeds: [1, 2] }, [{ index: 0, values: { x: 5 }, scenarioHash: "h5" }], "t2");
    const [e] = store.listExperiments();
    expect(e!.definition.seeds).toEqual([1, 2]);
    expect(e!.cells).toEqual([{ index: 0, values: { x: 5 }, scenarioHash: "h5" }]);
    store.close();
  });
});
