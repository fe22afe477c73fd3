import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The pure core, and the simulated infrastructure, must not read the clock, draw from an unseeded
 * source or reach the outside world: same scenario + seed ⇒ same log depends on it. This test
 * scans their sources (comments stripped) for the forbidden names; the rest (the libvirt adapter,
 * the event store, recording, experiments, charts, the CLI) may use them. Which folder may import
 * which is `layering.test.ts`.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const PURE_CORE = [
  "src/kernel",
  "src/model",
  "src/placement",
  "src/migration",
  "src/reliability",
  "src/workload",
  "src/stats",
  "src/metrics",
  "src/controller",
  "src/scenario/schema.ts",
  "src/scenario/defaults.ts",
  "src/scenario/resolve.ts",
  "src/adapters/sim",
];
/** Files of those folders that drive a run from outside it (they yield to Node's event loop between slices). */
const DRIVERS = new Set(["src/adapters/sim/run-scenario.ts"]);

const FORBIDDEN: Array<[RegExp, string]> = [
  [/\bMath\.random\b/, "Math.random (use the seeded Random)"],
  [/\bDate\.now\b/, "Date.now (use simulated time)"],
  [/\bnew Date\b/, "new Date (use simulated time)"],
  [/\bperformance\.now\b/, "performance.now (use simulated time)"],
  [/\bprocess\.hrtime\b/, "process.hrtime (use simulated time)"],
  [/\bcrypto\.(randomUUID|randomBytes|getRandomValues)\b/, "crypto randomness (use the seeded Random)"],
  [/\bfrom\s+["']node:/, "a node: import (side effects belong in adapters)"],
  [/\bimport\(\s*["']node:/, "a node: import (side effects belong in adapters)"],
  [/\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b/, "wall-clock timers (use the scheduler)"],
];

function sourceFiles(path: string): string[] {
  const full = join(ROOT, path);
  if (full.endsWith(".ts")) return [full];
  return readdirSync(full, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(path, entry.name)) : entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [join(full, entry.name)] : [],
  );
}

/** Removes comments so that a doc comment may mention what the code must not do. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

export function violations(source: string): string[] {
  const code = stripComments(source);
  return FORBIDDEN.filter(([pattern]) => pattern.test(code)).map(([, what]) => what);
}

describe("the pure core", () => {
  const files = PURE_CORE.flatMap(sourceFiles).filter((f) => !DRIVERS.has(relative(ROOT, f)));

  it("has source files to check", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))("%s uses no clock, no unseeded randomness and no I/O", (_name, file) => {
    expect(violations(readFileSync(file, "utf8"))).toEqual([]);
  });

  it("the check catches each forbidden use and ignores comments", () => {
    expect(violations("const x = Math.random();")).toEqual(["Math.random (use the seeded Random)"]);
    expect(violations("const t = Date.now();")).toHaveLength(1);
    expect(violations("const d = new Date();")).toHaveLength(1);
    expect(violations('import { readFileSync } from "node:fs";')).toHaveLength(1);
    expect(violations("setTimeout(f, 1);")).toHaveLength(1);
    expect(violations("/** never Math.random */\n// nor Date.now\nconst x = 1;")).toEqual([]);
  });
});
