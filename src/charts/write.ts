import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Chart } from "./chart.js";
import { render, themed, type RenderOptions } from "./render.js";

export interface WrittenChart {
  name: string;
  files: string[];
  warnings: string[];
}

/**
 * Writes a chart as `<name>.vl.json` (the vega-lite spec with its data and the shared config
 * inlined: restyle it and render it anywhere), `<name>.svg` and `<name>.png`.
 */
export async function writeChart(chart: Chart, dir: string, options: RenderOptions = {}): Promise<WrittenChart> {
  mkdirSync(dir, { recursive: true });
  const { svg, png, warnings } = await render(chart.spec, options);
  const files = [join(dir, `${chart.name}.vl.json`), join(dir, `${chart.name}.svg`), join(dir, `${chart.name}.png`)];
  writeFileSync(files[0]!, `${JSON.stringify(themed(chart.spec), null, 1)}\n`);
  writeFileSync(files[1]!, svg);
  writeFileSync(files[2]!, png);
  return { name: chart.name, files, warnings };
}
