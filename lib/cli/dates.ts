/**
 * The dates `--from` and `--to` take, in graph.ts and `netmon summary`:
 * `YYYY-MM-DD` or `YYYY-MM-DD HH:MM`, a wall-clock time with no zone. The
 * caller reads it in its zone: graph.ts in local time (the log's stamps),
 * `netmon summary` in each billing's zone (the rows' labels).
 *
 * @module
 */

import { UsageError } from "../host/errors.ts";

/**
 * `YYYY-MM-DD` or `YYYY-MM-DD HH:MM` (a wall-clock time) as naive ms (its
 * fields read as UTC); a UsageError naming `--flag` and the zone the caller
 * reads it in (`zone`, e.g. "local time") otherwise.
 *
 * @example
 * ```ts
 * parseDate("from", "2026-10-15 06:30"); // Date.UTC(2026, 9, 15, 6, 30)
 * ```
 */
export function parseDate(flag: string, text: string, zone = "local time"): number {
  const m = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d))?$/.exec(text);
  const t = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0)) : NaN;
  const back = new Date(t);
  if (
    !m || Number.isNaN(t) || back.getUTCMonth() !== +m[2]! - 1 || back.getUTCDate() !== +m[3]! ||
    back.getUTCHours() !== +(m[4] ?? 0) || back.getUTCMinutes() !== +(m[5] ?? 0)
  ) {
    throw new UsageError(`--${flag} ${text}: write it as YYYY-MM-DD or 'YYYY-MM-DD HH:MM' (${zone})`);
  }
  return t;
}
