/**
 * Each customer's usage in its current billing cycle so far, kept up to date
 * sample by sample, so that a report checks quotas without reading the log:
 * the tally after a sample is the tally before it plus that one interval.
 *
 * The rules are the usage engine's (lib/usage/engine.ts), so the tally of a
 * log always equals the engine's open cycle bucket for it (tested): a column
 * counts from its first sample; a counter that went down, or a column the
 * log says was reset, counts its new value; an interval across the cycle's
 * start gives the new cycle the part after it, by time, rounded as the
 * engine rounds (the old cycle gets the floor of its share). An interval
 * that does not go forward (the clock stepped back) counts whole in the
 * cycle that holds its end. With a commit, the cycle's interval rates are
 * kept too, for its 95th percentile so far.
 *
 * @module
 */

import type { Calendar } from "./calendar.ts";
import type { CustomerColumns } from "../config/customers.ts";
import { rateOf, weightedPercentile } from "./percentile.ts";

/** One customer's cycle so far. */
export interface CustomerTally {
  /** The cycle's first instant (epoch ms). */
  start: number;
  /** The first instant after it. */
  end: number;
  /** Bytes in its inbound columns. */
  in: bigint;
  /** Bytes in its outbound columns. */
  out: bigint;
  /** Bytes in columns with no direction. */
  both: bigint;
  /** Resets of its columns in the cycle. */
  resets: number;
  /**
   * The first instant counted, when later than the cycle's start: the log
   * began within this cycle, and what came before it is not known.
   */
  since?: number;
  /**
   * With a commit: per interval, the inbound, outbound and all-columns rate
   * (bit/s) and the interval's milliseconds in the cycle, four numbers each.
   */
  rates?: number[];
}

/** Every customer's cycle so far, as of one sample. */
export interface Tally {
  /** The sample it includes last (epoch ms). */
  epoch: number;
  /** That sample's counters, to take the next interval's usage from. */
  counters: Map<string, bigint>;
  /** The lengths (ms) of the last intervals, newest last (at most {@linkcode INTERVALS}). */
  intervals: number[];
  /** By customer name. */
  customers: Map<string, CustomerTally>;
  /**
   * By customer name, its previous cycle as it closed (with its share of the
   * interval across the boundary), kept through the cycle after it: the
   * thresholds a closing cycle passed are still alerted if the run that
   * closed it died before alerting, or if only that last interval passed them.
   */
  closed: Map<string, CustomerTally>;
}

/** What the tally is kept for: a customer's columns and billing cycle calendar. */
export interface TallyCustomer {
  /** Its columns by direction. */
  columns: CustomerColumns;
  /** Its billing cycles. */
  cycles: Calendar;
  /** Keep interval rates (it has a commit). */
  rates: boolean;
}

/** How many interval lengths are kept, for the usual interval. */
export const INTERVALS = 12;

/** A sample as the tally takes it. */
export interface TallySample {
  /** Epoch ms. */
  epoch: number;
  /** Counter of each column. */
  counters: ReadonlyMap<string, bigint>;
  /** Columns the log records as reset before this sample. */
  resets?: readonly string[] | undefined;
}

/** The engine's rule for one column's growth over an interval; undefined when it has no previous value. */
function growth(prev: bigint | undefined, now: bigint, forced: boolean): { bytes: bigint; reset: boolean } {
  if (prev === undefined) return { bytes: forced ? now : 0n, reset: forced };
  if (forced || now < prev) return { bytes: now, reset: true };
  return { bytes: now - prev, reset: false };
}

function emptyCycle(b: { start: number; end: number }, rates: boolean): CustomerTally {
  const t: CustomerTally = { start: b.start, end: b.end, in: 0n, out: 0n, both: 0n, resets: 0 };
  if (rates) t.rates = [];
  return t;
}

/**
 * The tally after `sample`, from the tally before it (undefined: `sample`
 * is the log's first, the starting point). Pure: `before` is not changed.
 *
 * @example
 * ```ts
 * const t0 = advanceTally(undefined, customers, { epoch: 0, counters: new Map([["acme", 0n]]) });
 * const t1 = advanceTally(t0, customers, { epoch: 300_000, counters: new Map([["acme", 500n]]) });
 * t1.customers.get("acme")?.both; // 500n
 * ```
 */
export function advanceTally(
  before: Tally | undefined,
  customers: readonly TallyCustomer[],
  sample: TallySample,
): Tally {
  const forced = new Set(sample.resets ?? []);
  const after: Tally = {
    epoch: sample.epoch,
    counters: new Map(sample.counters),
    intervals: before ? [...before.intervals] : [],
    customers: new Map(),
    closed: new Map(before?.closed ?? []),
  };
  const prevEpoch = before?.epoch;
  const length = prevEpoch === undefined ? 0 : sample.epoch - prevEpoch;
  if (length > 0) {
    after.intervals.push(length);
    if (after.intervals.length > INTERVALS) after.intervals.shift();
  }
  // Each column's growth over the interval, once for every customer.
  const grown = new Map<string, { bytes: bigint; reset: boolean }>();
  if (before) {
    for (const [name, now] of sample.counters) {
      grown.set(name, growth(before.counters.get(name), now, forced.has(name)));
    }
  }
  // Customers of one billing share a calendar: each calendar's cycle is looked up once.
  const buckets = new Map<Calendar, { start: number; end: number }>();
  for (const c of customers) {
    const name = c.columns.name;
    const old = before?.customers.get(name);
    let here = buckets.get(c.cycles);
    if (!here) buckets.set(c.cycles, here = c.cycles.bucketAt(sample.epoch));
    const t: CustomerTally = old && old.start === here.start
      ? { ...old, ...(old.rates ? { rates: [...old.rates] } : {}) }
      : emptyCycle(here, c.rates);
    // Counted from its start (an interval across it is split), or from the log's first sample within it.
    if (!old && (prevEpoch === undefined || prevEpoch >= t.start) && sample.epoch > t.start) t.since = sample.epoch;
    after.customers.set(name, t);
    if (!before || prevEpoch === undefined) continue;
    if (old && old !== t && old.start !== t.start && length > 0 && prevEpoch < old.end) {
      // The cycle closed in this interval: it takes the floor of its share of it, as the engine gives it.
      const upTo = Math.min(old.end, sample.epoch) - Math.max(prevEpoch, old.start);
      const part = (cols: readonly string[]) =>
        cols.reduce((s, col) => s + (grown.get(col)?.bytes ?? 0n) * BigInt(upTo) / BigInt(length), 0n);
      const { rates: _, ...rest } = old;
      after.closed.set(name, {
        ...rest,
        in: old.in + part(c.columns.in),
        out: old.out + part(c.columns.out),
        both: old.both + part(c.columns.both),
      });
    }
    // The part of the interval in this cycle: all of it, or what follows the cycle's start.
    const share = (bytes: bigint): bigint => {
      if (length <= 0 || prevEpoch >= t.start) return bytes;
      return bytes - bytes * BigInt(t.start - prevEpoch) / BigInt(length);
    };
    const sum = (cols: readonly string[]) => {
      let s = 0n;
      for (const col of cols) {
        const g = grown.get(col);
        if (!g) continue;
        s += share(g.bytes);
        if (g.reset) t.resets++;
      }
      return s;
    };
    t.in += sum(c.columns.in);
    t.out += sum(c.columns.out);
    t.both += sum(c.columns.both);
    if (t.rates && length > 0) {
      // A rate is the interval's bytes over its whole length (as the engine's); its weight the time in the cycle.
      const whole = (cols: readonly string[]) => cols.reduce((s, col) => s + (grown.get(col)?.bytes ?? 0n), 0n);
      const bytesIn = Number(whole(c.columns.in));
      const bytesOut = Number(whole(c.columns.out));
      const all = bytesIn + bytesOut + Number(whole(c.columns.both));
      const inCycle = sample.epoch - Math.max(prevEpoch, t.start);
      t.rates.push(rateOf(bytesIn, length), rateOf(bytesOut, length), rateOf(all, length), inCycle);
    }
  }
  return after;
}

/** A customer's bytes that count against a quota (`count`). */
export function counted(t: CustomerTally, count: "in" | "out" | "total"): bigint {
  return count === "in" ? t.in : count === "out" ? t.out : t.in + t.out + t.both;
}

/**
 * The customer's billable 95th percentile so far (bit/s): the larger of in
 * and out, or of all its columns summed when one has no direction (as the
 * summary bills it); undefined without rates.
 */
export function p95SoFar(t: CustomerTally, columns: CustomerColumns): number | undefined {
  const r = t.rates;
  if (!r || r.length === 0) return undefined;
  const n = r.length / 4;
  const pick = (k: number) => Float64Array.from({ length: n }, (_, i) => r[4 * i + k] as number);
  const w = pick(3);
  if (columns.both.length > 0) return weightedPercentile(pick(2), w, n);
  return Math.max(weightedPercentile(pick(0), w, n) ?? 0, weightedPercentile(pick(1), w, n) ?? 0);
}

/** The usual interval (ms): the median of the last ones, or undefined before two samples. */
export function usualInterval(tally: Tally): number | undefined {
  const xs = [...tally.intervals].sort((a, b) => a - b);
  return xs.length === 0 ? undefined : xs[Math.floor((xs.length - 1) / 2)];
}

/**
 * The linear estimate for the whole cycle from `bytes` so far at `now`: the
 * rate so far over the time covered since the cycle's start (or since the
 * tally began, if later: what came before is not counted, so not projected
 * either), carried to the cycle's end.
 */
export function projection(t: CustomerTally, bytes: bigint, now: number, since = t.since ?? t.start): bigint {
  const from = Math.max(t.start, since);
  const elapsed = now - from;
  if (elapsed <= 0) return bytes;
  return bytes * BigInt(t.end - from) / BigInt(elapsed);
}
