import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LibvirtHost, NotOurs } from "../../src/adapters/libvirt/host.js";
import { parseInventory } from "../../src/adapters/libvirt/inventory.js";
import { Virsh } from "../../src/adapters/libvirt/virsh.js";
import { runLibvirtTests } from "./testbed-hosts.js";

/**
 * Ownership of domains on real libvirt: the test driver started from a node file that holds a
 * running domain of ours, created by another run (`run="other-run"`), as an earlier
 * `live --keep` on shared hosts would leave it.
 */
const dir = mkdtempSync(join(tmpdir(), "tb-owner-"));
const nodeFile = join(dir, "node.xml");
writeFileSync(
  nodeFile,
  `<node>
  <domain type='test'>
    <name>testbed-vm-1</name>
    <memory>65536</memory>
    <vcpu>1</vcpu>
    <os><type>hvm</type></os>
    <metadata><testbed:vm xmlns:testbed="urn:vm-testbed:domain:1" vm="vm-1" run="other-run"/></metadata>
  </domain>
</node>
`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hostOf(virsh: Virsh, ownsRun?: (vm: string, run: string) => boolean): LibvirtHost {
  const inventory = parseInventory("inv.yaml", `hosts:\n  - { name: h1, uri: 'test://${nodeFile}' }\n`);
  return new LibvirtHost(inventory.hosts[0]!, inventory, virsh, ownsRun);
}

describe.runIf(runLibvirtTests())("domain ownership on real libvirt", () => {
  it("refuses to touch a domain of the same VM name that another run created", async () => {
    const virsh = new Virsh();
    try {
      const host = hostOf(virsh, (_vm, run) => run === "this-run");
      await expect(host.destroy("testbed-vm-1", "vm-1")).rejects.toThrow(new NotOurs("h1: domain testbed-vm-1 belongs to run other-run, not this one; refusing to touch it"));
      expect(await host.domstate("testbed-vm-1")).toBe("running");
      // The run that adopted it (or a command outside any run) may.
      await hostOf(virsh, (_vm, run) => run === "other-run").destroy("testbed-vm-1", "vm-1");
      expect(await host.domstate("testbed-vm-1")).toBe("shut off");
    } finally {
      virsh.close();
    }
  });

  it("a dry run asks for the domain's real state and refuses to redefine a running domain", async () => {
    const printed: string[] = [];
    const virsh = new Virsh({ dryRun: true, log: (line) => printed.push(line) });
    try {
      const host = hostOf(virsh);
      await expect(host.define("testbed-vm-1", "vm-1", "<domain/>")).rejects.toThrow("h1: domain testbed-vm-1 is running; refusing to redefine it");
      expect(printed).toEqual([]); // nothing that changes things was (or would have been) run
      await expect(host.define("testbed-vm-2", "vm-2", "<domain/>")).resolves.toBeUndefined();
      expect(printed.join("\n")).toMatch(/\[dry-run\] .* define \/dev\/stdin/);
    } finally {
      virsh.close();
    }
  });
});
