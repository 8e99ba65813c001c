/**
 * The cumulative log turned into usage per time bucket (or per log entry), as
 * a tab-separated data file for gnuplot: the 2010 graph script done right.
 * Buckets come from the one usage engine (lib/usage/engine.ts) and lines
 * from the one log parser (lib/usage/log_samples.ts); what is left here is
 * graph's own: the original's per-entry rules, its units and rates, its
 * column names and its text format.
 *
 * The log is streamed: memory grows with the meters, not with the number of
 * lines or buckets, but for the buckets that close while a meter the log
 * later brings back is away (held until its return: lib/usage/engine.ts).
 *
 * @module
 */

import { customerColumns, CustomerMatchError, type CustomerSpec } from "../config/customers.ts";
import { columnsAsConfigured, type Meter } from "../config/meters.ts";
import { ConfigError, DataError, UsageError } from "../host/errors.ts";
import { ORIGINAL_METERS } from "../state/log_format.ts";
import { calendar } from "./calendar.ts";
import { type BucketUsage, type Counter, UsageEngine } from "./engine.ts";
import { forEachSample, logColumns, type LogFile, LogReader } from "./log_samples.ts";
import { fixedScaled } from "./units.ts";
import { localZone, type Zone } from "./zone.ts";

/** How rows are made: one per log entry or one per calendar bucket. */
export type By = "entry" | "hour" | "day" | "week" | "month";

/**
 * The fixed units, 1024-based as the original's MB: so by their IEC names,
 * the original's spelling (`--unit MB`, its default) meaning the same.
 */
export const UNITS: Readonly<Record<string, number>> = {
  B: 0,
  KiB: 10,
  MiB: 20,
  GiB: 30,
  TiB: 40,
  KB: 10,
  MB: 20,
  GB: 30,
  TB: 40,
};

/** Rate units: bytes per second times the factor. */
export const RATES: Readonly<Record<string, number>> = {
  "bit/s": 8,
  "kbit/s": 8 / 1e3,
  "Mbit/s": 8 / 1e6,
  "Gbit/s": 8 / 1e9,
  "B/s": 1,
  "KiB/s": 1 / 1024,
  "MiB/s": 1 / 1024 ** 2,
  "GiB/day": 86_400 / 1024 ** 3,
  "GiB/month": 30 * 86_400 / 1024 ** 3,
  "TiB/month": 30 * 86_400 / 1024 ** 4,
  "KB/s": 1 / 1024,
  "MB/s": 1 / 1024 ** 2,
  "GB/day": 86_400 / 1024 ** 3,
  "GB/month": 30 * 86_400 / 1024 ** 3,
  "TB/month": 30 * 86_400 / 1024 ** 4,
};

/**
 * The true name of a `--unit` or `--rate` unit, for what people read (the
 * graph's axis): a 1024-based one by its IEC name (`MB` is `MiB`), a
 * 1000-based one (`Mbit/s`) as it is.
 *
 * @example
 * ```ts
 * unitName("MB"); // "MiB"
 * unitName("GB/month"); // "GiB/month"
 * unitName("Mbit/s"); // "Mbit/s"
 * ```
 */
export function unitName(unit: string): string {
  return /^[KMGT]B(\/|$)/.test(unit) ? `${unit[0]}iB${unit.slice(2)}` : unit;
}

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
  /** The config's customers as columns (instead of groups), and the config file they are from. */
  customers?: { specs: readonly CustomerSpec[]; file: string } | undefined;
  /** The config's meters: a column one of them writes is its meter's when customers and groups are matched. */
  meters?: readonly Meter[] | undefined;
  /** With groups or customers: keep meters in none as an `other` column. */
  other: boolean;
  /** A malformed line is an error instead of a warning. */
  strict: boolean;
  /** Told about each skipped line. */
  warn: (message: string) => void;
  /** The zone the log's stamps are in and its days follow (lib/state/zone_record.ts `logZone`); default the reader's own. */
  zone?: Zone | undefined;
  /** Only rows from here on (naive ms: wall-clock fields as UTC): buckets starting here or later, entries stamped so. */
  from?: number | undefined;
  /** Only rows before here (exclusive), as `from`. */
  to?: number | undefined;
  /** Told the first and last sample's stamps once the log is read (buckets only). */
  samples?: ((first: string, last: string) => void) | undefined;
  /** Told each series reset in a row, as the row is made: where the graph marks a reset. */
  reset?: ((mark: ResetMark) => void) | undefined;
}

/**
 * A series reset in a row (its bucket, or its log entry): some meter of it
 * was reset (its counter went down, or a reset line names it), so the row
 * counts what it counted since the reset; what it counted before, since the
 * sample before, is unknown.
 */
export interface ResetMark {
  /** The row's date text. */
  date: string;
  /** The series (0 for the first column after the date). */
  series: number;
  /** The row's value of the series, as written. */
  value: string;
}

/** Whether naive time `t` is inside the rows asked for. */
function inRange(t: number, opts: GraphOptions): boolean {
  return (opts.from === undefined || t >= opts.from) && (opts.to === undefined || t < opts.to);
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

/** Number sums are flushed into a bigint before they could lose a unit. */
const FLUSH = 2 ** 52;

/** Output columns: names and which meter indexes each sums. */
interface Columns {
  names: string[];
  members: number[][];
}

/**
 * The output columns over the log's `meters`: one per meter, or one per
 * group or customer (matched by lib/config/customers.ts, the one matcher)
 * and `other`. A group naming nothing in the log is a usage error, a
 * customer a config error: never a column of zeros.
 */
function columnsFor(meters: readonly string[], opts: GraphOptions, path: string): Columns {
  if (opts.groups.length === 0 && opts.customers === undefined) {
    return { names: meters.map((m) => ORIGINAL_HEADERS[m] ?? m), members: meters.map((_, i) => [i]) };
  }
  const cols = columnsAsConfigured(meters, opts.meters ?? []);
  const index = new Map(meters.map((m, i) => [m, i]));
  const listed = `(columns of ${path}: ${meters.join(", ") || "none"})`;
  let matched: { name: string; in: string[]; out: string[]; both: string[] }[];
  if (opts.customers !== undefined) {
    try {
      matched = customerColumns(opts.customers.specs, cols, opts.customers.file);
    } catch (e) {
      if (e instanceof CustomerMatchError) {
        throw new ConfigError(e.message.replaceAll("(columns: ", `(columns of ${path}: `));
      }
      throw e;
    }
  } else {
    matched = opts.groups.map((g) => {
      const all = { name: g.name, in: [] as string[], out: [] as string[], both: [] as string[] };
      for (const m of g.meters) {
        try {
          const [c] = customerColumns([{ name: g.name, meters: [m], billing: { cycleDay: 1 } }], cols);
          all.both.push(...(c?.in ?? []), ...(c?.out ?? []), ...(c?.both ?? []));
        } catch (e) {
          if (!(e instanceof CustomerMatchError)) throw e;
          throw new UsageError(`--group ${g.name}=${g.meters.join(",")}: ${m} matches no meter or column ${listed}`);
        }
      }
      return all;
    });
  }
  const names = matched.map((g) => g.name);
  const members = matched.map((g) => [...new Set([...g.in, ...g.out, ...g.both])].map((c) => index.get(c) as number));
  const grouped = new Set(members.flat());
  const rest = meters.map((_, i) => i).filter((i) => !grouped.has(i));
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
function delta(p: Counter, v: Counter): Counter {
  if (typeof v === "number" && typeof p === "number") return v >= p ? v - p : v;
  const bv = BigInt(v);
  const bp = BigInt(p);
  return bv >= bp ? bv - bp : bv;
}

/** Says, through `opts.warn`, that a last line with no LF was skipped. */
function tornWarning(opts: GraphOptions): (where: string) => void {
  return (where) =>
    opts.warn(`${where}: incomplete last line (no newline: a run still writing it, or interrupted) skipped`);
}

/**
 * Writes the graph data of the log in `file` (named `path` in messages) to
 * `write`, header first.
 */
export function graphLog(file: LogFile, path: string, opts: GraphOptions, write: (text: string) => void): void {
  if (opts.by === "entry") entries(file, path, opts, write);
  else buckets(file, path, opts, write);
}

/**
 * One row per log line. A log without a meters header is the original's and
 * is treated exactly as the original script did: usage from zero on the first
 * line, and when either counter went down both count again from zero, sizes
 * through a double as Python's were. Other logs get per-meter resets (a meter
 * that went down counted its new value) and exact sizes; a meter counts from
 * zero on its first line, and a series none of whose meters is in a line has
 * an empty field there (not metered: unknown, never `0.00`). A series whose
 * meter's counter went down, or that a reset line names, is told to
 * `opts.reset`.
 */
function entries(file: LogFile, path: string, opts: GraphOptions, write: (text: string) => void): void {
  const shift = UNITS[opts.unit] ?? 20;
  // A first pass finds every column, so that the header can come first.
  const { columns: names, header } = logColumns(file, path);
  file.seekSync(0, Deno.SeekMode.Start);
  const original = !header;
  const lines = badLines(path, opts);
  const meters = original ? ORIGINAL_METERS : names;
  const index = new Map(meters.map((m, i) => [m, i]));
  const cols = columnsFor(meters, opts, path);
  write(`Date\t${cols.names.join("\t")}\n`);
  const prev: (Counter | undefined)[] = [];
  const deltas: Counter[] = [];
  // Per meter, for the line at hand: 1 when it is in it, 2 when it was reset there too.
  const state = new Uint8Array(meters.length);
  let lastColumns: readonly string[] | undefined;
  let map: number[] = [];
  let out = "";
  const reader = new LogReader(path, lines.bad, opts.zone ?? localZone(), { reuse: true });
  forEachSample(file, path, reader, tornWarning(opts), (s) => {
    if (s.columns !== lastColumns) {
      lastColumns = s.columns;
      map = s.columns.map((c) => index.get(c) ?? -1);
    }
    state.fill(0);
    const n = map.length;
    let wentDown = false;
    for (let j = 0; original && j < n; j++) if ((s.counters[j] as Counter) < (prev[j] ?? 0)) wentDown = true;
    // A meter a reset line names counted its new value, whatever it is (its counter was re-created).
    const forced = s.resets;
    for (let j = 0; j < n; j++) {
      const i = map[j] as number;
      if (i < 0) continue;
      const v = s.counters[j] as Counter;
      const before = prev[i];
      const named = forced !== undefined && forced.includes(s.columns[j] as string);
      const p = wentDown || named ? 0 : before ?? 0;
      deltas[i] = typeof v === "number" && typeof p === "number" ? (v >= p ? v - p : v) : delta(p, v);
      state[i] = named || (before !== undefined && v < before) ? 2 : 1;
      prev[i] = v;
    }
    if ((opts.from !== undefined || opts.to !== undefined) && !inRange(reader.naive, opts)) return;
    out += reader.stamp;
    for (let c = 0; c < cols.members.length; c++) {
      const members = cols.members[c] as number[];
      let sum: Counter = 0;
      let metered = 0;
      for (const i of members) {
        const st = state[i] as number;
        if (st === 0) continue;
        sum = metered === 0 ? deltas[i] as Counter : add(sum, deltas[i] as Counter);
        if (st > metered) metered = st;
      }
      if (metered === 0) {
        out += "\t";
        continue;
      }
      // The original divided a Python float: round to a double first, as it did.
      const value = fixedScaled(original && typeof sum === "bigint" ? BigInt(Number(sum)) : sum, shift);
      out += "\t" + value;
      if (metered === 2) opts.reset?.({ date: reader.stamp, series: c, value });
    }
    out += "\n";
    if (out.length > 65536) {
      write(out);
      out = "";
    }
  });
  write(out);
  lines.end();
}

function add(a: Counter, b: Counter): Counter {
  if (typeof a === "number" && typeof b === "number" && a + b <= FLUSH) return a + b;
  return BigInt(a) + BigInt(b);
}

const pad = (n: number) => (n < 10 ? "0" : "") + n;

/** The date column text of a bucket starting at naive wall time `naive`. */
function label(by: Exclude<By, "entry">, naive: number): string {
  const d = new Date(naive);
  const day = `${String(d.getUTCFullYear()).padStart(4, "0")}/${pad(d.getUTCMonth() + 1)}`;
  if (by === "month") return day;
  if (by === "hour") return `${day}/${pad(d.getUTCDate())}-${pad(d.getUTCHours())}:00`;
  return `${day}/${pad(d.getUTCDate())}`;
}

/**
 * One row per calendar bucket (in the log's zone), from the first sample's bucket to
 * the last's, every bucket present, from the usage engine and its rules:
 * an interval across a boundary is shared by time, a counter that went down
 * (or a reset line) counts its new value, the first sample of each meter is
 * its starting point, the hour repeated when daylight saving ends is one
 * bucket, and an interval that goes back in time stays in the open bucket.
 * A series none of whose meters is in a bucket (a meter not yet added, or
 * removed) has an empty field there: not metered, unknown, never `0.00`.
 * A series reset in a bucket is told to `opts.reset`.
 */
function buckets(file: LogFile, path: string, opts: GraphOptions, write: (text: string) => void): void {
  const by = opts.by as Exclude<By, "entry">;
  const zone = opts.zone ?? localZone();
  const { columns: meters, returns: returning } = logColumns(file, path);
  file.seekSync(0, Deno.SeekMode.Start);
  const cols = columnsFor(meters, opts, path);
  const index = new Map(meters.map((m, i) => [m, i]));
  write(`Date\t${cols.names.join("\t")}\n`);
  const shift = UNITS[opts.unit] ?? 20;
  const factor = opts.rate === undefined ? undefined : RATES[opts.rate];
  const lines = badLines(path, opts);
  const reader = new LogReader(path, lines.bad, zone, { reuse: true });
  const engine = new UsageEngine(calendar(by, zone), { returning });
  const usage: bigint[] = new Array(meters.length).fill(0n);
  // Per meter: 1 when it is in the bucket (metered there), 2 when it was reset there too.
  const state = new Uint8Array(meters.length);
  let out = "";
  let firstStamp = "";
  // Per closed bucket, never per line: the lines' loop below only pushes samples.
  const rows = (closed: readonly BucketUsage[], lastEpoch: number) => {
    for (const b of closed) {
      if (!inRange(b.bucket.wallStart, opts)) continue;
      state.fill(0);
      // The engine lists a meter only in the buckets it was metered in (not before its first sample's).
      for (const c of b.columns) {
        const i = index.get(c.name) as number;
        usage[i] = c.usage;
        state[i] = c.resets > 0 ? 2 : 1;
      }
      const date = label(by, b.bucket.wallStart);
      out += date;
      const seconds = (Math.min(b.bucket.end, lastEpoch) - Math.max(b.bucket.start, engine.firstEpoch)) / 1000;
      for (let s = 0; s < cols.members.length; s++) {
        let total = 0n;
        let metered = 0;
        for (const i of cols.members[s] as number[]) {
          const st = state[i] as number;
          if (st === 0) continue;
          total += usage[i] as bigint;
          if (st > metered) metered = st;
        }
        if (metered === 0) {
          out += "\t";
          continue;
        }
        const value = factor === undefined
          ? fixedScaled(total, shift)
          : (seconds > 0 ? Number(total) / seconds * factor : 0).toFixed(2);
        out += `\t${value}`;
        if (metered === 2) opts.reset?.({ date, series: s, value });
      }
      out += "\n";
      if (out.length > 65536) {
        write(out);
        out = "";
      }
    }
  };
  forEachSample(file, path, reader, tornWarning(opts), (s) => {
    if (firstStamp === "") firstStamp = reader.stamp;
    const closed = engine.push(s);
    if (closed.length > 0) rows(closed, Infinity);
  });
  lines.end();
  if (firstStamp === "") return;
  opts.samples?.(firstStamp, reader.stamp);
  rows(engine.finish(), engine.lastEpoch);
  write(out);
}
