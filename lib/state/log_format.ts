/**
 * The log line and last-file formats, original-compatible.
 *
 * A log line is `TIMESTAMP<TAB>counter<TAB>counter…<LF>`: cumulative counter
 * values, one column per meter. Which column is which is said by a header
 * line `# netmon meters:<TAB>name<TAB>name…` written before the first line
 * under a new set of meters; a log with no header has the original script's
 * two columns, proxy and non-network, and with those two meters netmon writes
 * no header, so its files stay byte-for-byte the original's. The header
 * splits into at least four whitespace fields, so the original graph script
 * (which keeps only three-field lines) skips it.
 *
 * A reset the counter cannot show (it restarted from zero and passed its old
 * value before the next sample: an interface or nftables counter re-created,
 * rules re-created by `netmon start`, a reboot) is written just before the
 * sample it applies to, in the same append, as
 * `# netmon reset:<TAB>COLUMN<TAB>REASON`: that column's usage over the
 * interval is its new value, not its growth. The line splits into at least
 * five whitespace fields, so the original graph script skips it too. A reset
 * the counter shows (it went down) gets no line: readers see it themselves.
 *
 * The last file is one data line with the total-start stamp appended,
 * preceded by the same header line when the meters are not the original two.
 *
 * @module
 */

import { DataError } from "../host/errors.ts";
import { isTimestamp } from "../usage/local_time.ts";

/** The original script's meters, in its column order. */
export const ORIGINAL_METERS: readonly string[] = ["proxy", "non-network"];

/** How a meters header line starts. */
export const HEADER_PREFIX = "# netmon meters:";

/** How a reset line starts. */
export const RESET_PREFIX = "# netmon reset:";

/** Largest value a 64-bit counter holds. */
export const MAX_COUNTER = (1n << 64n) - 1n;

/** Counter values of every meter at one instant. */
export interface Sample {
  /** Local time, `YYYY/MM/DD-HH:MM:SS`. */
  timestamp: string;
  /** Cumulative byte counter per meter, in column order. */
  counters: Map<string, bigint>;
  /** Cumulative packet counters, where the source has them (not logged; for the SQLite store). */
  packets?: Map<string, bigint>;
  /** Resets the log records just before this sample: column to reason (see {@linkcode formatResetLine}). */
  resets?: Map<string, string>;
}

/** The last file: the previous sample and since when totals count. */
export interface LastState {
  /** The previous sample. */
  sample: Sample;
  /** Stamp since which the totals count (the last reset). */
  totalStart: string;
}

/** True when `meters` are the original script's two, in its order. */
export function isOriginal(meters: readonly string[]): boolean {
  return meters.length === 2 && meters[0] === ORIGINAL_METERS[0] && meters[1] === ORIGINAL_METERS[1];
}

/** True when two meter lists name the same columns in the same order. */
export function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((m, i) => m === b[i]);
}

/** The header line (with LF) for `meters`. */
export function formatHeader(meters: readonly string[]): string {
  return `${HEADER_PREFIX}\t${meters.join("\t")}\n`;
}

/**
 * The meters a header line names, or undefined if `line` is not one. A
 * header naming a meter twice would put two counters under one name: a
 * DataError naming `where` (file:line).
 */
export function parseHeader(line: string, where = "meters header"): string[] | undefined {
  if (!line.startsWith(HEADER_PREFIX)) return undefined;
  const meters = splitBlanks(line.slice(HEADER_PREFIX.length));
  // Blanks after the prefix or at the end leave an empty first or last name (runs of blanks make no others).
  if (meters[0] === "") meters.shift();
  if (meters.at(-1) === "") meters.pop();
  // One Set made from the whole list (a loop inside V8): the last file names 10,000 columns at scale.
  if (new Set(meters).size === meters.length) return meters;
  const seen = new Set<string>();
  for (const m of meters) {
    if (seen.has(m)) {
      throw new DataError(
        `${where}: the meters header names ${JSON.stringify(m)} twice: each column needs its own name`,
      );
    }
    seen.add(m);
  }
  return meters;
}

/**
 * `text` split at runs of tabs and spaces, as `split(/[\t ]+/)` splits it.
 * Text as netmon writes it (single tabs, no spaces) is split on its tabs
 * with no regex: the last file's 10,000 names and values are split on every
 * report, before V8 has optimised anything.
 */
function splitBlanks(text: string): string[] {
  return text.includes(" ") || text.includes("\t\t") ? text.split(/[\t ]+/) : text.split("\t");
}

/** A reset of one column, as a reset line records it. */
export interface ResetLine {
  /** The log column that was reset. */
  column: string;
  /** Why, e.g. `interface re-created`. */
  reason: string;
}

/**
 * The reset line (with LF) saying `column` was reset for `reason`; it goes
 * just before the sample line it applies to.
 *
 * @example
 * ```ts
 * formatResetLine("eth0:rx", "interface re-created"); // "# netmon reset:\teth0:rx\tinterface re-created\n"
 * ```
 */
export function formatResetLine(column: string, reason: string): string {
  return `${RESET_PREFIX}\t${column}\t${reason}\n`;
}

/**
 * The column and reason of a reset line (without its LF), or undefined if
 * `line` is not one. Fields are tab-separated: the reason may hold spaces.
 * A line that starts like one but lacks its column or reason is a DataError
 * (without a location: the caller adds file:line).
 *
 * @example
 * ```ts
 * parseResetLine("# netmon reset:\teth0:rx\treboot"); // { column: "eth0:rx", reason: "reboot" }
 * ```
 */
export function parseResetLine(line: string): ResetLine | undefined {
  if (!line.startsWith(RESET_PREFIX)) return undefined;
  const f = line.slice(RESET_PREFIX.length).split("\t");
  const column = f[1]?.trim() ?? "";
  const reason = f.slice(2).join(" ").trim();
  if (f[0]?.trim() !== "" || column === "" || /\s/.test(column) || reason === "") {
    throw new DataError(`reset line ${JSON.stringify(line)}: expected "${RESET_PREFIX}<TAB>COLUMN<TAB>REASON"`);
  }
  return { column, reason };
}

/** A log line (with LF) for `sample`. */
export function formatLogLine(sample: Sample): string {
  return `${sample.timestamp}\t${[...sample.counters.values()].join("\t")}\n`;
}

/** A counter's text: a regex made once (a literal in the function is a new RegExp on every call). */
const COUNTER_TEXT = /^\d{1,20}$/;

/**
 * Parses a decimal counter of at most 64 bits; returns a reason on failure.
 */
export function parseCounter(text: string): bigint | string {
  if (!COUNTER_TEXT.test(text)) {
    return text.startsWith("-")
      ? `counter ${JSON.stringify(text)} is negative`
      : `counter ${JSON.stringify(text)} is not a whole number`;
  }
  const value = BigInt(text);
  return value > MAX_COUNTER ? `counter ${text} is larger than 2^64-1` : value;
}

/** Splits a data line into fields, rejecting the damage a text editor or a crash leaves. */
function fields(line: string, where: string): string[] {
  if (line.includes("\r")) {
    throw new DataError(`${where}: line ends in CR (DOS line ending): convert the file with dos2unix`);
  }
  if (/[^\t\x20-\x7e]/.test(line)) throw new DataError(`${where}: line has bytes that are not printable ASCII`);
  return splitBlanks(line.trim());
}

/**
 * Parses one log data line whose columns are `meters`.
 *
 * @param where `file:line`, for the error message
 */
export function parseLogLine(line: string, meters: readonly string[], where: string): Sample {
  const f = fields(line, where);
  if (f.length !== meters.length + 1) {
    throw new DataError(
      `${where}: expected ${meters.length + 1} fields (timestamp and ${meters.join(", ")}) but got ${f.length}`,
    );
  }
  return { timestamp: checkStamp(f[0] ?? "", where), counters: countersOf(f.slice(1), meters, where) };
}

function checkStamp(text: string, where: string): string {
  if (!isTimestamp(text)) {
    throw new DataError(`${where}: ${JSON.stringify(text)} is not a timestamp YYYY/MM/DD-HH:MM:SS`);
  }
  return text;
}

function countersOf(values: string[], meters: readonly string[], where: string): Map<string, bigint> {
  const counters = new Map<string, bigint>();
  values.forEach((text, i) => {
    const v = parseCounter(text);
    if (typeof v === "string") throw new DataError(`${where}: ${meters[i]}: ${v}`);
    counters.set(meters[i] as string, v);
  });
  return counters;
}

/** The last file's text for `state`. */
export function formatLast(state: LastState): string {
  const meters = [...state.sample.counters.keys()];
  const header = isOriginal(meters) ? "" : formatHeader(meters);
  return `${header}${state.sample.timestamp}\t${[...state.sample.counters.values()].join("\t")}\t${state.totalStart}\n`;
}

/** Parses the last file's text; `path` names it in errors. */
export function parseLast(text: string, path: string): LastState {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let meters: readonly string[] = ORIGINAL_METERS;
  let lineNo = 1;
  const header = parseHeader(lines[0] ?? "", `${path}:1`);
  if (header) {
    meters = header;
    lineNo = 2;
  }
  const where = `${path}:${lineNo}`;
  const line = lines[lineNo - 1];
  if (line === undefined || line.trim() === "") {
    throw new DataError(`${where}: the last file has no data line: delete it to start afresh`);
  }
  if (lines.length > lineNo) throw new DataError(`${path}:${lineNo + 1}: unexpected extra line in the last file`);
  const f = fields(line, where);
  if (f.length !== meters.length + 2) {
    throw new DataError(
      `${where}: expected ${meters.length + 2} fields (timestamp, ${
        meters.join(", ")
      }, total start) but got ${f.length}`,
    );
  }
  return {
    sample: { timestamp: checkStamp(f[0] ?? "", where), counters: countersOf(f.slice(1, -1), meters, where) },
    totalStart: checkStamp(f.at(-1) ?? "", where),
  };
}
