import { crc32 } from "node:zlib";
import type { DomainEvent } from "../model/events.js";

/**
 * How an event is stored: `seq`, `t` and `type` in their own columns, every other field as a JSON
 * payload in the order the event was built. `line` is the event's text in the log; the run's log
 * hash is sha256 over the lines, and each row keeps `digest`, the CRC-32 of all lines up to and
 * including its own, so replay can name the first row that differs from what was written.
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

/** The CRC-32 of the log up to this line, given the digest of the lines before it. */
export function chainDigest(previous: number, line: string): number {
  return crc32(line, previous);
}
