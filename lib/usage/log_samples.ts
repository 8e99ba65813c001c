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

/** The number of the two ASCII digits at `buf[at]`, or -1 if they are not two digits. */
function twoDigits(buf: Uint8Array, at: number): number {
  const a = (buf[at] as number) - 48;
  const b = (buf[at + 1] as number) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

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
  /** The last instant and its offset, to read the next stamp by; `epoch` is NaN before the first. */
  readonly #hint: Hint = { epoch: NaN, offset: 0 };
  /** The sample handed out every time with `reuse`. */
  readonly #sample: Sample = { epoch: 0, columns: [], counters: [], resets: undefined };

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
    const counters = this.#countersFor(n);
    if (this.#fast(buf, start, n, counters) !== end && !this.#slow(buf, start, end, n, counters, lineNo)) {
      return undefined;
    }
    return this.#sampleOf(counters);
  }

  /**
   * Reads line `lineNo`, which starts at `buf[start]` and ends at the next
   * LF (there must be one): calls `fn` with its sample if it is a good data
   * line, and returns the index of its LF. A common data line is parsed and
   * its end found in the same pass over its bytes; any other line is found
   * first, then read as {@linkcode LogReader.bytes} reads it.
   */
  take(buf: Uint8Array, start: number, lineNo: number, fn: (sample: Sample) => void): number {
    if (buf[start] !== HASH) {
      const n = this.#columns.length;
      const counters = this.#countersFor(n);
      const stop = this.#fast(buf, start, n, counters);
      if (stop >= 0 && buf[stop] === 10) {
        fn(this.#sampleOf(counters));
        return stop;
      }
    }
    const end = lineEnd(buf, this.#viewOf(buf), start);
    const sample = this.bytes(buf, start, end, lineNo);
    if (sample !== undefined) fn(sample);
    return end;
  }

  /** The array for the next sample's `n` counters: a new one, or with `reuse` always the same. */
  #countersFor(n: number): Counter[] {
    if (!this.#reuse) return new Array(n);
    if (this.#counters.length !== n) this.#counters = new Array(n).fill(0);
    return this.#counters;
  }

  /** The sample of the line just read, whose counters are in `counters`. */
  #sampleOf(counters: Counter[]): Sample {
    const g = this.#good;
    g[0] = this.#y;
    g[1] = this.#mo;
    g[2] = this.#d;
    g[3] = this.#h;
    g[4] = this.#mi;
    g[5] = this.#s;
    let sample: Sample;
    if (this.#reuse) {
      sample = this.#sample;
      sample.epoch = this.#epoch();
      sample.columns = this.#columns;
      sample.counters = counters;
      sample.resets = this.#resets;
    } else {
      sample = { epoch: this.#epoch(), columns: this.#columns, counters };
      if (this.#resets !== undefined) sample.resets = this.#resets;
    }
    this.#resets = undefined;
    return sample;
  }

  /** A DataView of `buf`, made again only when `buf` is another array (reading `.buffer` per line cost more). */
  #viewOf(buf: Uint8Array): DataView {
    if (this.#viewed !== buf) {
      this.#view = viewOf(buf);
      this.#viewed = buf;
    }
    return this.#view;
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
   * counters below 10^15, separated by single tabs. Returns the index just
   * after the last counter, where the caller checks the line ends; -1 for
   * anything else, left to {@linkcode #slow}, which says what is wrong. The
   * line's end need not be known: no byte of a line that gets this far lies
   * beyond its LF (which is neither a digit nor a tab).
   */
  #fast(buf: Uint8Array, start: number, n: number, out: Counter[]): number {
    if (buf[start + 19] !== TAB || !this.#stampBytes(buf, start)) return -1;
    let pos = start + 20;
    const dv = this.#viewOf(buf);
    const last4 = buf.length - 4;
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
      if (digits === 0 || digits > 15 || (j < n - 1 && c !== TAB)) return -1;
      out[j] = v;
      pos++;
    }
    return pos - 1;
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
    const hint = this.#hint;
    const epoch = this.#dayOffset !== undefined
      ? naive - this.#dayOffset
      : wallToInstant(this.#zone, naive, Number.isNaN(hint.epoch) ? undefined : hint);
    // Updated in place: a new object per line was most of what a long log allocated.
    hint.epoch = epoch;
    hint.offset = naive - epoch;
    return epoch;
  }

  #fail(lineNo: number, reason: string): false {
    this.#bad(`${this.#path}:${lineNo}`, reason);
    return false;
  }
}

/** Bytes of whole lines, `buf[0, end)`, each ending in LF; a last line without one has an LF put after it. */
interface LineBlock {
  buf: Uint8Array;
  end: number;
  /** The block is the file's last line, which had no LF. */
  torn: boolean;
}

/**
 * The open file `file` from where it is, in blocks of whole lines, reading
 * 1 MiB at a time: constant memory. A block is valid until the next. A line
 * longer than netmon could write (lib/host/lines.ts MAX_LINE) is a DataError
 * naming `path` and the line.
 */
function* lineBlocks(file: LogFile, path: string): Generator<LineBlock> {
  const origin = file.seekSync(0, Deno.SeekMode.Current);
  let buf = new Uint8Array(1 << 20);
  let filled = 0;
  /** Bytes of the file before `buf[0]`. */
  let passed = 0;
  const block: LineBlock = { buf, end: 0, torn: false };
  for (;;) {
    // One byte stays free for the LF put after a last line without one.
    if (filled >= buf.length - 1) {
      if (buf.length >= MAX_LINE) {
        throw new DataError(
          `${path}:${
            lineAt(file, origin, passed)
          }: line longer than ${MAX_LINE} bytes: not a line netmon wrote (is this netmon's file?)`,
        );
      }
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      block.buf = buf = bigger;
    }
    const n = file.readSync(buf.subarray(filled, buf.length - 1));
    if (n === null) break;
    const end = filled + n;
    // The bytes carried over hold no LF: the block ends at the last LF read, if any.
    const last = buf.subarray(filled, end).lastIndexOf(10);
    const start = last < 0 ? 0 : filled + last + 1;
    if (start > 0) {
      block.end = start;
      yield block;
    }
    buf.copyWithin(0, start, end);
    filled = end - start;
    passed += start;
  }
  if (filled > 0) {
    buf[filled] = 10;
    block.end = filled + 1;
    block.torn = true;
    yield block;
  }
}

/** The 1-based number of the line at `origin + offset` of the open file, counted from `origin`: for messages only. */
function lineAt(file: LogFile, origin: number, offset: number): number {
  const buf = new Uint8Array(1 << 16);
  let line = 1;
  file.seekSync(origin, Deno.SeekMode.Start);
  for (let done = 0; done < offset;) {
    const n = file.readSync(buf.subarray(0, Math.min(buf.length, offset - done)));
    if (n === null) break;
    for (let i = 0; i < n; i++) if (buf[i] === 10) line++;
    done += n;
  }
  return line;
}

/**
 * The index of the first LF at or after `from` in `buf` (seen through
 * `view`); there must be one. Four bytes at a time (a word holds an LF when
 * `x ^ 0x0a0a0a0a` has a zero byte), then byte by byte: not
 * `buf.indexOf(10, from)`, a call into the runtime per line, which with the
 * byte loop alone cost a tenth of a second per million lines.
 */
function lineEnd(buf: Uint8Array, view: DataView, from: number): number {
  for (const last4 = buf.length - 4; from <= last4; from += 4) {
    const x = view.getUint32(from, true) ^ 0x0a0a0a0a;
    if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
  }
  while (buf[from] !== 10) from++;
  return from;
}

/** A DataView of all of `buf`. */
const viewOf = (buf: Uint8Array): DataView => new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

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
 * Calls `fn` with each line of the open file `file` as bytes, read in blocks
 * of whole lines (constant memory); the span is the same object each time,
 * valid until the next call. A callback, not a generator: a million lines
 * cost no million generator steps.
 */
export function forEachLine(file: LogFile, path: string, fn: (span: LineSpan) => void): void {
  const span: LineSpan = { buf: new Uint8Array(0), start: 0, end: 0, lineNo: 0 };
  for (const { buf, end, torn } of lineBlocks(file, path)) {
    span.buf = buf;
    const view = viewOf(buf);
    if (torn) span.torn = true;
    for (let start = 0; start < end;) {
      const nl = lineEnd(buf, view, start);
      span.start = start;
      span.end = nl;
      span.lineNo++;
      fn(span);
      start = nl + 1;
    }
  }
}

/** The lines of the open file `file` as bytes, as {@linkcode forEachLine} gives them, for a `for` loop. */
export function* lineSpans(file: LogFile, path = "log"): Generator<LineSpan> {
  const span: LineSpan = { buf: new Uint8Array(0), start: 0, end: 0, lineNo: 0 };
  for (const { buf, end, torn } of lineBlocks(file, path)) {
    span.buf = buf;
    const view = viewOf(buf);
    if (torn) span.torn = true;
    for (let start = 0; start < end;) {
      const nl = lineEnd(buf, view, start);
      span.start = start;
      span.end = nl;
      span.lineNo++;
      yield span;
      start = nl + 1;
    }
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
 * Calls `fn` with each sample of the log in the open file `file`, as
 * {@linkcode samplesOfFile} yields them, without a generator step per line:
 * the reader takes each block's lines itself (see {@linkcode LogReader.take}).
 */
export function forEachSample(
  file: LogFile,
  path: string,
  reader: LogReader,
  onTorn: ((where: string) => void) | undefined,
  fn: (sample: Sample) => void,
): void {
  let lineNo = 0;
  for (const { buf, end, torn } of lineBlocks(file, path)) {
    // A last line without its LF is a sample still being written (or torn by a crash): never data.
    if (torn) onTorn?.(`${path}:${lineNo + 1}`);
    else for (let start = 0; start < end;) start = reader.take(buf, start, ++lineNo, fn) + 1;
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
 * or the log is empty). What customers and groups are matched against
 * before the log is read: lines are walked one by one only up to the first
 * data line; after it, only lines starting with `#` matter, found by a
 * search for `#` through each block (a data line holds none where a line
 * starts), not line by line.
 */
export function logColumns(file: LogFile, path = "log"): LogColumns {
  const seen = new Set<string>();
  let header = false;
  let data = false;
  const comment = (buf: Uint8Array, start: number, end: number) => {
    const meters = parseHeader(decoder.decode(buf.subarray(start, end)));
    if (meters === undefined || meters.length === 0) return;
    header = true;
    for (const m of meters) seen.add(m);
  };
  for (const { buf, end } of lineBlocks(file, path)) {
    const view = viewOf(buf);
    let at = 0;
    // Up to the first data line: line by line.
    while (!data && at < end) {
      const nl = lineEnd(buf, view, at);
      if (buf[at] === HASH) comment(buf, at, nl);
      else if (nl > at) {
        data = true;
        if (!header) { for (const m of ORIGINAL_METERS) seen.add(m); }
      }
      at = nl + 1;
    }
    // After it: only the lines that start with `#`.
    const lines = buf.subarray(0, end);
    for (let h = lines.indexOf(HASH, at); h >= 0; h = lines.indexOf(HASH, h + 1)) {
      if (h > 0 && buf[h - 1] !== 10) continue; // not at a line's start
      const nl = lineEnd(buf, view, h);
      comment(buf, h, nl);
      h = nl;
    }
  }
  return { columns: seen.size > 0 ? [...seen] : [...ORIGINAL_METERS], header };
}
