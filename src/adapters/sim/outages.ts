/**
 * Overlapping outages of one component merged into one: the component goes down with the first
 * and comes back with the last (the union of the intervals). Every failure source of a kind of
 * component — its own renewal process, a power domain, a burst, a trace row — begins and ends
 * its outages here, so a component down for two reasons at once is down once, and a source that
 * ends first leaves it down until the other ends. The cause reported is the first one's.
 */
export class Outages<C> {
  private readonly active = new Map<string, number>();

  constructor(private readonly goDown: (id: string, cause: C) => void, private readonly comeBack: (id: string) => void) {}

  begin(id: string, cause: C): void {
    const n = this.active.get(id) ?? 0;
    this.active.set(id, n + 1);
    if (n === 0) this.goDown(id, cause);
  }

  end(id: string): void {
    const n = this.active.get(id) ?? 0;
    if (n <= 1) {
      this.active.delete(id);
      this.comeBack(id);
    } else this.active.set(id, n - 1);
  }
}
