/**
 * A column's last value in the log, for a column that comes back (a meter
 * removed from the config, then put back, with no `netmon start` between):
 * its counter kept counting while it was away, so it counts from that value,
 * in the report and the running totals as in every reader of the log
 * (lib/usage/engine.ts). Read backward from the log's end, one header's lines
 * at a time, stopping as soon as every column asked for is found; only a
 * report whose sample has a column the previous sample lacks reads it.
 *
 * @module
 */

import { DataError, fileError, NetmonError } from "../host/errors.ts";
import { MAX_LINE } from "../host/lines.ts";
import { SafeFile } from "../host/safe_open.ts";
import { HEADER_PREFIX, ORIGINAL_METERS, parseHeader, parseLogLine } from "./log_format.ts";

/** 256 KiB a read: a line of 10,000 meters is about as long. */
const CHUNK = 1 << 18;
const LF = 10;
const HASH = 35;

/**
 * Calls `fn` with each line of `file` (`size` bytes) as a byte range of
 * `buf`, from the last to the first, until it returns true. Stops at a line
 * far longer than {@linkcode MAX_LINE} characters (not netmon's: a damaged
 * region, whose end is not known), and then returns false.
 */
function eachLineBackward(
  file: SafeFile,
  size: number,
  path: string,
  fn: (buf: Uint8Array, from: number, to: number) => boolean,
): boolean {
  let pos = size;
  let carry = new Uint8Array(0);
  while (pos > 0) {
    const start = Math.max(0, pos - CHUNK);
    const buf = new Uint8Array(pos - start + carry.length);
    file.seekSync(start);
    for (let got = 0; got < pos - start;) {
      const n = file.readSync(buf.subarray(got, pos - start));
      if (n === null) throw new DataError(`${path}: the log shrank while it was read`);
      got += n;
    }
    buf.set(carry, pos - start);
    let end = buf.length;
    // end > 0: lastIndexOf counts a negative start from the end.
    for (let nl: number; end > 0 && (nl = buf.lastIndexOf(LF, end - 1)) >= 0; end = nl) {
      if (fn(buf, nl + 1, end)) return true;
    }
    carry = buf.subarray(0, end);
    if (carry.length > 4 * MAX_LINE) return false;
    pos = start;
  }
  fn(carry, 0, carry.length);
  return true;
}

/**
 * The last value in the log at `path` of each of `columns` that the log has
 * (under a header naming it, or the original two without one); those it
 * never had, and those whose last line or header is damaged, or found only
 * above a damaged header or an over-long line, are not in the result (they
 * start at their first value). A missing log has none.
 *
 * @example
 * ```ts
 * // a log: "# netmon meters:\ta\tb", "…\t1\t7", "# netmon meters:\ta", "…\t2"
 * lastLoggedValues("/var/lib/netmon/netmon.log", ["b"]); // Map { "b" => 7n }
 * ```
 */
export function lastLoggedValues(path: string, columns: readonly string[]): Map<string, bigint> {
  const found = new Map<string, bigint>();
  const wanted = new Set(columns);
  let file: SafeFile | undefined;
  try {
    file = SafeFile.open(path, { what: "log" });
    if (!file || wanted.size === 0) return found;
    const decoder = new TextDecoder();
    // The last data line met since the header above it: the last sample under that header.
    let last: string | undefined;
    /** The columns of the lines below `header` that are still wanted, taken from `last`. */
    const settle = (header: readonly string[]) => {
      // A header with no sample under it (another right after it) says nothing: look further back.
      if (last === undefined) return;
      const hit = header.filter((c) => wanted.has(c));
      if (hit.length === 0) return;
      for (const c of hit) wanted.delete(c);
      try {
        const sample = parseLogLine(last, header, path);
        for (const c of hit) found.set(c, sample.counters.get(c) as bigint);
      } catch {
        // A damaged line: its columns start at their first value, as before this lookup.
      }
    };
    let headersRead = true;
    // An over-long line, like a damaged header: what is above it is not known.
    const read = eachLineBackward(file, file.statSync().size, path, (buf, from, to) => {
      if (to === from) return false;
      if (buf[from] !== HASH) {
        last ??= decoder.decode(buf.subarray(from, to));
        return false;
      }
      const line = decoder.decode(buf.subarray(from, to));
      if (!line.startsWith(HEADER_PREFIX)) return false;
      try {
        settle(parseHeader(line, path) as string[]);
      } catch {
        headersRead = false; // a damaged header: what is above it is not known
        return true;
      }
      last = undefined;
      return wanted.size === 0;
    });
    if (read && headersRead && wanted.size > 0) settle(ORIGINAL_METERS);
    return found;
  } catch (err) {
    throw err instanceof NetmonError ? err : fileError(err, "read log", path);
  } finally {
    file?.close();
  }
}
