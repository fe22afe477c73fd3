import { describe, expect, it } from "vitest";
import { hoursToMs } from "../../kernel/time.js";
import { EventLog } from "../../model/event-log.js";
import { resolveScenario } from "../../scenario/resolve.js";
import { loadScenarioObject } from "../../scenario/load.js";
import { LibvirtInfrastructure } from "./infrastructure.js";
import { parseInventory } from "./inventory.js";
import { startLiveFailures } from "./live-run.js";
import { Virsh } from "./virsh.js";
import { MAX_TIMER_MS, setLongTimeout, type Timers } from "./wall-clock.js";

/** A manual clock: timers fire only when the test advances it; every delay asked for is kept. */
class ManualTimers implements Timers {
  now = 0;
  readonly requested: number[] = [];
  private pending: { at: number; callback: () => void; id: number }[] = [];
  private nextId = 0;
  set(callback: () => void, ms: number): unknown {
    this.requested.push(ms);
    const id = this.nextId++;
    this.pending.push({ at: this.now + ms, callback, id });
    return id;
  }
  clear(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }
  advanceTo(t: number): void {
    for (;;) {
      const due = this.pending.filter((p) => p.at <= t).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.now = due.at;
      due.callback();
    }
    this.now = t;
  }
}

describe("wall-clock timers", () => {
  it("fire a 600 h timer at 600 h, in slices Node's setTimeout can hold", () => {
    const timers = new ManualTimers();
    let firedAt: number | null = null;
    setLongTimeout(() => (firedAt = timers.now), hoursToMs(600), timers);
    expect(Math.max(...timers.requested)).toBeLessThanOrEqual(MAX_TIMER_MS);
    timers.advanceTo(hoursToMs(600) - 1);
    expect(firedAt).toBeNull();
    timers.advanceTo(hoursToMs(700));
    expect(firedAt).toBe(hoursToMs(600));
  });

  it("never fire an infinite delay, and stop a cancelled chain", () => {
    const timers = new ManualTimers();
    let fired = 0;
    setLongTimeout(() => fired++, Infinity, timers);
    const cancelled = setLongTimeout(() => fired++, 3 * MAX_TIMER_MS, timers);
    timers.advanceTo(MAX_TIMER_MS + 5);
    cancelled.cancel();
    timers.advanceTo(10 * MAX_TIMER_MS);
    expect(fired).toBe(0);
  });

  it("a dry-run live adapter schedules a failure trace's crash at 600 h at 600 h, not at once", async () => {
    const timers = new ManualTimers();
    const inventory = parseInventory("inv.yaml", "hosts:\n  - { name: h1, uri: 'test:///default', fence: { off: [fence, off, h1], on: [fence, on, h1] } }\n");
    const printed: string[] = [];
    const virsh = new Virsh({ dryRun: true, log: (line: string) => printed.push(line) });
    const log = new EventLog(() => timers.now);
    const adapter = new LibvirtInfrastructure({ inventory, virsh, log, runTag: "t", bootMs: 1000, report: (line) => printed.push(line), timers });
    const scenario = loadScenarioObject({
      name: "late-crash",
      durationHours: 1000,
      cluster: { hosts: [{ name: "h1", vcpus: 2, memoryGiB: 1, diskGiB: 10 }] },
      failures: { trace: [{ timeHours: 600, target: "h1", kind: "crash", durationHours: 1 }] },
    });
    startLiveFailures(resolveScenario(scenario.scenario), adapter, (line) => printed.push(line));
    timers.advanceTo(hoursToMs(599));
    await Promise.resolve();
    expect(printed.filter((l) => l.includes("injecting"))).toEqual([]);
    timers.advanceTo(hoursToMs(600));
    await new Promise((r) => setImmediate(r));
    expect(printed.filter((l) => l.includes("injecting"))).toEqual(["injecting a crash of h1 for 1 h"]);
    expect(Math.max(...timers.requested)).toBeLessThanOrEqual(MAX_TIMER_MS);
    await adapter.quiesce();
    adapter.dispose();
  });
});
