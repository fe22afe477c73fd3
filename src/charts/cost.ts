import type { TopLevelSpec } from "vega-lite";
import { vpsMonthlyUsd } from "../metrics/cost.js";
import type { PriceModel } from "../model/events.js";
import { PRICES_2008 } from "../scenario/defaults.js";
import { formatNumber, type Chart } from "./chart.js";
import { MODEL_COLORS } from "./render.js";

/**
 * Chart 4: what a user pays for one VM in a 730-hour month against the hours it is used, under
 * the billing rules of `src/metrics/cost.ts`: `ephemeral` per started hour of use, `vps` per
 * month whether used or not, `persistent-ha` per started hour of use plus its volume per
 * GB-month all month (the disk persists while the VM is off). The break-even usage where the
 * flat VPS price equals an hourly bill is marked; when it lies past the 730 hours a month has,
 * the axis is extended to show it (up to two months) and the impossible region shaded.
 */
export const HOURS_PER_MONTH = 730;

export interface VmSize {
  name: string;
  memoryGiB: number;
  diskGiB: number;
}

/** EC2's m1.small of 2008: 1.7 GB of memory, 160 GB of instance storage. */
export const M1_SMALL: VmSize = { name: "m1.small", memoryGiB: 1.7, diskGiB: 160 };

export interface CostPoint {
  hoursPerMonth: number;
  serviceModel: string;
  usdPerMonth: number;
}

export function monthlyCost(model: "ephemeral" | "vps" | "persistent-ha", hours: number, vm: VmSize, prices: PriceModel): number {
  const compute = Math.ceil(hours) * vm.memoryGiB * prices.hourlyUsdPerGiB;
  switch (model) {
    case "ephemeral":
      return compute;
    case "vps":
      return vpsMonthlyUsd(prices, vm.memoryGiB);
    case "persistent-ha":
      return compute + vm.diskGiB * prices.storageUsdPerGBMonth;
  }
}

/** Hours of use per month at which an hourly-billed model costs as much as the VPS (continuous, before rounding up to whole hours). */
export function breakEvenHours(model: "ephemeral" | "persistent-ha", vm: VmSize, prices: PriceModel): number {
  const flat = model === "persistent-ha" ? vm.diskGiB * prices.storageUsdPerGBMonth : 0;
  return (vpsMonthlyUsd(prices, vm.memoryGiB) - flat) / (vm.memoryGiB * prices.hourlyUsdPerGiB);
}

export function costChart(vm: VmSize = M1_SMALL, prices: PriceModel = PRICES_2008): Chart {
  const evens = (["ephemeral", "persistent-ha"] as const).map((model) => ({ model, hours: breakEvenHours(model, vm, prices) }));
  const shown = evens.filter((e) => e.hours >= 0 && e.hours <= 2 * HOURS_PER_MONTH);
  const maxHours = Math.max(HOURS_PER_MONTH, ...shown.map((e) => Math.ceil(e.hours * 1.08)));
  const step = maxHours > HOURS_PER_MONTH ? 10 : 5;
  const points: CostPoint[] = [];
  for (let h = 0; h <= maxHours; h += step) {
    for (const model of ["ephemeral", "vps", "persistent-ha"] as const) points.push({ hoursPerMonth: h, serviceModel: model, usdPerMonth: monthlyCost(model, h, vm, prices) });
  }
  const marks = shown.map((e) => ({
    hoursPerMonth: e.hours,
    usdPerMonth: vpsMonthlyUsd(prices, vm.memoryGiB),
    label: `${e.model} = vps at ${formatNumber(e.hours)} h`,
    serviceModel: e.model,
  }));
  const x = { field: "hoursPerMonth", type: "quantitative", title: "hours used per month (h)", scale: { domain: [0, maxHours], nice: false } } as const;
  const y = { field: "usdPerMonth", type: "quantitative", title: "user cost per VM-month (US$)" } as const;
  const color = { field: "serviceModel", type: "nominal", title: "service model", scale: MODEL_COLORS } as const;
  const layers: unknown[] = [];
  if (maxHours > HOURS_PER_MONTH) {
    layers.push(
      { data: { values: [{ from: HOURS_PER_MONTH, to: maxHours }] }, mark: { type: "rect", color: "#eeeeee" }, encoding: { x: { field: "from", type: "quantitative" }, x2: { field: "to" } } },
      {
        data: { values: [{ at: HOURS_PER_MONTH, text: "more hours than a month has" }] },
        mark: { type: "text", align: "left", baseline: "bottom", dx: 6, dy: -6, fontSize: 11, color: "#555" },
        encoding: { x: { field: "at", type: "quantitative" }, y: { value: 340 }, text: { field: "text" } },
      },
    );
  }
  layers.push({
    data: { values: points },
    mark: { type: "line", strokeWidth: 2.5 },
    encoding: { x, y, color, tooltip: [{ field: "serviceModel", title: "model" }, { field: "hoursPerMonth", title: "hours" }, { field: "usdPerMonth", title: "US$", format: ".2f" }] },
  });
  if (marks.length > 0) {
    layers.push(
      { data: { values: marks }, mark: { type: "rule", strokeDash: [4, 3], color: "#333" }, encoding: { x: { field: "hoursPerMonth", type: "quantitative" } } },
      { data: { values: marks }, mark: { type: "point", filled: true, size: 90, color: "#000" }, encoding: { x: { field: "hoursPerMonth", type: "quantitative" }, y: { field: "usdPerMonth", type: "quantitative" } } },
      {
        data: { values: marks },
        mark: { type: "text", angle: 270, align: "right", baseline: "bottom", dy: -5, fontSize: 12 },
        encoding: { x: { field: "hoursPerMonth", type: "quantitative" }, y: { value: 6 }, text: { field: "label" } },
      },
    );
  }
  const hidden = evens.filter((e) => !shown.includes(e)).map((e) => `${e.model} never reaches the VPS price (break-even ${formatNumber(e.hours)} h)`);
  const priceText = `$${formatNumber(prices.hourlyUsdPerGiB * vm.memoryGiB)}/h, VPS $${formatNumber(vpsMonthlyUsd(prices, vm.memoryGiB))}/month, storage $${formatNumber(prices.storageUsdPerGBMonth)}/GB-month`;
  const spec = {
    title: {
      text: "User cost of one VM per month vs hours used",
      subtitle: [`${vm.name}: ${vm.memoryGiB} GiB memory, ${vm.diskGiB} GiB disk; ${priceText}`, ...hidden],
    },
    width: 560,
    height: 340,
    layer: layers,
  };
  return { name: "cost-vs-usage", title: spec.title.text, spec: spec as TopLevelSpec };
}
