import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical.js";
import type { DomainEvent, DomainEventBody } from "./events.js";
import { evolve, EvolveError } from "./evolve.js";
import { emptyWorld } from "./world.js";

const added = (host: string): DomainEventBody => ({ type: "hostAdded", host, rack: "r1", vcpus: 8, memoryGiB: 32, diskGiB: 500 });

function fold(bodies: { t: number; body: DomainEventBody }[]) {
  const world = emptyWorld();
  bodies.forEach(({ t, body }, i) => evolve(world, { seq: i + 1, t, ...body } as DomainEvent));
  return world;
}

describe("evolve", () => {
  it("builds hosts from hostAdded and tracks failures and repairs", () => {
    const world = fold([
      { t: 0, body: added("h1") },
      { t: 0, body: added("h2") },
      { t: 100, body: { type: "hostFailed", host: "h2", cause: "hardware" } },
      { t: 250, body: { type: "hostRepaired", host: "h2" } },
      { t: 300, body: { type: "hostFailed", host: "h2", cause: "crash" } },
    ]);
    expect(world.lastSeq).toBe(5);
    expect(world.t).toBe(300);
    expect(world.hosts.get("h1")).toMatchObject({ status: "up", failures: 0, since: 0 });
    expect(world.hosts.get("h2")).toMatchObject({ status: "failed", failures: 2, since: 300 });
  });

  const refusals: [string, { t: number; body: DomainEventBody }[], RegExp][] = [
    ["a host added twice", [{ t: 0, body: added("h1") }, { t: 0, body: added("h1") }], /already exists/],
    ["a failure of an unknown host", [{ t: 0, body: { type: "hostFailed", host: "x", cause: "crash" } }], /unknown host x/],
    ["a failure of a failed host", [{ t: 0, body: added("h1") }, { t: 1, body: { type: "hostFailed", host: "h1", cause: "crash" } }, { t: 2, body: { type: "hostFailed", host: "h1", cause: "crash" } }], /is failed, not up/],
    ["a repair of a host that is up", [{ t: 0, body: added("h1") }, { t: 1, body: { type: "hostRepaired", host: "h1" } }], /is up, not failed/],
    ["time going back", [{ t: 5, body: added("h1") }, { t: 4, body: added("h2") }], /time goes back/],
    ["an event after the end", [{ t: 5, body: { type: "runEnded" } }, { t: 6, body: added("h2") }], /already ended/],
    ["an unknown event type", [{ t: 0, body: { type: "hostExploded" } as unknown as DomainEventBody }], /unknown event type "hostExploded"/],
  ];
  for (const [name, events, message] of refusals) {
    it(`refuses ${name}`, () => {
      expect(() => fold(events)).toThrow(EvolveError);
      expect(() => fold(events)).toThrow(message);
    });
  }

  it("refuses an event whose seq does not follow the last one", () => {
    const world = emptyWorld();
    evolve(world, { seq: 1, t: 0, ...added("h1") } as DomainEvent);
    expect(() => evolve(world, { seq: 3, t: 0, ...added("h2") } as DomainEvent)).toThrow(/expected seq 2/);
  });
});
