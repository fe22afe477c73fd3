import fc from "fast-check";
import { DISK_OF_MODEL, SERVICE_MODELS, type DomainEventBody } from "../src/model/events.js";
import { fits, hostsSwitchedBy, type World } from "../src/model/world.js";

/**
 * Random but valid event histories for property tests. A history is a list of steps; each step
 * turns, given the world so far, into the events of one thing happening — a host added, failing
 * or repaired, a rack out or back, a VM requested, placed, started, rebooted, terminated or
 * refused — with what a host going down does to its VMs emitted right after it, as the
 * simulated infrastructure does.
 */
export interface Step {
  dt: number;
  pick: number;
  action: number;
  flag: boolean;
}

export const steps = fc.array(fc.record({ dt: fc.nat({ max: 5_000 }), pick: fc.nat(), action: fc.nat({ max: 10 }), flag: fc.boolean() }), { maxLength: 200 });
export const serviceModel = fc.constantFrom(...SERVICE_MODELS);

export function eventsOf(world: World, step: Step): DomainEventBody[] {
  const hosts = [...world.hosts.values()];
  const vms = [...world.vms.values()];
  const pick = <T>(xs: T[]): T | undefined => (xs.length > 0 ? xs[step.pick % xs.length] : undefined);
  switch (step.action) {
    case 1: {
      const host = pick(hosts.filter((h) => h.failure === null));
      if (host) return [{ type: "hostFailed", host: host.id, cause: step.flag ? "hardware" : "crash" }];
      break;
    }
    case 2: {
      const host = pick(hosts.filter((h) => h.failure !== null));
      if (host) return [{ type: "hostRepaired", host: host.id }];
      break;
    }
    case 3: {
      const rack = pick([...world.racks.values()]);
      if (rack) return [{ type: rack.up ? "rackFailed" : "rackRepaired", rack: rack.id }];
      break;
    }
    case 4:
      return [{ type: "vmRequested", vm: `v${world.lastSeq}`, vcpus: 1 + (step.pick % 4), memoryGiB: 1 + (step.pick % 16), diskGiB: 10 * (1 + (step.pick % 5)), lifetimeHours: step.flag ? null : 1 }];
    case 5: {
      const vm = pick(vms.filter((v) => v.state === "pending" || v.state === "down"));
      const host = vm && pick(hosts.filter((h) => h.up && h.id !== vm.host && fits(h, vm)));
      if (vm && host) return [{ type: "vmPlaced", vm: vm.id, host: host.id, bootMs: step.dt }];
      break;
    }
    case 6: {
      const vm = pick(vms.filter((v) => v.state === "booting"));
      if (vm) return [{ type: "vmStarted", vm: vm.id }];
      break;
    }
    case 7: {
      const vm = pick(vms.filter((v) => v.state === "down" && world.hosts.get(v.host!)!.up));
      if (vm) return [{ type: "vmRebooted", vm: vm.id, bootMs: step.dt }];
      break;
    }
    case 8: {
      const vm = pick(vms);
      if (vm) return [{ type: "vmTerminated", vm: vm.id, volume: vm.volume }];
      break;
    }
    case 9: {
      const vm = pick(vms.filter((v) => v.state === "pending" && v.boots === 0));
      if (vm) return [{ type: "vmRejected", vm: vm.id, reason: "fragmented" }];
      break;
    }
  }
  return [{ type: "hostAdded", host: `h${hosts.length + 1}`, rack: `r${step.pick % 3}`, vcpus: 1 + (step.pick % 32), memoryGiB: 4 + (step.pick % 64) / 4, diskGiB: 100 + (step.pick % 400), disks: 1 + (step.pick % 4) }];
}

/** What the simulated infrastructure emits after an event that took hosts down. */
export function consequences(world: World, event: DomainEventBody & { t: number }): DomainEventBody[] {
  if (event.type !== "hostFailed" && event.type !== "rackFailed") return [];
  const out: DomainEventBody[] = [];
  for (const host of hostsSwitchedBy(world, event)) {
    for (const id of host.vms) {
      const vm = world.vms.get(id)!;
      if (vm.state !== "booting" && vm.state !== "running") continue;
      if (DISK_OF_MODEL[world.serviceModel!] === "instance-store") out.push({ type: "vmLost", vm: id, cause: "host", stateHours: 0 });
      else out.push({ type: "vmDown", vm: id, cause: "host" });
    }
  }
  return out;
}
