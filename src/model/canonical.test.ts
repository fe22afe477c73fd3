import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { canonicalJson, writeCanonicalJson } from "./canonical.js";

describe("canonicalJson", () => {
  it("writes equal data as equal text whatever the key or insertion order", () => {
    const a = { b: 1, a: new Map([["y", { q: 1, p: 2 }], ["x", [3, { d: 4, c: 5 }]]]) };
    const b = { a: new Map<string, unknown>([["x", [3, { c: 5, d: 4 }]], ["y", { p: 2, q: 1 }]]), b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":[3,{"c":5,"d":4}],"y":{"p":2,"q":1}},"b":1}');
  });

  it("keeps the order of arrays and distinguishes different values", () => {
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 2 }));
  });

  it("writes non-finite numbers as text instead of null", () => {
    expect(canonicalJson({ x: Infinity, y: NaN })).toBe('{"x":"Infinity","y":"NaN"}');
  });
});

describe("canonicalJson, written piece by piece", () => {
  /** The definition it must match: JSON.stringify of a copy with sorted keys. */
  function sortedCopy(value: unknown): unknown {
    if (value instanceof Map) {
      // fromEntries makes own properties, "__proto__" included (an assignment would set the prototype)
      return Object.fromEntries([...value.keys()].map(String).sort().map((key) => [key, sortedCopy(value.get(key))]));
    }
    if (Array.isArray(value)) return value.map(sortedCopy);
    if (value instanceof Set) return [...value].map(sortedCopy);
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortedCopy((value as Record<string, unknown>)[key])]));
    }
    if (typeof value === "number" && !Number.isFinite(value)) return String(value);
    return value;
  }

  it("is exactly JSON.stringify of the sorted copy, for any mix of objects, Maps, Sets, arrays and values", () => {
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined)),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie("value"), { maxKeys: 4 }),
        fc.array(fc.tuple(fc.string(), tie("value")), { maxLength: 4 }).map((entries) => new Map(entries)),
        fc.array(tie("value"), { maxLength: 4 }).map((members) => new Set(members)),
      ),
    }));
    fc.assert(fc.property(value, (v) => {
      fc.pre(v !== undefined); // no text at all, in either
      const expected = JSON.stringify(sortedCopy(v));
      const chunks: string[] = [];
      writeCanonicalJson(v, (chunk) => chunks.push(chunk));
      expect(chunks.join("")).toBe(expected);
      expect(canonicalJson(v)).toBe(chunks.join(""));
    }), { numRuns: 2000 });
  });

  it("stays exact past the shapes it remembers and across the chunks it hands out", () => {
    // 1 000 objects of distinct key sets (more than are remembered), each also met again in another key order.
    const records = Array.from({ length: 1000 }, (_, i) => ({ [`k${i}`]: i, b: "x".repeat(i % 300), "7": i, a: [i, { z: 1, y: 2 }] }));
    const reordered = records.map((r) => Object.fromEntries(Object.entries(r).reverse()));
    const value = { records, reordered, map: new Map<string, unknown>([["2", "two"], ["10", "ten"], ["a", 1]]) };
    const chunks: string[] = [];
    writeCanonicalJson(value, (chunk) => chunks.push(chunk));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join("")).toBe(JSON.stringify(sortedCopy(value)));
  });
});
