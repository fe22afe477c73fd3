import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildSimulation } from "../src/adapters/sim/build.js";
import { reconcile, type HostReport } from "../src/controller/reconcile.js";
import type { DomainEvent } from "../src/model/events.js";
import { evolve } from "../src/model/evolve.js";
import { InvariantChecker } from "../src/model/invariants.js";
import { emptyWorld, type World } from "../src/model/world.js";
import { loadScenarioObject } from "../src/scenario/load.js";

/**
 * Issue 19: a controller that resumes from its log compares the world the log leaves with what
 * the hosts run. Worlds here are real ones, from prefixes of simulated logs (failures, restarts,
 * a rolling upgrade by live migration); the hosts' reports are what those worlds say, then
 * disturbed as a controller's death can leave them.
 */
const scenario = {
  name: "reconcile",
  durationHours: 300,
  cluster: { hosts: [{ name: "h", count: 6, racks: 3, disks: 2, vcpus: 16, memoryGiB: 64, diskGiB: 4000 }] },
  workload: { sizes: [{ name: "s", vcpus: 2, memoryGiB: 6, diskGiB: 40 }], fleet: 24, arrivals: { ratePerHour: 0.3, lifetimeHours: { type: "exponential", mean: 30 } } },
  migration: { bandwidthMiBps: 20 },
  failures: { host: { crash: { timeToFailureHours: { type: "exponential", mean: 100 }, timeToRepairHours: { type: "exponential", mean: 1 } } } },
  maintenance: { rollingUpgrade: { startHours: 20, windowHours: 1 } },
};
const log: DomainEvent[] = [];
const { sim } = buildSimulation(loadScenarioObject(scenario).config, 3, "persistent-ha");
sim.subscribe((e) => log.push(e));
while (!sim.advance(1_000_000));

/** The world after the first `n` events (rebuilt: a fresh copy each time). */
function worldAt(n: number): World {
  const world = emptyWorld();
  for (const event of log.slice(0, n)) evolve(world, event);
  return world;
}

/** What each up host would report if nothing had happened meanwhile: its running and booting VMs, and the VMs migrating out of it. */
function truthOf(world: World): Map<string, Set<string>> {
  const domains = new Map<string, Set<string>>();
  for (const host of world.hosts.values()) if (host.up) domains.set(host.id, new Set());
  for (const vm of world.vms.values()) {
    if (vm.host !== null && (vm.state === "running" || vm.state === "booting" || vm.migration !== null)) domains.get(vm.host)?.add(vm.id);
  }
  return domains;
}

const asReports = (domains: Map<string, Set<string>>): HostReport[] => [...domains].map(([host, vms]) => ({ host, domains: [...vms] }));

/** Applies the reconciliation's events as the log would, checking the world's invariants. */
function apply(world: World, events: ReturnType<typeof reconcile>["events"]): void {
  const checker = new InvariantChecker(world, { spreadRacks: false });
  let seq = world.lastSeq;
  for (const body of events) {
    const event = { seq: ++seq, t: world.t, ...body } as DomainEvent;
    evolve(world, event);
    checker.note(event);
  }
  checker.verify();
}

describe("reconciling a resumed controller's world with the hosts", () => {
  const migratingAt = log.flatMap((e, i) => (e.type === "migrationStarted" ? [i + 1] : []));
  // Right after a host's repair, before the controller rebooted its VMs: down VMs on an up host.
  const repairedAt = log.flatMap((e, i) => (e.type === "hostRepaired" ? [i + 1] : []));

  it("finds nothing to do when the hosts run what the log says, but the boots and migrations the dead controller was waiting for", () => {
    const prefixes = [100, 400, 1_000, ...migratingAt.slice(0, 20), log.length - 1];
    let settled = 0;
    for (const n of prefixes) {
      const world = worldAt(n);
      const vms = [...world.vms.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
      const booting = vms.filter((vm) => vm.state === "booting" && vm.migration === null && world.hosts.get(vm.host!)!.up);
      const migrating = vms.filter((vm) => vm.migration !== null);
      if (booting.length + migrating.length === 0) settled++;
      // Booted meanwhile: `vmStarted`; a migration with its domain still (only) on the source: it failed.
      const expected = vms.flatMap((vm) =>
        booting.includes(vm) ? [{ type: "vmStarted", vm: vm.id }] : migrating.includes(vm) ? [{ type: "migrationAborted", vm: vm.id, reason: "failed" }] : [],
      );
      expect(reconcile(world, asReports(truthOf(world)))).toEqual({ events: expected, stale: [] });
    }
    expect(settled).toBeGreaterThan(0);
  });

  it("records a migration that finished while it was away, and one that failed, and destroys the leftover copy", () => {
    const world = worldAt(migratingAt[0]!);
    const vm = [...world.vms.values()].find((v) => v.migration !== null)!;
    const to = vm.migration!.to;
    const finished = truthOf(world);
    finished.get(vm.host!)!.delete(vm.id);
    finished.get(to)!.add(vm.id);
    expect(reconcile(world, asReports(finished)).events).toEqual([{ type: "migrationFinished", vm: vm.id, downtimeMs: 0, transferredGiB: 0 }]);
    const both = truthOf(world);
    both.get(to)!.add(vm.id);
    expect(reconcile(world, asReports(both))).toEqual({ events: [{ type: "migrationAborted", vm: vm.id, reason: "failed" }], stale: [{ host: to, vm: vm.id }] });
  });

  it("for any log prefix and any disturbance, gives events the world accepts, after which it agrees with the hosts, and is then done", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 50, max: log.length - 1 }), fc.constantFrom(...repairedAt)),
        fc.array(fc.tuple(fc.constantFrom("drop", "add", "move", "revive"), fc.nat(), fc.nat()), { maxLength: 8 }),
        (n, disturbances) => {
          const world = worldAt(n);
          const domains = truthOf(world);
          const hosts = [...domains.keys()].sort();
          const vms = [...world.vms.keys()].sort();
          if (hosts.length === 0 || vms.length === 0) return;
          // A domain stopped, one started (a stale copy), one moved (a migration that finished), a down VM's domain running (a reboot that happened).
          const down = vms.filter((id) => world.vms.get(id)!.state === "down" && world.vms.get(id)!.host !== null);
          for (const [kind, h, v] of disturbances) {
            const host = hosts[h % hosts.length]!;
            const vm = vms[v % vms.length]!;
            if (kind === "revive") {
              const id = down[v % Math.max(1, down.length)];
              if (id !== undefined) domains.get(world.vms.get(id)!.host!)?.add(id);
            } else if (kind === "drop") domains.get(host)!.delete(vm);
            else if (kind === "add") domains.get(host)!.add(vm);
            else {
              for (const set of domains.values()) set.delete(vm);
              domains.get(host)!.add(vm);
            }
          }
          const first = reconcile(world, asReports(domains));
          expect(reconcile(world, asReports(domains))).toEqual(first); // deterministic
          apply(world, first.events);
          for (const { host, vm } of first.stale) domains.get(host)!.delete(vm);
          // Every domain left is a VM the world has there, booting or running, or migrating out; and every such VM has its domain.
          const after = truthOf(world);
          for (const [host, set] of domains) {
            const expected = [...(after.get(host) ?? [])].filter((vm) => world.vms.get(vm)!.migration === null || set.has(vm));
            expect([...set].sort()).toEqual(expected.sort());
          }
          expect(reconcile(world, asReports(domains))).toEqual({ events: [], stale: [] });
        },
      ),
      { numRuns: 300 },
    );
  });
});
