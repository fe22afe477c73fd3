import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseInventory } from "../adapters/libvirt/inventory.js";
import { emptyCalibration } from "../metrics/calibration.js";
import { loadScenarioFile, parseScenario } from "../scenario/load.js";
import { calibrationNeeds, calibrationOverlay, calibrationScenario, overlayOverrides } from "./calibrate.js";

const INVENTORY = `guest: { kernel: /g/vmlinuz, initrd: /g/initrd.gz, baseImage: /g/base.img, serialDir: /tb/serial }
storage:
  ceph:
    conf: /tb/ceph/ceph.conf
    pool: rbd
    osds:
      - { id: 0, host: h1, stop: [ceph.sh, osd-stop, "0"], start: [ceph.sh, osd-start, "0"] }
hosts:
${[1, 2, 3].map((i) => `  - { name: h${i}, uri: 'qemu:///session?socket=/tb/h${i}/sock', fence: { off: [kill, h${i}], on: [start, h${i}] } }`).join("\n")}
`;

describe("testbed calibrate", () => {
  it("runs a valid scenario on the inventory's hosts: a host crash and an OSD stopped", () => {
    const inventory = parseInventory("inv.yaml", INVENTORY);
    expect(calibrationNeeds(inventory)).toEqual([]);
    const { config } = parseScenario("(calibration)", calibrationScenario(inventory));
    expect(config.failures.trace.map((r) => `${r.kind} ${r.target}`)).toEqual(["crash h2", "disk h1/0"]);
  });

  it("says what an inventory lacks for it", () => {
    const bare = parseInventory("inv.yaml", "hosts:\n  - { name: h1, uri: 'qemu:///system' }\n");
    expect(calibrationNeeds(bare)).toEqual(["at least 3 hosts (it has 1)", "guest: (the tiny guest: boot counts)", "storage.ceph (persistent-ha disks)", "fence commands for h1"]);
  });

  it("writes the measured inputs as a scenario overlay that a scenario takes with --set, and every spread as a comment", () => {
    const samples = { ...emptyCalibration(), libvirtStartSeconds: [9.1, 12.4, 30.2], bootSeconds: [20, 25], detectionSeconds: [1.5, 2.5, 3.5], migrationDowntimeSeconds: [0.4, 0.5], osdRecoverySeconds: [3.6, 7.2], restartElsewhereSeconds: [8, 12] };
    const text = calibrationOverlay(samples, ["measured here"]);
    expect(text).toContain("# measured here");
    expect(text).toContain("#   restartElsewhereSeconds: n=2, 10 [8, 12] — hostFailed → the guest booted on another host");
    expect(text).toContain("#   migrationSeconds: not measured");
    expect(text).toContain("#   bootSeconds: n=2, 22.5 [20, 25] — vmPlaced → the guest has read its disk (guestBooted)\n");
    const data = parse(text) as Record<string, Record<string, unknown>>;
    expect(data).toEqual({
      provisioning: { bootSeconds: { type: "empirical", samples: [9.1, 12.4, 30.2] } },
      ha: { heartbeatTimeoutSeconds: 4.5 },
      migration: { switchoverMs: 450 },
      storage: { rebuildHours: { type: "empirical", samples: [0.001, 0.002] } },
    });
    const base = loadScenarioFile("scenarios/live-ha.yaml");
    const calibrated = parseScenario(base.file, base.text, overlayOverrides(data)).config;
    expect(calibrated.provisioning.bootSeconds).toEqual({ type: "empirical", samples: [9.1, 12.4, 30.2] });
    expect(calibrated.storage.rebuildHours).toEqual({ type: "empirical", samples: [0.001, 0.002] });
    expect(calibrated.controller.heartbeatTimeoutMs).toBe(4500);
  });
});
