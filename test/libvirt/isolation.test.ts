import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadInventoryFile } from "../../src/adapters/libvirt/inventory.js";
import type { EventLog } from "../../src/model/event-log.js";
import type { LibvirtInfrastructure } from "../../src/adapters/libvirt/infrastructure.js";
import { runLive } from "../../src/adapters/libvirt/live-run.js";
import { Virsh } from "../../src/adapters/libvirt/virsh.js";
import type { DomainEvent } from "../../src/model/events.js";
import { parseScenario } from "../../src/scenario/load.js";
import { EventStore } from "../../src/event-store/event-store.js";
import { testProvenance } from "../helpers.js";
import { runLibvirtTests, TestbedHosts } from "./testbed-hosts.js";

/**
 * A host that hangs (its libvirtd stopped with SIGSTOP) while its guest runs on: the adapter
 * cannot tell it from a network partition, so it reports `hostIsolated`, not a failure. With
 * fencing the controller has it switched off (the test bed's fence command kills its daemon and
 * QEMUs) before restarting the VM elsewhere; without fencing it restarts the VM anyway — a split
 * brain, recorded, and the old copy destroyed once the host answers again.
 */
const scenario = (fencing: boolean) => `
name: isolation
durationHours: 1
serviceModels: [persistent-ha]
cluster: { hosts: [{ name: h, count: 2, vcpus: 2, memoryGiB: 1, diskGiB: 10 }] }
workload: { sizes: [{ name: tiny, vcpus: 1, memoryGiB: 0.0625, diskGiB: 1 }], fleet: 1 }
ha: { heartbeatTimeoutSeconds: 1, fencing: ${fencing} }
`;

describe.runIf(runLibvirtTests())("a host that stops answering while its VM runs", () => {
  let hosts: TestbedHosts | undefined;
  afterEach(() => hosts?.down(), 60_000);

  async function run(fencing: boolean, steps: (hosts: TestbedHosts, adapter: LibvirtInfrastructure, log: EventLog) => Promise<void>): Promise<DomainEvent[]> {
    hosts = TestbedHosts.up(2);
    const h = hosts;
    const store = EventStore.open(":memory:");
    const events: DomainEvent[] = [];
    const stop = new AbortController();
    let done: Promise<void> = Promise.resolve();
    const inventory = loadInventoryFile(h.writeInventory("fast.yaml", (t) => t.replace("defaults:\n", "defaults:\n  probeIntervalMs: 300\n  probeTimeoutMs: 700\n")));
    const result = await runLive({
      inventory,
      config: parseScenario("isolation.yaml", scenario(fencing)).config,
      meta: { scenarioName: "isolation", scenarioFile: null, scenarioYaml: "", scenarioJson: "{}", scenarioHash: "i", seed: 1, packageVersion: "test", gitCommit: null },
      serviceModel: "persistent-ha",
      seed: 1,
      store,
      provenance: testProvenance,
      virsh: new Virsh(),
      durationMs: 120_000,
      keep: true,
      signal: stop.signal,
      report: () => {},
      observe: (e) => events.push(e),
      onStarted: ({ adapter, log }) => {
        done = steps(h, adapter, log).finally(() => stop.abort());
      },
    });
    await done;
    store.close();
    expect(result.problems).toEqual([]);
    return events;
  }

  const until = async (what: string, test: () => boolean) => {
    const deadline = Date.now() + 60_000;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const qemuPid = (h: TestbedHosts, host: string) => {
    const file = join(h.dir, host, "run", "libvirt", "qemu", "run", "testbed-pet-0001.pid");
    return existsSync(file) ? Number(readFileSync(file, "utf8")) : null;
  };
  const alive = (pid: number | null) => pid !== null && existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");

  it("with fencing: isolated, switched off, then the VM restarted elsewhere; no split brain", async () => {
    let oldQemu: number | null = null;
    const events = await run(true, async (h, _adapter, log) => {
      const vm = () => log.world.vms.get("pet-0001") ?? { state: "pending", host: null };
      await until("the VM running", () => vm().state === "running");
      expect(vm().host).toBe("h1");
      oldQemu = qemuPid(h, "h1");
      h.freeze("h1");
      await until("the VM running on h2", () => vm().state === "running" && vm().host === "h2");
    });
    const types = events.map((e) => e.type);
    const order = ["hostIsolated", "hostFailureDetected", "hostPoweredOff", "vmDown", "vmPlaced", "vmStarted"].map((t) => types.indexOf(t as DomainEvent["type"], types.indexOf("hostIsolated")));
    expect(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!))).toBe(true);
    expect(events.find((e) => e.type === "hostPoweredOff")).toMatchObject({ host: "h1", reason: "fenced" });
    expect(types).not.toContain("splitBrain");
    expect(alive(oldQemu)).toBe(false); // fenced: the old copy is gone
  });

  it("without fencing: the VM restarted anyway is a split brain; the old copy is destroyed when the host answers again", async () => {
    let oldQemu: number | null = null;
    let bothRan = false;
    const events = await run(false, async (h, adapter, log) => {
      const vm = () => log.world.vms.get("pet-0001") ?? { state: "pending", host: null };
      await until("the VM running", () => vm().state === "running");
      oldQemu = qemuPid(h, "h1");
      h.freeze("h1");
      await until("the VM running on h2", () => vm().state === "running" && vm().host === "h2");
      bothRan = alive(oldQemu) && alive(qemuPid(h, "h2"));
      h.thaw("h1");
      await until("h1 reachable", () => !log.world.hosts.get("h1")!.isolated);
      await adapter.settle();
    });
    expect(events.find((e) => e.type === "splitBrain")).toMatchObject({ vm: "pet-0001", host: "h1" });
    expect(events.some((e) => e.type === "hostReconnected")).toBe(true);
    expect(bothRan).toBe(true); // two copies of one VM: what fencing prevents
    expect(alive(oldQemu)).toBe(false); // cleaned up on reconnection
  });
});
