import { createHash } from "node:crypto";
import { canonicalJson } from "../model/canonical.js";
import type { ServiceModel } from "../model/events.js";
import type { RunConfig } from "../scenario/resolve.js";

/**
 * The parts of a resolved configuration (`RunConfig`, as dotted paths) that a service model's run
 * does not read, so two cells that differ only there give that model the same run (same seed ⇒
 * same log):
 * - ephemeral and vps keep their disks on the hosts' arrays: `storage` (persistent-ha's volumes:
 *   replicas, rebuild rate, SAN, spread over racks) is never built for them (`buildSimulation`),
 *   nor are the outages of the storage service and its network (`failures.storage`,
 *   `failures.storageNetwork`), which serve only volumes;
 * - persistent-ha keeps its disks on volumes: the hosts' `localRaid` is never built for it.
 * Everything else — the other failures (including the SAN's outage process, whose events every
 * model's log carries), workload, controller, maintenance, prices — is read by all three, so it
 * stays in the key. The list is conservative on purpose: a part left in costs a run, a part wrongly
 * left out would give a cell another cell's answer. `test/run-reuse.test.ts` checks it: changing
 * only a left-out part leaves the model's log hash unchanged. A new configuration part is in every
 * model's key until someone shows (and tests) that a model ignores it.
 */
export const IGNORED_BY_MODEL: Readonly<Record<ServiceModel, readonly string[]>> = {
  ephemeral: ["storage", "failures.storage", "failures.storageNetwork"],
  vps: ["storage", "failures.storage", "failures.storageNetwork"],
  "persistent-ha": ["localRaid"],
};

/** The hash of what `model` reads of `config`: equal keys (and seeds) give byte-identical logs. */
export function modelRunKey(config: RunConfig, model: ServiceModel): string {
  const read = structuredClone(config) as unknown as Record<string, unknown>;
  for (const path of IGNORED_BY_MODEL[model]) {
    const keys = path.split(".");
    const parent = keys.slice(0, -1).reduce<Record<string, unknown> | undefined>((at, key) => at?.[key] as Record<string, unknown> | undefined, read);
    if (parent) delete parent[keys[keys.length - 1]!];
  }
  return createHash("sha256").update(canonicalJson(read)).digest("hex");
}

/**
 * For each cell (in order), the models whose run an earlier cell already makes: model → the
 * index of the first cell with the same `modelRunKey`. A cell's own runs are made for the others.
 */
export function reuseSources(configs: readonly RunConfig[], models: readonly ServiceModel[]): Partial<Record<ServiceModel, number>>[] {
  const first = new Map<string, number>();
  return configs.map((config, index) => {
    const reused: Partial<Record<ServiceModel, number>> = {};
    for (const model of models) {
      const key = `${model}\t${modelRunKey(config, model)}`;
      const source = first.get(key);
      if (source === undefined) first.set(key, index);
      else reused[model] = source;
    }
    return reused;
  });
}

/** How many of an experiment's planned runs (cells × seeds × models) another cell's run stands for. */
export function reuseCount(experiment: { definition: { seeds: readonly number[]; serviceModels: readonly string[]; reusedFrom?: Record<string, Record<string, number>> }; cells: readonly unknown[] }): { planned: number; reused: number } {
  const { seeds, serviceModels, reusedFrom = {} } = experiment.definition;
  const reusedModels = Object.values(reusedFrom).reduce((sum, models) => sum + Object.keys(models).length, 0);
  return { planned: experiment.cells.length * seeds.length * serviceModels.length, reused: reusedModels * seeds.length };
}
