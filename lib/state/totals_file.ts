/**
 * `netmon.totals`, the state of the running totals (lib/usage/offsets.ts), kept
 * in step with the log. Text in the log's shape, a tab-separated value per
 * column, exact integers:
 *
 *     # netmon totals 3
 *     stamp<TAB>2024/03/01-10:05:00   (the sample at which an offset last changed)
 *     columns<TAB>NAME…               (the last sample's in order, then those no longer read)
 *     offsets<TAB>OFFSET…
 *     resets<TAB>RESETS…              (- or reboot=1,counter_went_down=3)
 *
 * It is replaced (atomically) only when an offset changes, and otherwise only
 * read. Which sample it is kept up to is its modification time, set to that
 * sample's stamp (read as UTC, whole seconds) on the descriptor it was read
 * or written through, once the sample is in the log. A report believes it
 * only when that names the log's last sample, the rule version 2's stamp line
 * had: otherwise (a run killed between its log append and the mark, a file
 * missing, damaged or put back, runs without the textfile in between) it is
 * rebuilt from the log. Neither is synced: what a power loss leaves fails that
 * check or the parse, and the log's append is synced. Version 2 naming the
 * last sample is taken over silently (lib/state/totals_v2.ts); version 1 is
 * rebuilt silently.
 *
 * @module
 */

import { DataError } from "../host/errors.ts";
import { FIX, resetCounts, resetsText, storable, TOTALS_MAGIC_2, totalsLines, wholeNumber } from "./totals_text.ts";
import { AtomicFile } from "../host/files.ts";
import { SafeFile } from "../host/safe_open.ts";
import { stampToNaive } from "../usage/local_time.ts";
import { advanceOffsets, NO_RESETS, noteGone, type Offsets } from "../usage/offsets.ts";
import type { Totals } from "../usage/running_totals.ts";
import { STATE_MODE } from "./files.ts";
import type { Sample } from "./log_format.ts";
import { forEachLogSample } from "./log_reader.ts";
import type { Replacement } from "../host/files.ts";

/** The first line, naming the format and its version. */
export const TOTALS_MAGIC = "# netmon totals 3";

/** The file's name in the state directory. */
export const TOTALS_FILE = "netmon.totals";

/** `netmon.totals` in state directory `dir`. */
export function totalsPath(dir: string): string {
  return `${dir}/${TOTALS_FILE}`;
}

/** The file's text for `offsets`. */
export function formatOffsets(offsets: Offsets): string {
  const line = (name: string, values: readonly unknown[]) =>
    `${name}${values.length ? "\t" : ""}${values.join("\t")}\n`;
  return `${TOTALS_MAGIC}\nstamp\t${offsets.stamp}\n${line("columns", offsets.columns.map(storable))}` +
    `${line("offsets", offsets.offsets)}${line("resets", offsets.resets.map(resetsText))}`;
}

/** The values of line `n` (from 1), which must start with `name`; `count` of them when given. */
function values(lines: string[], n: number, name: string, path: string, count?: number): string[] {
  const fields = (lines[n - 1] ?? "").split("\t");
  if (fields.shift() !== name || (count !== undefined && fields.length !== count)) {
    const what = count === undefined ? "" : ` and ${count} tab-separated values`;
    throw new DataError(`${path}:${n}: expected ${JSON.stringify(name)}${what} ${FIX}`);
  }
  return fields;
}

/** `known` and what follows, when the columns `line` names them first (compared whole, not split); else undefined. */
function knownColumns(line: string, known: readonly string[] | undefined): readonly string[] | undefined {
  if (known === undefined || !line.startsWith("columns")) return undefined;
  // Name by name where it stands (joined, 10,000 names were a string of 70 KB made every report to compare).
  let at = "columns".length;
  for (let i = 0; i < known.length; i++) {
    const name = known[i] as string;
    if (line[at] !== "\t" || !line.startsWith(name, at + 1)) return undefined;
    at += 1 + name.length;
  }
  if (at === line.length) return known;
  return line[at] === "\t" ? known.concat(line.slice(at + 1).split("\t")) : undefined;
}

/**
 * Parses the file's text; `path` names it in errors (a DataError with
 * file:line). `known`, the columns it should name first (the last sample's),
 * only makes the reading quicker.
 */
export function parseOffsets(text: string, path: string, known?: readonly string[]): Offsets {
  const { lines, stamp } = totalsLines(text, TOTALS_MAGIC, path);
  if (lines.length !== 5) throw new DataError(`${path}: expected 5 lines, not ${lines.length} ${FIX}`);
  // Every report reads 10,000 columns here: each line is split once (the columns not at all when known), no regex is
  // compiled (0.2 ms each), and values are looked at one by one only to say which is wrong. That none appears twice
  // is checked where offsets are looked up by name (lib/usage/offsets.ts): hashing 10,000 names costs more.
  const columns = knownColumns(lines[2] as string, known) ?? values(lines, 3, "columns", path);
  if (columns.includes("")) throw new DataError(`${path}:3: a column has no name ${FIX}`);
  const texts = values(lines, 4, "offsets", path, columns.length);
  let offsets: bigint[];
  try {
    offsets = texts.map(BigInt);
  } catch {
    offsets = [];
  }
  // BigInt reads "" as 0: an empty value is damage, not a zero.
  if (offsets.length !== texts.length || texts.includes("")) {
    for (const v of texts) wholeNumber(v, "offset", `${path}:4`);
  }
  const resets = lines[4] === `resets${"\t-".repeat(columns.length)}`
    ? new Array<ReadonlyMap<string, bigint>>(columns.length).fill(NO_RESETS)
    : values(lines, 5, "resets", path, columns.length).map((r) => resetCounts(r, `${path}:5`));
  return { stamp, columns, offsets, resets };
}

/** The modification time (Unix seconds) that says the file is kept up to the sample of `stamp`. */
export function markOf(stamp: string): number {
  return stampToNaive(stamp) / 1000;
}

/** The stamp a mark names (for messages). */
function stampOfMark(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replaceAll("-", "/").replace("T", "-");
}

/** Sets the modification time of the open `file` to the mark of `stamp`. */
function mark(file: SafeFile, stamp: string): void {
  const t = markOf(stamp);
  file.file.utimeSync(t, t);
}

/** 64 MiB: the file of 100,000 columns is a few MiB. */
const MAX_BYTES = 64 << 20;

/**
 * `netmon.totals` as read, not yet checked: its descriptor (a regular file,
 * not through a link), and its offsets, or what it holds instead. A report
 * reads it while the counters are read ({@linkcode loadTotals}) and checks it
 * once the previous sample is known ({@linkcode prepareTotals}): its mark is
 * then taken from the descriptor, so a file replaced meanwhile is not believed.
 */
export interface LoadedTotals {
  /** Its path. */
  path: string;
  /** The descriptor it was read through. */
  file: SafeFile;
  /** Its offsets (version 3). */
  offsets?: Offsets;
  /** What makes it no file of version 3: a file of version 1 or 2 (its text), or damage (a DataError). */
  other?: { version1: true } | { version2: string } | { damage: unknown };
}

/**
 * Reads and parses `path`; undefined when missing. `known`, the columns it
 * should name first, make the parse quicker ({@linkcode parseOffsets}).
 */
export function loadTotals(path: string, known?: readonly string[]): LoadedTotals | undefined {
  const file = SafeFile.open(path, { what: "totals file" });
  if (!file) return undefined;
  let text: string;
  try {
    const size = file.statSync().size;
    if (size > MAX_BYTES) throw new DataError(`${path}: the totals file is ${size} bytes, more than ${MAX_BYTES}`);
    const bytes = new Uint8Array(size);
    let got = 0;
    for (let n: number | null = 0; got < bytes.length && n !== null; got += n ?? 0) {
      n = file.readSync(bytes.subarray(got));
    }
    text = new TextDecoder().decode(bytes.subarray(0, got));
  } catch (err) {
    file.close();
    throw err;
  }
  if (text.startsWith(`${TOTALS_MAGIC_2}\n`)) return { path, file, other: { version2: text } };
  if (text.startsWith("# netmon totals 1\n")) return { path, file, other: { version1: true } };
  try {
    return { path, file, offsets: parseOffsets(text, path, known) };
  } catch (damage) {
    return { path, file, other: { damage } };
  }
}

/**
 * The offsets of `loaded` if it is kept up to the sample of `stamp`, with its
 * descriptor (to mark it again), `migrated` when it was of version 2;
 * undefined when it is to be rebuilt (`warnings` says why, unless it was
 * missing or of version 1; its descriptor is then closed).
 */
export async function keptTotals(
  loaded: LoadedTotals | undefined,
  stamp: string,
  warnings: string[],
): Promise<{ offsets: Offsets; file: SafeFile; migrated: boolean } | undefined> {
  if (!loaded) return undefined;
  const { path, file, offsets, other } = loaded;
  let why: string | undefined;
  try {
    if (offsets) {
      // The file's time now, under the lock: the one this descriptor has.
      const mtime = file.file.statSync().mtime;
      const mark = mtime ? mtime.getTime() / 1000 : undefined;
      if (mark === markOf(stamp)) return { offsets, file, migrated: false };
      why = mark === undefined ? "has no modification time" : `was of ${stampOfMark(mark)}`;
    } else if (other && "version2" in other) {
      // Rewritten every report, version 2 says on its stamp line which sample it is of.
      const v2 = (await import("./totals_v2.ts")).readVersion2(other.version2, path);
      if (v2.stamp === stamp) return { offsets: v2.offsets, file, migrated: true };
      why = `was of ${v2.stamp}`;
    } else if (other && "damage" in other) throw other.damage;
    if (why) warnings.push(`${path} ${why}, not the last sample ${stamp}: rebuilt from the log`);
  } catch (err) {
    warnings.push(`${err instanceof Error ? err.message : err}; rebuilt from the log`);
  }
  file.close();
  return undefined;
}

/**
 * Every column the log has ever had, when `netmon.totals` in `dir` says so: it names them all (the last sample's,
 * then those no longer read), and is believed as a report believes it, only when its mark names the log's last
 * sample, `stamp` (whose columns are `known`). Undefined otherwise (missing, of another sample, damaged, of an older
 * version, unreadable): the log is to be asked.
 */
export function columnsEver(dir: string, stamp: string, known: readonly string[]): ReadonlySet<string> | undefined {
  let loaded: LoadedTotals | undefined;
  try {
    loaded = loadTotals(totalsPath(dir), known);
    const mtime = loaded?.offsets && loaded.file.file.statSync().mtime;
    return mtime && mtime.getTime() / 1000 === markOf(stamp) ? new Set(loaded?.offsets?.columns) : undefined;
  } catch {
    return undefined; // the textfile output, reading it next, says what is wrong with it
  } finally {
    loaded?.file.close();
  }
}

/** {@linkcode loadTotals} then {@linkcode keptTotals} of the sample of `stamp`, whose columns are `columns`. */
export function readTotals(
  path: string,
  stamp: string,
  warnings: string[],
  columns?: readonly string[],
): Promise<{ offsets: Offsets; file: SafeFile; migrated: boolean } | undefined> {
  return keptTotals(loadTotals(path, columns), stamp, warnings);
}

/** The offsets after the log's last sample, and that sample, rebuilt by reading it whole; undefined for none. */
export async function offsetsOfLog(log: string): Promise<{ offsets: Offsets; last: Sample } | undefined> {
  let offsets: Offsets | undefined;
  let last: Sample | undefined;
  // The last value of each column that left: it counts from there if it comes back.
  const gone = new Map<string, bigint>();
  try {
    // A `# netmon reset:` line before a sample: its column was reset whatever the counter shows.
    await forEachLogSample(log, (s) => {
      const next = advanceOffsets(offsets, last?.counters, s, s.resets, gone);
      if (next !== offsets) noteGone(gone, last?.counters, s);
      offsets = next;
      last = s;
    });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return offsets && last && { offsets, last };
}

/** The totals after the log's last sample, rebuilt by reading it whole (undefined for an empty or missing log). */
export async function totalsOfLog(log: string): Promise<Totals | undefined> {
  const rebuilt = await offsetsOfLog(log);
  return rebuilt && (await import("../usage/running_totals.ts")).totalsAt(rebuilt.offsets, rebuilt.last);
}

/** The offsets after a sample, and what keeps the file in step with them. */
export interface PreparedTotals {
  /** The offsets including `sample`. */
  offsets: Offsets;
  /** Commit after the log append (renames the new file if one was written, and marks it); abandon if it fails. */
  file: Replacement;
}

/**
 * The offsets after `sample`, and the file's replacement (written, not yet
 * renamed) if they changed. `previous` is the sample before it (the log's
 * last line); `resets` the columns reset since, with their reasons (the
 * record step's); `early`, the file as {@linkcode loadTotals} read it before
 * (undefined in it: there was none), else it is read now. Call with the state
 * lock held, before the log append; commit the result after it. `lastLogged`
 * is the last value in the log of each column that comes back (the record
 * step's, lib/state/log_back.ts).
 */
export async function prepareTotals(
  dir: string,
  log: string,
  previous: Sample | undefined,
  sample: Sample,
  warnings: string[],
  resets: ReadonlyMap<string, string> = new Map(),
  early?: { loaded: LoadedTotals | undefined },
  lastLogged?: ReadonlyMap<string, bigint>,
): Promise<PreparedTotals> {
  const path = totalsPath(dir);
  if (!previous) early?.loaded?.file.close();
  const loaded = () => early ? early.loaded : loadTotals(path, [...(previous as Sample).counters.keys()]);
  const kept = previous && await keptTotals(loaded(), previous.timestamp, warnings);
  let offsets: Offsets;
  try {
    try {
      // Kept up to the previous sample, or rebuilt from the log up to its last sample.
      const from = kept ? { offsets: kept.offsets, last: previous } : previous && await offsetsOfLog(log);
      offsets = advanceOffsets(from?.offsets, from?.last.counters, sample, resets, lastLogged);
    } catch (err) {
      // Offsets that cannot be those after the previous sample (the file was edited): the log has them.
      if (!kept || !(err instanceof RangeError) || !/not those after the previous/.test(err.message)) throw err;
      warnings.push(`${path}: ${err.message}; rebuilt from the log`);
      const from = await offsetsOfLog(log);
      offsets = advanceOffsets(from?.offsets, from?.last.counters, sample, resets, lastLogged);
    }
  } catch (err) {
    kept?.file.close();
    throw err;
  }
  if (kept && offsets === kept.offsets && !kept.migrated) {
    // Most reports: nothing changed, nothing is written; the file is marked as kept up to this sample.
    const file = kept.file;
    const commit = () => {
      try {
        mark(file, sample.timestamp);
      } finally {
        file.close();
      }
    };
    return { offsets, file: { commit, abandon: () => file.close() } };
  }
  kept?.file.close();
  const next = new AtomicFile(path, STATE_MODE, "totals file", { durable: false });
  next.write(formatOffsets(offsets));
  const commit = () => {
    next.commit();
    // Marked through a descriptor of what was renamed into place, never through a link swapped in meanwhile.
    const written = SafeFile.must(path, { what: "totals file" });
    try {
      mark(written, sample.timestamp);
    } finally {
      written.close();
    }
  };
  return { offsets, file: { commit, abandon: () => next.abandon() } };
}
