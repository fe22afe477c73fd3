import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { indexedWorld } from "../../bench/common.js";
import { fits } from "../model/world.js";
import { POLICIES, type PlacementRequest } from "./policies.js";

/** A world of hosts with the given capacities (memory GiB) and some of it used, and its index. */
function cluster(hosts: { memoryGiB: number; used: number; up?: boolean }[]) {
  const { world, index, emit } = indexedWorld();
  hosts.forEach((h, i) => {
    emit({ type: "hostAdded", host: `h${i + 1}`, rack: "r", vcpus: 64, memoryGiB: h.memoryGiB, diskGiB: 10_000, disks: 1 });
    if (h.used > 0) {
      emit({ type: "vmRequested", vm: `used${i + 1}`, vcpus: 1, memoryGiB: h.used, diskGiB: 1, lifetimeHours: null });
      emit({ type: "vmPlaced", vm: `used${i + 1}`, host: `h${i + 1}`, bootMs: 0 });
    }
    if (h.up === false) emit({ type: "hostFailed", host: `h${i + 1}`, cause: "crash" });
  });
  return { world, index };
}

const vm = (memoryGiB: number, vcpus = 1): PlacementRequest => ({ vcpus, memoryGiB, diskGiB: 10, disk: "local-raid" });
const host = (plan: { host: string } | { refused: string }) => ("host" in plan ? plan.host : plan.refused);

describe("placement policies", () => {
  // Free memory: h1 2, h2 10, h3 5, h4 7 (GiB).
  const { index } = cluster([
    { memoryGiB: 16, used: 14 },
    { memoryGiB: 16, used: 6 },
    { memoryGiB: 16, used: 11 },
    { memoryGiB: 16, used: 9 },
  ]);
  const view = { index, placements: 0 };

  it("first fit takes the first host with room, in join order", () => {
    expect(host(POLICIES["first-fit"](view, vm(4)))).toBe("h2");
    expect(host(POLICIES["first-fit"](view, vm(1)))).toBe("h1");
  });

  it("worst fit takes the host with the most free memory", () => {
    expect(host(POLICIES["worst-fit"](view, vm(1)))).toBe("h2");
  });

  it("best fit takes the host that is left with the least free memory", () => {
    expect(host(POLICIES["best-fit"](view, vm(4)))).toBe("h3");
    expect(host(POLICIES["best-fit"](view, vm(6)))).toBe("h4");
  });

  it("round robin starts after the hosts it has already used, and wraps around", () => {
    expect([0, 1, 2, 3, 4].map((placements) => host(POLICIES["round-robin"]({ index, placements }, vm(1))))).toEqual(["h1", "h2", "h3", "h4", "h1"]);
    expect(host(POLICIES["round-robin"]({ index, placements: 2 }, vm(6)))).toBe("h4");
    expect(host(POLICIES["round-robin"]({ index, placements: 3 }, vm(8)))).toBe("h2"); // wraps
  });

  it("says why no host will do", () => {
    expect(host(POLICIES["first-fit"](view, vm(11)))).toBe("insufficientMemory");
    expect(host(POLICIES["first-fit"](view, vm(1, 65)))).toBe("insufficientVcpus");
    expect(host(POLICIES["first-fit"](view, { ...vm(1), diskGiB: 20_000 }))).toBe("insufficientDisk");
    const down = cluster([{ memoryGiB: 16, used: 0, up: false }]);
    expect(host(POLICIES["best-fit"]({ index: down.index, placements: 0 }, vm(1)))).toBe("noHostUp");
    // 64 vCPUs free on h1, 31 GiB free on h2, but not both on one host.
    const split = cluster([{ memoryGiB: 16, used: 0 }, { memoryGiB: 32, used: 1 }]);
    expect(host(POLICIES["worst-fit"]({ index: split.index, placements: 0 }, vm(20, 64)))).toBe("fragmented");
  });

  it("every policy places on an up host with room whenever one exists, deterministically", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ memoryGiB: fc.integer({ min: 1, max: 64 }), used: fc.integer({ min: 0, max: 64 }), up: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 64 }),
        fc.nat(),
        (hosts, memoryGiB, vcpus, placements) => {
          const { world, index } = cluster(hosts.map((h) => ({ ...h, used: Math.min(h.used, h.memoryGiB) })));
          const request = vm(memoryGiB, vcpus);
          const exists = [...world.hosts.values()].some((h) => h.up && fits(h, request));
          for (const policy of Object.values(POLICIES)) {
            const plan = policy({ index, placements }, request);
            expect(policy({ index, placements }, request)).toEqual(plan);
            if ("host" in plan) {
              const chosen = world.hosts.get(plan.host)!;
              expect(chosen.up && fits(chosen, request)).toBe(true);
            } else expect(exists).toBe(false);
          }
        },
      ),
      { verbose: true },
    );
  });
});
