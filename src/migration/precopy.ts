/**
 * Live migration by iterative pre-copy (Clark et al., "Live Migration of Virtual Machines",
 * NSDI 2005): the first round sends all of the VM's memory while it runs; each later round sends
 * the pages dirtied during the round before; when the rounds stop paying off the VM is paused and
 * what is left is sent (stop-and-copy): that pause is the downtime.
 *
 * The stop rule is Xen's save loop (`tools/libxc/xc_domain_save.c`): **after** each live round it
 * tests that round — it sent fewer than 50 pages, or `max_iters` (29) rounds are done, or more
 * than `max_factor` (3) × memory has been sent in all — and if one holds, it pauses the VM and
 * sends one last round with what was dirtied meanwhile (30 times round the loop at most). Xen's
 * fourth test (the round sent more than the one before while its rate limiter is at its
 * maximum) is left out: the model has no rate limiter, a migration gets a fixed share of the link.
 *
 * With memory M, dirty rate d, link bandwidth b and ρ = d / b, round i ≥ 1 sends
 * v_1 = M and v_i = min(W, d · t_{i−1}) (W the writable working set: pages rewritten so often that
 * sending them again does not help, Clark et al. §4), and lasts t_i = v_i / b; without the W cap
 * v_i = M ρ^(i−1), a geometric series. With ρ < 1, no cap and S the threshold (S < M), the live
 * rounds are n = ⌊ln(S/M) / ln ρ⌋ + 2 (the first with v_n < S), the paused round sends M ρ^n:
 *   downtime = M ρ^n / b + switchover,  bytes = M(1 − ρ^(n+1)) / (1 − ρ),
 *   total = setup + bytes / b + switchover.
 * When d ≥ b the series does not shrink: the migration ends by the round or byte limits with a
 * downtime of about one round of memory (`converged: false`). `setupMs` is the time before the
 * first round (the destination VM started, the connections made), during which the VM runs.
 */
export interface PrecopyParameters {
  memoryMiB: number;
  /** Rate at which the running VM dirties memory. */
  dirtyRateMiBps: number;
  /** Bandwidth of the migration stream (its share of the link). */
  bandwidthMiBps: number;
  /** Stop and copy after a round that sent less than this (Xen: 50 pages). */
  stopCopyThresholdMiB: number;
  /** Live pre-copy rounds at most, the first included; one paused round follows (Xen's max_iters: 29). */
  maxRounds: number;
  /** Stop and copy once more than this multiple of memory has been sent (Xen: 3). */
  maxSentFactor: number;
  /** Writable working set: no round resends more than this (default: all memory). */
  writableWorkingSetMiB?: number;
  /** Fixed cost of the switchover (pause, device state, ARP, resume), ms. */
  switchoverMs?: number;
  /** Set-up before the first round (the VM runs meanwhile), ms. */
  setupMs?: number;
}

export interface PrecopyResult {
  /** Live pre-copy rounds done before the paused one (the first included). */
  rounds: number;
  /** Whether pre-copy reached the threshold (not stopped by the round or byte limits). */
  converged: boolean;
  totalMs: number;
  downtimeMs: number;
  sentMiB: number;
}

/**
 * Xen's defaults (`xc_domain_save.c`: `DEF_MAX_ITERS` 29 live rounds, "limit us to 30 times round
 * loop" with the paused one; `DEF_MAX_FACTOR` 3; a round of fewer than 50 pages of 4 KiB).
 */
export const XEN_PRECOPY_DEFAULTS = { maxRounds: 29, maxSentFactor: 3, stopCopyThresholdMiB: (50 * 4) / 1024 } as const;

export function precopy(p: PrecopyParameters): PrecopyResult {
  const wws = Math.min(p.writableWorkingSetMiB ?? p.memoryMiB, p.memoryMiB);
  const switchover = p.switchoverMs ?? 0;
  let round = p.memoryMiB;
  let sent = 0;
  let totalSeconds = 0;
  for (let rounds = 1; ; rounds++) {
    const seconds = round / p.bandwidthMiBps;
    sent += round;
    totalSeconds += seconds;
    const dirtied = Math.min(wws, p.dirtyRateMiBps * seconds);
    // Xen tests the round just sent, then sends one last round with the VM paused.
    const converged = round < p.stopCopyThresholdMiB;
    if (converged || rounds >= p.maxRounds || sent > p.maxSentFactor * p.memoryMiB) {
      const downtimeSeconds = dirtied / p.bandwidthMiBps;
      return {
        rounds,
        converged,
        totalMs: (p.setupMs ?? 0) + (totalSeconds + downtimeSeconds) * 1000 + switchover,
        downtimeMs: downtimeSeconds * 1000 + switchover,
        sentMiB: sent + dirtied,
      };
    }
    round = dirtied;
  }
}
