import type { TopLevelSpec } from "vega-lite";
import { msToHours } from "../kernel/time.js";
import type { DomainEvent, EventType } from "../model/events.js";
import { evolve } from "../model/evolve.js";
import { emptyWorld, hostsSwitchedBy } from "../model/world.js";
import type { Chart } from "./chart.js";

/**
 * Chart 6: one run over time — hosts up and VMs running (step lines, from `evolve` over the
 * run's events), and below them every failure and recovery as a mark on its own row.
 *
 * A long run changes its counts far more often than a chart has pixels: past `maxSteps` changes
 * the counts are shown per time bin as the bin's minimum (the dips are what matters), and the
 * axis title says so. Markers past `maxMarkers` are dropped, and the subtitle says how many.
 */
const MARKERS: Partial<Record<EventType, { row: string; kind: TimelineMarker["kind"] }>> = {
  hostFailed: { row: "host failed", kind: "failure" },
  hostRepaired: { row: "host repaired", kind: "recovery" },
  hostFailureDetected: { row: "host declared dead (HA)", kind: "recovery" },
  rackFailed: { row: "rack out", kind: "failure" },
  rackRepaired: { row: "rack back", kind: "recovery" },
  diskFailed: { row: "disk failed", kind: "failure" },
  sanFailed: { row: "SAN out", kind: "failure" },
  sanRepaired: { row: "SAN back", kind: "recovery" },
  controllerFailed: { row: "controller out", kind: "failure" },
  controllerRecovered: { row: "controller back", kind: "recovery" },
  storageFailed: { row: "storage out", kind: "failure" },
  storageRepaired: { row: "storage back", kind: "recovery" },
  storageNetworkFailed: { row: "storage path lost", kind: "failure" },
  storageNetworkRepaired: { row: "storage path back", kind: "recovery" },
  arrayLost: { row: "RAID array lost", kind: "failure" },
  arrayRecreated: { row: "RAID array recreated", kind: "recovery" },
  vmLost: { row: "VM lost", kind: "failure" },
  volumeLost: { row: "volume lost", kind: "failure" },
  dataDamaged: { row: "data damaged (read error)", kind: "failure" },
  rebuildFinished: { row: "copy rebuilt", kind: "recovery" },
  hostIsolated: { row: "host isolated", kind: "failure" },
  hostReconnected: { row: "host reconnected", kind: "recovery" },
  splitBrain: { row: "split brain", kind: "failure" },
  maintenanceStarted: { row: "maintenance", kind: "operation" },
  hostPoweredOff: { row: "host powered off", kind: "operation" },
  hostPoweredOn: { row: "host powered on", kind: "operation" },
  migrationFinished: { row: "VM migrated", kind: "operation" },
};

export interface TimelineStep {
  t: number;
  series: "hosts up" | "VMs running";
  count: number;
}

export interface TimelineMarker {
  t: number;
  row: string;
  kind: "failure" | "recovery" | "operation";
  what: string;
}

export interface Timeline {
  steps: TimelineStep[];
  markers: TimelineMarker[];
  droppedMarkers: number;
  binHours: number | null;
  endHours: number;
  serviceModel: string | null;
  unit: "hours" | "days";
}

export function timeline(events: Iterable<DomainEvent>, options: { maxSteps?: number; maxMarkers?: number } = {}): Timeline {
  const maxSteps = options.maxSteps ?? 1500;
  const maxMarkers = options.maxMarkers ?? 4000;
  const world = emptyWorld();
  const running = new Set<string>();
  let hostsUp = 0;
  const raw: { t: number; hosts: number; vms: number }[] = [];
  const markers: TimelineMarker[] = [];
  let dropped = 0;
  for (const event of events) {
    evolve(world, event);
    if (event.type === "hostAdded") hostsUp++;
    if ("vm" in event) {
      // Whatever the event (start, outage, cold migration, termination), the world says whether the VM runs.
      if (world.vms.get(event.vm)?.state === "running") running.add(event.vm);
      else running.delete(event.vm);
    }
    for (const host of hostsSwitchedBy(world, event)) hostsUp += host.up ? 1 : -1;
    const last = raw[raw.length - 1];
    if (last && last.t === event.t) {
      last.hosts = hostsUp;
      last.vms = running.size;
    } else if (!last || last.hosts !== hostsUp || last.vms !== running.size) {
      raw.push({ t: event.t, hosts: hostsUp, vms: running.size });
    }
    const marker = MARKERS[event.type];
    if (marker) {
      if (markers.length < maxMarkers) markers.push({ t: event.t, row: marker.row, kind: marker.kind, what: describe(event) });
      else dropped++;
    }
  }
  const endMs = world.t;
  const unit = msToHours(endMs) > 240 ? "days" : "hours";
  const toUnit = (ms: number) => (unit === "days" ? msToHours(ms) / 24 : msToHours(ms));
  let binHours: number | null = null;
  let samples = raw;
  if (raw.length > maxSteps && endMs > 0) {
    const bins = Math.floor(maxSteps / 2);
    const width = endMs / bins;
    binHours = msToHours(width);
    samples = [];
    let i = 0;
    let current = raw[0]!;
    for (let b = 0; b < bins; b++) {
      const start = b * width;
      const end = (b + 1) * width;
      let minHosts = current.hosts;
      let minVms = current.vms;
      while (i < raw.length && raw[i]!.t < end) {
        current = raw[i]!;
        minHosts = Math.min(minHosts, current.hosts);
        minVms = Math.min(minVms, current.vms);
        i++;
      }
      samples.push({ t: start, hosts: minHosts, vms: minVms });
    }
  }
  const steps: TimelineStep[] = [];
  for (const s of samples) {
    steps.push({ t: toUnit(s.t), series: "hosts up", count: s.hosts }, { t: toUnit(s.t), series: "VMs running", count: s.vms });
  }
  const end = samples[samples.length - 1];
  if (end) steps.push({ t: toUnit(endMs), series: "hosts up", count: end.hosts }, { t: toUnit(endMs), series: "VMs running", count: end.vms });
  return {
    steps,
    markers: markers.map((m) => ({ ...m, t: toUnit(m.t) })),
    droppedMarkers: dropped,
    binHours,
    endHours: msToHours(endMs),
    serviceModel: world.serviceModel,
    unit,
  };
}

function describe(event: DomainEvent): string {
  switch (event.type) {
    case "hostFailed":
      return `${event.host} (${event.cause})`;
    case "hostRepaired":
    case "hostFailureDetected":
    case "hostIsolated":
    case "hostReconnected":
    case "maintenanceStarted":
    case "hostPoweredOn":
      return event.host;
    case "hostPoweredOff":
      return `${event.host} (${event.reason})`;
    case "splitBrain":
      return `${event.vm} on ${event.host}`;
    case "migrationFinished":
      return `${event.vm} (${event.downtimeMs} ms down)`;
    case "rackFailed":
    case "rackRepaired":
      return event.rack;
    case "diskFailed":
      return `${event.host} disk ${event.disk}`;
    case "arrayLost":
    case "arrayRecreated":
      return event.host;
    case "vmLost":
      return `${event.vm} (${event.cause})`;
    case "volumeLost":
      return `${event.volume} of ${event.vm}`;
    case "rebuildFinished":
      return `${event.volume} on ${event.host}`;
    default:
      return event.type;
  }
}

export function timelineChart(tl: Timeline, runLabel: string): Chart {
  const x = { field: "t", type: "quantitative", title: `simulated time (${tl.unit})`, scale: { domain: [0, tl.unit === "days" ? tl.endHours / 24 : tl.endHours], nice: false } } as const;
  const countPanel = (series: TimelineStep["series"], color: string) => ({
    width: 600,
    height: 150,
    data: { values: tl.steps.filter((s) => s.series === series) },
    mark: { type: "line", interpolate: "step-after", color, strokeWidth: 1.5 },
    encoding: {
      x: { ...x, title: null, axis: { labels: false, ticks: false } },
      y: { field: "count", type: "quantitative", title: series, scale: { zero: false }, axis: { tickMinStep: 1, format: "d" } },
      tooltip: [{ field: "t", title: tl.unit, format: ".2f" }, { field: "count", title: series }],
    },
  });
  const rows = [...new Set(Object.values(MARKERS).map((m) => m.row))].filter((row) => tl.markers.some((m) => m.row === row));
  const eventsPanel = {
    width: 600,
    height: Math.max(60, 22 * rows.length),
    data: { values: tl.markers },
    mark: { type: "tick", thickness: 1.5, opacity: 0.8 },
    encoding: {
      x,
      y: { field: "row", type: "nominal", title: null, sort: rows, axis: { labelLimit: 240 } },
      color: { field: "kind", type: "nominal", title: "event", scale: { domain: ["failure", "recovery", "operation"], range: ["#d62728", "#2ca02c", "#1f77b4"] } },
      tooltip: [{ field: "row", title: "event" }, { field: "what", title: "what" }, { field: "t", title: tl.unit, format: ".3f" }],
    },
  };
  const spec = {
    title: {
      text: `Timeline of one run${tl.serviceModel ? ` (${tl.serviceModel})` : ""}`,
      subtitle: [
        runLabel,
        ...(tl.binHours !== null ? [`counts: the minimum over each ${tl.binHours.toPrecision(2)}-hour bin`] : []),
        ...(tl.droppedMarkers > 0 ? [`${tl.droppedMarkers} later failure/recovery events not drawn`] : [])],
    },
    vconcat: [countPanel("hosts up", "#1f77b4"), countPanel("VMs running", "#ff7f0e"), eventsPanel],
    spacing: 6,
  };
  return { name: "run-timeline", title: spec.title.text, spec: spec as unknown as TopLevelSpec };
}
