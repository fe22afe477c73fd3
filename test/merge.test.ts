import Database from "better-sqlite3";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EventStore, runKey } from "../src/event-store/event-store.js";
import { expandExperiment } from "../src/experiment/expand.js";
import type { MergeReport } from "../src/experiment/merge.js";
import { planSlurmJob, shardFile } from "../src/experiment/slurm-plan.js";
import { tempDir, testbed, tinyFleetScenario, writeScenario } from "./helpers.js";

const dir = tempDir();

/** Ten hosts failing often, 20 VMs, two service models, 2 cells × 2 seeds: 8 short runs. */
const TEXT = (name: string, replicas = "[1, 2]") => `${tinyFleetScenario(name, 2000, { fleet: 20, serviceModels: "[vps, persistent-ha]" })}experiment:
  sweep:
    storage.replicas: ${replicas}
  replications: 2
`;
const file = writeScenario(dir, "merge-exp", TEXT("merge-exp"));

function run(db: string, ...args: string[]): void {
  const r = testbed("run", file, "--db", db, "--quiet", "--jobs", "1", ...args);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

function merge(db: string, ...shards: string[]): { code: number | null; report: MergeReport; stderr: string } {
  const r = testbed("merge", db, ...shards, "--json");
  return { code: r.code, report: JSON.parse(r.stdout) as MergeReport, stderr: r.stderr };
}

/** key → [state hash, log hash, events stored] of the complete runs. */
function contents(db: string): Map<string, [string | null, string | null, number]> {
  const store = EventStore.openReadonly(db);
  const out = new Map(store.completeRunsOf().map((r) => [runKey(r.scenarioHash, r.seed, r.serviceModel), [r.stateHash, r.logHash, store.storedEventCount(r.id)] as [string | null, string | null, number]]));
  store.close();
  return out;
}

// The whole experiment in one database, and the same runs as two array tasks of a Slurm job plan
// (run here by hand with `slurm-task --task i`, as job.sh runs them), each into its shard.
const whole = join(dir, "whole.db");
run(whole);
const jobDir = join(dir, "job");
mkdirSync(jobDir);
const plan = planSlurmJob(expandExperiment(file, readFileSync(file, "utf8")), new Set(), { db: join(dir, "unused.db"), jobDir, file }, { tasks: 2, storeEvents: true, check: false, packageVersion: "test", gitCommit: null, medianRunSeconds: null })!;
writeFileSync(join(jobDir, "plan.json"), JSON.stringify(plan));
for (const task of ["0", "1"]) expect(testbed("slurm-task", join(jobDir, "plan.json"), "--task", task).code).toBe(0);
const [vps, ha] = [shardFile(jobDir, 0), shardFile(jobDir, 1)];
/** Complete runs in a shard (runs another cell stands for are not run: `reused`). */
const completeIn = (file: string) => contents(file).size;
const [inVps, inHa] = [completeIn(vps), completeIn(ha)];

describe("testbed merge", () => {
  it("brings the complete runs of shards into a new database: the same runs, hashes and logs as one database that ran them all", () => {
    const db = join(dir, "merged.db");
    const { code, report } = merge(db, vps, ha);
    expect(code).toBe(0);
    expect(inVps + inHa).toBe(contents(whole).size);
    expect(report.shards.map((s) => [s.status, s.merged, s.skipped])).toEqual([
      ["merged", inVps, 0],
      ["merged", inHa, 0],
    ]);
    expect(contents(db)).toEqual(contents(whole));
    expect(testbed("replay", db, "--verify").code).toBe(0);
    expect(testbed("summarize", db).stdout).toBe(testbed("summarize", whole).stdout);
  });

  it("merges runs recorded without their events, which have no log hash (found by the merge benchmark, issue 18)", () => {
    const shard = join(dir, "no-events.db");
    run(shard, "--no-events");
    const db = join(dir, "merged-no-events.db");
    const { code, report } = merge(db, shard);
    expect(report.shards.map((s) => [s.status, s.merged, s.reason ?? null])).toEqual([["merged", contents(whole).size, null]]);
    expect(code).toBe(0);
    expect([...contents(db).values()].every(([state, log, events]) => state !== null && log === null && events === 0)).toBe(true);
  });

  it("is idempotent: merging the same shards again skips every run and changes nothing", () => {
    const db = join(dir, "twice.db");
    merge(db, vps);
    const before = contents(db);
    const { code, report } = merge(db, vps, vps, ha);
    expect(code).toBe(0);
    expect(report.shards.map((s) => [s.merged, s.skipped])).toEqual([
      [0, inVps],
      [0, inVps],
      [inHa, 0],
    ]);
    expect(contents(db).size).toBe(inVps + inHa);
    for (const [key, value] of before) expect(contents(db).get(key)).toEqual(value);
  });

  it("refuses a shard with a changed event, naming the run and the event, merges the others and exits 1", () => {
    const damaged = join(dir, "damaged.db");
    copyFileSync(ha, damaged);
    const conn = new Database(damaged);
    const runId = conn.prepare("SELECT id FROM runs WHERE status = 'complete' ORDER BY id LIMIT 1").pluck().get() as number;
    conn.prepare("UPDATE events SET t = t + 1 WHERE run_id = ? AND seq = 17").run(runId);
    conn.close();
    const db = join(dir, "with-damaged.db");
    const { code, report } = merge(db, damaged, vps);
    expect(code).toBe(1);
    expect(report.shards[0]).toMatchObject({ status: "refused", merged: 0 });
    expect(report.shards[0]!.reason).toMatch(new RegExp(`^damaged: run ${runId} \\(seed \\d, [a-z-]+\\): the chained digest differs at event 17`));
    expect(report.shards[1]).toMatchObject({ status: "merged", merged: inVps });
    expect(contents(db).size).toBe(inVps);
  });

  it("refuses a shard whose events were cut short, and a file that is not a results database", () => {
    const cut = join(dir, "cut.db");
    copyFileSync(vps, cut);
    const conn = new Database(cut);
    const lastRun = conn.prepare("SELECT max(id) FROM runs").pluck().get() as number;
    conn.prepare("DELETE FROM events WHERE run_id = ? AND seq > 100").run(lastRun);
    conn.close();
    const garbage = join(dir, "garbage.db");
    writeFileSync(garbage, "not sqlite at all, just text ".repeat(200));
    const r = testbed("merge", join(dir, "cut-into.db"), cut, garbage, join(dir, "absent.db"));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`cut\\.db: refused: damaged: run ${lastRun} \\(seed \\d, [a-z-]+\\) recorded \\d+ events, 100 are stored`));
    expect(r.stdout).toContain("garbage.db: refused: not a vm-testbed results database (file is not a database)");
    expect(r.stdout).toContain("absent.db: refused: no such file");
  });

  it("refuses a shard of another experiment, and one of this experiment's name whose cells are not this database's", () => {
    const otherFile = writeScenario(dir, "other-exp", TEXT("other-exp"));
    const other = join(dir, "other.db");
    expect(testbed("run", otherFile, "--db", other, "--quiet", "--jobs", "1").code).toBe(0);
    const renamed = writeScenario(dir, "resized", TEXT("merge-exp", "[3]"));
    const resized = join(dir, "resized.db");
    expect(testbed("run", renamed, "--db", resized, "--quiet", "--jobs", "1").code).toBe(0);
    const db = join(dir, "foreign-into.db");
    copyFileSync(whole, db);
    const { code, report } = merge(db, other, resized);
    expect(code).toBe(1);
    expect(report.shards[0]!.reason).toBe(`foreign: a shard of experiment other-exp, but ${db} holds merge-exp`);
    expect(report.shards[1]!.reason).toMatch(new RegExp(`^foreign: its run 1 \\(seed 1, vps\\) has scenario hash [0-9a-f]{12}…, not a cell of experiment merge-exp in ${db.replace(/[.]/g, "\\.")}$`));
    expect(contents(db)).toEqual(contents(whole));
  });
});
