/**
 * Ceph's backfill reservations (`osd_max_backfills`): a rebuild holds a slot at its source host
 * (reads) and one at its target host (writes), at most `max` of each kind per host. As Ceph's
 * primary does, it first reserves the source's slot (its `local_reserver`), then — holding it —
 * the target's (the target's `remote_reserver`); each kind has its own slots, so there can be
 * `max` reads and `max` writes at once on one host ("Backfill Reservation", Ceph developer docs,
 * docs.ceph.com/en/quincy/dev/osd_internals/backfill_reservation/). A rebuild that finds a slot
 * taken waits in that slot's FIFO queue; a slot freed (rebuild finished or aborted) goes straight
 * to the first in its queue. Holders of write slots never wait, so there is no deadlock.
 * Reserve, release and hand-over are O(1) (a queue is an insertion-ordered Map).
 */
export class BackfillSlots {
  /** Slots taken, by slot (`read:<host>` or `write:<host>`). */
  private readonly taken = new Map<string, number>();
  /** Rebuilds waiting for a slot, by slot, first come first. */
  private readonly queues = new Map<string, Map<string, () => void>>();
  /** The slots each rebuild holds, and the one it waits for. */
  private readonly holding = new Map<string, string[]>();
  private readonly waitingFor = new Map<string, string>();

  /** `max`: slots of each kind per host; null: no limit. */
  constructor(private readonly max: number | null) {}

  /** Reserves the source's read slot, then the target's write slot, then calls `go` (at once if both are free). */
  reserve(key: string, sourceId: string, targetId: string, go: () => void): void {
    if (this.max === null) return go();
    this.holding.set(key, []);
    this.acquire(key, `read:${sourceId}`, () => this.acquire(key, `write:${targetId}`, go));
  }

  /** The rebuild ended (finished or aborted): it leaves its queue, and its slots go to the next in theirs. */
  release(key: string): void {
    if (this.max === null) return;
    const waiting = this.waitingFor.get(key);
    if (waiting !== undefined) {
      this.queues.get(waiting)!.delete(key);
      this.waitingFor.delete(key);
    }
    const held = this.holding.get(key) ?? [];
    this.holding.delete(key);
    for (const slot of held) this.free(slot);
  }

  private acquire(key: string, slot: string, then: () => void): void {
    const taken = this.taken.get(slot) ?? 0;
    if (taken < this.max!) {
      this.taken.set(slot, taken + 1);
      this.holding.get(key)!.push(slot);
      then();
      return;
    }
    let queue = this.queues.get(slot);
    if (!queue) this.queues.set(slot, (queue = new Map()));
    queue.set(key, then);
    this.waitingFor.set(key, slot);
  }

  private free(slot: string): void {
    const queue = this.queues.get(slot);
    const next = queue?.entries().next();
    if (!queue || !next || next.done) {
      const taken = this.taken.get(slot)! - 1;
      if (taken === 0) this.taken.delete(slot);
      else this.taken.set(slot, taken);
      return;
    }
    const [key, then] = next.value;
    queue.delete(key);
    if (queue.size === 0) this.queues.delete(slot);
    this.waitingFor.delete(key);
    this.holding.get(key)!.push(slot); // the slot passes straight on: `taken` is unchanged
    then();
  }
}
