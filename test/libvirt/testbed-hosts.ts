import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The test bed's hosts for tests: `hosts.sh` (beside this file) starts unprivileged libvirtd
 * daemons, one per host, and writes their inventory. `down()` destroys their guests and kills
 * them; it also runs when the test process exits, so a failing test leaves nothing behind.
 */
export const HOSTS_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "hosts.sh");

/** The Debian packages the libvirt tests need (installed by .ci/run). */
export const LIBVIRT_PACKAGES = ["libvirt-clients", "libvirt-daemon", "libvirt-daemon-driver-qemu", "qemu-system-x86", "tini"];
const COMMANDS = ["virsh", "libvirtd", "qemu-system-x86_64", "tini"];
/** And those the real guest and its Ceph volumes need (test/libvirt/guest/build.sh, ceph.sh; installed by .ci/run). */
export const CEPH_PACKAGES = ["ceph-mon", "ceph-osd", "ceph-mgr", "ceph-common", "qemu-block-extra", "qemu-utils", "busybox-static", "cpio", "e2fsprogs"];
const CEPH_COMMANDS = ["ceph-mon", "ceph-osd", "ceph-mgr", "ceph", "rbd", "qemu-img", "cpio", "mke2fs"];

/** Which of the commands the libvirt tests need are missing (with `ceph`: and those of the guest and Ceph). */
export function missingLibvirtCommands(ceph = false): string[] {
  return [...COMMANDS, ...(ceph ? CEPH_COMMANDS : [])].filter((c) => spawnSync("sh", ["-c", `command -v ${c}`], { encoding: "utf8" }).status !== 0 && spawnSync("sh", ["-c", `test -x /usr/sbin/${c}`]).status !== 0);
}

/**
 * Whether to run the libvirt tests: yes when the tools are there. Without them they are skipped
 * on a developer's machine, but in CI (`CI` set) they run — and fail, naming what is missing.
 */
export function runLibvirtTests(): boolean {
  return missingLibvirtCommands().length === 0 || process.env.CI !== undefined;
}

/** The same for the tests with the real guest and Ceph. */
export function runCephTests(): boolean {
  return missingLibvirtCommands(true).length === 0 || process.env.CI !== undefined;
}

const live = new Set<TestbedHosts>();
process.on("exit", () => {
  for (const hosts of live) hosts.down();
});

export class TestbedHosts {
  readonly inventoryFile: string;
  private stopped = false;

  private constructor(readonly dir: string, readonly names: string[]) {
    this.inventoryFile = join(dir, "inventory.yaml");
    live.add(this);
  }

  /**
   * Starts `n` daemons h1..hn (with `ceph`: and the real guest and a Ceph cluster, `hosts.sh up
   * DIR N --ceph`); throws (naming the missing packages) if they are not installed.
   */
  static up(n: number, storage: "ceph" | null = null): TestbedHosts {
    const missing = missingLibvirtCommands(storage === "ceph");
    const packages = [...LIBVIRT_PACKAGES, ...(storage === "ceph" ? CEPH_PACKAGES : [])];
    if (missing.length > 0) throw new Error(`libvirt${storage ? " or Ceph" : ""} is not installed (missing ${missing.join(", ")}): apt-get install --no-install-recommends ${packages.join(" ")}`);
    const dir = mkdtempSync("/tmp/tbh-");
    const hosts = new TestbedHosts(dir, Array.from({ length: n }, (_, i) => `h${i + 1}`));
    const r = spawnSync("bash", [HOSTS_SCRIPT, "up", dir, String(n), ...(storage ? [`--${storage}`] : [])], { encoding: "utf8", timeout: storage ? 240_000 : 60_000 });
    if (r.status !== 0) {
      hosts.down();
      throw new Error(`hosts.sh up failed: ${r.stderr}`);
    }
    return hosts;
  }

  uri(host: string): string {
    return `qemu:///session?socket=${this.socket(host)}`;
  }

  socket(host: string): string {
    return join(this.dir, host, "run", "libvirt", "libvirt-sock");
  }

  /** Writes an inventory for the same daemons with other settings (libvirt's test driver, timeouts ...). */
  writeInventory(name: string, transform: (text: string) => string): string {
    const file = join(this.dir, name);
    writeFileSync(file, transform(readFileSync(this.inventoryFile, "utf8")));
    return file;
  }

  /** Kills the host as a power cut would: its daemon and its QEMUs, SIGKILL. */
  kill(host: string): void {
    this.script("kill", host);
  }

  restart(host: string): void {
    this.script("restart", host);
  }

  /** Stops the host's daemon (SIGSTOP): it no longer answers, its guests run on. */
  freeze(host: string): void {
    this.script("freeze", host);
  }

  thaw(host: string): void {
    this.script("thaw", host);
  }

  /** Stops (gracefully) or starts OSD `n` (0..2) of the hosts' Ceph cluster. */
  osd(action: "stop" | "start", n: number): void {
    const r = spawnSync("bash", [join(dirname(HOSTS_SCRIPT), "ceph.sh"), `osd-${action}`, join(this.dir, "ceph"), String(n)], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`ceph.sh osd-${action} ${n} failed: ${r.stderr}`);
  }

  /** Destroys every guest, kills every daemon, removes the directory. Idempotent. */
  down(): void {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    spawnSync("bash", [HOSTS_SCRIPT, "down", this.dir], { encoding: "utf8", timeout: 120_000 });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private script(command: string, host: string): void {
    const r = spawnSync("bash", [HOSTS_SCRIPT, command, this.dir, host], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`hosts.sh ${command} ${host} failed: ${r.stderr}`);
  }
}
