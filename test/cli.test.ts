import type { RunMetrics } from "../src/metrics/run-metrics.js";
import type { RunResult } from "../src/adapters/sim/run-scenario.js";
import Database from "better-sqlite3";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { busyScenario, tempDir, testbed, writeScenario } from "./helpers.js";

const dir = tempDir();
const scenario = () => writeScenario(dir, "busy", busyScenario("busy", 30, 2000));

function events(db: string, runId = 1): unknown[] {
  const conn = new Database(db, { readonly: true });
  const rows = conn.prepare("SELECT seq, t, type, payload, digest FROM events WHERE run_id = ? ORDER BY seq").raw(true).all(runId);
  conn.close();
  return rows;
}

function runJson(...args: string[]) {
  const r = testbed("run", ...args, "--json");
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { db: string; runs: (Pick<RunResult, "runId" | "seed" | "eventCount" | "stateHash" | "logHash" | "serviceModel"> & { metrics: RunMetrics })[] };
}

describe("testbed run", () => {
  let file: string;
  beforeAll(() => {
    file = scenario();
  });

  it("prints runId, seed, eventCount, stateHash and the metrics with --json", () => {
    const out = runJson(file, "--db", join(dir, "json.db"), "--seed", "4");
    expect(out.runs).toHaveLength(1);
    const [run] = out.runs;
    expect(run).toMatchObject({ runId: 1, seed: 4 });
    expect(run!.eventCount).toBeGreaterThan(1000);
    expect(run!.stateHash).toMatch(/^[0-9a-f]{64}$/);
    expect(run).toMatchObject({ serviceModel: "persistent-ha" });
    expect(run!.metrics.hosts).toMatchObject({ hosts: 30, observedHours: 2000 });
    expect(run!.metrics.hosts.hostAvailability).toBeGreaterThan(0.5);
    expect(run!.metrics.hosts.hostAvailability).toBeLessThan(1);
    for (const name of ["availability", "downtimeHoursPerVmYear", "blockingProbability", "recoveryTimeHours", "dataLossWindowHours", "lostVmStateEvents", "hostUtilization"]) {
      expect(run!.metrics).toHaveProperty(name);
    }
    expect(run!.metrics.availability).toBeGreaterThan(0.5);
    expect(run!.metrics.availability).toBeLessThan(1);
  });

  it("gives a byte-identical event log and state hash for the same scenario and seed", () => {
    const a = runJson(file, "--db", join(dir, "a.db"), "--seed", "7").runs[0]!;
    const b = runJson(file, "--db", join(dir, "b.db"), "--seed", "7").runs[0]!;
    expect(b.stateHash).toBe(a.stateHash);
    expect(b.logHash).toBe(a.logHash);
    expect(b.metrics).toEqual(a.metrics);
    expect(events(join(dir, "b.db"))).toEqual(events(join(dir, "a.db")));
  });

  it("gives a different log for a different seed", () => {
    const a = runJson(file, "--db", join(dir, "s1.db"), "--seed", "1").runs[0]!;
    const b = runJson(file, "--db", join(dir, "s2.db"), "--seed", "2").runs[0]!;
    expect(b.logHash).not.toBe(a.logHash);
    expect(b.stateHash).not.toBe(a.stateHash);
  });

  it("stores only the run record and metrics with --no-events, and replay refuses it", () => {
    const db = join(dir, "noevents.db");
    const out = runJson(file, "--db", db, "--no-events");
    expect(out.runs[0]!.eventCount).toBeGreaterThan(1000);
    expect(events(db)).toEqual([]);
    const replay = testbed("replay", db, "--run", "1", "--verify");
    expect(replay.code).toBe(2);
    expect(replay.stderr).toContain("--no-events");
  });

  it("hashes the log of a --no-events run only with --log-hash, and then as if it were stored", () => {
    const stored = runJson(file, "--db", join(dir, "hash-stored.db"), "--seed", "3").runs[0]!;
    const plain = runJson(file, "--db", join(dir, "hash-plain.db"), "--seed", "3", "--no-events").runs[0]!;
    const hashed = runJson(file, "--db", join(dir, "hash-asked.db"), "--seed", "3", "--no-events", "--log-hash").runs[0]!;
    expect(plain.logHash).toBeNull();
    expect(hashed.logHash).toBe(stored.logHash);
    expect([plain.stateHash, plain.metrics]).toEqual([stored.stateHash, stored.metrics]);
  });

  it("never changes a complete run when later runs share its database", () => {
    const db = join(dir, "shared.db");
    const first = runJson(file, "--db", db, "--seed", "1").runs[0]!;
    const before = events(db, 1);
    runJson(file, "--db", db, "--seed", "1");
    runJson(file, "--db", db, "--seed", "2");
    expect(events(db, 1)).toEqual(before);
    const listed = JSON.parse(testbed("inspect", db, "--json").stdout) as { runs: { runId: number; status: string; stateHash: string }[] };
    expect(listed.runs.map((r) => [r.runId, r.status])).toEqual([[1, "complete"], [2, "complete"], [3, "complete"]]);
    expect(listed.runs[1]!.stateHash).toBe(first.stateHash);
  });
});

describe("testbed replay --verify", () => {
  let db: string;
  beforeAll(() => {
    db = join(dir, "verify.db");
    runJson(scenario(), "--db", db);
  });

  function tampered(name: string, sql: string): string {
    const copy = join(dir, `${name}.db`);
    copyFileSync(db, copy);
    const conn = new Database(copy);
    conn.exec(sql);
    conn.close();
    return copy;
  }

  it("accepts an untouched run", () => {
    const r = testbed("replay", db, "--verify");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("verified: equals the recorded state");
  });

  it("names the first changed event", () => {
    const copy = tampered("changed", `UPDATE events SET payload = replace(payload, '"crash"', '"hardware"') WHERE run_id = 1 AND seq IN (120, 300) AND type = 'hostFailed';
      UPDATE events SET t = t + 1 WHERE run_id = 1 AND seq = 77;`);
    const r = testbed("replay", copy, "--verify", "--json");
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout).reports[0];
    expect(report.divergence.seq).toBe(77);
    expect(report.divergence.reason).toContain("event seq 77");
  });

  it("names the gap where an event was removed", () => {
    const copy = tampered("removed", "DELETE FROM events WHERE run_id = 1 AND seq = 150;");
    const r = testbed("replay", copy, "--verify");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("DIVERGES at event seq 150: event seq 150 is missing from the stored log (a gap");
  });

  it("notices a log cut short and a final state that differs from the recorded one", () => {
    const cut = testbed("replay", tampered("cut", "DELETE FROM events WHERE run_id = 1 AND seq > 500;"), "--verify");
    expect(cut.code).toBe(1);
    expect(cut.stdout).toContain("the log ends early after seq 500");
    const wrongHash = testbed("replay", tampered("hash", "UPDATE runs SET state_hash = 'abc' WHERE id = 1;"), "--verify");
    expect(wrongHash.code).toBe(1);
    expect(wrongHash.stdout).toContain("final state hash");
  });
});

describe("testbed exit codes", () => {
  it("exits 2 with one line naming file and field for a bad scenario", () => {
    const file = writeScenario(dir, "bad", busyScenario("bad", 3, 10).replace("memoryGiB: 64", 'memoryGiB: "lots"'));
    const r = testbed("run", file, "--db", join(dir, "bad.db"));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([`${file}: cluster.hosts[0].memoryGiB: expected a positive number, got "lots"`]);
  });

  const usage: [string, string[], RegExp][] = [
    ["a missing scenario file", ["run", "/nonexistent/x.yaml"], /x\.yaml: cannot read the file \(ENOENT\)/],
    ["a seed that is not an integer", ["run", "scenarios/hosts-fail-and-repair.yaml", "--seed", "abc"], /expected an integer seed, got "abc"/],
    ["an unknown command", ["frobnicate"], /unknown command/],
    ["a missing database", ["inspect", "/nonexistent/runs.db"], /no such results database/],
    ["a file that is not a database", ["inspect", "package.json"], /not a vm-testbed results database/],
  ];
  for (const [what, args, message] of usage) {
    it(`exits 2 for ${what}`, () => {
      const r = testbed(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  }

  it("exits 2 for a run id that is not in the database", () => {
    const db = join(dir, "ids.db");
    runJson(writeScenario(dir, "tiny", busyScenario("tiny", 2, 10)), "--db", db);
    const r = testbed("inspect", db, "--run", "9");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no run 9");
  });
});

describe("testbed convert-trace", () => {
  it("writes a failure trace from Google's machine_events, and refuses a bad line with its number", () => {
    const dir = tempDir();
    const file = writeScenario(dir, "machine_events", `0,7,0,p,0.5,0.5\n${600e6 + 3.6e9 * 10},7,1,,,\n${600e6 + 3.6e9 * 12},7,0,p,0.5,0.5\n`);
    const ok = testbed("convert-trace", "google-machine-events", file, "--hosts", "h:2");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("timeHours,target,kind,durationHours\n10,h-001,hardware,2\n");
    const bad = writeScenario(dir, "bad", "0,7,0\nlater,7,1\n");
    const r = testbed("convert-trace", "google-machine-events", bad, "--hosts", "h:2");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bad.yaml: line 2: timestamp: expected microseconds");
  });
});
