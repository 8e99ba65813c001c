/**
 * Calendar buckets as instants: hours, days, weeks (Monday to Sunday),
 * months, years and billing cycles, in the machine's zone or an IANA zone,
 * across daylight-saving changes.
 *
 * A bucket runs from the first instant its wall-clock start is reached to the
 * first instant the next one is (see {@linkcode firstInstant}): buckets
 * partition time, an hour the clock skips has no bucket, an hour it repeats
 * is one bucket two hours long, and a day can last 23 or 25 hours.
 *
 * A billing cycle starts at midnight on `cycleDay` (1-31) of each month; in a
 * month shorter than that, on the month's last day.
 *
 * @module
 */

import { firstInstant, wallOf, type Zone } from "./zone.ts";

/** The kinds of bucket. */
export const UNITS = ["hour", "day", "week", "month", "year", "cycle"] as const;

/** A kind of bucket. */
export type Unit = typeof UNITS[number];

/** One bucket: `[start, end)` in epoch ms. */
export interface Bucket {
  /** First instant in it (epoch ms). */
  readonly start: number;
  /** First instant after it (epoch ms). */
  readonly end: number;
  /** Its wall-clock start, fields as if UTC. */
  readonly wallStart: number;
  /** Its name, with real dates: `2026-10-25`, `2026-10-25 02:00`, `2026-10-15 .. 2026-11-14`. */
  readonly label: string;
}

/** Buckets of one unit in one zone. */
export interface Calendar {
  /** The kind of bucket. */
  readonly unit: Unit;
  /** The zone whose wall clock sets the boundaries. */
  readonly zone: Zone;
  /** The bucket holding instant `epoch`. */
  bucketAt(epoch: number): Bucket;
  /** The bucket after `bucket` (skipping buckets of no length, such as an hour the clock skipped). */
  next(bucket: Bucket): Bucket;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;

const pad2 = (n: number) => (n < 10 ? "0" : "") + n;

/** `YYYY-MM-DD` of a naive wall time. */
export function naiveDay(naive: number): string {
  const d = new Date(naive);
  const y = d.getUTCFullYear();
  return `${y < 1000 ? String(y).padStart(4, "0") : y}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

/**
 * Naive ms of midnight on day `d` of month `m` (0-based; both may be out of
 * range: normalised) of year `y`, in any year: not `Date.UTC`, which reads
 * years 0 to 99 as 1900 to 1999 (a log's stamp and `--from` may be in them).
 *
 * @example
 * ```ts
 * naiveMidnight(50, 2, 15); // 0050-03-15, where Date.UTC(50, 2, 15) is 1950-03-15
 * ```
 */
export function naiveMidnight(y: number, m: number, d: number): number {
  // Date.UTC where it reads the year as given: no Date made for every stamp.
  return y >= 100 ? Date.UTC(y, m, d) : new Date(0).setUTCFullYear(y, m, d);
}

/**
 * Days in month `m` (0-based, may be out of range: normalised) of year `y`,
 * in any year (year 0 is a leap year, 100 is not).
 *
 * @example
 * ```ts
 * daysInMonth(2028, 1); // 29
 * ```
 */
export function daysInMonth(y: number, m: number): number {
  return new Date(naiveMidnight(y, m + 1, 0)).getUTCDate();
}

/** Naive start of the billing cycle that begins in month `m` (0-based, normalised) of `y`. */
function cycleStart(y: number, m: number, cycleDay: number): number {
  const first = new Date(naiveMidnight(y, m, 1));
  const yy = first.getUTCFullYear();
  const mm = first.getUTCMonth();
  return naiveMidnight(yy, mm, Math.min(cycleDay, daysInMonth(yy, mm)));
}

/** Wall-clock rules of one unit: where a bucket starts, the next start, its label. */
interface Rule {
  floor(naive: number): number;
  step(naiveStart: number): number;
  label(naiveStart: number, naiveNext: number): string;
}

function rule(unit: Unit, cycleDay: number): Rule {
  switch (unit) {
    case "hour":
      return {
        floor: (n) => Math.floor(n / HOUR) * HOUR,
        step: (n) => n + HOUR,
        label: (n) => `${naiveDay(n)} ${pad2(new Date(n).getUTCHours())}:00`,
      };
    case "day":
      return { floor: (n) => Math.floor(n / DAY) * DAY, step: (n) => n + DAY, label: naiveDay };
    case "week":
      return {
        floor(n) {
          const day = Math.floor(n / DAY) * DAY;
          return day - ((new Date(day).getUTCDay() + 6) % 7) * DAY;
        },
        step: (n) => n + 7 * DAY,
        label: (n, next) => `${naiveDay(n)} .. ${naiveDay(next - DAY)}`,
      };
    case "month":
      return {
        floor(n) {
          const d = new Date(n);
          return naiveMidnight(d.getUTCFullYear(), d.getUTCMonth(), 1);
        },
        step(n) {
          const d = new Date(n);
          return naiveMidnight(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
        },
        label: (n) => naiveDay(n).slice(0, 7),
      };
    case "year":
      return {
        floor: (n) => naiveMidnight(new Date(n).getUTCFullYear(), 0, 1),
        step: (n) => naiveMidnight(new Date(n).getUTCFullYear() + 1, 0, 1),
        label: (n) => naiveDay(n).slice(0, 4),
      };
    case "cycle":
      return {
        floor(n) {
          const d = new Date(n);
          const here = cycleStart(d.getUTCFullYear(), d.getUTCMonth(), cycleDay);
          return n >= here ? here : cycleStart(d.getUTCFullYear(), d.getUTCMonth() - 1, cycleDay);
        },
        step(n) {
          const d = new Date(n);
          return cycleStart(d.getUTCFullYear(), d.getUTCMonth() + 1, cycleDay);
        },
        label: (n, next) => `${naiveDay(n)} .. ${naiveDay(next - DAY)}`,
      };
  }
}

/**
 * Checks a billing cycle day: a whole number from 1 to 31. Throws a
 * RangeError that says so.
 */
export function checkCycleDay(day: number): number {
  if (!Number.isInteger(day) || day < 1 || day > 31) {
    throw new RangeError(`Cycle day ${day} is out of range: use a day of the month from 1 to 31`);
  }
  return day;
}

/**
 * The calendar of `unit` buckets in `zone`; `cycleDay` (1-31, default 1)
 * sets where billing cycles start.
 *
 * @example
 * ```ts
 * const cal = calendar("cycle", ianaZone("Europe/Berlin"), 15);
 * cal.bucketAt(Date.UTC(2026, 10, 1)).label; // "2026-10-15 .. 2026-11-14"
 * ```
 */
export function calendar(unit: Unit, zone: Zone, cycleDay = 1): Calendar {
  if (!(UNITS as readonly string[]).includes(unit)) {
    throw new RangeError(`Unknown bucket ${JSON.stringify(unit)}: use one of ${UNITS.join(", ")}`);
  }
  const r = rule(unit, checkCycleDay(cycleDay));
  const make = (wallStart: number): Bucket => {
    const next = r.step(wallStart);
    return {
      start: firstInstant(zone, wallStart),
      end: firstInstant(zone, next),
      wallStart,
      label: r.label(wallStart, next),
    };
  };
  return {
    unit,
    zone,
    bucketAt(epoch) {
      let b = make(r.floor(wallOf(zone, epoch)));
      // The wall clock can run back (a repeated hour): its bucket by wall
      // time may have ended, or not yet begun, at this instant.
      while (epoch >= b.end) b = make(r.step(b.wallStart));
      while (epoch < b.start) b = make(r.floor(b.wallStart - 1));
      return b;
    },
    next(bucket) {
      let b = make(r.step(bucket.wallStart));
      while (b.end <= b.start) b = make(r.step(b.wallStart));
      return b;
    },
  };
}
