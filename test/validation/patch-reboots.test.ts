import { describe, expect, it } from "vitest";
import { simulateMetrics } from "../helpers.js";

/**
 * In-place patch reboots per model (issue 14), against their closed forms. Four hosts, six
 * long-lived VMs, no failures, one year; every host is rebooted 4 times (each off 1 min, then the
 * 5 min host boot). The VMs' boot is 36 s and there is no key injection.
 */
const PER_YEAR = 4;
const SHUTDOWN_HOURS = 1 / 60;
const HOST_BOOT_HOURS = 5 / 60;
const BOOT_HOURS = 36 / 3600;
const VMS = 6;

const scenario = (overrides: { memoryGiB?: number } = {}) => ({
  name: "patch-reboots",
  durationHours: 8760,
  cluster: { hosts: [{ name: "h", count: 4, vcpus: 8, memoryGiB: overrides.memoryGiB ?? 16, diskGiB: 400 }] },
  workload: { sizes: [{ name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 20 }], fleet: VMS },
  provisioning: { bootSeconds: 36, keyInjectionSeconds: 0, imageCache: false },
  users: { replacementDelayHours: 1 },
  maintenance: { patchReboots: { perYear: PER_YEAR, shutdownMinutes: 1 } },
});

describe("in-place patch reboots", () => {
  it("vps: every VM is down with its host for each reboot: perYear × (shutdown + host boot + VM boot) per VM-year", () => {
    const m = simulateMetrics(scenario(), 1, "vps");
    // Each of the 6 VMs sees its host's 4 reboots in the year (the last slot is at 3.875 / 4 of it).
    const expected = (VMS * PER_YEAR * (SHUTDOWN_HOURS + HOST_BOOT_HOURS + BOOT_HOURS)) / m.demandedVmYears;
    expect(m.plannedDowntimeHoursPerVmYear).toBeCloseTo(expected, 6);
    expect(m.plannedDowntimeHoursPerVmYear).toBeCloseTo(PER_YEAR * (SHUTDOWN_HOURS + HOST_BOOT_HOURS + BOOT_HOURS), 3);
    expect(m.unplannedDowntimeHoursPerVmYear).toBeCloseTo(0, 9);
  });

  it("persistent-ha: drained by live migration first, planned downtime is only the switchover pauses", () => {
    const m = simulateMetrics(scenario(), 1, "persistent-ha");
    expect(m.plannedDowntimeHoursPerVmYear!).toBeGreaterThan(0);
    // Each VM moves at most once per reboot of a host in the year (16 reboots), each pause well under 1 s.
    expect(m.plannedDowntimeHoursPerVmYear!).toBeLessThan((4 * PER_YEAR * 1) / 3600);
    expect(m.unplannedDowntimeHoursPerVmYear).toBeCloseTo(0, 9);
    expect(m.operations.migrations).toBeGreaterThanOrEqual(VMS * PER_YEAR);
  });

  it("persistent-ha: a cluster too full to drain reboots its VMs with the host, as vps does", () => {
    // Hosts of 2 GiB hold one 2 GiB VM each: four VMs placed, no room to move one anywhere.
    const full = simulateMetrics(scenario({ memoryGiB: 2 }), 1, "persistent-ha");
    const vps = simulateMetrics(scenario({ memoryGiB: 2 }), 1, "vps");
    expect(vps.plannedDowntimeHoursPerVmYear).toBeCloseTo(PER_YEAR * (SHUTDOWN_HOURS + HOST_BOOT_HOURS + BOOT_HOURS), 3);
    // The drain gives up after its 60 min timeout (the VMs run meanwhile); then they go down with the host.
    expect(full.plannedDowntimeHoursPerVmYear!).toBeGreaterThan(vps.plannedDowntimeHoursPerVmYear! * 0.9);
  });

  it("ephemeral: retired with notice, each instance is relaunched at once: losses × provisioning time, no replacement delay", () => {
    const m = simulateMetrics(scenario(), 1, "ephemeral");
    expect(m.lostVmStateEvents).toBeGreaterThanOrEqual(VMS * PER_YEAR);
    // Each relaunch is the default 10 GiB image over 100 MiB/s (uncached) and the 36 s boot.
    const relaunchHours = (10 * 1024) / 100 / 3600 + BOOT_HOURS;
    expect(m.recoveryTimeHours.count).toBe(m.lostVmStateEvents);
    expect(m.recoveryTimeHours.max).toBeCloseTo(relaunchHours, 6);
    expect(m.recoveryTimeHours.p50).toBeCloseTo(relaunchHours, 6);
    expect(m.plannedDowntimeHoursPerVmYear).toBeCloseTo((m.lostVmStateEvents * relaunchHours) / m.demandedVmYears, 6);
    // The user's 1 h replacement delay (for failures) does not apply.
    expect(m.plannedDowntimeHoursPerVmYear!).toBeLessThan(PER_YEAR * 0.1);
    expect(m.unplannedDowntimeHoursPerVmYear).toBeCloseTo(0, 9);
  });
});
