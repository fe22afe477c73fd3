import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { indexedWorld } from "../../bench/common.js";
import type { DomainEventBody } from "../model/events.js";
import { fits, schedulable, type World } from "../model/world.js";
import { AntiAffinityGroups, place, type ConstrainedRequest, type FailureDomain, type PlacementConstraints } from "./placement.js";
import { POLICIES, type PolicyName, type Plan } from "./policies.js";

interface HostSpec {
  rack: number;
  vcpus: number;
  memoryGiB: number;
  state: "up" | "failed" | "maintenance" | "isolated";
}

interface VmSpec {
  vcpus: number;
  memoryGiB: number;
  group: number | null;
  host: number;
}

/** Builds the world, its capacity index and the anti-affinity groups from the generated cluster: every VM that fits is placed. */
function build(hosts: HostSpec[], vms: VmSpec[]) {
  const { world, index, emit: emitIndexed } = indexedWorld();
  const groups = new AntiAffinityGroups();
  let seq = world.lastSeq;
  const emit = (body: DomainEventBody) => {
    emitIndexed(body);
    groups.apply({ seq: ++seq, t: 0, ...body } as never);
  };
  hosts.forEach((h, i) => emit({ type: "hostAdded", host: `h${i}`, rack: `r${h.rack}`, vcpus: h.vcpus, memoryGiB: h.memoryGiB, diskGiB: 10_000, disks: 1 }));
  vms.forEach((v, i) => {
    emit({ type: "vmRequested", vm: `v${i}`, vcpus: v.vcpus, memoryGiB: v.memoryGiB, diskGiB: 10, lifetimeHours: null, ...(v.group === null ? {} : { group: `g${v.group}` }) });
    const host = world.hosts.get(`h${v.host % hosts.length}`)!;
    if (fits(host, world.vms.get(`v${i}`)!)) emit({ type: "vmPlaced", vm: `v${i}`, host: host.id, bootMs: 0 });
  });
  hosts.forEach((h, i) => {
    if (h.state === "failed") emit({ type: "hostFailed", host: `h${i}`, cause: "crash" });
    if (h.state === "maintenance") emit({ type: "maintenanceStarted", host: `h${i}` });
    if (h.state === "isolated") emit({ type: "hostIsolated", host: `h${i}` });
  });
  return { world, index, groups };
}

const hostSpec = fc.record({
  rack: fc.integer({ min: 0, max: 3 }),
  vcpus: fc.integer({ min: 1, max: 16 }),
  memoryGiB: fc.integer({ min: 1, max: 64 }),
  state: fc.constantFrom<HostSpec["state"]>("up", "up", "up", "failed", "maintenance", "isolated"),
});
const vmSpec = fc.record({
  vcpus: fc.integer({ min: 1, max: 4 }),
  memoryGiB: fc.integer({ min: 1, max: 16 }),
  group: fc.option(fc.integer({ min: 0, max: 3 })),
  host: fc.nat(),
});
const domain = fc.option(fc.constantFrom<FailureDomain>("host", "rack"));
const input = fc.record({
  hosts: fc.array(hostSpec, { minLength: 1, maxLength: 12 }),
  vms: fc.array(vmSpec, { maxLength: 30 }),
  policy: fc.constantFrom(...(Object.keys(POLICIES) as PolicyName[])),
  placements: fc.nat({ max: 20 }),
  constraints: fc.record({ antiAffinity: domain, failoverReserve: domain, storageAware: fc.boolean() }),
  request: fc.record({ vcpus: fc.integer({ min: 1, max: 8 }), memoryGiB: fc.integer({ min: 1, max: 32 }), group: fc.option(fc.integer({ min: 0, max: 3 })), admission: fc.boolean() }),
  avoid: fc.option(fc.nat()),
});

type Input = typeof input extends fc.Arbitrary<infer T> ? T : never;

function run(i: Input) {
  const built = build(i.hosts, i.vms);
  const request: ConstrainedRequest = {
    vcpus: i.request.vcpus,
    memoryGiB: i.request.memoryGiB,
    diskGiB: 10,
    disk: "local-raid",
    vm: null,
    group: i.request.group === null ? null : `g${i.request.group}`,
    volume: null,
    admission: i.request.admission,
    ...(i.avoid === null ? {} : { avoid: [`h${i.avoid % i.hosts.length}`] }),
  };
  const view = { index: built.index, placements: i.placements, world: built.world, groups: built.groups };
  const plan = place(POLICIES[i.policy], view, i.constraints as PlacementConstraints, request);
  return { ...built, request, plan };
}

/** Free vCPUs and memory of the schedulable hosts, and the largest domain's capacity, computed afresh from the world. */
function reserveOf(world: World, domain: FailureDomain) {
  const free = { vcpus: 0, memoryGiB: 0 };
  const domains = new Map<string, { vcpus: number; memoryGiB: number }>();
  for (const h of world.hosts.values()) {
    if (!schedulable(h)) continue;
    free.vcpus += h.vcpus - h.usedVcpus;
    free.memoryGiB += h.memoryGiB - h.usedMemoryGiB;
    const key = domain === "host" ? h.id : h.rack;
    const d = domains.get(key) ?? { vcpus: 0, memoryGiB: 0 };
    domains.set(key, { vcpus: d.vcpus + h.vcpus, memoryGiB: d.memoryGiB + h.memoryGiB });
  }
  const largest = { vcpus: 0, memoryGiB: 0 };
  for (const d of domains.values()) {
    largest.vcpus = Math.max(largest.vcpus, d.vcpus);
    largest.memoryGiB = Math.max(largest.memoryGiB, d.memoryGiB);
  }
  return { free, largest };
}

const domainOf = (world: World, host: string, domain: FailureDomain) => (domain === "host" ? host : world.hosts.get(host)!.rack);

describe("constrained placement (property tests)", () => {
  it("never plans a host that cannot take the VM: down, isolated, in maintenance, avoided, or without room", () => {
    fc.assert(
      fc.property(input, (i) => {
        const { world, plan, request } = run(i);
        if (!("host" in plan)) return;
        const host = world.hosts.get(plan.host)!;
        expect(schedulable(host)).toBe(true);
        expect(fits(host, request)).toBe(true);
        expect(request.avoid ?? []).not.toContain(plan.host);
      }),
      { numRuns: 400 },
    );
  });

  it("never puts a VM in a failure domain that already holds a VM of its anti-affinity group", () => {
    fc.assert(
      fc.property(input, (i) => {
        const { world, plan, request } = run(i);
        const domain = i.constraints.antiAffinity;
        if (!("host" in plan) || domain === null || request.group === null) return;
        for (const vm of world.vms.values()) {
          if (vm.group === request.group && vm.host !== null) expect(domainOf(world, vm.host, domain)).not.toBe(domainOf(world, plan.host, domain));
        }
      }),
      { numRuns: 400 },
    );
  });

  it("never admits a new VM that would leave less free capacity than the largest failure domain", () => {
    fc.assert(
      fc.property(input, (i) => {
        const { world, plan, request } = run(i);
        const domain = i.constraints.failoverReserve;
        if (!("host" in plan) || domain === null || !request.admission) return;
        const { free, largest } = reserveOf(world, domain);
        expect(free.vcpus - request.vcpus).toBeGreaterThanOrEqual(largest.vcpus);
        expect(free.memoryGiB - request.memoryGiB).toBeGreaterThanOrEqual(largest.memoryGiB - 1e-9);
      }),
      { numRuns: 400 },
    );
  });

  it("refuses for anti-affinity only when the VM would have had a host without it", () => {
    fc.assert(
      fc.property(input, (i) => {
        const { plan } = run(i);
        if (!("refused" in plan) || plan.refused !== "violatesAntiAffinity") return;
        const without = run({ ...i, constraints: { ...i.constraints, antiAffinity: null, failoverReserve: null } }).plan;
        expect("host" in without).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it("is deterministic and leaves the cluster view as it found it", () => {
    fc.assert(
      fc.property(input, (i) => {
        const first = run(i);
        const again = run(i).plan;
        expect(again).toEqual(first.plan);
        // The hidden hosts are shown again: the index answers as a freshly built one does.
        const fresh = build(i.hosts, i.vms).index;
        for (const id of first.world.hosts.keys()) expect(first.index.canTake(id, first.request)).toBe(fresh.canTake(id, first.request));
        expect(first.index.largestFree()).toEqual(fresh.largestFree());
      }),
      { numRuns: 300 },
    );
  });

  it("storage-aware placement prefers a host holding an intact copy of the volume", () => {
    const { world, index, emit } = indexedWorld();
    for (const id of ["h1", "h2", "h3"]) emit({ type: "hostAdded", host: id, rack: id, vcpus: 8, memoryGiB: 32, diskGiB: 1000, disks: 1 });
    emit({ type: "vmRequested", vm: "a", vcpus: 1, memoryGiB: 1, diskGiB: 10, lifetimeHours: null });
    const request: ConstrainedRequest = { vcpus: 1, memoryGiB: 1, diskGiB: 10, disk: "volume", vm: "a", group: null, volume: "vol-a", admission: false };
    // No volume yet: first fit.
    const view = { index, placements: 0, world, groups: new AntiAffinityGroups() };
    const constraints: PlacementConstraints = { antiAffinity: null, failoverReserve: null, storageAware: true };
    expect(place(POLICIES["first-fit"], view, constraints, request)).toEqual<Plan>({ host: "h1" });
    // A world in persistent-ha whose volume has copies on h3 and h2.
    const ha = indexedWorld();
    ha.world.serviceModel = "persistent-ha";
    for (const id of ["h1", "h2", "h3"]) ha.emit({ type: "hostAdded", host: id, rack: id, vcpus: 8, memoryGiB: 32, diskGiB: 1000, disks: 1 });
    ha.emit({ type: "vmRequested", vm: "a", vcpus: 1, memoryGiB: 1, diskGiB: 10, lifetimeHours: null });
    ha.emit({ type: "volumeCreated", volume: "vol-a", vm: "a", kind: "replicated", sizeGiB: 10, replicas: 2, copies: [{ host: "h3", disk: 0 }, { host: "h2", disk: 0 }] });
    const haView = { index: ha.index, placements: 0, world: ha.world, groups: new AntiAffinityGroups() };
    expect(place(POLICIES["first-fit"], haView, constraints, request)).toEqual<Plan>({ host: "h3" });
    ha.emit({ type: "hostFailed", host: "h3", cause: "crash" });
    expect(place(POLICIES["first-fit"], haView, constraints, request)).toEqual<Plan>({ host: "h2" });
    expect(place(POLICIES["first-fit"], haView, { ...constraints, storageAware: false }, request)).toEqual<Plan>({ host: "h1" });
  });
});
