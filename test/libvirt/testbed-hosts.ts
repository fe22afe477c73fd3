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

/** Which of the commands the libvirt tests need are missing. */
export function missingLibvirtCommands(): string[] {
  return COMMANDS.filter((c) => spawnSync("sh", ["-c", `command -v ${c}`], { encoding: "utf8" }).status !== 0 && spawnSync("sh", ["-c", `test -x /usr/sbin/${c}`]).status !== 0);
}

/**
 * Whether to run the libvirt tests: yes when the tools are there. Without them they are skipped
 * on a developer's machine, but in CI (`CI` set) they run — and fail, naming what is missing.
 */
export function runLibvirtTests(): boolean {
  return missingLibvirtCommands().length === 0 || process.env.CI !== undefined;
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

  /** Starts `n` daemons h1..hn; throws (naming the missing packages) if libvirt is not installed. */
  static up(n: number): TestbedHosts {
    const missing = missingLibvirtCommands();
    if (missing.length > 0) throw new Error(`libvirt is not installed (missing ${missing.join(", ")}): apt-get install --no-install-recommends ${LIBVIRT_PACKAGES.join(" ")}`);
    const dir = mkdtempSync("/tmp/tbh-");
    const hosts = new TestbedHosts(dir, Array.from({ length: n }, (_, i) => `h${i + 1}`));
    const r = spawnSync("bash", [HOSTS_SCRIPT, "up", dir, String(n)], { encoding: "utf8", timeout: 60_000 });
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

  /** Destroys every guest, kills every daemon, removes the directory. Idempotent. */
  down(): void {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    spawnSync("bash", [HOSTS_SCRIPT, "down", this.dir], { encoding: "utf8", timeout: 60_000 });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private script(command: string, host: string): void {
    const r = spawnSync("bash", [HOSTS_SCRIPT, command, this.dir, host], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`hosts.sh ${command} ${host} failed: ${r.stderr}`);
  }
}
