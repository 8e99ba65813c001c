/**
 * The usage engine: samples in time order in, usage per calendar bucket and
 * column out, with the reset rules, intervals across a boundary shared by
 * time, coverage, and (when asked) the 95th percentile of interval rates.
 * `netmon summary`, alerts, the page and the exports all build on it.
 *
 * Streaming: memory grows with the columns (and, with percentiles, columns
 * times intervals of one bucket), never with the number of samples, but for
 * the buckets held while a column is away from the log (see the rules). With
 * `reuse`, a closed bucket's interval rates are written over by the buckets
 * after it, so that a long log makes no garbage either: what a bucket needs
 * is allocated once.
 *
 * The rules, the same as `graph.ts` (lib/graph.ts):
 * - The first sample is the starting point: nothing before it counts. A
 *   column that appears later starts from its first value.
 * - A counter that went down was reset: the column's usage over that
 *   interval is its new value; other columns are unaffected. A reset the log
 *   records (`Sample.resets`, from a `# netmon reset:` line) is counted the
 *   same way whatever the value; on a column's first sample after the log's
 *   first, such a reset counts the value too (the counter was created within
 *   the interval).
 * - A column that leaves the log and comes back (a meter removed and added
 *   back) has one interval from its last sample to its next, as a gap in the
 *   samples is one: its growth at its average rate, shared by time over the
 *   buckets it spans and in the rates of the intervals it spans. So the
 *   buckets that close while a column is away are held back until it
 *   returns (with `EngineOptions.returning`, only for a column that will).
 * - An interval whose end is in a later bucket than its start is shared out
 *   in proportion to the time on each side (floor of the cumulative share, in
 *   exact integers), so buckets add up exactly to the counters' growth.
 * - An interval that does not go forward (the clock stepped back) puts its
 *   usage in the open bucket; it has no rate and covers nothing. (`graph.ts`
 *   puts it in the bucket its end's wall time names, which can be one it has
 *   already closed; a streaming engine cannot reopen it.)
 * - The hour the clock repeats when daylight saving ends is one bucket (see
 *   lib/usage/calendar.ts). `graph.ts --by hour` agrees when samples fall in
 *   that hour; for an interval that jumps over the repeat's start it resolves
 *   the boundary with the interval end's offset and gives the first pass to
 *   the hour before: the only difference, and the engine's rule is the
 *   consistent one.
 *
 * Coverage of a column in a bucket is the time in intervals that the column
 * has at both ends (its own, for one back in the log) and that are at most
 * three times the usual interval (the median of the last 99 intervals, this
 * one included), as a fraction of the
 * bucket: of the whole bucket for the first (the time before the log began is
 * not covered: netmon was not metering), and, for the last, of the whole
 * bucket too when it ended by the present (`finish(now)`: the samples the log
 * stopped before are missing), but up to the last sample for the bucket in
 * progress, so that it reads "so far". A column new to the log after its
 * first sample (a meter added to the config) is measured from its own first
 * sample (`ColumnUsage.since`): before it the meter did not exist, and
 * nothing of it is missing; a column the sample after its last no longer has
 * (a meter removed, with the log going on: not the log stopping) is measured
 * up to its own last sample (`ColumnUsage.spanMs`), after which there was no
 * meter; a bucket it is in for no time it covers whole.
 *
 * A column is in (`BucketUsage.columns`) the buckets of its samples and of
 * the intervals it has at both ends; a column new to the log is not in the
 * buckets before its first sample's, where it did not exist yet, but for a
 * reset line at that sample: its value is counted over the interval ending
 * there, and the buckets that interval crosses list the column (covered
 * whole, as above).
 *
 * @module
 */

import type { Bucket, Calendar } from "./calendar.ts";
import { weightedPercentile } from "./percentile.ts";

/** A counter value: a number while exact (up to 2^53-1), a bigint beyond. */
export type Counter = number | bigint;

/** Counter values of every column at one instant. */
export interface Sample {
  /** The instant, epoch ms. */
  epoch: number;
  /** Column names; pass the same array object while they do not change (it is the engine's fast path). */
  columns: readonly string[];
  /** Cumulative counter of each column, in the order of `columns`. */
  counters: ArrayLike<Counter>;
  /** Columns the log says were reset before this sample (`# netmon reset:` lines). */
  resets?: readonly string[] | undefined;
}

/** One column's usage in one bucket. */
export interface ColumnUsage {
  /** Column name. */
  name: string;
  /** Bytes counted in the bucket. */
  usage: bigint;
  /** Resets seen in the bucket (counter went down, or recorded by the log). */
  resets: number;
  /** Milliseconds of the bucket in covered intervals. */
  coveredMs: number;
  /** `coveredMs` as a fraction (0 to 1) of the bucket's span, from `since` if given. */
  coverage: number;
  /**
   * The column's first sample, when it is not before the bucket's start and
   * later than the log's first sample (a meter added to the config in the
   * bucket, or at its start): its coverage is of the bucket's span from
   * there.
   */
  since?: number;
  /**
   * The milliseconds from its bucket's start its coverage is a fraction of
   * (from `since` if given), when not its bucket's `spanMs`: a column whose
   * last sample is in the bucket and the sample after does not have (a meter
   * removed), up to that last sample; a fleet's column
   * (lib/outputs/postgres_samples.ts), of the hosts that have it, which may
   * have sampled up to an earlier instant than others.
   */
  spanMs?: number;
  /** 95th percentile of interval rates in bit/s, when asked and the bucket has an interval of this column. */
  p95?: number;
}

/**
 * The interval rates of a bucket, for percentiles of sums of columns
 * (customers): entry k of each column's rates and of `weights` is the k-th
 * interval touching the bucket; NaN where the column was not in it.
 */
export interface IntervalRates {
  /** Number of intervals. */
  length: number;
  /** Milliseconds of each interval inside the bucket. */
  weights: Float64Array;
  /** Rate in bit/s of each column in each interval. */
  rates: ReadonlyMap<string, Float64Array>;
}

/** Usage of every column present in one bucket. */
export interface BucketUsage {
  /** The bucket. */
  bucket: Bucket;
  /** Milliseconds that coverage is a fraction of. */
  spanMs: number;
  /** Columns present in the bucket, in order of first appearance in the log. */
  columns: ColumnUsage[];
  /** Interval rates, when percentiles were asked for. */
  intervals?: IntervalRates;
  /**
   * The columns reset at each sample of the bucket that reset any, in order:
   * a customer's resets are the samples where any of its columns reset (a
   * meter split in and out, re-created, is one reset, not two). Absent when
   * none was.
   */
  resetEvents?: readonly (readonly string[])[];
}

/** What to compute. */
export interface EngineOptions {
  /** Compute the 95th percentile of each column (and keep interval rates for roll-ups). */
  p95?: boolean;
  /**
   * The `intervals` of the buckets a push (or finish) returns are valid only
   * until the next push: the engine reuses their memory for the buckets
   * after them. For callers that use each bucket as it closes.
   */
  reuse?: boolean;
  /**
   * The columns that come back to the log after leaving it, when known
   * (lib/usage/log_samples.ts `logColumns`): the buckets that close while a
   * column is away are held back until it returns (its interval, from its
   * last sample, is shared over them), but only for these; with how many
   * times each comes back, only until its last return (one back once, then
   * removed for good, holds nothing after). Without it, for any column away:
   * one that left for good holds them to the end.
   */
  returning?: ReturnsHint | undefined;
}

/** Which columns come back to the log (see {@linkcode EngineOptions.returning}), and how often where known. */
export type ReturnsHint = ReadonlySet<string> | ReadonlyMap<string, number>;

/** A column away from the log: its last sample's instant, the bucket open then and its interval entries then. */
interface Away {
  epoch: number;
  acc: Acc;
  k: number;
}

/** A column back in the sample being pushed: its counter before it left and now, and whether the log says reset. */
interface Back {
  i: number;
  p: Counter;
  v: Counter;
  forced: boolean;
  away: Away;
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Number sums are moved into a bigint before they could lose a unit. */
const FLUSH = 2 ** 52;
/** How many intervals the usual interval is the median of. */
const WINDOW = 99;
/** Room for this many intervals when a bucket's number cannot be foreseen (the log's first). */
const FIRST_ROOM = 64;
/** At most this room made ahead for a bucket (a 31-day month of 3.5-minute samples); more as it comes. */
const MOST_ROOM = 1 << 14;
/** How many tables of interval rates a reusing engine keeps for the buckets to come. */
const SPARE_TABLES = 2;
/** An interval longer than this many usual intervals is a gap. */
const GAP_FACTOR = 3;
/** What a push that closes no bucket returns: nothing allocated per sample. */
const NONE: readonly BucketUsage[] = Object.freeze([]);

const normal = (d: bigint): Counter => (d <= SAFE ? Number(d) : d);

/** The floor of `d`'s share of an interval of `total` ms up to `cum` ms into it, in exact integers. */
function shareOf(d: Counter, cum: number, total: number): Counter {
  if (typeof d === "number" && d * total < 2 ** 53) return Math.floor((d * cum) / total);
  return normal((BigInt(d) * BigInt(cum)) / BigInt(total));
}

/** A counter's growth from `p` to `v`: when it went down it was reset and counted `v` since. */
function delta(p: Counter, v: Counter): Counter {
  if (typeof v === "number" && typeof p === "number") return v >= p ? v - p : v;
  const bv = BigInt(v);
  const bp = BigInt(p);
  return normal(bv >= bp ? bv - bp : bv);
}

/** The sums of one bucket, per column index. */
class Acc {
  readonly bucket: Bucket;
  small: Float64Array;
  big: (bigint | undefined)[] | undefined;
  resets: Uint32Array;
  /** The column indexes reset at each sample that reset any (rare: most buckets have none). */
  events: Int32Array[] | undefined;
  covered: Float64Array;
  present: Uint8Array;
  /** The interval rates, when percentiles are asked for. */
  readonly table: RateTable | undefined;

  constructor(bucket: Bucket, columns: number, table: RateTable | undefined) {
    this.bucket = bucket;
    const cap = Math.max(columns, 4);
    this.small = new Float64Array(cap);
    this.resets = new Uint32Array(cap);
    this.events = undefined;
    this.covered = new Float64Array(cap);
    this.present = new Uint8Array(cap);
    this.table = table;
  }

  grow(columns: number): void {
    if (columns <= this.small.length) return;
    const cap = Math.max(columns, this.small.length * 2);
    const more = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.small = more(this.small, (n) => new Float64Array(n));
    this.resets = more(this.resets, (n) => new Uint32Array(n));
    this.covered = more(this.covered, (n) => new Float64Array(n));
    this.present = more(this.present, (n) => new Uint8Array(n));
  }

  add(i: number, d: Counter): void {
    if (typeof d === "number") {
      const s = (this.small[i] as number) + d;
      if (s > FLUSH) {
        this.addBig(i, BigInt(s));
        this.small[i] = 0;
      } else this.small[i] = s;
    } else this.addBig(i, d);
  }

  addBig(i: number, d: bigint): void {
    this.big ??= [];
    this.big[i] = (this.big[i] ?? 0n) + d;
  }

  usage(i: number): bigint {
    return (this.big?.[i] ?? 0n) + BigInt(this.small[i] as number);
  }
}

/**
 * `room` and an eighth more: a table made for one bucket then fits those
 * after it (months differ by up to three days, days by a daylight-saving hour).
 */
const slack = (room: number) => Math.ceil(room * 1.125);

/**
 * The interval rates of one bucket, per column index: entry k of `weights`
 * and of each column's rates is the k-th interval touching the bucket; NaN
 * where the column was not in it (and beyond `n`). Made with room for the
 * intervals the bucket is expected to hold, grown when it holds more, and
 * emptied for another bucket by {@linkcode RateTable.clear}.
 */
class RateTable {
  n = 0;
  weights: Float64Array;
  readonly rates: (Float64Array | undefined)[] = [];

  constructor(room: number) {
    this.weights = new Float64Array(slack(room));
  }

  /** Empties it for a bucket of about `room` intervals. */
  clear(room: number): void {
    for (const r of this.rates) r?.fill(NaN, 0, this.n);
    this.n = 0;
    this.reserve(room);
  }

  /** True when no interval more fits. */
  get full(): boolean {
    return this.n === this.weights.length;
  }

  /** Makes room for `room` intervals in all, if there is less. */
  reserve(room: number): void {
    if (room > this.weights.length) this.#grow(slack(room));
  }

  #grow(room: number): void {
    const weights = new Float64Array(room);
    weights.set(this.weights.subarray(0, this.n));
    this.weights = weights;
    for (let i = 0; i < this.rates.length; i++) {
      const r = this.rates[i];
      if (r === undefined) continue;
      const bigger = new Float64Array(room).fill(NaN);
      bigger.set(r.subarray(0, this.n));
      this.rates[i] = bigger;
    }
  }

  /** Starts the next interval entry with weight `w` (there is room); returns its index. */
  interval(w: number): number {
    this.weights[this.n] = w;
    return this.n++;
  }

  setRate(i: number, k: number, rate: number): void {
    let r = this.rates[i];
    if (r === undefined) this.rates[i] = r = new Float64Array(this.weights.length).fill(NaN);
    r[k] = rate;
  }
}

/**
 * Turns samples into usage per bucket. Push samples in time order; each
 * push returns the buckets it closed; {@linkcode UsageEngine.finish} returns
 * the last. See the module documentation for the rules.
 *
 * @example
 * ```ts
 * const engine = new UsageEngine(calendar("day", localZone()));
 * const columns = ["acme"];
 * engine.push({ epoch: Date.UTC(2026, 0, 1, 23), columns, counters: [0] });
 * engine.push({ epoch: Date.UTC(2026, 0, 2, 1), columns, counters: [2000] });
 * const buckets = engine.finish(); // two days of 1000 bytes each, in UTC
 * ```
 */
export class UsageEngine {
  readonly #cal: Calendar;
  readonly #p95: boolean;
  readonly #reuse: boolean;
  /** Rate tables free for the next buckets, and those of the buckets the last push returned. */
  readonly #spare: RateTable[] = [];
  readonly #lent: RateTable[] = [];
  readonly #names: string[] = [];
  readonly #index = new Map<string, number>();
  #lastColumns: readonly string[] | undefined;
  #map = new Int32Array(0);
  #prev: (Counter | undefined)[] = [];
  /** Per column, its first sample's instant when later than the log's first (NaN otherwise). */
  readonly #since: number[] = [];
  /**
   * Per column, its last sample's instant, noted with {@linkcode #seenAt} when
   * the columns change: exact for every column the newest sample does not have.
   */
  readonly #lastAt: number[] = [];
  /**
   * Sample number at which each column was last seen; for the columns of
   * {@linkcode #prevMap} (the sample before's), noted only when the columns
   * change or a boundary is crossed (see {@linkcode #settleSeen}).
   */
  #seenAt: number[] = [];
  /** The column indexes of the sample before: their columns were all seen then. */
  #prevMap: Int32Array | undefined;
  #seq = 0;
  #prevEpoch = NaN;
  #acc: Acc | undefined;
  // The usual interval: a ring of the last WINDOW lengths and a sorted copy.
  readonly #ring: number[] = [];
  #ringAt = 0;
  readonly #sorted: number[] = [];
  // Scratch, per column of the current sample.
  readonly #deltas: Counter[] = [];
  readonly #forced = new Set<number>();
  /**
   * Columns away from the log (in a sample before, not in the last), by
   * index, that may come back: should one, its interval is from its last
   * sample, so the buckets closed meanwhile are held in {@linkcode #held}.
   */
  readonly #away = new Map<number, Away>();
  /** Buckets closed while a column was away, oldest first: not handed out, as its return may add to them. */
  readonly #held: Acc[] = [];
  /** `EngineOptions.returning` as a set (each may come back any number of times). */
  readonly #returning: ReadonlySet<string> | undefined;
  /** `EngineOptions.returning` as counts: the returns each column has left. */
  readonly #returnsLeft: Map<string, number> | undefined;
  /** Per column, the number of the last sample that had it, noted when the columns change ({@linkcode #comings}). */
  readonly #inSample: number[] = [];

  /** Buckets from `cal`; `options.p95` to compute percentiles; `options.reuse` (see {@linkcode EngineOptions}). */
  constructor(cal: Calendar, options: EngineOptions = {}) {
    this.#cal = cal;
    this.#p95 = options.p95 === true;
    this.#reuse = options.reuse === true;
    const returning = options.returning;
    if (returning instanceof Map) this.#returnsLeft = new Map(returning);
    else this.#returning = returning as ReadonlySet<string> | undefined;
  }

  /** Whether column `name`, away, may come back (buckets are held for it meanwhile). */
  #mayReturn(name: string): boolean {
    const left = this.#returnsLeft;
    return left !== undefined ? (left.get(name) ?? 0) > 0 : this.#returning?.has(name) !== false;
  }

  /** The intervals `bucket` should hold at the usual interval (a few before one is known). */
  #room(bucket: Bucket): number {
    const usual = this.#sorted.length > 0 ? this.#sorted[(this.#sorted.length - 1) >> 1] as number : 0;
    if (!(usual > 0)) return FIRST_ROOM;
    return Math.min(MOST_ROOM, Math.ceil((bucket.end - bucket.start) / usual) + 2);
  }

  /** The sums of `bucket`, with a rate table when percentiles are asked for. */
  #open(bucket: Bucket): Acc {
    if (!this.#p95) return new Acc(bucket, this.#names.length, undefined);
    const room = this.#room(bucket);
    let table = this.#spare.pop();
    if (table === undefined) table = new RateTable(room);
    else table.clear(room);
    return new Acc(bucket, this.#names.length, table);
  }

  /** The tables of the buckets handed out before are free again (when reusing). */
  #takeBack(): void {
    if (this.#lent.length === 0) return;
    for (const t of this.#lent) if (this.#spare.length < SPARE_TABLES) this.#spare.push(t);
    this.#lent.length = 0;
  }

  #firstEpoch = NaN;

  /** The first sample's instant (NaN before any). */
  get firstEpoch(): number {
    return this.#firstEpoch;
  }

  /** Whether buckets that closed are held back, a column being away that may come back (see {@linkcode #held}). */
  get holding(): boolean {
    return this.#held.length > 0;
  }

  /** The last sample's instant (NaN before any). */
  get lastEpoch(): number {
    return this.#prevEpoch;
  }

  /** Every column seen so far, in order of first appearance. */
  get columns(): readonly string[] {
    return this.#names;
  }

  #columnIndexes(columns: readonly string[]): Int32Array {
    if (columns === this.#lastColumns) return this.#map;
    const map = new Int32Array(columns.length);
    columns.forEach((name, j) => {
      let i = this.#index.get(name);
      if (i === undefined) {
        i = this.#names.length;
        this.#names.push(name);
        this.#index.set(name, i);
        this.#seenAt.push(-2);
        this.#inSample.push(-1);
        this.#since.push(NaN);
        this.#lastAt.push(NaN);
      }
      map[j] = i;
    });
    this.#lastColumns = columns;
    this.#map = map;
    this.#acc?.grow(this.#names.length);
    return map;
  }

  /** The usual interval after adding `length` to the window. */
  #usual(length: number): number {
    const sorted = this.#sorted;
    if (this.#ring.length === WINDOW) {
      const old = this.#ring[this.#ringAt] as number;
      this.#ring[this.#ringAt] = length;
      this.#ringAt = (this.#ringAt + 1) % WINDOW;
      // Replace old by length in place, keeping the order: nothing moves in
      // the common case of equal intervals, and nothing is allocated.
      if (old !== length) {
        let i = lowerBound(sorted, old);
        if (length > old) {
          for (; i + 1 < WINDOW && (sorted[i + 1] as number) < length; i++) sorted[i] = sorted[i + 1] as number;
        } else {
          for (; i > 0 && (sorted[i - 1] as number) > length; i--) sorted[i] = sorted[i - 1] as number;
        }
        sorted[i] = length;
      }
    } else {
      this.#ring.push(length);
      sorted.splice(lowerBound(sorted, length), 0, length);
    }
    return sorted[(sorted.length - 1) >> 1] as number;
  }

  /** Adds the next sample; returns the buckets it closed, oldest first (most often none: the same empty array). */
  push(sample: Sample): readonly BucketUsage[] {
    this.#takeBack();
    const known = this.#names.length;
    const map = this.#columnIndexes(sample.columns);
    // Columns new to the log after its first sample: their coverage counts from here.
    if (this.#names.length > known && this.#acc !== undefined) this.#since.fill(sample.epoch, known);
    const counters = sample.counters;
    const n = map.length;
    const e1 = sample.epoch;
    const seq = this.#seq++;
    const prev = this.#prev;
    const forced = this.#forced;
    // Only when needed: Set.clear() makes a new table, and each old one links to the next, so a chain of them
    // outlives the scavenges (most samples have no reset line, and the set stays empty).
    if (forced.size > 0) forced.clear();
    if (sample.resets) {
      for (const name of sample.resets) {
        const j = sample.columns.indexOf(name);
        if (j >= 0) forced.add(map[j] as number);
      }
    }
    if (this.#acc === undefined) {
      const acc = this.#acc = this.#open(this.#cal.bucketAt(e1));
      for (let j = 0; j < n; j++) {
        const i = map[j] as number;
        prev[i] = counters[j] as Counter;
        this.#seenAt[i] = seq;
        acc.present[i] = 1;
      }
      this.#prevEpoch = this.#firstEpoch = e1;
      this.#prevMap = map;
      return NONE;
    }
    let acc: Acc = this.#acc;
    if (this.#resets.length > 0) this.#resets.length = 0; // setting length is a runtime call: not once per sample
    // Columns leaving the log, or coming back (their growth counted by #comeBack, not below), when the columns change.
    const back = map === this.#prevMap ? undefined : this.#comings(map, counters, seq);
    let closed: BucketUsage[] | undefined;
    const e0 = Math.max(this.#prevEpoch, acc.bucket.start);
    const total = e1 - e0;
    const covers = total > 0 && total <= GAP_FACTOR * this.#usual(total);
    if (e1 < acc.bucket.end) {
      const same = map === this.#prevMap;
      if (!same) this.#settleSeen(seq);
      this.#within(acc, map, counters, seq, total, covers, same);
    } else {
      this.#settleSeen(seq);
      // Growth of each column over the interval.
      const deltas = this.#deltas;
      const counted = this.#counted.length >= n ? this.#counted : (this.#counted = new Uint8Array(n * 2));
      let any = false;
      for (let j = 0; j < n; j++) {
        const d = this.#growth(map[j] as number, counters[j] as Counter);
        deltas[j] = d ?? 0;
        counted[j] = d === undefined ? 0 : 1;
        if (d !== undefined && d !== 0) any = true;
      }
      // Across one boundary or more: each bucket takes the floor of its
      // cumulative share, in exact integers.
      const given: Counter[] = new Array(n).fill(0);
      let cum = 0;
      let from = e0;
      for (;;) {
        const last = e1 < acc.bucket.end;
        const to = last ? e1 : acc.bucket.end;
        cum += to - from;
        for (let j = 0; any && j < n; j++) {
          const d = deltas[j] as Counter;
          if (d === 0) continue;
          const upTo = last ? d : shareOf(d, cum, total);
          const g = given[j] as Counter;
          const part = typeof upTo === "number" && typeof g === "number" ? upTo - g : normal(BigInt(upTo) - BigInt(g));
          given[j] = upTo;
          if (part !== 0) acc.add(map[j] as number, part);
        }
        if (to > from) this.#note(acc, map, seq, to - from, total, covers);
        // The sample's columns are in its own bucket; in those before, the columns with usage of this interval:
        // not one first sampled here, which did not exist there (but with a reset line, whose value the
        // interval counts).
        for (let j = 0; j < n; j++) if (last || counted[j] === 1) acc.present[map[j] as number] = 1;
        from = to;
        if (last) break;
        const next: Acc = this.#open(this.#cal.next(acc.bucket));
        if (this.#away.size > 0) this.#held.push(acc);
        else (closed ??= []).push(this.#result(acc, acc.bucket.end - acc.bucket.start, map));
        this.#acc = acc = next;
      }
      for (let j = 0; j < n; j++) this.#seenAt[map[j] as number] = seq;
    }
    if (back !== undefined) closed = this.#comeBack(back, e1, closed, map);
    // Resets belong to the bucket the interval ends in.
    const resets = this.#resets;
    if (resets.length > 0) {
      for (let k = 0; k < resets.length; k++) acc.resets[resets[k] as number]!++;
      (acc.events ??= []).push(Int32Array.from(resets));
    }
    this.#prevEpoch = e1;
    this.#prevMap = map;
    return closed ?? NONE;
  }

  /**
   * At a sample whose columns differ from the sample before's (sample `seq`,
   * of `map` and `counters`): notes the columns it no longer has as away (from
   * the sample before, in the open bucket), and returns those it has back,
   * if any, taken out of the interval's usual count (their counter before
   * forgotten, their reset line dropped): {@linkcode #comeBack} counts them
   * over their own interval once the interval's buckets are open.
   */
  #comings(map: Int32Array, counters: ArrayLike<Counter>, seq: number): Back[] | undefined {
    const inSample = this.#inSample;
    for (let j = 0; j < map.length; j++) inSample[map[j] as number] = seq;
    const acc = this.#acc as Acc;
    const before = this.#prevMap as Int32Array;
    for (let j = 0; j < before.length; j++) {
      const i = before[j] as number;
      if (inSample[i] === seq || !this.#mayReturn(this.#names[i] as string)) continue;
      this.#away.set(i, { epoch: this.#prevEpoch, acc, k: acc.table?.n ?? 0 });
    }
    let back: Back[] | undefined;
    if (this.#away.size === 0) return back;
    for (let j = 0; j < map.length; j++) {
      const i = map[j] as number;
      const away = this.#away.get(i);
      const p = this.#prev[i];
      if (away === undefined || p === undefined) continue;
      (back ??= []).push({ i, p, v: counters[j] as Counter, forced: this.#forced.delete(i), away });
      this.#prev[i] = undefined;
      const left = this.#returnsLeft;
      const name = this.#names[i] as string;
      if (left !== undefined) left.set(name, (left.get(name) ?? 1) - 1);
    }
    return back;
  }

  /**
   * Counts the columns `back` in the log at the sample at `e1`, whose
   * buckets are open: each one's growth since its last sample, over the
   * interval from there (its average rate), shared by time over the buckets
   * it spans (held since it left), its rate in each of their interval
   * entries since, covered as any interval of that length. The buckets held
   * are handed out (after `closed`'s) once no column that may come back is
   * away, a column of theirs the sample (column indexes `newest`) lacks as
   * removed; returns what the push returns.
   */
  #comeBack(
    back: Back[],
    e1: number,
    closed: BucketUsage[] | undefined,
    newest: Int32Array,
  ): BucketUsage[] | undefined {
    const open = this.#acc as Acc;
    const usual = this.#sorted.length > 0 ? this.#sorted[(this.#sorted.length - 1) >> 1] as number : NaN;
    for (const { i, p, v, forced, away } of back) {
      this.#away.delete(i);
      const down = typeof v === "number" && typeof p === "number" ? v < p : BigInt(v) < BigInt(p);
      const d = forced ? v : delta(p, v);
      if (forced || down) this.#resets.push(i);
      // From the bucket it left in (or the first still here, should a hint have been wrong) to the open one.
      const at = this.#held.indexOf(away.acc);
      const accs = at >= 0 ? this.#held.slice(at) : [];
      accs.push(open);
      const e0 = Math.max(away.epoch, (accs[0] as Acc).bucket.start);
      const total = e1 - e0;
      if (!(total > 0) || e1 < open.bucket.start) {
        // The clock stepped back: counted in the open bucket, as any interval that does not go forward.
        if (d !== 0) open.add(i, d);
        continue;
      }
      const covers = total <= GAP_FACTOR * usual;
      const rate = (Number(d) * 8000) / total;
      let cum = 0;
      let given: Counter = 0;
      for (let x = 0; x < accs.length; x++) {
        const acc = accs[x] as Acc;
        const last = x === accs.length - 1;
        const piece = (last ? e1 : acc.bucket.end) - Math.max(e0, acc.bucket.start);
        cum += piece;
        const upTo = last ? d : shareOf(d, cum, total);
        const part = typeof upTo === "number" && typeof given === "number"
          ? upTo - given
          : normal(BigInt(upTo) - BigInt(given));
        given = upTo;
        if (part !== 0) acc.add(i, part);
        acc.present[i] = 1;
        if (covers) acc.covered[i] = (acc.covered[i] as number) + piece;
        const table = acc.table;
        if (table !== undefined) {
          for (let k = acc === away.acc ? away.k : 0; k < table.n; k++) table.setRate(i, k, rate);
        }
      }
    }
    if (this.#away.size > 0 || this.#held.length === 0) return closed;
    const held = this.#held.splice(0).map((a) => this.#result(a, a.bucket.end - a.bucket.start, newest));
    return closed === undefined ? held : [...held, ...closed];
  }

  /**
   * Column `i`'s growth to `v` over the interval: when the counter went down,
   * or the log says it was reset, it was reset and counted `v` since (the
   * reset is noted); undefined for a column the sample before did not have.
   */
  #growth(i: number, v: Counter): Counter | undefined {
    const p = this.#prev[i];
    this.#prev[i] = v;
    if (this.#forced.size > 0 && this.#forced.has(i)) {
      this.#resets.push(i);
      return v;
    }
    if (p === undefined) return undefined;
    if (typeof v === "number" && typeof p === "number") {
      if (v >= p) return v - p;
      this.#resets.push(i);
      return v;
    }
    if (BigInt(v) < BigInt(p)) this.#resets.push(i);
    return delta(p, v);
  }

  /** Notes in {@linkcode #seenAt} that the columns of the sample before sample `seq` were seen at it. */
  #settleSeen(seq: number): void {
    const prev = this.#prevMap;
    if (prev === undefined) return;
    for (let j = 0; j < prev.length; j++) {
      this.#seenAt[prev[j] as number] = seq - 1;
      this.#lastAt[prev[j] as number] = this.#prevEpoch;
    }
  }

  /**
   * An interval of `total` ms within the open bucket, the common case:
   * growth, usage, coverage, rates and presence in one pass over the columns
   * (as the crossing case and {@linkcode #note} record them). With the
   * `same` columns as the sample before, each was seen then and is already
   * present in the bucket: only the first sample after a change notes that.
   */
  #within(
    acc: Acc,
    map: Int32Array,
    counters: ArrayLike<Counter>,
    seq: number,
    total: number,
    covers: boolean,
    same: boolean,
  ): void {
    const seenAt = this.#seenAt;
    const covered = acc.covered;
    const present = acc.present;
    const counts = total > 0 && covers;
    const table = total > 0 ? acc.table : undefined;
    const k = table === undefined ? -1 : this.#interval(acc, table, total);
    for (let j = 0; j < map.length; j++) {
      const i = map[j] as number;
      const d = this.#growth(i, counters[j] as Counter);
      if (d !== undefined) {
        if (d !== 0) acc.add(i, d);
        if (table !== undefined) table.setRate(i, k, (Number(d) * 8000) / total);
      }
      if (counts && (same || seenAt[i] === seq - 1)) covered[i] = (covered[i] as number) + total;
      if (!same) {
        present[i] = 1;
        seenAt[i] = seq;
      }
    }
  }

  /** Per column of the current sample: 1 when its delta is usage of this interval. */
  #counted = new Uint8Array(0);
  /** Column indexes reset at the current sample. */
  readonly #resets: number[] = [];

  /** Records an interval's piece of `w` ms (of `length`) in `acc`: coverage and rates. */
  #note(acc: Acc, map: Int32Array, seq: number, w: number, length: number, covers: boolean): void {
    const seenAt = this.#seenAt;
    const n = map.length;
    if (covers) {
      for (let j = 0; j < n; j++) {
        const i = map[j] as number;
        if (seenAt[i] === seq - 1) acc.covered[i] = (acc.covered[i] as number) + w;
      }
    }
    const table = acc.table;
    if (table === undefined) return;
    const k = this.#interval(acc, table, w);
    const deltas = this.#deltas;
    const counted = this.#counted;
    for (let j = 0; j < n; j++) {
      if (counted[j] === 1) table.setRate(map[j] as number, k, (Number(deltas[j]) * 8000) / length);
    }
  }

  /** Starts the next interval entry of `acc`'s `table`, with weight `w`; returns its index. */
  #interval(acc: Acc, table: RateTable, w: number): number {
    // Full: in the log's first bucket, made before the usual interval was known, or samples came faster.
    if (table.full) table.reserve(Math.max(2 * table.n, this.#room(acc.bucket)));
    return table.interval(w);
  }

  /**
   * The result of a closed bucket whose coverage is over `spanMs`; `newest`:
   * the column indexes of the newest sample (a column of the bucket it does
   * not have was removed: its span ends at its last sample).
   */
  #result(acc: Acc, spanMs: number, newest: Int32Array): BucketUsage {
    const columns: ColumnUsage[] = [];
    const rates = new Map<string, Float64Array>();
    const table = acc.table;
    const start = acc.bucket.start;
    const gone = this.#gone(acc, newest);
    for (let i = 0; i < this.#names.length; i++) {
      if (acc.present[i] !== 1) continue;
      const name = this.#names[i] as string;
      const covered = acc.covered[i] as number;
      const since = this.#since[i] as number;
      const row: ColumnUsage = {
        name,
        usage: acc.usage(i),
        resets: acc.resets[i] as number,
        coveredMs: covered,
        coverage: spanMs > 0 ? Math.min(1, covered / spanMs) : 0,
      };
      // A meter removed in the bucket: its span ends at its last sample.
      let end = spanMs;
      if (gone?.[i] === 1) {
        end = Math.min(spanMs, Math.max(0, (this.#lastAt[i] as number) - start));
        if (end < spanMs) row.spanMs = end;
      }
      // A meter added in the bucket (at its start too: the bucket it is first in, which the overview learns it from).
      if (since >= start) row.since = since;
      if (since > start || end < spanMs) {
        // Its span from its first sample to its last (none: its first sample is the last, or after the bucket, its
        // reset line's value shared back into it, or it was removed at the bucket's start: nothing missing).
        const own = end - (since > start ? since - start : 0);
        row.coverage = own > 0 ? Math.min(1, covered / own) : 1;
      }
      const r = table?.rates[i];
      if (table !== undefined && r !== undefined) {
        const p = weightedPercentile(r, table.weights, table.n);
        if (p !== undefined) row.p95 = p;
        rates.set(name, r.subarray(0, table.n));
      }
      columns.push(row);
    }
    const out: BucketUsage = { bucket: acc.bucket, spanMs, columns };
    if (acc.events !== undefined) {
      out.resetEvents = acc.events.map((e) => Array.from(e, (i) => this.#names[i] as string));
    }
    if (table !== undefined) {
      out.intervals = { length: table.n, weights: table.weights.subarray(0, table.n), rates };
      if (this.#reuse) this.#lent.push(table);
    }
    return out;
  }

  /**
   * Per column index, 1 for a column present in `acc` that the newest sample
   * (column indexes `newest`) does not have; undefined when there is none
   * (the common case: nothing allocated).
   */
  #gone(acc: Acc, newest: Int32Array): Uint8Array | undefined {
    let inNewest = 0;
    let present = 0;
    for (let i = 0; i < this.#names.length; i++) present += acc.present[i] as number;
    for (let j = 0; j < newest.length; j++) inNewest += acc.present[newest[j] as number] as number;
    if (inNewest === present) return undefined;
    const gone = acc.present.slice(0, this.#names.length);
    for (let j = 0; j < newest.length; j++) gone[newest[j] as number] = 0;
    return gone;
  }

  /**
   * Closes the open bucket and returns it (none before the first sample).
   * `now`, the present: a bucket over by then (the log stopped in it) is
   * covered of its whole span; the bucket in progress (or, without `now`, the
   * last sample's) up to the last sample.
   */
  finish(now?: number): BucketUsage[] {
    this.#takeBack();
    const acc = this.#acc;
    if (acc === undefined) return [];
    this.#acc = undefined;
    this.#away.clear();
    // A column still away at the log's end was removed: not in the newest sample, its span ends at its last.
    const newest = this.#prevMap ?? this.#map;
    const held = this.#held.splice(0).map((a) => this.#result(a, a.bucket.end - a.bucket.start, newest));
    const b = acc.bucket;
    const to = now !== undefined && now >= b.end ? b.end : Math.min(b.end, Math.max(this.#prevEpoch, b.start));
    held.push(this.#result(acc, to - b.start, newest));
    return held;
  }
}

/** Index of the first element of sorted `a` not below `x`. */
function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Runs `samples` through a {@linkcode UsageEngine}, yielding each bucket as
 * it closes; the last as of `options.now` (see {@linkcode UsageEngine.finish}).
 */
export function* usageByBucket(
  samples: Iterable<Sample>,
  cal: Calendar,
  options: EngineOptions & { now?: number } = {},
): Generator<BucketUsage> {
  const engine = new UsageEngine(cal, options);
  for (const s of samples) yield* engine.push(s);
  yield* engine.finish(options.now);
}

/** {@linkcode usageByBucket} for an async source of samples. */
export async function* usageByBucketAsync(
  samples: AsyncIterable<Sample> | Iterable<Sample>,
  cal: Calendar,
  options: EngineOptions & { now?: number } = {},
): AsyncGenerator<BucketUsage> {
  const engine = new UsageEngine(cal, options);
  for await (const s of samples) yield* engine.push(s);
  yield* engine.finish(options.now);
}
