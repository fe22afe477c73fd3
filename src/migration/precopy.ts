/**
 * Live migration by iterative pre-copy (Clark et al., "Live Migration of Virtual Machines",
 * NSDI 2005): round 0 sends all of the VM's memory while it runs; each later round sends the
 * pages dirtied during the round before; when what is left is small enough — or the rounds stop
 * paying off — the VM is paused and the rest is sent (stop-and-copy): that pause is the downtime.
 *
 * With memory M, dirty rate d, link bandwidth b and ρ = d / b, round i sends
 * v_i = min(W, d · t_{i−1}) (W the writable working set: pages rewritten so often that sending
 * them again does not help, Clark et al. §4) and lasts t_i = v_i / b, so without the W cap
 * v_i = M ρ^i — a geometric series. Pre-copy stops before the first round i ≥ 1 whose v_i is at
 * most the stop-and-copy threshold S; or, as Xen's heuristics do (Clark et al. §5.3), when
 * `maxRounds` rounds are done or the bytes sent would exceed `maxSentFactor` × M. Then:
 *   downtime = v_n / b + switchover,  total = Σ_{i<n} t_i + v_n / b + switchover,
 * and with ρ < 1 and no cap: n = max(1, ⌈ln(S/M) / ln ρ⌉), bytes = M(1 − ρ^(n+1)) / (1 − ρ).
 * When d ≥ b the series does not shrink: the migration ends by the round or byte limits with a
 * downtime of about one round of memory (`converged: false`).
 */
export interface PrecopyParameters {
  memoryMiB: number;
  /** Rate at which the running VM dirties memory. */
  dirtyRateMiBps: number;
  /** Bandwidth of the migration stream (its share of the link). */
  bandwidthMiBps: number;
  /** Stop and copy once a round would send at most this much. */
  stopCopyThresholdMiB: number;
  /** Pre-copy rounds at most, round 0 included (Xen: 30). */
  maxRounds: number;
  /** Stop pre-copy before the bytes sent exceed this multiple of memory (Xen: 3). */
  maxSentFactor: number;
  /** Writable working set: no round resends more than this (default: all memory). */
  writableWorkingSetMiB?: number;
  /** Fixed cost of the switchover (pause, device state, ARP, resume), ms. */
  switchoverMs?: number;
}

export interface PrecopyResult {
  /** Pre-copy rounds done before stop-and-copy (round 0 included). */
  rounds: number;
  /** Whether pre-copy reached the threshold (not stopped by the round or byte limits). */
  converged: boolean;
  totalMs: number;
  downtimeMs: number;
  sentMiB: number;
}

/**
 * Xen's defaults as Clark et al. describe them: at most 30 rounds, at most 3× memory sent, and
 * stop-and-copy when fewer than 50 pages (4 KiB) were dirtied in a round.
 */
export const XEN_PRECOPY_DEFAULTS = { maxRounds: 30, maxSentFactor: 3, stopCopyThresholdMiB: (50 * 4) / 1024 } as const;

export function precopy(p: PrecopyParameters): PrecopyResult {
  const wws = Math.min(p.writableWorkingSetMiB ?? p.memoryMiB, p.memoryMiB);
  const switchover = p.switchoverMs ?? 0;
  let sent = p.memoryMiB;
  let previousSeconds = p.memoryMiB / p.bandwidthMiBps;
  let totalSeconds = previousSeconds;
  let rounds = 1;
  for (;;) {
    const next = Math.min(wws, p.dirtyRateMiBps * previousSeconds);
    const converged = next <= p.stopCopyThresholdMiB;
    if (converged || rounds >= p.maxRounds || sent + next > p.maxSentFactor * p.memoryMiB) {
      const downtimeSeconds = next / p.bandwidthMiBps;
      return {
        rounds,
        converged,
        totalMs: (totalSeconds + downtimeSeconds) * 1000 + switchover,
        downtimeMs: downtimeSeconds * 1000 + switchover,
        sentMiB: sent + next,
      };
    }
    sent += next;
    previousSeconds = next / p.bandwidthMiBps;
    totalSeconds += previousSeconds;
    rounds++;
  }
}
