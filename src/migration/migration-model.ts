import { XEN_PRECOPY_DEFAULTS, precopy, type PrecopyResult } from "./precopy.js";

/**
 * Defaults of the simulated migrations.
 *
 * - Link: 1 Gbit/s, as in Clark et al.'s testbed ("Live Migration of Virtual Machines", NSDI
 *   2005, §6.1); 117 MiB/s is what TCP carries of it.
 * - Dirty rate 20 MiB/s: Clark et al.'s SPECweb99 server (§6.3) dirtied its working set at a few
 *   tens of MB/s; their Quake 3 server far less; MMuncher (a memory benchmark) 512 MB/s, enough to
 *   defeat pre-copy on that link. Override per scenario with a distribution.
 * - Pre-copy limits: Xen's (30 rounds, 3× memory, 50 pages), `XEN_PRECOPY_DEFAULTS`.
 * - Switchover 20 ms: resuming the VM and the unsolicited ARP; Clark et al. report 165 ms total
 *   downtime for SPECweb99 (most of it the last round) and 50 ms for Quake 3.
 * - At most 2 migrations at once from or to one host: vSphere allows 4 on 1 GbE, but each then
 *   gets a quarter of the link; 2 keeps each migration's share, and its dirtying, reasonable.
 */
export const MIGRATION_DEFAULTS = {
  bandwidthMBps: 117,
  dirtyRateMBps: 20,
  writableWorkingSetFraction: 1,
  ...XEN_PRECOPY_DEFAULTS,
  switchoverMs: 20,
  abortOnNonConvergence: false,
  maxPerHost: 2,
} as const;

export interface MigrationConfig {
  bandwidthMBps: number;
  writableWorkingSetFraction: number;
  stopCopyThresholdMiB: number;
  maxRounds: number;
  maxSentFactor: number;
  switchoverMs: number;
  abortOnNonConvergence: boolean;
  maxPerHost: number;
}

const MIB_PER_GIB = 1024;

/**
 * The bandwidth one migration gets when it starts: its source's outgoing and its destination's
 * incoming link are shared equally by the migrations using them (full duplex, so a host's
 * outgoing and incoming migrations do not compete), counting this one. It is fixed for the
 * migration's duration — an approximation: a migration that starts later slows only itself.
 */
export function migrationShareMBps(config: Pick<MigrationConfig, "bandwidthMBps">, outgoingFromSource: number, incomingToDestination: number): number {
  return config.bandwidthMBps / Math.max(outgoingFromSource + 1, incomingToDestination + 1);
}

/** Pre-copy of a VM of `memoryGiB` dirtying `dirtyRateMBps`, over a share of `bandwidthMBps` of the link. */
export function liveMigration(config: MigrationConfig, memoryGiB: number, dirtyRateMBps: number, bandwidthMBps: number): PrecopyResult {
  const memoryMiB = memoryGiB * MIB_PER_GIB;
  return precopy({
    memoryMiB,
    dirtyRateMiBps: dirtyRateMBps,
    bandwidthMiBps: bandwidthMBps,
    stopCopyThresholdMiB: config.stopCopyThresholdMiB,
    maxRounds: config.maxRounds,
    maxSentFactor: config.maxSentFactor,
    writableWorkingSetMiB: memoryMiB * config.writableWorkingSetFraction,
    switchoverMs: config.switchoverMs,
  });
}

/** Cold migration: the VM is stopped while its local disk (none for a volume) is copied; it then boots on the destination. */
export function coldMigrationMs(localDiskGiB: number, bandwidthMBps: number): number {
  return ((localDiskGiB * MIB_PER_GIB) / bandwidthMBps) * 1000;
}
