import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { precopy, XEN_PRECOPY_DEFAULTS, type PrecopyParameters } from "./precopy.js";

const base: PrecopyParameters = { memoryMiB: 1024, dirtyRateMiBps: 20, bandwidthMiBps: 100, stopCopyThresholdMiB: 1, maxRounds: 30, maxSentFactor: 3 };

/** The geometric series of the doc comment, for ρ < 1 and no working-set cap. */
function closedForm(p: PrecopyParameters) {
  const rho = p.dirtyRateMiBps / p.bandwidthMiBps;
  const M = p.memoryMiB;
  const n = Math.max(1, Math.ceil(Math.log(p.stopCopyThresholdMiB / M) / Math.log(rho)));
  const sent = (M * (1 - rho ** (n + 1))) / (1 - rho);
  return { rounds: n, sentMiB: sent, totalMs: (sent / p.bandwidthMiBps) * 1000, downtimeMs: ((M * rho ** n) / p.bandwidthMiBps) * 1000 };
}

describe("pre-copy live migration", () => {
  it("follows the geometric series when the dirty rate is below the bandwidth", () => {
    for (const dirtyRateMiBps of [1, 10, 20, 50, 60]) { // ρ ≤ 0.6: ≤ 14 rounds and < 2.5 × memory, inside the limits
      const p = { ...base, dirtyRateMiBps };
      const r = precopy(p);
      const c = closedForm(p);
      expect(r.converged).toBe(true);
      expect(r.rounds).toBe(c.rounds);
      expect(r.sentMiB).toBeCloseTo(c.sentMiB, 6);
      expect(r.totalMs).toBeCloseTo(c.totalMs, 6);
      expect(r.downtimeMs).toBeCloseTo(c.downtimeMs, 6);
      expect(r.downtimeMs).toBeLessThanOrEqual((p.stopCopyThresholdMiB / p.bandwidthMiBps) * 1000 + 1e-9);
    }
  });

  it("with nothing dirtied, is one round and no downtime but the switchover", () => {
    const r = precopy({ ...base, dirtyRateMiBps: 0, switchoverMs: 30 });
    expect(r).toEqual({ rounds: 1, converged: true, totalMs: (1024 / 100) * 1000 + 30, downtimeMs: 30, sentMiB: 1024 });
  });

  it("does not converge when the dirty rate reaches the bandwidth: the byte limit stops it", () => {
    const r = precopy({ ...base, dirtyRateMiBps: 100 });
    expect(r.converged).toBe(false);
    expect(r.rounds).toBe(3); // 3 × memory sent at most: rounds 0, 1, 2 send 1 GiB each
    expect(r.downtimeMs).toBeCloseTo(10_240, 6); // the last GiB is sent with the VM paused
    const faster = precopy({ ...base, dirtyRateMiBps: 400 });
    expect(faster.converged).toBe(false);
    expect(faster.downtimeMs).toBeGreaterThan(r.downtimeMs - 1e-9); // only the working-set cap (all memory) bounds it
  });

  it("stops after the round limit", () => {
    const r = precopy({ ...base, dirtyRateMiBps: 99, maxRounds: 5, maxSentFactor: 100 });
    expect(r).toMatchObject({ rounds: 5, converged: false });
  });

  it("resends at most the writable working set each round", () => {
    const r = precopy({ ...base, dirtyRateMiBps: 200, writableWorkingSetMiB: 64 });
    expect(r.converged).toBe(false);
    expect(r.downtimeMs).toBeCloseTo((64 / 100) * 1000, 6);
  });

  it("has Xen's termination conditions as defaults", () => {
    expect(XEN_PRECOPY_DEFAULTS).toEqual({ maxRounds: 30, maxSentFactor: 3, stopCopyThresholdMiB: 200 / 1024 });
  });

  it("never sends less than memory, never pauses longer than it runs, and is deterministic", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 64, max: 65536, noNaN: true }),
        fc.double({ min: 0, max: 2000, noNaN: true }),
        fc.double({ min: 10, max: 2000, noNaN: true }),
        fc.double({ min: 0.01, max: 64, noNaN: true }),
        (memoryMiB, dirtyRateMiBps, bandwidthMiBps, stopCopyThresholdMiB) => {
          const p = { ...XEN_PRECOPY_DEFAULTS, memoryMiB, dirtyRateMiBps, bandwidthMiBps, stopCopyThresholdMiB };
          const r = precopy(p);
          expect(r.sentMiB).toBeGreaterThanOrEqual(memoryMiB);
          expect(r.sentMiB).toBeLessThanOrEqual(3 * memoryMiB + memoryMiB + 1e-6);
          expect(r.downtimeMs).toBeLessThanOrEqual(r.totalMs);
          expect(r.rounds).toBeLessThanOrEqual(30);
          expect(precopy(p)).toEqual(r);
        },
      ),
      { verbose: true },
    );
  });
});
