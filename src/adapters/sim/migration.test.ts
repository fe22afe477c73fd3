import { describe, expect, it } from "vitest";
import { distribution } from "../../kernel/distributions.js";
import { PRICES_2008 } from "../../scenario/defaults.js";
import { MIGRATION_DEFAULTS } from "../../scenario/defaults.js";
import { liveMigration } from "../../migration/migration-model.js";
import type { DomainEvent, ServiceModel } from "../../model/events.js";
import { InvariantChecker } from "../../model/invariants.js";
import { SimulatedInfrastructure } from "./infrastructure.js";
import { San } from "./storage/san.js";
import { Provisioning } from "./provisioning.js";
import { Simulation } from "./simulation.js";
import { loadScenarioObject } from "../../scenario/load.js";

const ONE_HOST = { name: "defaults", durationHours: 1, cluster: { hosts: [{ name: "h", vcpus: 1, memoryGiB: 1, diskGiB: 1 }] } };

/** Three hosts of 8 vCPUs / 32 GiB, VM `a` (2 vCPUs, 8 GiB) running on h1 at t = 40 s; the checker verifies every settled state. */
function cluster(model: ServiceModel = "vps", isolationPowerOff = false) {
  const sim = new Simulation(1);
  const infra = new SimulatedInfrastructure(
    sim,
    new Provisioning(loadScenarioObject(ONE_HOST).config.provisioning, sim.random.fork("provisioning")),
    model === "persistent-ha" ? new San(sim) : null,
    {
      migration: { ...MIGRATION_DEFAULTS },
      dirtyRateMiBps: distribution({ type: "deterministic", value: 20 }),
      hostBootMs: 300_000,
      isolationPowerOff,
      isolationDetectionMs: 30_000,
    },
    sim.random.fork("migration"),
  );
  const checker = new InvariantChecker(sim.world);
  const log: DomainEvent[] = [];
  sim.subscribe((event) => {
    checker.note(event);
    log.push(event);
  });
  sim.onSettled(() => checker.verify());
  sim.onEvent((event) => infra.react(event));
  sim.emit({ type: "runStarted", serviceModel: model, prices: PRICES_2008 });
  for (const host of ["h1", "h2", "h3"]) sim.emit({ type: "hostAdded", host, rack: "r1", vcpus: 8, memoryGiB: 32, diskGiB: 1000, disks: 2 });
  sim.emit({ type: "vmRequested", vm: "a", vcpus: 2, memoryGiB: 8, diskGiB: 100, lifetimeHours: null });
  infra.startVm("a", "h1");
  sim.scheduler.run(60_000);
  const at = (t: number, action: () => void) => sim.scheduler.schedule(t, action, null);
  const runUntil = (t: number) => sim.scheduler.run(t);
  return { sim, infra, world: sim.world, log, at, runUntil };
}

const liveMs = Math.round(liveMigration(MIGRATION_DEFAULTS, 8, 20, MIGRATION_DEFAULTS.bandwidthMiBps).totalMs);

describe("simulated migration", () => {
  it("reserves the destination when it starts, holds the VM on both hosts until it ends, then releases the source", () => {
    const { infra, world, at, runUntil, log } = cluster();
    at(100_000, () => infra.migrateVm("a", "h2", "live"));
    runUntil(100_000 + liveMs - 1);
    expect(world.vms.get("a")).toMatchObject({ host: "h1", state: "running", migration: { to: "h2", mode: "live" } });
    expect(world.hosts.get("h1")!.usedMemoryGiB).toBe(8);
    expect(world.hosts.get("h2")!.usedMemoryGiB).toBe(8);
    expect([...world.hosts.get("h2")!.incoming]).toEqual(["a"]);
    runUntil(100_000 + liveMs);
    expect(world.vms.get("a")).toMatchObject({ host: "h2", state: "running", migration: null });
    expect(world.hosts.get("h1")!.usedMemoryGiB).toBe(0);
    expect(world.hosts.get("h2")!.usedMemoryGiB).toBe(8);
    expect(world.hosts.get("h2")!.incoming.size).toBe(0);
    const finished = log.find((e) => e.type === "migrationFinished")!;
    expect(finished).toMatchObject({ t: 100_000 + liveMs, downtimeMs: Math.round(liveMigration(MIGRATION_DEFAULTS, 8, 20, 117).downtimeMs) });
  });

  it("aborts when the destination fails: the destination is released and the VM runs on at the source", () => {
    const { sim, infra, world, at, runUntil, log } = cluster();
    at(100_000, () => infra.migrateVm("a", "h2", "live"));
    at(110_000, () => sim.emit({ type: "hostFailed", host: "h2", cause: "crash" }));
    runUntil(100_000 + liveMs + 1);
    expect(log.filter((e) => e.type.startsWith("migration")).map((e) => e.type)).toEqual(["migrationStarted", "migrationAborted"]);
    expect(log.find((e) => e.type === "migrationAborted")).toMatchObject({ t: 110_000, reason: "destinationDown" });
    expect(world.vms.get("a")).toMatchObject({ host: "h1", state: "running", migration: null });
    expect(world.hosts.get("h2")!.usedMemoryGiB).toBe(0);
  });

  it("aborts when the source fails: the VM goes down with its source and the destination is released", () => {
    const { sim, infra, world, at, runUntil, log } = cluster();
    at(100_000, () => infra.migrateVm("a", "h2", "live"));
    at(110_000, () => sim.emit({ type: "hostFailed", host: "h1", cause: "hardware" }));
    runUntil(100_000 + liveMs + 1);
    const types = log.filter((e) => e.t === 110_000).map((e) => e.type);
    expect(types).toEqual(["hostFailed", "migrationAborted", "vmDown"]);
    expect(world.vms.get("a")).toMatchObject({ host: "h1", state: "down", migration: null });
    expect(world.hosts.get("h2")!.usedMemoryGiB).toBe(0);
    expect(world.hosts.get("h1")!.usedMemoryGiB).toBe(8);
  });

  it("shares a host's link among its concurrent migrations, so the second takes longer", () => {
    const { sim, infra, at, runUntil, log } = cluster();
    sim.emit({ type: "vmRequested", vm: "b", vcpus: 2, memoryGiB: 8, diskGiB: 100, lifetimeHours: null });
    infra.startVm("b", "h1");
    runUntil(99_000);
    at(100_000, () => {
      infra.migrateVm("a", "h2", "live");
      infra.migrateVm("b", "h3", "live");
    });
    runUntil(10_000_000);
    const ends = log.filter((e) => e.type === "migrationFinished").map((e) => ({ vm: (e as { vm: string }).vm, t: e.t - 100_000 }));
    expect(ends).toEqual([
      { vm: "a", t: liveMs },
      { vm: "b", t: Math.round(liveMigration(MIGRATION_DEFAULTS, 8, 20, MIGRATION_DEFAULTS.bandwidthMiBps / 2).totalMs) },
    ]);
  });

  it("cold-migrates by stopping the VM, copying its local disk, and booting it on the destination", () => {
    const { infra, world, at, runUntil, log } = cluster();
    at(100_000, () => infra.migrateVm("a", "h2", "cold"));
    const copyMs = Math.round(((100 * 1024) / MIGRATION_DEFAULTS.bandwidthMiBps) * 1000);
    runUntil(100_000 + copyMs - 1);
    expect(world.vms.get("a")).toMatchObject({ host: "h1", state: "down" });
    runUntil(100_000 + copyMs);
    expect(world.vms.get("a")).toMatchObject({ host: "h2", state: "booting" });
    runUntil(100_000 + copyMs + 40_000);
    expect(world.vms.get("a")).toMatchObject({ host: "h2", state: "running" });
    expect(log.find((e) => e.type === "migrationFinished")).toMatchObject({ downtimeMs: copyMs, transferredGiB: 100 });
  });

  it("stops the VMs of an isolated host once it notices, when its isolation response is to power them off", () => {
    const { sim, world, at, runUntil } = cluster("persistent-ha", true);
    at(100_000, () => sim.emit({ type: "hostIsolated", host: "h1" }));
    runUntil(129_999);
    expect(world.vms.get("a")!.state).toBe("running");
    runUntil(130_000);
    expect(world.vms.get("a")!.state).toBe("down");
  });

  it("reports a split brain when a VM is started elsewhere while it still runs on an isolated host", () => {
    const { sim, infra, world, at, runUntil, log } = cluster("persistent-ha");
    at(100_000, () => sim.emit({ type: "hostIsolated", host: "h1" }));
    at(200_000, () => infra.startVm("a", "h2"));
    runUntil(200_000);
    expect(log.filter((e) => e.t === 200_000).map((e) => e.type)).toEqual(["splitBrain", "vmPlaced"]);
    expect(world.vms.get("a")).toMatchObject({ host: "h2", state: "booting" });
    expect(world.hosts.get("h1")!.usedMemoryGiB).toBe(0);
  });

  it("switches a host on only after its boot time", () => {
    const { sim, infra, world, at, runUntil } = cluster();
    at(100_000, () => infra.powerOffHost("h3", "idle"));
    at(200_000, () => infra.powerOnHost("h3"));
    runUntil(200_000);
    expect(world.hosts.get("h3")).toMatchObject({ up: false, poweredOff: "idle" });
    runUntil(500_000);
    expect(world.hosts.get("h3")).toMatchObject({ up: true, poweredOff: null, since: 500_000 });
    expect(sim.world.hosts.get("h3")!.failures).toBe(0);
  });
});
