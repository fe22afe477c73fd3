/**
 * Canonical JSON: object keys sorted, Maps written as objects with sorted keys, no whitespace.
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
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(record).sort()) out[key] = toCanonical(record[key]);
    return out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}
