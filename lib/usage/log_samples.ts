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
import { naiveMidnight } from "./calendar.ts";
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
const LF = 10;
const HASH = 35;
/** The longest line read: far beyond any log's (a thousand 64-bit counters are 21 KiB). */

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Options of a {@linkcode LogReader}. */
export interface ReaderOptions {
  /**
   * Hand out the same sample object and counters array for every sample
   * (valid until the next line is read), so that streaming a long log
   * allocates nothing per line.
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
  /** The array `#view` shows. */
  #viewed: Uint8Array | undefined;
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
  /** The last instant read and its offset (NaN before the first). */
  readonly #hint: Hint = { epoch: NaN, offset: 0 };

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

  /**
   * The columns of the lines read so far, as {@linkcode logColumns} finds
   * them in a whole log: what a view that prints nothing before the log is
   * read matches customers against, without a pass of its own.
   */
  get columnsRead(): LogColumns {
    return { columns: this.#seen.size > 0 ? [...this.#seen] : [...ORIGINAL_METERS], header: this.#sawHeader };
  }

  /** Every header's meters, in order of first appearance; the original's two first when data came before any header. */
  readonly #seen = new Set<string>();

  /** A data line (good or not) was read: before any header, the log is the original's. */
  #noteData(): void {
    if (!this.#sawHeader) { for (const m of ORIGINAL_METERS) this.#seen.add(m); }
  }

  /**
   * A last line without LF (still being written, or torn): never data, but
   * its header's meters, or its being data before any header, count in
   * {@linkcode LogReader.columnsRead} as they do in {@linkcode logColumns}.
   */
  tornLine(buf: Uint8Array, start: number, end: number): void {
    if (end === start) return;
    if (buf[start] !== HASH) this.#noteData();
    else for (const m of parseHeader(decoder.decode(buf.subarray(start, end)), this.#path) ?? []) this.#seen.add(m);
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
    this.#noteData();
    const n = this.#columns.length;
    const counters = this.#countersArray(n);
    if (this.#fast(buf, start, end, n, counters) !== end && !this.#slow(buf, start, end, n, counters, lineNo)) {
      return undefined;
    }
    return this.#sample(counters);
  }

  /** The index of the LF ending the line {@linkcode LogReader.dataLineAt} read last. */
  get lineEnd(): number {
    return this.#lineEnd;
  }

  /**
   * The sample of the line at `buf[start…]` when it is a data line of the
   * common form (see {@linkcode LogReader.bytes}) whose LF comes before
   * `limit`; its end is found as it is read, so that the bytes of the log
   * are visited once ({@linkcode LogReader.lineEnd} says where it is).
   * Undefined for anything else, reporting nothing: then find the line's
   * end and call {@linkcode LogReader.bytes}. `buf[limit]` must not be a
   * digit, a tab or an LF.
   */
  dataLineAt(buf: Uint8Array, start: number, limit: number): Sample | undefined {
    if (buf[start] === HASH) return undefined;
    const n = this.#columns.length;
    const counters = this.#countersArray(n);
    const end = this.#fast(buf, start, limit, n, counters);
    if (end < 0 || buf[end] !== LF) return undefined;
    this.#noteData();
    this.#lineEnd = end;
    return this.#sample(counters);
  }

  #lineEnd = -1;

  /**
   * Reads line `lineNo`, which starts at `buf[start]` and ends at the next
   * LF (there must be one): calls `fn` with its sample if it is a good data
   * line, and returns the index of its LF. A common data line is parsed and
   * its end found in the same pass over its bytes
   * ({@linkcode LogReader.dataLineAt}); any other line is found first, then
   * read as {@linkcode LogReader.bytes} reads it.
   */
  take(buf: Uint8Array, start: number, lineNo: number, fn: (sample: Sample) => void): number {
    const s = this.dataLineAt(buf, start, buf.length);
    if (s !== undefined) {
      fn(s);
      return this.#lineEnd;
    }
    const end = buf.indexOf(LF, start);
    const other = this.bytes(buf, start, end, lineNo);
    if (other !== undefined) fn(other);
    return end;
  }

  /** A DataView of `buf`, made again only when `buf` is another array (reading `.buffer` per line cost more). */
  #viewOf(buf: Uint8Array): DataView {
    if (this.#viewed !== buf) {
      this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.#viewed = buf;
    }
    return this.#view;
  }

  /** The array the next sample's counters go in: the same one each time with `reuse`. */
  #countersArray(n: number): Counter[] {
    if (!this.#reuse) return new Array(n);
    if (this.#counters.length !== n) this.#counters = new Array(n).fill(0);
    return this.#counters;
  }

  /** The sample of the data line just read, with `counters`. */
  #sample(counters: Counter[]): Sample {
    const g = this.#good;
    g[0] = this.#y;
    g[1] = this.#mo;
    g[2] = this.#d;
    g[3] = this.#h;
    g[4] = this.#mi;
    g[5] = this.#s;
    const epoch = this.#epoch();
    const resets = this.#resets;
    this.#resets = undefined;
    if (this.#reuse) {
      const shared = this.#shared;
      shared.epoch = epoch;
      shared.columns = this.#columns;
      shared.counters = counters;
      shared.resets = resets;
      return shared;
    }
    const sample: Sample = { epoch, columns: this.#columns, counters };
    if (resets !== undefined) sample.resets = resets;
    return sample;
  }

  /** The sample handed out each time with `reuse`. */
  readonly #shared: Sample = { epoch: NaN, columns: [], counters: [], resets: undefined };

  #comment(line: string, lineNo: number): void {
    if (line.startsWith(HEADER_PREFIX)) {
      const meters = parseHeader(line, `${this.#path}:${lineNo}`) ?? [];
      if (meters.length === 0) {
        this.#fail(lineNo, "meters header names no meter");
        return;
      }
      this.#sawHeader = true;
      this.#columns = meters;
      for (const m of meters) this.#seen.add(m);
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
   * counters below 10^15, read from `buf[start]` and not beyond `limit`.
   * Returns the index after the last counter's digits, where the line should
   * end; -1 for anything else, left to {@linkcode #slow}, which says what
   * is wrong.
   */
  #fast(buf: Uint8Array, start: number, limit: number, n: number, out: Counter[]): number {
    if (limit - start < 21 || buf[start + 19] !== TAB) return -1;
    if (!this.#stampBytes(buf, start)) return -1;
    let pos = start + 20;
    const dv = this.#viewOf(buf);
    const last4 = limit - 4;
    const last8 = limit - 8;
    // buf[limit] is never a digit or a tab (an LF, a sentinel, or past the array's end).
    for (let j = 0; j < n; j++) {
      const from = pos;
      let v = 0;
      // Eight digits at a time, then four, then one (a counter has up to 15).
      while (pos <= last8) {
        const x = dv.getUint32(pos, true);
        const y = dv.getUint32(pos + 4, true);
        if (!fourDigits(x) || !fourDigits(y)) break;
        v = v * 100_000_000 + valueOfFour(x) * 10_000 + valueOfFour(y);
        pos += 8;
      }
      while (pos <= last4) {
        const x = dv.getUint32(pos, true);
        if (!fourDigits(x)) break;
        v = v * 10_000 + valueOfFour(x);
        pos += 4;
      }
      let c = buf[pos] as number;
      while (c >= 48 && c <= 57) {
        v = v * 10 + c - 48;
        c = buf[++pos] as number;
      }
      const digits = pos - from;
      if (digits === 0 || digits > 15) return -1;
      out[j] = v;
      if (j === n - 1) return pos;
      if (c !== TAB) return -1;
      pos++;
    }
    return -1; // no column: never, a header names one at least
  }

  /** Reads and checks the stamp at `buf[at, at+19)`; false if it is not one. */
  #stampBytes(buf: Uint8Array, at: number): boolean {
    if (buf[at + 4] !== 47 || buf[at + 7] !== 47 || buf[at + 10] !== 45 || buf[at + 13] !== 58 || buf[at + 16] !== 58) {
      return false;
    }
    const c1 = twoDigits(buf, at);
    const c2 = twoDigits(buf, at + 2);
    const mo = twoDigits(buf, at + 5);
    const d = twoDigits(buf, at + 8);
    const h = twoDigits(buf, at + 11);
    const mi = twoDigits(buf, at + 14);
    const s = twoDigits(buf, at + 17);
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
    this.#dayNaive = naiveMidnight(y, mo - 1, d);
    // Instants whose wall time can fall on this day lie within the margins:
    // the same offset at both ends means no change on this day.
    const zone = this.#zone;
    const before = zone.offsetAt(this.#dayNaive - MARGIN);
    const after = zone.offsetAt(this.#dayNaive + DAY + MARGIN);
    this.#dayOffset = before === after ? before : undefined;
  }

  #epoch(): number {
    const naive = this.#goodNaive = this.#dayNaive + this.#h * 3_600_000 + this.#mi * 60_000 + this.#s * 1000;
    const epoch = this.#dayOffset !== undefined
      ? naive - this.#dayOffset
      : wallToInstant(this.#zone, naive, Number.isNaN(this.#hint.epoch) ? undefined : this.#hint);
    // The same object each time: nothing allocated per line.
    this.#hint.epoch = epoch;
    this.#hint.offset = naive - epoch;
    return epoch;
  }

  #fail(lineNo: number, reason: string): false {
    this.#bad(`${this.#path}:${lineNo}`, reason);
    return false;
  }
}

/** Whether the four bytes of `x` (read little-endian) are all digits. */
function fourDigits(x: number): boolean {
  return (x & 0xf0f0f0f0) === 0x30303030 && ((x + 0x06060606) & 0xf0f0f0f0) === 0x30303030;
}

/** The number the four digits of `x` write (read little-endian: the first digit in the low byte). */
function valueOfFour(x: number): number {
  const d = x - 0x30303030;
  const pairs = (d * 10 + (d >>> 8)) & 0x00ff00ff;
  return (pairs & 0xffff) * 100 + (pairs >>> 16);
}

/** The number written by the two digits at `buf[at]`; -1 if they are not two digits. */
function twoDigits(buf: Uint8Array, at: number): number {
  const a = (buf[at] as number) - 48;
  const b = (buf[at + 1] as number) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
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
 * The open file `file` read 1 MiB at a time into one buffer: `buf[0,
 * filled)`, then a byte that is neither a digit, a tab nor an LF.
 * {@linkcode Chunks.refill} keeps what was not used and reads more after it.
 */
class Chunks {
  buf = new Uint8Array(1 << 20);
  filled = 0;
  readonly #file: LogFile;

  constructor(file: LogFile) {
    this.#file = file;
  }

  /**
   * Moves `buf[from, filled)` (the start of a line not whole yet, `where`
   * in messages) to the start and reads more after it; false at the end of
   * the file. A line longer than netmon could write is a DataError.
   */
  refill(from: number, where: () => string): boolean {
    let buf = this.buf;
    buf.copyWithin(0, from, this.filled);
    this.filled -= from;
    // One byte stays free for the sentinel.
    if (this.filled >= buf.length - 1) {
      if (buf.length >= MAX_LINE) {
        throw new DataError(
          `${where()}: line longer than ${MAX_LINE} bytes: not a line netmon wrote (is this netmon's file?)`,
        );
      }
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      this.buf = buf = bigger;
    }
    const n = this.#file.readSync(buf.subarray(this.filled, buf.length - 1));
    if (n !== null) this.filled += n;
    buf[this.filled] = 0;
    return n !== null;
  }
}

/**
 * The lines of an open file as bytes, one at a time: the one loop behind
 * {@linkcode lineSpans} and {@linkcode forEachLine}. `next` gives the same
 * span object each time, valid until the next call; undefined at the end.
 */
class LineCursor {
  readonly #chunks: Chunks;
  readonly #span: LineSpan;
  readonly #where: () => string;
  /** The chunk's bytes while lines are taken from it. */
  #view: Uint8Array | undefined;
  /** Where the next line starts, and where its LF is searched from (the bytes carried over hold none). */
  #start = 0;
  #from = 0;
  #ended = false;

  constructor(file: LogFile, path: string) {
    this.#chunks = new Chunks(file);
    this.#span = { buf: this.#chunks.buf, start: 0, end: 0, lineNo: 0 };
    this.#where = () => `${path}:${this.#span.lineNo + 1}`;
  }

  next(): LineSpan | undefined {
    const chunks = this.#chunks, span = this.#span;
    for (;;) {
      if (this.#view) {
        const nl = this.#view.indexOf(LF, this.#from);
        if (nl >= 0) {
          span.start = this.#start;
          span.end = nl;
          span.lineNo++;
          this.#start = this.#from = nl + 1;
          return span;
        }
        this.#view = undefined;
      }
      if (this.#ended) return undefined;
      const carried = chunks.filled - this.#start;
      if (!chunks.refill(this.#start, this.#where)) {
        this.#ended = true;
        if (chunks.filled === 0) return undefined;
        chunks.buf[chunks.filled] = LF;
        span.buf = chunks.buf;
        span.start = 0;
        span.end = chunks.filled;
        span.lineNo++;
        span.torn = true;
        return span;
      }
      this.#view = chunks.buf.subarray(0, chunks.filled);
      span.buf = chunks.buf;
      this.#start = 0;
      this.#from = carried;
    }
  }
}

/**
 * The lines of the open file `file` as bytes, reading 1 MiB at a time:
 * constant memory. The span yielded is the same object each time, valid
 * until the next. A last line without LF is marked `torn`; a line longer
 * than netmon could write (lib/host/lines.ts MAX_LINE) is a DataError
 * naming `path` and the line.
 */
export function* lineSpans(file: LogFile, path = "log"): Generator<LineSpan> {
  const lines = new LineCursor(file, path);
  for (let l = lines.next(); l !== undefined; l = lines.next()) yield l;
}

/**
 * Calls `fn` with each line of the open file `file` as bytes, as
 * {@linkcode lineSpans} yields them (the span is the same object each time,
 * valid until the next call). A callback, not a generator: a million lines
 * cost no million generator steps.
 */
export function forEachLine(file: LogFile, path: string, fn: (span: LineSpan) => void): void {
  const lines = new LineCursor(file, path);
  for (let l = lines.next(); l !== undefined; l = lines.next()) fn(l);
}

/**
 * The samples of an open log, one at a time: the one loop behind
 * {@linkcode samplesOfFile} and {@linkcode forEachSample}. A data line of the
 * common form is read in one pass over its bytes, which finds its end as
 * well; any other line is found first, then read. A last line without LF is
 * a sample still being written (or torn by a crash): never data, passed to
 * `onTorn` when `next` has reached the end.
 */
class SampleCursor {
  readonly #chunks: Chunks;
  #lineNo = 0;
  readonly #where: () => string;
  /** Where the next line starts in the chunk. */
  #pos = 0;
  #inChunk = false;
  #ended = false;

  constructor(
    file: LogFile,
    private readonly path: string,
    private readonly reader: LogReader,
    private readonly onTorn: ((where: string) => void) | undefined,
  ) {
    this.#chunks = new Chunks(file);
    this.#where = () => `${path}:${this.#lineNo + 1}`;
  }

  next(): Sample | undefined {
    const chunks = this.#chunks, reader = this.reader;
    for (;;) {
      if (this.#inChunk) {
        const { buf, filled } = chunks;
        while (this.#pos < filled) {
          const s = reader.dataLineAt(buf, this.#pos, filled);
          if (s !== undefined) {
            this.#lineNo++;
            this.#pos = reader.lineEnd + 1;
            return s;
          }
          const nl = buf.indexOf(LF, this.#pos);
          if (nl < 0 || nl >= filled) break; // not whole yet
          this.#lineNo++;
          const other = reader.bytes(buf, this.#pos, nl, this.#lineNo);
          this.#pos = nl + 1;
          if (other !== undefined) return other;
        }
        this.#inChunk = false;
      }
      if (this.#ended) return undefined;
      if (!chunks.refill(this.#pos, this.#where)) {
        this.#ended = true;
        if (chunks.filled > 0) {
          reader.tornLine(chunks.buf, 0, chunks.filled);
          this.onTorn?.(`${this.path}:${this.#lineNo + 1}`);
        }
        return undefined;
      }
      this.#pos = 0;
      this.#inChunk = true;
    }
  }
}

/**
 * The samples of the log in the open file `file` (named `path` in
 * messages), read by `reader` (default: a new one in the machine's zone).
 * With a reader made with `reuse`, a sample's counters are valid only until
 * the next is taken. A last line without LF is passed to `onTorn` (see
 * SampleCursor).
 */
export function* samplesOfFile(
  file: LogFile,
  path: string,
  bad: BadLine,
  reader: LogReader = new LogReader(path, bad),
  onTorn?: (where: string) => void,
): Generator<Sample> {
  const samples = new SampleCursor(file, path, reader, onTorn);
  for (let s = samples.next(); s !== undefined; s = samples.next()) yield s;
}

/**
 * Calls `fn` with each sample of the log in the open file `file`, as
 * {@linkcode samplesOfFile} yields them (the same lines, warnings and torn
 * line), without a generator step per line: for the callers that read a long
 * log in one loop (the usage buckets).
 */
export function forEachSample(
  file: LogFile,
  path: string,
  reader: LogReader,
  onTorn: ((where: string) => void) | undefined,
  fn: (sample: Sample) => void,
): void {
  const samples = new SampleCursor(file, path, reader, onTorn);
  for (let s = samples.next(); s !== undefined; s = samples.next()) fn(s);
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

/** What {@linkcode logColumns} found: the columns, and which come back. */
export interface LogHeaders extends LogColumns {
  /**
   * The columns a header has back after one before it left them out (meters
   * removed and added back): the usage engine holds buckets back only while
   * one of these is away (lib/usage/engine.ts `EngineOptions.returning`).
   */
  returning: Set<string>;
  /** How many times each of `returning` comes back (`EngineOptions.returning` with counts: hold only until the last). */
  returns: Map<string, number>;
}

/**
 * The columns that come back: notes a log's column lists in order (its
 * headers', or its samples'), and keeps in `returning` each column a list
 * has back after the list before it left it out (meters removed and added
 * back). What {@linkcode logColumns} and {@linkcode returningOf} find.
 */
export class Returning {
  /** Every column noted so far, in order of first appearance. */
  readonly seen = new Set<string>();
  /** How many times each column came back after leaving. */
  readonly returns = new Map<string, number>();
  #before: ReadonlySet<string> = new Set();
  #last: readonly string[] | undefined;

  /** Notes the next list (the same array as the last is skipped: a sample's columns while they do not change). */
  note(columns: readonly string[]): void {
    if (columns === this.#last) return;
    this.#last = columns;
    for (const m of columns) {
      if (this.seen.has(m) && !this.#before.has(m)) this.returns.set(m, (this.returns.get(m) ?? 0) + 1);
      this.seen.add(m);
    }
    this.#before = new Set(columns);
  }

  /** The columns back after leaving. */
  get returning(): Set<string> {
    return new Set(this.returns.keys());
  }
}

/**
 * The columns of `samples` (in time order) that one leaves out and a later
 * one has back: `EngineOptions.returning` (lib/usage/engine.ts) for samples
 * in memory, by the rule {@linkcode logColumns} applies to the headers.
 */
export function returningOf(samples: Iterable<{ readonly columns: readonly string[] }>): Set<string> {
  return noted(samples).returning;
}

/** As {@linkcode returningOf}, with how many times each comes back: the engine then holds only until the last. */
export function returnsOf(samples: Iterable<{ readonly columns: readonly string[] }>): Map<string, number> {
  return noted(samples).returns;
}

function noted(samples: Iterable<{ readonly columns: readonly string[] }>): Returning {
  const r = new Returning();
  for (const s of samples) r.note(s.columns);
  return r;
}

/** A meters header as it follows the line before: what {@linkcode logColumns} searches for. */
const AFTER_LF = encoder.encode(`\n${HEADER_PREFIX}`);
/**
 * How far the search may move on when a byte lies under the last of
 * {@linkcode AFTER_LF} (Horspool's table): its whole length for a digit,
 * tab, slash or dash, which is nearly every byte of a log.
 */
const SHIFT = new Uint8Array(256).fill(AFTER_LF.length);
for (let k = 0; k < AFTER_LF.length - 1; k++) SHIFT[AFTER_LF[k] as number] = AFTER_LF.length - 1 - k;

/**
 * Passes each meters header in `buf[0, filled)`, which starts where one may
 * start (at an LF), to `take` (its text without the LF); returns where one
 * may start that is not whole yet, to be read again with more bytes. At the
 * end of the file (`last`), a header runs to it.
 */
function findHeaders(buf: Uint8Array, filled: number, last: boolean, take: (header: string) => void): number {
  const m = AFTER_LF.length;
  const final = AFTER_LF[m - 1] as number;
  let i = m - 1; // under the pattern's last byte
  while (i < filled) {
    const c = buf[i] as number;
    if (c === final && startsWith(buf, i - m + 1, AFTER_LF)) {
      let nl = buf.subarray(0, filled).indexOf(LF, i + 1);
      if (nl < 0) {
        if (!last) return i - m + 1;
        nl = filled;
      }
      take(decoder.decode(buf.subarray(i - m + 2, nl)));
      i = nl + m - 1;
    } else i += SHIFT[c] as number;
  }
  return Math.min(i - m + 1, filled);
}

function startsWith(buf: Uint8Array, at: number, prefix: Uint8Array): boolean {
  for (let k = 0; k < prefix.length; k++) if (buf[at + k] !== prefix[k]) return false;
  return true;
}

/**
 * The log's columns: every `# netmon meters:` header's, in order of first
 * appearance (the original's two when a data line comes before any header,
 * or the log is empty): what customers and groups are matched against
 * before the log is read, and those that come back after leaving it. A
 * fast pass: line by line up to the first header or data line, then a search
 * for headers alone, which skips most of the log's bytes unseen.
 */
export function logColumns(file: LogFile, path = "log"): LogHeaders {
  const headers = new Returning();
  let header = false;
  let data = false;
  const take = (line: string) => {
    // Found by a search that counts no lines: a header naming a column twice is refused naming the log alone.
    const meters = parseHeader(line, path);
    if (meters === undefined || meters.length === 0) return;
    header = true;
    headers.note(meters);
  };
  let offset = 0; // of the line after the one read
  for (const { buf, start, end } of lineSpans(file, path)) {
    offset += end - start + 1;
    if (end === start) continue;
    if (buf[start] === HASH) take(decoder.decode(buf.subarray(start, end)));
    else {
      data = true;
      headers.note(ORIGINAL_METERS);
    }
    if (header || data) break;
  }
  if (header || data) {
    // From the LF before the next line on.
    file.seekSync(offset - 1, Deno.SeekMode.Start);
    const chunks = new Chunks(file);
    const where = () => `${path}: a meters header`;
    let keep = 0;
    while (chunks.refill(keep, where)) keep = findHeaders(chunks.buf, chunks.filled, false, take);
    findHeaders(chunks.buf, chunks.filled, true, take);
  }
  const { seen, returning, returns } = headers;
  return { columns: seen.size > 0 ? [...seen] : [...ORIGINAL_METERS], header, returning, returns };
}
