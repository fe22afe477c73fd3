/**
 * Kernel throughput: the scheduler alone, on a pure timer workload. `live` processes each hold
 * one timer; when it fires, the process schedules its next one a pseudo-random 1..1000 ms later
 * (handler and argument, no closure per event), until `events` timers have fired. With a few
 * live timers the heap stays small; with 100 000 it is deep, as in a large cluster model.
 *
 *   node dist/bench/kernel.js <live timers> [events]
 */
import { Scheduler } from "../src/kernel/scheduler.js";
import { measure } from "./common.js";

const live = Number(process.argv[2] ?? 10);
const events = Number(process.argv[3] ?? 2_000_000);
if (!(live >= 1 && events >= live)) throw new RangeError("usage: kernel.js <live timers ≥ 1> [events ≥ live timers]");

interface Process {
  state: number;
}

const scheduler = new Scheduler();
let toSchedule = events - live;

function fire(p: Process): void {
  if (toSchedule === 0) return;
  toSchedule--;
  p.state = (Math.imul(p.state, 1103515245) + 12345) | 0; // a 32-bit LCG: cheap, deterministic
  scheduler.after(1 + ((p.state >>> 8) % 1000), fire, p);
}

for (let i = 0; i < live; i++) {
  const p: Process = { state: i + 1 };
  scheduler.schedule(i % 1000, fire, p);
}
await measure(`kernel-${live}-timers`, () => scheduler.run());
