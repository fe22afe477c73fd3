import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import { parse, View } from "vega";
import { compile, type Config, type TopLevelSpec } from "vega-lite";

/**
 * Headless rendering of vega-lite specs: vega-lite → vega (`compile`) → SVG (a vega `View` with
 * `renderer: "none"`) → PNG (resvg). No browser and no network: the data is inlined in the spec.
 *
 * resvg draws no text at all when it finds no font, silently, so the font files are passed
 * explicitly (DejaVu Sans 2.37 from the npm package `dejavu-fonts-ttf`, so that a fresh machine
 * needs no system fonts and every machine renders with the same files) and system fonts are not
 * loaded: the PNG then depends only on the spec, the font files and the library versions, byte
 * for byte.
 * The same family is named in the vega config, so the SVG asks for the font that is given.
 */
export const FONT_FAMILY = "DejaVu Sans";

/** The fonts of the `dejavu-fonts-ttf` package; `TESTBED_FONT_DIR` overrides it (e.g. Debian's `/usr/share/fonts/truetype/dejavu`). */
export const FONT_DIR = process.env.TESTBED_FONT_DIR ?? join(dirname(createRequire(import.meta.url).resolve("dejavu-fonts-ttf/package.json")), "ttf");

export const FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf"].map((f) => join(FONT_DIR, f));

/** The look of every chart: one font, sizes readable on a printed page, a white background. */
export const CHART_CONFIG: Config = {
  font: FONT_FAMILY,
  background: "white",
  padding: 8,
  view: { continuousWidth: 520, continuousHeight: 320, stroke: "#bbb" },
  title: { fontSize: 16, subtitleFontSize: 12, subtitleColor: "#444", anchor: "start", offset: 10 },
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: "normal", gridColor: "#e6e6e6" },
  legend: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: "normal", labelLimit: 260 },
  header: { labelFontSize: 13, titleFontSize: 13 },
  text: { fontSize: 12 },
};

/** The colours of the service models, the same in every chart. */
export const MODEL_COLORS = { domain: ["ephemeral", "vps", "persistent-ha"], range: ["#d95f02", "#7570b3", "#1b9e77"] };

/** A spec with the shared config merged under its own (the spec's config wins). */
export function themed(spec: TopLevelSpec): TopLevelSpec {
  const own = (spec as { config?: Config }).config ?? {};
  return { $schema: "https://vega.github.io/schema/vega-lite/v6.json", ...spec, config: { ...CHART_CONFIG, ...own } } as TopLevelSpec;
}

export interface RenderOptions {
  /** Font files for resvg; `[]` renders with no fonts (then resvg draws no text). Default: `FONT_FILES`. */
  fontFiles?: readonly string[];
  /** Pixel ratio of the PNG (default 2: sharp on screens and in print). */
  scale?: number;
}

export interface Rendered {
  svg: string;
  png: Buffer;
  /** What vega-lite and vega warned about (a dropped encoding, a bad scale): none for a good chart. */
  warnings: string[];
}

export class FontError extends Error {}

/** Checks that the font files exist, naming the package that provides them. */
export function loadFontFiles(files: readonly string[] = FONT_FILES): string[] {
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new FontError(`font file ${missing[0]} not found: run npm ci (the package dejavu-fonts-ttf), or set TESTBED_FONT_DIR to a folder with DejaVuSans.ttf`);
  }
  return [...files];
}

/** A vega logger that keeps warnings and errors instead of printing them. */
function collectingLogger(warnings: string[]) {
  let level = 2;
  const logger = {
    level(value?: number) {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error: (...args: readonly unknown[]) => (warnings.push(`error: ${args.join(" ")}`), logger),
    warn: (...args: readonly unknown[]) => (warnings.push(args.join(" ")), logger),
    info: () => logger,
    debug: () => logger,
  };
  return logger;
}

/** Renders a vega-lite spec to SVG with vega's headless view; `warnings` receives what vega-lite and vega warned about. */
export async function toSvg(spec: TopLevelSpec, warnings: string[] = []): Promise<string> {
  const logger = collectingLogger(warnings);
  const vega = compile(themed(spec), { logger: logger as never }).spec;
  const view = new View(parse(vega), { renderer: "none", logger: logger as never });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG with resvg, given the fonts explicitly and no system fonts. */
export function svgToPng(svg: string, options: RenderOptions = {}): Buffer {
  const fontFiles = options.fontFiles ?? loadFontFiles();
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: [...fontFiles], defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
    fitTo: { mode: "zoom", value: options.scale ?? 2 },
    background: "white",
  });
  return resvg.render().asPng();
}

export async function render(spec: TopLevelSpec, options: RenderOptions = {}): Promise<Rendered> {
  const warnings: string[] = [];
  const svg = await toSvg(spec, warnings);
  return { svg, png: svgToPng(svg, options), warnings };
}

