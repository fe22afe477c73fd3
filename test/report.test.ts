import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir, testbed } from "./helpers.js";

/**
 * The HTML report opened in headless Chromium (Debian's `chromium`): every chart must have
 * rendered to an SVG with drawn marks, with no error. Without Chromium the test is skipped
 * locally, with a message, and fails under CI (`CI` set), where `.ci/run` installs it.
 */
const dir = tempDir("vm-testbed-report-");
const SCENARIO = join(import.meta.dirname, "..", "scenarios", "hosts-fail-and-repair.yaml");

function findChromium(): string | null {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    if (r.status === 0 && r.stdout.trim() !== "") return r.stdout.trim();
  }
  return null;
}

const chromium = findChromium();
if (!chromium && !process.env.CI) console.warn("report.test.ts: chromium not found (apt-get install chromium): the rendering check is skipped");

/** Loads the page with a virtual-time budget (scripts run to completion, no waiting) and returns the DOM after them. */
function renderedDom(file: string): string {
  const r = spawnSync(chromium!, ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000", "--dump-dom", `file://${file}`], { encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** The inner HTML of each chart box, by chart name: each box runs to the next box (or the end). */
function chartBoxes(dom: string): Map<string, string> {
  const boxes = new Map<string, string>();
  const starts = [...dom.matchAll(/<div class="chart[^"]*" id="chart-([a-z0-9-]+)"/g)];
  starts.forEach((m, i) => boxes.set(m[1]!, dom.slice(m.index, starts[i + 1]?.index ?? dom.length)));
  return boxes;
}

describe("testbed report", () => {
  let db: string;
  let html: string;
  beforeAll(() => {
    db = join(dir, "runs.db");
    const run = testbed("run", SCENARIO, "--db", db, "--set", "durationHours=2000", "--quiet");
    expect(run.code, run.stderr).toBe(0);
    const r = testbed("report", db, "--out", join(dir, "report.html"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(dir, "report.html"));
    html = readFileSync(join(dir, "report.html"), "utf8");
  });

  it("is one self-contained page: the libraries inlined, nothing loaded from elsewhere", () => {
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).toContain("vegaEmbed");
    expect(html.match(/<script>/g)?.length).toBe(4); // vega, vega-lite, vega-embed, and the page's own
    for (const name of ["recovery-time-cdf", "mttdl-vs-replication", "cost-vs-usage", "migration-vs-dirty-rate", "run-timeline"]) expect(html).toContain(`id="chart-${name}"`);
    // The statistics: one table for the scenario's runs, each model's mean and each paired difference.
    expect(html).toContain("hosts-fail-and-repair: the scenario as written</h3>");
    expect(html).toMatch(/<th>persistent-ha − vps<\/th>/);
    expect(html).toMatch(/<tr><td>availability<\/td><td>1<\/td><td>0\.99\d*/);
  });

  it.runIf(chromium !== null)("renders every chart in headless Chromium, each an SVG with drawn marks", () => {
    const dom = renderedDom(join(dir, "report.html"));
    expect(dom.match(/data-charts-failed="\d+"/)?.[0]).toBe('data-charts-failed="0"');
    expect(dom.match(/data-charts-rendered="\d+"/)?.[0]).toBe('data-charts-rendered="5"');
    expect(dom.match(/<p class="chart-error">[^<]*/)?.[0] ?? "no error").toBe("no error");
    const boxes = chartBoxes(dom);
    expect([...boxes.keys()].sort()).toEqual(["cost-vs-usage", "migration-vs-dirty-rate", "mttdl-vs-replication", "recovery-time-cdf", "run-timeline"]);
    for (const [name, box] of boxes) {
      expect(box.includes("<svg"), `${name}: an svg`).toBe(true);
      const paths = [...box.matchAll(/<path[^>]* d="(M[^"]+)"/g)].map((m) => m[1]!);
      expect(paths.length, `${name}: drawn paths`).toBeGreaterThan(5);
      expect(/class="mark-(line|rule|tick|area|symbol)/.test(box), `${name}: data marks`).toBe(true);
    }
    expect(boxes.get("cost-vs-usage")!.includes(">hours used per month (h)</text>"), "axis title drawn as text").toBe(true);
  });

  it.runIf(chromium === null && process.env.CI !== undefined)("has Chromium to open the report in (CI installs Debian's chromium)", () => {
    expect.fail("chromium not found: install Debian's chromium (.ci/run does)");
  });

  it("bad input: a missing database exits 2 naming it", () => {
    const r = testbed("report", join(dir, "missing.db"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing.db");
  });
});
