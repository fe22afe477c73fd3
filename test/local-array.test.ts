import { describe, expect, it } from "vitest";
import type { DomainEvent } from "../src/model/events.js";
import { simulateMetrics } from "./helpers.js";

/** Two one-disk hosts (RAID 0), one VPS on the first; its disk fails at 10 h and is replaced 5 h later. */
function run(hosts: number, diskFailures: { timeHours: number; target: string; durationHours: number }[]) {
  const scenario = {
    name: "array",
    durationHours: 40,
    serviceModels: ["vps"],
    cluster: { hosts: [{ name: "h", count: hosts, vcpus: 4, memoryGiB: 8, diskGiB: 100 }] },
    workload: { sizes: [{ name: "s", vcpus: 4, memoryGiB: 8, diskGiB: 50 }], fleet: 1 },
    users: { replacementDelayHours: 0.25 },
    failures: { trace: diskFailures.map((f) => ({ ...f, kind: "disk" })) },
  };
  const placed: { t: number; host: string }[] = [];
  const lost: number[] = [];
  const metrics = simulateMetrics(scenario, 1, "vps", (e: DomainEvent) => {
    if (e.type === "vmPlaced") placed.push({ t: e.t / 3_600_000, host: e.host });
    if (e.type === "arrayLost") lost.push(e.t / 3_600_000);
  });
  return { placed, lost, metrics };
}

describe("a host whose local array is lost", () => {
  it("takes no VM with a local disk: the lost VPS is relaunched on another host", () => {
    const { placed, lost } = run(2, [{ timeHours: 10, target: "h-001/0", durationHours: 5 }]);
    expect(lost).toEqual([10]);
    expect(placed).toEqual([{ t: 0, host: "h-001" }, { t: 10.25, host: "h-002" }]);
  });

  it("with no other host, the replacement waits until the array is recreated (every disk replaced)", () => {
    const { placed } = run(1, [{ timeHours: 10, target: "h/0", durationHours: 5 }]);
    expect(placed).toEqual([{ t: 0, host: "h" }, { t: 15, host: "h" }]);
  });

  it("is lost once: a disk failing while it is gone loses no array again", () => {
    const scenario = (disks: number) => ({
      name: "array",
      durationHours: 40,
      serviceModels: ["vps"],
      cluster: { hosts: [{ name: "h", vcpus: 4, memoryGiB: 8, diskGiB: 100, disks }] },
      storage: { localRaid: { level: 0 } },
      failures: {
        trace: [
          { timeHours: 10, target: "h/0", kind: "disk", durationHours: 5 },
          { timeHours: 12, target: "h/1", kind: "disk", durationHours: 5 }, // the array is already gone
          { timeHours: 20, target: "h/1", kind: "disk", durationHours: 1 }, // recreated at 17 h: lost again
        ],
      },
    });
    const lost: number[] = [];
    const metrics = simulateMetrics(scenario(2), 1, "vps", (e) => void (e.type === "arrayLost" && lost.push(e.t / 3_600_000)));
    expect(lost).toEqual([10, 20]);
    expect(metrics.arraysLost).toBe(2);
  });
});
