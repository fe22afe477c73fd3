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

/**
 * Writes the canonical JSON of `value` piece by piece, without building a sorted copy of it or
 * its whole text: the state hash of a 200 000-host world streams it into sha256 (issue 18). The
 * text is exactly `JSON.stringify` of the sorted copy (`canonicalJson` is this, joined): entries
 * whose value is undefined or a function are left out of objects and written as null in arrays.
 */
export function writeCanonicalJson(value: unknown, write: (chunk: string) => void): void {
  if (value instanceof Map) {
    const keys = asJsonOrders([...value.keys()].map(String).sort());
    const byKey = new Map<string, unknown>();
    for (const [key, member] of value) byKey.set(String(key), member);
    writeMembers(keys, (key) => byKey.get(key), write);
    return;
  }
  // A Set's order is the order its members were added, itself a function of the event log.
  if (Array.isArray(value) || value instanceof Set) {
    write("[");
    let first = true;
    for (const member of value) {
      if (!first) write(",");
      first = false;
      if (member === undefined || typeof member === "function" || typeof member === "symbol") write("null");
      else writeCanonicalJson(member, write);
    }
    write("]");
    return;
  }
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    writeMembers(asJsonOrders(Object.keys(record).sort()), (key) => record[key], write);
    return;
  }
  if (typeof value === "number" && !Number.isFinite(value)) write(JSON.stringify(String(value)));
  else write(JSON.stringify(value));
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

function writeMembers(keys: string[], get: (key: string) => unknown, write: (chunk: string) => void): void {
  write("{");
  let first = true;
  for (const key of keys) {
    const member = get(key);
    if (member === undefined || typeof member === "function" || typeof member === "symbol") continue;
    write(first ? `${JSON.stringify(key)}:` : `,${JSON.stringify(key)}:`);
    first = false;
    writeCanonicalJson(member, write);
  }
  write("}");
}
