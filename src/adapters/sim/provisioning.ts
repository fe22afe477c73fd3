import { distribution, type Distribution } from "../../kernel/distributions.js";
import type { Random } from "../../kernel/random.js";
import type { DiskKind } from "../../model/events.js";
import type { ProvisioningConfig, StateRestoreConfig } from "../../scenario/resolve.js";

/**
 * How long a VM takes from being assigned to a host until it runs, by where its disk lives:
 *
 * - instance store (EC2 / Eucalyptus): copy the image to the host unless the host has it
 *   cached, inject the user's SSH key into the root file system, boot. Eucalyptus node
 *   controllers cache images locally (Nurmi et al., "The Eucalyptus Open-source Cloud-computing
 *   System", CCGrid 2009); the transfer is image size / link bandwidth.
 * - local RAID (VPS): boot.
 * - volume (persistent-ha): attach the volume, boot.
 *
 * The replacement of a lost VM (`users.stateRestore`) then restores the VM's state from a backup:
 * a time drawn from its own stream (`restore`), or the VM's disk size over the backup bandwidth.
 *
 * Defaults and their sources: `src/scenario/defaults.ts`.
 */

const MIB_PER_GIB = 1024;

export class Provisioning {
  private readonly boot: Distribution;
  private readonly keyInjection: Distribution;
  private readonly volumeAttach: Distribution;
  private readonly imageTransferMs: number;
  private readonly imageCache: boolean;
  /** Hosts that hold the image (Eucalyptus' node cache); survives host failures. */
  private readonly cached = new Set<string>();
  private readonly restore: { hours: Distribution } | { backupMBps: number } | null;

  constructor(config: ProvisioningConfig, private readonly random: Random, restore: StateRestoreConfig | null = null, private readonly restoreRandom: Random | null = null) {
    this.restore = restore === null ? null : "hours" in restore ? { hours: distribution(restore.hours) } : restore;
    this.boot = distribution(config.bootSeconds);
    this.keyInjection = distribution(config.keyInjectionSeconds);
    this.volumeAttach = distribution(config.volumeAttachSeconds);
    this.imageTransferMs = ((config.imageGiB * MIB_PER_GIB) / config.imageTransferMiBps) * 1000;
    this.imageCache = config.imageCache;
  }

  /** Milliseconds to restore the state of a lost VM with a disk of `diskGiB` on its replacement (0 without `stateRestore`). */
  restoreMs(diskGiB: number): number {
    if (this.restore === null) return 0;
    const hours = "hours" in this.restore ? this.restore.hours.sample(this.restoreRandom!) : (diskGiB * 2 ** 30) / (this.restore.backupMBps * 1e6) / 3600;
    return Math.round(hours * 3_600_000);
  }

  /** Milliseconds from assignment to running for a (re)boot of a VM with this disk on this host. */
  bootMs(disk: DiskKind, host: string): number {
    let seconds = this.boot.sample(this.random);
    if (disk === "instance-store") {
      seconds += this.keyInjection.sample(this.random);
      if (!(this.imageCache && this.cached.has(host))) {
        seconds += this.imageTransferMs / 1000;
        this.cached.add(host);
      }
    } else if (disk === "volume") {
      seconds += this.volumeAttach.sample(this.random);
    }
    return Math.round(seconds * 1000);
  }
}
