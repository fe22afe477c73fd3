import type { Random } from "../kernel/random.js";
import type { DomainEventBody } from "../model/events.js";

/** One VM size of a workload's mix (as the scenario's `workload.sizes` gives it). */
export interface VmSize {
  vcpus: number;
  memoryGiB: number;
  diskGiB: number;
  /** Relative frequency in the mix. */
  weight: number;
  restartPriority?: "high" | "medium" | "low";
}

/** What the long-lived fleet is made of (the scenario's `workload`). */
export interface FleetSpec {
  sizes?: readonly VmSize[];
  fleet: number;
  antiAffinity?: { groupSize: number };
}

type VmRequest = Extract<DomainEventBody, { type: "vmRequested" }>;

/** Draws VM sizes from a weighted discrete mix. */
export class SizeMix {
  private readonly cumulative: number[];

  constructor(private readonly sizes: readonly VmSize[]) {
    let total = 0;
    this.cumulative = sizes.map((s) => (total += s.weight));
  }

  draw(random: Random): { vcpus: number; memoryGiB: number; diskGiB: number; priority?: "high" | "low" } {
    const u = random.float() * this.cumulative[this.cumulative.length - 1]!;
    let i = 0;
    while (i < this.sizes.length - 1 && u >= this.cumulative[i]!) i++;
    const { vcpus, memoryGiB, diskGiB, restartPriority } = this.sizes[i]!;
    return { vcpus, memoryGiB, diskGiB, ...(restartPriority === "high" || restartPriority === "low" ? { priority: restartPriority } : {}) };
  }
}

/**
 * The requests of the long-lived fleet ("pets", `pet-0001` ...), wanted from t = 0 to the end —
 * with anti-affinity, in groups of `groupSize` consecutive pets (`group-1`, ...) — their sizes
 * drawn from the mix with `random` (the run's `workload/fleet` stream). The simulation and a
 * live run draw the same fleet for the same seed.
 */
export function fleetRequests(spec: FleetSpec, random: Random): VmRequest[] {
  if (!spec.sizes || spec.fleet === 0) return [];
  const sizes = new SizeMix(spec.sizes);
  const width = Math.max(4, String(spec.fleet).length);
  const groupSize = spec.antiAffinity?.groupSize;
  const requests: VmRequest[] = [];
  for (let i = 1; i <= spec.fleet; i++) {
    const size = sizes.draw(random);
    const group = groupSize === undefined ? {} : { group: `group-${Math.ceil(i / groupSize)}` };
    requests.push({ type: "vmRequested", vm: `pet-${String(i).padStart(width, "0")}`, ...size, lifetimeHours: null, ...group });
  }
  return requests;
}
