/**
 * The original's local-time stamp, `YYYY/MM/DD-HH:MM:SS`, as written in the
 * log and last file.
 *
 * @module
 */

const pad = (n: number) => String(n).padStart(2, "0");

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
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d >= 1 && d <= days;
}
