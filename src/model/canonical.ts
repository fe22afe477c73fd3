/**
 * Canonical JSON: object keys sorted, Maps written as objects with sorted keys, Sets as arrays,
 * no whitespace.
 * Two states that are equal as data give the same text on every machine, so its hash can be
 * recorded with a run and checked by replay.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  writeCanonicalJson(value, (chunk) => parts.push(chunk));
  return parts.join("");
}

/** Characters gathered before they are handed to the writer: one call per value would cost more than the hashing. */
const CHUNK = 1 << 16;

/**
 * Writes the canonical JSON of `value` piece by piece, without building a sorted copy of it or
 * its whole text: the state hash of a 200 000-host world streams it into sha256 (issue 18). The
 * text is exactly `JSON.stringify` of the sorted copy (`canonicalJson` is this, joined): entries
 * whose value is undefined or a function are left out of objects and written as null in arrays.
 */
export function writeCanonicalJson(value: unknown, write: (chunk: string) => void): void {
  const writer = new CanonicalWriter(write);
  writer.value(value);
  writer.flush();
}

/** An object's keys in the order canonical JSON writes them, each with its quoted name. */
interface Shape {
  readonly keys: readonly string[];
  readonly names: readonly string[];
}

/** Shapes remembered per writer: a world has a handful (host, VM, volume, …); arbitrary data gets no more than this. */
const MAX_SHAPES = 256;

class CanonicalWriter {
  private out = "";
  /** Shapes by their number of keys, each with the keys as `Object.keys` gave them. */
  private readonly shapes = new Map<number, Array<{ own: string[]; shape: Shape }>>();
  private shapeCount = 0;

  constructor(private readonly write: (chunk: string) => void) {}

  flush(): void {
    if (this.out.length > 0) this.write(this.out);
    this.out = "";
  }

  value(value: unknown): void {
    if (this.out.length >= CHUNK) this.flush();
    if (typeof value === "string") this.out += JSON.stringify(value);
    else if (typeof value === "number") this.out += Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    else if (value === null || typeof value !== "object") this.out += JSON.stringify(value) ?? ""; // undefined alone: no text
    else if (value instanceof Map) this.map(value);
    // A Set's order is the order its members were added, itself a function of the event log.
    else if (Array.isArray(value) || value instanceof Set) this.list(value as Iterable<unknown>);
    else this.record(value as Record<string, unknown>);
  }

  private list(members: Iterable<unknown>): void {
    this.out += "[";
    let first = true;
    for (const member of members) {
      if (!first) this.out += ",";
      first = false;
      if (member === undefined || typeof member === "function" || typeof member === "symbol") this.out += "null";
      else this.value(member);
    }
    this.out += "]";
  }

  private record(record: Record<string, unknown>): void {
    const { keys, names } = this.shapeOf(Object.keys(record));
    this.out += "{";
    let first = true;
    for (let i = 0; i < keys.length; i++) {
      const member = record[keys[i]!];
      if (member === undefined || typeof member === "function" || typeof member === "symbol") continue;
      this.out += first ? names[i]! : `,${names[i]!}`;
      first = false;
      this.value(member);
    }
    this.out += "}";
  }

  private map(map: Map<unknown, unknown>): void {
    let byKey: Map<unknown, unknown> = map;
    const keys: string[] = [];
    for (const key of map.keys()) {
      if (typeof key !== "string") byKey = map === byKey ? stringKeyed(map) : byKey;
      keys.push(String(key));
    }
    const sorted = asJsonOrders(keys.sort());
    this.out += "{";
    let first = true;
    for (const key of sorted) {
      const member = byKey.get(key);
      if (member === undefined || typeof member === "function" || typeof member === "symbol") continue;
      this.out += first ? `${JSON.stringify(key)}:` : `,${JSON.stringify(key)}:`;
      first = false;
      this.value(member);
    }
    this.out += "}";
  }

  /** The shape of an object with these own keys, from the ones met before when it is one of them. */
  private shapeOf(own: string[]): Shape {
    const known = this.shapes.get(own.length);
    if (known) {
      for (const candidate of known) if (sameKeys(candidate.own, own)) return candidate.shape;
    }
    const keys = asJsonOrders([...own].sort());
    const shape: Shape = { keys, names: keys.map((key) => `${JSON.stringify(key)}:`) };
    if (this.shapeCount < MAX_SHAPES) {
      this.shapeCount++;
      if (known) known.push({ own, shape });
      else this.shapes.set(own.length, [{ own, shape }]);
    }
    return shape;
  }
}

/** A Map's members by their keys as text (a later key with the same text wins, as in the sorted copy). */
function stringKeyed(map: Map<unknown, unknown>): Map<string, unknown> {
  const byKey = new Map<string, unknown>();
  for (const [key, member] of map) byKey.set(String(key), member);
  return byKey;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Sorted keys in the order `JSON.stringify` writes an object built with them: array-index keys
 * ("0", "17") first in numeric order, then the others as given — how the sorted copy was written.
 */
function asJsonOrders(sorted: string[]): string[] {
  const indices = sorted.filter(isArrayIndex);
  if (indices.length === 0) return sorted;
  return [...indices.sort((a, b) => Number(a) - Number(b)), ...sorted.filter((key) => !isArrayIndex(key))];
}

function isArrayIndex(key: string): boolean {
  const n = Number(key);
  return Number.isInteger(n) && n >= 0 && n < 2 ** 32 - 1 && String(n) === key;
}
