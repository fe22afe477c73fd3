/**
 * Domain events: the only record of what happened in a run. The world state is the fold of
 * `evolve` over them, starting from `emptyWorld()`, so a log holds everything needed to rebuild
 * a run (the service model and the hosts themselves arrive as events at t = 0).
 *
 * Every event carries `seq` (its 1-based position in the run's log) and `t` (simulated or
 * wall-clock milliseconds since the start of the run). Payload field names carry their units.
 */
export type FailureCause = "crash" | "hardware";

/**
 * The three hosting models compared (see DESIGN.md):
 * - `ephemeral`: EC2 / Eucalyptus instances; the root disk is a fresh image copy on the host's
 *   instance store, lost with the host;
 * - `vps`: classic VPS; the VM is pinned to one host and its local RAID;
 * - `persistent-ha`: the disk is a volume on replicated storage; a failed host's VMs are
 *   restarted elsewhere by the controller.
 */
export const SERVICE_MODELS = ["ephemeral", "vps", "persistent-ha"] as const;
export type ServiceModel = (typeof SERVICE_MODELS)[number];

/** Where a VM's disk lives, which decides what a host failure does to it. */
export type DiskKind = "instance-store" | "local-raid" | "volume";

export const DISK_OF_MODEL: Record<ServiceModel, DiskKind> = {
  ephemeral: "instance-store",
  vps: "local-raid",
  "persistent-ha": "volume",
};

export type DomainEventBody =
  /** The first event of every run: which service model the run simulates. */
  | { type: "runStarted"; serviceModel: ServiceModel }
  /** A host joins the cluster, up; `vcpus` and `memoryGiB` are its schedulable capacity. */
  | {
      type: "hostAdded";
      host: string;
      rack: string;
      vcpus: number;
      memoryGiB: number;
      diskGiB: number;
    }
  /** A host stopped: a transient crash (back after a reboot) or a hardware failure (back after repair). */
  | { type: "hostFailed"; host: string; cause: FailureCause }
  | { type: "hostRepaired"; host: string }
  /** A rack (power/network domain) went out: every host in it is down until it comes back. */
  | { type: "rackFailed"; rack: string }
  | { type: "rackRepaired"; rack: string }
  /** The controller declared a host dead after missing its heartbeats. */
  | { type: "hostFailureDetected"; host: string }
  /** A user asks for a VM; `lifetimeHours` null means it is wanted until the end of the run. */
  | {
      type: "vmRequested";
      vm: string;
      vcpus: number;
      memoryGiB: number;
      diskGiB: number;
      lifetimeHours: number | null;
    }
  /** A first request found no host with room: the request is refused (blocked). */
  | { type: "vmRejected"; vm: string }
  /** The VM is assigned to a host (its resources reserved there, released where it was) and boots. */
  | { type: "vmPlaced"; vm: string; host: string; bootMs: number }
  /** A VM that is down boots again on the host it is assigned to (a VPS after its host's repair). */
  | { type: "vmRebooted"; vm: string; bootMs: number }
  /** The VM finished booting and runs. */
  | { type: "vmStarted"; vm: string }
  /** The VM's host went down; the VM is down, still assigned there, its disk intact. */
  | { type: "vmDown"; vm: string }
  /**
   * The VM's host went down and took the instance and its local disk with it: the VM waits
   * unassigned for a replacement. `stateHours` is how much state was lost: the time since the
   * instance booted from a fresh image.
   */
  | { type: "vmLost"; vm: string; stateHours: number }
  /** The user no longer wants the VM: its resources are released and its demand ends. */
  | { type: "vmTerminated"; vm: string }
  /** The end of the observed period: metrics are measured over [0, t of this event]. */
  | { type: "runEnded" };

export type DomainEvent = { seq: number; t: number } & DomainEventBody;
export type EventType = DomainEvent["type"];
export type EventOf<K extends EventType> = Extract<DomainEvent, { type: K }>;
