import { readFileSync } from "node:fs";
import { breakevenChart } from "../charts/breakeven.js";
import { writeChart } from "../charts/write.js";
import { breakeven, breakevenText, type BreakevenQuestion, type BreakevenResult } from "../experiment/breakeven.js";
import { NoCrossing } from "../stats/breakeven.js";
import { ScenarioError } from "../scenario/load.js";
import { ExitCode } from "./exit-codes.js";

/** `testbed breakeven <scenario>`: where does the paired difference of two models cross zero? */
export async function breakevenCommand(question: Omit<BreakevenQuestion, "text">, options: { json: boolean; chartDir?: string }): Promise<number> {
  let text: string;
  try {
    text = readFileSync(question.file, "utf8");
  } catch (error) {
    throw new ScenarioError(question.file, [`cannot read the scenario (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  let result: BreakevenResult;
  try {
    result = breakeven({ ...question, text });
  } catch (error) {
    if (!(error instanceof NoCrossing)) throw error;
    if (options.json) process.stdout.write(`${JSON.stringify({ question, noCrossing: error.message, probes: error.probes }, null, 2)}\n`);
    process.stderr.write(`${question.file}: ${error.message}; widen --between or ask another pair\n`);
    return ExitCode.badInput;
  }
  if (options.json) process.stdout.write(`${JSON.stringify(result, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`);
  else process.stdout.write(breakevenText(result));
  if (options.chartDir) {
    const written = await writeChart(breakevenChart(result), options.chartDir);
    for (const warning of written.warnings) process.stderr.write(`breakeven chart: vega: ${warning}\n`);
    if (!options.json) process.stdout.write(`${written.files.join("\n")}\n`);
    if (written.warnings.length > 0) return ExitCode.failed;
  }
  return ExitCode.ok;
}
