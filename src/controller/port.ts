import type { DomainEventBody, MigrationMode, PowerOffReason } from "../model/events.js";
import type { World } from "../model/world.js";

/**
 * The infrastructure port: what the controller needs from the infrastructure it runs on — the
 * simulated cluster (`src/adapters/sim/`) or real hosts through libvirt. The controller
 * reads the world (never writes it) and acts only through these commands; it never knows whether
 * time is simulated.
 *
 * A command returns at once. Its outcome comes back later as domain events that the adapter
 * emits into the log (and so into the world): success (`vmStarted`, `migrationFinished`,
 * `hostPoweredOn`, ...), or failure (`vmDown`, `migrationAborted`, a host failure). A command
 * whose outcome never comes is the controller's business (it sets a timeout with `after`).
 */
export interface ClusterPort {
  readonly world: World;
  /** The run's clock (ms since t = 0): the world's time is its last event's, this one goes on between events. */
  readonly now: number;
  /** Calls `callback` after `delayMs` (simulated or wall-clock). */
  after(delayMs: number, callback: () => void): void;
  /** Records a decision of the controller as an event (a refused request, a host declared dead, maintenance begun). */
  record(body: DomainEventBody): void;
  /**
   * Whether the storage can make a new volume now (persistent-ha): not while the SAN or the
   * storage service is out, nor while no host can take a copy (of `sizeGiB`: none has room). A VM
   * without a volume waits until it can.
   */
  canCreateVolume(sizeGiB?: number): boolean;
  /** Assigns a pending or down VM to a host and boots it there: `vmPlaced`, then `vmStarted`. */
  startVm(vm: string, host: string): void;
  /** Boots a down VM again on the host it is assigned to: `vmRebooted`, then `vmStarted`. */
  rebootVm(vm: string): void;
  /** Shuts a running VM down, keeping it assigned to its host with its disk: `vmDown` (cause `stopped`). */
  stopVm(vm: string): void;
  /**
   * Moves a running VM to another host: `migrationStarted` (the destination's resources are
   * reserved; both hosts hold the VM until the end), then `migrationFinished` (the VM is on the
   * destination) or `migrationAborted` (the destination is released; the VM stays on the source).
   */
  migrateVm(vm: string, host: string, mode: MigrationMode): void;
  /** Switches an up host with no running VMs off: `hostPoweredOff`. Fencing (`fenced`) switches it off whatever runs on it (STONITH). */
  powerOffHost(host: string, reason: PowerOffReason): void;
  /** Switches a host that was powered off on again: `hostPoweredOn` once it has booted. */
  powerOnHost(host: string): void;
}
