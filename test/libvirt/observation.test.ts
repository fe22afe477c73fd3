import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LibvirtInfrastructure } from "../../src/adapters/libvirt/infrastructure.js";
import { loadInventoryFile } from "../../src/adapters/libvirt/inventory.js";
import { wallClockLog } from "../../src/adapters/libvirt/live-run.js";
import { Virsh } from "../../src/adapters/libvirt/virsh.js";
import { PRICES_2008 } from "../../src/scenario/defaults.js";
import type { DomainEvent } from "../../src/model/events.js";
import { runLibvirtTests, TestbedHosts } from "./testbed-hosts.js";

/**
 * What the adapter observes without having asked for it: a guest whose QEMU dies, or that is
 * destroyed behind its back, is `vmDown` (stopped) — from libvirt's lifecycle events.
 */
describe.runIf(runLibvirtTests())("observation of domains on a QEMU host", () => {
  let hosts: TestbedHosts;
  let adapter: LibvirtInfrastructure;
  const log = wallClockLog();
  const events: DomainEvent[] = [];

  async function until(what: string, test: () => boolean): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; problems: ${adapter.problems.map((p) => p.message).join("; ")}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  beforeAll(async () => {
    hosts = TestbedHosts.up(1);
    adapter = new LibvirtInfrastructure({ inventory: loadInventoryFile(hosts.inventoryFile), virsh: new Virsh(), log, runTag: "observe", bootMs: 1000, report: () => {} });
    log.subscribe((e) => events.push(e));
    log.emit({ type: "runStarted", serviceModel: "persistent-ha", prices: PRICES_2008 });
    await adapter.addHosts();
    adapter.startMonitors();
    for (const vm of ["a", "b"]) {
      log.emit({ type: "vmRequested", vm, vcpus: 1, memoryGiB: 0.0625, diskGiB: 1, lifetimeHours: null });
      adapter.startVm(vm, "h1");
    }
    await until("both running", () => [...log.world.vms.values()].every((v) => v.state === "running"));
  }, 60_000);

  afterAll(async () => {
    await adapter?.quiesce();
    await adapter?.removeAll();
    adapter?.dispose();
    hosts?.down();
  }, 60_000);

  it("a guest whose QEMU process dies is vmDown (stopped); the host stays up", async () => {
    const pid = Number(readFileSync(join(hosts.dir, "h1", "run", "libvirt", "qemu", "run", "testbed-a.pid"), "utf8"));
    const n = events.length;
    process.kill(pid, "SIGKILL");
    await until("a down", () => log.world.vms.get("a")!.state === "down");
    expect(events.slice(n).map((e) => e.type === "vmDown" && [e.vm, e.cause])).toEqual([["a", "stopped"]]);
    expect(log.world.hosts.get("h1")!.up).toBe(true);
    expect(log.world.vms.get("b")!.state).toBe("running");
  });

  it("a guest destroyed behind the adapter's back is vmDown (stopped)", async () => {
    const n = events.length;
    await new Virsh().run(hosts.uri("h1"), ["destroy", "testbed-b"], { timeoutMs: 10_000 });
    await until("b down", () => log.world.vms.get("b")!.state === "down");
    expect(events.slice(n).map((e) => e.type === "vmDown" && [e.vm, e.cause])).toEqual([["b", "stopped"]]);
  });

  it("and one the adapter stops itself is reported once, by the command", async () => {
    adapter.rebootVm("b");
    await until("b running", () => log.world.vms.get("b")!.state === "running");
    const n = events.length;
    adapter.stopVm("b");
    await until("b down", () => log.world.vms.get("b")!.state === "down");
    await new Promise((r) => setTimeout(r, 500)); // the lifecycle event has come by now
    expect(events.slice(n).map((e) => e.type)).toEqual(["vmDown"]);
  });
});
