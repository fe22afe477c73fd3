import { describe, expect, it } from "vitest";
import { parseScenario } from "./load.js";
import { failureTraceCsv, machineEventsToFailures, TraceFormatError } from "./trace-convert.js";

/** A synthetic machine_events table in Google's 2011 format (µs, machine, type, platform, CPUs, memory). */
const machineEvents = [
  "0,5001,0,HofLGzk1Or,0.5,0.2493",
  "0,5002,0,HofLGzk1Or,0.5,0.2493",
  "0,5003,0,HofLGzk1Or,0.5,0.2493",
  "0,5004,0,HofLGzk1Or,0.5,0.2493",
  `${600e6 + 3.6e9 * 10},5001,1,,,`, // 5001 out at 10 h ...
  `${600e6 + 3.6e9 * 10.25},5001,0,HofLGzk1Or,0.5,0.2493`, // ... back at 10.25 h: a crash
  `${600e6 + 3.6e9 * 20},5002,1,,,`, // 5002 out at 20 h ...
  `${600e6 + 3.6e9 * 26},5002,2,HofLGzk1Or,0.5,0.2493`, // (an update changes nothing)
  `${600e6 + 3.6e9 * 30},5002,0,HofLGzk1Or,0.5,0.2493`, // ... back at 30 h: hardware
  `${600e6 + 3.6e9 * 40},5003,1,,,`, // 5003 never comes back
  `${600e6 + 3.6e9 * 41},5004,1,,,`,
  `${600e6 + 3.6e9 * 41},5004,0,HofLGzk1Or,0.5,0.2493`, // removed and added at one instant
].join("\n");

describe("converting Google's 2011 machine_events into a failure trace", () => {
  it("turns each REMOVE … ADD of a machine into an outage of its host", () => {
    const { rows, notes } = machineEventsToFailures("m.csv", machineEvents, { prefix: "h", hosts: 3 });
    expect(rows).toEqual([
      { timeHours: 10, target: "h-001", kind: "crash", durationHours: 0.25 },
      { timeHours: 20, target: "h-002", kind: "hardware", durationHours: 10 },
    ]);
    expect(notes).toEqual(["1 machines beyond the 3 hosts left out", "1 machines removed and never added again (decommissioned, or out at the end): no row"]);
  });

  it("writes a CSV that a scenario reads as its failure trace", () => {
    const { rows } = machineEventsToFailures("m.csv", machineEvents, { prefix: "h", hosts: 4, hardwareAfterHours: 12 });
    expect(rows.map((r) => r.kind)).toEqual(["crash", "crash"]);
    const csv = failureTraceCsv(rows);
    expect(csv.split("\n")[0]).toBe("timeHours,target,kind,durationHours");
    const rowsOf = csv.trim().split("\n").slice(1).map((line) => line.split(","));
    const trace = rowsOf.map(([timeHours, target, kind, durationHours]) => ({ timeHours: Number(timeHours), target, kind, durationHours: Number(durationHours) }));
    const scenario = parseScenario("s.yaml", JSON.stringify({ name: "g", durationHours: 50, cluster: { hosts: [{ name: "h", count: 4, vcpus: 1, memoryGiB: 1, diskGiB: 1 }] }, failures: { trace } }));
    expect(scenario.config.failures.trace).toHaveLength(2);
  });

  it("refuses a line that is not of the format, naming the line", () => {
    expect(() => machineEventsToFailures("m.csv", "0,5001,0\nsoon,5001,1", { prefix: "h", hosts: 1 })).toThrow(new TraceFormatError('m.csv: line 2: timestamp: expected microseconds (an integer ≥ 0), got "soon"'));
    expect(() => machineEventsToFailures("m.csv", "0,5001,7", { prefix: "h", hosts: 1 })).toThrow("m.csv: line 1: event type: expected 0 (ADD), 1 (REMOVE) or 2 (UPDATE), got \"7\"");
  });
});
