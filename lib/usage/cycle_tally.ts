/**
 * Each customer's usage in its current billing cycle so far, kept up to date
 * sample by sample, so that a report checks quotas without reading the log:
 * the tally after a sample is the tally before it plus that one interval.
 *
 * What is kept is each column's usage in each billing's cycle, not each
 * customer's: a sample changes columns, and a thousand customers of one
 * billing share one count per column. A customer's cycle is the sum of its
 * columns' ({@linkcode customerCycle}), taken when it is asked for. The
 * cycle's bounds are looked up in the zone's calendar only when a sample
 * falls outside the cycle kept, so once per cycle, not every run.
 *
 * The rules are the usage engine's (lib/usage/engine.ts), so the tally of a
 * log always equals the engine's open cycle bucket for it (tested): a column
 * counts from its first sample; a counter that went down, or a column the
 * log says was reset, counts its new value; an interval across the cycle's
 * start gives the new cycle the part after it, by time, rounded as the
 * engine rounds (the old cycle gets the floor of its share, column by
 * column). A column that leaves the log and comes back counts from its last
 * value before it left, over its own interval from its last sample, shared
 * by time as the engine shares it (with the previous cycle as it closed, and
 * its rate in each interval of its time away). An interval that does not go forward (the clock
 * stepped back) counts whole in the cycle that holds its end. For a customer
 * with a commit, its cycle's interval rates are kept too, for its 95th
 * percentile so far (a percentile of summed rates is not a sum of
 * percentiles), each summed as the summary sums them (lib/usage/customers.ts):
 * a column with no direction counts in the inbound and in the outbound rate;
 * an interval none of whose columns the engine counts (a column counts from
 * its first sample; before that it is not the customer's) has no rate and
 * weighs nothing, so a meter added mid-cycle does not dilute its customer's
 * percentile with the intervals before it; nor does its customer's
 * projection count the time before it (the cycle notes when each column new
 * to the log appeared in it, and each column is projected from its own). A
 * column the newest sample no longer has (its meter was removed from the
 * config) is projected at what it counted: it counts nothing more
 * (lib/usage/projection.ts); one that comes back is projected again.
 *
 * @module
 */

import type { Calendar } from "./calendar.ts";
import type { CustomerColumns } from "../config/customers.ts";
import { rateOf, weightedPercentile } from "./percentile.ts";
import { cycleEstimate } from "./projection.ts";

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
  /**
   * The first instant counted, when later than the cycle's start: the log,
   * or the first of the customer's columns (a meter added to the config
   * mid-cycle), began within this cycle, and what came before it is not
   * known (so not projected either).
   */
  since?: number;
  /**
   * When its columns count from different instants (a meter the customer
   * gained mid-cycle: its column counts from its own first sample), or some
   * were removed (not in the tally's newest sample), its bytes by the
   * instant they count from and whether removed, earliest first (the first's
   * is `since`, or the cycle's start): each is projected over its own time,
   * a removed one not at all ({@linkcode projection}). Absent when all count
   * from one instant and none was removed.
   */
  parts?: TallyPart[];
  /**
   * With a commit: per interval, the inbound and the outbound rate (bit/s),
   * each with the columns that have no direction added, and the interval's
   * milliseconds in the cycle, three numbers each; a rate is NaN where none
   * of those columns was counted in the interval (not yet in the log, or
   * away from it), as the summary leaves it out.
   */
  rates?: number[];
}

/** A customer's bytes in the columns that count from one instant of its cycle (see {@linkcode CustomerTally.parts}). */
export interface TallyPart {
  /** The first instant counted (the cycle's start, or later). */
  since: number;
  /** Bytes in those of its inbound columns. */
  in: bigint;
  /** Bytes in those of its outbound columns. */
  out: bigint;
  /** Bytes in those of its columns with no direction. */
  both: bigint;
  /** Those columns are not in the tally's newest sample (their meters were removed): they count nothing more. */
  removed?: true;
}

/** One billing's cycle so far: what each column counted in it. */
export interface CycleTally {
  /** The cycle's first instant (epoch ms). */
  start: number;
  /** The first instant after it. */
  end: number;
  /** The first instant counted, when later than the cycle's start (the log began within it). */
  since?: number;
  /**
   * Columns that first appeared in the log within the cycle, after its first
   * sample (meters added to the config mid-cycle), by the instant of that
   * sample: a customer's time counts from the first of its columns'. Never
   * changed once made (a copy is made to add to), so copies share it.
   */
  firsts?: ReadonlyMap<string, number>;
  /** Bytes each column counted in the cycle; a column that counted nothing may be missing. */
  bytes: Map<string, bigint>;
  /**
   * Resets of each column in the cycle; a column with none is missing. Kept
   * in the tally file, shown by no view: a customer's resets are reset events
   * (samples where any of its columns reset), which the engine's buckets hold.
   */
  resets: Map<string, number>;
  /**
   * A cycle as it closed ({@linkcode Tally.closed}): the instant of the first
   * sample after its end, whose interval crossed it (what a late check of it
   * is as of, whatever sample the check runs at).
   */
  closedBy?: number;
}

/** A customer's interval rates in one cycle (see {@linkcode CustomerTally.rates}). */
export interface CycleRates {
  /** The start of the cycle they are of. */
  start: number;
  /** Three numbers per interval. */
  rates: number[];
}

/** Every billing's cycle so far, as of one sample. */
export interface Tally {
  /** The sample it includes last (epoch ms). */
  epoch: number;
  /**
   * Each column's last counter, to take the next interval's usage from: that
   * sample's, and the last of a column that has left the log (if it comes
   * back, it counts from there, as the engine's).
   */
  counters: Map<string, bigint>;
  /**
   * The columns in `counters` that the sample it includes last does not
   * have, each with the instant of its last sample: their meters were
   * removed from the config (a column that comes back is no longer in it,
   * and its interval is from there). Absent when none.
   */
  removed?: ReadonlyMap<string, number>;
  /** The lengths (ms) of the last intervals, newest last (at most {@linkcode INTERVALS}). */
  intervals: number[];
  /** By billing key (see {@linkcode TallyPlan}): its cycle so far. */
  cycles: Map<string, CycleTally>;
  /**
   * By billing key, its previous cycle as it closed (with its share of the
   * interval across the boundary), kept through the cycle after it: the
   * thresholds a closing cycle passed are still alerted if the run that
   * closed it died before alerting, or if only that last interval passed them.
   */
  closed: Map<string, CycleTally>;
  /** By customer name, the interval rates of customers with a commit, in their current cycle. */
  rates: Map<string, CycleRates>;
  /**
   * By customer name, the interval rates of customers with a commit in their
   * billing's previous cycle, as it closed (with the interval across the
   * boundary, weighted by its time in that cycle): a commit passed only by
   * the closing cycle's last interval is still alerted, as a quota is.
   */
  closedRates: Map<string, CycleRates>;
}

/** A customer as the tally knows it: its columns, and the key of the billing it follows. */
export interface TallyCustomer {
  /** Its columns by direction. */
  columns: CustomerColumns;
  /** Its billing's key in {@linkcode TallyPlan.billings}. */
  billing: string;
}

/** What a tally is kept for. */
export interface TallyPlan {
  /**
   * Each billing's cycle calendar, by a key naming the billing (e.g. `15
   * Europe/Berlin`); called only when a sample falls outside the cycle kept,
   * so a run within the cycle makes no calendar (nor the time zone's rules).
   */
  billings: ReadonlyMap<string, () => Calendar>;
  /** The customers whose interval rates are kept (those with a commit). */
  rates: readonly TallyCustomer[];
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

/** A column's growth over its interval: the sample before's, or from its last sample for a column back in the log. */
interface Growth {
  bytes: bigint;
  reset: boolean;
  /** The interval's start (epoch ms). */
  from: number;
  /** Its length (ms). */
  length: number;
}

/**
 * The engine's rule for one column's growth over an interval; undefined when
 * the engine does not count it: the column has no previous value and no
 * recorded reset (its first sample is its starting point).
 */
function growth(
  prev: bigint | undefined,
  now: bigint,
  forced: boolean,
  from: number,
  length: number,
): Growth | undefined {
  if (prev === undefined) return forced ? { bytes: now, reset: true, from, length } : undefined;
  if (forced || now < prev) return { bytes: now, reset: true, from, length };
  return { bytes: now - prev, reset: false, from, length };
}

/** The part of `g`'s bytes up to instant `at`: the floor of its share by time, as the engine shares an interval. */
function upTo(g: Growth, at: number): bigint {
  if (at <= g.from) return 0n;
  return at - g.from >= g.length ? g.bytes : g.bytes * BigInt(at - g.from) / BigInt(g.length);
}

/**
 * Adds a column's rates `rin` and `rout` (bit/s; NaN: none) to the interval
 * entries of `rates` (three numbers each, its time in the cycle last) that
 * end at or before `end` and after `from`, newest first: the intervals of a
 * column's time away from the log.
 */
function addAway(rates: number[], end: number, from: number, rin: number, rout: number): void {
  for (let x = rates.length - 3; x >= 0 && end > from; x -= 3) {
    if (rin === rin) rates[x] = rates[x] !== rates[x] ? rin : (rates[x] as number) + rin;
    if (rout === rout) rates[x + 1] = rates[x + 1] !== rates[x + 1] ? rout : (rates[x + 1] as number) + rout;
    end -= rates[x + 2] as number;
  }
}

/**
 * The summed rate (bit/s) of `columns` over an interval, as the summary sums
 * them (lib/usage/customers.ts): each column's rate as the engine takes it
 * (over its own interval), added in order; NaN when none of them was
 * counted.
 */
function summedRate(grown: ReadonlyMap<string, Growth>, ...lists: (readonly string[])[]): number {
  let sum = NaN;
  for (const columns of lists) {
    for (const column of columns) {
      const g = grown.get(column);
      if (g === undefined) continue;
      const rate = rateOf(Number(g.bytes), g.length);
      sum = sum !== sum ? rate : sum + rate;
    }
  }
  return sum;
}

/** A copy of `cycle` that can be added to. */
function copyCycle(cycle: CycleTally): CycleTally {
  return { ...cycle, bytes: new Map(cycle.bytes), resets: new Map(cycle.resets) };
}

function addBytes(to: Map<string, bigint>, column: string, bytes: bigint): void {
  if (bytes !== 0n) to.set(column, (to.get(column) ?? 0n) + bytes);
}

/**
 * The tally after `sample`, from the tally before it (undefined: `sample`
 * is the log's first, the starting point). Pure: `before` is not changed.
 *
 * @example
 * ```ts
 * const plan = { billings: new Map([["1 UTC", () => calendar("cycle", ianaZone("UTC"), 1)]]), rates: [] };
 * const acme = { columns: { name: "acme", in: [], out: [], both: ["acme"] }, billing: "1 UTC" };
 * const t0 = advanceTally(undefined, plan, { epoch: 0, counters: new Map([["acme", 0n]]) });
 * const t1 = advanceTally(t0, plan, { epoch: 300_000, counters: new Map([["acme", 500n]]) });
 * customerCycle(t1, acme)?.both; // 500n
 * ```
 */
export function advanceTally(before: Tally | undefined, plan: TallyPlan, sample: TallySample): Tally {
  const forced = new Set(sample.resets ?? []);
  const after: Tally = {
    epoch: sample.epoch,
    counters: new Map(sample.counters),
    intervals: before ? [...before.intervals] : [],
    cycles: new Map(),
    closed: new Map(before?.closed ?? []),
    rates: new Map(),
    closedRates: new Map(before?.closedRates ?? []),
  };
  const prevEpoch = before?.epoch;
  const length = prevEpoch === undefined ? 0 : sample.epoch - prevEpoch;
  if (length > 0) {
    after.intervals.push(length);
    if (after.intervals.length > INTERVALS) after.intervals.shift();
  }
  // Each column's growth over the interval, once for every billing and customer.
  const grown = new Map<string, Growth>();
  /** Columns new to the log at this sample (rarely any): their time counts from here. */
  let added: string[] | undefined;
  /** Columns back in the log at this sample (rarely any): their interval is from their last sample. */
  let back: string[] | undefined;
  if (before) {
    let still = 0;
    for (const [name, now] of sample.counters) {
      const prev = before.counters.get(name);
      if (prev !== undefined) still++;
      else (added ??= []).push(name);
      const left = before.removed?.get(name);
      if (left !== undefined) (back ??= []).push(name);
      const from = left ?? before.epoch;
      const g = growth(prev, now, forced.has(name), from, sample.epoch - from);
      if (g !== undefined) grown.set(name, g);
    }
    // Columns that left the log keep their last counter and sample, and are removed (rarely any: each looked for).
    if (still < before.counters.size) {
      const removed = new Map<string, number>();
      for (const [name, last] of before.counters) {
        if (after.counters.has(name)) continue;
        after.counters.set(name, last);
        removed.set(name, before.removed?.get(name) ?? before.epoch);
      }
      after.removed = removed;
    }
  }
  for (const [billing, calendarOf] of plan.billings) {
    const old = before?.cycles.get(billing);
    // The cycle kept holds the sample (the usual case): no calendar lookup, no time zone arithmetic.
    const here = old && old.start <= sample.epoch && sample.epoch < old.end ? old : calendarOf().bucketAt(sample.epoch);
    const t: CycleTally = old && old.start === here.start
      ? copyCycle(old)
      : { start: here.start, end: here.end, bytes: new Map(), resets: new Map() };
    // Counted from its start (an interval across it is split), or from the log's first sample within it.
    if (!old && (prevEpoch === undefined || prevEpoch >= t.start) && sample.epoch > t.start) t.since = sample.epoch;
    if (added) {
      const firsts = new Map(t.firsts);
      for (const column of added) firsts.set(column, sample.epoch);
      t.firsts = firsts;
    }
    after.cycles.set(billing, t);
    if (prevEpoch === undefined) continue;
    if (old && old.start !== t.start && length > 0 && prevEpoch < old.end) {
      // The cycle closed in this interval: it takes the floor of its share of it, as the engine gives it.
      const end = Math.min(old.end, sample.epoch);
      const closed = copyCycle(old);
      for (const [column, g] of grown) addBytes(closed.bytes, column, upTo(g, end) - upTo(g, old.start));
      closed.closedBy = sample.epoch;
      after.closed.set(billing, closed);
    } else if (back && length > 0) {
      // A column back from before this cycle: the cycle before, closed since it left, takes its share too.
      const was = after.closed.get(billing);
      const gone = was && back.filter((column) => (grown.get(column)?.from ?? Infinity) < was.end);
      if (was && gone && gone.length > 0) {
        const closed = copyCycle(was);
        for (const column of gone) {
          const g = grown.get(column) as Growth;
          addBytes(closed.bytes, column, upTo(g, was.end) - upTo(g, was.start));
        }
        after.closed.set(billing, closed);
      }
    }
    // The part of the interval in this cycle: all of it, or what follows the cycle's start.
    for (const [column, g] of grown) {
      addBytes(t.bytes, column, length > 0 && g.from < t.start ? g.bytes - upTo(g, t.start) : g.bytes);
      if (g.reset) t.resets.set(column, (t.resets.get(column) ?? 0) + 1);
    }
  }
  for (const c of plan.rates) {
    const cycle = after.cycles.get(c.billing);
    if (!cycle) continue;
    const old = before?.rates.get(c.columns.name);
    const kept: CycleRates = old && old.start === cycle.start
      ? { start: cycle.start, rates: [...old.rates] }
      : { start: cycle.start, rates: [] };
    after.rates.set(c.columns.name, kept);
    const closed = old && old.start !== cycle.start ? after.closed.get(c.billing) : undefined;
    // Rates of a cycle that has closed go with it (see Tally.closedRates), the interval across its end added below.
    const final = old && closed?.start === old.start ? { start: old.start, rates: [...old.rates] } : undefined;
    if (final) after.closedRates.set(c.columns.name, final);
    if (prevEpoch === undefined || length <= 0) continue;
    // A rate is the interval's bytes over its whole length (as the engine's); its weight the time in the cycle.
    const { in: i, out: o, both: b } = c.columns;
    const rates = [summedRate(grown, i, b), summedRate(grown, o, b)];
    // A column back in the log: its rate in the intervals of its time away too, in this cycle and the one before.
    if (back) {
      const was = final ? undefined : after.closed.get(c.billing);
      const prior = was && after.closedRates.get(c.columns.name);
      // A copy to add to (the tally before keeps its own).
      const earlier = was && prior?.start === was.start ? { start: prior.start, rates: [...prior.rates] } : undefined;
      if (earlier) after.closedRates.set(c.columns.name, earlier);
      for (const column of back) {
        const g = grown.get(column);
        const into = (list: readonly string[]) => list.includes(column) || b.includes(column);
        if (g === undefined || !into([...i, ...o])) continue;
        const rate = rateOf(Number(g.bytes), g.length);
        const [rin, rout] = [into(i) ? rate : NaN, into(o) ? rate : NaN];
        addAway(kept.rates, prevEpoch, g.from, rin, rout);
        if (final) addAway(final.rates, prevEpoch, g.from, rin, rout);
        else if (earlier && was && g.from < was.end) addAway(earlier.rates, was.end, g.from, rin, rout);
      }
    }
    kept.rates.push(...rates, sample.epoch - Math.max(prevEpoch, cycle.start));
    if (final && closed && prevEpoch < closed.end) {
      final.rates.push(...rates, Math.min(closed.end, sample.epoch) - Math.max(prevEpoch, closed.start));
    }
  }
  return after;
}

/** Sums `columns`' bytes in `cycle`. */
function sumOf(cycle: CycleTally, columns: readonly string[]): bigint {
  let bytes = 0n;
  for (const c of columns) bytes += cycle.bytes.get(c) ?? 0n;
  return bytes;
}

/**
 * The first instant counted of `columns` in `cycle`, when later than its
 * start: the earliest of their first samples (a column there before the cycle
 * began counts from its start, or from the log's first sample if later; one
 * never seen too, as the summary's estimate counts them).
 */
function sinceOf(cycle: CycleTally, columns: CustomerColumns): number | undefined {
  const firsts = cycle.firsts;
  if (firsts === undefined) return cycle.since;
  const known = cycle.since ?? cycle.start;
  let at = Infinity;
  for (const list of [columns.in, columns.out, columns.both]) {
    for (const c of list) at = Math.min(at, firsts.get(c) ?? known);
  }
  if (at === Infinity) return cycle.since;
  return at > cycle.start ? at : undefined;
}

/** A customer's part of a billing's cycle: the sums of its columns (of which `removed` are no longer in the log). */
function customerPart(
  cycle: CycleTally,
  columns: CustomerColumns,
  removed?: ReadonlyMap<string, number>,
): CustomerTally {
  const i = sumOf(cycle, columns.in), o = sumOf(cycle, columns.out), b = sumOf(cycle, columns.both);
  const t: CustomerTally = {
    start: cycle.start,
    end: cycle.end,
    in: i,
    out: o,
    both: b,
  };
  const since = sinceOf(cycle, columns);
  if (since !== undefined) t.since = since;
  const parts = partsOf(cycle, columns, since ?? cycle.start, removed);
  if (parts !== undefined) t.parts = parts;
  return t;
}

/**
 * The bytes of `columns` in `cycle` by the instant each counts from (its
 * first sample, or the cycle's: see {@linkcode sinceOf}) and whether it is
 * in `removed`, earliest first; undefined when all count from `since`, the
 * earliest, and none is removed (the usual case: no column of theirs new to
 * the log in this cycle, or all new at once, and none gone from it).
 */
function partsOf(
  cycle: CycleTally,
  columns: CustomerColumns,
  since: number,
  removed: ReadonlyMap<string, number> | undefined,
): TallyPart[] | undefined {
  const firsts = cycle.firsts;
  if (firsts === undefined && removed === undefined) return undefined;
  const known = Math.max(cycle.start, cycle.since ?? cycle.start);
  const fromOf = (c: string) => Math.max(known, firsts?.get(c) ?? known);
  const isRemoved = (c: string) => removed?.has(c) === true;
  const lists = [columns.in, columns.out, columns.both];
  if (!lists.some((list) => list.some((c) => fromOf(c) !== since || isRemoved(c)))) return undefined;
  const parts = new Map<string, TallyPart>();
  for (const [list, key] of [[columns.in, "in"], [columns.out, "out"], [columns.both, "both"]] as const) {
    for (const c of list) {
      const from = fromOf(c), gone = isRemoved(c);
      const id = `${from}${gone ? " removed" : ""}`;
      let part = parts.get(id);
      if (part === undefined) {
        parts.set(id, part = { since: from, in: 0n, out: 0n, both: 0n });
        if (gone) part.removed = true;
      }
      part[key] += cycle.bytes.get(c) ?? 0n;
    }
  }
  return [...parts.values()].sort((a, b) => a.since - b.since);
}

/** A customer's part of `cycle`, with its interval rates in `rates` when they are of that cycle. */
function customerIn(
  cycle: CycleTally,
  rates: ReadonlyMap<string, CycleRates>,
  customer: TallyCustomer,
  removed: ReadonlyMap<string, number> | undefined,
): CustomerTally {
  const t = customerPart(cycle, customer.columns, removed);
  const r = rates.get(customer.columns.name);
  if (r?.start === cycle.start) t.rates = r.rates;
  return t;
}

/**
 * A customer's current cycle so far (undefined when the tally does not
 * count its billing), with its interval rates when the tally keeps them.
 */
export function customerCycle(tally: Tally, customer: TallyCustomer): CustomerTally | undefined {
  const cycle = tally.cycles.get(customer.billing);
  return cycle && customerIn(cycle, tally.rates, customer, tally.removed);
}

/**
 * A customer's previous cycle as it closed (see {@linkcode Tally.closed}), if the tally saw it close, with its
 * interval rates when the tally keeps them.
 */
export function customerClosed(tally: Tally, customer: TallyCustomer): CustomerTally | undefined {
  const cycle = tally.closed.get(customer.billing);
  return cycle && customerIn(cycle, tally.closedRates, customer, tally.removed);
}

/**
 * A customer's bytes in `cycle` that count against a quota (`count`), without
 * making its whole {@linkcode CustomerTally}: a report checks every customer.
 * A column with no direction counts in `in` and in `out` as well (see
 * {@linkcode counted}).
 */
export function countedIn(cycle: CycleTally, columns: CustomerColumns, count: "in" | "out" | "total"): bigint {
  const both = bytesOf(cycle, columns.both);
  if (count === "in") return bytesOf(cycle, columns.in) + both;
  if (count === "out") return bytesOf(cycle, columns.out) + both;
  return bytesOf(cycle, columns.in) + bytesOf(cycle, columns.out) + both;
}

/** The bytes of `columns` in `cycle`. */
function bytesOf(cycle: CycleTally, columns: readonly string[]): bigint {
  let sum = 0n;
  for (let i = 0; i < columns.length; i++) sum += cycle.bytes.get(columns[i] as string) ?? 0n;
  return sum;
}

/**
 * A customer's bytes that count against a quota (`count`). A column with no
 * direction (a meter counting both ways in one counter) cannot be given to
 * either: it counts in `in` and in `out`, as in the 95th percentile
 * (lib/usage/customers.ts), so a quota is never below the traffic; left out,
 * a customer of such columns alone never reached a quota counting `in`.
 */
export function counted(t: Pick<CustomerTally, "in" | "out" | "both">, count: "in" | "out" | "total"): bigint {
  return count === "in" ? t.in + t.both : count === "out" ? t.out + t.both : t.in + t.out + t.both;
}

/**
 * The bytes at which `percent` of `quota` is reached: the least whole number
 * of bytes not below that share (thresholds may have three decimals), so that
 * a threshold passes at its percentage exactly, never a fraction of a byte
 * below it (`used >= thresholdBytes(...)`). For Nagios perf data, where a
 * threshold N alerts above N, it is one less.
 */
export function thresholdBytes(quota: bigint, percent: number): bigint {
  const share = quota * BigInt(Math.round(percent * 1000));
  return (share + 99_999n) / 100_000n;
}

/**
 * The customer's billable 95th percentile so far (bit/s): the larger of in
 * and out, a column with no direction counting in each (of its columns
 * summed when none has a direction), as the summary bills it
 * (lib/usage/customers.ts `rollUp`); undefined without rates, or before an
 * interval of its columns.
 */
export function p95SoFar(t: CustomerTally, columns: CustomerColumns): number | undefined {
  const r = t.rates;
  if (!r || r.length === 0) return undefined;
  const n = r.length / 3;
  const pick = (k: number) => Float64Array.from({ length: n }, (_, i) => r[3 * i + k] as number);
  const w = pick(2);
  // With no direction, in and out are the same sum: one percentile.
  if (columns.in.length + columns.out.length === 0) return weightedPercentile(pick(0), w, n);
  const pin = weightedPercentile(pick(0), w, n);
  const pout = weightedPercentile(pick(1), w, n);
  return pin === undefined ? pout : pout === undefined ? pin : Math.max(pin, pout);
}

/** The usual interval (ms): the median of the last ones, or undefined before two samples. */
export function usualInterval(tally: Tally): number | undefined {
  const xs = [...tally.intervals].sort((a, b) => a - b);
  return xs.length === 0 ? undefined : xs[Math.floor((xs.length - 1) / 2)];
}

/**
 * The projection for the whole cycle of the customer's bytes that count
 * against a quota (`count`, as {@linkcode counted}) at `now`: each of its
 * parts' rate so far over its time counted since the cycle's start (or
 * since the tally began, or since its column's first sample, if later: what
 * came before is not counted, so not projected either), carried to the
 * cycle's end, a removed part's bytes as they are, and summed
 * (lib/usage/projection.ts `cycleEstimate`: the summary's estimate, tested
 * equal). Undefined before a day of the cycle is counted
 * (lib/usage/projection.ts `MIN_COUNTED_MS`), what the alerts say as "too
 * early" and do not warn on.
 */
export function cycleProjection(t: CustomerTally, count: "in" | "out" | "total", now: number): bigint | undefined {
  const parts = (t.parts ?? [{ since: t.since ?? t.start, in: t.in, out: t.out, both: t.both }])
    .map((p) => ({ bytes: counted(p, count), from: p.since, removed: p.removed === true }));
  return cycleEstimate(parts, t, now, now);
}
