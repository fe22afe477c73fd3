import { Controller } from "../controller/controller.js";
import { distribution } from "../kernel/distributions.js";
import { hoursToMs, MS_PER_SECOND } from "../kernel/time.js";
import type { ServiceModel } from "../model/events.js";
import { hostIds, type Scenario } from "../scenario/schema.js";
import { failureCauses, HOST_FAILURE_CAUSES, startFailureProcess } from "./failures.js";
import { SimulatedInfrastructure } from "./infrastructure.js";
import { Provisioning } from "./provisioning.js";
import { Simulation } from "./simulation.js";
import { startWorkload } from "./workload.js";

/**
 * ephemeral: time until a lost instance's user (or an autoscaler) launches a replacement.
 * Default 15 min: in 2008 a person noticed and relaunched by hand (EC2 Auto Scaling arrived in
 * 2009; its default health-check grace period is 300 s, AWS documentation).
 */
export const DEFAULT_REPLACEMENT_DELAY_HOURS = 0.25;

/** The hosts a scenario describes, in file order, with their racks and schedulable capacity. */
export function expandHosts(scenario: Scenario) {
  return scenario.cluster.hosts.flatMap((group) =>
    hostIds(group).map((id, i) => ({
      id,
      rack: group.rack ?? (group.racks !== undefined ? `rack-${(i % group.racks) + 1}` : "rack-1"),
      vcpus: Math.floor(group.vcpus * group.vcpuOvercommit),
      memoryGiB: group.memoryGiB * group.memoryOvercommit,
      diskGiB: group.diskGiB,
    })),
  );
}

export interface ScenarioSimulation {
  sim: Simulation;
  controller: Controller;
}

/**
 * Builds the simulation of a scenario under one service model. At t = 0: `runStarted`, every
 * host (and its rack's and its own failure process), then the workload. At the end of the
 * observed period `runEnded` closes the log; it is scheduled first, so it precedes any other
 * event due at the same millisecond (FIFO ties).
 *
 * Failures and workload draw from their own named streams, never from anything the service
 * model influences: two models run with one seed see the same failures and the same requests.
 */
export function simulateScenario(scenario: Scenario, seed: number, serviceModel: ServiceModel): ScenarioSimulation {
  const sim = new Simulation(seed);
  const end = hoursToMs(scenario.durationHours);
  sim.scheduler.schedule(end, () => {
    sim.emit({ type: "runEnded" });
    sim.scheduler.stop();
  }, null);

  const infrastructure = new SimulatedInfrastructure(sim, new Provisioning(scenario.provisioning, sim.random.fork("provisioning")));
  const controller = new Controller(infrastructure, { heartbeatTimeoutMs: Math.round(scenario.ha.heartbeatTimeoutSeconds * MS_PER_SECOND) });
  sim.subscribe((event) => controller.observe(event));
  sim.onEvent((event) => infrastructure.react(event));
  sim.onEvent((event) => controller.react(event));

  if (serviceModel === "ephemeral") {
    const users = sim.random.fork("users");
    const delay = distribution(scenario.ephemeral.replacementDelayHours ?? { type: "deterministic", value: DEFAULT_REPLACEMENT_DELAY_HOURS });
    sim.onEvent((event) => {
      if (event.type === "vmLost") sim.scheduler.after(hoursToMs(delay.sample(users)), (vm) => controller.relaunch(vm), event.vm);
    });
  }

  const hostCauses = failureCauses(scenario.failures?.host, HOST_FAILURE_CAUSES);
  const rackCauses = failureCauses({ outage: scenario.failures?.rack }, ["outage"] as const);
  sim.scheduler.schedule(0, () => {
    sim.emit({ type: "runStarted", serviceModel });
    const racks = new Set<string>();
    for (const host of expandHosts(scenario)) {
      if (!racks.has(host.rack)) {
        racks.add(host.rack);
        const rack = host.rack;
        startFailureProcess(sim, `rack/${rack}`, rackCauses, () => sim.emit({ type: "rackFailed", rack }), () => sim.emit({ type: "rackRepaired", rack }));
      }
      sim.emit({ type: "hostAdded", host: host.id, rack: host.rack, vcpus: host.vcpus, memoryGiB: host.memoryGiB, diskGiB: host.diskGiB });
      startFailureProcess(
        sim,
        `host/${host.id}`,
        hostCauses,
        (cause) => sim.emit({ type: "hostFailed", host: host.id, cause }),
        () => sim.emit({ type: "hostRepaired", host: host.id }),
      );
    }
    startWorkload(sim, scenario.workload);
  }, null);
  return { sim, controller };
}
