import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CLI } from "../helpers.js";

/**
 * A single-node Slurm for tests: `cluster.sh` (beside this file) starts munged, slurmctld and
 * slurmd under a fresh directory. `down()` stops them; it also runs when the test process exits.
 */
export const CLUSTER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "cluster.sh");

/** The Debian packages the Slurm tests need (installed by .ci/run). */
export const SLURM_PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge", "tini"];
const COMMANDS = ["sbatch", "squeue", "scancel", "slurmctld", "slurmd", "munged", "tini"];

/** Which of the commands the Slurm tests need are missing. */
export function missingSlurmTestCommands(): string[] {
  return COMMANDS.filter((c) => spawnSync("sh", ["-c", `command -v ${c} || test -x /usr/sbin/${c}`]).status !== 0);
}

/**
 * Whether to run the Slurm tests: yes when the tools are there. Without them they are skipped
 * on a developer's machine, but in CI (`CI` set) they run — and fail, naming what is missing.
 */
export function runSlurmTests(): boolean {
  return missingSlurmTestCommands().length === 0 || process.env.CI !== undefined;
}

const live = new Set<SlurmCluster>();
process.on("exit", () => {
  for (const cluster of live) cluster.down();
});

export class SlurmCluster {
  private stopped = false;

  private constructor(readonly dir: string) {
    live.add(this);
  }

  /** Starts a fresh cluster; throws (naming the missing packages) if Slurm is not installed. */
  static up(): SlurmCluster {
    const missing = missingSlurmTestCommands();
    if (missing.length > 0) throw new Error(`Slurm is not installed (missing ${missing.join(", ")}): apt-get install --no-install-recommends ${SLURM_PACKAGES.join(" ")}`);
    // Short and directly under /tmp: munged needs DIR's parents o+x, slurm wants DIR ≤ 80 characters.
    const cluster = new SlurmCluster(mkdtempSync("/tmp/tbs-"));
    const r = spawnSync("bash", [CLUSTER_SCRIPT, "up", cluster.dir], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) {
      cluster.down();
      throw new Error(`cluster.sh up failed: ${r.stderr}`);
    }
    return cluster;
  }

  /** The environment a Slurm client needs (SLURM_CONF), on top of this process's. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, SLURM_CONF: join(this.dir, "slurm.conf") };
  }

  /** Runs a Slurm client command against this cluster. */
  client(command: string, ...args: string[]): SpawnSyncReturns<string> {
    return spawnSync(command, args, { encoding: "utf8", env: this.env, timeout: 60_000 });
  }

  /** Runs the built `testbed` CLI with this cluster's environment. */
  testbed(...args: string[]): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: this.env, timeout: 600_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Stops every job and daemon and removes the directory. Idempotent. */
  down(): void {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    spawnSync("bash", [CLUSTER_SCRIPT, "down", this.dir], { encoding: "utf8", timeout: 60_000 });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
