/**
 * The Slurm path against the local runner on the same 100-run experiment (the busy scenario,
 * 20 hosts, 400 h, persistent-ha, 100 seeds; ≈ 22 k events a run): `testbed run --jobs 2`
 * against `testbed run --slurm` on the single-node Slurm of `test/slurm/cluster.sh` (this
 * machine's CPUs), each into a fresh database, alternating, `reps` times. The Slurm time covers
 * planning, sbatch, the tasks (each a Node process running its runs into its shard), waiting on
 * squeue (every 2 s) and the merge. Prints one JSON line per measurement and the ratio of the
 * medians. Not part of `npm run bench`: it needs Slurm and root (the cluster's daemons).
 *
 *   node dist/bench/slurm.js [stored|no-events] [reps] [-- extra flags for --slurm, e.g. --tasks 4]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { busyScenarioText, report } from "./common.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const CLI = join(root, "dist", "src", "cli", "main.js");
const CLUSTER = join(root, "test", "slurm", "cluster.sh");

const mode = process.argv[2] ?? "no-events";
const reps = Number(process.argv[3] ?? 3);
const dash = process.argv.indexOf("--");
const extra = dash >= 0 ? process.argv.slice(dash + 1) : [];
const events = mode === "stored" ? [] : ["--no-events"];

const dir = mkdtempSync("/tmp/tbb-");
const up = spawnSync("bash", [CLUSTER, "up", dir], { encoding: "utf8" });
if (up.status !== 0) {
  process.stderr.write(`cluster.sh up failed: ${up.stderr}\n`);
  process.exit(1);
}
const env = { ...process.env, SLURM_CONF: join(dir, "slurm.conf") };
try {
  const file = join(dir, "bench-100.yaml");
  writeFileSync(file, `${busyScenarioText("bench-100", 20, 400)}experiment:\n  replications: 100\n`);
  const times: Record<"local" | "slurm", number[]> = { local: [], slurm: [] };
  for (let rep = 0; rep < reps; rep++) {
    for (const way of ["local", "slurm"] as const) {
      const db = join(dir, `${way}-${rep}`, "runs.db");
      const args = way === "local" ? ["--jobs", "2"] : ["--slurm", ...extra];
      const start = performance.now();
      const r = spawnSync(process.execPath, [CLI, "run", file, "--db", db, "--quiet", "--json", ...events, ...args], { encoding: "utf8", env, maxBuffer: 1 << 28 });
      const ms = performance.now() - start;
      if (r.status !== 0) throw new Error(`${way} failed (exit ${r.status}): ${r.stderr}`);
      if (way === "slurm") process.stderr.write(r.stderr.split("\n").filter((l) => l.startsWith("submitted")).join("\n") + "\n");
      times[way].push(ms);
      report(`experiment-100-runs-${way}${mode === "stored" ? "-stored" : ""}`, 100, ms);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  process.stdout.write(`${JSON.stringify({ localMs: median(times.local), slurmMs: median(times.slurm), ratio: median(times.slurm) / median(times.local) })}\n`);
} finally {
  spawnSync("bash", [CLUSTER, "down", dir], { encoding: "utf8" });
  rmSync(dir, { recursive: true, force: true });
}
