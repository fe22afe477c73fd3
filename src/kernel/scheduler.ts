/**
 * The discrete-event scheduler: one simulated clock and a priority queue of timers.
 *
 * Time is an integer number of **milliseconds** since the start of the run (see `time.ts`).
 * Integers make `(time, seq)` ordering exact on every machine; a millisecond is far below any
 * delay we model (heartbeats are seconds, migrations' downtime is reported separately in ms),
 * and a JS number holds 2^53 ms ≈ 285 000 years.
 *
 * Timers fire in `(time, seq)` order, where `seq` is the order in which they were scheduled, so
 * simultaneous timers run first-in first-out — the counter SimPy's `core.py` uses for the same
 * reason, and what makes a run deterministic.
 *
 * The queue is an indexed 4-ary heap of slot numbers; each slot's handler and argument live in
 * parallel arrays that are reused, so scheduling allocates nothing in steady state (measured in
 * DESIGN.md: ≈ 8.8 M events/s against ≈ 6.4 M/s for an object heap). The keys — time and seq —
 * are kept in the heap's own order (`heapTime`, `heapSeq`), so a sift compares four children
 * that sit side by side in memory instead of following each slot number to its own entry: with
 * 100 000 live timers the heap no longer fits in the cache, and that indirection was most of its
 * cost (`bench/README.md`, issue 18). The index (`position`) makes `cancel` a true O(log n)
 * removal: cancelled timers leave no tombstones.
 *
 * A handler receives the argument it was scheduled with, so long-lived processes can be plain
 * state machines scheduled with their own object as argument, with no closure per event.
 */
export type TimerId = number;
export type Handler<A> = (arg: A) => void;

/**
 * The latest time a timer can be set for: 2^53 − 1 ms (≈ 285 000 years), after the end of any
 * run (scenarios are limited to 10^6 hours). A later time — an infinite delay, such as a rebuild
 * at a bandwidth of 1e-300 or a lognormal sample that overflows — is set to this: it never fires.
 */
export const NEVER_MS = Number.MAX_SAFE_INTEGER;

/**
 * Timers that may run at one instant before the scheduler decides the run cannot make progress
 * (`NoProgressError`): a fleet of 10^6 VMs placed at t = 0 takes a few each, so 5 × 10^7 is far
 * above any honest burst and a few tens of seconds of a process that spins.
 */
export const MAX_EVENTS_WITHOUT_PROGRESS = 50_000_000;

/** A run whose timers keep firing without simulated time advancing. */
export class NoProgressError extends Error {}

/** Live timers are at most this many; a timer id is `generation * SLOT_LIMIT + slot`. */
const SLOT_LIMIT = 1 << 24;
const GENERATION_LIMIT = 1 << 29; // SLOT_LIMIT * GENERATION_LIMIT = 2^53

export class Scheduler {
  private clock = 0;
  private nextSeq = 0;
  private stopRequested = false;
  private timersAtThisTime = 0;

  /** `maxTimersWithoutProgress`: see `MAX_EVENTS_WITHOUT_PROGRESS` (tests set a smaller one). */
  constructor(private readonly maxTimersWithoutProgress = MAX_EVENTS_WITHOUT_PROGRESS) {}

  // Per slot.
  private generation = new Uint32Array(1024);
  private position = new Int32Array(1024);
  private handlers: (Handler<any> | undefined)[] = new Array(1024).fill(undefined);
  private args: unknown[] = new Array(1024).fill(undefined);
  private freeSlots = new Int32Array(1024);
  private freeCount = 0;
  private slotsUsed = 0;

  // The heap of slots, and each entry's time and seq in heap order.
  private heap = new Int32Array(1024);
  private heapTime = new Float64Array(1024);
  private heapSeq = new Float64Array(1024);
  private size = 0;

  /** The current simulated time in milliseconds. */
  get now(): number {
    return this.clock;
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.size;
  }

  /** The time of the next timer, or `Infinity` when none is waiting. */
  peekTime(): number {
    return this.size === 0 ? Infinity : this.heapTime[0]!;
  }

  /** Runs `handler(arg)` at absolute time `at` (an integer ≥ now; beyond `NEVER_MS`, never). */
  schedule<A>(at: number, handler: Handler<A>, arg: A): TimerId {
    if (at > NEVER_MS) at = NEVER_MS;
    if (!(at >= this.clock) || !Number.isSafeInteger(at)) {
      throw new RangeError(`cannot schedule at t=${at} ms: expected an integer ≥ now (${this.clock})`);
    }
    const slot = this.allocateSlot();
    this.handlers[slot] = handler;
    this.args[slot] = arg;
    const i = this.size++;
    if (i === this.heap.length) {
      this.heap = grow(this.heap);
      this.heapTime = grow(this.heapTime);
      this.heapSeq = grow(this.heapSeq);
    }
    this.siftUp(i, slot, at, this.nextSeq++);
    return this.generation[slot]! * SLOT_LIMIT + slot;
  }

  /** Runs `handler(arg)` after `delay` milliseconds. */
  after<A>(delay: number, handler: Handler<A>, arg: A): TimerId {
    return this.schedule(this.clock + delay, handler, arg);
  }

  /** Cancels a timer; returns false if it already fired or was cancelled. */
  cancel(id: TimerId): boolean {
    const slot = id % SLOT_LIMIT;
    const generation = (id - slot) / SLOT_LIMIT;
    if (slot >= this.slotsUsed || this.generation[slot] !== generation || this.handlers[slot] === undefined) {
      return false;
    }
    const i = this.position[slot]!;
    const n = --this.size;
    if (i !== n) {
      const last = this.heap[n]!;
      const t = this.heapTime[n]!;
      const q = this.heapSeq[n]!;
      // The last entry takes the hole: up if it sorts before the hole's parent, else down.
      const parent = (i - 1) >> 2;
      if (i > 0 && (t < this.heapTime[parent]! || (t === this.heapTime[parent]! && q < this.heapSeq[parent]!))) this.siftUp(i, last, t, q);
      else this.siftDown(i, last, t, q);
    }
    this.releaseSlot(slot);
    return true;
  }

  /** Runs the next timer; returns false when none is waiting. */
  step(): boolean {
    if (this.size === 0) return false;
    const slot = this.heap[0]!;
    const t = this.heapTime[0]!;
    const n = --this.size;
    if (n > 0) this.siftDown(0, this.heap[n]!, this.heapTime[n]!, this.heapSeq[n]!);
    const handler = this.handlers[slot]!;
    const arg = this.args[slot];
    if (t !== this.clock) {
      this.clock = t;
      this.timersAtThisTime = 0;
    } else if (++this.timersAtThisTime > this.maxTimersWithoutProgress) {
      throw new NoProgressError(
        `no progress: ${this.maxTimersWithoutProgress} timers ran at t=${t} ms without simulated time advancing; the last was the process "${handler.name || "(unnamed)"}" (a time or a rate that rounds to zero?)`,
      );
    }
    this.releaseSlot(slot);
    handler(arg);
    return true;
  }

  /**
   * Runs every timer due at or before `until`, then sets the clock to `until`.
   * Stops early after `maxEvents` timers or when `stop()` is called from a handler; in that case
   * the clock stays at the last timer's time. Returns the number of timers run.
   */
  run(until: number = Infinity, maxEvents: number = Infinity): number {
    this.stopRequested = false;
    let count = 0;
    while (this.size > 0 && count < maxEvents && !this.stopRequested) {
      if (this.heapTime[0]! > until) break;
      this.step();
      count++;
    }
    const finished = count < maxEvents && !this.stopRequested;
    if (finished && until !== Infinity && until > this.clock) this.clock = until;
    return count;
  }

  /** Makes the current `run` return after the running handler. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Moves the entry (slot, time, seq) from the hole at `i` towards the root to its place. */
  private siftUp(i: number, slot: number, t: number, q: number): void {
    const heap = this.heap;
    const times = this.heapTime;
    const seqs = this.heapSeq;
    while (i > 0) {
      const parent = (i - 1) >> 2;
      const pt = times[parent]!;
      if (t > pt || (t === pt && q > seqs[parent]!)) break;
      const p = heap[parent]!;
      heap[i] = p;
      times[i] = pt;
      seqs[i] = seqs[parent]!;
      this.position[p] = i;
      i = parent;
    }
    heap[i] = slot;
    times[i] = t;
    seqs[i] = q;
    this.position[slot] = i;
  }

  /** Moves the entry (slot, time, seq) from the hole at `i` towards the leaves to its place. */
  private siftDown(i: number, slot: number, t: number, q: number): void {
    const heap = this.heap;
    const times = this.heapTime;
    const seqs = this.heapSeq;
    const size = this.size;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= size) break;
      let best = first;
      let bt = times[first]!;
      const end = Math.min(first + 4, size);
      for (let c = first + 1; c < end; c++) {
        const ct = times[c]!;
        if (ct < bt || (ct === bt && seqs[c]! < seqs[best]!)) {
          best = c;
          bt = ct;
        }
      }
      if (t < bt || (t === bt && q < seqs[best]!)) break;
      const b = heap[best]!;
      heap[i] = b;
      times[i] = bt;
      seqs[i] = seqs[best]!;
      this.position[b] = i;
      i = best;
    }
    heap[i] = slot;
    times[i] = t;
    seqs[i] = q;
    this.position[slot] = i;
  }

  private allocateSlot(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount]!;
    const slot = this.slotsUsed++;
    if (slot >= SLOT_LIMIT) throw new RangeError(`more than ${SLOT_LIMIT} timers waiting at once`);
    if (slot === this.generation.length) {
      this.generation = grow(this.generation);
      this.position = grow(this.position);
      this.freeSlots = grow(this.freeSlots);
      this.handlers.length = this.args.length = this.generation.length;
    }
    return slot;
  }

  private releaseSlot(slot: number): void {
    this.handlers[slot] = undefined;
    this.args[slot] = undefined;
    this.generation[slot] = (this.generation[slot]! + 1) % GENERATION_LIMIT;
    this.freeSlots[this.freeCount++] = slot;
  }
}

function grow<T extends Float64Array | Int32Array | Uint32Array>(array: T): T {
  const bigger = new (array.constructor as new (n: number) => T)(array.length * 2);
  bigger.set(array);
  return bigger;
}
