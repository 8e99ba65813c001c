/**
 * The original's stamp (`YYYY/MM/DD-HH:MM:SS`, as written in the log and
 * last file): made from local time, read as wall-clock fields.
 *
 * The log's stamps are local time with no offset, as the original wrote them:
 * the zone they are in is the record beside the log (lib/state/zone_record.ts),
 * and lib/usage/zone.ts turns them into instants.
 *
 * @module
 */

import { daysInMonth, naiveMidnight } from "./calendar.ts";

/** A naive number (wall fields as if UTC) from a log stamp `YYYY/MM/DD-HH:MM:SS`. */
export function stampToNaive(stamp: string): number {
  const time = (+stamp.slice(11, 13) * 60 + +stamp.slice(14, 16)) * 60 + +stamp.slice(17, 19);
  return naiveMidnight(+stamp.slice(0, 4), +stamp.slice(5, 7) - 1, +stamp.slice(8, 10)) + time * 1000;
}

const pad = (n: number) => (n < 10 ? "0" : "") + n;

/** The log stamp `YYYY/MM/DD-HH:MM:SS` of a naive number: {@linkcode stampToNaive}'s inverse. */
export function naiveStamp(naive: number): string {
  const d = new Date(naive);
  return `${naiveDate(naive)}-${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** `YYYY/MM/DD` of a naive number. */
export function naiveDate(naive: number): string {
  const d = new Date(naive);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
}

/**
 * Formats a Date in local time as the original did (`%d/%.2d/%.2d-…`).
 *
 * @example
 * ```ts
 * formatTimestamp(new Date(2010, 1, 25, 9, 5, 0)); // "2010/02/25-09:05:00"
 * ```
 */
export function formatTimestamp(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())}-${pad(d.getHours())}:${pad(d.getMinutes())}:${
    pad(d.getSeconds())
  }`;
}

const STAMP = /^(\d{4})\/(\d{2})\/(\d{2})-(\d{2}):(\d{2}):(\d{2})$/;

/** True when `text` is a well-formed stamp naming a real date and time of day. */
export function isTimestamp(text: string): boolean {
  const m = STAMP.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 60) return false;
  return d >= 1 && d <= daysInMonth(y, mo - 1);
}
