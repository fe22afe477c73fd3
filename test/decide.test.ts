import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildSimulation } from "../src/adapters/sim/build.js";
import { MAX_START_ATTEMPTS, onHeartbeatTimeout, onMaintenanceBegin, onMaintenanceDrained, onMaintenanceWindowEnd, onStartRetryDue, startAction, startRetry, START_RETRY_DELAY_MS, type StartAction } from "../src/controller/decide.js";
import { emptyMemory, recall, remember, RETRY_WINDOW_MS, type ControllerMemory } from "../src/controller/memory.js";
import type { DomainEvent } from "../src/model/events.js";
import { evolve } from "../src/model/evolve.js";
import { cutOffFromStorage, emptyWorld, schedulable, volumeAvailable, type World } from "../src/model/world.js";
import { loadScenarioObject } from "../src/scenario/load.js";

/**
 * Issue 19: HA's decision when a heartbeat timeout runs out is a pure function of the world and
 * the controller's memory. Worlds are those of real logs: a small cluster with crashes, hardware
 * failures, isolations and controller outages, snapshotted live at random events.
 */
const scenario = {
  name: "decide",
  durationHours: 600,
  cluster: { hosts: [{ name: "h", count: 6, racks: 3, disks: 2, vcpus: 16, memoryGiB: 64, diskGiB: 4000 }] },
  workload: { sizes: [{ name: "hi", vcpus: 2, memoryGiB: 6, diskGiB: 40, restartPriority: "high" }, { name: "lo", vcpus: 2, memoryGiB: 6, diskGiB: 40, restartPriority: "low" }], fleet: 24 },
  failures: {
    host: {
      crash: { timeToFailureHours: { type: "exponential", mean: 120 }, timeToRepairHours: { type: "exponential", mean: 0.5 } },
      hardware: { timeToFailureHours: { type: "exponential", mean: 400 }, timeToRepairHours: { type: "exponential", mean: 10 } },
    },
    isolation: { timeToFailureHours: { type: "exponential", mean: 300 }, timeToRepairHours: { type: "exponential", mean: 1 } },
    controller: { timeToFailureHours: { type: "exponential", mean: 100 }, timeToRepairHours: { type: "exponential", mean: 1 } },
  },
};

/** A run, with the live decisions for every silent host (as JSON) at the events `at` picks among those when some host is silent. */
function liveRun(seed: number, at: (seq: number) => boolean) {
  const { sim, controller } = buildSimulation(loadScenarioObject(scenario).config, seed, "persistent-ha");
  const log: DomainEvent[] = [];
  const decisions = new Map<number, string>();
  sim.subscribe((event) => {
    log.push(event);
    if (controller.memory.silentSince.size > 0 && at(event.seq)) decisions.set(event.seq, JSON.stringify(decideAll(sim.world, controller.memory)));
  });
  while (!sim.advance(1_000_000));
  return { log, decisions };
}

function decideAll(world: Parameters<typeof onHeartbeatTimeout>[0], memory: Parameters<typeof onHeartbeatTimeout>[1]) {
  return [...memory.silentSince].sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([host, since]) => [true, false].map((fencing) => onHeartbeatTimeout(world, memory, host, since, fencing)));
}

describe("HA's decision at a heartbeat timeout", () => {
  it("is the same from the state rebuilt from a log prefix as from the live state", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 30 }), (seed, k) => {
        const { log, decisions } = liveRun(seed, (seq) => seq % 31 === k);
        expect(decisions.size).toBeGreaterThan(0);
        for (const [seq, live] of decisions) {
          const world = emptyWorld();
          const memory = recall(log.slice(0, seq), evolve, world);
          expect(JSON.stringify(decideAll(world, memory))).toBe(live);
        }
      }),
      { numRuns: 15 },
    );
  });

  it("fences an up host and nothing else; never restarts a VM of a reachable host that runs; restarts high priority first; and is deterministic", () => {
    const { log } = liveRun(7, () => false);
    const silences = log.flatMap((e, i) => (e.type === "hostFailed" || e.type === "hostIsolated" ? [i + 1] : []));
    expect(silences.length).toBeGreaterThan(20);
    let fenced = 0;
    let restarted = 0;
    for (const n of silences) {
      const world = emptyWorld();
      const memory = recall(log.slice(0, n), evolve, world);
      for (const [hostId, since] of memory.silentSince) {
        const host = world.hosts.get(hostId)!;
        // Not this silence: nothing.
        expect(onHeartbeatTimeout(world, memory, hostId, { ...since }, true)).toEqual([]);
        for (const fencing of [true, false]) {
          const commands = onHeartbeatTimeout(world, memory, hostId, since, fencing);
          expect(onHeartbeatTimeout(world, memory, hostId, since, fencing)).toEqual(commands);
          expect(commands[0]).toEqual({ type: "record", event: { type: "hostFailureDetected", host: hostId } });
          if (host.up && fencing) {
            expect(commands.slice(1)).toEqual([{ type: "powerOff", host: hostId, reason: "fenced" }]);
            fenced++;
            continue;
          }
          const vms = commands.slice(1).map((c) => {
            expect(c.type).toBe("restart");
            return (c as { vm: string }).vm;
          });
          for (const id of vms) {
            const vm = world.vms.get(id)!;
            expect(vm.host).toBe(hostId);
            expect(vm.state === "down" || host.isolated).toBe(true);
          }
          const rank = { high: 0, medium: 1, low: 2 };
          for (let i = 1; i < vms.length; i++) expect(rank[world.vms.get(vms[i - 1]!)!.priority]).toBeLessThanOrEqual(rank[world.vms.get(vms[i]!)!.priority]);
          restarted += vms.length;
        }
      }
    }
    expect(fenced).toBeGreaterThan(0);
    expect(restarted).toBeGreaterThan(0);
  });
});

/** Churn, crashes, isolations, storage-path cuts (VMs stall, then restart elsewhere), a rolling upgrade and controller outages. */
const churn = {
  name: "start",
  durationHours: 400,
  cluster: { hosts: [{ name: "h", count: 6, racks: 3, disks: 2, vcpus: 16, memoryGiB: 48, diskGiB: 4000 }] },
  workload: {
    sizes: [{ name: "s", vcpus: 2, memoryGiB: 6, diskGiB: 40, restartPriority: "high" }, { name: "l", vcpus: 4, memoryGiB: 12, diskGiB: 40 }],
    fleet: 20,
    arrivals: { ratePerHour: 0.5, lifetimeHours: { type: "exponential", mean: 20 } },
  },
  failures: {
    host: { crash: { timeToFailureHours: { type: "exponential", mean: 100 }, timeToRepairHours: { type: "exponential", mean: 3 } } },
    isolation: { timeToFailureHours: { type: "exponential", mean: 300 }, timeToRepairHours: { type: "exponential", mean: 1 } },
    storageNetwork: { timeToFailureHours: { type: "exponential", mean: 200 }, timeToRepairHours: { type: "exponential", mean: 0.5 } },
    controller: { timeToFailureHours: { type: "exponential", mean: 100 }, timeToRepairHours: { type: "exponential", mean: 1 } },
  },
  maintenance: { rollingUpgrade: { startHours: 50, windowHours: 1 } },
  ha: { storagePathResponse: "restart", storagePathTimeoutSeconds: 900 },
};
const storagePath = { restart: true, timeoutMs: 900_000 };
const canCreate = () => true;

function actions(world: World, memory: ControllerMemory, nowMs: number): Record<string, StartAction[]> {
  const all: Record<string, StartAction[]> = {};
  for (const id of [...world.vms.keys()].sort()) all[id] = [false, true].map((elsewhere) => startAction(world, memory, id, elsewhere, nowMs, storagePath, canCreate));
  return all;
}

describe("how to start a VM that should run", () => {
  it("reboots only on a usable host that reaches the storage, places only a VM whose volume is reachable, waits while stalled, and is the same from a memory rebuilt from the log", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 40 }), (seed, k) => {
        const { sim, controller } = buildSimulation(loadScenarioObject(churn).config, seed, "persistent-ha");
        const log: DomainEvent[] = [];
        const live = new Map<number, string>();
        const seen = new Set<StartAction>();
        sim.subscribe((event) => {
          log.push(event);
          if (event.seq % 41 !== k) return;
          const world = sim.world;
          const all = actions(world, controller.memory, event.t);
          expect(actions(world, controller.memory, event.t)).toEqual(all);
          for (const [id, [action, elsewhere]] of Object.entries(all)) {
            const vm = world.vms.get(id)!;
            seen.add(action!);
            if (vm.state === "running" || vm.state === "booting") expect(action).toBe("none");
            if (action === "reboot") {
              expect(vm.state).toBe("down");
              expect(schedulable(world.hosts.get(vm.host!)!)).toBe(true);
              if (vm.volume !== null) expect(cutOffFromStorage(world, vm.host!)).toBe(false);
            }
            if (action === "place" || action === "mirror" || elsewhere === "place") {
              if (vm.volume !== null) expect(volumeAvailable(world, world.volumes.get(vm.volume)!)).toBe(true);
            }
          }
          live.set(event.seq, JSON.stringify(all));
        });
        while (!sim.advance(1_000_000));
        for (const [seq, snapshot] of live) {
          const world = emptyWorld();
          const memory = recall(log.slice(0, seq), evolve, world);
          expect(JSON.stringify(actions(world, memory, log[seq - 1]!.t))).toBe(snapshot);
        }
        expect(seen.has("none")).toBe(true);
        expect(seen.has("wait") || seen.has("place") || seen.has("reboot")).toBe(true);
      }),
      { numRuns: 8 },
    );
  });

  it("a VM stalled on its storage path waits until the response's timeout, then is placed elsewhere", () => {
    const { log } = liveRunOf(churn, 3);
    const stalls = log.filter((e) => e.type === "vmDown" && e.cause === "storage");
    expect(stalls.length).toBeGreaterThan(0);
    let checked = 0;
    for (const stall of stalls) {
      const world = emptyWorld();
      const memory = recall(log.slice(0, stall.seq), evolve, world);
      const vm = world.vms.get((stall as { vm: string }).vm)!;
      if (!memory.stalls.has(vm.id) || !world.hosts.get(vm.host!)!.up) continue;
      expect(startAction(world, memory, vm.id, false, stall.t, storagePath, canCreate)).toBe("wait");
      expect(startAction(world, memory, vm.id, false, stall.t + 899_999, storagePath, canCreate)).toBe("wait");
      expect(startAction(world, memory, vm.id, false, stall.t + 900_000, storagePath, canCreate)).toBe("place");
      // Left to ride the partition out: it waits however long.
      expect(startAction(world, memory, vm.id, false, stall.t + 1e9, { restart: false, timeoutMs: 900_000 }, canCreate)).toBe("wait");
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

function liveRunOf(scenarioObject: object, seed: number) {
  const { sim } = buildSimulation(loadScenarioObject(scenarioObject).config, seed, "persistent-ha");
  const log: DomainEvent[] = [];
  sim.subscribe((event) => log.push(event));
  while (!sim.advance(1_000_000));
  return { log };
}

describe("VM monitoring", () => {
  /** A VM's stops on its own at these minutes, each after a boot again, folded into a memory as a log would be. */
  function stops(minutes: number[]) {
    const prelude: DomainEvent[] = [];
    const tiny = { name: "tiny", durationHours: 1, cluster: { hosts: [{ name: "h", count: 2, disks: 2, vcpus: 8, memoryGiB: 32, diskGiB: 100 }] }, workload: { sizes: [{ name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 10 }], fleet: 1 } };
    // The prelude comes from a real run: hosts, the VM placed and started.
    const { log } = liveRunOf(tiny, 1);
    for (const e of log) if (e.type !== "runEnded") prelude.push(e);
    const world = emptyWorld();
    const memory = emptyMemory();
    const fold = (body: Record<string, unknown>, t: number) => {
      const event = { seq: world.lastSeq + 1, t, ...body } as DomainEvent;
      remember(memory, evolve(world, event), event);
    };
    for (const e of prelude) fold(e, e.t);
    const retries: (ReturnType<typeof startRetry>)[] = [];
    for (const [i, m] of minutes.entries()) {
      if (i > 0) {
        fold({ type: "vmRebooted", vm: "pet-0001", bootMs: 1000 }, m * 60_000 - 2000);
        fold({ type: "vmStarted", vm: "pet-0001" }, m * 60_000 - 1000);
      }
      fold({ type: "vmDown", vm: "pet-0001", cause: "stopped" }, m * 60_000);
      retries.push(startRetry(world, memory, "pet-0001"));
    }
    return { world, memory, retries };
  }

  it("boots again after 10 s, 20 s, 30 s within the hour, then gives up; a stop an hour after the others counts as the first", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), (gaps) => {
        const minutes: number[] = [];
        let t = 10;
        for (const gap of gaps) minutes.push((t += gap));
        const { retries } = stops(minutes);
        for (const [i, retry] of retries.entries()) {
          const inHour = minutes.slice(0, i + 1).filter((m) => m > minutes[i]! - RETRY_WINDOW_MS / 60_000).length;
          if (inHour > MAX_START_ATTEMPTS) expect(retry).toBe("givenUp");
          else expect(retry).toEqual({ vm: "pet-0001", host: expect.any(String), since: minutes[i]! * 60_000, failures: inHour, atMs: minutes[i]! * 60_000 + START_RETRY_DELAY_MS * inHour });
        }
      }),
      { numRuns: 50 },
    );
  });

  it("a retry answers one stop: void once the VM has changed since; from the second failure it avoids the host for a VM with a volume", () => {
    const { world, memory, retries } = stops([60, 62]);
    const retry = retries[1]!;
    if (retry === null || retry === "givenUp") throw new Error("expected a retry");
    expect(onStartRetryDue(world, retry)).toEqual([{ type: "bootAgain", vm: "pet-0001", avoid: retry.host }]);
    expect(onStartRetryDue(world, { ...retry, since: retry.since - 1 })).toEqual([]);
    const first = retries[0]!;
    if (first === null || first === "givenUp") throw new Error("expected a retry");
    expect(onStartRetryDue(world, first)).toEqual([]);
    expect(startRetry(world, memory, "pet-0001")).toEqual(retry);
  });
});

describe("maintenance's decisions", () => {
  it("start maintenance mode only once, switch off only a host that is on and on only one that is off, the same from a world rebuilt from the log", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 40 }), (seed, k) => {
        const { log } = liveRunOf(churn, seed);
        const counts = { begin: 0, off: 0, on: 0 };
        for (let n = k + 1; n <= log.length; n += 41) {
          const world = emptyWorld();
          recall(log.slice(0, n), evolve, world);
          for (const host of world.hosts.values()) {
            const begin = onMaintenanceBegin(world, host.id);
            const drained = onMaintenanceDrained(world, host.id);
            const end = onMaintenanceWindowEnd(world, host.id);
            expect([onMaintenanceBegin(world, host.id), onMaintenanceDrained(world, host.id), onMaintenanceWindowEnd(world, host.id)]).toEqual([begin, drained, end]);
            expect(begin).toEqual(host.maintenance ? [] : [{ type: "record", event: { type: "maintenanceStarted", host: host.id } }]);
            expect(drained).toEqual(host.poweredOff === null ? [{ type: "powerOff", host: host.id, reason: "maintenance" }] : []);
            expect(end).toEqual(host.poweredOff !== null ? [{ type: "powerOn", host: host.id }] : []);
            counts.begin += begin.length;
            counts.off += drained.length;
            counts.on += end.length;
          }
        }
        expect(log.some((e) => e.type === "maintenanceFinished")).toBe(true);
        expect(counts.begin * counts.off).toBeGreaterThan(0);
      }),
      { numRuns: 5 },
    );
  });
});
