/**
 * Canonical JSON: object keys sorted, Maps written as objects with sorted keys, Sets as arrays,
 * no whitespace.
 * Two states that are equal as data give the same text on every machine, so its hash can be
 * recorded with a run and checked by replay.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(toCanonical(value));
}

function toCanonical(value: unknown): unknown {
  if (value instanceof Map) {
    const keys = [...value.keys()].map(String).sort();
    const out: Record<string, unknown> = {};
    for (const key of keys) out[key] = toCanonical(value.get(key));
    return out;
  }
  if (Array.isArray(value)) return value.map(toCanonical);
  // A Set's order is the order its members were added, itself a function of the event log.
  if (value instanceof Set) return [...value].map(toCanonical);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(record).sort()) out[key] = toCanonical(record[key]);
    return out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}
