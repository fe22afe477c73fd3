import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { domainXml } from "../../src/adapters/libvirt/domain-xml.js";
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

  /**
   * Starts `testbed live` on the scenario, calls `act` with the stored log as it grows until it
   * returns true, then SIGKILLs the controller, waits a while and resumes with `--keep`. Returns the
   * log before the kill and after the resumed run, once checked: one log (sequence, time never
   * going back, the gap in it), every VM running exactly once where the log says and nothing else of
   * ours running, `replay --verify` passing.
   */
  async function killAndResume(
    name: string,
    text: string,
    inventory: string,
    act: (events: DomainEvent[]) => boolean,
    whileDead?: (db: string) => void,
  ): Promise<{ before: DomainEvent[]; after: DomainEvent[]; stderr: string }> {
    const scenario = writeScenario(dir, name, text);
    const db = join(dir, `${name}.db`);
    const first = startTestbed("live", inventory, scenario, "--db", db);
    let firstErr = "";
    first.stderr!.on("data", (d: Buffer) => (firstErr += d.toString()));
    const deadline = Date.now() + 40_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      let events: DomainEvent[];
      try {
        events = storedEvents(db);
      } catch {
        continue; // not created yet
      }
      if (act(events)) break;
      if (Date.now() > deadline) throw new Error(`the moment to kill never came: ${firstErr}`);
    }
    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));
    const before = storedEvents(db);
    await new Promise((r) => setTimeout(r, 1_500)); // the controller stays dead for a while
    whileDead?.(db);

    const resumed = testbed("live", inventory, "--resume", db, "--keep", "--json");
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
    clearHosts();
    return { before, after, stderr: resumed.stderr };
  }

  /** Leaves the hosts that answer without domains of ours, for the next case. */
  function clearHosts(): void {
    for (const h of ["h1", "h2", "h3"]) {
      for (const d of spawnSync("virsh", ["-q", "-c", hosts.uri(h), "list", "--all", "--name"], { encoding: "utf8" }).stdout.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("testbed-"))) {
        spawnSync("virsh", ["-q", "-c", hosts.uri(h), "destroy", d]);
        spawnSync("virsh", ["-q", "-c", hosts.uri(h), "undefine", d]);
      }
    }
  }

  const scenario = (name: string, ha: string, failures: string) => `name: ${name}
seed: 1
durationHours: 0.0097222
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
ha: ${ha}
placement: { policy: first-fit }
${failures}`;

  it("killed while a host is down and a restart is pending, resumed: the timeout re-armed from the log, every VM runs exactly once, no stale domain, replay --verify passes", async () => {
    // Two tiny VMs on h1 (first fit); h1 crashes 3 s in for 25 s; HA declares it dead 10 s after it falls silent.
    const { before, after, stderr } = await killAndResume(
      "down",
      scenario("down", "{ heartbeatTimeoutSeconds: 10, fencing: false }", "failures:\n  trace:\n    - { timeHours: 0.00083333, target: h1, kind: crash, durationHours: 0.0069444 }\n"),
      hosts.inventoryFile,
      (events) => events.some((e) => e.type === "hostFailed" && e.host === "h1"),
      (db) => {
        // Meanwhile a copy of pet-0001 of this run starts on h3 (the log has it down on h1): stale.
        const sqlite = new Database(db, { readonly: true });
        const run = sqlite.prepare("SELECT run_tag FROM live_runs").pluck().get() as string;
        sqlite.close();
        const xml = domainXml({ name: "testbed-pet-0001", vm: "pet-0001", run, vcpus: 1, memoryMiB: 64, domainType: "qemu" });
        const file = join(dir, "copy.xml");
        writeFileSync(file, xml);
        for (const args of [["define", file], ["start", "testbed-pet-0001"]]) {
          const r = spawnSync("virsh", ["-q", "-c", hosts.uri("h3"), ...args], { encoding: "utf8" });
          expect(r.status, r.stderr).toBe(0);
        }
      },
    );
    expect(stderr).toContain("h3: testbed-pet-0001 runs there although the log does not account for it: destroyed");
    expect(stderr).toContain("1 stale domain(s) removed");
    expect(before.some((e) => e.type === "hostFailureDetected")).toBe(false);
    expect(before.filter((e) => e.type === "vmDown").map((e) => (e as { vm: string }).vm).sort()).toEqual(["pet-0001", "pet-0002"]);
    // The resumed controller declared h1 dead (its timeout re-armed from the log) and restarted both VMs elsewhere.
    expect(after.filter((e) => e.type === "hostFailureDetected").map((e) => (e as { host: string }).host)).toEqual(["h1"]);
    // When the timeout runs out on the run's clock, 10 s after the silence began — not 10 s after the resume.
    const failed = before.find((e) => e.type === "hostFailed")!;
    const detected = after.find((e) => e.type === "hostFailureDetected")!;
    expect(detected.t - failed.t).toBeGreaterThanOrEqual(10_000);
    expect(detected.t - failed.t).toBeLessThan(12_500);
    // And the host came back at the trace's time (the repair re-armed too).
    expect(after.some((e) => e.type === "hostRepaired" && e.host === "h1")).toBe(true);
  }, 60_000);

  it("killed right after fencing an isolated host, resumed: its VMs run elsewhere exactly once, nothing fenced or declared twice", async () => {
    const fast = hosts.writeInventory("fast.yaml", (t) => t.replace("defaults:\n", "defaults:\n  probeIntervalMs: 300\n  probeTimeoutMs: 700\n"));
    let frozen = false;
    const { before, after } = await killAndResume("fenced", scenario("fenced", "{ heartbeatTimeoutSeconds: 2, fencing: true }", ""), fast, (events) => {
      if (!frozen && events.filter((e) => e.type === "vmStarted").length === 2) {
        hosts.freeze("h1"); // its daemon stops answering, its guests run on: isolated
        frozen = true;
      }
      return events.some((e) => e.type === "hostPoweredOff" && e.host === "h1");
    });
    expect(before.filter((e) => e.type === "hostFailureDetected").length).toBe(1);
    expect(after.some((e) => e.type === "hostFailureDetected" || e.type === "hostPoweredOff" || e.type === "splitBrain")).toBe(false);
    hosts.restart("h1"); // fenced: switched off by the run; back, with the domains it had, for the next case to clear
    clearHosts();
  }, 60_000);

  it("killed in the middle of a live migration (a maintenance drain), resumed: the migration reconciled, the drain and window taken up again, every VM runs exactly once", async () => {
    let inFlight: string | null = null;
    const { before, after } = await killAndResume(
      "migrating",
      scenario("migrating", "{ heartbeatTimeoutSeconds: 10, fencing: false }", "maintenance:\n  windows:\n    - { host: h1, atHours: 0.0011111, hours: 0.0016667 }\n"),
      hosts.inventoryFile,
      (events) => {
        const started = events.filter((e) => e.type === "migrationStarted").map((e) => (e as { vm: string }).vm);
        const ended = new Set(events.filter((e) => e.type === "migrationFinished" || e.type === "migrationAborted").map((e) => (e as { vm: string }).vm));
        inFlight = started.find((vm) => !ended.has(vm)) ?? null;
        return inFlight !== null;
      },
    );
    expect(inFlight).not.toBeNull();
    // The migration in flight at the kill is ended in the log by the resumed run (finished or failed, as the hosts say).
    const end = after.find((e) => (e.type === "migrationFinished" || e.type === "migrationAborted") && e.vm === inFlight);
    expect(end, JSON.stringify(after.slice(0, 5))).toBeDefined();
    expect(before.filter((e) => e.type === "maintenanceStarted").length).toBe(1);
    expect(after.filter((e) => e.type === "maintenanceStarted").length).toBe(0);
    // The window was taken: h1 switched off and on, maintenance over, and no VM on it.
    expect(after.map((e) => e.type).filter((t) => t === "hostPoweredOff" || t === "hostPoweredOn" || t === "maintenanceFinished")).toEqual(["hostPoweredOff", "hostPoweredOn", "maintenanceFinished"]);
  }, 60_000);
});
