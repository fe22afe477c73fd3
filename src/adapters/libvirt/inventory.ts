import { z } from "zod";
import { LIMITS } from "../../scenario/limits.js";
import { readBoundedFile, ScenarioError, yamlToData } from "../../scenario/load.js";
import { addressProblem, checkName, NAME_PATTERN, uriProblem } from "./names.js";

/**
 * The host inventory: which libvirt daemons are the cluster's hosts, and how to reach them.
 *
 * ```yaml
 * defaults:                       # optional; every key may also be set per host
 *   migrationAddress: 127.0.0.1   # where the destination's QEMU listens for a live migration
 *   domainType: qemu              # qemu (TCG, software) | kvm
 * hosts:
 *   - name: h1
 *     uri: qemu:///session?socket=/tmp/tb/h1/run/libvirt/libvirt-sock
 *     rack: rack-1                # failure domain (default: the host's own)
 *     vcpus: 2                    # schedulable capacity; default: what `virsh nodeinfo` reports
 *     memoryGiB: 0.25
 *     fence:                      # optional: how to cut the host's power (argv, no shell)
 *       off: [bash, test/libvirt/hosts.sh, kill, /tmp/tb, h1]
 *       on: [bash, test/libvirt/hosts.sh, restart, /tmp/tb, h1]
 *     dir: /tmp/tb/h1/disks       # the host's own disk directory (vps disks, ephemeral overlays)
 * guest:                          # optional: VMs boot the tiny guest of test/libvirt/guest/build.sh
 *   kernel: /var/tmp/g/vmlinuz    # (without it they are disk-less domains that boot nothing)
 *   initrd: /var/tmp/g/initrd.gz
 *   baseImage: /var/tmp/g/base.img
 *   serialDir: /tmp/tb/serial     # where the hosts' QEMUs write each guest's console
 * storage:                        # optional: where persistent-ha volumes live
 *   ceph:
 *     conf: /tmp/tb/ceph/ceph.conf
 *     pool: rbd
 *     blocklist: true             # blocklist an image's lock holder before a start elsewhere
 *     pollIntervalMs: 2000        # how often the cluster's OSD map and placement groups are read
 *     osds:                       # optional: which host's disk each OSD stands for (hyperconverged),
 *       - { id: 0, host: h1, disk: 0,   # and how to stop/start it (argv, no shell) for `disk` trace rows
 *           stop: [bash, test/libvirt/ceph.sh, osd-stop, /tmp/tb/ceph, "0"],
 *           start: [bash, test/libvirt/ceph.sh, osd-start, /tmp/tb/ceph, "0"] }
 * ```
 */
const expected = (what: string) => ({ error: `expected ${what}` });
const name = (what: string) => z.string(expected(what)).regex(NAME_PATTERN, expected(`${what} (letters, digits, '.', '_', '-'; not starting with '-' or '.')`));
const positive = () => z.number(expected("a positive number")).positive(expected("a positive number"));
/** A week: longer timeouts are a mistake (wall-clock timers are chained past Node's 2^31 ms anyway: `wall-clock.ts`). */
export const MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000;
const ms = () =>
  z
    .number(expected("milliseconds, a positive integer"))
    .int(expected("milliseconds, a positive integer"))
    .positive(expected("milliseconds, a positive integer"))
    .max(MAX_TIMEOUT_MS, expected(`at most ${MAX_TIMEOUT_MS} ms (a week)`));
const argv = z
  .array(z.string(expected("a string")).min(1, expected("a non-empty string")), expected("a command as a list of arguments (no shell)"))
  .min(1, expected("at least the program"));

const settings = {
  /** `--migrateuri tcp://ADDR --listen-address ADDR` on live migrations to this host; unset: libvirt picks (the destination's host name). */
  migrationAddress: z.string(expected("an address")).superRefine((a, ctx) => {
    const problem = addressProblem(a);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  domainType: z.enum(["qemu", "kvm", "test"], expected("qemu (software emulation, TCG), kvm, or test (libvirt's test driver)")),
  /** Prefix of the domain names the adapter creates: `<prefix><vm id>`. */
  domainPrefix: z.string(expected("a prefix")).regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/, expected("a short prefix of letters, digits, '.', '_', '-'")),
  /** How often each host is probed, and how long a probe may take before the host counts as failed. */
  probeIntervalMs: ms(),
  probeTimeoutMs: ms(),
  /** Timeouts of ordinary commands, of `start`, of a migration. */
  commandTimeoutMs: ms(),
  startTimeoutMs: ms(),
  migrateTimeoutMs: ms(),
  /** Seconds a graceful shutdown may take before the domain is destroyed (0: destroy at once). */
  shutdownGraceMs: z.number(expected("milliseconds ≥ 0")).int(expected("milliseconds ≥ 0")).nonnegative(expected("milliseconds ≥ 0")).max(MAX_TIMEOUT_MS, expected(`at most ${MAX_TIMEOUT_MS} ms (a week)`)),
};

const defaultsSchema = z.strictObject({
  migrationAddress: settings.migrationAddress.optional(),
  domainType: settings.domainType.optional(),
  domainPrefix: settings.domainPrefix.optional(),
  probeIntervalMs: settings.probeIntervalMs.optional(),
  probeTimeoutMs: settings.probeTimeoutMs.optional(),
  commandTimeoutMs: settings.commandTimeoutMs.optional(),
  startTimeoutMs: settings.startTimeoutMs.optional(),
  migrateTimeoutMs: settings.migrateTimeoutMs.optional(),
  shutdownGraceMs: settings.shutdownGraceMs.optional(),
});

const absolutePath = (what: string) =>
  z.string(expected(`${what} (an absolute path)`)).regex(/^\/[^\0\n\r'"<>&]*$/, expected(`${what} (an absolute path without quotes, '<', '>', '&' or line breaks)`));

const guestSchema = z.strictObject({
  kernel: absolutePath("the guest's kernel"),
  initrd: absolutePath("the guest's initramfs"),
  baseImage: absolutePath("the guest's base disk image (raw)"),
  serialDir: absolutePath("a directory for the guests' serial logs"),
});

const storageSchema = z.strictObject({
  ceph: z.strictObject({
    conf: absolutePath("the Ceph cluster's ceph.conf"),
    pool: name("an RBD pool name"),
    /** Blocklist the lock holder of a VM's image before starting it (storage fencing); default true. */
    blocklist: z.boolean(expected("true or false")).optional(),
    /** How often the cluster is read (OSD map, placement groups of the pool); default 2 s. */
    pollIntervalMs: ms().optional(),
    /** The OSDs as disks of the inventory's hosts (hyperconverged storage): their copies, their failures. */
    osds: z
      .array(
        z.strictObject({
          id: z.number(expected("an OSD id, an integer ≥ 0")).int(expected("an OSD id, an integer ≥ 0")).nonnegative(expected("an OSD id, an integer ≥ 0")),
          host: name("a host name of the inventory"),
          disk: z.number(expected("a disk number, an integer 0..15")).int(expected("a disk number, an integer 0..15")).min(0, expected("a disk number, an integer 0..15")).max(15, expected("a disk number, an integer 0..15")).optional(),
          stop: argv.optional(),
          start: argv.optional(),
        }),
        expected("a list of OSDs"),
      )
      .optional(),
  }),
});

const hostSchema = z.strictObject({
  name: name("a host name"),
  uri: z.string(expected("a libvirt connection URI")).superRefine((uri, ctx) => {
    const problem = uriProblem(uri);
    if (problem) ctx.addIssue({ code: "custom", message: `expected a libvirt connection URI: ${problem}` });
  }),
  rack: name("a rack name").optional(),
  vcpus: z.number(expected("a positive integer")).int(expected("a positive integer")).positive(expected("a positive integer")).optional(),
  memoryGiB: positive().optional(),
  diskGiB: positive().optional(),
  migrationAddress: settings.migrationAddress.optional(),
  domainType: settings.domainType.optional(),
  fence: z.strictObject({ off: argv, on: argv }).optional(),
  dir: absolutePath("the host's own disk directory").optional(),
});

const inventorySchema = z.strictObject({
  defaults: defaultsSchema.default({}),
  guest: guestSchema.optional(),
  storage: storageSchema.optional(),
  hosts: z.array(hostSchema, expected("a list of hosts")).min(1, expected("at least one host")),
}).superRefine((inv, ctx) => {
  const seen = new Map<string, number>();
  inv.hosts.forEach((h, i) => {
    const before = seen.get(h.name);
    if (before !== undefined) ctx.addIssue({ code: "custom", path: ["hosts", i, "name"], message: `duplicate host name ${h.name} (also hosts[${before}])` });
    seen.set(h.name, i);
  });
  const osds = inv.storage?.ceph.osds ?? [];
  const ids = new Map<number, number>();
  const disks = new Map<string, number>();
  osds.forEach((osd, i) => {
    const where = ["storage", "ceph", "osds", i];
    if (!inv.hosts.some((h) => h.name === osd.host)) ctx.addIssue({ code: "custom", path: [...where, "host"], message: `expected a host of the inventory (${inv.hosts.map((h) => h.name).join(", ")}), got ${JSON.stringify(osd.host)}` });
    const id = ids.get(osd.id);
    if (id !== undefined) ctx.addIssue({ code: "custom", path: [...where, "id"], message: `duplicate OSD id ${osd.id} (also storage.ceph.osds[${id}])` });
    ids.set(osd.id, i);
    const key = `${osd.host}/${osd.disk ?? 0}`;
    const disk = disks.get(key);
    if (disk !== undefined) ctx.addIssue({ code: "custom", path: [...where, "disk"], message: `disk ${key} is already storage.ceph.osds[${disk}]` });
    disks.set(key, i);
  });
  const uris = new Map<string, number>();
  inv.hosts.forEach((h, i) => {
    const before = uris.get(h.uri);
    if (before !== undefined) ctx.addIssue({ code: "custom", path: ["hosts", i, "uri"], message: `the same URI as hosts[${before}]: one daemon cannot be two hosts` });
    uris.set(h.uri, i);
  });
});

export interface InventoryHost {
  name: string;
  uri: string;
  rack: string;
  vcpus: number | null;
  memoryGiB: number | null;
  diskGiB: number | null;
  migrationAddress: string | null;
  domainType: "qemu" | "kvm" | "test";
  fence: { off: string[]; on: string[] } | null;
  /** The host's own directory for VM disks (vps disk files, ephemeral overlays); null: none. */
  dir: string | null;
}

/** The tiny guest VMs boot (test/libvirt/guest/build.sh): kernel, initramfs, base disk, and where consoles are written. */
export interface GuestImage {
  kernel: string;
  initrd: string;
  baseImage: string;
  serialDir: string;
}

/** The Ceph cluster persistent-ha volumes live on (RBD images in `pool`). */
export interface CephStorage {
  conf: string;
  pool: string;
  blocklist: boolean;
  pollIntervalMs: number;
  /** The OSDs that stand for disks of the inventory's hosts (empty: the cluster is apart from the hosts). */
  osds: CephOsd[];
}

/** An OSD as disk `disk` of `host`, with the commands that stop and start it (null: it is not stopped by trace rows). */
export interface CephOsd {
  id: number;
  host: string;
  disk: number;
  stop: string[] | null;
  start: string[] | null;
}

export interface Inventory {
  file: string;
  hosts: InventoryHost[];
  domainPrefix: string;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  commandTimeoutMs: number;
  startTimeoutMs: number;
  migrateTimeoutMs: number;
  shutdownGraceMs: number;
  guest: GuestImage | null;
  ceph: CephStorage | null;
}

/** Defaults: a probe a second that may take 2 s; 15 s for a command, 60 s for a start, 5 min for a migration. */
export const INVENTORY_DEFAULTS = {
  domainPrefix: "testbed-",
  probeIntervalMs: 1_000,
  probeTimeoutMs: 2_000,
  commandTimeoutMs: 15_000,
  startTimeoutMs: 60_000,
  migrateTimeoutMs: 300_000,
  shutdownGraceMs: 0,
  /** Two `ceph` commands per poll (0.3 s of CPU each, 0.8–2.3 s wall at load 12, measured here): every 2 s, ≈ 0.3 core while a run goes. */
  cephPollIntervalMs: 2_000,
} as const;

export class InventoryError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(problems.map((p) => `${file}: ${p}`).join("\n"));
  }
}

export function loadInventoryFile(file: string): Inventory {
  return parseInventory(file, asInventoryError(() => readBoundedFile(file, LIMITS.traceBytes, "an inventory file")));
}

/** The scenario loader's file and YAML problems (size, syntax, aliases), reported as inventory problems. */
function asInventoryError<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ScenarioError) throw new InventoryError(error.file, error.problems);
    throw error;
  }
}

export function parseInventory(file: string, text: string): Inventory {
  const data = asInventoryError(() => yamlToData(file, text));
  const parsed = inventorySchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    throw new InventoryError(
      file,
      parsed.error.issues.flatMap((issue) => {
        const where = issue.path.length === 0 ? "(top level)" : issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`)).join("");
        if (issue.code === "unrecognized_keys") return issue.keys.map((k) => `${where === "(top level)" ? "" : `${where}.`}${k}: unknown key (not part of the inventory format)`);
        const input = (issue as { input?: unknown }).input;
        const got = issue.code === "custom" ? "" : `, got ${input === undefined ? "nothing (the field is missing)" : String(JSON.stringify(input)).slice(0, 60)}`;
        return [`${where}: ${issue.message}${got}`];
      }),
    );
  }
  const { defaults, hosts, guest, storage } = parsed.data;
  return {
    file,
    guest: guest ?? null,
    ceph: storage
      ? {
          conf: storage.ceph.conf,
          pool: storage.ceph.pool,
          blocklist: storage.ceph.blocklist ?? true,
          pollIntervalMs: storage.ceph.pollIntervalMs ?? INVENTORY_DEFAULTS.cephPollIntervalMs,
          osds: (storage.ceph.osds ?? []).map((o) => ({ id: o.id, host: o.host, disk: o.disk ?? 0, stop: o.stop ?? null, start: o.start ?? null })),
        }
      : null,
    domainPrefix: defaults.domainPrefix ?? INVENTORY_DEFAULTS.domainPrefix,
    probeIntervalMs: defaults.probeIntervalMs ?? INVENTORY_DEFAULTS.probeIntervalMs,
    probeTimeoutMs: defaults.probeTimeoutMs ?? INVENTORY_DEFAULTS.probeTimeoutMs,
    commandTimeoutMs: defaults.commandTimeoutMs ?? INVENTORY_DEFAULTS.commandTimeoutMs,
    startTimeoutMs: defaults.startTimeoutMs ?? INVENTORY_DEFAULTS.startTimeoutMs,
    migrateTimeoutMs: defaults.migrateTimeoutMs ?? INVENTORY_DEFAULTS.migrateTimeoutMs,
    shutdownGraceMs: defaults.shutdownGraceMs ?? INVENTORY_DEFAULTS.shutdownGraceMs,
    hosts: hosts.map((h) => ({
      name: checkName("host", h.name),
      uri: h.uri,
      rack: h.rack ?? `rack-${h.name}`,
      vcpus: h.vcpus ?? null,
      memoryGiB: h.memoryGiB ?? null,
      diskGiB: h.diskGiB ?? null,
      migrationAddress: h.migrationAddress ?? defaults.migrationAddress ?? null,
      domainType: h.domainType ?? defaults.domainType ?? "qemu",
      fence: h.fence ?? null,
      dir: h.dir ?? null,
    })),
  };
}

/** The inventory's host of that name; a host not in the inventory is refused. */
export function inventoryHost(inventory: Inventory, name: string): InventoryHost {
  const host = inventory.hosts.find((h) => h.name === name);
  if (!host) throw new InventoryError(inventory.file, [`host ${JSON.stringify(name)} is not in the inventory (hosts: ${inventory.hosts.map((h) => h.name).join(", ")})`]);
  return host;
}
