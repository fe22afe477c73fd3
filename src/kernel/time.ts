/**
 * Simulated time is an integer count of milliseconds since the start of a run.
 * Scenario files speak in hours (failure and repair times are hours to days); these helpers
 * convert at the edge and round to the nearest millisecond, so every scheduled time is exact.
 */
export const MS_PER_SECOND = 1000;
export const MS_PER_MINUTE = 60 * MS_PER_SECOND;
export const MS_PER_HOUR = 60 * MS_PER_MINUTE;
export const MS_PER_DAY = 24 * MS_PER_HOUR;
/** A year of 365 days, the convention of annualised failure rates (AFR). */
export const MS_PER_YEAR = 365 * MS_PER_DAY;

export function hoursToMs(hours: number): number {
  return Math.round(hours * MS_PER_HOUR);
}

export function msToHours(ms: number): number {
  return ms / MS_PER_HOUR;
}
