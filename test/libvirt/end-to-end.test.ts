import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Controller } from "../../src/controller/controller.js";
import type { LibvirtInfrastructure } from "../../src/adapters/libvirt/infrastructure.js";
import { loadInventoryFile } from "../../src/adapters/libvirt/inventory.js";
import type { EventLog } from "../../src/model/event-log.js";
import { runLive, type LiveRunResult } from "../../src/adapters/libvirt/live-run.js";
import { Virsh } from "../../src/adapters/libvirt/virsh.js";
import type { DomainEvent, EventOf } from "../../src/model/events.js";
import { parseScenario } from "../../src/scenario/load.js";
import { EventStore } from "../../src/event-store/event-store.js";
import { tempDir, testbed, testProvenance } from "../helpers.js";
import { runLibvirtTests, TestbedHosts } from "./testbed-hosts.js";

/**
 * End to end on real libvirt: three unprivileged libvirtd daemons as hosts, tiny TCG guests
 * (64 MiB, no disk), the same controller as the simulation. A host is killed (its daemon and its
 * QEMUs): the persistent VMs must be restarted on the other hosts after the heartbeat timeout;
 * the host comes back and its stale definitions are cleaned up; then `drain` live-migrates
 * everything off another host. The run is recorded and replays with verification. The times
 * measured are printed (see the README for the numbers and the simulation side by side).
 */
const SCENARIO = `
name: e2e-ha
durationHours: 1
serviceModels: [persistent-ha]
cluster: { hosts: [{ name: h, count: 3, vcpus: 2, memoryGiB: 1, diskGiB: 10 }] }
workload: { sizes: [{ name: tiny, vcpus: 1, memoryGiB: 0.0625, diskGiB: 1 }], fleet: 3 }
ha: { heartbeatTimeoutSeconds: 2, fencing: false }
placement: { policy: first-fit }
`;

describe.runIf(runLibvirtTests())("end to end on libvirt daemons with QEMU/TCG guests", () => {
  let hosts: TestbedHosts;
  let dir: string;
  let result: LiveRunResult;
  const events: DomainEvent[] = [];
  const marks: Record<string, number> = {};
  const seen: Record<string, string[]> = {};

  const running = (log: EventLog) => [...log.world.vms.values()].filter((v) => v.state === "running");
  async function until(what: string, test: () => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const domainsOn = (host: string, all = false) =>
    spawnSync("virsh", ["-q", "-c", hosts.uri(host), "list", ...(all ? ["--all"] : []), "--name"], { encoding: "utf8" })
      .stdout.split("\n")
      .filter((n) => n.startsWith("testbed-"));

  beforeAll(async () => {
    hosts = TestbedHosts.up(3);
    dir = tempDir();
    const store = EventStore.open(join(dir, "live.db"));
    const stop = new AbortController();
    let steps: Promise<void> = Promise.resolve();
    try {
      result = await runLive({
        inventory: loadInventoryFile(hosts.inventoryFile),
        config: parseScenario("e2e.yaml", SCENARIO).config,
        meta: { scenarioName: "e2e-ha", scenarioFile: null, scenarioYaml: SCENARIO, scenarioJson: "{}", scenarioHash: "e2e", seed: 1, packageVersion: "test", gitCommit: null },
        serviceModel: "persistent-ha",
        seed: 1,
        store,
        provenance: testProvenance,
        virsh: new Virsh(),
        durationMs: 300_000,
        keep: true, // what libvirt has is checked below; hosts.down() removes it
        signal: stop.signal,
        report: () => {},
        observe: (e) => events.push(e),
        onStarted: ({ adapter, controller, log }) => {
          steps = scenarioSteps(adapter, controller, log).finally(() => stop.abort());
        },
      });
      await steps;
    } finally {
      store.close();
    }

    async function scenarioSteps(adapter: LibvirtInfrastructure, controller: Controller, log: EventLog): Promise<void> {
      await until("three VMs running", () => running(log).length === 3);
      // Kill h1 (first fit put VMs there) as a power cut would.
      marks.killStarted = log.now;
      await adapter.injectFailure("h1");
      marks.killed = log.now;
      await until("the VMs restarted elsewhere", () => running(log).length === 3 && running(log).every((v) => v.host !== "h1"));
      marks.restarted = log.now;
      // h1 comes back: its stale definitions are removed.
      await adapter.injectRepair("h1");
      await until("h1 back", () => log.world.hosts.get("h1")!.up);
      await adapter.settle();
      seen.h1AfterRepair = domainsOn("h1", true);
      // Drain the host the VMs were restarted on.
      const target = running(log)[0]!.host!;
      marks.drainStarted = log.now;
      let drained = -1;
      controller.drain(target, (remaining) => (drained = remaining));
      await until("the drain", () => drained >= 0);
      marks.drained = log.now;
      marks.remaining = drained;
      marks.drainedHost = Number(target.slice(1));
      await adapter.settle();
      for (const h of ["h1", "h2", "h3"]) seen[h] = domainsOn(h, true);
    }
  }, 240_000);

  afterAll(() => hosts?.down(), 60_000);

  const of = <K extends DomainEvent["type"]>(type: K) => events.filter((e): e is EventOf<K> => e.type === type);

  it("records the run completely, and it replays with verification", () => {
    expect(result.problems).toEqual([]);
    expect(events.at(-1)!.type).toBe("runEnded");
    const replay = testbed("replay", join(dir, "live.db"), "--verify");
    expect(replay.stderr + replay.stdout).toContain("verified");
    expect(replay.code).toBe(0);
  });

  it("detects the killed host and restarts its persistent VMs on the other hosts", () => {
    const failed = of("hostFailed");
    expect(failed.map((e) => e.host)).toEqual(["h1"]);
    // First fit on 2-vCPU hosts: two of the three 1-vCPU VMs were on h1.
    const onH1 = of("vmPlaced").filter((e) => e.t < failed[0]!.t && e.host === "h1").map((e) => e.vm).sort();
    expect(onH1.length).toBeGreaterThan(0);
    expect(of("vmDown").filter((e) => e.cause === "host").map((e) => e.vm).sort()).toEqual(onH1);
    const detected = of("hostFailureDetected")[0]!;
    expect(detected.host).toBe("h1");
    // The controller waits the heartbeat timeout after the failure before restarting.
    expect(detected.t - failed[0]!.t).toBeGreaterThanOrEqual(2000);
    const restarts = of("vmPlaced").filter((e) => e.t >= detected.t);
    expect(restarts.map((e) => e.vm).sort()).toEqual(onH1);
    expect(restarts.every((e) => e.host !== "h1")).toBe(true);
    const lastStart = Math.max(...of("vmStarted").filter((e) => e.t >= detected.t).map((e) => e.t));
    const detection = failed[0]!.t - marks.killed!;
    console.log(
      `[libvirt e2e] kill took ${marks.killed! - marks.killStarted!} ms; hostFailed ${detection} ms after the kill; ` +
        `hostFailureDetected +${detected.t - failed[0]!.t} ms (heartbeat timeout 2000); its ${onH1.length} VMs running again ${lastStart - marks.killed!} ms after the kill (restart: ${lastStart - detected.t} ms)`,
    );
    expect(detection).toBeLessThan(3000); // probe interval 1 s, probe timeout 2 s; the event stream's EOF is faster
  });

  it("cleans the stale definitions off the host that came back", () => {
    expect(of("hostRepaired").map((e) => e.host)).toEqual(["h1"]);
    expect(seen.h1AfterRepair).toEqual([]);
  });

  it("drain live-migrates every VM off the host, and they run on the others", () => {
    expect(marks.remaining).toBe(0);
    const host = `h${marks.drainedHost}`;
    const started = of("migrationStarted").filter((e) => e.from === host);
    const finished = of("migrationFinished");
    expect(started.length).toBeGreaterThan(0);
    expect(started.every((e) => e.mode === "live")).toBe(true);
    expect(finished.map((e) => e.vm).sort()).toEqual(started.map((e) => e.vm).sort());
    expect(of("migrationAborted")).toEqual([]);
    const times = started.map((s) => finished.find((f) => f.vm === s.vm)!.t - s.t);
    const downtimes = finished.map((f) => f.downtimeMs);
    console.log(`[libvirt e2e] drain of ${host}: ${started.length} live migration(s), total ${times.join(", ")} ms, downtime ${downtimes.join(", ")} ms; drain took ${marks.drained! - marks.drainStarted!} ms`);
    expect(Math.max(...downtimes)).toBeLessThan(1000);
    // What libvirt says now: nothing of ours left on the drained host; every VM running somewhere else.
    expect(seen[host]).toEqual([]);
    const elsewhere = ["h1", "h2", "h3"].filter((h) => h !== host).flatMap((h) => seen[h]!);
    expect(elsewhere.sort()).toEqual(["testbed-pet-0001", "testbed-pet-0002", "testbed-pet-0003"]);
  });
});
