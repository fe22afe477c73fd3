/**
 * Wall-clock timers of the live runs, of any length. Node's `setTimeout` holds a delay in a
 * 32-bit signed int: from 2^31 ms (≈ 24.8 days) on it warns (`TimeoutOverflowWarning`) and fires
 * after 1 ms — a crash of `failures.trace` at 600 h would fence the host at once. Every timer of
 * the libvirt adapter goes through `setLongTimeout`, which chains slices of at most
 * `MAX_TIMER_MS`; the `Timers` it uses are injectable, so a test can show a 600 h timer firing at
 * 600 h without waiting for it (`wall-clock.test.ts`).
 */
export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Node's own timers. */
export const realTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** The longest delay one `setTimeout` holds: 2^31 − 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A pending long timer. */
export interface LongTimer {
  cancel(): void;
}

/**
 * Calls `callback` after `ms` (a negative or NaN delay is 0; an infinite one never fires), in
 * slices of at most `MAX_TIMER_MS`.
 */
export function setLongTimeout(callback: () => void, ms: number, timers: Timers = realTimers): LongTimer {
  let remaining = Number.isNaN(ms) ? 0 : Math.max(0, ms);
  let handle: unknown = null;
  let cancelled = false;
  const step = () => {
    if (cancelled) return;
    if (remaining > MAX_TIMER_MS) {
      remaining -= MAX_TIMER_MS;
      handle = timers.set(step, MAX_TIMER_MS);
    } else {
      handle = timers.set(callback, remaining);
    }
  };
  if (remaining !== Infinity) step();
  return {
    cancel: () => {
      cancelled = true;
      if (handle !== null) timers.clear(handle);
    },
  };
}

/** Resolves after `ms` (any length). */
export function sleep(ms: number, timers: Timers = realTimers): Promise<void> {
  return new Promise((resolve) => void setLongTimeout(resolve, ms, timers));
}
