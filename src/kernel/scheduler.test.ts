import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Scheduler } from "./scheduler.js";

describe("Scheduler", () => {
  it("runs simultaneous timers first-in first-out", () => {
    const s = new Scheduler();
    const fired: string[] = [];
    for (const name of ["a", "b", "c"]) s.schedule(10, (n) => fired.push(n), name);
    s.schedule(5, (n) => fired.push(n), "early");
    s.run();
    expect(fired).toEqual(["early", "a", "b", "c"]);
    expect(s.now).toBe(10);
  });

  it("runs only timers due by `until` and then sets the clock to `until`", () => {
    const s = new Scheduler();
    const fired: number[] = [];
    for (const t of [1, 5, 9, 12]) s.schedule(t, (x) => fired.push(x), t);
    expect(s.run(9)).toBe(3);
    expect(fired).toEqual([1, 5, 9]);
    expect(s.now).toBe(9);
    s.run(11);
    expect(s.now).toBe(11);
    expect(s.pending).toBe(1);
  });

  it("stops after maxEvents and keeps the clock at the last timer", () => {
    const s = new Scheduler();
    for (const t of [1, 2, 3, 4]) s.schedule(t, () => {}, null);
    expect(s.run(100, 2)).toBe(2);
    expect(s.now).toBe(2);
    expect(s.pending).toBe(2);
  });

  it("cancels a waiting timer and refuses to cancel a fired or cancelled one", () => {
    const s = new Scheduler();
    const fired: number[] = [];
    const a = s.schedule(1, (x) => fired.push(x), 1);
    const b = s.schedule(2, (x) => fired.push(x), 2);
    s.schedule(3, (x) => fired.push(x), 3);
    expect(s.cancel(b)).toBe(true);
    expect(s.cancel(b)).toBe(false);
    expect(s.pending).toBe(2);
    s.run();
    expect(fired).toEqual([1, 3]);
    expect(s.cancel(a)).toBe(false);
  });

  it("does not let a stale id cancel the timer that reuses its slot", () => {
    const s = new Scheduler();
    const first = s.schedule(1, () => {}, null);
    s.run();
    let fired = false;
    s.schedule(5, () => (fired = true), null); // reuses the released slot
    expect(s.cancel(first)).toBe(false);
    s.run();
    expect(fired).toBe(true);
  });

  it("refuses times in the past and non-integer times", () => {
    const s = new Scheduler();
    s.schedule(10, () => {}, null);
    s.run();
    expect(() => s.schedule(9, () => {}, null)).toThrow(RangeError);
    expect(() => s.schedule(10.5, () => {}, null)).toThrow(RangeError);
    expect(() => s.schedule(NaN, () => {}, null)).toThrow(RangeError);
  });

  it("lets handlers schedule more timers, including at the current time", () => {
    const s = new Scheduler();
    const fired: string[] = [];
    s.schedule(1, () => {
      fired.push("parent");
      s.after(0, () => fired.push("child"), null);
    }, null);
    s.schedule(1, () => fired.push("sibling"), null);
    s.run();
    expect(fired).toEqual(["parent", "sibling", "child"]);
  });

  it("pops timers in (time, seq) order for any schedule with cancellations", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), at: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const s = new Scheduler();
        const fired: { at: number; order: number }[] = [];
        const live: { id: number; at: number; order: number }[] = [];
        let order = 0;
        for (const o of ops) {
          if (o.kind === "add") {
            const entry = { at: o.at, order: order++ };
            live.push({ id: s.schedule(o.at, (e) => fired.push(e), entry), ...entry });
          } else if (live.length > 0) {
            const [victim] = live.splice(o.pick % live.length, 1);
            expect(s.cancel(victim!.id)).toBe(true);
          }
        }
        expect(s.pending).toBe(live.length);
        s.run();
        const expected = live.map(({ at, order }) => ({ at, order })).sort((x, y) => x.at - y.at || x.order - y.order);
        expect(fired).toEqual(expected);
      }),
      { verbose: true },
    );
  });
});
