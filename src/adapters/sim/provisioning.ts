import { distribution, type Distribution } from "../../kernel/distributions.js";
import type { Random } from "../../kernel/random.js";
import type { DiskKind } from "../../model/events.js";
import type { ProvisioningConfig } from "../../scenario/resolve.js";

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

  constructor(config: ProvisioningConfig, private readonly random: Random) {
    this.boot = distribution(config.bootSeconds);
    this.keyInjection = distribution(config.keyInjectionSeconds);
    this.volumeAttach = distribution(config.volumeAttachSeconds);
    this.imageTransferMs = ((config.imageGiB * MIB_PER_GIB) / config.imageTransferMiBps) * 1000;
    this.imageCache = config.imageCache;
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
