import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DomainEvent } from "../src/model/events.js";
import { evolve } from "../src/model/evolve.js";
import { emptyWorld } from "../src/model/world.js";
import { loadScenarioFile, ScenarioError } from "../src/scenario/load.js";
import { simulateMetrics, tempDir } from "./helpers.js";

const dir = tempDir();

function scenarioWith(name: string, failures: string, requests: string, extra = ""): string {
  writeFileSync(join(dir, `${name}-failures.csv`), failures);
  writeFileSync(join(dir, `${name}-requests.csv`), requests);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
durationHours: 100
cluster:
  hosts:
    - { name: h, count: 4, racks: 2, disks: 2, vcpus: 8, memoryGiB: 32, diskGiB: 1000 }
failures:
  trace: ${name}-failures.csv
workload:
  trace: ${name}-requests.csv
${extra}`,
  );
  return file;
}

const failures = `timeHours,target,kind,durationHours
10,h-001,hardware,5
12,h-001,crash,1
20,rack-2,rack,2
30,h-003/1,disk,24
`;
const requests = `timeHours,vm,vcpus,memoryGiB,diskGiB,lifetimeHours
0,web,2,4,40,
1.5,batch,4,8,80,3
`;

describe("traces", () => {
  it("replays failures and requests at their times; rows that overlap on one target merge into one outage", () => {
    const loaded = loadScenarioFile(scenarioWith("ok", failures, requests));
    const events: DomainEvent[] = [];
    simulateMetrics(JSON.parse(JSON.stringify(loaded.scenario)), 1, "vps", (e) => events.push(e));
    const at = (type: string) => events.filter((e) => e.type === type).map((e) => [e.t / 3_600_000, (e as { host?: string; rack?: string; vm?: string }).host ?? (e as { rack?: string }).rack ?? (e as { vm?: string }).vm]);
    expect(at("hostFailed")).toEqual([[10, "h-001"]]); // the crash at 12–13 h lies within the hardware failure 10–15 h
    expect(at("hostRepaired")).toEqual([[15, "h-001"]]);
    expect(at("rackFailed")).toEqual([[20, "rack-2"]]);
    expect(at("rackRepaired")).toEqual([[22, "rack-2"]]);
    expect(at("diskFailed")).toEqual([[30, "h-003"]]);
    expect(at("diskReplaced")).toEqual([[54, "h-003"]]);
    expect(at("vmRequested")).toEqual([[0, "web"], [1.5, "batch"]]);
    expect(at("vmTerminated")).toEqual([[4.5, "batch"]]);
  });

  it("keep a host down for its own row when its rack comes back first, and up when its rack's outage outlasts the row", () => {
    // rack-2 (h-003, h-004) is out 20–22 h; h-004's own crash lasts 21–24 h, h-003's 20.5–21.5 h.
    const rows = `${failures}21,h-004,crash,3\n20.5,h-003,crash,1\n`;
    const loaded = loadScenarioFile(scenarioWith("in-rack", rows, requests));
    let world = emptyWorld();
    const upAt = new Map<number, Record<string, boolean>>();
    simulateMetrics(JSON.parse(JSON.stringify(loaded.scenario)), 1, "vps", (e) => {
      for (const hour of [21.25, 23, 25]) {
        if (e.t > hour * 3_600_000 && !upAt.has(hour)) upAt.set(hour, { "h-003": world.hosts.get("h-003")!.up, "h-004": world.hosts.get("h-004")!.up });
      }
      world = evolve(world, e);
    });
    expect(upAt.get(21.25)).toEqual({ "h-003": false, "h-004": false });
    expect(upAt.get(23)).toEqual({ "h-003": true, "h-004": false }); // h-003's row ended inside the rack outage
    expect(upAt.get(25)).toEqual({ "h-003": true, "h-004": true });
  });

  it("are part of the scenario hash", () => {
    const a = loadScenarioFile(scenarioWith("h", failures, requests));
    const b = loadScenarioFile(scenarioWith("h", failures.replace("10,h-001,hardware,5", "10,h-001,hardware,6"), requests));
    const c = loadScenarioFile(scenarioWith("h", failures, requests));
    expect(b.hash).not.toBe(a.hash);
    expect(c.hash).toBe(a.hash);
  });

  const bad: [string, string, string, string][] = [
    ["a bad number", failures.replace("10,h-001,hardware,5", "10,h-001,hardware,soon"), requests, 'failures.csv: line 2: durationHours: expected a positive number, got "soon"'],
    ["an unknown kind", failures.replace("12,h-001,crash,1", "12,h-001,meteor,1"), requests, 'failures.csv: line 3: kind: expected a failure kind (crash | hardware | rack | disk | controller), got "meteor"'],
    ["an unknown host", failures.replace("10,h-001,hardware,5", "10,h-009,hardware,5"), requests, 'failures.trace[0].target: expected a host of the cluster, got "h-009"'],
    ["a disk that does not exist", failures.replace("h-003/1", "h-003/2"), requests, "failures.trace[3].target: expected host/disk of the cluster"],
    ["a VM named twice", failures, requests.replace("1.5,batch", "1.5,web"), 'workload.trace[1].vm: expected a VM name used once'],
    ["a missing column", failures, requests.replace(",lifetimeHours", "").replace(",\n", "\n").replace(",3\n", "\n"), "requests.csv: line 2: lifetimeHours: expected a positive number"],
  ];
  for (const [what, f, r, message] of bad) {
    it(`refuse ${what}, naming the file and the row`, () => {
      const name = what.replace(/\W+/g, "-");
      try {
        loadScenarioFile(scenarioWith(name, f, r));
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(ScenarioError);
        expect((error as Error).message).toContain(message);
      }
    });
  }

  it("come on top of random failures: a row overlapping a random outage is merged with it, not dropped", () => {
    const file = scenarioWith("both", `${failures}13,rack-1,rack,4\n`, requests);
    // Both racks fail every 11 h of being up, for 3 h: 11–14, 25–28, ...; the row keeps rack-1 down 13–17.
    writeFileSync(file, `${readFileSync(file, "utf8").replace("failures:\n", "failures:\n  rack: { timeToFailureHours: 11, timeToRepairHours: 3 }\n")}`);
    const loaded = loadScenarioFile(file);
    const events: DomainEvent[] = [];
    simulateMetrics(JSON.parse(JSON.stringify(loaded.scenario)), 1, "vps", (e) => events.push(e));
    const rack1 = events.filter((e) => (e.type === "rackFailed" || e.type === "rackRepaired") && e.rack === "rack-1").map((e) => [e.type, e.t / 3_600_000]);
    expect(rack1.slice(0, 4)).toEqual([["rackFailed", 11], ["rackRepaired", 17], ["rackFailed", 25], ["rackRepaired", 28]]);
  });
});
