/**
 * The fields of `netmon.totals` as text, whatever its version: names,
 * numbers, reset counts, the first two lines, and the fix every error about
 * the file names. Shared by the current format (totals_file.ts) and the
 * reader of version 2 (totals_v2.ts), which the first loads only to take such
 * a file over.
 *
 * @module
 */

import { DataError } from "../host/errors.ts";
import { isTimestamp } from "../usage/local_time.ts";
import { NO_RESETS } from "../usage/offsets.ts";

/** The first line of version 2. */
export const TOTALS_MAGIC_2 = "# netmon totals 2";

/** The fix named by every error about the file. */
export const FIX = "(delete the file: netmon rebuilds it from the log)";

const LABEL = /^[a-z0-9_]{1,64}$/;

/** `name` as a field of the file (no white space, not empty). */
export function storable(name: string): string {
  if (name === "" || /\s/.test(name)) throw new RangeError(`Column name ${JSON.stringify(name)} cannot be stored`);
  return name;
}

/** A RESETS field for `resets`. */
export function resetsText(resets: ReadonlyMap<string, bigint>): string {
  if (resets.size === 0) return "-";
  return [...resets].map(([label, n]) => {
    if (!LABEL.test(label)) throw new RangeError(`Reset label ${JSON.stringify(label)} cannot be stored`);
    return `${label}=${n}`;
  }).join(",");
}

/** `text` as a whole number (negative only for an offset), or the DataError naming `where`. */
export function wholeNumber(text: string | undefined, what: string, where: string): bigint {
  if (text === undefined || !/^-?\d{1,40}$/.test(text) || (what !== "offset" && text.startsWith("-"))) {
    throw new DataError(`${where}: ${what} ${JSON.stringify(text ?? "")} is not a whole number ${FIX}`);
  }
  return BigInt(text);
}

/** The reset counts of a RESETS field, or the DataError naming `where`. */
export function resetCounts(text: string, where: string): ReadonlyMap<string, bigint> {
  if (text === "-") return NO_RESETS;
  const out = new Map<string, bigint>();
  for (const part of text.split(",")) {
    const [label, n, more] = part.split("=");
    if (label === undefined || !LABEL.test(label) || more !== undefined || out.has(label)) {
      throw new DataError(`${where}: resets ${JSON.stringify(text)} must be "-" or REASON=COUNT,… ${FIX}`);
    }
    out.set(label, wholeNumber(n, "reset count", where));
  }
  return out;
}

/** The lines of `text` but the last (empty), checked: `magic`, then the stamp line; and the stamp. */
export function totalsLines(text: string, magic: string, path: string): { lines: string[]; stamp: string } {
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
