import { execFile } from "node:child_process";
import { chownSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceModel } from "../../model/events.js";
import type { CephStorage, GuestImage } from "./inventory.js";
import { checkName } from "./names.js";
import { displayCommand } from "./virsh.js";

/**
 * The disks of the three service models on real hosts, with the simulation's semantics:
 *
 * - `persistent-ha`: an RBD image per VM on the Ceph cluster (`rbd import` of the guest's base
 *   disk at its first boot), attached as a libvirt network disk. It outlives any host; only its
 *   VM's termination deletes it. Before it is started anywhere, whatever client holds its
 *   exclusive lock is blocklisted (`ceph osd blocklist add`): a host that was killed, or is cut
 *   off and still running, can no longer write, and the new QEMU need not wait ~25 s for the dead
 *   client's lease (measured by hand at load 1–3: 28.4–29.1 s without, 4.7–5.4 s with, n=3 each).
 * - `vps`: a copy of the base disk in the host's own directory, made at its first boot there and
 *   kept: the VM reboots on it when its host is back.
 * - `ephemeral`: a fresh qcow2 overlay over the base disk in the host's directory at every
 *   placement (the instance store of a new instance), deleted when the instance is gone.
 *
 * Ownership, as for domains: the adapter creates, attaches and deletes only images and files it
 * made — names `<domainPrefix><vm>` and metadata naming the VM (RBD `image-meta`
 * `vm-testbed.vm`; for files a sidecar `<file>.owner` holding `{"vm":…,"run":…}`). An image or
 * file of that name without it, or naming another VM, is refused (`DiskNotOurs`).
 */
export class DiskNotOurs extends Error {}

/** The Ceph cluster of the inventory does not answer: the run cannot start (exit 1, not bad input). */
export class StorageUnavailable extends Error {}

export interface DiskRunner {
  /** Runs a program (argv, no shell) and resolves with its stdout; rejects with its stderr. */
  run(argv: string[], timeoutMs: number): Promise<string>;
  dryRun: boolean;
}

export const execRunner = (dryRun: boolean): DiskRunner => ({
  dryRun,
  run(argv, timeoutMs) {
    return new Promise<string>((resolve, reject) => {
      execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${displayCommand(argv)}: ${stderr.trim().split("\n").slice(-3).join("; ") || error.message}`));
        else resolve(stdout);
      });
    });
  },
});

/** What a domain's XML needs to attach a VM's disk. */
export type AttachedDisk =
  | { type: "file"; path: string; format: "raw" | "qcow2" }
  | { type: "rbd"; pool: string; image: string; conf: string };

const META_VM = "vm-testbed.vm";
const META_RUN = "vm-testbed.run";

/** The Ceph side: RBD images of persistent-ha VMs, their locks, blocklisting. */
export class CephVolumes {
  constructor(
    readonly storage: CephStorage,
    private readonly runner: DiskRunner,
    private readonly timeoutMs: number,
  ) {}

  private rbd(args: string[]): Promise<string> {
    return this.runner.run(["rbd", "--conf", this.storage.conf, ...args], this.timeoutMs);
  }

  private spec(image: string): string {
    return `${this.storage.pool}/${checkName("image", image)}`;
  }

  /** The monitor address the conf names (for error messages). */
  monitor(): string {
    try {
      return /^\s*mon[ _]host\s*=\s*(.+)$/m.exec(readFileSync(this.storage.conf, "utf8"))?.[1]?.trim() ?? "(no mon host in the conf)";
    } catch {
      return "(conf unreadable)";
    }
  }

  /** Throws, naming the conf and the monitor, unless the cluster answers and the pool exists. */
  async check(): Promise<void> {
    if (!existsSync(this.storage.conf)) throw new StorageUnavailable(`Ceph is not reachable: its conf ${this.storage.conf} does not exist`);
    try {
      await this.runner.run(["ceph", "--conf", this.storage.conf, "--connect-timeout", "10", "osd", "pool", "stats", this.storage.pool], Math.max(this.timeoutMs, 15_000));
    } catch (error) {
      throw new StorageUnavailable(`Ceph is not reachable (conf ${this.storage.conf}, monitor ${this.monitor()}, pool ${this.storage.pool}): ${(error as Error).message}`);
    }
  }

  async exists(image: string): Promise<boolean> {
    const names = JSON.parse(await this.rbd(["ls", "--format", "json", this.storage.pool])) as string[];
    return names.includes(image);
  }

  /** The VM an image belongs to according to its metadata, or null. */
  async owner(image: string): Promise<string | null> {
    try {
      return (await this.rbd(["image-meta", "get", this.spec(image), META_VM])).trim() || null;
    } catch (error) {
      if (/No such file|failed to get metadata|does not exist|\(2\)/i.test((error as Error).message)) return null;
      throw error;
    }
  }

  async assertOwned(image: string, vm: string): Promise<void> {
    const owner = await this.owner(image);
    if (owner === null) throw new DiskNotOurs(`Ceph: image ${this.spec(image)} has no vm-testbed metadata; refusing to use or delete it`);
    if (owner !== vm) throw new DiskNotOurs(`Ceph: image ${this.spec(image)} belongs to VM ${owner}, not ${vm}; refusing to use or delete it`);
  }

  /** The VM's image: kept if it is there and ours, else imported from the base disk and marked. */
  async ensure(image: string, vm: string, run: string, baseImage: string): Promise<AttachedDisk> {
    const disk: AttachedDisk = { type: "rbd", pool: this.storage.pool, image: checkName("image", image), conf: this.storage.conf };
    if (this.runner.dryRun) return disk;
    if (await this.exists(image)) {
      await this.assertOwned(image, vm);
      return disk;
    }
    await this.rbd(["import", "--no-progress", baseImage, this.spec(image)]);
    await this.rbd(["image-meta", "set", this.spec(image), META_VM, vm]);
    await this.rbd(["image-meta", "set", this.spec(image), META_RUN, run]);
    return disk;
  }

  /** The addresses of the clients holding the image's exclusive lock (`rbd lock ls`). */
  async lockHolders(image: string): Promise<string[]> {
    const text = (await this.rbd(["lock", "ls", "--format", "json", this.spec(image)])).trim();
    return parseLockHolders(text);
  }

  /** Blocklists every holder of the image's lock (storage fencing); resolves with their addresses. */
  async fence(image: string, vm: string): Promise<string[]> {
    if (this.runner.dryRun) return [];
    await this.assertOwned(image, vm);
    const holders = await this.lockHolders(image);
    for (const address of holders) await this.runner.run(["ceph", "--conf", this.storage.conf, "osd", "blocklist", "add", address], this.timeoutMs);
    return holders;
  }

  async remove(image: string, vm: string): Promise<void> {
    if (this.runner.dryRun || !(await this.exists(image))) return;
    await this.assertOwned(image, vm);
    await this.rbd(["rm", "--no-progress", this.spec(image)]);
  }
}

/** `rbd lock ls --format json`: `[{"locker":"client.14356","id":"…","address":"127.0.0.1:0/2427221780"}]` (or an object by id in older releases). */
export function parseLockHolders(text: string): string[] {
  if (text === "") return [];
  const data = JSON.parse(text) as unknown;
  const entries = Array.isArray(data) ? data : typeof data === "object" && data !== null ? Object.values(data) : [];
  const addresses = entries.map((e) => (e as { address?: unknown }).address).filter((a): a is string => typeof a === "string" && /^[0-9A-Fa-f.:\[\]]+\/\d+$/.test(a));
  return [...new Set(addresses)];
}

/** Disk files in a host's own directory: vps disks (kept) and ephemeral overlays (fresh at each placement). */
export class HostFiles {
  constructor(
    private readonly runner: DiskRunner,
    private readonly timeoutMs: number,
  ) {}

  path(dir: string, domain: string, model: "vps" | "ephemeral"): string {
    return join(dir, `${checkName("domain", domain)}.${model === "vps" ? "img" : "qcow2"}`);
  }

  owner(file: string): { vm: string; run: string } | null {
    try {
      const data = JSON.parse(readFileSync(`${file}.owner`, "utf8")) as { vm?: unknown; run?: unknown };
      return typeof data.vm === "string" ? { vm: data.vm, run: typeof data.run === "string" ? data.run : "" } : null;
    } catch {
      return null;
    }
  }

  assertOwned(file: string, vm: string): void {
    const owner = this.owner(file);
    if (owner === null) throw new DiskNotOurs(`disk file ${file} has no vm-testbed owner file (${file}.owner); refusing to use or delete it`);
    if (owner.vm !== vm) throw new DiskNotOurs(`disk file ${file} belongs to VM ${owner.vm}, not ${vm}; refusing to use or delete it`);
  }

  /**
   * vps: the VM's disk file, kept if it is there and ours, else copied from the base disk.
   * ephemeral: a new overlay over the base disk, replacing the VM's old one (which must be ours).
   */
  async ensure(dir: string, domain: string, vm: string, run: string, model: "vps" | "ephemeral", baseImage: string): Promise<AttachedDisk> {
    const file = this.path(dir, domain, model);
    const disk: AttachedDisk = { type: "file", path: file, format: model === "vps" ? "raw" : "qcow2" };
    if (this.runner.dryRun) return disk;
    if (existsSync(file)) {
      this.assertOwned(file, vm);
      if (model === "vps") return disk;
      rmSync(file);
    } else if (existsSync(`${file}.owner`)) rmSync(`${file}.owner`);
    if (model === "vps") await this.runner.run(["cp", "--sparse=always", baseImage, file], this.timeoutMs);
    else await this.runner.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", baseImage, "-F", "raw", file], this.timeoutMs);
    writeFileSync(`${file}.owner`, `${JSON.stringify({ vm, run })}\n`);
    // The hosts' QEMUs run as the owner of the host's directory (nobody under hosts.sh as root).
    const { uid, gid } = statSync(dir);
    if (process.getuid?.() === 0) chownSync(file, uid, gid);
    return disk;
  }

  remove(dir: string, domain: string, vm: string, model: "vps" | "ephemeral"): void {
    if (this.runner.dryRun) return;
    const file = this.path(dir, domain, model);
    if (!existsSync(file)) return;
    this.assertOwned(file, vm);
    rmSync(file);
    rmSync(`${file}.owner`, { force: true });
  }
}

/** The kernel command line of the tiny guest: `stay` prints a tick every 2 s after its boot count. */
export const GUEST_CMDLINE = "console=ttyS0 quiet testbed.mode=stay";

/** The guest's memory: 64 MiB fails silently (nothing on the console); 80 MiB is the least measured to boot. */
export const GUEST_MIN_MEMORY_MIB = 80;

/** The serial log of a VM's domain (one file for all its boots, on every host: QEMU appends). */
export function serialLogPath(guest: GuestImage, domain: string): string {
  return join(guest.serialDir, `${checkName("domain", domain)}.log`);
}

/** The kind of disk a service model's VM gets. */
export function diskModel(model: ServiceModel): "rbd" | "vps" | "ephemeral" {
  return model === "persistent-ha" ? "rbd" : model;
}
