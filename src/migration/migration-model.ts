import { precopy, type PrecopyResult } from "./precopy.js";

/** A live migration's parameters (defaults and their sources in `src/scenario/defaults.ts`). */
export interface MigrationConfig {
  bandwidthMiBps: number;
  writableWorkingSetFraction: number;
  stopCopyThresholdMiB: number;
  maxRounds: number;
  maxSentFactor: number;
  switchoverMs: number;
  setupSeconds: number;
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
export function migrationShareMiBps(config: Pick<MigrationConfig, "bandwidthMiBps">, outgoingFromSource: number, incomingToDestination: number): number {
  return config.bandwidthMiBps / Math.max(outgoingFromSource + 1, incomingToDestination + 1);
}

/** Pre-copy of a VM of `memoryGiB` dirtying `dirtyRateMiBps`, over a share of `bandwidthMiBps` of the link. */
export function liveMigration(config: MigrationConfig, memoryGiB: number, dirtyRateMiBps: number, bandwidthMiBps: number): PrecopyResult {
  const memoryMiB = memoryGiB * MIB_PER_GIB;
  return precopy({
    memoryMiB,
    dirtyRateMiBps: dirtyRateMiBps,
    bandwidthMiBps: bandwidthMiBps,
    stopCopyThresholdMiB: config.stopCopyThresholdMiB,
    maxRounds: config.maxRounds,
    maxSentFactor: config.maxSentFactor,
    writableWorkingSetMiB: memoryMiB * config.writableWorkingSetFraction,
    switchoverMs: config.switchoverMs,
    setupMs: config.setupSeconds * 1000,
  });
}

/** Cold migration: the VM is stopped while its local disk (none for a volume) is copied; it then boots on the destination. */
export function coldMigrationMs(localDiskGiB: number, bandwidthMiBps: number): number {
  return ((localDiskGiB * MIB_PER_GIB) / bandwidthMiBps) * 1000;
}
