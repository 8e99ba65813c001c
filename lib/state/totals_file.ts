/**
 * The running totals file, `netmon.totals` in the state directory: the
 * reset-corrected total, last counter and reset counts of every column, as
 * of the sample named on its `stamp` line. Text, one tab-separated line per
 * column, exact 64-bit-and-beyond integers:
 *
 *     # netmon totals 1
 *     stamp<TAB>2024/03/01-10:05:00
 *     column<TAB>NAME<TAB>TOTAL<TAB>COUNTER or -<TAB>RESETS_COUNTER_WENT_DOWN<TAB>RESETS_FLAGGED
 *
 * It is replaced atomically with `netmon.last`; when its stamp is not the
 * last sample's (a crash between the two renames, a file deleted), the
 * caller rebuilds it from the log with `totalsOfSamples`.
 *
 * @module
 */

import { DataError } from "../host/errors.ts";
import { isTimestamp } from "../usage/local_time.ts";
import type { ColumnTotal, Totals } from "../usage/running_totals.ts";

/** The first line, naming the format and its version. */
export const TOTALS_MAGIC = "# netmon totals 1";

/** The file's name in the state directory. */
export const TOTALS_FILE = "netmon.totals";

/** The file's text for `totals`. */
export function formatTotals(totals: Totals): string {
  let out = `${TOTALS_MAGIC}\nstamp\t${totals.stamp}\n`;
  for (const [name, c] of totals.columns) {
    if (/[\s]/.test(name) || name === "") throw new RangeError(`Column name ${JSON.stringify(name)} cannot be stored`);
    out += `column\t${name}\t${c.total}\t${c.counter ?? "-"}\t${c.resets.counter_went_down}\t${c.resets.flagged}\n`;
  }
  return out;
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
  lines.slice(2).forEach((line, i) => {
    const where = `${path}:${i + 3}`;
    const f = line.split("\t");
    if (f.length !== 6 || f[0] !== "column" || f[1] === "") {
      throw new DataError(
        `${where}: expected "column" and 5 tab-separated fields (delete the file: netmon rebuilds it from the log)`,
      );
    }
    const name = f[1] as string;
    if (columns.has(name)) {
      throw new DataError(`${where}: column ${name} appears twice (delete the file: netmon rebuilds it from the log)`);
    }
    columns.set(name, {
      total: integer(f[2], "total", where),
      counter: f[3] === "-" ? undefined : integer(f[3], "counter", where),
      resets: { counter_went_down: integer(f[4], "reset count", where), flagged: integer(f[5], "reset count", where) },
    });
  });
  return { stamp: stampLine[1] as string, columns };
}
