import { Random } from "../../kernel/random.js";
import { Scheduler } from "../../kernel/scheduler.js";
import { EventLog } from "../../model/event-log.js";

/**
 * A simulated run: the event log on the scheduler's clock, the scheduler that owns simulated
 * time, and the run's root random stream (forked by name for each process). Models emit event
 * bodies through the log (`emit`), which stamps them with the current simulated time.
 */
export class Simulation extends EventLog {
  readonly scheduler: Scheduler;
  readonly random: Random;

  constructor(readonly seed: number) {
    const scheduler = new Scheduler();
    super(() => scheduler.now);
    this.scheduler = scheduler;
    this.random = Random.fromSeed(seed);
  }

  /** Runs up to `maxEvents` timers; returns true once the run has ended (no more work). */
  advance(maxEvents: number): boolean {
    this.scheduler.run(Infinity, maxEvents);
    const done = this.world.ended || this.scheduler.pending === 0;
    if (done) this.close();
    return done;
  }
}
