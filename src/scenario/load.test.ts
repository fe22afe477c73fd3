import { describe, expect, it } from "vitest";
import { parseScenario, ScenarioError } from "./load.js";

const valid = `
name: small
durationHours: 100
cluster:
  hosts:
    - { name: h, count: 3, vcpus: 8, memoryGiB: 32, diskGiB: 500 }
failures:
  host:
    crash:
      timeToFailureHours: { type: exponential, mean: 50 }
      timeToRepairHours: 0.1
`;

function problemsOf(text: string): string[] {
  try {
    parseScenario("scenarios/x.yaml", text);
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as ScenarioError).message.split("\n");
  }
  throw new Error("expected the scenario to be refused");
}

describe("scenario files", () => {
  it("accept a valid scenario and fill in defaults", () => {
    const { scenario } = parseScenario("x.yaml", valid);
    expect(scenario.cluster.hosts[0]!.count).toBe(3);
    expect(scenario.failures?.host?.crash?.timeToRepairHours).toEqual({ type: "deterministic", value: 0.1 });
  });

  it("refuse a field renamed for its unit, naming the new name", () => {
    const problems = problemsOf(`${valid}migration: { bandwidthMBps: 117, dirtyRateMBps: 20 }\nprovisioning: { imageTransferMBps: 100 }\n`);
    expect(problems).toEqual([
      "scenarios/x.yaml: migration.bandwidthMBps: renamed, expected migration.bandwidthMiBps (MiB/s) instead",
      "scenarios/x.yaml: migration.dirtyRateMBps: renamed, expected migration.dirtyRateMiBps (MiB/s) instead",
      "scenarios/x.yaml: provisioning.imageTransferMBps: renamed, expected provisioning.imageTransferMiBps (MiB/s) instead",
    ]);
    expect(parseScenario("x.yaml", `${valid}migration: { bandwidthMiBps: 117 }\n`).config.migration.bandwidthMiBps).toBe(117);
  });

  it("hash the meaning, not the formatting, and leave the seed out of the hash", () => {
    const a = parseScenario("a.yaml", valid);
    const b = parseScenario("b.yaml", `seed: 9\n${valid.replace("{ name: h, count: 3, vcpus: 8, memoryGiB: 32, diskGiB: 500 }", "{ diskGiB: 500, memoryGiB: 32.0, vcpus: 8, count: 3, name: h }")}`);
    const c = parseScenario("c.yaml", valid.replace("durationHours: 100", "durationHours: 101"));
    expect(b.hash).toBe(a.hash);
    expect(c.hash).not.toBe(a.hash);
  });

  // Each bad file has one mistake and must give exactly that one line.
  const bad: [string, string, string][] = [
    ["a wrong type", valid.replace("memoryGiB: 32", 'memoryGiB: "lots"'), 'scenarios/x.yaml: cluster.hosts[0].memoryGiB: expected a positive number, got "lots"'],
    ["an unknown key", valid.replace("durationHours: 100", "durationHours: 100\nduration: 5"), "scenarios/x.yaml: duration: unknown key (not part of the scenario format)"],
    ["an unknown nested key", valid.replace("count: 3,", "count: 3, colour: red,"), "scenarios/x.yaml: cluster.hosts[0].colour: unknown key (not part of the scenario format)"],
    ["a negative rate", valid.replace("mean: 50", "mean: -50"), "scenarios/x.yaml: failures.host.crash.timeToFailureHours.mean: expected a positive number, got -50"],
    ["an unknown distribution", valid.replace("type: exponential", "type: gaussian"), 'scenarios/x.yaml: failures.host.crash.timeToFailureHours.type: expected one of exponential | weibull | lognormal | uniform | deterministic | empirical, got "gaussian"'],
    ["a missing field", valid.replace("durationHours: 100\n", ""), "scenarios/x.yaml: durationHours: expected a positive number, got nothing (the field is missing)"],
    ["a negative duration (cross-field checks wait for valid fields)", valid.replace("durationHours: 100", "durationHours: -7.7e136"), "scenarios/x.yaml: durationHours: expected a positive number, got -7.7e+136"],
    ["a run shorter than a second", valid.replace("durationHours: 100", "durationHours: 1e-9"), "scenarios/x.yaml: durationHours: expected at least 0.0002777777777777778 hours (one second), got 1e-9"],
    ["a fractional count", valid.replace("count: 3", "count: 2.5"), "scenarios/x.yaml: cluster.hosts[0].count: expected a positive integer, got 2.5"],
    ["an empty host list", valid.replace(/hosts:\n.*\n/, "hosts: []\n"), "scenarios/x.yaml: cluster.hosts: expected at least one host group, got an empty list"],
    ["duplicate host names", valid.replace("- { name: h, count: 3,", "- { name: h-001, vcpus: 1, memoryGiB: 1, diskGiB: 1 }\n    - { name: h, count: 3,"), "scenarios/x.yaml: cluster.hosts[1].name: expected unique host names, but h-001 is also a host of cluster.hosts[0]"],
    ["rack and racks together", valid.replace("count: 3,", "count: 3, rack: a, racks: 2,"), "scenarios/x.yaml: cluster.hosts[0].racks: expected either rack or racks, not both"],
    ["an empty file", "", "scenarios/x.yaml: expected a YAML mapping with the scenario, but the file is empty"],
    ["a comment-only file", "# nothing here\n", "scenarios/x.yaml: expected a YAML mapping with the scenario, but the file is empty"],
    ["a list instead of a mapping", "- 1\n- 2\n", "scenarios/x.yaml: expected a YAML mapping with the scenario, got a list"],
    ["not YAML at all", "name: [unclosed\n  durationHours: {{{", "scenarios/x.yaml: line 1, column 8: not valid YAML: Implicit keys of flow sequence pairs need to be on a single line"],
    ["a duplicate key", valid.replace("durationHours: 100", "durationHours: 100\ndurationHours: 200"), "scenarios/x.yaml: line 4, column 1: not valid YAML: Map keys must be unique"],
    ["an unknown service model", valid.replace("durationHours: 100", "durationHours: 100\nserviceModels: [vps, cloud]"), 'scenarios/x.yaml: serviceModels[1]: expected a service model (ephemeral | vps | persistent-ha), got "cloud"'],
    ["storage outages on a mirror", valid.replace("durationHours: 100", "durationHours: 100\nstorage: { kind: mirror }").replace("failures:\n", "failures:\n  storage: { timeToFailureHours: 100, timeToRepairHours: 1 }\n"), "scenarios/x.yaml: failures.storage: expected storage.kind: replicated or san for storage-service outages (a two-host mirror has no storage service), got mirror"],
    ["rack-scoped outages of a SAN", valid.replace("durationHours: 100", "durationHours: 100\nstorage: { kind: san }").replace("failures:\n", "failures:\n  storage: { scope: rack, timeToFailureHours: 100, timeToRepairHours: 1 }\n"), "scenarios/x.yaml: failures.storage.scope: expected cluster for storage.kind: san (the array is one failure domain), got rack"],
    ["storage-network partitions on a mirror", valid.replace("durationHours: 100", "durationHours: 100\nstorage: { kind: mirror }").replace("failures:\n", "failures:\n  storageNetwork: { timeToFailureHours: 100, timeToRepairHours: 1 }\n"), "scenarios/x.yaml: failures.storageNetwork: expected storage.kind: replicated or san for storage-network partitions, got mirror"],
    ["an unknown storage-path response", valid.replace("durationHours: 100", "durationHours: 100\nha: { storagePathResponse: migrate }"), 'scenarios/x.yaml: ha.storagePathResponse: expected restart | leave, got "migrate"'],
    ["an unknown outage scope", valid.replace("failures:\n", "failures:\n  storage: { scope: region, timeToFailureHours: 100, timeToRepairHours: 1 }\n"), 'scenarios/x.yaml: failures.storage.scope: expected a scope (cluster | rack), got "region"'],
    ["too few disks for the RAID level", valid.replace("durationHours: 100", "durationHours: 100\nstorage: { localRaid: { level: 5 } }"), "scenarios/x.yaml: cluster.hosts[0].disks: expected at least 3 disks for RAID 5 (storage.localRaid.level), got 1"],
    ["a maintenance window on an unknown host", valid.replace("durationHours: 100", "durationHours: 100\nmaintenance: { windows: [{ host: h-009, atHours: 1, hours: 2 }] }"), 'scenarios/x.yaml: maintenance.windows[0].host: expected a host of the cluster, got "h-009"'],
    ["an unknown isolation response", valid.replace("durationHours: 100", "durationHours: 100\nha: { isolationResponse: shutdown }"), 'scenarios/x.yaml: ha.isolationResponse: expected keepRunning | powerOff, got "shutdown"'],
    ["an anti-affinity group of one", valid.replace("durationHours: 100", "durationHours: 100\nworkload: { sizes: [{ name: s, vcpus: 1, memoryGiB: 1, diskGiB: 1 }], fleet: 2, antiAffinity: { groupSize: 1 } }"), "scenarios/x.yaml: workload.antiAffinity.groupSize: expected an integer ≥ 2, got 1"],
    ["a workload without sizes", valid.replace("durationHours: 100", "durationHours: 100\nworkload: { fleet: 3 }"), "scenarios/x.yaml: workload.sizes: expected a list of VM sizes for the fleet and the arrivals"],
    ["a warm-up as long as the run", valid.replace("durationHours: 100", "durationHours: 100\nmetrics: { warmupHours: 100 }"), "scenarios/x.yaml: metrics.warmupHours: expected less than durationHours (100), got 100"],
    ["power-domain outages without power domains", valid.replace("failures:\n", "failures:\n  power: { timeToFailureHours: 100, timeToRepairHours: 1 }\n"), "scenarios/x.yaml: failures.power: expected cluster.powerDomains (racksPerDomain) for power-domain outages"],
    ["a burst with both a count and a share", valid.replace("failures:\n", "failures:\n  bursts: [{ name: b, timeBetweenHours: 10, hosts: 2, share: 0.5, durationHours: 1 }]\n"), "scenarios/x.yaml: failures.bursts[0].hosts: expected either hosts (a count) or share (a fraction of the cluster), one of them"],
    ["a burst share above 1", valid.replace("failures:\n", "failures:\n  bursts: [{ name: b, timeBetweenHours: 10, share: 2, durationHours: 1 }]\n"), "scenarios/x.yaml: failures.bursts[0].share: expected a number in (0, 1], got 2"],
    ["two bursts of one name", valid.replace("failures:\n", "failures:\n  bursts: [{ name: b, timeBetweenHours: 10, hosts: 1, durationHours: 1 }, { name: b, timeBetweenHours: 10, hosts: 1, durationHours: 1 }]\n"), 'scenarios/x.yaml: failures.bursts[1].name: expected a burst name used once, got "b" again'],
  ];
  for (const [what, text, message] of bad) {
    it(`refuse ${what} with one clear line`, () => {
      const problems = problemsOf(text);
      expect(problems).toHaveLength(1);
      expect(problems[0]!.slice(0, message.length)).toBe(message);
    });
  }

  describe("--set overrides", () => {
    it("change a field as if it were written in the file, and the hash with it", () => {
      const plain = parseScenario("x.yaml", valid);
      const set = parseScenario("x.yaml", valid, ["cluster.hosts[0].count=7", "storage.replicas=2"]);
      expect(set.scenario.cluster.hosts[0]!.count).toBe(7);
      expect(set.scenario.storage.replicas).toBe(2);
      expect(set.hash).not.toBe(plain.hash);
      expect(set.text).toContain("# --set storage.replicas=2");
    });

    it("are validated like the file", () => {
      expect(() => parseScenario("x.yaml", valid, ["storage.replicas=two"])).toThrow('x.yaml: storage.replicas: expected a positive integer, got "two"');
      expect(() => parseScenario("x.yaml", valid, ["durationHours"])).toThrow("x.yaml: --set durationHours: expected path=value");
      expect(() => parseScenario("x.yaml", valid, ["name.first=a"])).toThrow("x.yaml: --set name.first=a: name is");
    });
  });
});
