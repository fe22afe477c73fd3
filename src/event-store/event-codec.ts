import type { DomainEvent } from "../model/events.js";

/**
 * How an event is stored: `seq`, `t` and `type` in their own columns, every other field as a JSON
 * payload in the order the event was built. `line` is the event's text in the log, and the run's
 * log hash is sha256 over the lines. Each row also keeps `digest`, a 32-bit hash chained over the
 * fields of all rows up to and including its own, so replay can name the first row that differs
 * from what was written.
 */
export interface EventRow {
  seq: number;
  t: number;
  type: string;
  payload: string;
}

export function encodeEvent(event: DomainEvent): EventRow {
  const { seq, t, type, ...rest } = event;
  return { seq, t, type, payload: JSON.stringify(rest) };
}

export function decodeEvent(seq: number, t: number, type: string, payload: string): DomainEvent {
  return { seq, t, type, ...JSON.parse(payload) } as DomainEvent;
}

export function eventLine(seq: number, t: number, type: string, payload: string): string {
  return `${seq}\t${t}\t${type}\t${payload}\n`;
}

/** The digest before the first row: the FNV-1a offset basis, as a signed 32-bit integer. */
export const FIRST_DIGEST = 0x811c9dc5 | 0;

const FNV_PRIME = 0x01000193;
const TWO_POW_32 = 2 ** 32;

/**
 * The digest of the log up to this row, given the digest of the rows before it: 32-bit FNV-1a
 * continued over the row's fields, as a signed 32-bit integer. Each step mixes one 32-bit word,
 * `h -> (h ^ word) * prime mod 2^32`: `seq` and `t` as two words each (low, high; any other
 * number as its text), `type` and `payload` as their length and then their UTF-16 code units.
 *
 * Every step is a bijection of `h` for a given word, so a change confined to one word — one code
 * unit of a text, the low or the high 32 bits of a number — always gives a different digest, for
 * that row and every row after it; other damage is missed with probability about 2^-32 per row.
 * It is plain JS arithmetic over values replay has anyway, far cheaper than a native call.
 */
export function chainDigest(previous: number, seq: number, t: number, type: string, payload: string): number {
  return mixText(mixText(mixNumber(mixNumber(previous, seq), t), type), payload);
}

function mixNumber(h: number, n: number): number {
  if (!Number.isSafeInteger(n)) return mixText(Math.imul(h ^ 0x7fffffff, FNV_PRIME), String(n));
  h = Math.imul(h ^ n, FNV_PRIME); // ToInt32: the low 32 bits
  return Math.imul(h ^ Math.floor(n / TWO_POW_32), FNV_PRIME);
}

function mixText(h: number, text: string): number {
  h = Math.imul(h ^ text.length, FNV_PRIME);
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}
