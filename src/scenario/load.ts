import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { createHash } from "node:crypto";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { canonicalJson } from "../model/canonical.js";
import { LIMITS } from "./limits.js";
import { resolveScenario, type RunConfig } from "./resolve.js";
import { failureRow, RENAMED_FIELDS, requestRow, scenarioSchema, type Scenario } from "./schema.js";

/** A scenario file that cannot be used; every problem is one line naming file, field and expectation. */
export class ScenarioError extends Error {
  readonly problems: string[];
  constructor(readonly file: string, problems: string[]) {
    // Bounded: a binary file or a huge value must not echo kilobytes back.
    const shown = problems.slice(0, MAX_PROBLEMS).map((p) => clip(p, MAX_PROBLEM_CHARS));
    if (problems.length > MAX_PROBLEMS) shown.push(`… and ${problems.length - MAX_PROBLEMS} more problems`);
    super(shown.map((p) => `${file}: ${p}`).join("\n"));
    this.problems = shown;
  }
}

const MAX_PROBLEMS = 20;
const MAX_PROBLEM_CHARS = 300;

function clip(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}

/**
 * Reads a text file of at most `maxBytes` (checked before reading: a 50 MB file is refused at
 * once, not parsed); `what` names it in the error.
 */
export function readBoundedFile(file: string, maxBytes: number, what: string): string {
  try {
    const size = statSync(file).size;
    if (size > maxBytes) throw new ScenarioError(file, [`expected ${what} of at most ${maxBytes / 1024 / 1024} MiB, got ${(size / 1024 / 1024).toFixed(1)} MiB`]);
    return readFileSync(file, "utf8");
  } catch (error) {
    if (error instanceof ScenarioError) throw error;
    throw new ScenarioError(file, [`cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
}

/**
 * YAML text to plain data, with the alias count bounded (`LIMITS.yamlAliases`: an alias bomb
 * stops here) and every YAML problem — a syntax error, an undefined alias, too many aliases —
 * reported as one line `where: not valid YAML: …` instead of an exception.
 */
export function yamlToData(file: string, text: string, where = ""): unknown {
  const lines = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  const yamlError = document.errors[0];
  if (yamlError) {
    // Only the first: later YAML errors are usually echoes of it.
    const { line, col } = lines.linePos(yamlError.pos[0]);
    throw new ScenarioError(file, [`${where}line ${line}, column ${col}: not valid YAML: ${clip(yamlError.message.split("\n")[0]!, 120)}`]);
  }
  try {
    return document.toJS({ maxAliasCount: LIMITS.yamlAliases });
  } catch (error) {
    // The yaml package throws a ReferenceError for an undefined alias or an alias bomb.
    throw new ScenarioError(file, [`${where}not valid YAML: ${clip((error as Error).message.split("\n")[0]!, 120)}`]);
  }
}

export interface LoadedScenario {
  file: string;
  /** The file as written. */
  text: string;
  /** The validated scenario, defaults filled in. */
  scenario: Scenario;
  /** Canonical JSON of the scenario without its seed and experiment section: what the hash covers. */
  canonical: string;
  /** sha256 of `canonical`: equal hashes mean the same experiment, whatever the formatting. */
  hash: string;
  /** The scenario resolved for running: every default filled in (`./resolve.ts`). */
  config: RunConfig;
}

/** What a run needs of a loaded scenario: what it records about it, and its resolved configuration (plain data). */
export type ResolvedScenario = Pick<LoadedScenario, "file" | "text" | "canonical" | "hash" | "config">;

/** A scenario file read and parsed as YAML, before overrides and validation: parsed once, validated per setting. */
export interface ScenarioDocument {
  file: string;
  text: string;
  data: Record<string, unknown>;
  /** Trace files read so far, by path: each is read once however many cells use it. */
  traces: Map<string, string>;
}

export function loadScenarioFile(file: string, overrides: readonly string[] = []): LoadedScenario {
  return parseScenario(file, readBoundedFile(file, LIMITS.scenarioBytes, "a scenario file"), overrides);
}

/**
 * Parses and validates a scenario. `overrides` are `path=value` settings (`storage.replicas=2`,
 * `cluster.hosts[0].count=50`; the value is YAML) applied before validation, as if written in the
 * file; they are part of the scenario hash and recorded after the text as comments.
 */
export function parseScenario(file: string, text: string, overrides: readonly string[] = []): LoadedScenario {
  return validateScenario(readScenarioDocument(file, text), overrides);
}

/** Parses a scenario file's YAML into a mapping (not yet validated). */
export function readScenarioDocument(file: string, text: string): ScenarioDocument {
  if (text.length > LIMITS.scenarioBytes) throw new ScenarioError(file, [`expected a scenario file of at most ${LIMITS.scenarioBytes / 1024 / 1024} MiB, got ${(text.length / 1024 / 1024).toFixed(1)} MiB`]);
  const data = yamlToData(file, text);
  if (data === null || data === undefined) throw new ScenarioError(file, ["expected a YAML mapping with the scenario, but the file is empty"]);
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new ScenarioError(file, [`expected a YAML mapping with the scenario, got ${describe(data)}`]);
  }
  return { file, text, data: data as Record<string, unknown>, traces: new Map() };
}

/** A scenario given as the object a YAML file would hold (tests, notebooks), validated and resolved. */
export function loadScenarioObject(data: unknown, file = "(scenario object)"): LoadedScenario {
  return validateScenario({ file, text: JSON.stringify(data), data: data as Record<string, unknown>, traces: new Map() });
}

/**
 * Validates a parsed scenario with `overrides` applied (to a copy: the document stays as read),
 * reading its trace files, and resolves it.
 */
export function validateScenario(document: ScenarioDocument, overrides: readonly string[] = []): LoadedScenario {
  const { file, text } = document;
  const data = structuredClone(document.data);
  for (const setting of overrides) applyOverride(file, data, setting);
  readTraces(file, data, document.traces);
  const renamed = renamedFields(data);
  if (renamed.length > 0) throw new ScenarioError(file, renamed);
  const parsed = scenarioSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new ScenarioError(file, parsed.error.issues.flatMap(formatIssue));
  const scenario = parsed.data;
  // Neither the seed nor the experiment section changes what one run computes: runs of a cell of
  // an experiment hash like the scenario run alone with the same settings.
  const { seed: _seed, experiment: _experiment, ...hashed } = scenario;
  const canonical = canonicalJson(hashed);
  const recorded = overrides.length === 0 ? text : `${text.replace(/\n?$/, "\n")}${overrides.map((o) => `# --set ${o}\n`).join("")}`;
  return { file, text: recorded, scenario, canonical, hash: createHash("sha256").update(canonical).digest("hex"), config: resolveScenario(scenario) };
}

/** Fields of the file under a name that was changed: each named with its new name. */
function renamedFields(data: Record<string, unknown>): string[] {
  return Object.entries(RENAMED_FIELDS).flatMap(([old, now]) => {
    const [section, key] = old.split(".") as [string, string];
    const holder = data[section];
    return holder !== null && typeof holder === "object" && key in holder ? [`${old}: renamed, expected ${now} instead`] : [];
  });
}

/**
 * Replaces `failures.trace` and `workload.trace` given as file names (relative to the scenario)
 * by their rows. A trace is CSV with a header naming the columns; a number column may be empty
 * only for `lifetimeHours` (wanted to the end). Each bad cell is reported as `file: line N: column`.
 */
function readTraces(file: string, data: Record<string, unknown>, cache: Map<string, string>): void {
  const traces: [string, string, z.ZodType][] = [
    ["failures", "trace", failureRow],
    ["workload", "trace", requestRow],
  ];
  for (const [section, key, schema] of traces) {
    const holder = data[section];
    if (holder === null || typeof holder !== "object") continue;
    const value = (holder as Record<string, unknown>)[key];
    if (typeof value !== "string") continue;
    const path = resolve(dirname(file), value);
    let text = cache.get(path);
    if (text === undefined) {
      try {
        text = readBoundedFile(path, LIMITS.traceBytes, "a trace file");
      } catch (error) {
        throw new ScenarioError(file, [`${section}.${key}: cannot use the trace ${value}: ${(error as ScenarioError).problems[0]}`]);
      }
      cache.set(path, text);
    }
    let records: Record<string, string>[];
    try {
      records = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, comment: "#" });
    } catch (error) {
      throw new ScenarioError(path, [(error as Error).message]);
    }
    const problems: string[] = [];
    const rows = records.map((record, i) => {
      const row = Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v === "" ? null : /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(v) ? Number(v) : v]));
      const parsed = schema.safeParse(row, { reportInput: true });
      if (!parsed.success) problems.push(...parsed.error.issues.flatMap(formatIssue).map((p) => `line ${i + 2}: ${p}`));
      return parsed.success ? parsed.data : row;
    });
    if (problems.length > 0) throw new ScenarioError(path, problems.slice(0, 10));
    (holder as Record<string, unknown>)[key] = rows;
  }
}

/** The document's data as written, with `overrides` applied (to a copy), before validation and defaults. */
export function documentWithOverrides(document: ScenarioDocument, overrides: readonly string[]): Record<string, unknown> {
  const data = structuredClone(document.data);
  for (const setting of overrides) applyOverride(document.file, data, setting);
  return data;
}

/** Keys that would reach an object's prototype instead of a field (`--set __proto__.x=1`). */
const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Sets `path=value` in the parsed scenario; intermediate mappings are created as needed. */
function applyOverride(file: string, data: Record<string, unknown>, setting: string): void {
  const match = /^([A-Za-z0-9_.[\]-]+)=(.*)$/s.exec(setting);
  if (!match) throw new ScenarioError(file, [`--set ${setting}: expected path=value, e.g. storage.replicas=2`]);
  const path = match[1]!.split(/\.|(?=\[)/).map((part) => (/^\[\d+\]$/.test(part) ? Number(part.slice(1, -1)) : part));
  if (path.some((part) => part === "")) throw new ScenarioError(file, [`--set ${setting}: expected a path like storage.replicas or cluster.hosts[0].count`]);
  const reserved = path.find((part) => typeof part === "string" && RESERVED_KEYS.has(part));
  if (reserved !== undefined) throw new ScenarioError(file, [`--set ${setting}: expected a path of scenario fields, got ${String(reserved)}`]);
  const value: unknown = yamlToData(file, match[2]!, `--set ${setting}: `);
  let node: Record<string | number, unknown> = data;
  for (const [i, key] of path.slice(0, -1).entries()) {
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (next === undefined) node[key] = typeof path[i + 1] === "number" ? [] : {};
    else if (next === null || typeof next !== "object") {
      throw new ScenarioError(file, [`--set ${setting}: ${formatPath(path.slice(0, i + 1))} is ${describe(next)}, not a mapping or a list`]);
    }
    node = node[key] as Record<string | number, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** `cluster.hosts[2].memoryGiB` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  return out === "" ? "(top level)" : out;
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
  const where = formatPath(issue.path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key (not part of the scenario format)`);
    case "invalid_union": {
      const discriminator = (issue as { discriminator?: string }).discriminator;
      if (discriminator !== undefined) {
        const options = ((issue as { options?: unknown[] }).options ?? []).join(" | ");
        const value = input !== null && typeof input === "object" ? (input as Record<string, unknown>)[discriminator] : input;
        return [`${where}: expected one of ${options}, got ${describe(value)}`];
      }
      return [`${where}: ${issue.message}, got ${describe(input)}`];
    }
    case "custom":
      return [`${where}: ${issue.message}`];
    default: {
      const message = issue.message.startsWith("expected")
        ? issue.message
        : issue.code === "invalid_type"
          ? `expected ${issue.expected}`
          : issue.message;
      return [`${where}: ${message}, got ${describe(input)}`];
    }
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing (the field is missing)";
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(clip(value, 60));
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}
