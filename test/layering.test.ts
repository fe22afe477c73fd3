import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The floors of the house, lowest first: a folder of `src/` may import only from folders on a
 * lower floor (and from itself). Folders on one floor are peers and do not import each other.
 *
 *   kernel → model → pure policies and maths → metrics → controller → scenario
 *          → event store → recording → infrastructure adapters (sim, libvirt)
 *          → replay, experiments → charts → report → CLI
 */
export const FLOORS: readonly (readonly string[])[] = [
  ["kernel"],
  ["model"],
  ["placement", "migration", "reliability", "workload", "stats"],
  ["metrics"],
  ["controller"],
  ["scenario"],
  ["event-store"],
  ["recording"],
  ["adapters/sim", "adapters/libvirt"],
  ["replay", "experiment"],
  ["charts"],
  ["report"],
  ["cli"],
];

const SRC = join(dirname(fileURLToPath(import.meta.url)), "..", "src");

/** The folder a source file belongs to: its first path segment, or two under `adapters/`. */
export function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts[0] === "adapters" ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && !entry.name.endsWith(".d.ts") ? [join(dir, entry.name)] : [],
  );
}

/** Every import (and `export … from`) of one folder from another, type-only ones included. */
export function folderImports(files: readonly string[], read: (file: string) => string = (f) => readFileSync(f, "utf8")): { from: string; to: string; file: string }[] {
  const edges: { from: string; to: string; file: string }[] = [];
  for (const file of files) {
    const code = read(file).replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
    for (const match of code.matchAll(/(?:from|import\()\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = join(dirname(file), match[1]!);
      const from = folderOf(file);
      const to = folderOf(target);
      if (from !== to) edges.push({ from, to, file: relative(SRC, file) });
    }
  }
  return edges;
}

/** The imports that do not go to a lower floor: named, with the file that makes them. */
export function layeringViolations(edges: readonly { from: string; to: string; file: string }[]): string[] {
  const floor = new Map(FLOORS.flatMap((folders, i) => folders.map((f) => [f, i] as const)));
  const problems: string[] = [];
  for (const { from, to, file } of edges) {
    const a = floor.get(from);
    const b = floor.get(to);
    if (a === undefined) problems.push(`${file}: folder ${from} is on no floor (add it to FLOORS)`);
    else if (b === undefined) problems.push(`${file}: imports ${to}, a folder on no floor`);
    else if (b >= a) problems.push(`${file}: ${from} (floor ${a}) imports ${to} (floor ${b}): ${b === a ? "peers do not import each other" : "an upward import"}`);
  }
  return [...new Set(problems)];
}

/** A cycle in the folder graph, as a path, or null. */
export function folderCycle(edges: readonly { from: string; to: string }[]): string[] | null {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, new Set());
    next.get(from)!.add(to);
  }
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === "done") return null;
    if (state.get(node) === "open") return [...path.slice(path.indexOf(node)), node];
    state.set(node, "open");
    path.push(node);
    for (const to of next.get(node) ?? []) {
      const cycle = visit(to);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of [...next.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

describe("the folders of src/", () => {
  const files = sourceFiles(SRC);
  const edges = folderImports(files);

  it("are each on one floor", () => {
    const folders = new Set(files.map(folderOf));
    const placed = new Set(FLOORS.flat());
    expect([...folders].filter((f) => !placed.has(f) && f !== "types")).toEqual([]);
  });

  it("import only from lower floors", () => {
    expect(layeringViolations(edges)).toEqual([]);
  });

  it("form an acyclic graph", () => {
    expect(folderCycle(edges)).toBeNull();
  });

  it("the check catches one upward import, and the circle it closes", () => {
    const file = join(SRC, "model", "events.ts");
    const upward = folderImports([...files], (f) => (f === file ? `import type { X } from "../controller/port.js";\n${readFileSync(f, "utf8")}` : readFileSync(f, "utf8")));
    expect(layeringViolations(upward)).toEqual(["model/events.ts: model (floor 1) imports controller (floor 4): an upward import"]);
    expect(folderCycle(upward)).not.toBeNull();
  });
});
