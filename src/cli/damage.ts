import { ExitCode } from "./exit-codes.js";

/**
 * Reports the runs a read-only command found damaged (`EventStore.damage`, or its own per-run
 * failures) on stderr, one line each; the command has gone on with the others. Returns the exit
 * code: 1 if any run was damaged, else `code`.
 */
export function reportDamage(db: string, damaged: ReadonlyMap<number, string>, code: number): number {
  for (const [runId, problem] of damaged) process.stderr.write(`${db}: run ${runId} is damaged: ${problem}\n`);
  return damaged.size > 0 ? ExitCode.failed : code;
}
