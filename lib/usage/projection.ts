/**
 * The projection of a billing cycle: what a column's or customer's row will
 * show when the cycle closes, at the rate so far. The ONE place it is
 * computed: the summary's estimate (lib/usage/overview.ts), the page
 * (lib/outputs/page_data.ts), the daily digest (lib/outputs/digests.ts) and
 * the quota alert's projection (lib/usage/cycle_tally.ts `projection`) all
 * call {@linkcode cycleEstimate}.
 *
 * Each column counts from its own first instant in the cycle: the cycle's
 * start, the log's first sample (a log begun mid-cycle), or the column's
 * first sample (a meter added to the config mid-cycle). What came before it
 * is not known, so not projected either. A customer's projection is the sum
 * of its columns' own, so a meter an existing customer gains on day 20 of 30
 * is carried over its own days, not spread over the customer's whole cycle
 * so far. Columns that count from the same instant are summed before they are
 * scaled: a customer whose columns all do is projected exactly as its sum is.
 *
 * A column the log's newest sample no longer has (its meter was removed from
 * the config) counts no more traffic: it adds what it counted, not its rate
 * carried to the cycle's end. Only the newest sample says so: a column
 * missing from samples before it (a meter removed and added back) is
 * projected as any other, and a gap with no samples at all (the machine
 * down) removes nothing.
 *
 * No estimate before a day is counted ({@linkcode MIN_COUNTED_MS}): a rate
 * over minutes is a burst or a lull, not the cycle's (2.37 MiB in the first
 * two minutes carried to a 30-day cycle is 50 GiB), and traffic follows the
 * day's rhythm, so the first day is the shortest time whose rate says
 * something of the rest. A column counted for less than that adds its bytes
 * as they are (it is not known yet how fast it grows), and a customer none of
 * whose columns has a day counted has no estimate at all: every view shows
 * "too early" where the figure would be, and a quota's `alert_projected`
 * waits (lib/outputs/alerts.ts: unless what was used is past the quota
 * already), as the estimate is this module's alone. A commit's alert waits
 * for the same day ({@linkcode dayCounted}): its 95th percentile over a few
 * hours is their busiest.
 *
 * @module
 */

import type { Bucket } from "./calendar.ts";

/** The least time of the cycle counted (ms) before its rate is carried to the cycle's end: a day. */
export const MIN_COUNTED_MS = 86_400_000;

/** What every view says where the estimate would be, before there is one. */
export const TOO_EARLY = "too early";

/** Why there is no estimate yet: the note beside {@linkcode TOO_EARLY}. */
export const TOO_EARLY_WHY = "less than a day of this cycle counted";

/** An estimate in a line of text (the mails): `format`ted, else {@linkcode TOO_EARLY} with its note. */
export function estimateText(bytes: bigint | undefined, format: (bytes: bigint) => string): string {
  return bytes === undefined ? `${TOO_EARLY} (${TOO_EARLY_WHY})` : format(bytes);
}

/**
 * Whether a day ({@linkcode MIN_COUNTED_MS}) of `cycle` is counted from
 * `firstEpoch` (the cycle's start, or a later first sample) to `lastEpoch`.
 * Before it a commit's 95th percentile so far says nothing of the cycle's
 * either: over ten hourly intervals it is their largest, a one-hour burst.
 */
export function dayCounted(cycle: Pick<Bucket, "start" | "end">, firstEpoch: number, lastEpoch: number): boolean {
  return Math.min(lastEpoch, cycle.end) - Math.max(cycle.start, firstEpoch) >= MIN_COUNTED_MS;
}

/** The bytes so far of a column (or of columns counted from one instant) and the first instant they count from. */
export interface Part {
  /** Bytes in the cycle so far. */
  bytes: bigint;
  /** The first instant counted: the column's first sample, or any instant up to the cycle's start. */
  from: number;
  /** Not in the log's newest sample (its meter was removed): its bytes are all it will count. */
  removed?: boolean;
  /** Its last sample, when not the `lastEpoch` given (a fleet's column, of hosts that stopped sampling earlier). */
  last?: number;
}

/**
 * The linear estimate for a whole cycle from `soFar` bytes counted from
 * `firstEpoch`: the time counted runs from the cycle's start (or
 * `firstEpoch`, if later) to `now` (or the last sample, if earlier), and the
 * rate over it is carried to the cycle's end. Undefined while less than
 * {@linkcode MIN_COUNTED_MS} (a day) of the cycle is counted.
 *
 * @example
 * ```ts
 * // 10 GiB in the first 10 of 30 days: 30 GiB.
 * linearEstimate(10n << 30n, { start: 0, end: 30 * DAY }, 0, 10 * DAY, 10 * DAY);
 * // The log (or the meter's column) began on day 20: 10 GiB in 5 days, and 5 days to go: 20 GiB.
 * linearEstimate(10n << 30n, { start: 0, end: 30 * DAY }, 20 * DAY, 25 * DAY, 25 * DAY);
 * ```
 */
export function linearEstimate(
  soFar: bigint,
  cycle: Pick<Bucket, "start" | "end">,
  firstEpoch: number,
  lastEpoch: number,
  now: number,
): bigint | undefined {
  const from = Math.max(cycle.start, firstEpoch);
  const to = Math.min(now, lastEpoch, cycle.end);
  if (!dayCounted(cycle, from, to)) return undefined;
  return (soFar * BigInt(cycle.end - from)) / BigInt(to - from);
}

/**
 * The projection for the whole cycle of a sum of columns: the sum of each
 * part's {@linkcode linearEstimate}, parts counted from the same instant
 * (within the cycle) summed first; a removed part's bytes as they are. A part
 * with less than a day counted yet (a column whose first sample is recent)
 * adds its bytes as they are too. Undefined when no part has a day counted
 * (nor any part given): too early to carry anything.
 *
 * @example
 * ```ts
 * // Day 25 of 30: 25 B at 1 B a day all cycle, and 10 GiB of a meter added on day 20: 30 B + 20 GiB.
 * cycleEstimate([{ bytes: 25n, from: 0 }, { bytes: 10n << 30n, from: 20 * DAY }], { start: 0, end: 30 * DAY }, 25 * DAY, 25 * DAY);
 * // Day 20 of 30: 20 GiB at 1 GiB a day, and 10 GiB of a meter removed on day 10: 30 GiB + 10 GiB.
 * cycleEstimate([{ bytes: 20n << 30n, from: 0 }, { bytes: 10n << 30n, from: 0, removed: true }], { start: 0, end: 30 * DAY }, 20 * DAY, 20 * DAY);
 * ```
 */
export function cycleEstimate(
  parts: Iterable<Part>,
  cycle: Pick<Bucket, "start" | "end">,
  lastEpoch: number,
  now: number,
): bigint | undefined {
  // Parts counted over the same time (from, last), summed first.
  const byTime = new Map<string, { from: number; last: number; bytes: bigint }>();
  let sum = 0n, counted = false;
  for (const p of parts) {
    const from = Math.max(cycle.start, p.from);
    const last = p.last ?? lastEpoch;
    if (p.removed !== true) {
      const key = `${from} ${last}`;
      const have = byTime.get(key);
      if (have) have.bytes += p.bytes;
      else byTime.set(key, { from, last, bytes: p.bytes });
    } else {
      // Done: what it counted, and an estimate there is once a day of its time is counted.
      sum += p.bytes;
      if (linearEstimate(p.bytes, cycle, from, last, now) !== undefined) counted = true;
    }
  }
  for (const { from, last, bytes } of byTime.values()) {
    const estimate = linearEstimate(bytes, cycle, from, last, now);
    if (estimate !== undefined) counted = true;
    sum += estimate ?? bytes;
  }
  return counted ? sum : undefined;
}
