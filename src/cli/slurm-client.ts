import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * The few Slurm client commands the testbed uses — `sbatch --parsable` to submit, `squeue` to
 * follow an array's tasks — run as argument arrays, never through a shell. No `sacct`: many
 * clusters (and a single-node test cluster) have no accounting database; `squeue --states=all`
 * lists finished tasks for `MinJobAge` (default 300 s) after they end.
 */
export class SlurmError extends Error {}

/** The commands a Slurm job needs that are not on PATH. */
export function missingSlurmCommands(path = process.env.PATH ?? ""): string[] {
  return ["sbatch", "squeue"].filter((command) => !path.split(delimiter).some((dir) => dir !== "" && isExecutable(join(dir, command))));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Submits a batch script; returns the job id. Slurm's refusal is thrown with its own message. */
export function sbatch(args: readonly string[], script: string): string {
  const r = spawnSync("sbatch", ["--parsable", ...args, script], { encoding: "utf8", timeout: 120_000 });
  if (r.error) throw new SlurmError(`sbatch: ${r.error.message}`);
  if (r.status !== 0) throw new SlurmError(`sbatch refused the job (exit ${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
  const id = r.stdout.trim().split(";")[0]!;
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch --parsable printed "${r.stdout.trim()}", expected a job id`);
  return id;
}

/** Slurm's job states that are final (a requeued task goes back to PENDING). */
const FINAL_STATES = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT", "REVOKED"]);

export interface ArrayState {
  /** Task index → state, for the tasks squeue still knows. */
  tasks: Map<number, string>;
  /** Tasks not in a final state (pending, running, completing, requeued, suspended…). */
  active: number;
}

/**
 * The state of every task of an array job (`squeue --states=all --array`), or null once Slurm no
 * longer knows the job (purged after MinJobAge, or never existed). Only lines whose job name is
 * `name` count: job ids restart when a cluster's state is wiped, and another job may reuse one.
 */
export function arrayState(jobId: string, name: string): ArrayState | null {
  const r = spawnSync("squeue", ["-h", "--states=all", "--array", "-j", jobId, "-o", "%K|%T|%j"], { encoding: "utf8", timeout: 60_000 });
  if (r.error) throw new SlurmError(`squeue: ${r.error.message}`);
  if (r.status !== 0) {
    if (/invalid job id/i.test(r.stderr)) return null;
    throw new SlurmError(`squeue -j ${jobId} failed (exit ${r.status}): ${r.stderr.trim()}`);
  }
  const tasks = new Map<number, string>();
  for (const line of r.stdout.split("\n")) {
    const [index, state, jobName] = line.trim().split("|");
    if (jobName !== name || index === undefined || state === undefined) continue;
    // A task that was never split off the pending rest is shown as a range: "3-7" or "[3-7%2]".
    for (const part of index.replace(/[[\]]/g, "").split("%")[0]!.split(",")) {
      const [from, to] = part.split("-").map(Number);
      if (from === undefined || !Number.isInteger(from)) continue;
      for (let i = from; i <= (to ?? from); i++) tasks.set(i, state.replace(/\+$/, ""));
    }
  }
  if (tasks.size === 0) return null;
  let active = 0;
  for (const state of tasks.values()) if (!FINAL_STATES.has(state)) active++;
  return { tasks, active };
}

/** The CPUs of a partition (the default one if none is named), from sinfo; null if sinfo cannot tell. */
export function partitionCpus(partition: string | undefined): number | null {
  const r = spawnSync("sinfo", ["-h", "-o", "%C|%P", ...(partition !== undefined ? ["-p", partition] : [])], { encoding: "utf8", timeout: 60_000 });
  if (r.error || r.status !== 0) return null;
  let total = 0;
  for (const line of r.stdout.split("\n")) {
    const [cpus, name] = line.trim().split("|");
    if (cpus === undefined || name === undefined || (partition === undefined && !name.endsWith("*"))) continue;
    total += Number(cpus.split("/")[3]) || 0; // allocated/idle/other/total
  }
  return total > 0 ? total : null;
}
