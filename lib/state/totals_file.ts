/**
 * The running totals file, `netmon.totals` in the state directory: the
 * reset-corrected total, last counter and reset counts of every column, as
 * of the sample named on its `stamp` line. Text, one tab-separated line per
 * column, exact 64-bit-and-beyond integers:
 *
 *     # netmon totals 2
 *     stamp<TAB>2024/03/01-10:05:00
 *     column<TAB>NAME<TAB>TOTAL<TAB>COUNTER or -<TAB>RESETS
 *
 * RESETS is `-` (none yet) or the reset counts by reason label
 * (lib/usage/running_totals.ts `resetLabel`), `reboot=1,counter_went_down=3`.
 * Version 1 (before the reasons of issue 17: two fixed counts, "went down"
 * and "flagged") is not read: {@linkcode isOldTotals} says so, and the caller
 * rebuilds the file from the log, which has the reasons.
 *
 * It is replaced atomically with `netmon.last`; when its stamp is not the
 * last sample's (a crash between the two renames, a file deleted), the
 * caller rebuilds it from the log with `totalsOfSamples`.
 *
 * @module
 */

import { DataError } from "../host/errors.ts";
import { isTimestamp } from "../usage/local_time.ts";
import { type ColumnTotal, NO_RESETS, type Totals } from "../usage/running_totals.ts";

/** The first line, naming the format and its version. */
export const TOTALS_MAGIC = "# netmon totals 2";

/** True for a file of an older version, to rebuild from the log without a warning. */
export function isOldTotals(text: string): boolean {
  return text.startsWith("# netmon totals 1\n");
}

const LABEL = /^[a-z0-9_]{1,64}$/;

/** The file's name in the state directory. */
export const TOTALS_FILE = "netmon.totals";

/** The file's text for `totals`. */
export function formatTotals(totals: Totals): string {
  let out = `${TOTALS_MAGIC}\nstamp\t${totals.stamp}\n`;
  for (const [name, c] of totals.columns) {
    if (name === "" || /\s/.test(name)) throw new RangeError(`Column name ${JSON.stringify(name)} cannot be stored`);
    out += `column\t${name}\t${c.total}\t${c.counter ?? "-"}\t${c.resets.size > 0 ? resetsText(c.resets) : "-"}\n`;
  }
  return out;
}

function resetsText(resets: ReadonlyMap<string, bigint>): string {
  return [...resets].map(([label, n]) => {
    if (!LABEL.test(label)) throw new RangeError(`Reset label ${JSON.stringify(label)} cannot be stored`);
    return `${label}=${n}`;
  }).join(",");
}

function integer(text: string | undefined, what: string, where: string): bigint {
  if (text === undefined || !/^\d{1,40}$/.test(text)) {
    throw new DataError(
      `${where}: ${what} ${
        JSON.stringify(text ?? "")
      } is not a whole number (delete the file: netmon rebuilds it from the log)`,
    );
  }
  return BigInt(text);
}

function resetCounts(text: string, where: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const part of text.split(",")) {
    const [label, n, more] = part.split("=");
    if (label === undefined || !LABEL.test(label) || more !== undefined || out.has(label)) {
      throw new DataError(
        `${where}: resets ${
          JSON.stringify(text)
        } must be "-" or REASON=COUNT,… (delete the file: netmon rebuilds it from the log)`,
      );
    }
    out.set(label, integer(n, "reset count", where));
  }
  return out;
}

/** A column line as it is written: name, total, counter or -, resets (checked by {@linkcode resetCounts}). */
const COLUMN_LINE = /^column\t([^\t]+)\t(\d{1,40})\t(?:(\d{1,40})|-)\t([^\t]+)$/;

/** Throws the DataError naming what is wrong with a line that is not a column line as written. */
function badColumnLine(line: string, where: string): never {
  const f = line.split("\t");
  if (f.length !== 5 || f[0] !== "column" || f[1] === "") {
    throw new DataError(
      `${where}: expected "column" and 4 tab-separated fields (delete the file: netmon rebuilds it from the log)`,
    );
  }
  integer(f[2], "total", where);
  if (f[3] !== "-") integer(f[3], "counter", where);
  throw new DataError(`${where}: not a column line (delete the file: netmon rebuilds it from the log)`);
}

/** Parses the file's text; `path` names it in errors (a DataError with file:line). */
export function parseTotals(text: string, path: string): Totals {
  const lines = text.split("\n");
  if (lines.at(-1) !== "") {
    throw new DataError(`${path}: the last line is incomplete (delete the file: netmon rebuilds it from the log)`);
  }
  lines.pop();
  if (lines[0] !== TOTALS_MAGIC) {
    throw new DataError(
      `${path}:1: expected ${JSON.stringify(TOTALS_MAGIC)} (delete the file: netmon rebuilds it from the log)`,
    );
  }
  const stampLine = (lines[1] ?? "").split("\t");
  if (stampLine.length !== 2 || stampLine[0] !== "stamp" || !isTimestamp(stampLine[1] ?? "")) {
    throw new DataError(
      `${path}:2: expected "stamp<TAB>YYYY/MM/DD-HH:MM:SS" (delete the file: netmon rebuilds it from the log)`,
    );
  }
  const columns = new Map<string, ColumnTotal>();
  // Ten thousand columns are read every report: one match a line; its fields are looked at one by one only to say
  // what is wrong with a line that does not match.
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i] as string;
    const m = COLUMN_LINE.exec(line) ?? badColumnLine(line, `${path}:${i + 1}`);
    const [, name, total, counter, resets] = m as unknown as [string, string, string, string | undefined, string];
    if (columns.has(name)) {
      throw new DataError(
        `${path}:${i + 1}: column ${name} appears twice (delete the file: netmon rebuilds it from the log)`,
      );
    }
    columns.set(name, {
      total: BigInt(total),
      counter: counter === undefined ? undefined : BigInt(counter),
      resets: resets === "-" ? NO_RESETS : resetCounts(resets, `${path}:${i + 1}`),
    });
  }
  return { stamp: stampLine[1] as string, columns };
}
