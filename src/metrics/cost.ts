import { MS_PER_HOUR, msToHours } from "../kernel/time.js";
import type { DomainEvent, PriceModel, ServiceModel } from "../model/events.js";
import type { Projection } from "./projection.js";

/**
 * What users pay and what the provider spends, under the price model carried by the log
 * (`runStarted.prices`; the defaults, 2008 list prices, and their sources are in
 * `src/scenario/defaults.ts`).
 *
 * Billing follows each model: an ephemeral or persistent-ha VM is billed per started hour of
 * every session on a host (from placement or reboot to going down, being lost or terminated);
 * a VPS per started 730-hour month from its first start to its termination or the end of the run,
 * at the monthly price of the smallest plan that holds its memory (`vpsPlans`; past the largest,
 * or without plans, `monthlyUsdPerGiB` per GiB).
 *
 * Long-lived VMs (wanted to the end: the fleet) and short-lived ones (with a lifetime) are also
 * billed apart (`longLived`, `shortLived`): a short-lived VPS pays a whole month however short.
 */

/** No prices until `runStarted` brings the run's. */
const NO_PRICES: PriceModel = { hourlyUsdPerGiB: 0, monthlyUsdPerGiB: 0, storageUsdPerGBMonth: 0, hostUsdPerHour: 0 };

const HOURS_PER_MONTH = 730;
const MS_PER_MONTH = HOURS_PER_MONTH * MS_PER_HOUR;

export interface CostMetrics {
  userUsd: number;
  userUsdPerVmMonth: number | null;
  providerUsd: number;
  providerUsdPerVmMonth: number | null;
  longLived: UserCost;
  shortLived: UserCost;
}

export interface UserCost {
  userUsd: number;
  vmMonths: number;
  userUsdPerVmMonth: number | null;
}

interface VmBill {
  longLived: boolean;
  memoryGiB: number;
  diskGiB: number;
  sessionSince: number | null;
  firstStart: number | null;
  volumeSince: number | null;
}

interface State {
  t: number;
  model: ServiceModel | null;
  prices: PriceModel;
  hosts: number;
  vms: Map<string, VmBill>;
  volumeOfVm: Map<string, string>;
  computeUsd: number;
  storageUsd: number;
  demandMs: number;
  /** The same, of the long-lived VMs only. */
  long: { usd: number; demandMs: number };
}

export const cost: Projection<State, CostMetrics> = {
  init: () => ({ t: 0, model: null, prices: NO_PRICES, hosts: 0, vms: new Map(), volumeOfVm: new Map(), computeUsd: 0, storageUsd: 0, demandMs: 0, long: { usd: 0, demandMs: 0 } }),
  apply(s, e) {
    cost.advance!(s, e.t);
    switch (e.type) {
      case "runStarted":
        s.model = e.serviceModel;
        s.prices = e.prices;
        break;
      case "hostAdded":
        s.hosts++;
        break;
      case "vmRequested":
        s.vms.set(e.vm, { longLived: e.lifetimeHours === null, memoryGiB: e.memoryGiB, diskGiB: e.diskGiB, sessionSince: null, firstStart: null, volumeSince: null });
        break;
      case "vmRejected":
        s.vms.delete(e.vm);
        break;
      case "vmPlaced":
      case "vmRebooted":
      case "vmResumed": // (a stalled VM's bill stopped with its stall: it resumes in a new session)
        s.vms.get(e.vm)!.sessionSince = e.t;
        break;
      case "vmStarted": {
        const vm = s.vms.get(e.vm)!;
        vm.firstStart ??= e.t;
        break;
      }
      case "vmDown":
      case "vmLost":
        endSession(s, s.vms.get(e.vm)!, e.t);
        break;
      case "vmTerminated": {
        const vm = s.vms.get(e.vm)!;
        endSession(s, vm, e.t);
        endDemand(s, vm, e.t);
        s.vms.delete(e.vm);
        break;
      }
      case "volumeCreated":
        s.vms.get(e.vm)!.volumeSince = e.t;
        s.volumeOfVm.set(e.volume, e.vm);
        break;
      case "volumeDeleted":
      case "volumeLost": {
        const vmId = s.volumeOfVm.get(e.volume)!;
        s.volumeOfVm.delete(e.volume);
        // The VM may already be gone (terminated just before its volume is deleted): its bill was closed then.
        const vm = s.vms.get(vmId);
        if (vm) endVolume(s, vm, e.t);
        break;
      }
    }
    return s;
  },
  // Every type its switch does not name: only the clock moves.
  ignores: new Set<DomainEvent["type"]>([
    "hostFailed", "hostRepaired", "rackFailed", "rackRepaired", "hostFailureDetected", "hostPoweredOff", "hostPoweredOn", "maintenanceStarted",
    "maintenanceFinished", "hostIsolated", "hostReconnected", "migrationStarted", "migrationFinished", "migrationAborted", "splitBrain",
    "diskFailed", "diskReplaced", "raidRebuildStarted", "raidRebuildFinished", "arrayLost", "arrayRecreated", "hostMarkedOut", "copyLost",
    "rebuildStarted", "rebuildFinished", "rebuildAborted", "copyDropped", "sanFailed", "sanRepaired", "storageFailed", "storageRepaired",
    "storageNetworkFailed", "storageNetworkRepaired", "warmupEnded", "guestBooted", "runEnded",
  ]),
  advance(s, t) {
    s.t = t;
  },
  result(s) {
    const open = { ...s, computeUsd: s.computeUsd, storageUsd: s.storageUsd, demandMs: s.demandMs, long: { ...s.long } };
    for (const vm of s.vms.values()) {
      const copy = { ...vm };
      endSession(open, copy, s.t);
      endDemand(open, copy, s.t);
    }
    const userUsd = open.computeUsd + open.storageUsd;
    const providerUsd = s.hosts * msToHours(s.t) * s.prices.hostUsdPerHour;
    const vmMonths = open.demandMs / MS_PER_MONTH;
    const part = (usd: number, demandMs: number): UserCost => ({ userUsd: usd, vmMonths: demandMs / MS_PER_MONTH, userUsdPerVmMonth: demandMs > 0 ? usd / (demandMs / MS_PER_MONTH) : null });
    return {
      userUsd,
      userUsdPerVmMonth: vmMonths > 0 ? userUsd / vmMonths : null,
      providerUsd,
      providerUsdPerVmMonth: vmMonths > 0 ? providerUsd / vmMonths : null,
      longLived: part(open.long.usd, open.long.demandMs),
      shortLived: part(userUsd - open.long.usd, open.demandMs - open.long.demandMs),
    };
  },
};

/** The monthly price of a VPS with this memory: the smallest plan that holds it, else per GiB. */
export function vpsMonthlyUsd(prices: PriceModel, memoryGiB: number): number {
  const plan = prices.vpsPlans?.find((p) => p.memoryGiB >= memoryGiB - 1e-9);
  return plan ? plan.monthlyUsd : memoryGiB * prices.monthlyUsdPerGiB;
}

type Bills = Pick<State, "model" | "prices" | "computeUsd" | "storageUsd" | "demandMs" | "long">;

/** Closes a billing session of an hourly-billed VM: per started hour. */
function endSession(s: Bills, vm: VmBill, t: number): void {
  if (vm.sessionSince === null) return;
  if (s.model !== "vps") charge(s, vm, "computeUsd", Math.max(1, Math.ceil((t - vm.sessionSince) / MS_PER_HOUR)) * vm.memoryGiB * s.prices.hourlyUsdPerGiB);
  vm.sessionSince = null;
}

/** Closes the demand of a VM: a VPS pays per started month; the volume's storage is settled. */
function endDemand(s: Bills, vm: VmBill, t: number): void {
  endVolume(s, vm, t);
  if (vm.firstStart === null) return;
  s.demandMs += t - vm.firstStart;
  if (vm.longLived) s.long.demandMs += t - vm.firstStart;
  if (s.model === "vps") charge(s, vm, "computeUsd", Math.max(1, Math.ceil((t - vm.firstStart) / MS_PER_MONTH)) * vpsMonthlyUsd(s.prices, vm.memoryGiB));
  vm.firstStart = null;
}

function endVolume(s: Bills, vm: VmBill, t: number): void {
  if (vm.volumeSince === null) return;
  charge(s, vm, "storageUsd", ((t - vm.volumeSince) / MS_PER_MONTH) * vm.diskGiB * s.prices.storageUsdPerGBMonth);
  vm.volumeSince = null;
}

function charge(s: Bills, vm: VmBill, account: "computeUsd" | "storageUsd", usd: number): void {
  s[account] += usd;
  if (vm.longLived) s.long.usd += usd;
}
