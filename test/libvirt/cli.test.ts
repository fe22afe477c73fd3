import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { domainXml } from "../../src/adapters/libvirt/domain-xml.js";
import { LibvirtHost, NotOurs } from "../../src/adapters/libvirt/host.js";
import { loadInventoryFile } from "../../src/adapters/libvirt/inventory.js";
import { Virsh } from "../../src/adapters/libvirt/virsh.js";
import { tempDir, testbed } from "../helpers.js";
import { runLibvirtTests, TestbedHosts } from "./testbed-hosts.js";

/** `testbed hosts`, `live` and `drain` from the outside: output, exit codes, safety. */
describe("libvirt commands: bad input", () => {
  const dir = tempDir();

  it("an invalid inventory is bad input (exit 2), each problem named", () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "hosts:\n  - { name: '-x', uri: 'ssh://h' }\n");
    const r = testbed("hosts", file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bad.yaml: hosts[0].name: expected a host name");
    expect(r.stderr).toContain("bad.yaml: hosts[0].uri: expected a libvirt connection URI: scheme ssh is not one of");
  });

  it("an inventory whose storage section has a bad field is bad input (exit 2), the field named", () => {
    const file = join(dir, "bad-storage.yaml");
    writeFileSync(file, "storage:\n  ceph: { conf: ceph.conf, pool: rbd, replicas: 3 }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }\n");
    const r = testbed("live", file, "scenarios/live-persistence.yaml", "--db", join(dir, "s.db"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bad-storage.yaml: storage.ceph.conf: expected the Ceph cluster's ceph.conf (an absolute path");
    expect(r.stderr).toContain("bad-storage.yaml: storage.ceph.replicas: unknown key");
    expect(existsSync(join(dir, "s.db"))).toBe(false);
  });

  it("live refuses a disk row of failures.trace without an OSD for that disk in the inventory (exit 2), naming both", () => {
    const file = join(dir, "no-osds.yaml");
    writeFileSync(file, "storage:\n  ceph: { conf: /c/ceph.conf, pool: rbd }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }\n");
    const r = testbed("live", file, "scenarios/live-storage-failures.yaml", "--db", join(dir, "o.db"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`scenarios/live-storage-failures.yaml: failures.trace target "h2/0" (kind disk): expected a disk with an OSD and its stop and start commands in ${file} (storage.ceph.osds), got none`);
  });

  it("calibrate says what the inventory lacks (exit 2); compare refuses a file that is not a calibration overlay (exit 2), naming it", () => {
    const file = join(dir, "one-host.yaml");
    writeFileSync(file, "hosts:\n  - { name: h1, uri: 'qemu:///system' }\n");
    const c = testbed("calibrate", file, "--out", join(dir, "cal.yaml"));
    expect(c.code).toBe(2);
    expect(c.stderr).toContain(`${file}: calibrate needs at least 3 hosts (it has 1); guest: (the tiny guest: boot counts); storage.ceph (persistent-ha disks); fence commands for h1`);
    expect(existsSync(join(dir, "cal.yaml"))).toBe(false);
    const overlay = join(dir, "not-overlay.yaml");
    writeFileSync(overlay, "- 1\n");
    const r = testbed("compare", file, "scenarios/live-ha.yaml", "--calibration", overlay, "--db", join(dir, "c.db"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${overlay}: expected a calibration overlay`);
    expect(existsSync(join(dir, "c.db"))).toBe(false);
  });

  it("live with the real guest refuses persistent-ha without a Ceph cluster in the inventory (exit 2)", () => {
    const file = join(dir, "no-ceph.yaml");
    writeFileSync(file, "guest: { kernel: /g/k, initrd: /g/i, baseImage: /g/b, serialDir: /s }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }\n");
    const r = testbed("live", file, "scenarios/live-persistence.yaml", "--model", "persistent-ha", "--db", join(dir, "n.db"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: persistent-ha VMs boot the guest from an RBD image, and the inventory has no storage.ceph section`);
  });

  it("live refuses a scenario that names hosts the inventory does not have (exit 2)", () => {
    const inventory = join(dir, "inv.yaml");
    writeFileSync(inventory, "hosts:\n  - { name: x1, uri: 'qemu:///session?socket=/nonexistent/sock' }\n");
    const r = testbed("live", inventory, "scenarios/live-ha.yaml", "--db", join(dir, "y.db"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`scenarios/live-ha.yaml: failures.trace target "h1" is not a host of ${inventory} (x1)`);
    expect(existsSync(join(dir, "y.db"))).toBe(false);
  });

  it("live --resume refuses what it cannot take over (exit 2), naming the database and the reason", () => {
    const inventory = join(dir, "resume-inv.yaml");
    writeFileSync(inventory, "hosts:\n  - { name: h1, uri: 'qemu:///session?socket=/nonexistent/sock' }\n");
    const missing = testbed("live", inventory, "--resume", join(dir, "none.db"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${join(dir, "none.db")}: no such results database to resume a run from`);
    const both = testbed("live", inventory, "scenarios/live-ha.yaml", "--resume", join(dir, "none.db"), "--seed", "3");
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("live --resume takes the run's scenario, model, seed and length from the database: drop a scenario, --seed");
    // A database with a simulated run only: nothing live to resume.
    const db = join(dir, "sim.db");
    expect(testbed("run", "scenarios/live-ha.yaml", "--db", db).code).toBe(0);
    const none = testbed("live", inventory, "--resume", db);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`${db}: no unfinished live run to resume (0 live run(s), none running)`);
    const notLive = testbed("live", inventory, "--resume", db, "--run", "1");
    expect(notLive.code).toBe(2);
    expect(notLive.stderr).toContain(`${db}: run 1 is not a live run recorded by this version (no live_runs row): it cannot be resumed`);
    expect(testbed("live", inventory).stderr).toContain("live: expected <inventory> <scenario>, or <inventory> --resume <results database>");
  });

  it("drain refuses a host that is not in the inventory (exit 2)", () => {
    const file = join(dir, "one.yaml");
    writeFileSync(file, "hosts:\n  - { name: h1, uri: 'qemu:///session?socket=/nonexistent/sock' }\n");
    const r = testbed("drain", file, "h9", "--db", join(dir, "x.db"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('host "h9" is not in the inventory (hosts: h1)');
    expect(existsSync(join(dir, "x.db"))).toBe(false);
  });
});

describe.runIf(runLibvirtTests())("libvirt commands on test-bed hosts", () => {
  let hosts: TestbedHosts;
  const dir = tempDir();
  beforeAll(() => {
    hosts = TestbedHosts.up(2);
  }, 60_000);
  afterAll(() => hosts?.down(), 60_000);

  const domains = (host: string) => spawnSync("virsh", ["-q", "-c", hosts.uri(host), "list", "--all", "--name"], { encoding: "utf8" }).stdout.trim();

  it("hosts: each host's capacity and domain types (exit 0)", () => {
    const r = testbed("hosts", hosts.inventoryFile, "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { hosts: { name: string; answering: boolean; capacity: { cpus: number; domainTypes: string[]; hostUuid: string } }[] };
    expect(out.hosts.map((h) => [h.name, h.answering])).toEqual([
      ["h1", true],
      ["h2", true],
    ]);
    expect(out.hosts[0]!.capacity.domainTypes).toContain("qemu");
    // Each daemon has its own host UUID (migration between them needs it).
    expect(out.hosts[0]!.capacity.hostUuid).not.toBe(out.hosts[1]!.capacity.hostUuid);
  });

  it("live --dry-run prints the commands, changes nothing and records nothing", () => {
    const scenario = join(dir, "two.yaml");
    writeFileSync(scenario, "name: two\ndurationHours: 1\nserviceModels: [persistent-ha]\ncluster: { hosts: [{ name: h, vcpus: 1, memoryGiB: 1, diskGiB: 1 }] }\nworkload: { sizes: [{ name: tiny, vcpus: 1, memoryGiB: 0.0625, diskGiB: 1 }], fleet: 2 }\n");
    const db = join(dir, "dry.db");
    const r = testbed("live", hosts.inventoryFile, scenario, "--dry-run", "--duration", "2", "--db", db);
    expect(r.stderr).toMatch(/\[dry-run\] virsh -q -c qemu:\/\/\/session\?socket=\S+\/h1\/\S+ define \/dev\/stdin <<'XML'/);
    expect(r.stderr).toContain("<testbed:vm xmlns:testbed=\"urn:vm-testbed:domain:1\" vm=\"pet-0001\"");
    expect(r.stderr).toMatch(/\[dry-run\] virsh .* start testbed-pet-0001/);
    expect(r.stdout).toContain("dry run (nothing recorded)");
    expect(r.code).toBe(0);
    expect(existsSync(db)).toBe(false);
    expect(domains("h1")).toBe("");
  });

  it("drain --dry-run prints the drain's plan (text and JSON), changes nothing and records nothing", () => {
    const scenario = join(dir, "kept.yaml");
    writeFileSync(scenario, "name: kept\ndurationHours: 1\nserviceModels: [persistent-ha]\ncluster: { hosts: [{ name: h, vcpus: 1, memoryGiB: 1, diskGiB: 1 }] }\nworkload: { sizes: [{ name: tiny, vcpus: 1, memoryGiB: 0.0625, diskGiB: 1 }], fleet: 2 }\n");
    const kept = testbed("live", hosts.inventoryFile, scenario, "--duration", "3", "--keep", "--db", join(dir, "kept.db"));
    expect(kept.code, kept.stdout + kept.stderr).toBe(0);
    const running = (host: string) => spawnSync("virsh", ["-q", "-c", hosts.uri(host), "list", "--name"], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean).sort();
    const onH1 = running("h1");
    const onH2 = running("h2");
    expect(onH1.length).toBeGreaterThan(0);
    try {
      const db = join(dir, "plan.db");
      const json = testbed("drain", hosts.inventoryFile, "h1", "--dry-run", "--json", "--db", db);
      expect(json.code, json.stdout + json.stderr).toBe(0);
      const plan = JSON.parse(json.stdout) as { host: string; moves: { vm: string; from: string; to: string }[]; nowhereToGo: string[]; remaining: number };
      expect(plan.host).toBe("h1");
      expect(plan.moves.map((m) => `testbed-${m.vm}`).sort()).toEqual(onH1);
      expect(plan.moves.every((m) => m.from === "h1" && m.to === "h2")).toBe(true);
      const text = testbed("drain", hosts.inventoryFile, "h1", "--dry-run", "--db", db);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`drain plan for h1 (dry run: nothing changed, nothing recorded): ${onH1.length} move(s)`);
      expect(text.stdout).toContain(`  ${plan.moves[0]!.vm}: h1 → h2`);
      // Nothing moved, nothing recorded.
      expect(running("h1")).toEqual(onH1);
      expect(running("h2")).toEqual(onH2);
      expect(existsSync(db)).toBe(false);
    } finally {
      for (const host of ["h1", "h2"]) {
        for (const name of running(host)) spawnSync("virsh", ["-q", "-c", hosts.uri(host), "destroy", name]);
        for (const name of domains(host).split("\n").filter(Boolean)) spawnSync("virsh", ["-q", "-c", hosts.uri(host), "undefine", name]);
      }
    }
  }, 120_000);

  it("refuses to touch a domain without our metadata, or another VM's", async () => {
    const inventory = loadInventoryFile(hosts.inventoryFile);
    const virsh = new Virsh();
    const h1 = new LibvirtHost(inventory.hosts[0]!, inventory, virsh);
    const foreign = "<domain type='qemu'><name>testbed-foreign</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>";
    await virsh.run(h1.uri, ["define", "/dev/stdin"], { timeoutMs: 10_000, input: foreign });
    await expect(h1.destroy("testbed-foreign", "foreign")).rejects.toThrow(NotOurs);
    await expect(h1.undefine("testbed-foreign", "foreign")).rejects.toThrow(/no vm-testbed metadata/);
    await expect(h1.define("testbed-foreign", "foreign", "<domain/>")).rejects.toThrow(NotOurs);
    await h1.define("testbed-mine", "mine", domainXml({ name: "testbed-mine", vm: "mine", run: "t", vcpus: 1, memoryMiB: 32, domainType: "qemu" }));
    await expect(h1.undefine("testbed-mine", "someone-else")).rejects.toThrow(/belongs to VM mine/);
    await h1.undefine("testbed-mine", "mine");
    expect((await h1.ownedDomains()).map((d) => d.name)).toEqual([]);
    expect(domains("h1")).toBe("testbed-foreign"); // still there: not ours to remove
    await virsh.run(h1.uri, ["undefine", "testbed-foreign"], { timeoutMs: 10_000 });
  });

  it("hosts: a host that does not answer is reported, exit 1", () => {
    hosts.kill("h2");
    const r = testbed("hosts", hosts.inventoryFile);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/h2 {2}NOT ANSWERING/);
    hosts.restart("h2");
  });
});
