import { describe, expect, it } from "vitest";
import type { DomainEvent, DomainEventBody } from "../model/events.js";
import { calibrationSamples, spread } from "./calibration.js";

function log(rows: [number, DomainEventBody][]): DomainEvent[] {
  return rows.map(([t, body], seq) => ({ ...body, seq, t }) as DomainEvent);
}

describe("calibration samples from a live run's log", () => {
  const events = log([
    [0, { type: "vmPlaced", vm: "a", host: "h1", bootMs: 3000 }],
    [2_000, { type: "vmStarted", vm: "a" }],
    [9_000, { type: "guestBooted", vm: "a", host: "h1", bootCount: 1 }],
    [60_000, { type: "migrationStarted", vm: "a", from: "h1", to: "h2", mode: "live" }],
    [63_500, { type: "migrationFinished", vm: "a", downtimeMs: 400, transferredGiB: 0.1 }],
    [92_500, { type: "hostFailed", host: "h1", cause: "crash" }],
    [93_000, { type: "hostFailed", host: "h2", cause: "crash" }],
    [93_000, { type: "vmDown", vm: "a", cause: "host" }],
    [94_000, { type: "vmPlaced", vm: "a", host: "h3", bootMs: 3000 }],
    [96_000, { type: "vmStarted", vm: "a" }],
    [101_000, { type: "guestBooted", vm: "a", host: "h3", bootCount: 2 }],
    [131_000, { type: "diskFailed", host: "h2", disk: 0 }],
    [150_000, { type: "storageFailed", rack: null }],
    [170_000, { type: "diskReplaced", host: "h2", disk: 0 }],
    [171_000, { type: "storageRepaired", rack: null }],
    [174_000, { type: "rebuildFinished", volume: "v", host: "h2" }],
  ]);
  const injected = [
    { target: "h2", t: 90_000 },
    { target: "h2/0", t: 130_000 },
  ];

  it("measures boot to the guest's report and to libvirt's, detection from the injection, restart elsewhere, migration, OSD detection and recovery, the outage", () => {
    const c = calibrationSamples(events, injected);
    expect(c.bootSeconds).toEqual([9, 7]);
    expect(c.libvirtStartSeconds).toEqual([2, 2]);
    expect(c.detectionSeconds).toEqual([3]); // h1 was not injected: not a detection sample
    expect(c.restartElsewhereSeconds).toEqual([8]);
    expect(c.migrationSeconds).toEqual([3.5]);
    expect(c.migrationDowntimeSeconds).toEqual([0.4]);
    expect(c.osdDetectionSeconds).toEqual([1]);
    expect(c.osdRecoverySeconds).toEqual([4]);
    expect(c.storageOutageSeconds).toEqual([21]);
  });

  it("adds the samples of several runs together", () => {
    const twice = calibrationSamples(events, injected, calibrationSamples(events, injected));
    expect(twice.bootSeconds).toEqual([9, 7, 9, 7]);
  });

  it("gives the median and range of a sample", () => {
    expect(spread([3, 1, 2, 10])).toEqual({ n: 4, median: 2.5, min: 1, max: 10 });
    expect(spread([3, 1, 2])).toEqual({ n: 3, median: 2, min: 1, max: 3 });
    expect(spread([])).toBeNull();
  });
});
