/**
 * The parts of a run that act on events (infrastructure, storage, controller), run in the order
 * they registered, on each event in log order — including the events they emit themselves, which
 * queue behind the one being handled instead of nesting — and the hooks called once the world is
 * settled (an event and all its consequences applied). Shared by the simulation and the log of a
 * run on real hosts, so both react alike.
 */
export class Reactions<E> {
  private readonly reactions: Array<(event: E) => void> = [];
  private readonly queue: E[] = [];
  private reacting = false;
  private readonly settledHooks: Array<() => void> = [];

  onEvent(reaction: (event: E) => void): void {
    this.reactions.push(reaction);
  }

  onSettled(hook: () => void): void {
    this.settledHooks.push(hook);
  }

  /** An event was applied: reacts to it now, or after the one being reacted to. */
  push(event: E): void {
    this.queue.push(event);
    if (this.reacting) return;
    this.reacting = true;
    try {
      for (let i = 0; i < this.queue.length; i++) {
        for (const reaction of this.reactions) reaction(this.queue[i]!);
      }
    } finally {
      this.queue.length = 0;
      this.reacting = false;
    }
    for (const hook of this.settledHooks) hook();
  }
}
