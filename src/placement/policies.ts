import type { DiskKind, Refusal } from "../model/events.js";
import { localDiskGiB } from "../model/world.js";
import type { CapacityIndex } from "./capacity-index.js";

/**
 * Placement policies: pure functions from a read-only view of the cluster and a request to a
 * plan — a host — or the typed reason no host will do. The same functions serve the simulation
 * and real hosts. Adding a policy is one function here (or in its own file) and one line in
 * `POLICIES`.
 */
export interface PlacementRequest {
  vcpus: number;
  memoryGiB: number;
  diskGiB: number;
  disk: DiskKind;
}

export interface PlacementView {
  /** Free capacity of every host, kept current from the event stream. */
  readonly index: CapacityIndex;
  /** Placements decided so far (round robin starts where the last one left off). */
  readonly placements: number;
}


export type Plan = { host: string } | { refused: Refusal };

export type PlacementPolicy = (view: PlacementView, request: PlacementRequest) => Plan;

/** Eucalyptus' `greedy`: the first host, in the order hosts joined, with room. */
export const firstFit: PlacementPolicy = (view, request) => planOrRefusal(view, request, view.index.firstFit(request));

/** Eucalyptus' `round-robin`: the next host with room after the one chosen last. */
export const roundRobin: PlacementPolicy = (view, request) => planOrRefusal(view, request, view.index.nextFit(request, view.placements));

/** Worst fit (spread): the host with room that has the most free memory. */
export const worstFit: PlacementPolicy = (view, request) => planOrRefusal(view, request, view.index.mostFreeMemory(request));

/**
 * Best fit (pack): the host with room that would have the least free memory left, ties to the
 * first. It looks at every host: O(hosts) per decision.
 */
export const bestFit: PlacementPolicy = (view, request) => {
  const disk = localDiskGiB(request);
  let best: string | null = null;
  let bestLeft = Infinity;
  view.index.forEachHost((id, vcpus, memoryGiB, diskGiB) => {
    const left = memoryGiB - request.memoryGiB;
    if (vcpus >= request.vcpus && left >= -1e-9 && diskGiB >= disk - 1e-9 && left < bestLeft) {
      best = id;
      bestLeft = left;
    }
  });
  return planOrRefusal(view, request, best);
};

export const POLICIES = {
  "first-fit": firstFit,
  greedy: firstFit,
  "power-save": firstFit,
  "round-robin": roundRobin,
  "worst-fit": worstFit,
  spread: worstFit,
  "best-fit": bestFit,
} as const satisfies Record<string, PlacementPolicy>;

export type PolicyName = keyof typeof POLICIES;

/**
 * Eucalyptus' `POWERSAVE`: places like greedy (packing VMs on the first hosts) and has the
 * controller switch hosts off once they are idle, and on again when a request finds no room.
 */
export const POWER_SAVING_POLICIES: ReadonlySet<PolicyName> = new Set(["power-save"]);

function planOrRefusal(view: PlacementView, request: PlacementRequest, host: string | null): Plan {
  if (host !== null) return { host };
  const free = view.index.largestFree();
  if (free.vcpus < 0) return { refused: "noHostUp" };
  if (free.vcpus < request.vcpus) return { refused: "insufficientVcpus" };
  if (free.memoryGiB < request.memoryGiB - 1e-9) return { refused: "insufficientMemory" };
  if (free.diskGiB < localDiskGiB(request) - 1e-9) return { refused: "insufficientDisk" };
  return { refused: "fragmented" };
}
