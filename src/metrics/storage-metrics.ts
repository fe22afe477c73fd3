import { MS_PER_YEAR, msToHours } from "../kernel/time.js";
import type { Projection } from "./projection.js";
import { percentiles, type Percentiles } from "./service-metrics.js";

/**
 * Replicated storage as a fold over its events (persistent-ha runs; zeros elsewhere):
 * `dataLossEvents` volumes whose last intact copy was destroyed and `gbLost` their size;
 * `copiesLost` copies destroyed with their disks; rebuilds started, finished and aborted, with
 * `rebuildHours` the total time spent by finished rebuilds and `rebuildTimeHours` their spread;
 * `volumeYears` the exposure (volume-time in existence) and `mttdlHours` = volume-hours / losses,
 * the renewal-reward estimate of the mean time to data loss of one volume.
 */
export interface StorageMetrics {
  volumesCreated: number;
  volumeYears: number;
  dataLossEvents: number;
  gbLost: number;
  mttdlHours: number | null;
  copiesLost: number;
  rebuildsStarted: number;
  rebuildsFinished: number;
  rebuildsAborted: number;
  rebuildHours: number;
  rebuildTimeHours: Percentiles;
}

interface State {
  t: number;
  volumes: number;
  volumeMs: number;
  created: number;
  lost: number;
  gbLost: number;
  copiesLost: number;
  started: Map<string, number>;
  startedCount: number;
  aborted: number;
  rebuildMs: number[];
}

export const storageMetrics: Projection<State, StorageMetrics> = {
  init: () => ({ t: 0, volumes: 0, volumeMs: 0, created: 0, lost: 0, gbLost: 0, copiesLost: 0, started: new Map(), startedCount: 0, aborted: 0, rebuildMs: [] }),
  apply(s, e) {
    s.volumeMs += s.volumes * (e.t - s.t);
    s.t = e.t;
    switch (e.type) {
      case "volumeCreated":
        s.volumes++;
        s.created++;
        break;
      case "volumeDeleted":
        s.volumes--;
        break;
      case "volumeLost":
        s.volumes--;
        s.lost++;
        s.gbLost += e.sizeGiB;
        break;
      case "copyLost":
        s.copiesLost++;
        s.started.delete(`${e.volume}@${e.host}`);
        break;
      case "rebuildStarted":
        s.started.set(`${e.volume}@${e.host}`, e.t);
        s.startedCount++;
        break;
      case "rebuildFinished": {
        const key = `${e.volume}@${e.host}`;
        s.rebuildMs.push(e.t - s.started.get(key)!);
        s.started.delete(key);
        break;
      }
      case "rebuildAborted":
        s.started.delete(`${e.volume}@${e.host}`);
        s.aborted++;
        break;
    }
    return s;
  },
  result(s) {
    const volumeHours = msToHours(s.volumeMs);
    return {
      volumesCreated: s.created,
      volumeYears: s.volumeMs / MS_PER_YEAR,
      dataLossEvents: s.lost,
      gbLost: s.gbLost,
      mttdlHours: s.lost > 0 ? volumeHours / s.lost : null,
      copiesLost: s.copiesLost,
      rebuildsStarted: s.startedCount,
      rebuildsFinished: s.rebuildMs.length,
      rebuildsAborted: s.aborted,
      rebuildHours: msToHours(s.rebuildMs.reduce((a, b) => a + b, 0)),
      rebuildTimeHours: percentiles(s.rebuildMs.map(msToHours)),
    };
  },
};
