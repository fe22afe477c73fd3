import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SlurmIds } from "../event-store/event-store.js";

/** What a stored run records about the code that made it, and the wall clock for its timestamps. */
export interface Provenance {
  packageVersion: string;
  gitCommit: string | null;
  /** The Slurm array task computing the run, when it runs as one (`testbed run --slurm`). */
  slurm?: SlurmIds;
  /** Wall-clock time as ISO text, for `started_at`/`ended_at` only — never inside a simulation. */
  now(): string;
}

/** The package's root: two levels up from this file, in `src/` as in `dist/src/`. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === "vm-testbed") return dir;
    } catch {
      // not here; look further up
    }
    dir = dirname(dir);
  }
  throw new Error("cannot find the vm-testbed package.json");
}

export function currentProvenance(): Provenance {
  const root = packageRoot();
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
  const git = spawnSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" });
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" });
  const commit = git.status === 0 ? git.stdout.trim() + (dirty.status === 0 && dirty.stdout.trim() !== "" ? "-dirty" : "") : null;
  return { packageVersion: pkg.version, gitCommit: commit, now: () => new Date().toISOString() };
}
