import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterPort } from "../../src/controller/port.js";
import { LibvirtInfrastructure } from "../../src/adapters/libvirt/infrastructure.js";
import { loadInventoryFile } from "../../src/adapters/libvirt/inventory.js";
import { wallClockLog } from "../../src/adapters/libvirt/live-run.js";
import { Virsh } from "../../src/adapters/libvirt/virsh.js";
import { distribution } from "../../src/kernel/distributions.js";
import { PRICES_2008 } from "../../src/scenario/defaults.js";
import type { DomainEvent, DomainEventBody } from "../../src/model/events.js";
import { parseScenario } from "../../src/scenario/load.js";
import { SimulatedInfrastructure } from "../../src/adapters/sim/infrastructure.js";
import { Provisioning } from "../../src/adapters/sim/provisioning.js";
import { Simulation } from "../../src/adapters/sim/simulation.js";
import { San } from "../../src/adapters/sim/storage/san.js";
import { runLibvirtTests, TestbedHosts } from "./testbed-hosts.js";

/**
 * The contract of the infrastructure port (`src/controller/port.ts`), checked with the same
 * assertions on three adapters: the simulated one, the libvirt adapter on libvirt's test driver
 * (`test+unix:///default?socket=…`, served by test-bed daemons, one kept connection per host),
 * and the libvirt adapter on QEMU/TCG hosts. Each step issues commands through the port and
 * checks the events that come back — types and payloads, not times or durations. Migration is
 * checked where the adapter can migrate (the test driver cannot).
 */
interface Harness {
  port: ClusterPort;
  events: DomainEvent[];
  emit(body: DomainEventBody): void;
  /** Lets time pass until `until` holds: the simulation runs its timers, real hosts are waited for. */
  waitFor(until: () => boolean, what: string): Promise<void>;
  /** Crashes a host behind the adapter's back: the adapter must notice. */
  failHost(host: string): Promise<void>;
  canMigrate: boolean;
  close(): Promise<void>;
}

/** The port's own events, without times or measured values. */
const PORT_EVENTS = new Set(["vmPlaced", "vmRebooted", "vmStarted", "vmDown", "hostFailed", "hostRepaired", "hostPoweredOff", "hostPoweredOn", "migrationStarted", "migrationFinished", "migrationAborted", "vmLost"]);
function portEvents(events: DomainEvent[]): Record<string, unknown>[] {
  return events
    .filter((e) => PORT_EVENTS.has(e.type))
    .map((e) => {
      const { seq: _seq, t: _t, ...body } = e as DomainEvent & Record<string, unknown>;
      delete body.bootMs;
      delete body.downtimeMs;
      delete body.transferredGiB;
      return body;
    });
}

const CONFIG = parseScenario("contract", "name: contract\ndurationHours: 1\ncluster: { hosts: [{ name: h, vcpus: 2, memoryGiB: 1, diskGiB: 10 }] }\n").config;

function simulatedHarness(): Harness {
  const sim = new Simulation(1);
  const san = new San(sim);
  const infrastructure = new SimulatedInfrastructure(
    sim,
    new Provisioning({ ...CONFIG.provisioning, bootSeconds: { type: "deterministic", value: 1 }, volumeAttachSeconds: { type: "deterministic", value: 0 } }, sim.random.fork("provisioning")),
    san,
    { migration: CONFIG.migration, dirtyRateMiBps: distribution({ type: "deterministic", value: 1 }), hostBootMs: 2000, isolationPowerOff: false, isolationDetectionMs: 0 },
    sim.random.fork("migration"),
  );
  sim.onEvent((e) => san.react(e));
  sim.onEvent((e) => infrastructure.react(e));
  const events: DomainEvent[] = [];
  sim.subscribe((e) => events.push(e));
  sim.emit({ type: "runStarted", serviceModel: "persistent-ha", prices: PRICES_2008 });
  return {
    port: infrastructure,
    events,
    emit: (body) => sim.emit(body),
    async waitFor(until, what) {
      while (!until()) {
        if (sim.scheduler.pending === 0) throw new Error(`nothing left to happen, and not: ${what}`);
        sim.scheduler.run(Infinity, 1);
      }
    },
    async failHost(host) {
      sim.emit({ type: "hostFailed", host, cause: "crash" });
    },
    canMigrate: true,
    async close() {},
  };
}

async function libvirtHarness(hosts: TestbedHosts, inventoryFile: string, canMigrate: boolean): Promise<Harness> {
  const log = wallClockLog();
  const adapter = new LibvirtInfrastructure({ inventory: loadInventoryFile(inventoryFile), virsh: new Virsh(), log, runTag: "contract", bootMs: 1000, report: () => {} });
  const events: DomainEvent[] = [];
  log.subscribe((e) => events.push(e));
  const harness: Harness = {
    port: adapter,
    events,
    emit: (body) => log.emit(body),
    async waitFor(until, what) {
      const deadline = Date.now() + 30_000;
      while (!until()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}; problems: ${adapter.problems.map((p) => p.message).join("; ")}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async failHost(host) {
      hosts.kill(host);
    },
    canMigrate,
    async close() {
      await adapter.quiesce();
      await adapter.removeAll();
      adapter.dispose();
    },
  };
  harness.emit({ type: "runStarted", serviceModel: "persistent-ha", prices: PRICES_2008 });
  await adapter.addHosts();
  adapter.startMonitors();
  return harness;
}

function contract(name: string, make: () => Promise<Harness>) {
  describe(`the infrastructure port: ${name}`, () => {
    let h: Harness;
    const world = () => h.port.world;
    const since = (n: number) => portEvents(h.events.slice(n));
    const state = (vm: string) => world().vms.get(vm)?.state;

    beforeAll(async () => {
      h = await make();
      // The simulated harness has no hosts of its own: the same three as the test bed's.
      if (world().hosts.size === 0) for (const host of ["h1", "h2", "h3"]) h.emit({ type: "hostAdded", host, rack: `rack-${host}`, vcpus: 2, memoryGiB: 1, diskGiB: 10, disks: 1 });
      for (const vm of ["a", "b"]) h.emit({ type: "vmRequested", vm, vcpus: 1, memoryGiB: 0.0625, diskGiB: 1, lifetimeHours: null });
    }, 60_000);
    afterAll(async () => h?.close(), 60_000);

    it("startVm: vmPlaced, then vmStarted once it runs", async () => {
      const n = h.events.length;
      h.port.startVm("a", "h1");
      expect(state("a")).toBe("booting");
      await h.waitFor(() => state("a") === "running", "a running");
      expect(since(n)).toEqual([
        { type: "vmPlaced", vm: "a", host: "h1" },
        { type: "vmStarted", vm: "a" },
      ]);
    });

    it("stopVm: vmDown (stopped), still assigned to its host", async () => {
      const n = h.events.length;
      h.port.stopVm("a");
      await h.waitFor(() => state("a") === "down", "a down");
      expect(since(n)).toEqual([{ type: "vmDown", vm: "a", cause: "stopped" }]);
      expect(world().vms.get("a")!.host).toBe("h1");
    });

    it("rebootVm: vmRebooted, then vmStarted on the same host", async () => {
      const n = h.events.length;
      h.port.rebootVm("a");
      await h.waitFor(() => state("a") === "running", "a running again");
      expect(since(n)).toEqual([
        { type: "vmRebooted", vm: "a" },
        { type: "vmStarted", vm: "a" },
      ]);
      expect(world().vms.get("a")!.host).toBe("h1");
    });

    it("migrateVm live: migrationStarted, then migrationFinished with the VM on the destination", async () => {
      if (!h.canMigrate) return; // libvirt's test driver does not migrate
      const n = h.events.length;
      h.port.migrateVm("a", "h2", "live");
      await h.waitFor(() => world().vms.get("a")!.migration === null, "migration of a over");
      expect(since(n)).toEqual([
        { type: "migrationStarted", vm: "a", from: "h1", to: "h2", mode: "live" },
        { type: "migrationFinished", vm: "a" },
      ]);
      expect(world().vms.get("a")!.host).toBe("h2");
      expect(state("a")).toBe("running");
    });

    it("migrateVm cold: migrationStarted, migrationFinished, then vmStarted on the destination", async () => {
      if (!h.canMigrate) return;
      const n = h.events.length;
      h.port.migrateVm("a", "h1", "cold");
      await h.waitFor(() => state("a") === "running" && world().vms.get("a")!.host === "h1", "a running on h1 again");
      expect(since(n)).toEqual([
        { type: "migrationStarted", vm: "a", from: "h2", to: "h1", mode: "cold" },
        { type: "migrationFinished", vm: "a" },
        { type: "vmStarted", vm: "a" },
      ]);
    });

    it("a host that dies: hostFailed, its VMs vmDown (host); restarted elsewhere they run", async () => {
      h.port.startVm("b", "h2");
      await h.waitFor(() => state("b") === "running", "b running");
      const n = h.events.length;
      await h.failHost("h1");
      await h.waitFor(() => state("a") === "down", "a down with h1");
      expect(since(n)).toEqual([
        { type: "hostFailed", host: "h1", cause: "crash" },
        { type: "vmDown", vm: "a", cause: "host" },
      ]);
      expect(state("b")).toBe("running");
      const m = h.events.length;
      h.port.startVm("a", "h2");
      await h.waitFor(() => state("a") === "running", "a running on h2");
      expect(since(m)).toEqual([
        { type: "vmPlaced", vm: "a", host: "h2" },
        { type: "vmStarted", vm: "a" },
      ]);
    });

    it("powerOffHost / powerOnHost: hostPoweredOff with its VMs down, hostPoweredOn once it is back", async () => {
      const n = h.events.length;
      h.port.powerOffHost("h2", "maintenance");
      await h.waitFor(() => world().hosts.get("h2")!.poweredOff !== null && state("a") === "down" && state("b") === "down", "h2 off");
      expect(since(n)).toEqual([
        { type: "hostPoweredOff", host: "h2", reason: "maintenance" },
        { type: "vmDown", vm: "b", cause: "host" },
        { type: "vmDown", vm: "a", cause: "host" },
      ]);
      const m = h.events.length;
      h.port.powerOnHost("h2");
      await h.waitFor(() => world().hosts.get("h2")!.up, "h2 on");
      expect(since(m)).toEqual([{ type: "hostPoweredOn", host: "h2" }]);
    });
  });
}

contract("simulated adapter", async () => simulatedHarness());

describe.runIf(runLibvirtTests())("on libvirt", () => {
  let hosts: TestbedHosts;
  beforeAll(() => {
    hosts = TestbedHosts.up(3);
  }, 60_000);
  afterAll(() => hosts?.down(), 60_000);

  // libvirt's test driver, served by the test bed's daemons: `test+unix:///default?socket=…`.
  contract("libvirt adapter, libvirt's test driver", () =>
    libvirtHarness(
      hosts,
      hosts.writeInventory("test-driver.yaml", (text) =>
        text.replace(/uri: "qemu:\/\/\/session\?/g, 'uri: "test+unix:///default?').replace("defaults:\n", "defaults:\n  domainType: test\n  probeIntervalMs: 200\n"),
      ),
      false,
    ),
  );
});

describe.runIf(runLibvirtTests())("on QEMU", () => {
  let hosts: TestbedHosts;
  beforeAll(() => {
    hosts = TestbedHosts.up(3);
  }, 60_000);
  afterAll(() => hosts?.down(), 60_000);

  // Tiny TCG guests on the test bed's libvirtd daemons: the real thing, migration included.
  contract("libvirt adapter, QEMU/TCG hosts", () => libvirtHarness(hosts, hosts.inventoryFile, true));
});
