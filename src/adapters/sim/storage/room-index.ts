/**
 * The largest room (GiB) left on any disk, kept in a max segment tree over the disks: setting one
 * disk's room and reading the largest are O(log n) and O(1). Replicated storage asks it first so
 * that a volume too large for every disk is refused without scanning the cluster (a full cluster
 * with many volumes waiting for room would otherwise scan every host for each of them on every event
 * that frees room).
 */
export class RoomIndex {
  private size = 1;
  private tree: Float64Array = new Float64Array(2).fill(-Infinity);
  private count = 0;

  /** Adds a disk with `roomGiB` and returns its slot. */
  add(roomGiB: number): number {
    const slot = this.count++;
    if (slot >= this.size) this.grow();
    this.set(slot, roomGiB);
    return slot;
  }

  /** Sets a disk's room (−Infinity: it takes nothing, e.g. failed). */
  set(slot: number, roomGiB: number): void {
    let i = slot + this.size;
    this.tree[i] = roomGiB;
    for (i >>= 1; i >= 1; i >>= 1) this.tree[i] = Math.max(this.tree[2 * i]!, this.tree[2 * i + 1]!);
  }

  /** The largest room on any disk (−Infinity with none). */
  largest(): number {
    return this.tree[1]!;
  }

  private grow(): void {
    const old = this.tree;
    const oldSize = this.size;
    this.size *= 2;
    this.tree = new Float64Array(2 * this.size).fill(-Infinity);
    for (let slot = 0; slot < oldSize; slot++) this.tree[this.size + slot] = old[oldSize + slot]!;
    for (let i = this.size - 1; i >= 1; i--) this.tree[i] = Math.max(this.tree[2 * i]!, this.tree[2 * i + 1]!);
  }
}
