import { hostIds, type FailureRow } from "./schema.js";

/**
 * Converts Google's 2011 cluster trace `machine_events` table (ClusterData2011_2, "Google
 * cluster-usage traces: format + schema", Reiss, Wilkes & Hellerstein, 2011) into the rows of a
 * failure trace (`failures.trace`: timeHours,target,kind,durationHours).
 *
 * The table is CSV without a header: timestamp (µs; 0 = before the trace window, which opens at
 * 600 s), machine ID, event type (0 ADD, 1 REMOVE, 2 UPDATE), platform ID, CPUs, memory. A machine
 * REMOVEd and ADDed again was out in between: one row, a `crash` when shorter than
 * `hardwareAfterHours`, else `hardware`. A machine removed and never added again was
 * decommissioned (or the trace ended): no row, counted in the notes. Machines are mapped to the
 * hosts `prefix-001` ... in order of first appearance; those past `hosts` are left out (counted).
 */
export interface MachineEventsOptions {
  /** The host group the machines become: its name and count (as in `cluster.hosts`). */
  prefix: string;
  hosts: number;
  /** Outages at least this long are hardware failures, shorter ones crashes (default 1 h). */
  hardwareAfterHours?: number;
}

export interface Conversion {
  rows: FailureRow[];
  notes: string[];
}

export class TraceFormatError extends Error {}

const TRACE_START_US = 600e6;
const US_PER_HOUR = 3.6e9;

export function machineEventsToFailures(file: string, text: string, options: MachineEventsOptions): Conversion {
  const names = hostIds({ name: options.prefix, count: options.hosts });
  const hardwareAfter = options.hardwareAfterHours ?? 1;
  const host = new Map<string, string | null>();
  const removedAt = new Map<string, number>();
  const rows: FailureRow[] = [];
  let unmapped = 0;
  let empty = 0;
  const events = text.split(/\r?\n/).flatMap((line, i) => {
    if (line.trim() === "") return [];
    const cells = line.split(",");
    if (cells.length < 3) throw new TraceFormatError(`${file}: line ${i + 1}: expected timestamp,machine ID,event type,..., got "${line}"`);
    const [timestamp, machine, type] = cells as [string, string, string];
    if (!/^\d+$/.test(timestamp)) throw new TraceFormatError(`${file}: line ${i + 1}: timestamp: expected microseconds (an integer ≥ 0), got "${timestamp}"`);
    if (!/^[0-2]$/.test(type)) throw new TraceFormatError(`${file}: line ${i + 1}: event type: expected 0 (ADD), 1 (REMOVE) or 2 (UPDATE), got "${type}"`);
    if (machine === "") throw new TraceFormatError(`${file}: line ${i + 1}: machine ID: expected an ID, got nothing`);
    return [{ us: Number(timestamp), machine, type: Number(type), line: i + 1 }];
  });
  events.sort((a, b) => a.us - b.us || a.line - b.line);
  for (const e of events) {
    if (!host.has(e.machine)) {
      const next = host.size < names.length ? names[host.size]! : null;
      if (next === null) unmapped++;
      host.set(e.machine, next);
    }
    const target = host.get(e.machine)!;
    if (target === null) continue;
    const hours = Math.max(0, e.us - TRACE_START_US) / US_PER_HOUR;
    if (e.type === 1 && !removedAt.has(e.machine)) removedAt.set(e.machine, hours);
    else if (e.type === 0 && removedAt.has(e.machine)) {
      const start = removedAt.get(e.machine)!;
      removedAt.delete(e.machine);
      const durationHours = hours - start;
      if (durationHours <= 0) empty++;
      else rows.push({ timeHours: start, target, kind: durationHours < hardwareAfter ? "crash" : "hardware", durationHours });
    }
  }
  const notes: string[] = [];
  if (unmapped > 0) notes.push(`${unmapped} machines beyond the ${options.hosts} hosts left out`);
  if (removedAt.size > 0) notes.push(`${removedAt.size} machines removed and never added again (decommissioned, or out at the end): no row`);
  if (empty > 0) notes.push(`${empty} removals undone at the same instant: no row`);
  return { rows, notes };
}

/** The rows as the CSV `failures.trace` reads. */
export function failureTraceCsv(rows: readonly FailureRow[]): string {
  return `timeHours,target,kind,durationHours\n${rows.map((r) => `${r.timeHours},${r.target},${r.kind},${r.durationHours}\n`).join("")}`;
}
