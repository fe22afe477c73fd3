import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeEvent } from "../src/event-store/event-codec.js";
import { EventStore, type RunMeta } from "../src/event-store/event-store.js";
import { EventLog } from "../src/model/event-log.js";
import type { DomainEvent, DomainEventBody } from "../src/model/events.js";
import { Recorder } from "../src/recording/recorder.js";
import { simulateMetrics, tempDir, tinyFleetScenario } from "./helpers.js";
import { parse } from "yaml";

/**
 * A live run taken over after its controller died (issue 19) records one log: restoring the stored
 * events into a new log and recorder and going on gives the same rows, digests, hashes and metrics
 * as a run recorded without the interruption.
 */
describe("a run resumed from its stored log", () => {
  const dir = tempDir();
  const provenance = { packageVersion: "t", gitCommit: null, now: () => "now" };
  const meta: Omit<RunMeta, "eventsStored"> = { scenarioName: "r", scenarioFile: null, scenarioYaml: "", scenarioJson: "{}", scenarioHash: "h", seed: 1, serviceModel: "persistent-ha", packageVersion: "t", gitCommit: null };
  const events: DomainEvent[] = [];
  simulateMetrics(parse(tinyFleetScenario("r", 2_000, { fleet: 6, serviceModels: "[persistent-ha]" })), 3, "persistent-ha", (e) => events.push(e));
  const body = ({ seq: _seq, t: _t, ...rest }: DomainEvent) => rest as DomainEventBody;

  /** Emits the events from `from` on into `log`, its clock reading each event's own time. */
  function emitFrom(log: EventLog, clock: { t: number }, from: number): void {
    for (const event of events.slice(from)) {
      clock.t = event.t;
      log.emit(body(event));
    }
  }
  const runRows = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return {
        run: db.prepare("SELECT status, event_count, final_t, state_hash, log_hash, metrics_json FROM runs").all(),
        events: db.prepare("SELECT seq, t, type, payload, digest FROM events ORDER BY seq").all(),
        checkpoints: db.prepare("SELECT seq, state_hash FROM checkpoints ORDER BY seq").all(),
      };
    } finally {
      db.close();
    }
  };

  const whole = join(dir, "whole.db");
  {
    const store = EventStore.open(whole);
    const clock = { t: 0 };
    const log = new EventLog(() => clock.t);
    const recorder = new Recorder(log, { store, meta, provenance, flushWhenSettled: true });
    emitFrom(log, clock, 0);
    recorder.complete();
    store.close();
  }

  it("has events to cut (the fixture is a real run with failures)", () => {
    expect(events.length).toBeGreaterThan(50);
    expect(events.some((e) => e.type === "hostFailed")).toBe(true);
    expect(events.at(-1)!.type).toBe("runEnded");
  });

  it("records the same rows, digests, hashes and metrics as the run without the interruption, wherever it is cut", () => {
    let n = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: events.length - 1 }), (cut) => {
        const file = join(dir, `cut-${n++}.db`);
        const store = EventStore.open(file);
        // The first controller: records up to the cut, flushes, and dies (no complete, no abandon).
        const clock = { t: 0 };
        const first = new EventLog(() => clock.t);
        const dead = new Recorder(first, { store, meta, provenance, flushWhenSettled: true });
        for (const event of events.slice(0, cut)) {
          clock.t = event.t;
          first.emit(body(event));
        }
        dead.flush();
        // The second: restores the stored log and goes on.
        const log = new EventLog(() => clock.t);
        const recorder = new Recorder(log, { store, provenance, flushWhenSettled: true, resumeRunId: dead.runId! });
        for (const page of store.readEvents(dead.runId!, { digests: false })) {
          for (let i = 0; i < page.seq.length; i++) log.restore(decodeEvent(page.seq[i]!, page.t[i]!, page.type[i]!, page.payload[i]!));
        }
        expect(log.world.lastSeq).toBe(cut);
        emitFrom(log, clock, cut);
        recorder.complete();
        store.close();
        expect(runRows(file)).toEqual(runRows(whole));
      }),
      { numRuns: 12 },
    );
  });

  it("refuses to restore a log with a gap", () => {
    const log = new EventLog(() => 0);
    log.restore(events[0]!);
    expect(() => log.restore(events[2]!)).toThrow("restoring event 3 after 1: the stored log has a gap");
  });
});
