import { describe, expect, it } from "vitest";
import { parseLockHolders } from "./disks.js";
import { domainXml, METADATA_NS, parseMetadata } from "./domain-xml.js";
import { GuestConsoles, type ConsoleLine } from "./guest-console.js";
import { parseCapabilities, parseFreecell, parseJobInfo, parseNodeinfo } from "./host.js";
import { parseEventLine } from "./host-monitor.js";
import { InventoryError, parseInventory } from "./inventory.js";
import { addressProblem, checkName, uriProblem } from "./names.js";
import { displayCommand, Virsh, VirshError } from "./virsh.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const problems = (text: string): string[] => {
  try {
    parseInventory("inv.yaml", text);
    return [];
  } catch (error) {
    if (error instanceof InventoryError) return error.problems;
    throw error;
  }
};

describe("inventory", () => {
  it("reads hosts with defaults filled in", () => {
    const inv = parseInventory(
      "inv.yaml",
      "defaults: { migrationAddress: 127.0.0.1, probeIntervalMs: 500 }\nhosts:\n  - { name: h1, uri: 'qemu:///session?socket=/tmp/a/libvirt-sock', memoryGiB: 0.5 }\n  - { name: h2, uri: 'qemu+ssh://root@node2/system', rack: r2, domainType: kvm }\n",
    );
    expect(inv.probeIntervalMs).toBe(500);
    expect(inv.probeTimeoutMs).toBe(2000);
    expect(inv.hosts.map((h) => [h.name, h.rack, h.migrationAddress, h.domainType, h.memoryGiB])).toEqual([
      ["h1", "rack-h1", "127.0.0.1", "qemu", 0.5],
      ["h2", "r2", "127.0.0.1", "kvm", null],
    ]);
  });

  it.each([
    ["hosts: []", "hosts: expected at least one host"],
    ["hosts:\n  - { name: '-rf', uri: 'qemu:///system' }", "hosts[0].name: expected a host name"],
    ["hosts:\n  - { name: h1, uri: 'http://evil/' }", "hosts[0].uri: expected a libvirt connection URI: scheme http is not one of"],
    ["hosts:\n  - { name: h1, uri: 'qemu:///system; rm -rf /' }", "hosts[0].uri: expected a libvirt connection URI: contains whitespace"],
    ["hosts:\n  - { name: h1, uri: 'qemu:///system' }\n  - { name: h1, uri: 'qemu:///session' }", "hosts[1].name: duplicate host name h1"],
    ["hosts:\n  - { name: h1, uri: 'qemu:///system' }\n  - { name: h2, uri: 'qemu:///system' }", "hosts[1].uri: the same URI as hosts[0]"],
    ["hosts:\n  - { name: h1, uri: 'qemu:///system', colour: red }", "hosts[0].colour: unknown key"],
    ["hosts:\n  - { name: h1, uri: 'qemu:///system', migrationAddress: 'a b' }", "hosts[0].migrationAddress: expected an IP address or a host name"],
    ["hosts:\n  - { name: h1, uri: 'qemu:///system', fence: { off: 'kill it' , on: [x] } }", "hosts[0].fence.off: expected a command as a list of arguments"],
    ["hosts: [", "not valid YAML"],
    ["storage: { ceph: { conf: ceph.conf, pool: rbd } }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", 'storage.ceph.conf: expected the Ceph cluster\'s ceph.conf (an absolute path'],
    ["storage: { ceph: { conf: /c/ceph.conf, pool: '-x' } }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", "storage.ceph.pool: expected an RBD pool name"],
    ["storage: { ceph: { conf: /c/ceph.conf, pool: rbd, blocklist: yes please } }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", "storage.ceph.blocklist: expected true or false"],
    ["storage: { ceph: { conf: /c/ceph.conf, pool: rbd, size: 3 } }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", "storage.ceph.size: unknown key"],
    ["storage: { ceph: { conf: /c/ceph.conf, pool: rbd, osds: [{ id: 0, host: h9 }] } }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", 'storage.ceph.osds[0].host: expected a host of the inventory (h1), got "h9"'],
    ["storage: { ceph: { conf: /c/ceph.conf, pool: rbd, osds: [{ id: 0, host: h1 }, { id: 0, host: h1, disk: 1 }] } }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", "storage.ceph.osds[1].id: duplicate OSD id 0"],
    ["storage: { ceph: { conf: /c/ceph.conf, pool: rbd, osds: [{ id: 0, host: h1 }, { id: 1, host: h1 }] } }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", "storage.ceph.osds[1].disk: disk h1/0 is already storage.ceph.osds[0]"],
    ["storage: { ceph: { conf: /c/ceph.conf, pool: rbd, osds: [{ id: -1, host: h1 }] } }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", "storage.ceph.osds[0].id: expected an OSD id, an integer ≥ 0, got -1"],
    ["storage: { ceph: { conf: /c/ceph.conf, pool: rbd, osds: [{ id: 0, host: h1, stop: 'ceph.sh osd-stop' }] } }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", "storage.ceph.osds[0].stop: expected a command as a list of arguments"],
    ["storage: { ceph: { conf: /c/ceph.conf, pool: rbd, pollIntervalMs: 0 } }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", "storage.ceph.pollIntervalMs: expected milliseconds, a positive integer"],
    ["storage: { nfs: {} }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", "storage.nfs: unknown key"],
    ["guest: { kernel: /k, initrd: /i, baseImage: /b }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }", "guest.serialDir: expected a directory for the guests' serial logs (an absolute path"],
    ["hosts:\n  - { name: h1, uri: 'qemu:///system', dir: \"/a'b\" }", "hosts[0].dir: expected the host's own disk directory (an absolute path without quotes"],
  ])("refuses %j with a clear message", (text, message) => {
    expect(problems(text).join("\n")).toContain(message);
  });
});

describe("names and URIs that reach virsh", () => {
  it.each(["-h", "--all", ".hidden", "a b", "a;b", "a$(x)", "ä", "", "x".repeat(64)])("refuses the name %j", (name) => {
    expect(() => checkName("VM", name)).toThrow(/not a valid name/);
  });
  it("accepts ordinary names", () => {
    expect(checkName("VM", "pet-0001")).toBe("pet-0001");
    expect(checkName("VM", "vm_1.a")).toBe("vm_1.a");
  });
  it("checks URIs and addresses", () => {
    expect(uriProblem("qemu:///system")).toBeNull();
    expect(uriProblem("test+unix:///default?socket=/tmp/x/libvirt-sock")).toBeNull();
    expect(uriProblem("--connect=qemu:///system")).not.toBeNull();
    expect(uriProblem("lxc:///")).toMatch(/scheme lxc/);
    expect(addressProblem("127.0.0.1")).toBeNull();
    expect(addressProblem("::1")).toBeNull();
    expect(addressProblem("node-2.example")).toBeNull();
    expect(addressProblem("300.1.1.1")).not.toBeNull();
    expect(addressProblem("a/b")).not.toBeNull();
  });
});

describe("inventory: the guest and its storage", () => {
  it("reads the guest, the Ceph cluster (blocklisting by default) and each host's directory", () => {
    const inv = parseInventory(
      "inv.yaml",
      "guest: { kernel: /g/vmlinuz, initrd: /g/initrd.gz, baseImage: /g/base.img, serialDir: /tb/serial }\nstorage:\n  ceph: { conf: /tb/ceph/ceph.conf, pool: rbd }\nhosts:\n  - { name: h1, uri: 'qemu:///system', dir: /tb/h1/disks }\n  - { name: h2, uri: 'qemu:///session' }\n",
    );
    expect(inv.guest).toEqual({ kernel: "/g/vmlinuz", initrd: "/g/initrd.gz", baseImage: "/g/base.img", serialDir: "/tb/serial" });
    expect(inv.ceph).toEqual({ conf: "/tb/ceph/ceph.conf", pool: "rbd", blocklist: true, pollIntervalMs: 2000, osds: [] });
    expect(inv.hosts.map((h) => h.dir)).toEqual(["/tb/h1/disks", null]);
    expect(parseInventory("i.yaml", "hosts:\n  - { name: h1, uri: 'qemu:///system' }\n")).toMatchObject({ guest: null, ceph: null });
  });

  it("reads the OSDs that stand for the hosts' disks, with their stop and start commands", () => {
    const inv = parseInventory("inv.yaml", "storage:\n  ceph:\n    conf: /tb/ceph/ceph.conf\n    pool: rbd\n    pollIntervalMs: 500\n    osds:\n      - { id: 0, host: h1, stop: [ceph.sh, osd-stop, '0'], start: [ceph.sh, osd-start, '0'] }\n      - { id: 4, host: h1, disk: 1 }\nhosts:\n  - { name: h1, uri: 'qemu:///system' }\n");
    expect(inv.ceph!.pollIntervalMs).toBe(500);
    expect(inv.ceph!.osds).toEqual([
      { id: 0, host: "h1", disk: 0, stop: ["ceph.sh", "osd-stop", "0"], start: ["ceph.sh", "osd-start", "0"] },
      { id: 4, host: "h1", disk: 1, stop: null, start: null },
    ]);
  });
});

describe("domain XML", () => {
  const spec = { name: "testbed-pet-0001", vm: "pet-0001", run: "r<1>", vcpus: 1, memoryMiB: 64, domainType: "qemu" as const };

  it("describes a diskless TCG guest carrying our metadata", () => {
    const xml = domainXml(spec);
    expect(xml).toContain("<domain type='qemu'>");
    expect(xml).toContain("<memory unit='MiB'>64</memory>");
    expect(xml).toContain(`<testbed:vm xmlns:testbed="${METADATA_NS}" vm="pet-0001" run="r&lt;1&gt;"/>`);
    expect(xml).not.toContain("<disk");
  });

  it("adds a disk and a NIC when asked", () => {
    const xml = domainXml({ ...spec, disk: { path: "/srv/volumes/pet-0001.qcow2", format: "qcow2" }, network: { type: "bridge", bridge: "br0" } });
    expect(xml).toContain("<source file='/srv/volumes/pet-0001.qcow2'/>");
    expect(xml).toContain("<source bridge='br0'/>");
  });

  it("boots the tiny guest from an RBD network disk, its console appended to a file, destroyed on reboot", () => {
    const xml = domainXml({
      ...spec,
      memoryMiB: 96,
      disk: { rbd: { pool: "rbd", image: "testbed-pet-0001", conf: "/tb/ceph/ceph.conf" } },
      guest: { kernel: "/g/vmlinuz", initrd: "/g/initrd.gz", cmdline: "console=ttyS0 quiet testbed.mode=stay", serialLog: "/tb/serial/testbed-pet-0001.log" },
    });
    expect(xml).toContain("<disk type='network' device='disk'>");
    expect(xml).toContain("<driver name='qemu' type='raw' cache='none'/>");
    expect(xml).toContain("<source protocol='rbd' name='rbd/testbed-pet-0001'>");
    expect(xml).toContain("<config file='/tb/ceph/ceph.conf'/>");
    expect(xml).toContain("<kernel>/g/vmlinuz</kernel>");
    expect(xml).toContain("<cmdline>console=ttyS0 quiet testbed.mode=stay</cmdline>");
    expect(xml.match(/<source path='\/tb\/serial\/testbed-pet-0001.log' append='on'\/>/g)).toHaveLength(2);
    expect(xml).toContain("<on_reboot>destroy</on_reboot>");
    expect(xml).not.toContain("<boot dev=");
    expect(() => domainXml({ ...spec, disk: { rbd: { pool: "rbd", image: "-x", conf: "/c" } } })).toThrow(/image "-x" is not a valid name/);
    expect(() => domainXml({ ...spec, guest: { kernel: "vmlinuz", initrd: "/i", cmdline: "", serialLog: "/l" } })).toThrow(/kernel must be an absolute path/);
  });

  it("refuses what it cannot describe safely", () => {
    expect(() => domainXml({ ...spec, name: "x'/><evil" })).toThrow(/not a valid name/);
    expect(() => domainXml({ ...spec, memoryMiB: 0.5 })).toThrow(RangeError);
    expect(() => domainXml({ ...spec, disk: { path: "relative.img", format: "raw" } })).toThrow(/absolute/);
  });

  it("reads back the metadata virsh prints, and nothing else", () => {
    expect(parseMetadata('<vm vm="pet-0001" run="live-1"/>\n')).toEqual({ vm: "pet-0001", run: "live-1" });
    expect(parseMetadata('<testbed:vm xmlns:testbed="urn:vm-testbed:domain:1" vm="a&amp;b" run=""/>')).toEqual({ vm: "a&b", run: "" });
    expect(parseMetadata("<other/>")).toBeNull();
  });
});

describe("the guest's console and the RBD lock", () => {
  it("reads only the lines a watched boot appends, across partial writes and CRLF line ends", () => {
    const dir = mkdtempSync(join(tmpdir(), "console-"));
    const log = join(dir, "vm.log");
    writeFileSync(log, "BOOT_COUNT=4\r\nTICK 9\r\n"); // an earlier boot's lines
    const lines: ConsoleLine[] = [];
    const consoles = new GuestConsoles(60_000, (l) => lines.push(l));
    consoles.watch("vm", "h2", log);
    writeFileSync(log, "BOOT_COUNT=4\r\nTICK 9\r\n[ 0.1] kernel says\r\nBOOT_CO");
    consoles.poll();
    expect(lines).toEqual([]);
    writeFileSync(log, "BOOT_COUNT=4\r\nTICK 9\r\n[ 0.1] kernel says\r\nBOOT_COUNT=5\r\nTICK 1\r\n");
    consoles.moved("vm", "h3");
    consoles.stop();
    expect(lines).toEqual([{ vm: "vm", host: "h3", bootCount: 5 }, { vm: "vm", host: "h3", tick: 1 }]);
    rmSync(dir, { recursive: true });
  });

  it("reads the lock holders' addresses from rbd lock ls, ignoring anything that is not an address", () => {
    expect(parseLockHolders('[{"id":"auto 140","locker":"client.14356","address":"127.0.0.1:0/2427221780"}]')).toEqual(["127.0.0.1:0/2427221780"]);
    expect(parseLockHolders('{"auto 1":{"locker":"client.1","address":"10.0.0.2:0/77"}}')).toEqual(["10.0.0.2:0/77"]);
    expect(parseLockHolders("[]")).toEqual([]);
    expect(parseLockHolders("")).toEqual([]);
    expect(parseLockHolders('[{"address":"--yes-i-really-mean-it"}]')).toEqual([]);
  });
});

describe("virsh output", () => {
  it("parses nodeinfo, freecell, capabilities and job info", () => {
    expect(parseNodeinfo("CPU model:           x86_64\nCPU(s):              2\nMemory size:         7432396 KiB\n")).toEqual({ cpus: 2, memoryKiB: 7432396 });
    expect(parseFreecell("Total: 4843080 KiB\n")).toBe(4843080);
    expect(parseCapabilities("<capabilities><host><uuid>abc</uuid></host><guest><arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest></capabilities>")).toEqual({
      domainTypes: ["qemu", "kvm"],
      hostUuid: "abc",
    });
    expect(parseJobInfo("Time elapsed:     451          ms\nData processed:   564.771 KiB\nTotal downtime:   28           ms\n")).toEqual({
      elapsedMs: 451,
      downtimeMs: 28,
      transferredBytes: 564.771 * 1024,
    });
    expect(parseEventLine("event 'lifecycle' for domain 'testbed-pet-0001': Stopped Destroyed")).toEqual({ domain: "testbed-pet-0001", event: "Stopped", detail: "Destroyed" });
    expect(parseEventLine("event 'reboot' for domain 'x'")).toBeNull();
  });

  it("a dry run prints the commands that change things, with the XML, and runs none", async () => {
    const lines: string[] = [];
    const virsh = new Virsh({ dryRun: true, log: (l) => lines.push(l), binary: "/nonexistent/virsh" });
    await expect(virsh.run("qemu:///system", ["destroy", "testbed-pet-0001"], { timeoutMs: 1000, mutating: true })).resolves.toBe("");
    await virsh.run("qemu:///system", ["define", "/dev/stdin"], { timeoutMs: 1000, mutating: true, input: "<domain/>" });
    expect(lines[0]).toBe("[dry-run] /nonexistent/virsh -q -c qemu:///system destroy testbed-pet-0001");
    expect(lines[1]).toContain("<domain/>");
    // A read-only command still runs (and here fails: no such binary).
    await expect(virsh.run("qemu:///system", ["list"], { timeoutMs: 1000 })).rejects.toThrow();
  });

  it("kills a command that outlives its timeout", async () => {
    const dir = mkdtempSync(join(tmpdir(), "testbed-fake-virsh-"));
    try {
      const fake = join(dir, "virsh");
      writeFileSync(fake, "#!/bin/sh\nexec sleep 30\n", { mode: 0o755 });
      const started = Date.now();
      const error = await new Virsh({ binary: fake }).run("qemu:///system", ["list"], { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VirshError);
      expect((error as VirshError).timedOut).toBe(true);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("displays commands quoted for a shell, for people only", () => {
    expect(displayCommand(["virsh", "-c", "qemu:///session?socket=/tmp/x", "define", "a b"])).toBe("virsh -c qemu:///session?socket=/tmp/x define 'a b'");
  });
});
