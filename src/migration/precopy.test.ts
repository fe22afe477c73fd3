import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { precopy, XEN_PRECOPY_DEFAULTS, type PrecopyParameters } from "./precopy.js";

const base: PrecopyParameters = { memoryMiB: 1024, dirtyRateMiBps: 20, bandwidthMiBps: 100, stopCopyThresholdMiB: 1, maxRounds: 29, maxSentFactor: 3 };

/** The geometric series of the doc comment, for 0 < ρ < 1, S < M and no working-set cap. */
function closedForm(p: PrecopyParameters) {
  const rho = p.dirtyRateMiBps / p.bandwidthMiBps;
  const M = p.memoryMiB;
  const n = Math.floor(Math.log(p.stopCopyThresholdMiB / M) / Math.log(rho)) + 2;
  const sent = (M * (1 - rho ** (n + 1))) / (1 - rho);
  return { rounds: n, sentMiB: sent, totalMs: (sent / p.bandwidthMiBps) * 1000, downtimeMs: ((M * rho ** n) / p.bandwidthMiBps) * 1000 };
}

describe("pre-copy live migration", () => {
  it("stops as Xen's save loop does, on a round-by-round trace computed by hand", () => {
    // M = 100 MiB, b = 100 MiB/s, d = 50 MiB/s, 50 pages taken as 10 MiB:
    // round 1 sends 100 MiB in 1 s (dirties 50); round 2 50 MiB in 0.5 s (dirties 25);
    // round 3 25 MiB in 0.25 s (12.5); round 4 12.5 MiB in 0.125 s (6.25) — not < 10, go on;
    // round 5 6.25 MiB in 0.0625 s (dirties 3.125) — < 10: pause, send 3.125 MiB in 31.25 ms.
    const trace = { memoryMiB: 100, dirtyRateMiBps: 50, bandwidthMiBps: 100, stopCopyThresholdMiB: 10, maxRounds: 29, maxSentFactor: 3, switchoverMs: 20, setupMs: 650 };
    expect(precopy(trace)).toEqual({ rounds: 5, converged: true, sentMiB: 196.875, downtimeMs: 31.25 + 20, totalMs: 650 + 1968.75 + 20 });
    // The rule applied before the round (the old model) would have paused after round 4 and sent
    // 6.25 MiB paused: one round fewer, twice the downtime.
    // The round limit counts live rounds: after round 2, pause and send round 2's 25 MiB dirtied.
    expect(precopy({ ...trace, maxRounds: 2 })).toEqual({ rounds: 2, converged: false, sentMiB: 175, downtimeMs: 250 + 20, totalMs: 650 + 1750 + 20 });
    // Dirtying faster than the link (d = 200, W = M): rounds of 100 MiB; after round 3 the sent
    // 300 MiB is not more than 3 × M, after round 4 it is: pause and send 100 MiB more.
    expect(precopy({ ...trace, dirtyRateMiBps: 200 })).toEqual({ rounds: 4, converged: false, sentMiB: 500, downtimeMs: 1000 + 20, totalMs: 650 + 5000 + 20 });
  });

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

  it("with nothing dirtied, is one round of memory and an empty one, and no downtime but the switchover", () => {
    const r = precopy({ ...base, dirtyRateMiBps: 0, switchoverMs: 20 });
    expect(r).toEqual({ rounds: 2, converged: true, totalMs: (1024 / 100) * 1000 + 20, downtimeMs: 20, sentMiB: 1024 });
  });

  it("does not converge when the dirty rate reaches the bandwidth: the byte limit stops it", () => {
    const r = precopy({ ...base, dirtyRateMiBps: 100 });
    expect(r.converged).toBe(false);
    expect(r.rounds).toBe(4); // rounds of 1 GiB: after the 4th, more than 3 × memory has been sent
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
    expect(XEN_PRECOPY_DEFAULTS).toEqual({ maxRounds: 29, maxSentFactor: 3, stopCopyThresholdMiB: 200 / 1024 });
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
          expect(r.sentMiB).toBeLessThanOrEqual(3 * memoryMiB + 2 * memoryMiB + 1e-6); // over 3× by at most a live round and the paused one
          expect(r.downtimeMs).toBeLessThanOrEqual(r.totalMs);
          expect(r.rounds).toBeLessThanOrEqual(29);
          expect(precopy(p)).toEqual(r);
        },
      ),
      { verbose: true },
    );
  });
});
