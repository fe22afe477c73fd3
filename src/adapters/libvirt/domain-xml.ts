import { checkName } from "./names.js";

/**
 * Domain XML from a VM spec, with the testbed's metadata element that marks the domains it owns:
 *
 * ```xml
 * <metadata><testbed:vm xmlns:testbed="urn:vm-testbed:domain:1" vm="vm-1" run="…"/></metadata>
 * ```
 *
 * The adapter reads it back (`virsh metadata DOMAIN urn:vm-testbed:domain:1`) before any
 * destructive command, and refuses to touch a domain without it, or whose `vm` is not the VM it
 * means. Every value in the XML is either checked (names) or a number, and escaped anyway.
 */
export const METADATA_NS = "urn:vm-testbed:domain:1";

export interface DomainSpec {
  /** Domain name on the host (`<prefix><vm>`). */
  name: string;
  /** The VM's id in the world. */
  vm: string;
  /** Which run created it (informational). */
  run: string;
  vcpus: number;
  memoryMiB: number;
  /** `qemu`: software emulation (TCG), works anywhere; `kvm` needs /dev/kvm. */
  domainType: "qemu" | "kvm" | "test";
  /** A disk image file, an RBD image (a libvirt network disk), or none (a diskless guest). */
  disk?: { path: string; format: "qcow2" | "raw" } | { rbd: { pool: string; image: string; conf: string } } | null;
  /**
   * Boot a kernel directly (the tiny guest of test/libvirt/guest/build.sh) with its console on
   * `serialLog` (appended to: one file collects every boot); the domain is destroyed, not
   * restarted, when the guest reboots.
   */
  guest?: { kernel: string; initrd: string; cmdline: string; serialLog: string } | null;
  /** A NIC: QEMU user networking, a host bridge, or a libvirt network; none by default. */
  network?: { type: "user" } | { type: "bridge"; bridge: string } | { type: "network"; network: string } | null;
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");

export function domainXml(spec: DomainSpec): string {
  checkName("domain", spec.name);
  checkName("VM", spec.vm);
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1 || spec.vcpus > 4096) throw new RangeError(`vcpus must be an integer 1..4096, got ${spec.vcpus}`);
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 16) throw new RangeError(`memory must be an integer ≥ 16 MiB, got ${spec.memoryMiB}`);
  const devices: string[] = [];
  const absolute = (what: string, path: string) => {
    if (!/^\/[^\0\n]*$/.test(path)) throw new RangeError(`${what} must be an absolute path, got ${JSON.stringify(path)}`);
    return escape(path);
  };
  if (spec.disk && "rbd" in spec.disk) {
    const { pool, image, conf } = spec.disk.rbd;
    devices.push(
      `    <disk type='network' device='disk'>\n      <driver name='qemu' type='raw' cache='none'/>\n      <source protocol='rbd' name='${escape(checkName("pool", pool))}/${escape(checkName("image", image))}'>\n        <config file='${absolute("ceph conf", conf)}'/>\n      </source>\n      <target dev='vda' bus='virtio'/>\n    </disk>`,
    );
  } else if (spec.disk) {
    if (!/^\/[^\0\n]*$/.test(spec.disk.path)) throw new RangeError(`disk path must be absolute, got ${JSON.stringify(spec.disk.path)}`);
    devices.push(
      `    <disk type='file' device='disk'>\n      <driver name='qemu' type='${spec.disk.format}'/>\n      <source file='${escape(spec.disk.path)}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>`,
    );
  }
  const net = spec.network;
  if (net?.type === "user") devices.push("    <interface type='user'>\n      <model type='virtio'/>\n    </interface>");
  if (net?.type === "bridge") devices.push(`    <interface type='bridge'>\n      <source bridge='${escape(checkName("bridge", net.bridge))}'/>\n      <model type='virtio'/>\n    </interface>`);
  if (net?.type === "network") devices.push(`    <interface type='network'>\n      <source network='${escape(checkName("network", net.network))}'/>\n      <model type='virtio'/>\n    </interface>`);
  const guest = spec.guest;
  if (guest) {
    const log = absolute("serial log", guest.serialLog);
    devices.push(
      `    <serial type='file'>\n      <source path='${log}' append='on'/>\n      <target port='0'/>\n    </serial>`,
      `    <console type='file'>\n      <source path='${log}' append='on'/>\n      <target type='serial' port='0'/>\n    </console>`,
      "    <memballoon model='none'/>",
    );
  } else devices.push("    <serial type='null'/>", "    <memballoon model='none'/>");
  const os = guest
    ? `    <type arch='x86_64' machine='q35'>hvm</type>\n    <kernel>${absolute("kernel", guest.kernel)}</kernel>\n    <initrd>${absolute("initrd", guest.initrd)}</initrd>\n    <cmdline>${escape(guest.cmdline)}</cmdline>`
    : `    <type arch='x86_64'>hvm</type>\n    <boot dev='${spec.disk ? "hd" : "network"}'/>`;
  return `<domain type='${spec.domainType}'>
  <name>${escape(spec.name)}</name>
  <metadata>
    <testbed:vm xmlns:testbed="${METADATA_NS}" vm="${escape(spec.vm)}" run="${escape(spec.run)}"/>
  </metadata>
  <memory unit='MiB'>${spec.memoryMiB}</memory>
  <vcpu>${spec.vcpus}</vcpu>
  <os>
${os}
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>${guest ? "destroy" : "restart"}</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
${devices.join("\n")}
  </devices>
</domain>
`;
}

/** The `vm` and `run` of our metadata element as `virsh metadata` prints it, or null if it is not ours. */
export function parseMetadata(text: string): { vm: string; run: string } | null {
  const element = /<([A-Za-z_][\w.-]*:)?vm\b([^>]*)\/?>/.exec(text);
  if (!element) return null;
  const attrs = element[2]!;
  const vm = /\bvm="([^"]*)"/.exec(attrs)?.[1];
  const run = /\brun="([^"]*)"/.exec(attrs)?.[1] ?? "";
  if (vm === undefined) return null;
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  return { vm: unescape(vm), run: unescape(run) };
}
