import { MS_PER_HOUR, msToHours } from "../kernel/time.js";
import type { PriceModel, ServiceModel } from "../model/events.js";
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
 *
 * The provider's cost (`providerUsd`) is the sum of its parts (`provider`, issue 13):
 * - `hostsUsd`: every host for the whole run at `hostUsdPerHour`, split into the share of
 *   installed memory reserved by VMs (`inUseUsd`), for persistent-ha the free memory that keeps
 *   the largest host's worth ready to restart a failed host's VMs (`failoverReserveUsd`: the
 *   free memory up to the largest host's, time-averaged; HA's admission control keeps it free),
 *   and the rest (`idleUsd`);
 * - `rawDiskUsd`: raw disk GB-months at `rawDiskUsdPerGBMonth` — each volume's size × its copies
 *   (`volumeCreated.replicas`) while it exists, each local disk (ephemeral, vps) once while its VM
 *   holds it (a local array's RAID overhead is not counted: the log does not carry the level);
 * - `networkUsd`: GB moved over the cluster network at `networkUsdPerGB` — a volume's size per
 *   finished copy rebuild, and what each finished migration sent (`transferredGiB`).
 * Sizes are GiB; prices per GB (10⁹ B): 1 GiB = 1.073741824 GB.
 *
 * After `warmupEnded` the bills start again from that instant: a session, a VPS's months, a
 * volume's storage and the hosts' hours are billed from then, as if the measured period were the
 * whole run.
 */

/** No prices until `runStarted` brings the run's. */
const NO_PRICES: PriceModel = { hourlyUsdPerGiB: 0, monthlyUsdPerGiB: 0, storageUsdPerGBMonth: 0, hostUsdPerHour: 0 };

const HOURS_PER_MONTH = 730;
const GB_PER_GIB = 1.073741824;
const MS_PER_MONTH = HOURS_PER_MONTH * MS_PER_HOUR;

export interface CostMetrics {
  userUsd: number;
  userUsdPerVmMonth: number | null;
  providerUsd: number;
  providerUsdPerVmMonth: number | null;
  longLived: UserCost;
  shortLived: UserCost;
  provider: ProviderCost;
}

/** The provider's cost by part; `hostsUsd + rawDiskUsd + networkUsd` = `providerUsd`. */
export interface ProviderCost {
  hostsUsd: number;
  hosts: { inUseUsd: number; failoverReserveUsd: number; idleUsd: number };
  rawDiskUsd: number;
  rawDiskGBMonths: number;
  networkUsd: number;
  networkGB: number;
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
  /** Since when it holds a local disk (ephemeral, vps), null while it holds none. */
  localDiskSince: number | null;
}

interface State {
  t: number;
  /** Where the measured period starts: 0, or the end of the warm-up. */
  from: number;
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
  /** The provider's side: memory installed, the largest host's, reserved by VMs, and their integrals (GiB·ms). */
  memory: { installed: number; largestHost: number; reserved: number; reservedMs: number; failoverMs: number };
  reservedVms: Set<string>;
  /** Raw disk held (GiB × copies) and its integral (GiB·ms); each volume's raw GiB and size. */
  raw: { gib: number; gibMs: number };
  volumes: Map<string, { rawGiB: number; sizeGiB: number }>;
  networkGiB: number;
}

export const cost: Projection<State, CostMetrics> = {
  init: () => ({
    t: 0,
    from: 0,
    model: null,
    prices: NO_PRICES,
    hosts: 0,
    vms: new Map(),
    volumeOfVm: new Map(),
    computeUsd: 0,
    storageUsd: 0,
    demandMs: 0,
    long: { usd: 0, demandMs: 0 },
    memory: { installed: 0, largestHost: 0, reserved: 0, reservedMs: 0, failoverMs: 0 },
    reservedVms: new Set(),
    raw: { gib: 0, gibMs: 0 },
    volumes: new Map(),
    networkGiB: 0,
  }),
  apply(s, e, world) {
    const dt = e.t - s.t;
    const m = s.memory;
    m.reservedMs += m.reserved * dt;
    if (s.model === "persistent-ha") m.failoverMs += Math.min(Math.max(0, m.installed - m.reserved), m.largestHost) * dt;
    s.raw.gibMs += s.raw.gib * dt;
    s.t = e.t;
    switch (e.type) {
      case "warmupEnded":
        return warmedUp(s, e.t);
      case "runStarted":
        s.model = e.serviceModel;
        s.prices = e.prices;
        break;
      case "hostAdded":
        s.hosts++;
        m.installed += e.memoryGiB;
        m.largestHost = Math.max(m.largestHost, e.memoryGiB);
        break;
      case "vmRequested":
        s.vms.set(e.vm, { longLived: e.lifetimeHours === null, memoryGiB: e.memoryGiB, diskGiB: e.diskGiB, sessionSince: null, firstStart: null, volumeSince: null, localDiskSince: null });
        break;
      case "vmRejected":
        s.vms.delete(e.vm);
        break;
      case "vmPlaced": {
        const vm = s.vms.get(e.vm)!;
        vm.sessionSince = e.t;
        reserveMemory(s, e.vm, vm.memoryGiB);
        if (world.vms.get(e.vm)!.disk !== "volume" && vm.localDiskSince === null) {
          vm.localDiskSince = e.t;
          s.raw.gib += vm.diskGiB;
        }
        break;
      }
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
        endSession(s, s.vms.get(e.vm)!, e.t);
        break;
      case "vmLost": {
        const vm = s.vms.get(e.vm)!;
        endSession(s, vm, e.t);
        releaseMemory(s, e.vm, vm.memoryGiB);
        releaseLocalDisk(s, vm);
        break;
      }
      case "vmTerminated": {
        const vm = s.vms.get(e.vm)!;
        endSession(s, vm, e.t);
        releaseMemory(s, e.vm, vm.memoryGiB);
        releaseLocalDisk(s, vm);
        endDemand(s, vm, e.t);
        s.vms.delete(e.vm);
        break;
      }
      case "volumeCreated":
        s.vms.get(e.vm)!.volumeSince = e.t;
        s.volumeOfVm.set(e.volume, e.vm);
        s.volumes.set(e.volume, { rawGiB: e.sizeGiB * e.replicas, sizeGiB: e.sizeGiB });
        s.raw.gib += e.sizeGiB * e.replicas;
        break;
      case "rebuildFinished":
        s.networkGiB += s.volumes.get(e.volume)?.sizeGiB ?? 0;
        break;
      case "migrationFinished":
        s.networkGiB += e.transferredGiB;
        break;
      case "volumeDeleted":
      case "volumeLost": {
        const vmId = s.volumeOfVm.get(e.volume)!;
        s.volumeOfVm.delete(e.volume);
        s.raw.gib -= s.volumes.get(e.volume)?.rawGiB ?? 0;
        s.volumes.delete(e.volume);
        // The VM may already be gone (terminated just before its volume is deleted): its bill was closed then.
        const vm = s.vms.get(vmId);
        if (vm) endVolume(s, vm, e.t);
        break;
      }
    }
    return s;
  },
  result(s) {
    const open = { ...s, computeUsd: s.computeUsd, storageUsd: s.storageUsd, demandMs: s.demandMs, long: { ...s.long } };
    for (const vm of s.vms.values()) {
      const copy = { ...vm };
      endSession(open, copy, s.t);
      endDemand(open, copy, s.t);
    }
    const userUsd = open.computeUsd + open.storageUsd;
    const provider = providerCost(s);
    const providerUsd = provider.hostsUsd + provider.rawDiskUsd + provider.networkUsd;
    const vmMonths = open.demandMs / MS_PER_MONTH;
    const part = (usd: number, demandMs: number): UserCost => ({ userUsd: usd, vmMonths: demandMs / MS_PER_MONTH, userUsdPerVmMonth: demandMs > 0 ? usd / (demandMs / MS_PER_MONTH) : null });
    return {
      userUsd,
      userUsdPerVmMonth: vmMonths > 0 ? userUsd / vmMonths : null,
      providerUsd,
      providerUsdPerVmMonth: vmMonths > 0 ? providerUsd / vmMonths : null,
      longLived: part(open.long.usd, open.long.demandMs),
      shortLived: part(userUsd - open.long.usd, open.demandMs - open.long.demandMs),
      provider,
    };
  },
};

/** The end of the warm-up: the bills so far are dropped; what is open is billed from `t`. */
function warmedUp(s: State, t: number): State {
  for (const vm of s.vms.values()) {
    if (vm.sessionSince !== null) vm.sessionSince = t;
    if (vm.firstStart !== null) vm.firstStart = t;
    if (vm.volumeSince !== null) vm.volumeSince = t;
    if (vm.localDiskSince !== null) vm.localDiskSince = t;
  }
  return {
    ...cost.init(),
    t,
    from: t,
    model: s.model,
    prices: s.prices,
    hosts: s.hosts,
    vms: s.vms,
    volumeOfVm: s.volumeOfVm,
    memory: { ...s.memory, reservedMs: 0, failoverMs: 0 },
    reservedVms: s.reservedVms,
    raw: { gib: s.raw.gib, gibMs: 0 },
    volumes: s.volumes,
  };
}

/** The provider's cost of the measured period, by part (see the module comment). */
function providerCost(s: State): ProviderCost {
  const periodMs = s.t - s.from;
  const hostsUsd = s.hosts * msToHours(periodMs) * s.prices.hostUsdPerHour;
  const share = (gibMs: number) => (s.memory.installed > 0 && periodMs > 0 ? gibMs / (s.memory.installed * periodMs) : 0);
  const inUseUsd = hostsUsd * share(s.memory.reservedMs);
  const failoverReserveUsd = hostsUsd * share(s.memory.failoverMs);
  const rawDiskGBMonths = (s.raw.gibMs * GB_PER_GIB) / MS_PER_MONTH;
  const networkGB = s.networkGiB * GB_PER_GIB;
  return {
    hostsUsd,
    hosts: { inUseUsd, failoverReserveUsd, idleUsd: hostsUsd - inUseUsd - failoverReserveUsd },
    rawDiskUsd: rawDiskGBMonths * (s.prices.rawDiskUsdPerGBMonth ?? 0),
    rawDiskGBMonths,
    networkUsd: networkGB * (s.prices.networkUsdPerGB ?? 0),
    networkGB,
  };
}

/** A VM holds its memory on a host from its placement until it is lost or terminated. */
function reserveMemory(s: State, vm: string, memoryGiB: number): void {
  if (s.reservedVms.has(vm)) return;
  s.reservedVms.add(vm);
  s.memory.reserved += memoryGiB;
}

function releaseMemory(s: State, vm: string, memoryGiB: number): void {
  if (s.reservedVms.delete(vm)) s.memory.reserved -= memoryGiB;
}

function releaseLocalDisk(s: State, vm: VmBill): void {
  if (vm.localDiskSince === null) return;
  s.raw.gib -= vm.diskGiB;
  vm.localDiskSince = null;
}

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
