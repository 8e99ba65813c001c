/**
 * The log's lines as samples for the usage engine: headers switch the
 * columns, reset lines mark the next sample's resets, data lines become
 * instants and counters. Malformed lines are reported, never guessed at. The
 * one log-line parser of every usage view (`netmon summary`, `graph.ts`, the
 * page).
 *
 * Data lines are parsed from the file's bytes, never decoded into strings:
 * on a log of 200 columns that is three times faster than splitting text.
 * Anything the fast path does not take (a counter of 16 digits or more, a
 * space, a CR) goes through a text path that accepts what the log format
 * allows and says what is wrong with the rest.
 *
 * The stamps are wall-clock times in the zone the log was written in (the
 * machine's), read forward through daylight-saving changes: in the hour the
 * clock repeats, a stamp earlier than the one before is the second pass.
 *
 * @module
 */

import {
  HEADER_PREFIX,
  ORIGINAL_METERS,
  parseCounter,
  parseHeader,
  parseResetLine,
  RESET_PREFIX,
} from "../state/log_format.ts";
import { isTimestamp } from "./local_time.ts";
import type { Counter, Sample } from "./engine.ts";
import { type Hint, localZone, wallToInstant, type Zone } from "./zone.ts";
import { DataError } from "../host/errors.ts";
import { MAX_LINE } from "../host/lines.ts";

/** An open log, as the readers here need it: a Deno file, or netmon's safe open of one. */
export interface LogFile {
  /** Reads into `p`; null at the end. */
  readSync(p: Uint8Array): number | null;
  /** Moves to `offset` from the start. */
  seekSync(offset: number, whence?: Deno.SeekMode): number;
}

const STAMP_SHAPE = /^\d{4}\/\d\d\/\d\d-\d\d:\d\d:\d\d$/;
const NOT_PRINTABLE = /[^\t\x20-\x7e]/;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const DAY = 86_400_000;
/** Offsets lie within ±14 h (Kiribati, Baker Island): margins for "no change on this day". */
const MARGIN = 15 * 3_600_000;
const TAB = 9;
const HASH = 35;
/** The longest line read: far beyond any log's (a thousand 64-bit counters are 21 KiB). */

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Options of a {@linkcode LogReader}. */
export interface ReaderOptions {
  /**
   * Hand out the same counters array for every sample (valid until the next
   * line is read), so that streaming a long log allocates nothing per line.
   */
  reuse?: boolean;
}

/** What is wrong with a line: called with `file:line` and the reason. */
export type BadLine = (where: string, reason: string) => void;

/**
 * Reads log lines one at a time. {@linkcode LogReader.bytes} (or
 * {@linkcode LogReader.line}) returns the sample of a good data line and
 * undefined for anything else; a malformed line goes to `bad` with its
 * `file:line`.
 *
 * @example
 * ```ts
 * const reader = new LogReader("netmon.log", (where, why) => console.error(`${where}: ${why}`));
 * reader.line("2010/02/25-22:00:00\t0\t0", 1); // { epoch: …, columns: ["proxy", "non-network"], counters: [0, 0] }
 * ```
 */
export class LogReader {
  readonly #path: string;
  readonly #bad: BadLine;
  readonly #zone: Zone;
  readonly #reuse: boolean;
  #columns: readonly string[] = ORIGINAL_METERS;
  #sawHeader = false;
  #resets: string[] | undefined;
  #counters: Counter[] = [];
  #view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  // The last good stamp's fields.
  #y = 0;
  #mo = 0;
  #d = 0;
  #h = 0;
  #mi = 0;
  #s = 0;
  /** The fields of the last good data line's stamp, and its naive time. */
  readonly #good = new Int32Array(6);
  #goodNaive = NaN;
  // Stamp to instant: the day last seen (y*10000+m*100+d), its naive start, and its offset when constant.
  #day = -1;
  #dayNaive = 0;
  #dayOffset: number | undefined;
  #hint: Hint | undefined;

  /** Reads the log `path` (for messages) written in `zone` (default the machine's). */
  constructor(path: string, bad: BadLine, zone: Zone = localZone(), options: ReaderOptions = {}) {
    this.#path = path;
    this.#bad = bad;
    this.#zone = zone;
    this.#reuse = options.reuse === true;
  }

  /** The columns of the next data line. */
  get columns(): readonly string[] {
    return this.#columns;
  }

  /** True once a `# netmon meters:` header was read (false: the original's two-column log so far). */
  get sawHeader(): boolean {
    return this.#sawHeader;
  }

  /** The last good data line's stamp, as written (`YYYY/MM/DD-HH:MM:SS`). */
  get stamp(): string {
    const p = (n: number) => (n < 10 ? "0" : "") + n;
    return `${String(this.#y).padStart(4, "0")}/${p(this.#mo)}/${p(this.#d)}-${p(this.#h)}:${p(this.#mi)}:${
      p(this.#s)
    }`;
  }

  /** The last good data line's wall time as a naive number (its fields read as UTC). */
  get naive(): number {
    return this.#dayNaive + this.#h * 3_600_000 + this.#mi * 60_000 + this.#s * 1000;
  }

  /** The sample of line `lineNo` given as text (without its LF). */
  line(line: string, lineNo: number): Sample | undefined {
    const bytes = encoder.encode(line);
    return this.bytes(bytes, 0, bytes.length, lineNo);
  }

  /**
   * The sample of line `lineNo`, the bytes `buf[start, end)` without the LF,
   * or undefined for a header, reset, comment, blank or bad line.
   */
  bytes(buf: Uint8Array, start: number, end: number, lineNo: number): Sample | undefined {
    if (end === start) return undefined;
    if (buf[start] === HASH) {
      this.#comment(decoder.decode(buf.subarray(start, end)), lineNo);
      return undefined;
    }
    const n = this.#columns.length;
    let counters = this.#counters;
    if (!this.#reuse) counters = new Array(n);
    else if (counters.length !== n) counters = this.#counters = new Array(n).fill(0);
    if (!this.#fast(buf, start, end, n, counters) && !this.#slow(buf, start, end, n, counters, lineNo)) {
      return undefined;
    }
    const g = this.#good;
    g[0] = this.#y;
    g[1] = this.#mo;
    g[2] = this.#d;
    g[3] = this.#h;
    g[4] = this.#mi;
    g[5] = this.#s;
    const sample: Sample = { epoch: this.#epoch(), columns: this.#columns, counters };
    if (this.#resets !== undefined) {
      sample.resets = this.#resets;
      this.#resets = undefined;
    }
    return sample;
  }

  #comment(line: string, lineNo: number): void {
    if (line.startsWith(HEADER_PREFIX)) {
      const meters = parseHeader(line) ?? [];
      if (meters.length === 0) {
        this.#fail(lineNo, "meters header names no meter");
        return;
      }
      this.#sawHeader = true;
      this.#columns = meters;
    } else if (line.startsWith(RESET_PREFIX)) {
      try {
        (this.#resets ??= []).push((parseResetLine(line) as { column: string }).column);
      } catch (e) {
        this.#fail(lineNo, (e as Error).message);
      }
    }
  }

  /**
   * The common case in one pass over the bytes: `STAMP<TAB>digits…` with
   * counters below 10^15. False for anything else, left to {@linkcode #slow},
   * which says what is wrong.
   */
  #fast(buf: Uint8Array, start: number, end: number, n: number, out: Counter[]): boolean {
    if (end - start < 21 || buf[start + 19] !== TAB) return false;
    if (!this.#stampBytes(buf, start)) return false;
    let pos = start + 20;
    let dv = this.#view;
    if (dv.buffer !== buf.buffer || dv.byteOffset !== buf.byteOffset) {
      dv = this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const last4 = end - 4;
    // buf[end] is never a digit or a tab (an LF, a sentinel, or past the array's end).
    for (let j = 0; j < n; j++) {
      const from = pos;
      let v = 0;
      // Four digits at a time (little-endian: the first digit in the low byte).
      while (pos <= last4) {
        const x = dv.getUint32(pos, true);
        if ((x & 0xf0f0f0f0) !== 0x30303030 || ((x + 0x06060606) & 0xf0f0f0f0) !== 0x30303030) break;
        const d = x - 0x30303030;
        const pairs = (d * 10 + (d >>> 8)) & 0x00ff00ff;
        v = v * 10000 + (pairs & 0xffff) * 100 + (pairs >>> 16);
        pos += 4;
      }
      let c = buf[pos] as number;
      while (c >= 48 && c <= 57) {
        v = v * 10 + c - 48;
        c = buf[++pos] as number;
      }
      const digits = pos - from;
      if (digits === 0 || digits > 15) return false;
      if (j === n - 1 ? pos !== end : c !== TAB) return false;
      out[j] = v;
      pos++;
    }
    return true;
  }

  /** Reads and checks the stamp at `buf[at, at+19)`; false if it is not one. */
  #stampBytes(buf: Uint8Array, at: number): boolean {
    const d2 = (i: number) => {
      const a = (buf[at + i] as number) - 48;
      const b = (buf[at + i + 1] as number) - 48;
      return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
    };
    if (buf[at + 4] !== 47 || buf[at + 7] !== 47 || buf[at + 10] !== 45 || buf[at + 13] !== 58 || buf[at + 16] !== 58) {
      return false;
    }
    const c1 = d2(0);
    const c2 = d2(2);
    const mo = d2(5);
    const d = d2(8);
    const h = d2(11);
    const mi = d2(14);
    const s = d2(17);
    if ((c1 | c2 | mo | d | h | mi | s) < 0 || h > 23 || mi > 59 || s > 60) return false;
    const y = c1 * 100 + c2;
    const day = y * 10000 + mo * 100 + d;
    if (day !== this.#day) {
      // The calendar check once per day.
      if (!isTimestamp(decoder.decode(buf.subarray(at, at + 19)))) return false;
      this.#newDay(day, y, mo, d);
    }
    this.#y = y;
    this.#mo = mo;
    this.#d = d;
    this.#h = h;
    this.#mi = mi;
    this.#s = s;
    return true;
  }

  #slow(buf: Uint8Array, start: number, end: number, n: number, out: Counter[], lineNo: number): boolean {
    const line = decoder.decode(buf.subarray(start, end));
    if (NOT_PRINTABLE.test(line)) {
      return this.#fail(
        lineNo,
        line.includes("\r") ? "line ends in CR (DOS line ending)" : "line has bytes that are not printable ASCII",
      );
    }
    const f = line.trim().split(/[\t ]+/);
    if (f.length !== n + 1) return this.#fail(lineNo, `expected ${n + 1} fields but got ${f.length}`);
    const stamp = f[0] as string;
    if (!STAMP_SHAPE.test(stamp) || !this.#stampBytes(encoder.encode(stamp), 0)) {
      return this.#fail(lineNo, `${JSON.stringify(stamp)} is not a timestamp YYYY/MM/DD-HH:MM:SS`);
    }
    for (let j = 0; j < n; j++) {
      const v = parseCounter(f[j + 1] as string);
      if (typeof v === "string") return this.#fail(lineNo, v);
      out[j] = v <= SAFE ? Number(v) : v;
    }
    return true;
  }

  #newDay(day: number, y: number, mo: number, d: number): void {
    this.#day = day;
    this.#dayNaive = Date.UTC(y, mo - 1, d);
    if (y < 100) this.#dayNaive = new Date(this.#dayNaive).setUTCFullYear(y);
    // Instants whose wall time can fall on this day lie within the margins:
    // the same offset at both ends means no change on this day.
    const zone = this.#zone;
    const before = zone.offsetAt(this.#dayNaive - MARGIN);
    const after = zone.offsetAt(this.#dayNaive + DAY + MARGIN);
    this.#dayOffset = before === after ? before : undefined;
  }

  #epoch(): number {
    const naive = this.#goodNaive = this.#dayNaive + this.#h * 3_600_000 + this.#mi * 60_000 + this.#s * 1000;
    if (this.#dayOffset !== undefined) {
      const epoch = naive - this.#dayOffset;
      this.#hint = { epoch, offset: this.#dayOffset };
      return epoch;
    }
    const epoch = wallToInstant(this.#zone, naive, this.#hint);
    this.#hint = { epoch, offset: naive - epoch };
    return epoch;
  }

  #fail(lineNo: number, reason: string): false {
    this.#bad(`${this.#path}:${lineNo}`, reason);
    return false;
  }
}

/** One line of a file as bytes: `buf[start, end)`, without the LF; `buf[end]` is never a digit. */
export interface LineSpan {
  /** The buffer holding it (reused: valid until the next line). */
  buf: Uint8Array;
  /** Its first byte. */
  start: number;
  /** The byte after its last (its LF, or a sentinel). */
  end: number;
  /** Its 1-based number. */
  lineNo: number;
  /** It is the file's last and has no LF: a sample still being written, or torn by a crash. */
  torn?: boolean;
}

/**
 * The lines of the open file `file` as bytes, reading 1 MiB at a time:
 * constant memory. The span yielded is the same object each time, valid
 * until the next. A last line without LF is marked `torn`; a line longer
 * than netmon could write (lib/host/lines.ts MAX_LINE) is a DataError
 * naming `path` and the line.
 */
export function* lineSpans(file: LogFile, path = "log"): Generator<LineSpan> {
  let buf = new Uint8Array(1 << 20);
  let filled = 0;
  const span: LineSpan = { buf, start: 0, end: 0, lineNo: 0 };
  for (;;) {
    // One byte stays free for the sentinel after a last line without LF.
    if (filled >= buf.length - 1) {
      if (buf.length >= MAX_LINE) {
        throw new DataError(
          `${path}:${
            span.lineNo + 1
          }: line longer than ${MAX_LINE} bytes: not a line netmon wrote (is this netmon's file?)`,
        );
      }
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      span.buf = buf = bigger;
    }
    const n = file.readSync(buf.subarray(filled, buf.length - 1));
    if (n === null) break;
    const end = filled + n;
    const view = buf.subarray(0, end);
    let start = 0;
    // The bytes carried over hold no LF: search the new ones.
    for (let nl = view.indexOf(10, filled); nl >= 0; nl = view.indexOf(10, start)) {
      span.start = start;
      span.end = nl;
      span.lineNo++;
      yield span;
      start = nl + 1;
    }
    buf.copyWithin(0, start, end);
    filled = end - start;
  }
  if (filled > 0) {
    buf[filled] = 10;
    span.start = 0;
    span.end = filled;
    span.lineNo++;
    span.torn = true;
    yield span;
  }
}

/**
 * The samples of the log in the open file `file` (named `path` in
 * messages), read by `reader` (default: a new one in the machine's zone).
 * With a reader made with `reuse`, a sample's counters are valid only until
 * the next is taken.
 */
export function* samplesOfFile(
  file: LogFile,
  path: string,
  bad: BadLine,
  reader: LogReader = new LogReader(path, bad),
  onTorn?: (where: string) => void,
): Generator<Sample> {
  for (const { buf, start, end, lineNo, torn } of lineSpans(file, path)) {
    // A last line without its LF is a sample still being written (or torn by a crash): never data.
    if (torn) {
      onTorn?.(`${path}:${lineNo}`);
      continue;
    }
    const s = reader.bytes(buf, start, end, lineNo);
    if (s !== undefined) yield s;
  }
}

/**
 * The lines of the open file `file` as text without their LF, with their
 * 1-based numbers, but a last line with no LF (still being written): for callers that want strings. The
 * usage views read bytes through {@linkcode samplesOfFile}.
 */
export function* linesOfFile(file: LogFile, path = "log"): Generator<[string, number]> {
  for (const { buf, start, end, lineNo, torn } of lineSpans(file, path)) {
    if (!torn) yield [decoder.decode(buf.subarray(start, end)), lineNo]; // a last line without LF is not whole
  }
}

/**
 * The samples of `lines` (each with its line number), read by a
 * {@linkcode LogReader}: for tests and small inputs.
 */
export function* samplesOf(
  lines: Iterable<[string, number]>,
  path: string,
  bad: BadLine,
  zone?: Zone,
): Generator<Sample> {
  const reader = new LogReader(path, bad, zone);
  for (const [line, lineNo] of lines) {
    const s = reader.line(line, lineNo);
    if (s !== undefined) yield s;
  }
}

/** What {@linkcode logColumns} found. */
export interface LogColumns {
  /** Every column, in order of first appearance. */
  columns: string[];
  /** Whether the log has a `# netmon meters:` header (false: the original's two-column log). */
  header: boolean;
}

/**
 * The log's columns: every `# netmon meters:` header's, in order of first
 * appearance (the original's two when a data line comes before any header,
 * or the log is empty). A fast pass over the bytes, looking only at lines
 * that start with `#` and the first data line: what customers and groups
 * are matched against before the log is read.
 */
export function logColumns(file: LogFile, path = "log"): LogColumns {
  const seen = new Set<string>();
  let header = false;
  let data = false;
  for (const { buf, start, end } of lineSpans(file, path)) {
    if (end === start) continue;
    if (buf[start] === HASH) {
      const meters = parseHeader(decoder.decode(buf.subarray(start, end)));
      if (meters === undefined || meters.length === 0) continue;
      header = true;
      for (const m of meters) seen.add(m);
    } else if (!header && !data) {
      data = true;
      for (const m of ORIGINAL_METERS) seen.add(m);
    }
  }
  return { columns: seen.size > 0 ? [...seen] : [...ORIGINAL_METERS], header };
}
