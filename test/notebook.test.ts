import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir, testbed } from "./helpers.js";

/**
 * Executes `notebooks/explore-results.ipynb` headlessly, as a reader would run it: Jupyter's
 * nbconvert (Debian's python3-nbconvert, importable only by /usr/bin/python3) with the Deno
 * kernel from the `deno` npm package, on a database made here. Its cells must run without an
 * error (the notebook checks its own aggregate against the recorded metrics and throws on a
 * difference) and draw the chart. Without the tools the test is skipped locally, with a message,
 * and fails under CI (`CI` set), where `.ci/run` installs them.
 */
const ROOT = join(import.meta.dirname, "..");
const NOTEBOOK = join(ROOT, "notebooks", "explore-results.ipynb");
const DENO = join(ROOT, "node_modules", ".bin", "deno");
const PYTHON = "/usr/bin/python3";

function missingTools(): string | null {
  if (!existsSync(DENO)) return `${DENO} (npm ci installs the deno package)`;
  const r = spawnSync(PYTHON, ["-c", "import nbconvert, ipykernel, jupyter_client"], { encoding: "utf8" });
  if (r.status !== 0) return `${PYTHON} with nbconvert (apt-get install jupyter-notebook python3-nbconvert python3-ipykernel jupyter-client)`;
  return null;
}

const missing = missingTools();
if (missing && !process.env.CI) console.warn(`notebook.test.ts: not found: ${missing}: the notebook is not executed`);

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}

describe("notebooks/explore-results.ipynb", () => {
  it.runIf(missing === null)("runs headlessly with the Deno kernel and draws its chart", () => {
    const dir = tempDir("vm-testbed-notebook-");
    const db = join(dir, "runs.db");
    // Failures and repairs, and a rolling upgrade (maintenance, live and cold migrations): every kind of outage.
    for (const [scenario, ...set] of [["hosts-fail-and-repair.yaml", "--set", "durationHours=2000"], ["rolling-upgrade.yaml"]]) {
      const run = testbed("run", join(ROOT, "scenarios", scenario!), "--db", db, ...set, "--quiet");
      expect(run.code, run.stderr).toBe(0);
    }
    // A kernelspec of our own, so the test uses this checkout's deno whatever `deno jupyter --install` left elsewhere.
    const kernels = join(dir, "jupyter", "kernels", "deno");
    mkdirSync(kernels, { recursive: true });
    writeFileSync(join(kernels, "kernel.json"), JSON.stringify({ argv: [DENO, "jupyter", "--kernel", "--conn", "{connection_file}"], display_name: "Deno", language: "typescript" }));
    const out = join(dir, "out");
    const r = spawnSync(PYTHON, ["-m", "nbconvert", "--to", "notebook", "--execute", NOTEBOOK, "--output-dir", out, "--ExecutePreprocessor.timeout=120"], {
      cwd: join(ROOT, "notebooks"),
      encoding: "utf8",
      timeout: 180_000,
      env: { ...process.env, TESTBED_DB: db, JUPYTER_PATH: join(dir, "jupyter"), JUPYTER_RUNTIME_DIR: join(dir, "runtime"), NO_COLOR: "1" },
    });
    expect(r.status, r.stderr).toBe(0);
    const executed = JSON.parse(readFileSync(join(out, "explore-results.ipynb"), "utf8")) as { cells: { cell_type: string; outputs?: Output[] }[] };
    const outputs = executed.cells.filter((c) => c.cell_type === "code").flatMap((c) => c.outputs ?? []);
    expect(outputs.filter((o) => o.output_type === "error").map((o) => `${o.ename}: ${o.evalue}`)).toEqual([]);
    const chart = outputs.find((o) => o.data?.["application/vnd.vegalite.v5+json"] !== undefined);
    expect(chart, "a vega-lite display").toBeDefined();
    const spec = chart!.data!["application/vnd.vegalite.v5+json"] as { data: { values: { model: string; cause: string; hoursPerVmYear: number }[] } };
    expect(new Set(spec.data.values.map((v) => v.model))).toEqual(new Set(["ephemeral", "vps", "persistent-ha"]));
    expect(spec.data.values.filter((v) => v.model === "persistent-ha").map((v) => v.cause)).toContain("live migration pause");
    for (const v of spec.data.values) expect(v.hoursPerVmYear).toBeGreaterThan(0);
    const svg = [chart!.data!["image/svg+xml"]].flat().join("");
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain(">downtime per VM-year (hours)</text>");
  });

  it.runIf(missing !== null && process.env.CI !== undefined)("has nbconvert and the Deno kernel to run it (CI installs them)", () => {
    expect.fail(`not found: ${missing}`);
  });
});
