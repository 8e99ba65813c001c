/**
 * The log's lines as samples for the usage engine: headers switch the
 * columns, reset lines mark the next sample's resets, data lines become
 * instants and counters. Malformed lines are reported, never guessed at.
 *
 * The stamps are wall-clock times in the zone the log was written in (the
 * machine's), read forward through daylight-saving changes as
 * lib/local_time.ts reads them for `graph.ts`.
 *
 * @module
 */

import { HEADER_PREFIX, ORIGINAL_METERS, parseCounter, parseHeader } from "../state/log_format.ts";
import { isTimestamp } from "./local_time.ts";
import type { Counter, Sample } from "./engine.ts";
import { type Hint, localZone, wallToInstant, type Zone } from "./zone.ts";

/** How a reset line starts: `# netmon reset:<TAB>COLUMN<TAB>REASON` (issue 17). */
export const RESET_PREFIX = "# netmon reset:";

/** A reset line's column and reason, or undefined if `line` is not one. */
export function parseResetLine(line: string): { column: string; reason: string } | undefined {
  if (!line.startsWith(RESET_PREFIX)) return undefined;
  const [column = "", ...reason] = line.slice(RESET_PREFIX.length).replace(/^\t/, "").split("\t");
  return { column: column.trim(), reason: reason.join("\t").trim() };
}

const STAMP_SHAPE = /^\d{4}\/\d\d\/\d\d-\d\d:\d\d:\d\d$/;
const NOT_PRINTABLE = /[^\t\x20-\x7e]/;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const DAY = 86_400_000;
/** Offsets lie within ±14 h (Kiribati, Baker Island): margins for "no change on this day". */
const MARGIN = 15 * 3_600_000;

/**
 * Reads log lines one at a time. {@linkcode LogReader.line} returns the
 * sample of a good data line and undefined for anything else; a malformed
 * line goes to `bad` with its `file:line`.
 *
 * @example
 * ```ts
 * const reader = new LogReader("netmon.log", (where, why) => console.error(`${where}: ${why}`));
 * reader.line("2010/02/25-22:00:00\t0\t0", 1); // { epoch: …, columns: ["proxy", "non-network"], counters: [0, 0] }
 * ```
 */
export class LogReader {
  readonly #path: string;
  readonly #bad: (where: string, reason: string) => void;
  readonly #zone: Zone;
  #columns: readonly string[] = ORIGINAL_METERS;
  #resets: string[] | undefined;
  // Stamp to instant: the day last seen, its naive start, and its offset when constant.
  #day = "";
  #dayNaive = 0;
  #dayOffset: number | undefined;
  #hint: Hint | undefined;

  /** Reads the log `path` (for messages) written in `zone` (default the machine's). */
  constructor(path: string, bad: (where: string, reason: string) => void, zone: Zone = localZone()) {
    this.#path = path;
    this.#bad = bad;
    this.#zone = zone;
  }

  /** The columns of the next data line. */
  get columns(): readonly string[] {
    return this.#columns;
  }

  /** The sample of line `lineNo`, or undefined for a header, reset, comment, blank or bad line. */
  line(line: string, lineNo: number): Sample | undefined {
    const first = line.charCodeAt(0);
    if (first === 35 /* # */) {
      if (line.startsWith(HEADER_PREFIX)) {
        const meters = parseHeader(line) ?? [];
        if (meters.length === 0) return this.#fail(lineNo, "meters header names no meter");
        this.#columns = meters;
      } else if (line.startsWith(RESET_PREFIX)) {
        const reset = parseResetLine(line);
        if (reset === undefined || reset.column === "") return this.#fail(lineNo, "reset line names no column");
        (this.#resets ??= []).push(reset.column);
      }
      return undefined;
    }
    if (line === "") return undefined;
    const n = this.#columns.length;
    const counters: Counter[] = new Array(n);
    const stamp = this.#fast(line, n, counters) ?? this.#slow(line, n, counters, lineNo);
    if (stamp === undefined) return undefined;
    const sample: Sample = { epoch: this.#epoch(stamp), columns: this.#columns, counters };
    if (this.#resets !== undefined) {
      sample.resets = this.#resets;
      this.#resets = undefined;
    }
    return sample;
  }

  /**
   * The common case in one pass over the characters: `STAMP<TAB>digits…`
   * with counters below 10^15. Anything else is left to {@linkcode #slow},
   * which says what is wrong.
   */
  #fast(line: string, n: number, out: Counter[]): string | undefined {
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
      out[j] = v;
      pos++;
    }
    const stamp = line.slice(0, 19);
    return this.#stampOk(stamp) ? stamp : undefined;
  }

  #slow(line: string, n: number, out: Counter[], lineNo: number): string | undefined {
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
      out[j] = v <= SAFE ? Number(v) : v;
    }
    return stamp;
  }

  #stampOk(stamp: string): boolean {
    if (!STAMP_SHAPE.test(stamp)) return false;
    // Full calendar check once per day; the time of day on every line.
    if (this.#day !== "" && stamp.startsWith(this.#day)) {
      const h = (stamp.charCodeAt(11) - 48) * 10 + stamp.charCodeAt(12) - 48;
      const m = (stamp.charCodeAt(14) - 48) * 10 + stamp.charCodeAt(15) - 48;
      const s = (stamp.charCodeAt(17) - 48) * 10 + stamp.charCodeAt(18) - 48;
      return h < 24 && m < 60 && s <= 60;
    }
    if (!isTimestamp(stamp)) return false;
    this.#newDay(stamp.slice(0, 10));
    return true;
  }

  #newDay(day: string): void {
    this.#day = day;
    this.#dayNaive = Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10));
    // Instants whose wall time can fall on this day lie within the margins:
    // the same offset at both ends means no change on this day.
    const zone = this.#zone;
    const before = zone.offsetAt(this.#dayNaive - MARGIN);
    const after = zone.offsetAt(this.#dayNaive + DAY + MARGIN);
    this.#dayOffset = before === after ? before : undefined;
  }

  #epoch(stamp: string): number {
    const naive = this.#dayNaive +
      ((stamp.charCodeAt(11) - 48) * 10 + stamp.charCodeAt(12) - 48) * 3_600_000 +
      ((stamp.charCodeAt(14) - 48) * 10 + stamp.charCodeAt(15) - 48) * 60_000 +
      ((stamp.charCodeAt(17) - 48) * 10 + stamp.charCodeAt(18) - 48) * 1000;
    if (this.#dayOffset !== undefined) {
      const epoch = naive - this.#dayOffset;
      this.#hint = { epoch, offset: this.#dayOffset };
      return epoch;
    }
    const epoch = wallToInstant(this.#zone, naive, this.#hint);
    this.#hint = { epoch, offset: naive - epoch };
    return epoch;
  }

  #fail(lineNo: number, reason: string): undefined {
    this.#bad(`${this.#path}:${lineNo}`, reason);
    return undefined;
  }
}

/**
 * Yields the lines of the open file `file` without their LF, with their
 * 1-based numbers, reading 64 KiB at a time: constant memory.
 */
export function* linesOfFile(file: Deno.FsFile): Generator<[string, number]> {
  const buffer = new Uint8Array(1 << 16);
  const decoder = new TextDecoder();
  let rest = "";
  let lineNo = 0;
  for (let n = file.readSync(buffer); n !== null; n = file.readSync(buffer)) {
    const text = rest + decoder.decode(buffer.subarray(0, n), { stream: true });
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      yield [text.slice(start, nl), ++lineNo];
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.decode();
  if (rest !== "") yield [rest, ++lineNo];
}

/**
 * The samples of `lines` (each with its line number), read by a
 * {@linkcode LogReader}.
 */
export function* samplesOf(
  lines: Iterable<[string, number]>,
  path: string,
  bad: (where: string, reason: string) => void,
  zone?: Zone,
): Generator<Sample> {
  const reader = new LogReader(path, bad, zone);
  for (const [line, lineNo] of lines) {
    const s = reader.line(line, lineNo);
    if (s !== undefined) yield s;
  }
}
