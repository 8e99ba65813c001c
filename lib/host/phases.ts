/**
 * Named points a run passes (config parsed, tally read, …), each with the
 * time it was reached, so that a benchmark can split a report's time into
 * its phases as the real run spends it (bench/quota_bench.ts). Noting a
 * point is an array push: no I/O, nothing printed, nothing the run depends
 * on. (`performance.mark` would do the same, but its first call loads the
 * User Timing code: about 4 ms of every run.)
 *
 * @module
 */

const points: [string, number][] = [];

/** Notes that the run has reached `name`, now. */
export function reached(name: string): void {
  points.push([name, performance.now()]);
}

/**
 * The points reached so far, in order, each with its time in ms since the
 * process started (`performance.now()`).
 *
 * @example
 * ```ts
 * reached("config parsed");
 * reachedSoFar(); // [["config parsed", 41.2]]
 * ```
 */
export function reachedSoFar(): readonly (readonly [string, number])[] {
  return points;
}
