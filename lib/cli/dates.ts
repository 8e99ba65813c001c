/**
 * The dates `--from` and `--to` take, in graph.ts and `netmon summary`:
 * `YYYY-MM-DD` or `YYYY-MM-DD HH:MM`, a wall-clock time with no zone. The
 * caller reads it in its zone: graph.ts in local time (the log's stamps),
 * `netmon summary` in each billing's zone (the rows' labels).
 *
 * @module
 */

import { UsageError } from "../host/errors.ts";
import { daysInMonth, naiveMidnight } from "../usage/calendar.ts";

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
  if (!m) throw new UsageError(`--${flag} ${text}: write it as YYYY-MM-DD or 'YYYY-MM-DD HH:MM' (${zone})`);
  const [year, month, day, hour, minute] = [+m[1]!, +m[2]!, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0)];
  // Written so, but no such time: say which part is out of range, not the form again.
  const days = daysInMonth(year, month - 1);
  const wrong = month < 1 || month > 12
    ? `month ${m[2]} is out of range (01 to 12)`
    : day < 1 || day > days
    ? `day ${m[3]} is out of range (${MONTHS[month - 1]} ${m[1]} has ${days} days)`
    : hour > 23
    ? `hour ${m[4]} is out of range (00 to 23)`
    : minute > 59
    ? `minute ${m[5]} is out of range (00 to 59)`
    : undefined;
  if (wrong !== undefined) throw new UsageError(`--${flag} ${text}: ${wrong}`);
  return naiveMidnight(year, month - 1, day) + (hour * 60 + minute) * 60_000;
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
