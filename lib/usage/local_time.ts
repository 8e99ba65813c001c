/**
 * Local time: the original's stamp (`YYYY/MM/DD-HH:MM:SS`, as written in the
 * log and last file), and local wall-clock time to instants and back, for
 * time buckets that follow the local calendar across daylight-saving changes.
 *
 * The log's stamps are local time with no offset, as the original wrote them.
 * A wall time can name no instant (the hour skipped in spring) or two (the
 * hour repeated in autumn); {@linkcode wallToEpoch} resolves both the way a
 * reader of the log would.
 *
 * @module
 */

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Local offset (local minus UTC) in ms at instant `epoch`. */
function offsetAt(epoch: number): number {
  return -new Date(epoch).getTimezoneOffset() * MINUTE;
}

/** A resolved instant and the offset it had, to resolve the next wall time near it. */
export interface Hint {
  /** An instant already passed. */
  epoch: number;
  /** Local offset (local minus UTC, ms) at that instant. */
  offset: number;
}

/**
 * The instant of a local wall time given as a naive UTC number (the wall
 * fields read as if they were UTC, e.g. `Date.UTC(2026, 9, 25, 1, 30)`).
 *
 * When the wall time happened twice (the hour repeated when daylight saving
 * ends), `hint` decides: of the instants not before `hint.epoch`, the one
 * with the hint's offset, else the earlier; without a hint, the earlier. So a
 * log read forward goes through the repeated hour twice, first in summer
 * time then in winter time. A wall time that never happened (the hour skipped
 * in spring) is read with the offset from before the change, as
 * JavaScript's Date does: the skipped hour has no length.
 *
 * @example
 * ```ts
 * wallToEpoch(Date.UTC(2026, 0, 1)); // local midnight, 1 January 2026
 * ```
 */
export function wallToEpoch(naive: number, hint?: Hint): number {
  const before = offsetAt(naive - DAY);
  const after = offsetAt(naive + DAY);
  const early = naive - Math.max(before, after);
  const late = naive - Math.min(before, after);
  const earlyOk = offsetAt(early) === naive - early;
  const lateOk = offsetAt(late) === naive - late;
  if (earlyOk && lateOk && early !== late && hint !== undefined) {
    const open = [early, late].filter((e) => e >= hint.epoch);
    const choices = open.length > 0 ? open : [early, late];
    return choices.find((e) => naive - e === hint.offset) ?? (choices[0] as number);
  }
  if (earlyOk) return early;
  if (lateOk) return late;
  return naive - before;
}

/** {@linkcode wallToEpoch} with the hint it gives for the next wall time. */
export function resolveWall(naive: number, hint?: Hint): Hint {
  const epoch = wallToEpoch(naive, hint);
  return { epoch, offset: naive - epoch };
}

/** A naive number (wall fields as if UTC) from a log stamp `YYYY/MM/DD-HH:MM:SS`. */
export function stampToNaive(stamp: string): number {
  return Date.UTC(
    +stamp.slice(0, 4),
    +stamp.slice(5, 7) - 1,
    +stamp.slice(8, 10),
    +stamp.slice(11, 13),
    +stamp.slice(14, 16),
    +stamp.slice(17, 19),
  );
}

const pad = (n: number) => (n < 10 ? "0" : "") + n;

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
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d >= 1 && d <= days;
}
