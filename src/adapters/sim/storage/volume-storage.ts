import type { DomainEvent } from "../../../model/events.js";

/** Where persistent-ha volumes live, as the simulated infrastructure drives it. */
export interface VolumeStorage {
  /** Whether a volume (of `sizeGiB`) made now would be reachable: the service is up and has somewhere, with room, to put it. */
  canCreateVolume(sizeGiB?: number): boolean;
  /** Makes the volume of a VM about to be placed on `host`. */
  createVolume(vm: string, host: string): void;
  /** Reacts to the events that concern the storage (failures, repairs, deleted VMs). */
  react(event: DomainEvent): void;
}
