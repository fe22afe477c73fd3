import { precopy, type PrecopyResult } from "./precopy.js";

/** A live migration's parameters (defaults and their sources in `src/scenario/defaults.ts`). */
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
