import { describe, expect, it } from "vitest";
import { SERVICE_MODELS } from "../src/model/events.js";
import { simulateMetrics } from "./helpers.js";

/**
 * Two hosts, two VMs on the first (first fit); a 2 h maintenance window on h-001 at 500 h, then a
 * hardware failure of h-001 at 600 h for 3 h. One year observed. Volumes keep 2 copies (one per
 * host; Ceph's min_size is then 1): with 3 copies and a min_size of 2, two hosts cannot serve a
 * volume while one of them is down.
 */
const scenario = {
  name: "planned",
  durationHours: 8760,
  cluster: { hosts: [{ name: "h", count: 2, vcpus: 4, memoryGiB: 16, diskGiB: 200 }] },
  workload: { sizes: [{ name: "s", vcpus: 1, memoryGiB: 2, diskGiB: 20 }], fleet: 2 },
  provisioning: { bootSeconds: 36, keyInjectionSeconds: 0, imageCache: true },
  users: { replacementDelayHours: 0.25 },
  maintenance: { windows: [{ host: "h-001", atHours: 500, hours: 2 }] },
  failures: { trace: [{ timeHours: 600, target: "h-001", kind: "hardware", durationHours: 3 }] },
  storage: { replicas: 2 },
};

describe("planned and unplanned downtime", () => {
  it.each(SERVICE_MODELS)("%s: reported apart, and they add up to the downtime", (model) => {
    const m = simulateMetrics(scenario, 1, model);
    expect(m.plannedDowntimeHoursPerVmYear! + m.unplannedDowntimeHoursPerVmYear!).toBeCloseTo(m.downtimeHoursPerVmYear!, 9);
    const perVmYear = (hoursOfBoth: number) => hoursOfBoth / m.demandedVmYears;
    if (model === "vps") {
      // Both down with their host for the 2 h window (and the host's 5 min boot) and the 3 h repair, each plus a 36 s boot.
      expect(m.plannedDowntimeHoursPerVmYear).toBeCloseTo(perVmYear(2 * (2 + 5 / 60 + 0.01)), 6);
      expect(m.unplannedDowntimeHoursPerVmYear).toBeCloseTo(perVmYear(2 * 3.01), 6);
    }
    if (model === "persistent-ha") {
      // Drained to h-002 by live migration before the window: only the pauses, planned; h-001's failure finds no VM.
      expect(m.plannedDowntimeHoursPerVmYear!).toBeGreaterThan(0);
      expect(m.plannedDowntimeHoursPerVmYear!).toBeLessThan(perVmYear(2 * 0.001));
      expect(m.unplannedDowntimeHoursPerVmYear).toBeCloseTo(0, 9);
    }
    if (model === "ephemeral") {
      // Retired by the window with notice: relaunched on h-002 at once (no 0.25 h replacement delay):
      // the 10 GiB image over 100 MiB/s for the first (the second finds it cached) and a 36 s boot
      // each — planned; the failure finds no VM.
      expect(m.plannedDowntimeHoursPerVmYear).toBeCloseTo(perVmYear((102.4 + 2 * 36) / 3600), 6);
      expect(m.unplannedDowntimeHoursPerVmYear).toBeCloseTo(0, 9);
    }
  });
});
