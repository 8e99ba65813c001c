/**
 * The cumulative log turned into usage per time bucket (or per log entry), as
 * a tab-separated data file for gnuplot: the 2010 graph script done right.
 *
 * The log is streamed: memory grows with the number of buckets and meters,
 * never with the number of lines.
 *
 * @module
 */

import { DataError } from "../host/errors.ts";
import { forEachLineSync, type LineOptions, type LineSource } from "../host/lines.ts";
import { type Hint, naiveDate, resolveWall, stampToNaive, wallToEpoch } from "./local_time.ts";
import { HEADER_PREFIX, ORIGINAL_METERS, parseCounter, parseHeader } from "../state/log_format.ts";
import { isTimestamp } from "./local_time.ts";
import { fixedScaled } from "./units.ts";

/** How rows are made: one per log entry or one per calendar bucket. */
export type By = "entry" | "hour" | "day" | "week" | "month";

/** The fixed units, 1024-based as the original's MB. */
export const UNITS: Readonly<Record<string, number>> = { B: 0, KB: 10, MB: 20, GB: 30, TB: 40 };

/** Rate units: bytes per second times the factor. */
export const RATES: Readonly<Record<string, number>> = {
  "bit/s": 8,
  "kbit/s": 8 / 1e3,
  "Mbit/s": 8 / 1e6,
  "Gbit/s": 8 / 1e9,
  "B/s": 1,
  "KB/s": 1 / 1024,
  "MB/s": 1 / 1024 ** 2,
  "GB/day": 86_400 / 1024 ** 3,
  "GB/month": 30 * 86_400 / 1024 ** 3,
  "TB/month": 30 * 86_400 / 1024 ** 4,
};

/** A column that sums several meters (the 2004 article's customer roll-up). */
export interface Group {
  /** Column name. */
  name: string;
  /** Meters summed into it. */
  meters: string[];
}

/** What to compute. */
export interface GraphOptions {
  /** Row per entry or per bucket. */
  by: By;
  /** Key of {@linkcode UNITS}; ignored when `rate` is set. */
  unit: string;
  /** Key of {@linkcode RATES}: average rate per bucket instead of a total (not with `by: "entry"`). */
  rate?: string | undefined;
  /** Columns rolling meters up; empty for one column per meter. */
  groups: Group[];
  /** With groups: keep meters in no group as an `other` column. */
  other: boolean;
  /** A malformed line is an error instead of a warning. */
  strict: boolean;
  /** Told about each skipped line. */
  warn: (message: string) => void;
}

/** Column headers of the original two meters, as the original graph script wrote them. */
const ORIGINAL_HEADERS: Readonly<Record<string, string>> = { proxy: "Proxy", "non-network": "Non-Network" };

/** The gnuplot time format of each kind of row's date column. */
export const TIMEFMT: Readonly<Record<By, string>> = {
  entry: "%Y/%m/%d-%H:%M:%S",
  hour: "%Y/%m/%d-%H:%M",
  day: "%Y/%m/%d",
  week: "%Y/%m/%d",
  month: "%Y/%m",
};

type Value = number | bigint;

const STAMP_SHAPE = /^\d{4}\/\d\d\/\d\d-\d\d:\d\d:\d\d$/;
/** Counters up to here are plain numbers; beyond, bigints. */
const MAX_SAFE = 999_999_999_999_999n;
const NOT_PRINTABLE = /[^\t\x20-\x7e]/;
/** Number sums are flushed into a bigint before they could lose a unit. */
const FLUSH = 2 ** 52;

/**
 * Reads log lines: headers switch the columns, data lines are checked and
 * parsed; bad lines are reported through `bad`.
 */
class LineReader {
  /** Every meter that has data, in order of first appearance. */
  readonly meters: string[] = [];
  /** True once a header line has been seen. */
  sawHeader = false;
  /** Meter index of each column of the current data lines. */
  columns: number[] = [];
  /** Parsed counters of the last data line, by column. */
  readonly values: Value[] = [];
  readonly #index = new Map<string, number>();
  /** Meters named by the last header, registered at their first data line. */
  #pending: readonly string[] | undefined = ORIGINAL_METERS;
  #checkedDate = "";
  readonly #path: string;
  readonly #bad: (where: string, reason: string) => void;

  constructor(path: string, bad: (where: string, reason: string) => void) {
    this.#path = path;
    this.#bad = bad;
  }

  /** Registers `meter` (in order) and returns its index. */
  meterIndex(meter: string): number {
    let i = this.#index.get(meter);
    if (i === undefined) {
      i = this.meters.length;
      this.meters.push(meter);
      this.#index.set(meter, i);
    }
    return i;
  }

  /** The meters of the columns: all with data, else those the log names for its next line. */
  names(): readonly string[] {
    return this.meters.length > 0 ? this.meters : this.#pending ?? [];
  }

  #setColumns(): number[] {
    if (this.#pending !== undefined) {
      this.columns = this.#pending.map((meter) => this.meterIndex(meter));
      this.#pending = undefined;
    }
    return this.columns;
  }

  /**
   * Returns the stamp of a good data line (its counters in `values`), or
   * undefined for a header, comment, blank or bad line.
   */
  read(line: string, lineNo: number): string | undefined {
    const first = line.charCodeAt(0);
    if (first === 35 /* # */) {
      if (line.startsWith(HEADER_PREFIX)) {
        const meters = parseHeader(line, `${this.#path}:${lineNo}`) ?? [];
        if (meters.length === 0) return this.#fail(lineNo, "meters header names no meter");
        this.sawHeader = true;
        this.#pending = meters;
      }
      return undefined;
    }
    if (line === "") return undefined;
    const n = (this.#pending ?? this.columns).length;
    const stamp = this.#fast(line, n) ?? this.#slow(line, n, lineNo);
    if (stamp !== undefined) this.#setColumns();
    return stamp;
  }

  /**
   * The common case in one pass over the characters, no allocation but the
   * stamp: `STAMP<TAB>digits<TAB>digits…` with counters below 10^15.
   * Anything else is left to {@linkcode #slow}, which says what is wrong.
   */
  #fast(line: string, n: number): string | undefined {
    const len = line.length;
    if (len < 21 || line.charCodeAt(19) !== 9) return undefined;
    let pos = 20;
    for (let j = 0; j < n; j++) {
      const start = pos;
      let v = 0;
      for (let c = line.charCodeAt(pos); c >= 48 && c <= 57; c = line.charCodeAt(++pos)) v = v * 10 + c - 48;
      const digits = pos - start;
      if (digits === 0 || digits > 15) return undefined;
      if (pos < len ? line.charCodeAt(pos) !== 9 || j === n - 1 : j !== n - 1) return undefined;
      this.values[j] = v;
      pos++;
    }
    const stamp = line.slice(0, 19);
    return this.#stampOk(stamp) ? stamp : undefined;
  }

  #slow(line: string, n: number, lineNo: number): string | undefined {
    if (NOT_PRINTABLE.test(line)) {
      return this.#fail(
        lineNo,
        line.includes("\r") ? "line ends in CR (DOS line ending)" : "line has bytes that are not printable ASCII",
      );
    }
    const f = line.trim().split(/[\t ]+/);
    if (f.length !== n + 1) return this.#fail(lineNo, `expected ${n + 1} fields but got ${f.length}`);
    const stamp = f[0] as string;
    if (!this.#stampOk(stamp)) {
      return this.#fail(lineNo, `${JSON.stringify(stamp)} is not a timestamp YYYY/MM/DD-HH:MM:SS`);
    }
    for (let j = 0; j < n; j++) {
      const v = parseCounter(f[j + 1] as string);
      if (typeof v === "string") return this.#fail(lineNo, v);
      this.values[j] = v <= MAX_SAFE ? Number(v) : v;
    }
    return stamp;
  }

  #stampOk(stamp: string): boolean {
    if (!STAMP_SHAPE.test(stamp)) return false;
    // Full calendar check once per day; the time of day on every line.
    if (stamp.startsWith(this.#checkedDate) && this.#checkedDate !== "") {
      const h = (stamp.charCodeAt(11) - 48) * 10 + stamp.charCodeAt(12) - 48;
      const m = (stamp.charCodeAt(14) - 48) * 10 + stamp.charCodeAt(15) - 48;
      const s = (stamp.charCodeAt(17) - 48) * 10 + stamp.charCodeAt(18) - 48;
      return h < 24 && m < 60 && s <= 60;
    }
    if (!isTimestamp(stamp)) return false;
    this.#checkedDate = stamp.slice(0, 10);
    return true;
  }

  #fail(lineNo: number, reason: string): undefined {
    this.#bad(`${this.#path}:${lineNo}`, reason);
    return undefined;
  }
}

/** Bytes per meter index: plain numbers while exact, bigints beyond. */
class Sums {
  // Sized to the meters when made: a bucket costs little more than its
  // numbers, which matters for decades of hourly buckets.
  small: number[];
  big: bigint[] | undefined;

  constructor(meters: number) {
    this.small = Array.from({ length: meters }, () => 0);
  }

  add(i: number, d: Value): void {
    if (typeof d === "number") {
      const s = (this.small[i] ?? 0) + d;
      if (s > FLUSH) {
        this.#addBig(i, BigInt(s));
        this.small[i] = 0;
      } else this.small[i] = s;
    } else this.#addBig(i, d);
  }

  #addBig(i: number, d: bigint): void {
    this.big ??= [];
    this.big[i] = (this.big[i] ?? 0n) + d;
  }

  get(i: number): bigint {
    return (this.big?.[i] ?? 0n) + BigInt(this.small[i] ?? 0);
  }
}

/** Output columns: names and which meter indexes each sums. */
interface Columns {
  names: string[];
  members: number[][];
}

function columnsFor(meters: readonly string[], opts: GraphOptions): Columns {
  if (opts.groups.length === 0) {
    return { names: meters.map((m) => ORIGINAL_HEADERS[m] ?? m), members: meters.map((_, i) => [i]) };
  }
  const names = opts.groups.map((g) => g.name);
  const members = opts.groups.map((g) => g.meters.map((m) => meters.indexOf(m)).filter((i) => i >= 0));
  const grouped = new Set(opts.groups.flatMap((g) => g.meters));
  const rest = meters.map((m, i) => (grouped.has(m) ? -1 : i)).filter((i) => i >= 0);
  if (opts.other && rest.length > 0) {
    names.push("other");
    members.push(rest);
  }
  return { names, members };
}

/** A malformed-line handler: warnings (the first 20, then a count) or, with --strict, an error. */
function badLines(path: string, opts: GraphOptions): { bad: (where: string, reason: string) => void; end: () => void } {
  let count = 0;
  return {
    bad(where, reason) {
      if (opts.strict) throw new DataError(`${where}: ${reason} (--strict)`);
      if (++count <= 20) opts.warn(`${where}: ${reason}; line skipped`);
    },
    end() {
      if (count > 20) opts.warn(`${path}: ${count - 20} more malformed lines skipped`);
    },
  };
}

/** Delta of a counter from `p` to `v`: a counter that went down was reset and counted `v` since. */
function delta(p: Value, v: Value): Value {
  if (typeof v === "number" && typeof p === "number") return v >= p ? v - p : v;
  const bv = BigInt(v);
  const bp = BigInt(p);
  return bv >= bp ? bv - bp : bv;
}

/** An open log: read line by line, and read again from the start. */
export type GraphFile = LineSource & { seekSync(offset: number): number };

/** A final line with no LF is a sample still being written (or torn by a crash): skipped, with a warning. */
function tornWarning(path: string, opts: GraphOptions): LineOptions {
  return {
    onTorn: (_line, lineNo) =>
      opts.warn(`${path}:${lineNo}: incomplete last line (no newline: a run still writing it, or interrupted) skipped`),
  };
}

/**
 * Writes the graph data of the log in `file` (named `path` in messages) to
 * `write`, header first.
 */
export function graphLog(file: GraphFile, path: string, opts: GraphOptions, write: (text: string) => void): void {
  if (opts.by === "entry") entries(file, path, opts, write);
  else buckets(file, path, opts, write);
}

/**
 * One row per log line. A log without a meters header is the original's and
 * is treated exactly as the original script did: usage from zero on the first
 * line, and when either counter went down both count again from zero, sizes
 * through a double as Python's were. Other logs get per-meter resets (a meter
 * that went down counted its new value) and exact sizes; a meter counts from
 * zero on its first line.
 */
function entries(file: GraphFile, path: string, opts: GraphOptions, write: (text: string) => void): void {
  const shift = UNITS[opts.unit] ?? 20;
  // A first pass finds every column, so that the header can come first.
  const names: string[] = [];
  let sawHeader = false;
  forEachLineSync(file, path, (line, lineNo) => {
    if (line.charCodeAt(0) === 35 /* # */) {
      const meters = parseHeader(line, `${path}:${lineNo}`);
      if (meters === undefined || meters.length === 0) return;
      sawHeader = true;
      for (const m of meters) if (!names.includes(m)) names.push(m);
    } else if (!sawHeader && names.length === 0 && line.trim() !== "") names.push(...ORIGINAL_METERS);
  }, { onTorn: () => {} });
  file.seekSync(0);
  const original = !sawHeader;
  const lines = badLines(path, opts);
  const reader = new LineReader(path, lines.bad);
  // Meter indexes in the order the first pass found them.
  for (const m of original ? ORIGINAL_METERS : names) reader.meterIndex(m);
  const cols = columnsFor(original ? ORIGINAL_METERS : names, opts);
  write(`Date\t${cols.names.join("\t")}\n`);
  const prev: (Value | undefined)[] = [];
  const deltas: Value[] = [];
  let out = "";
  forEachLineSync(file, path, (line, lineNo) => {
    const stamp = reader.read(line, lineNo);
    if (stamp === undefined) return;
    for (let i = 0; i < deltas.length; i++) deltas[i] = 0;
    const n = reader.columns.length;
    let wentDown = false;
    for (let j = 0; original && j < n; j++) if ((reader.values[j] as Value) < (prev[j] ?? 0)) wentDown = true;
    for (let j = 0; j < n; j++) {
      const i = reader.columns[j] as number;
      const v = reader.values[j] as Value;
      const p = wentDown ? 0 : prev[i] ?? 0;
      deltas[i] = typeof v === "number" && typeof p === "number" ? (v >= p ? v - p : v) : delta(p, v);
      prev[i] = v;
    }
    out += stamp;
    for (const members of cols.members) {
      let sum = deltas[members[0] as number] ?? 0;
      for (let m = 1; m < members.length; m++) sum = add(sum, deltas[members[m] as number] ?? 0);
      // The original divided a Python float: round to a double first, as it did.
      out += "\t" + fixedScaled(original && typeof sum === "bigint" ? BigInt(Number(sum)) : sum, shift);
    }
    out += "\n";
    if (out.length > 65536) {
      write(out);
      out = "";
    }
  }, tornWarning(path, opts));
  write(out);
  lines.end();
}

function add(a: Value, b: Value): Value {
  if (typeof a === "number" && typeof b === "number" && a + b <= FLUSH) return a + b;
  return BigInt(a) + BigInt(b);
}

/** The calendar buckets of one unit, keyed by strings that sort in time order. */
interface Calendar {
  /** Key of the bucket holding a log stamp. */
  key(stamp: string): string;
  /** Naive start (wall fields as if UTC) of a bucket. */
  start(key: string): number;
  /** Key of the next bucket. */
  next(key: string): string;
  /** The date column text for a bucket. */
  label(key: string): string;
}

const pad = (n: number) => (n < 10 ? "0" : "") + n;

function calendar(by: Exclude<By, "entry">): Calendar {
  const dayStart = (key: string) => Date.UTC(+key.slice(0, 4), +key.slice(5, 7) - 1, +key.slice(8, 10));
  switch (by) {
    case "hour": {
      const start = (key: string) => dayStart(key) + +key.slice(11, 13) * 3_600_000;
      return {
        key: (s) => s.slice(0, 13),
        start,
        next(key) {
          const d = new Date(start(key) + 3_600_000);
          return `${naiveDate(d.getTime())}-${pad(d.getUTCHours())}`;
        },
        label: (key) => `${key}:00`,
      };
    }
    case "day":
      return {
        key: (s) => s.slice(0, 10),
        start: dayStart,
        next: (key) => naiveDate(dayStart(key) + 86_400_000),
        label: (key) => key,
      };
    case "week": {
      const mondays = new Map<string, string>();
      return {
        key(s) {
          const date = s.slice(0, 10);
          let monday = mondays.get(date);
          if (monday === undefined) {
            const t = dayStart(date);
            monday = naiveDate(t - ((new Date(t).getUTCDay() + 6) % 7) * 86_400_000);
            mondays.set(date, monday);
          }
          return monday;
        },
        start: dayStart,
        next: (key) => naiveDate(dayStart(key) + 7 * 86_400_000),
        label: (key) => key,
      };
    }
    case "month":
      return {
        key: (s) => s.slice(0, 7),
        start: (key) => Date.UTC(+key.slice(0, 4), +key.slice(5, 7) - 1, 1),
        next(key) {
          const d = new Date(Date.UTC(+key.slice(0, 4), +key.slice(5, 7), 1));
          return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}`;
        },
        label: (key) => key,
      };
  }
}

/** Splits `d` into parts proportional to `weights`, summing exactly to `d`. */
function split(d: Value, weights: number[], total: number): bigint[] {
  const big = BigInt(d);
  const t = BigInt(total);
  const parts: bigint[] = [];
  let cum = 0n;
  let given = 0n;
  for (const w of weights) {
    cum += BigInt(w);
    const upTo = big * cum / t;
    parts.push(upTo - given);
    given = upTo;
  }
  return parts;
}

/**
 * One row per calendar bucket (local time), from the first sample's bucket to
 * the last's, every bucket present. A bucket's usage is each counter's growth
 * from its start to its end, the counter read between samples by linear
 * interpolation: an interval between two samples that crosses bucket
 * boundaries is shared out in proportion to the time on each side, so the
 * buckets add up exactly to the counters' total growth. The first sample of
 * each meter is its starting point. A stamp earlier than the one before
 * (clock stepped back, or the hour repeated when daylight saving ends) puts
 * the interval's usage in its own bucket: never a negative interval.
 */
function buckets(file: GraphFile, path: string, opts: GraphOptions, write: (text: string) => void): void {
  const cal = calendar(opts.by as Exclude<By, "entry">);
  const lines = badLines(path, opts);
  const reader = new LineReader(path, lines.bad);
  const sums = new Map<string, Sums>();
  const bucket = (key: string) => {
    let s = sums.get(key);
    if (s === undefined) sums.set(key, s = new Sums(reader.meters.length));
    return s;
  };
  const prev: (Value | undefined)[] = [];
  const deltas: Value[] = [];
  let prevStamp = "";
  let prevKey = "";
  // The last instant resolved, so that a repeated hour reads forward.
  let hint: Hint | undefined;
  const resolve = (naive: number) => (hint = resolveWall(naive, hint)).epoch;
  let current = new Sums(0);
  let minStamp = "";
  let maxStamp = "";

  forEachLineSync(file, path, (line, lineNo) => {
    const stamp = reader.read(line, lineNo);
    if (stamp === undefined) return;
    const n = reader.columns.length;
    let any = false;
    for (let j = 0; j < n; j++) {
      const i = reader.columns[j] as number;
      const v = reader.values[j] as Value;
      const p = prev[i];
      prev[i] = v;
      const d = p === undefined ? 0 : delta(p, v);
      deltas[j] = d;
      if (d !== 0 && d !== 0n) any = true;
    }
    const key = cal.key(stamp);
    if (minStamp === "" || stamp < minStamp) minStamp = stamp;
    if (stamp > maxStamp) maxStamp = stamp;
    if (prevStamp !== "" && stamp < prevStamp) {
      // The wall clock went back (stepped, or the hour repeated as daylight
      // saving ends): the usage goes in this line's bucket.
      resolve(stampToNaive(prevStamp));
      resolve(stampToNaive(stamp));
      current = bucket(key);
      if (any) { for (let j = 0; j < n; j++) current.add(reader.columns[j] as number, deltas[j] as Value); }
    } else if (key === prevKey) {
      if (any) { for (let j = 0; j < n; j++) current.add(reader.columns[j] as number, deltas[j] as Value); }
    } else if (prevStamp === "") {
      resolve(stampToNaive(stamp));
      current = bucket(key);
    } else {
      const e0 = resolve(stampToNaive(prevStamp));
      const targets = [current];
      const starts: number[] = [];
      for (let k = prevKey; k !== key;) {
        k = cal.next(k);
        starts.push(cal.start(k));
        targets.push(bucket(k));
      }
      const e1 = resolve(stampToNaive(stamp));
      const weights: number[] = [];
      let from = e0;
      for (const start of starts) {
        const boundary = Math.min(Math.max(wallToEpoch(start, { epoch: from, offset: hint?.offset ?? 0 }), from), e1);
        weights.push(boundary - from);
        from = boundary;
      }
      weights.push(e1 - from);
      const total = e1 - e0;
      current = targets.at(-1) as Sums;
      for (let j = 0; any && j < n; j++) {
        const d = deltas[j] as Value;
        const i = reader.columns[j] as number;
        if (d === 0 || d === 0n) continue;
        if (total <= 0) current.add(i, d);
        else split(d, weights, total).forEach((part, t) => part > 0n && (targets[t] as Sums).add(i, part));
      }
    }
    prevKey = key;
    prevStamp = stamp;
  }, tornWarning(path, opts));
  lines.end();

  const cols = columnsFor(reader.names(), opts);
  write(`Date\t${cols.names.join("\t")}\n`);
  if (minStamp === "") return;
  const shift = UNITS[opts.unit] ?? 20;
  const factor = opts.rate === undefined ? undefined : RATES[opts.rate];
  const firstEpoch = wallToEpoch(stampToNaive(minStamp));
  const lastEpoch = wallToEpoch(stampToNaive(maxStamp), { epoch: firstEpoch, offset: NaN });
  const lastKey = cal.key(maxStamp);
  let out = "";
  let key = cal.key(minStamp);
  let startEpoch = wallToEpoch(cal.start(key));
  for (;;) {
    const next = cal.next(key);
    const endEpoch = wallToEpoch(cal.start(next), { epoch: startEpoch, offset: NaN });
    // An hour the clock skipped has no length and no row.
    if (endEpoch > startEpoch || key === lastKey) {
      const s = sums.get(key);
      out += cal.label(key);
      for (const members of cols.members) {
        let total = 0n;
        if (s) { for (const i of members) total += s.get(i); }
        if (factor === undefined) out += `\t${fixedScaled(total, shift)}`;
        else {
          const seconds = (Math.min(endEpoch, lastEpoch) - Math.max(startEpoch, firstEpoch)) / 1000;
          out += `\t${(seconds > 0 ? Number(total) / seconds * factor : 0).toFixed(2)}`;
        }
      }
      out += "\n";
      if (out.length > 65536) {
        write(out);
        out = "";
      }
    }
    if (key >= lastKey) break;
    key = next;
    startEpoch = endEpoch;
  }
  write(out);
}
