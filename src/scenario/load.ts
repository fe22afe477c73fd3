import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { canonicalJson } from "../model/canonical.js";
import { scenarioSchema, type Scenario } from "./schema.js";

/** A scenario file that cannot be used; every problem is one line naming file, field and expectation. */
export class ScenarioError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(problems.map((p) => `${file}: ${p}`).join("\n"));
  }
}

export interface LoadedScenario {
  file: string;
  /** The file as written. */
  text: string;
  /** The validated scenario, defaults filled in. */
  scenario: Scenario;
  /** Canonical JSON of the scenario without its seed: what the hash covers. */
  canonical: string;
  /** sha256 of `canonical`: equal hashes mean the same experiment, whatever the formatting. */
  hash: string;
}

export function loadScenarioFile(file: string): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ScenarioError(file, [`cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  return parseScenario(file, text);
}

export function parseScenario(file: string, text: string): LoadedScenario {
  const lines = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  const yamlError = document.errors[0];
  if (yamlError) {
    // Only the first: later YAML errors are usually echoes of it.
    const { line, col } = lines.linePos(yamlError.pos[0]);
    throw new ScenarioError(file, [`line ${line}, column ${col}: not valid YAML: ${yamlError.message.split("\n")[0]}`]);
  }
  const data: unknown = document.toJS();
  if (data === null || data === undefined) throw new ScenarioError(file, ["expected a YAML mapping with the scenario, but the file is empty"]);
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new ScenarioError(file, [`expected a YAML mapping with the scenario, got ${describe(data)}`]);
  }
  const parsed = scenarioSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new ScenarioError(file, parsed.error.issues.flatMap(formatIssue));
  const scenario = parsed.data;
  const { seed: _seed, ...hashed } = scenario;
  const canonical = canonicalJson(hashed);
  return { file, text, scenario, canonical, hash: createHash("sha256").update(canonical).digest("hex") };
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
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}
