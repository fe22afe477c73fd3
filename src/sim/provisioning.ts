import { distribution, type Distribution } from "../kernel/distributions.js";
import type { Random } from "../kernel/random.js";
import type { DiskKind } from "../model/events.js";
import type { ProvisioningSpec } from "../scenario/schema.js";

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
 * Defaults: a 10 GiB image (EC2 root volumes default to 8–10 GiB) over 100 MB/s (about a
 * 1 Gbit/s link); boot 40 s and key injection 5 s — Mao & Humphrey ("A Performance Study on the
 * VM Startup Time in the Cloud", CLOUD 2012) measured ~97 s from request to a reachable Linux
 * instance on EC2 including provisioning, of which the guest boot is a part; attach 5 s.
 */
export const PROVISIONING_DEFAULTS = {
  bootSeconds: 40,
  imageGiB: 10,
  imageTransferMBps: 100,
  imageCache: true,
  keyInjectionSeconds: 5,
  volumeAttachSeconds: 5,
} as const;

const MIB_PER_GIB = 1024;

export class Provisioning {
  private readonly boot: Distribution;
  private readonly keyInjection: Distribution;
  private readonly volumeAttach: Distribution;
  private readonly imageTransferMs: number;
  private readonly imageCache: boolean;
  /** Hosts that hold the image (Eucalyptus' node cache); survives host failures. */
  private readonly cached = new Set<string>();

  constructor(spec: ProvisioningSpec, private readonly random: Random) {
    const d = PROVISIONING_DEFAULTS;
    this.boot = distribution(spec.bootSeconds ?? { type: "deterministic", value: d.bootSeconds });
    this.keyInjection = distribution(spec.keyInjectionSeconds ?? { type: "deterministic", value: d.keyInjectionSeconds });
    this.volumeAttach = distribution(spec.volumeAttachSeconds ?? { type: "deterministic", value: d.volumeAttachSeconds });
    const imageGiB = spec.imageGiB ?? d.imageGiB;
    const mbps = spec.imageTransferMBps ?? d.imageTransferMBps;
    this.imageTransferMs = ((imageGiB * MIB_PER_GIB) / mbps) * 1000;
    this.imageCache = spec.imageCache ?? d.imageCache;
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
