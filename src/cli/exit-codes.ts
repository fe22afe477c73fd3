/** The exit codes of `testbed`; scripts may rely on them. */
export const ExitCode = {
  ok: 0,
  /** A run failed, or a verification found a difference. */
  failed: 1,
  /** Bad input: a scenario file, a flag, a database or a run id that cannot be used. */
  badInput: 2,
  /** Stopped by SIGINT or SIGTERM; the run is recorded as interrupted. */
  interrupted: 130,
} as const;

/** Bad input found by the CLI itself (a missing database, an unknown run id). */
export class UsageError extends Error {}
