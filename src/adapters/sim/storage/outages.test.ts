import { describe, expect, it } from "vitest";
import { simulate } from "../simulate.js";
import { loadScenarioObject } from "../../../scenario/load.js";
import type { DomainEvent } from "../../../model/events.js";

/** One VM on replicated storage, and storage-service outages from a trace-like fixed process. */
function run(outageHours: unknown, storage: Record<string, unknown> = {}, scope: "cluster" | "rack" = "cluster", upHours: unknown = 10) {
  const scenario = {
    name: "outage",
    durationHours: 30,
    cluster: { hosts: [{ name: "h", count: 3, racks: 3, vcpus: 2, memoryGiB: 8, diskGiB: 100 }] },
    workload: { sizes: [{ name: "one", vcpus: 1, memoryGiB: 1, diskGiB: 10 }], fleet: 1 },
    provisioning: { bootSeconds: 60, volumeAttachSeconds: 0 },
    failures: { storage: { scope, timeToFailureHours: upHours, timeToRepairHours: outageHours } },
    storage,
  };
  const events: DomainEvent[] = [];
  simulate(loadScenarioObject(scenario).config, 1, "persistent-ha", { check: true, observe: (e) => events.push(e) });
  return events.filter((e) => e.type.startsWith("storage") || e.type.startsWith("vm") && e.type !== "vmRequested").map((e) => `${e.t / 1000}s ${e.type}${"cause" in e ? `:${e.cause}` : ""}`);
}

describe("a storage-service outage", () => {
  it("stalls the running VM, which resumes without a boot when the outage is shorter than the guest's I/O timeout", () => {
    expect(run(100 / 3600)).toEqual([
      "0s vmPlaced",
      "60s vmStarted",
      "36000s storageFailed",
      "36000s vmDown:storage",
      "36100s storageRepaired",
      "36100s vmResumed",
      "72100s storageFailed",
      "72100s vmDown:storage",
      "72200s storageRepaired",
      "72200s vmResumed",
    ]);
  });

  it("reboots the VM after an outage longer than the timeout", () => {
    expect(run(200 / 3600).slice(2, 7)).toEqual(["36000s storageFailed", "36000s vmDown:storage", "36200s storageRepaired", "36200s vmRebooted", "36260s vmStarted"]);
    expect(run(200 / 3600, { guestTimeoutSeconds: 300 }).slice(2, 6)).toEqual(["36000s storageFailed", "36000s vmDown:storage", "36200s storageRepaired", "36200s vmResumed"]);
  });

  it("in one rack leaves a VM whose volume has copies in other racks running; in every rack at once, stalls it", () => {
    const apart = run(0.1, {}, "rack", { type: "exponential", mean: 5 });
    expect(apart.filter((e) => e.includes("storageFailed")).length).toBeGreaterThan(10);
    expect(apart.filter((e) => e.includes("vmDown"))).toEqual([]);
    // Fixed times: the three racks' services fail together. With Ceph's min_size (2 of 3 copies) the
    // VM stalls once a second rack's service is out, and resumes once a second one is back.
    expect(run(100 / 3600, {}, "rack").slice(2, 9)).toEqual([
      "36000s storageFailed",
      "36000s storageFailed",
      "36000s vmDown:storage",
      "36000s storageFailed",
      "36100s storageRepaired",
      "36100s storageRepaired",
      "36100s vmResumed",
    ]);
    // With a min_size of 1 it stalls only when all three are out, and resumes with the first back.
    expect(run(100 / 3600, { minSize: 1 }, "rack").slice(2, 9)).toEqual([
      "36000s storageFailed",
      "36000s storageFailed",
      "36000s storageFailed",
      "36000s vmDown:storage",
      "36100s storageRepaired",
      "36100s vmResumed",
      "36100s storageRepaired",
    ]);
  });

  it("on a host cut off from the storage network: with restart, the stalled VM boots on another host after the timeout; with leave, it waits for the path", () => {
    const partition = (response: "restart" | "leave") => {
      const scenario = {
        name: "partition",
        durationHours: 30,
        cluster: { hosts: [{ name: "h", count: 4, vcpus: 2, memoryGiB: 8, diskGiB: 100 }] },
        workload: { sizes: [{ name: "one", vcpus: 1, memoryGiB: 1, diskGiB: 10 }], fleet: 1 },
        provisioning: { bootSeconds: 60, volumeAttachSeconds: 0 },
        storage: { kind: "san" },
        failures: { storageNetwork: { timeToFailureHours: { type: "uniform", min: 5, max: 25 }, timeToRepairHours: 1 } },
        ha: { storagePathResponse: response },
      };
      const events: DomainEvent[] = [];
      const { metrics } = simulate(loadScenarioObject(scenario).config, 1, "persistent-ha", { check: true, observe: (e) => events.push(e) });
      const stall = events.find((e) => e.type === "vmDown")!;
      const next = events.find((e) => e.seq > stall.seq && e.type.startsWith("vm"))!;
      return { stall, next, restarts: metrics.storagePathRestarts };
    };
    const restart = partition("restart");
    expect(restart.stall).toMatchObject({ type: "vmDown", cause: "storage" });
    expect(restart.next).toMatchObject({ type: "vmPlaced", t: restart.stall.t + 320_000 });
    expect(restart.restarts).toBeGreaterThan(0);
    const leave = partition("leave");
    expect(leave.stall).toEqual(restart.stall);
    expect(leave.next).toMatchObject({ type: "vmRebooted", t: leave.stall.t + 3_600_000 }); // back after an hour: past the guest timeout
    expect(leave.restarts).toBe(0);
  });
});
