import type { DomainEvent } from "../model/events.js";
import { cutOffFromStorage, hostsBroughtUpBy, hostsDownedBy, type World } from "../model/world.js";

/** Within this window, a VM's stops on its own count against its restart attempts (vSphere HA's VM monitoring: 3 resets an hour). */
export const RETRY_WINDOW_MS = 3_600_000;

/**
 * What the controller remembers between events, as a projection of the log: `remember` folds one
 * event into it, reading the world *after* that event (as `evolve` left it). Folding a log prefix
 * over an empty memory gives the memory the live controller had at that point, so a controller
 * that dies loses none of it (issue 19). What the controller keeps besides is a working list or a
 * timer that a controller started afresh rebuilds from the world and this memory (`Controller.resume`;
 * the README's "The controller's memory" says which, and what is lost).
 */
export interface ControllerMemory {
  /** Hosts the controller has lost contact with: since when, and the event that began the silence. */
  readonly silentSince: Map<string, { t: number; seq: number }>;
  /** Silent hosts it has declared dead (`hostFailureDetected`): their VMs are being restarted elsewhere. */
  readonly declaredDead: Set<string>;
  /**
   * The source host of each migration in flight: `migrationStarted` names it, and the events that
   * end a migration do not (by then the world has the VM on its destination). A migration ends with
   * `migrationFinished`, `migrationAborted`, or the VM's end (`vmTerminated`, `vmLost`).
   */
  readonly migrating: Map<string, string>;
  /** Aborted migrations of each VM since its last finished one (a drain gives up on it after MIGRATION_ATTEMPTS). */
  readonly migrationFailures: Map<string, number>;
  /** When each VM stopped on its own (a failed boot, a crashed guest) within the last RETRY_WINDOW_MS before its last stop. */
  readonly failedStarts: Map<string, number[]>;
  /**
   * VMs that went down because their host lost its storage path (`vmDown` cause `storage` on a host
   * cut off from the storage network), with the host and the time: they wait for the path, or for
   * HA's storage-path timeout (`stalledOnPath`). Ends with the path's repair or the VM's end; a
   * second stall replaces the first.
   */
  readonly stalls: Map<string, { host: string; t: number }>;
}

export function emptyMemory(): ControllerMemory {
  return { silentSince: new Map(), declaredDead: new Set(), migrating: new Map(), migrationFailures: new Map(), failedStarts: new Map(), stalls: new Map() };
}

/** What an event changed that the controller acts on. */
export interface Recalled {
  /** The event began the silence of these hosts (the heartbeat timeout starts now). */
  silenced?: string[];
  /** The event ended a migration out of this host. */
  migrationEndedFrom?: string;
}

/** Folds one event into the memory; `world` is the world with the event applied. */
export function remember(memory: ControllerMemory, world: World, event: DomainEvent): Recalled {
  switch (event.type) {
    case "hostFailed":
    case "rackFailed":
    case "hostIsolated": {
      const silenced: string[] = [];
      for (const host of event.type === "hostIsolated" ? [world.hosts.get(event.host)!] : hostsDownedBy(world, event)) {
        // A host already silent, or switched off (and not isolated), has nothing more to tell.
        if (memory.silentSince.has(host.id) || (!host.isolated && host.poweredOff !== null)) continue;
        memory.silentSince.set(host.id, { t: event.t, seq: event.seq });
        silenced.push(host.id);
      }
      return { silenced };
    }
    case "hostFailureDetected":
      memory.declaredDead.add(event.host);
      return {};
    case "hostPoweredOn":
    case "hostReconnected":
      regained(memory, world, event.host);
      return {};
    case "hostRepaired":
    case "rackRepaired":
      for (const host of hostsBroughtUpBy(world, event)) regained(memory, world, host.id);
      return {};
    case "migrationStarted":
      memory.migrating.set(event.vm, event.from);
      return {};
    case "migrationFinished":
    case "migrationAborted":
    case "vmTerminated":
    case "vmLost": {
      const from = memory.migrating.get(event.vm);
      if (event.type === "vmTerminated") {
        // Gone for good (a lost VM may be relaunched under its id and keeps its history).
        memory.migrationFailures.delete(event.vm);
        memory.failedStarts.delete(event.vm);
        memory.stalls.delete(event.vm);
      }
      if (from === undefined) return {};
      memory.migrating.delete(event.vm);
      if (event.type === "migrationFinished") memory.migrationFailures.delete(event.vm);
      else if (event.type === "migrationAborted") memory.migrationFailures.set(event.vm, (memory.migrationFailures.get(event.vm) ?? 0) + 1);
      return { migrationEndedFrom: from };
    }
    case "storageNetworkRepaired":
      for (const vm of world.hosts.get(event.host)!.vms) memory.stalls.delete(vm);
      return {};
    case "vmDown": {
      if (event.cause === "storage") {
        const host = world.vms.get(event.vm)!.host!;
        if (cutOffFromStorage(world, host)) memory.stalls.set(event.vm, { host, t: event.t });
        return {};
      }
      if (event.cause !== "stopped") return {};
      const vm = world.vms.get(event.vm)!;
      const host = world.hosts.get(vm.host!)!;
      // Stopped on a host it cannot reach: that is HA's business, not VM monitoring's.
      if (!host.up || host.isolated) return {};
      const recent = (memory.failedStarts.get(event.vm) ?? []).filter((t) => t > event.t - RETRY_WINDOW_MS);
      recent.push(event.t);
      memory.failedStarts.set(event.vm, recent);
      return {};
    }
    default:
      return {};
  }
}

function regained(memory: ControllerMemory, world: World, hostId: string): void {
  const host = world.hosts.get(hostId)!;
  if (!host.up || host.isolated) return;
  memory.silentSince.delete(hostId);
  memory.declaredDead.delete(hostId);
}

/** Rebuilds the memory from a log (or a prefix of one): the world and the memory after its last event. */
export function recall(events: Iterable<DomainEvent>, evolve: (world: World, event: DomainEvent) => World, world: World): ControllerMemory {
  const memory = emptyMemory();
  for (const event of events) remember(memory, evolve(world, event), event);
  return memory;
}

/** The memory as plain, ordered data (to compare two memories, or to print one). */
export function memorySnapshot(memory: ControllerMemory): unknown {
  const sorted = <K extends string, V>(map: Map<K, V>) => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    silentSince: sorted(memory.silentSince),
    declaredDead: [...memory.declaredDead].sort(),
    migrating: sorted(memory.migrating),
    migrationFailures: sorted(memory.migrationFailures),
    failedStarts: sorted(memory.failedStarts),
    stalls: sorted(memory.stalls),
  };
}

/**
 * Whether a down VM still waits for its host's storage path: it went down for it (`stalls`) and,
 * with HA's restart response (vSphere VM Component Protection), the response's timeout has not yet
 * run out at `nowMs` — after it, it may be restarted on a host that reaches its storage.
 */
export function stalledOnPath(memory: ControllerMemory, vmId: string, nowMs: number, storagePath: { restart: boolean; timeoutMs: number } | undefined): boolean {
  const stall = memory.stalls.get(vmId);
  if (stall === undefined) return false;
  return !storagePath?.restart || nowMs < stall.t + storagePath.timeoutMs;
}
