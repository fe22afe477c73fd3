import { quantileSorted } from "simple-statistics";
import { MS_PER_YEAR, msToHours } from "../kernel/time.js";
import type { Projection } from "./projection.js";

/**
 * What the users of a service model experience, as a fold over the events.
 *
 * - Demand: a VM is demanded from its first start (the service was delivered) until it is
 *   terminated or the run ends; the provisioning time before that is reported on its own
 *   (`provisioningTimeHours`), so availability compares how well each model *keeps* a VM up.
 * - `availability`: up (running) VM-time / demanded VM-time; `downtimeHoursPerVmYear`: the rest,
 *   per VM-year of demand, split into `plannedDowntimeHoursPerVmYear` — outages that began with
 *   the host switched off for maintenance, cold migrations, and the pauses of live migrations
 *   (all the operator's choice) — and `unplannedDowntimeHoursPerVmYear`, the rest (failures).
 *   An outage is counted by how it began, whatever extends it.
 * - The cost of a lost VM (its disk destroyed), per VM-year: `replacementDowntimeHoursPerVmYear`,
 *   from the loss until its replacement boots (the user's delay, waiting for room, provisioning),
 *   and `restoreDowntimeHoursPerVmYear`, restoring its state from a backup after that
 *   (`users.stateRestore`; without it the replacement counts as up the moment it boots, empty).
 * - `blockingProbability`: first requests refused for lack of room / first requests.
 * - `recoveryTimeHours`: every outage of a demanded VM (from leaving `running` to running
 *   again) that ended within the run: the RTO users saw. `openOutages` did not end.
 * - `lostVmStateEvents` and `dataLossWindowHours`: instances lost with their host's instance
 *   store, and for each the state lost — the time since that instance booted (its RPO).
 * - `hostUtilization`: reserved share of the installed vCPUs and memory, averaged over time.
 *
 * After `warmupEnded` everything is measured from that instant: the counts and sums start again
 * at zero, a VM in service counts as demanded from then, one in an outage as in an outage since
 * then (one outage), requests and refusals count from then.
 */
export interface Percentiles {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface ServiceMetrics {
  vmRequests: number;
  vmRejected: number;
  blockingProbability: number;
  demandedVmYears: number;
  availability: number | null;
  downtimeHoursPerVmYear: number | null;
  plannedDowntimeHoursPerVmYear: number | null;
  unplannedDowntimeHoursPerVmYear: number | null;
  replacementDowntimeHoursPerVmYear: number | null;
  restoreDowntimeHoursPerVmYear: number | null;
  outages: number;
  openOutages: number;
  recoveryTimeHours: Percentiles;
  provisioningTimeHours: Percentiles;
  lostVmStateEvents: number;
  dataLossWindowHours: Percentiles & { total: number };
  hostUtilization: { vcpus: number; memory: number };
}

interface VmRecord {
  vcpus: number;
  memoryGiB: number;
  requestedAt: number;
  /** First start (demand begins), null before. */
  firstStart: number | null;
  /** Running since, null when not running. */
  runningSince: number | null;
  upMs: number;
  /** When the current outage began (left `running` after the first start), null if none. */
  outageSince: number | null;
  /** Whether the current outage is planned (maintenance, a cold migration). */
  outagePlanned: boolean;
  /** Whether the VM was lost in the current outage, and the restore time of its last placement. */
  outageLost: boolean;
  restoreMs: number;
  reserved: boolean;
}

interface State {
  t: number;
  /** Where the measured period starts: 0, or the end of the warm-up. */
  from: number;
  vms: Map<string, VmRecord>;
  requests: number;
  rejected: number;
  demandMs: number;
  upMs: number;
  /** Downtime of planned outages that ended, and of live migrations' pauses. */
  plannedDownMs: number;
  /** Outages of lost VMs that ended: until the replacement booted, and restoring its state. */
  replacementMs: number;
  restoreMs: number;
  /** The VMs of the host last switched off for maintenance, and when. */
  switchedOff: { t: number; vms: Set<string> };
  outages: number;
  recoveries: number[];
  provisioning: number[];
  lost: number;
  lostStateHours: number[];
  capacityVcpus: number;
  capacityMemory: number;
  reservedVcpus: number;
  reservedMemory: number;
  reservedVcpuMs: number;
  reservedMemoryMs: number;
}

export const serviceMetrics: Projection<State, ServiceMetrics> = {
  init: () => ({
    t: 0,
    from: 0,
    vms: new Map(),
    requests: 0,
    rejected: 0,
    demandMs: 0,
    upMs: 0,
    plannedDownMs: 0,
    switchedOff: { t: -1, vms: new Set() },
    replacementMs: 0,
    restoreMs: 0,
    outages: 0,
    recoveries: [],
    provisioning: [],
    lost: 0,
    lostStateHours: [],
    capacityVcpus: 0,
    capacityMemory: 0,
    reservedVcpus: 0,
    reservedMemory: 0,
    reservedVcpuMs: 0,
    reservedMemoryMs: 0,
  }),
  apply(s, e, world) {
    s.reservedVcpuMs += s.reservedVcpus * (e.t - s.t);
    s.reservedMemoryMs += s.reservedMemory * (e.t - s.t);
    s.t = e.t;
    switch (e.type) {
      case "warmupEnded":
        return warmedUp(s, e.t);
      case "hostAdded":
        s.capacityVcpus += e.vcpus;
        s.capacityMemory += e.memoryGiB;
        break;
      case "hostPoweredOff":
        // Its VMs go down (or are lost) by events of this instant: for maintenance, a planned outage.
        if (e.reason === "maintenance") s.switchedOff = { t: e.t, vms: new Set(world.hosts.get(e.host)!.vms) };
        break;
      case "vmRequested":
        s.requests++;
        s.vms.set(e.vm, { vcpus: e.vcpus, memoryGiB: e.memoryGiB, requestedAt: e.t, firstStart: null, runningSince: null, upMs: 0, outageSince: null, outagePlanned: false, outageLost: false, restoreMs: 0, reserved: false });
        break;
      case "vmRejected":
        s.rejected++;
        s.vms.delete(e.vm);
        break;
      case "vmPlaced": {
        const vm = s.vms.get(e.vm)!;
        if (!vm.reserved) reserve(s, vm, 1);
        vm.restoreMs = e.restoreMs ?? 0;
        break;
      }
      case "vmStarted":
      case "vmResumed": {
        const vm = s.vms.get(e.vm)!;
        if (vm.firstStart === null) {
          vm.firstStart = e.t;
          s.provisioning.push(e.t - vm.requestedAt);
        }
        if (vm.outageSince !== null) {
          s.recoveries.push(e.t - vm.outageSince);
          if (vm.outageLost) {
            s.restoreMs += vm.restoreMs;
            s.replacementMs += e.t - vm.outageSince - vm.restoreMs;
          }
          endOutage(s, vm, e.t);
        }
        vm.runningSince = e.t;
        break;
      }
      case "migrationStarted":
        // A cold migration stops the VM until it has booted on the destination.
        if (e.mode === "cold") startOutage(s, s.vms.get(e.vm)!, e.t, true);
        break;
      case "migrationFinished": {
        // A live migration's stop-and-copy pause is downtime inside a running interval.
        const vm = s.vms.get(e.vm)!;
        if (vm.runningSince !== null) {
          vm.upMs -= e.downtimeMs;
          if (vm.firstStart !== null) s.plannedDownMs += e.downtimeMs;
        }
        break;
      }
      case "splitBrain":
        // Restarted elsewhere: as far as its users can tell, down until it runs there.
        startOutage(s, s.vms.get(e.vm)!, e.t, false);
        break;
      case "vmDown":
      case "vmLost": {
        const vm = s.vms.get(e.vm)!;
        startOutage(s, vm, e.t, s.switchedOff.t === e.t && s.switchedOff.vms.has(e.vm));
        if (e.type === "vmLost") {
          vm.outageLost = vm.firstStart !== null;
          reserve(s, vm, -1);
          s.lost++;
          s.lostStateHours.push(e.stateHours);
        }
        break;
      }
      case "vmTerminated": {
        const vm = s.vms.get(e.vm)!;
        // An outage cut short by the user's own termination counts as an outage, not a recovery.
        close(s, vm, e.t);
        if (vm.reserved) reserve(s, vm, -1);
        s.vms.delete(e.vm);
        break;
      }
    }
    return s;
  },
  result(s) {
    let demandMs = s.demandMs;
    let upMs = s.upMs;
    let plannedDownMs = s.plannedDownMs;
    let openOutages = 0;
    for (const vm of s.vms.values()) {
      if (vm.firstStart === null) continue;
      demandMs += s.t - vm.firstStart;
      upMs += vm.upMs + (vm.runningSince !== null ? s.t - vm.runningSince : 0);
      if (vm.outageSince !== null) {
        openOutages++;
        if (vm.outagePlanned) plannedDownMs += s.t - vm.outageSince;
      }
    }
    const downHours = msToHours(demandMs - upMs);
    const plannedHours = msToHours(plannedDownMs);
    const vmYears = demandMs / MS_PER_YEAR;
    const capacityMs = (capacity: number) => capacity * (s.t - s.from);
    return {
      vmRequests: s.requests,
      vmRejected: s.rejected,
      blockingProbability: s.requests > 0 ? s.rejected / s.requests : 0,
      demandedVmYears: vmYears,
      availability: demandMs > 0 ? upMs / demandMs : null,
      downtimeHoursPerVmYear: vmYears > 0 ? downHours / vmYears : null,
      plannedDowntimeHoursPerVmYear: vmYears > 0 ? plannedHours / vmYears : null,
      unplannedDowntimeHoursPerVmYear: vmYears > 0 ? (downHours - plannedHours) / vmYears : null,
      replacementDowntimeHoursPerVmYear: vmYears > 0 ? msToHours(s.replacementMs) / vmYears : null,
      restoreDowntimeHoursPerVmYear: vmYears > 0 ? msToHours(s.restoreMs) / vmYears : null,
      outages: s.outages,
      openOutages,
      recoveryTimeHours: percentiles(s.recoveries.map(msToHours)),
      provisioningTimeHours: percentiles(s.provisioning.map(msToHours)),
      lostVmStateEvents: s.lost,
      dataLossWindowHours: { ...percentiles(s.lostStateHours), total: s.lostStateHours.reduce((a, b) => a + b, 0) },
      hostUtilization: {
        vcpus: s.t > s.from && s.capacityVcpus > 0 ? s.reservedVcpuMs / capacityMs(s.capacityVcpus) : 0,
        memory: s.t > s.from && s.capacityMemory > 0 ? s.reservedMemoryMs / capacityMs(s.capacityMemory) : 0,
      },
    };
  },
};

/** The end of the warm-up: what was measured so far is dropped, and the VMs' states start again from `t`. */
function warmedUp(s: State, t: number): State {
  const fresh = serviceMetrics.init();
  const next: State = { ...fresh, t, from: t, vms: s.vms, capacityVcpus: s.capacityVcpus, capacityMemory: s.capacityMemory, reservedVcpus: s.reservedVcpus, reservedMemory: s.reservedMemory, switchedOff: s.switchedOff };
  for (const vm of s.vms.values()) {
    if (vm.firstStart === null) continue;
    vm.firstStart = t;
    vm.upMs = 0;
    if (vm.runningSince !== null) vm.runningSince = t;
    if (vm.outageSince !== null) {
      vm.outageSince = t;
      next.outages++;
    }
  }
  return next;
}

function startOutage(s: State, vm: VmRecord, t: number, planned: boolean): void {
  stopRunning(vm, t);
  if (vm.firstStart !== null && vm.outageSince === null) {
    vm.outageSince = t;
    vm.outagePlanned = planned;
    s.outages++;
  }
}

function endOutage(s: State, vm: VmRecord, t: number): void {
  if (vm.outagePlanned) s.plannedDownMs += t - vm.outageSince!;
  vm.outageSince = null;
  vm.outageLost = false;
}

function reserve(s: State, vm: VmRecord, sign: 1 | -1): void {
  s.reservedVcpus += sign * vm.vcpus;
  s.reservedMemory += sign * vm.memoryGiB;
  vm.reserved = sign === 1;
}

function stopRunning(vm: VmRecord, t: number): void {
  if (vm.runningSince !== null) {
    vm.upMs += t - vm.runningSince;
    vm.runningSince = null;
  }
}

function close(s: State, vm: VmRecord, t: number): void {
  stopRunning(vm, t);
  if (vm.firstStart === null) return;
  if (vm.outageSince !== null) endOutage(s, vm, t);
  s.demandMs += t - vm.firstStart;
  s.upMs += vm.upMs;
}

/** Summary of a sample; quantiles by simple-statistics (nearest rank on the sorted sample). */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { count: 0, mean: null, p50: null, p95: null, p99: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p50: quantileSorted(sorted, 0.5),
    p95: quantileSorted(sorted, 0.95),
    p99: quantileSorted(sorted, 0.99),
    max: sorted[sorted.length - 1]!,
  };
}
