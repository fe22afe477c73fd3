import type { DomainEvent } from "../model/events.js";

/**
 * What `testbed calibrate` measures in the event log of a run on real hosts, in seconds, one
 * sample per occurrence — the quantities the simulation takes as inputs:
 *
 * - `bootSeconds`: `vmPlaced` → the guest's `guestBooted` on that host (it has read its disk: what
 *   the user waits for; `provisioning.bootSeconds`), and `libvirtStartSeconds`: `vmPlaced` →
 *   `vmStarted` (libvirt says "running"; measured 10–25 s earlier under TCG, issue 16).
 * - `detectionSeconds`: a host failure injected (the fence command begun) → `hostFailed`
 *   (`ha.heartbeatTimeoutSeconds`); `restartElsewhereSeconds`: `hostFailed` → the guest's boot
 *   on another host (fencing, the lock holder's blocklisting, the boot).
 * - `migrationSeconds` (`migrationStarted` → `migrationFinished`) and `migrationDowntimeSeconds`
 *   (the downtime QEMU reports in `migrationFinished`).
 * - `osdDetectionSeconds`: an OSD stopped (`disk` row begun) → its `diskFailed`;
 *   `osdRecoverySeconds`: `diskReplaced` → `rebuildFinished` of a copy there (the pool
 *   `active+clean` again: `storage.rebuildHours`); `storageOutageSeconds`: `storageFailed` →
 *   `storageRepaired`.
 *
 * `injected`: when the run began each host or disk failure (log ms), known to the caller only.
 */
export interface CalibrationSamples {
  bootSeconds: number[];
  libvirtStartSeconds: number[];
  detectionSeconds: number[];
  restartElsewhereSeconds: number[];
  migrationSeconds: number[];
  migrationDowntimeSeconds: number[];
  osdDetectionSeconds: number[];
  osdRecoverySeconds: number[];
  storageOutageSeconds: number[];
}

export type CalibrationQuantity = keyof CalibrationSamples;

export interface Injection {
  /** A host (crash) or a `host/disk` (its OSD stopped). */
  target: string;
  t: number;
}

export function emptyCalibration(): CalibrationSamples {
  return {
    bootSeconds: [],
    libvirtStartSeconds: [],
    detectionSeconds: [],
    restartElsewhereSeconds: [],
    migrationSeconds: [],
    migrationDowntimeSeconds: [],
    osdDetectionSeconds: [],
    osdRecoverySeconds: [],
    storageOutageSeconds: [],
  };
}

/** The samples of one run's events (in log order), added to `into`. */
export function calibrationSamples(events: readonly DomainEvent[], injected: readonly Injection[], into = emptyCalibration()): CalibrationSamples {
  const s = (ms: number) => ms / 1000;
  const placed = new Map<string, { host: string; t: number; booted: boolean; started: boolean }>();
  const failedAt = new Map<string, { host: string; t: number }>(); // VM → its host's failure, until it boots elsewhere
  const migrating = new Map<string, { t: number; to: string }>();
  const replacedAt = new Map<string, number>(); // host → its disk back
  let outageSince: number | null = null;
  const pending = [...injected];
  const take = (target: string, t: number): number | null => {
    const i = pending.findIndex((p) => p.target === target && p.t <= t);
    if (i < 0) return null;
    const [p] = pending.splice(i, 1);
    return p!.t;
  };
  const hostOf = new Map<string, string>();
  for (const e of events) {
    switch (e.type) {
      case "vmPlaced":
        placed.set(e.vm, { host: e.host, t: e.t, booted: false, started: false });
        hostOf.set(e.vm, e.host);
        break;
      case "vmStarted": {
        const p = placed.get(e.vm);
        if (p && !p.started) {
          p.started = true;
          into.libvirtStartSeconds.push(s(e.t - p.t));
        }
        break;
      }
      case "guestBooted": {
        const p = placed.get(e.vm);
        if (p && p.host === e.host && !p.booted) {
          p.booted = true;
          into.bootSeconds.push(s(e.t - p.t));
        }
        const failed = failedAt.get(e.vm);
        if (failed && failed.host !== e.host) {
          into.restartElsewhereSeconds.push(s(e.t - failed.t));
          failedAt.delete(e.vm);
        }
        break;
      }
      case "hostFailed": {
        const since = take(e.host, e.t);
        if (since !== null) into.detectionSeconds.push(s(e.t - since));
        for (const [vm, host] of hostOf) if (host === e.host && !failedAt.has(vm)) failedAt.set(vm, { host: e.host, t: e.t });
        break;
      }
      case "migrationStarted":
        migrating.set(e.vm, { t: e.t, to: e.to });
        break;
      case "migrationFinished": {
        const since = migrating.get(e.vm);
        if (since !== undefined) {
          into.migrationSeconds.push(s(e.t - since.t));
          hostOf.set(e.vm, since.to);
        }
        into.migrationDowntimeSeconds.push(s(e.downtimeMs));
        migrating.delete(e.vm);
        break;
      }
      case "migrationAborted":
        migrating.delete(e.vm);
        break;
      case "diskFailed": {
        const since = take(`${e.host}/${e.disk}`, e.t);
        if (since !== null) into.osdDetectionSeconds.push(s(e.t - since));
        break;
      }
      case "diskReplaced":
        replacedAt.set(e.host, e.t);
        break;
      case "rebuildFinished": {
        const since = replacedAt.get(e.host);
        if (since !== undefined) {
          into.osdRecoverySeconds.push(s(e.t - since));
          replacedAt.delete(e.host);
        }
        break;
      }
      case "storageFailed":
        if (e.rack === null) outageSince = e.t;
        break;
      case "storageRepaired":
        if (e.rack === null && outageSince !== null) {
          into.storageOutageSeconds.push(s(e.t - outageSince));
          outageSince = null;
        }
        break;
    }
  }
  return into;
}

/** The median (the mean of the middle two of an even count) and the range of a sample. */
export function spread(values: readonly number[]): { n: number; median: number; min: number; max: number } | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { n: sorted.length, median, min: sorted[0]!, max: sorted.at(-1)! };
}
