/**
 * What a doctor check found: the one shape every check returns.
 *
 * @module
 */

/** What one check found. */
export interface Finding {
  /** Short name of the check, e.g. `rules`. */
  check: string;
  /** `ok`, `problem`, or `skipped` when an earlier problem makes it meaningless. */
  verdict: "ok" | "problem" | "skipped";
  /** What was found, in plain words. */
  said: string;
  /** What to do about a problem. */
  fix?: string;
}
