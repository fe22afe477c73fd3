import { spawnSync } from "node:child_process";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEvent } from "../../src/event-store/event-codec.js";
import { EventLog } from "../../src/model/event-log.js";
import type { DomainEvent } from "../../src/model/events.js";
import { startTestbed, tempDir, testbed, writeScenario } from "../helpers.js";
import { runLibvirtTests, TestbedHosts } from "./testbed-hosts.js";

/**
 * `testbed live --resume` on real libvirt daemons (issue 19): the controller of a live run is
 * killed with SIGKILL while a host is down and the restart of its VMs is pending (the heartbeat
 * timeout has not run out); another process takes the run over from the stored log.
 */
describe.runIf(runLibvirtTests())("a live run survives its controller's death", () => {
  let hosts: TestbedHosts;
  const dir = tempDir();
  beforeAll(() => {
    hosts = TestbedHosts.up(3);
  }, 60_000);
  afterAll(() => hosts?.down(), 60_000);

  const storedEvents = (db: string): DomainEvent[] => {
    const sqlite = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const rows = sqlite.prepare("SELECT seq, t, type, payload FROM events ORDER BY seq").all() as { seq: number; t: number; type: string; payload: string }[];
      return rows.map((r) => decodeEvent(r.seq, r.t, r.type, r.payload));
    } finally {
      sqlite.close();
    }
  };
  const runningDomains = (host: string) =>
    spawnSync("virsh", ["-q", "-c", hosts.uri(host), "list", "--state-running", "--name"], { encoding: "utf8" })
      .stdout.split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "");

  it("killed while a host is down and a restart is pending, resumed: every VM runs exactly once, no stale domain, replay --verify passes", async () => {
    // Two tiny VMs on h1 (first fit); h1 crashes 3 s in for 30 s; HA declares it dead 10 s after it falls silent.
    const scenario = writeScenario(
      dir,
      "resume",
      `name: resume
seed: 1
durationHours: 0.0111111
serviceModels: [persistent-ha]
cluster:
  hosts:
    - { name: h1, vcpus: 2, memoryGiB: 7, diskGiB: 1024 }
    - { name: h2, vcpus: 2, memoryGiB: 7, diskGiB: 1024 }
    - { name: h3, vcpus: 2, memoryGiB: 7, diskGiB: 1024 }
workload:
  sizes: [{ name: tiny, vcpus: 1, memoryGiB: 0.0625, diskGiB: 1 }]
  fleet: 2
provisioning: { bootSeconds: 1, volumeAttachSeconds: 0 }
storage: { kind: san }
ha: { heartbeatTimeoutSeconds: 10, fencing: false }
placement: { policy: first-fit }
failures:
  trace:
    - { timeHours: 0.00083333, target: h1, kind: crash, durationHours: 0.0083333 }
`,
    );
    const db = join(dir, "resume.db");
    const first = startTestbed("live", hosts.inventoryFile, scenario, "--db", db);
    let firstErr = "";
    first.stderr!.on("data", (d: Buffer) => (firstErr += d.toString()));
    // Wait until the log has h1's failure (its VMs down), then kill the controller before the timeout runs out.
    const deadline = Date.now() + 30_000;
    let killedAt: DomainEvent[] = [];
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      try {
        killedAt = storedEvents(db);
      } catch {
        continue; // not created yet
      }
      if (killedAt.some((e) => e.type === "hostFailed" && e.host === "h1")) break;
      if (Date.now() > deadline) throw new Error(`h1's failure never came: ${firstErr}`);
    }
    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));
    const before = storedEvents(db);
    expect(before.some((e) => e.type === "hostFailureDetected"), firstErr).toBe(false);
    expect(before.filter((e) => e.type === "vmDown").map((e) => (e as { vm: string }).vm).sort()).toEqual(["pet-0001", "pet-0002"]);
    await new Promise((r) => setTimeout(r, 1_500)); // the controller stays dead for a while

    const resumed = testbed("live", hosts.inventoryFile, "--resume", db, "--keep", "--json");
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout) as { runId: number; eventCount: number; problems: unknown[] };
    expect(resumed.stderr).toContain(`resuming run ${result.runId}`);

    // The log goes on where it stopped: the same sequence, time never going back, and after the gap.
    const events = storedEvents(db);
    expect(events.length).toBe(result.eventCount);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    for (let i = 1; i < events.length; i++) expect(events[i]!.t).toBeGreaterThanOrEqual(events[i - 1]!.t);
    const after = events.slice(before.length);
    expect(after[0]!.t - before.at(-1)!.t).toBeGreaterThanOrEqual(1_500);
    // The resumed controller declared h1 dead (its timeout re-armed from the log) and restarted both VMs elsewhere.
    expect(after.filter((e) => e.type === "hostFailureDetected").map((e) => (e as { host: string }).host)).toEqual(["h1"]);
    expect(events.filter((e) => e.type === "runStarted").length).toBe(1);
    expect(events.at(-1)!.type).toBe("runEnded");

    const log = new EventLog(() => 0);
    for (const event of events) log.restore(event);
    const where = new Map<string, string>();
    for (const [id, vm] of log.world.vms) {
      expect(vm.state, id).toBe("running");
      where.set(id, vm.host!);
    }
    expect([...where.keys()].sort()).toEqual(["pet-0001", "pet-0002"]);
    // Each VM's domain runs on exactly one host, the one the log says; nothing else of ours runs.
    const running = ["h1", "h2", "h3"].flatMap((h) => runningDomains(h).map((d) => `${h} ${d}`)).sort();
    expect(running).toEqual([...where].map(([vm, host]) => `${host} testbed-${vm}`).sort());

    const verify = testbed("replay", db, "--verify");
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const inspect = testbed("inspect", db, "--json");
    expect(inspect.code, inspect.stderr).toBe(0);
  }, 110_000);
});
