/**
 * Reading the state files back: the last file, the log's end without reading
 * it whole, and every sample of the log in order under its header's columns.
 *
 * @module
 */

import { DataError, fileError, NetmonError } from "../host/errors.ts";
import { forEachLineSync, MAX_LINE } from "../host/lines.ts";
import { readWholeText, SafeFile } from "../host/safe_open.ts";
import {
  type LastState,
  ORIGINAL_METERS,
  parseHeader,
  parseLast,
  parseLogLine,
  parseResetLine,
  RESET_PREFIX,
  type ResetLine,
  type Sample,
} from "./log_format.ts";

/** Reads the last file (a regular file, not through a link, never blocking), or undefined if there is none. */
export function readLast(path: string): LastState | undefined {
  const text = readWholeText(path, { what: "last file" }, 2 * MAX_LINE + 2);
  if (text === undefined) return undefined;
  try {
    return parseLast(text, path);
  } catch (e) {
    // The log holds every sample: a last file netmon cannot read is rebuilt from it once it is gone.
    if (!(e instanceof DataError) || /delete it|dos2unix/.test(e.message)) throw e; // those say how already
    throw new DataError(`${e.message}: delete it, and the next report rebuilds it from the log's last line`);
  }
}

/**
 * Opens the log at `path` to read it through (a regular file, not through a
 * link, no FIFO waited on: see safe_open.ts); a missing log, or one refused,
 * is a one-line NetmonError.
 */
export function openLog(path: string): SafeFile {
  try {
    const file = SafeFile.open(path, { what: "log" });
    if (!file) throw new Deno.errors.NotFound("No such file or directory (os error 2)");
    return file;
  } catch (err) {
    throw fileError(err, "read log", path);
  }
}

/** The end of the log: its last complete line, and any torn fragment after it. */
export interface LogTail {
  /** File size in bytes (0 when missing). */
  size: number;
  /** The last complete line without its LF, if any. */
  lastLine?: string;
  /** Offset where an incomplete final line (no LF) starts, if there is one. */
  tornAt?: number;
  /** That final line's text. */
  torn?: string;
}

/** The 1-based number of the line at byte `offset` of the open file (read up to there): for messages only. */
function lineAt(file: SafeFile, offset: number): number {
  const buf = new Uint8Array(1 << 16);
  let line = 1;
  file.seekSync(0);
  for (let done = 0; done < offset;) {
    const n = file.readSync(buf.subarray(0, Math.min(buf.length, offset - done)));
    if (n === null) break;
    for (let i = 0; i < n; i++) if (buf[i] === 10) line++;
    done += n;
  }
  return line;
}

/**
 * Reads just the end of the log, however long it is: at most its last two
 * lines, each refused (DataError with file:line) beyond what netmon writes.
 */
export function readLogTail(path: string): LogTail {
  const file = SafeFile.open(path, { what: "log" });
  if (!file) return { size: 0 };
  try {
    const size = file.statSync().size;
    let chunk = 64 * 1024;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buf = new Uint8Array(size - start);
      file.seekSync(start);
      let got = 0;
      while (got < buf.length) {
        const n = file.readSync(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      const end = buf.lastIndexOf(10);
      const tail: LogTail = { size };
      if (chunk > 4 * MAX_LINE + 2) {
        const from = end < 0 ? start : start + end + 1;
        throw new DataError(
          `${path}:${lineAt(file, from)}: line longer than ${MAX_LINE} characters: not a line netmon wrote ` +
            "(is this netmon's log?)",
        );
      }
      if (end < 0 && start > 0) {
        chunk *= 4;
        continue;
      }
      if (end + 1 < got) {
        tail.tornAt = start + end + 1;
        tail.torn = new TextDecoder().decode(buf.subarray(end + 1, got));
      }
      if (end < 0) return tail;
      const prev = buf.lastIndexOf(10, end - 1);
      if (prev < 0 && start > 0) {
        chunk *= 4;
        continue;
      }
      tail.lastLine = new TextDecoder().decode(buf.subarray(prev + 1, end));
      return tail;
    }
  } catch (err) {
    throw err instanceof NetmonError ? err : fileError(err, "read log", path);
  } finally {
    file.close();
  }
}

/** What the log ends with, found by reading it whole. */
export interface LogScan {
  /** The meters of the last header (the original two when there is none). */
  columns: readonly string[];
  /** The last data line's sample, if any. */
  last?: Sample;
}

/**
 * Calls `each` with every sample of the log in order, under the columns of
 * the header before it (the original two when there is none), with the
 * resets its reset lines record in `resets`. A bad line is a DataError
 * naming file:line; a missing log is Deno's NotFound. The log is opened as a
 * regular file not through a link, unless `opts.follow` (a log the user
 * named); `opts.skipTorn` skips a last line with no newline.
 */
export function forEachLogSample(
  path: string,
  each: (sample: Sample) => void,
  onHeader?: (columns: readonly string[]) => void,
  opts: { follow?: boolean; skipTorn?: boolean } = {},
): Promise<void> {
  const follow = opts.follow ?? false;
  let columns: readonly string[] = ORIGINAL_METERS;
  let resets: Map<string, string> | undefined;
  try {
    const file = SafeFile.must(path, { what: "log", follow });
    try {
      forEachLineSync(file, path, (line, lineNo) => {
        const header = parseHeader(line, `${path}:${lineNo}`);
        if (header) {
          columns = header;
          onHeader?.(header);
        } else if (line.startsWith(RESET_PREFIX)) {
          const r = resetOf(line, columns, `${path}:${lineNo}`);
          (resets ??= new Map()).set(r.column, r.reason);
        } else if (line.startsWith("#") || line === "") return;
        else {
          const sample = parseLogLine(line, columns, `${path}:${lineNo}`);
          if (resets) sample.resets = resets;
          resets = undefined;
          each(sample);
        }
      }, opts.skipTorn ? { onTorn: () => {} } : {});
    } finally {
      file.close();
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw err;
    if (err instanceof DataError) throw new DataError(`${err.message} (correct or delete that line)`);
    throw err instanceof NetmonError ? err : fileError(err, "read log", path);
  }
  return Promise.resolve();
}

/** A reset line's column and reason, checked against the columns of the samples it can apply to. */
export function resetOf(line: string, columns: readonly string[], where: string): ResetLine {
  let r: ResetLine | undefined;
  try {
    r = parseResetLine(line) as ResetLine;
  } catch (err) {
    throw new DataError(`${where}: ${err instanceof Error ? err.message : err}`);
  }
  if (!columns.includes(r.column)) {
    throw new DataError(`${where}: reset line names ${JSON.stringify(r.column)}, not a column of the log here`);
  }
  return r;
}

/** Reads the whole log to find its current columns and last sample. */
export async function scanLog(path: string): Promise<LogScan> {
  const scan: LogScan = { columns: ORIGINAL_METERS };
  try {
    // A torn last line is the record step's to repair: not a sample.
    await forEachLogSample(path, (sample) => (scan.last = sample), (columns) => (scan.columns = columns), {
      skipTorn: true,
    });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return scan;
}
