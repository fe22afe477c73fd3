import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical.js";

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
