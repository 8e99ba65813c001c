/**
 * Keeping `netmon.totals` (the reset-corrected running totals) in step with
 * the log, inside the record transaction: the new file is written and synced
 * before the log line is appended and renamed into place after it, as
 * `netmon.last` is. When the file is missing, unreadable, or its stamp is not
 * the previous sample's (a crash between the two renames, a file deleted, the
 * textfile configured later), it is rebuilt from the log first. It is
 * therefore written without fsync: the log is what survives a power loss.
 *
 * @module
 */

import { AtomicFile } from "../host/files.ts";
import { readWholeText } from "../host/safe_open.ts";
import { utf8 } from "../host/utf8.ts";
import { nextTotals, type Totals } from "../usage/running_totals.ts";
import { STATE_MODE } from "./files.ts";
import type { Sample } from "./log_format.ts";
import { forEachLogSample } from "./log_reader.ts";
import { formatTotals, isOldTotals, parseTotals, TOTALS_FILE } from "./totals_file.ts";

/** `netmon.totals` in state directory `dir`. */
export function totalsPath(dir: string): string {
  return `${dir}/${TOTALS_FILE}`;
}

/** The totals file's content, or undefined when missing, of an older version or unreadable (`warnings` says which). */
export function readTotals(path: string, warnings: string[]): Totals | undefined {
  // 64 MiB: ten times the file of 100,000 columns.
  const text = readWholeText(path, { what: "totals file" }, 64 << 20);
  if (text === undefined || isOldTotals(text)) return undefined;
  try {
    return parseTotals(text, path);
  } catch (err) {
    warnings.push(`${err instanceof Error ? err.message : err}; rebuilt from the log`);
    return undefined;
  }
}

/** The totals after the log's last sample, rebuilt by reading it whole (undefined for an empty or missing log). */
export async function totalsOfLog(log: string): Promise<Totals | undefined> {
  let t: Totals | undefined;
  try {
    // A `# netmon reset:` line before a sample: its column was reset whatever the counter shows.
    await forEachLogSample(log, (s) => (t = nextTotals(t, s, s.resets)));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return t;
}

/** The totals after a sample, and their file ready to be renamed into place. */
export interface PreparedTotals {
  /** The totals including `sample`. */
  totals: Totals;
  /** The new `netmon.totals`, written and synced: commit after the log append, abandon if it fails. */
  file: AtomicFile;
}

/**
 * Computes the totals after `sample` and writes them to a replacement of the
 * totals file. `previous` is the sample before it (the log's last line);
 * `resets` the columns reset since it, with their reasons (the record step's
 * `resets`). Call with the state lock held, before the log append.
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
  let before: Totals | undefined;
  if (previous !== undefined) {
    before = readTotals(path, warnings);
    if (before?.stamp !== previous.timestamp) {
      if (before !== undefined) {
        warnings.push(
          `${path} was of ${before.stamp}, not the last sample ${previous.timestamp}: rebuilt from the log`,
        );
      }
      before = await totalsOfLog(log);
    }
  }
  const totals = nextTotals(before, sample, resets);
  // Not synced: whatever a power loss leaves (the old file, an empty one) fails the stamp check or the parse, and
  // the next run rebuilds it from the log, whose append is synced; so no fsync is added to a report.
  const file = new AtomicFile(path, STATE_MODE, "totals file", { durable: false });
  file.write(utf8(formatTotals(totals)));
  file.sync();
  return { totals, file };
}
