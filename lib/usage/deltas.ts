/**
 * Usage since the last sample, per meter, with resets detected per meter.
 *
 * @module
 */

import type { LastState, Sample } from "../state/log_format.ts";

/** One meter's usage over an interval. */
export interface MeterUsage {
  /** Meter name. */
  meter: string;
  /**
   * Counter at the previous sample; for a meter the previous sample lacks,
   * the value its usage counts from: its last value in the log if it had
   * one (a meter put back), else 0 on a first run or when its counter was
   * made within the interval (a reset), else its value now.
   */
  before: bigint;
  /** Counter now. */
  after: bigint;
  /** Bytes counted in the interval: never negative. */
  usage: bigint;
  /** The counter was reset: it went down, or one of the signs in lib/usage/resets.ts says it restarted. */
  reset: boolean;
  /** Why, when reset (e.g. `counter went down`, `reboot`). */
  reason?: string;
}

/** The outcome of comparing a sample with the last state. */
export interface UsageResult {
  /** Per meter, in the sample's order. */
  meters: MeterUsage[];
  /** Names of the meters that were reset. */
  resets: string[];
  /** Since when the totals count after this sample. */
  totalStart: string;
  /** The last value in the log of each meter that came back (the previous sample lacks it), when any did. */
  lastLogged?: ReadonlyMap<string, bigint>;
}

/**
 * Computes usage from `last` (undefined on the first run) to `now`.
 *
 * A counter below its previous value was zeroed in between, and so was one
 * named in `resets` (column to reason, from lib/usage/resets.ts) whatever its
 * value: that meter's usage is its new value (what it counted since the
 * reset; anything counted between the previous sample and the reset is
 * unknowable). Other meters are unaffected. A meter the last sample lacks
 * but the log had before (removed from the config, then put back) counts
 * from its last value in the log, `lastLogged`'s (lib/state/log_back.ts): its
 * counter kept counting meanwhile, as every reader of the log counts it. A
 * meter the log never had (one added to the config) counts from its value
 * now, as every reader of the log counts it. Either is reset when `resets`
 * names it (`netmon start` made its counter within the interval: its usage is
 * its value, as the log's reset line tells every reader). As in the original, the
 * total-start stamp moves to now when a reset is seen, and is now on the
 * first run.
 *
 * @example
 * ```ts
 * const r = computeUsage(undefined, { timestamp: "2010/02/25-10:00:00", counters: new Map([["proxy", 5n]]) });
 * r.meters[0]?.usage; // 5n
 * ```
 */
export function computeUsage(
  last: LastState | undefined,
  now: Sample,
  resetReasons?: ReadonlyMap<string, string>,
  lastLogged?: ReadonlyMap<string, bigint>,
): UsageResult {
  const meters: MeterUsage[] = [];
  const resets: string[] = [];
  // forEach, not for-of: at 10,000 meters this runs once, mostly before V8 optimises it, where for-of's
  // [key, value] pairs cost several times the loop itself.
  now.counters.forEach((after, meter) => {
    // A meter put back counts from its last value in the log, as in every reader of the log (lib/usage/engine.ts).
    const was = last?.sample.counters.get(meter) ?? lastLogged?.get(meter);
    const reason = resetReasons?.get(meter) ?? (was !== undefined && after < was ? "counter went down" : undefined);
    // A meter new to the log starts at its first value, as in every reader of the log, unless it was reset: its
    // counter was made within the interval.
    const before = was ?? (last === undefined || reason !== undefined ? 0n : after);
    if (reason === undefined) {
      meters.push({ meter, before, after, usage: after - before, reset: false });
      return;
    }
    resets.push(meter);
    meters.push({ meter, before, after, usage: after, reset: true, reason });
  });
  const totalStart = last === undefined || resets.length > 0 ? now.timestamp : last.totalStart;
  const result: UsageResult = { meters, resets, totalStart };
  if (lastLogged !== undefined && lastLogged.size > 0) result.lastLogged = lastLogged;
  return result;
}
