import type { Scheduler, TimerId } from "../../../kernel/scheduler.js";

/** A link a rebuild's data crosses: a host's disk reads or writes, a rack's uplink, the cluster network. */
export interface Link {
  readonly id: string;
  /** Its bandwidth for rebuilds (bytes per ms). */
  readonly bytesPerMs: number;
}

interface Transfer {
  readonly key: string;
  readonly links: Link[];
  remainingBytes: number;
  /** Bytes per ms: the smallest equal share of its links. */
  rate: number;
  settledAt: number;
  timer: TimerId | null;
  readonly done: () => void;
}

/**
 * Rebuild transfers sharing the links they cross. Each link's bandwidth is split equally among the
 * transfers crossing it, and a transfer moves at its smallest share — the bottleneck link sets
 * its pace (equal sharing per link, not max-min fairness: bandwidth a transfer cannot use at one link
 * is not handed to the others). So k rebuilds reading from one source host take k times as long
 * as one. A start or an end re-times only the transfers that share a link with it: O(transfers
 * on those links) per change.
 */
export class RebuildLinks {
  private readonly transfers = new Map<string, Transfer>();
  private readonly crossing = new Map<string, Set<Transfer>>();

  constructor(private readonly scheduler: Scheduler) {}

  /** Starts moving `bytes` over `links`; `done` is called when they have arrived. */
  start(key: string, links: Link[], bytes: number, done: () => void): void {
    const transfer: Transfer = { key, links, remainingBytes: bytes, rate: 0, settledAt: this.scheduler.now, timer: null, done };
    const affected = this.neighbours(transfer);
    for (const t of affected) this.settle(t);
    this.transfers.set(key, transfer);
    for (const link of links) {
      let set = this.crossing.get(link.id);
      if (!set) this.crossing.set(link.id, (set = new Set()));
      set.add(transfer);
    }
    affected.add(transfer);
    for (const t of affected) this.retime(t);
  }

  /** How many transfers cross the link now. */
  crossingCount(linkId: string): number {
    return this.crossing.get(linkId)?.size ?? 0;
  }

  /** Whether the transfer is under way. */
  has(key: string): boolean {
    return this.transfers.has(key);
  }

  /** Stops a transfer before its end (its data is discarded). */
  cancel(key: string): void {
    const transfer = this.transfers.get(key)!;
    this.scheduler.cancel(transfer.timer!);
    this.remove(transfer);
  }

  private finish(transfer: Transfer): void {
    this.remove(transfer);
    transfer.done();
  }

  private remove(transfer: Transfer): void {
    const affected = this.neighbours(transfer);
    affected.delete(transfer);
    for (const t of affected) this.settle(t);
    this.transfers.delete(transfer.key);
    for (const link of transfer.links) {
      const set = this.crossing.get(link.id)!;
      set.delete(transfer);
      if (set.size === 0) this.crossing.delete(link.id);
    }
    for (const t of affected) this.retime(t);
  }

  /** The transfers sharing a link with this one (and it, if it is under way), in a fixed order. */
  private neighbours(transfer: Transfer): Set<Transfer> {
    const affected = new Set<Transfer>();
    for (const link of transfer.links) for (const t of this.crossing.get(link.id) ?? []) affected.add(t);
    return affected;
  }

  private settle(t: Transfer): void {
    const now = this.scheduler.now;
    t.remainingBytes -= (now - t.settledAt) * t.rate;
    t.settledAt = now;
  }

  private retime(t: Transfer): void {
    let rate = Infinity;
    for (const link of t.links) rate = Math.min(rate, link.bytesPerMs / this.crossing.get(link.id)!.size);
    t.rate = rate;
    if (t.timer !== null) this.scheduler.cancel(t.timer);
    t.timer = this.scheduler.after(Math.max(0, Math.ceil(t.remainingBytes / rate)), (x: Transfer) => this.finish(x), t);
  }
}
