import { hoursToMs } from "../kernel/time.js";
import { hostIds, type Scenario } from "../scenario/schema.js";
import { failureCauses, startHostFailures } from "./host-failures.js";
import { Simulation } from "./simulation.js";

/** The hosts a scenario describes, in file order, with their racks. */
export function expandHosts(scenario: Scenario) {
  return scenario.cluster.hosts.flatMap((group) =>
    hostIds(group).map((id, i) => ({
      id,
      rack: group.rack ?? (group.racks !== undefined ? `rack-${(i % group.racks) + 1}` : "rack-1"),
      vcpus: group.vcpus,
      memoryGiB: group.memoryGiB,
      diskGiB: group.diskGiB,
    })),
  );
}

/**
 * Builds the simulation of a scenario: at t = 0 every host is added and its failure process
 * started; at the end of the observed period `runEnded` closes the log. `runEnded` is scheduled
 * first, so it precedes any other event due at the same millisecond (FIFO ties).
 */
export function simulateScenario(scenario: Scenario, seed: number): Simulation {
  const sim = new Simulation(seed);
  const end = hoursToMs(scenario.durationHours);
  sim.scheduler.schedule(end, () => {
    sim.emit({ type: "runEnded" });
    sim.scheduler.stop();
  }, null);
  const causes = failureCauses(scenario.failures?.host);
  sim.scheduler.schedule(0, () => {
    for (const host of expandHosts(scenario)) {
      sim.emit({ type: "hostAdded", host: host.id, rack: host.rack, vcpus: host.vcpus, memoryGiB: host.memoryGiB, diskGiB: host.diskGiB });
      startHostFailures(sim, host.id, causes);
    }
  }, null);
  return sim;
}
