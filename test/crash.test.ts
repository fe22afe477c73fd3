import Database from "better-sqlite3";
import { once } from "node:events";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { replayRun } from "../src/replay/replay.js";
import { EventStore } from "../src/event-store/event-store.js";
import { busyScenario, startTestbed, tempDir, testbed, writeScenario } from "./helpers.js";

const dir = tempDir();

/** Waits until the run `runId` has at least one committed batch of events. */
async function untilEventsStored(db: string, runId: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const conn = new Database(db, { readonly: true });
      const n = (conn.prepare("SELECT count(*) AS n FROM events WHERE run_id = ?").get(runId) as { n: number }).n;
      conn.close();
      if (n > 0) return;
    } catch {
      // the database may not exist yet
    }
    await sleep(25);
  }
  throw new Error(`run ${runId} stored no events in time`);
}

function storedSeqsAreAPrefix(db: string, runId: number): number {
  const conn = new Database(db, { readonly: true });
  const { n, max } = conn.prepare("SELECT count(*) AS n, max(seq) AS max FROM events WHERE run_id = ?").get(runId) as { n: number; max: number };
  conn.close();
  expect(max).toBe(n);
  return n;
}

describe("a run that does not finish", () => {
  const small = writeScenario(dir, "small", busyScenario("small", 5, 500));
  // ~2000 hosts crashing every ~10 h for a year: millions of events, several seconds of work.
  const long = writeScenario(dir, "long", busyScenario("long", 2000, 8760));

  it("killed with SIGKILL leaves a database that opens, lists it as incomplete and keeps earlier runs intact", async () => {
    const db = join(dir, "killed.db");
    expect(testbed("run", small, "--db", db).code).toBe(0);
    const child = startTestbed("run", long, "--db", db, "--quiet");
    await untilEventsStored(db, 2);
    child.kill("SIGKILL");
    await once(child, "exit");

    const store = EventStore.openReadonly(db);
    const [complete, killed] = store.listRuns();
    expect(complete!.status).toBe("complete");
    expect(replayRun(store, complete!, { verify: true }).ok).toBe(true);
    expect(killed!.status).toBe("running");
    store.close();
    expect(storedSeqsAreAPrefix(db, 2)).toBeGreaterThan(0);

    const listed = testbed("inspect", db);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/\n2\s+long\s+persistent-ha\s+1\s+incomplete \(killed\)/);
    const verify = testbed("replay", db, "--run", "2", "--verify");
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain("is not complete (running)");
  });

  it("interrupted with SIGINT is recorded as interrupted, with exit code 130", async () => {
    const db = join(dir, "interrupted.db");
    const child = startTestbed("run", long, "--db", db, "--quiet");
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    await untilEventsStored(db, 1);
    child.kill("SIGINT");
    const [code] = await once(child, "exit");
    expect(code).toBe(130);
    expect(stderr).toContain("recorded as interrupted");
    const store = EventStore.openReadonly(db);
    expect(store.getRun(1)).toMatchObject({ status: "interrupted" });
    expect(store.getRun(1)!.error).toMatch(/^interrupted at t=\d+ ms after \d+ events$/);
    store.close();
    storedSeqsAreAPrefix(db, 1);
  });
});
