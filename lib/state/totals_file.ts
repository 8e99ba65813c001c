/**
 * The running totals file, `netmon.totals` in the state directory, and
 * keeping it in step with the log: each column's offset (its running total
 * minus its counter, lib/usage/running_totals.ts) and reset counts. Text in
 * the log's own shape, a line per field with a tab-separated value per
 * column (ten thousand columns are read every report: three splits, not ten
 * thousand lines), exact integers of any size:
 *
 *     # netmon totals 3
 *     stamp<TAB>2024/03/01-10:05:00
 *     columns<TAB>NAME<TAB>NAME…
 *     offsets<TAB>OFFSET<TAB>OFFSET…
 *     resets<TAB>RESETS<TAB>RESETS…
 *
 * `stamp` is the sample at which the offsets last changed; the columns are
 * those of the last sample in its order, then those no longer read; an
 * OFFSET may be negative; RESETS is `-` (none yet) or the reset counts by
 * reason label (lib/usage/running_totals.ts `resetLabel`),
 * `reboot=1,counter_went_down=3`.
 *
 * An offset changes only when its column is reset, added or removed, so the
 * file is rewritten only then (an atomic replace); at every other sample it
 * (or a column moves) is only read. Which sample it is kept up to is its
 * modification time: set
 * to that sample's stamp (read as UTC, whole seconds) once the sample is in
 * the log, after the replace or instead of it, on the descriptor it was read
 * or written through. A report believes the file only when that time names
 * the log's last sample, exactly as the stamp line of version 2 had to:
 * otherwise (a run that stopped between its log append and the mark, a file
 * deleted, damaged, replaced or kept by hand, runs without the textfile in
 * between) it is rebuilt from the log. Neither is synced: whatever a power
 * loss leaves fails that check or the parse, and the log, whose append is
 * synced, has everything.
 *
 * Version 2 (the totals themselves, rewritten every report: `column NAME
 * TOTAL COUNTER RESETS`, the stamp line naming the sample they are of) is
 * read when its stamp is the last sample's and rewritten as version 3,
 * without a warning; version 1 (before the reasons of issue 17) is rebuilt
 * from the log, which has the reasons, without a warning too.
 *
 * @module
 */

import { DataError } from "../host/errors.ts";
import { AtomicFile } from "../host/files.ts";
import { SafeFile } from "../host/safe_open.ts";
import { isTimestamp, stampToNaive } from "../usage/local_time.ts";
import {
  advanceOffsets,
  type ColumnTotal,
  NO_RESETS,
  type Offsets,
  offsetsOfTotals,
  type Totals,
  totalsAt,
} from "../usage/running_totals.ts";
import { STATE_MODE } from "./files.ts";
import type { Sample } from "./log_format.ts";
import { forEachLogSample } from "./log_reader.ts";
import type { Replacement } from "./record.ts";

/** The first line, naming the format and its version. */
export const TOTALS_MAGIC = "# netmon totals 3";

/** The first line of version 2, read to be migrated. */
const MAGIC_2 = "# netmon totals 2";

/** True for a file of version 1, to rebuild from the log without a warning. */
export function isOldTotals(text: string): boolean {
  return text.startsWith("# netmon totals 1\n");
}

const LABEL = /^[a-z0-9_]{1,64}$/;

/** The file's name in the state directory. */
export const TOTALS_FILE = "netmon.totals";

/** `netmon.totals` in state directory `dir`. */
export function totalsPath(dir: string): string {
  return `${dir}/${TOTALS_FILE}`;
}

/** A column name as it can be stored (one field of a tab-separated line). */
function storable(name: string): string {
  if (name === "" || /\s/.test(name)) throw new RangeError(`Column name ${JSON.stringify(name)} cannot be stored`);
  return name;
}

function resetsText(resets: ReadonlyMap<string, bigint>): string {
  if (resets.size === 0) return "-";
  return [...resets].map(([label, n]) => {
    if (!LABEL.test(label)) throw new RangeError(`Reset label ${JSON.stringify(label)} cannot be stored`);
    return `${label}=${n}`;
  }).join(",");
}

/** The file's text for `offsets`. */
export function formatOffsets(offsets: Offsets): string {
  const line = (name: string, values: readonly unknown[]) =>
    `${name}${values.length ? "\t" : ""}${values.join("\t")}\n`;
  return `${TOTALS_MAGIC}\nstamp\t${offsets.stamp}\n${line("columns", offsets.columns.map(storable))}` +
    `${line("offsets", offsets.offsets)}${line("resets", offsets.resets.map(resetsText))}`;
}

/**
 * The text of version 2 for `totals` (version 3 reads it to migrate it):
 * `column NAME TOTAL COUNTER-or-- RESETS`, as of the sample on its stamp line.
 */
export function formatTotals(totals: Totals): string {
  let out = `${MAGIC_2}\nstamp\t${totals.stamp}\n`;
  for (const [name, c] of totals.columns) {
    out += `column\t${storable(name)}\t${c.total}\t${c.counter ?? "-"}\t${resetsText(c.resets)}\n`;
  }
  return out;
}

const FIX = "(delete the file: netmon rebuilds it from the log)";

function integer(text: string | undefined, what: string, where: string): bigint {
  if (text === undefined || !/^-?\d{1,40}$/.test(text) || (what !== "offset" && text.startsWith("-"))) {
    throw new DataError(`${where}: ${what} ${JSON.stringify(text ?? "")} is not a whole number ${FIX}`);
  }
  return BigInt(text);
}

function resetCounts(text: string, where: string): ReadonlyMap<string, bigint> {
  if (text === "-") return NO_RESETS;
  const out = new Map<string, bigint>();
  for (const part of text.split(",")) {
    const [label, n, more] = part.split("=");
    if (label === undefined || !LABEL.test(label) || more !== undefined || out.has(label)) {
      throw new DataError(`${where}: resets ${JSON.stringify(text)} must be "-" or REASON=COUNT,… ${FIX}`);
    }
    out.set(label, integer(n, "reset count", where));
  }
  return out;
}

/** A column line of version 2 as written: name, total, counter or -, resets. */
const COLUMN_LINE_2 = /^column\t([^\t]+)\t(\d{1,40})\t(?:(\d{1,40})|-)\t([^\t]+)$/;

/** Throws the DataError naming what is wrong with a line that is not a column line of version 2. */
function badColumnLine(line: string, where: string): never {
  const f = line.split("\t");
  if (f.length !== 5 || f[0] !== "column" || f[1] === "") {
    throw new DataError(`${where}: expected "column" and 4 tab-separated fields ${FIX}`);
  }
  integer(f[2], "total", where);
  if (f[3] !== "-") integer(f[3], "counter", where);
  throw new DataError(`${where}: not a column line ${FIX}`);
}

/** The lines of `text` after its first two (checked: `magic`, then the stamp line); the stamp. */
function linesOf(text: string, magic: string, path: string): { lines: string[]; stamp: string } {
  const lines = text.split("\n");
  if (lines.at(-1) !== "") throw new DataError(`${path}: the last line is incomplete ${FIX}`);
  lines.pop();
  if (lines[0] !== magic) throw new DataError(`${path}:1: expected ${JSON.stringify(magic)} ${FIX}`);
  const stampLine = (lines[1] ?? "").split("\t");
  if (stampLine.length !== 2 || stampLine[0] !== "stamp" || !isTimestamp(stampLine[1] ?? "")) {
    throw new DataError(`${path}:2: expected "stamp<TAB>YYYY/MM/DD-HH:MM:SS" ${FIX}`);
  }
  return { lines, stamp: stampLine[1] as string };
}

function twice(name: string, where: string): DataError {
  return new DataError(`${where}: column ${name} appears twice ${FIX}`);
}

/** The values of line `n` (1-based) of `lines`, which must start with `name`; `count` of them when given. */
function values(lines: string[], n: number, name: string, path: string, count?: number): string[] {
  const fields = (lines[n - 1] ?? "").split("\t");
  if (fields.shift() !== name || (count !== undefined && fields.length !== count)) {
    const what = count === undefined ? "" : ` and ${count} tab-separated values`;
    throw new DataError(`${path}:${n}: expected ${JSON.stringify(name)}${what} ${FIX}`);
  }
  return fields;
}

/**
 * `known` and what follows it on the columns line `line`, when that line
 * names them first, in order (compared whole: ten thousand names are not
 * split, hashed or compared one by one); undefined when it does not.
 */
function knownColumns(line: string, known: readonly string[] | undefined): readonly string[] | undefined {
  if (known === undefined) return undefined;
  const head = known.length === 0 ? "columns" : `columns\t${known.join("\t")}`;
  if (line === head) return known;
  if (!line.startsWith(`${head}\t`)) return undefined;
  return known.concat(line.slice(head.length + 1).split("\t"));
}

/**
 * Parses the file's text (version 3); `path` names it in errors (a DataError
 * with file:line). `known`, the columns it is expected to name first (the last
 * sample's), only makes the reading quicker when it does.
 */
export function parseOffsets(text: string, path: string, known?: readonly string[]): Offsets {
  const { lines, stamp } = linesOf(text, TOTALS_MAGIC, path);
  if (lines.length !== 5) throw new DataError(`${path}: expected 5 lines, not ${lines.length} ${FIX}`);
  // Ten thousand columns are read every report, and every report reads this: a line is split once, its values are
  // looked at one by one only to say which is wrong, and no regex is compiled (0.2 ms each). (That no column appears
  // twice is checked where offsets are looked up by name, lib/usage/running_totals.ts: hashing ten thousand names costs
  // more than all the rest.)
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
    for (const v of texts) integer(v, "offset", `${path}:4`);
  }
  // Most files have had no reset at all: their last line is not split.
  const resets = lines[4] === `resets${"\t-".repeat(columns.length)}`
    ? new Array<ReadonlyMap<string, bigint>>(columns.length).fill(NO_RESETS)
    : values(lines, 5, "resets", path, columns.length).map((r) => resetCounts(r, `${path}:5`));
  return { stamp, columns, offsets, resets };
}

/** Parses the text of version 2 (see {@linkcode formatTotals}); `path` names it in errors. */
export function parseTotals(text: string, path: string): Totals {
  const { lines, stamp } = linesOf(text, MAGIC_2, path);
  const columns = new Map<string, ColumnTotal>();
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i] as string;
    const m = COLUMN_LINE_2.exec(line) ?? badColumnLine(line, `${path}:${i + 1}`);
    const [, name, total, counter, resets] = m as unknown as [string, string, string, string | undefined, string];
    if (columns.has(name)) throw twice(name, `${path}:${i + 1}`);
    columns.set(name, {
      total: BigInt(total),
      counter: counter === undefined ? undefined : BigInt(counter),
      resets: resetCounts(resets, `${path}:${i + 1}`),
    });
  }
  return { stamp, columns };
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

/** The file as read: its text, its mark, and the descriptor it was read through (to mark it again). */
interface Opened {
  file: SafeFile;
  text: string;
  /** Its modification time, Unix seconds; undefined where the file system gives none. */
  mark: number | undefined;
}

/** Opens and reads `path` (as a regular file of this user or root, never through a link); undefined when missing. */
function openTotals(path: string): Opened | undefined {
  const file = SafeFile.open(path, { what: "totals file" });
  if (!file) return undefined;
  try {
    const s = file.file.statSync();
    if (s.size > MAX_BYTES) throw new DataError(`${path}: the totals file is ${s.size} bytes, more than ${MAX_BYTES}`);
    const bytes = new Uint8Array(s.size);
    let got = 0;
    for (let n: number | null = 0; got < bytes.length && n !== null; got += n ?? 0) {
      n = file.readSync(bytes.subarray(got));
    }
    return {
      file,
      text: new TextDecoder().decode(bytes.subarray(0, got)),
      mark: s.mtime ? s.mtime.getTime() / 1000 : undefined,
    };
  } catch (err) {
    file.close();
    throw err;
  }
}

/**
 * The offsets the file holds if it is kept up to the sample of `stamp`
 * (with its descriptor, to mark it again), `migrated` when it was of
 * version 2; undefined when it must be rebuilt from the log (`warnings`
 * says why, unless it is missing or of version 1). `columns`, those of that
 * sample, make the reading quicker (see {@linkcode parseOffsets}).
 */
export function readTotals(
  path: string,
  stamp: string,
  warnings: string[],
  columns?: readonly string[],
): { offsets: Offsets; file: SafeFile; migrated: boolean } | undefined {
  const opened = openTotals(path);
  if (!opened) return undefined;
  const { file, text } = opened;
  let why: string | undefined;
  try {
    if (text.startsWith(`${MAGIC_2}\n`)) {
      // Version 2 was rewritten every report: its stamp line says which sample it is of.
      const totals = parseTotals(text, path);
      if (totals.stamp === stamp) return { offsets: offsetsOfTotals(totals), file, migrated: true };
      why = `was of ${totals.stamp}`;
    } else if (!isOldTotals(text)) {
      const offsets = parseOffsets(text, path, columns);
      if (opened.mark === markOf(stamp)) return { offsets, file, migrated: false };
      why = opened.mark === undefined ? "has no modification time" : `was of ${stampOfMark(opened.mark)}`;
    }
    if (why) warnings.push(`${path} ${why}, not the last sample ${stamp}: rebuilt from the log`);
  } catch (err) {
    warnings.push(`${err instanceof Error ? err.message : err}; rebuilt from the log`);
  }
  file.close();
  return undefined;
}

/** The offsets after the log's last sample, and that sample, rebuilt by reading it whole; undefined for none. */
export async function offsetsOfLog(log: string): Promise<{ offsets: Offsets; last: Sample } | undefined> {
  let offsets: Offsets | undefined;
  let last: Sample | undefined;
  try {
    // A `# netmon reset:` line before a sample: its column was reset whatever the counter shows.
    await forEachLogSample(log, (s) => {
      offsets = advanceOffsets(offsets, last?.counters, s, s.resets);
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
  return rebuilt && totalsAt(rebuilt.offsets, rebuilt.last);
}

/** The offsets after a sample, and what keeps the file in step with them. */
export interface PreparedTotals {
  /** The offsets including `sample`. */
  offsets: Offsets;
  /**
   * Commit after the log append: renames the new file into place if one was written, and marks the file as kept up
   * to `sample`; abandon if the append fails.
   */
  file: Replacement;
}

/**
 * The offsets after `sample`, and the file's replacement (written, not yet
 * renamed) if they changed. `previous` is the sample before it (the log's
 * last line); `resets` the columns reset since it, with their reasons (the
 * record step's `resets`). Call with the state lock held, before the log
 * append; commit the result after it.
 */
export async function prepareTotals(
  dir: string,
  log: string,
  previous: Sample | undefined,
  sample: Sample,
  warnings: string[],
  resets: ReadonlyMap<string, string> = new Map(),
): Promise<PreparedTotals> {
  const path = totalsPath(dir);
  const kept = previous && readTotals(path, previous.timestamp, warnings, [...previous.counters.keys()]);
  let offsets: Offsets;
  try {
    try {
      // Kept up to the previous sample, or rebuilt from the log up to its last sample.
      const from = kept ? { offsets: kept.offsets, last: previous } : previous && await offsetsOfLog(log);
      offsets = advanceOffsets(from?.offsets, from?.last.counters, sample, resets);
    } catch (err) {
      // Offsets that cannot be those after the previous sample (the file was edited): the log has them.
      if (!kept || !(err instanceof RangeError) || !/not those after the previous/.test(err.message)) throw err;
      warnings.push(`${path}: ${err.message}; rebuilt from the log`);
      const from = await offsetsOfLog(log);
      offsets = advanceOffsets(from?.offsets, from?.last.counters, sample, resets);
    }
  } catch (err) {
    kept?.file.close();
    throw err;
  }
  if (kept && offsets === kept.offsets && !kept.migrated) {
    // Most reports: nothing changed, nothing is written; the file is marked as kept up to this sample.
    const file = kept.file;
    return {
      offsets,
      file: {
        commit() {
          try {
            mark(file, sample.timestamp);
          } finally {
            file.close();
          }
        },
        abandon: () => file.close(),
      },
    };
  }
  kept?.file.close();
  const next = new AtomicFile(path, STATE_MODE, "totals file", { durable: false });
  next.write(formatOffsets(offsets));
  return {
    offsets,
    file: {
      commit() {
        next.commit();
        // Marked through a descriptor of what was renamed into place, never through a link swapped in meanwhile.
        const written = SafeFile.must(path, { what: "totals file" });
        try {
          mark(written, sample.timestamp);
        } finally {
          written.close();
        }
      },
      abandon: () => next.abandon(),
    },
  };
}
