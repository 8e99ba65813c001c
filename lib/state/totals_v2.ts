/**
 * `netmon.totals` as version 2 wrote it, every report: the totals themselves,
 * as of the sample on its stamp line. A report reads it once, to take it over
 * (lib/state/totals_file.ts); tests write it, to check that.
 *
 *     # netmon totals 2
 *     stamp<TAB>2024/03/01-10:05:00
 *     column<TAB>NAME<TAB>TOTAL<TAB>COUNTER or -<TAB>RESETS
 *
 * @module
 */

import { DataError } from "../host/errors.ts";
import type { Offsets } from "../usage/offsets.ts";
import { type ColumnTotal, offsetsOfTotals, type Totals } from "../usage/running_totals.ts";
import { FIX, resetCounts, resetsText, storable, TOTALS_MAGIC_2, totalsLines, wholeNumber } from "./totals_text.ts";

/** The text of version 2 for `totals`. */
export function formatTotals(totals: Totals): string {
  let out = `${TOTALS_MAGIC_2}\nstamp\t${totals.stamp}\n`;
  for (const [name, c] of totals.columns) {
    out += `column\t${storable(name)}\t${c.total}\t${c.counter ?? "-"}\t${resetsText(c.resets)}\n`;
  }
  return out;
}

/** A column line as written: name, total, counter or -, resets. */
const COLUMN_LINE = /^column\t([^\t]+)\t(\d{1,40})\t(?:(\d{1,40})|-)\t([^\t]+)$/;

/** Throws the DataError naming what is wrong with a line that is not a column line. */
function badColumnLine(line: string, where: string): never {
  const f = line.split("\t");
  if (f.length !== 5 || f[0] !== "column" || f[1] === "") {
    throw new DataError(`${where}: expected "column" and 4 tab-separated fields ${FIX}`);
  }
  wholeNumber(f[2], "total", where);
  if (f[3] !== "-") wholeNumber(f[3], "counter", where);
  throw new DataError(`${where}: not a column line ${FIX}`);
}

/** Parses the text of version 2; `path` names it in errors (a DataError with file:line). */
export function parseTotals(text: string, path: string): Totals {
  const { lines, stamp } = totalsLines(text, TOTALS_MAGIC_2, path);
  const columns = new Map<string, ColumnTotal>();
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i] as string;
    const m = COLUMN_LINE.exec(line) ?? badColumnLine(line, `${path}:${i + 1}`);
    const [, name, total, counter, resets] = m as unknown as [string, string, string, string | undefined, string];
    if (columns.has(name)) throw new DataError(`${path}:${i + 1}: column ${name} appears twice ${FIX}`);
    columns.set(name, {
      total: BigInt(total),
      counter: counter === undefined ? undefined : BigInt(counter),
      resets: resetCounts(resets, `${path}:${i + 1}`),
    });
  }
  return { stamp, columns };
}

/** The sample a file of version 2 is of, and its totals as offsets. */
export function readVersion2(text: string, path: string): { stamp: string; offsets: Offsets } {
  const totals = parseTotals(text, path);
  return { stamp: totals.stamp, offsets: offsetsOfTotals(totals) };
}
