/**
 * The state directory and the one transaction that records a sample:
 * lock, read the last state, read the counters, append the log line, replace
 * the last file. A crash at any instant leaves both files parseable, and the
 * log never loses a completed sample.
 *
 * @module
 */

import { DataError, EX, fileError, NetmonError } from "./errors.ts";
import {
  formatHeader,
  formatLast,
  formatLogLine,
  type LastState,
  ORIGINAL_METERS,
  parseHeader,
  parseLast,
  parseLogLine,
  sameColumns,
  type Sample,
} from "./log_format.ts";
import { readLines } from "./lines.ts";
import { stampToNaive, wallToEpoch } from "./local_time.ts";
import type { Reading } from "./sources/source.ts";
import { computeUsage, type UsageResult } from "./usage.ts";

/** Paths of the files in a state directory. */
export interface StateFiles {
  /** The directory. */
  dir: string;
  /** `netmon.log`: one line per sample, append-only. */
  log: string;
  /** `netmon.last`: the previous sample and the total-start stamp. */
  last: string;
  /** `netmon.lock`: held while a run records its sample. */
  lock: string;
}

/** The files of state directory `dir`. */
export function stateFiles(dir: string): StateFiles {
  const d = dir.replace(/\/+$/, "") || "/";
  return { dir: d, log: `${d}/netmon.log`, last: `${d}/netmon.last`, lock: `${d}/netmon.lock` };
}

/** Where the state directory is, from the first of these that is set. */
export interface StateDirInputs {
  /** `--state-dir`. */
  flag?: string | undefined;
  /** `NETMON_STATE_DIR`. */
  env?: string | undefined;
  /** `state_dir` in the config. */
  config?: string | undefined;
  /** The user id, for the default. */
  uid: () => number | null;
  /** `XDG_STATE_HOME`. */
  xdgStateHome: () => string | undefined;
  /** `HOME`. */
  home: () => string | undefined;
}

/**
 * Resolves the state directory: flag, env, config, then `/var/lib/netmon` for
 * root and `$XDG_STATE_HOME/netmon` or `~/.local/state/netmon` for others.
 */
export function resolveStateDir(i: StateDirInputs): string {
  const chosen = i.flag ?? i.env ?? i.config;
  if (chosen !== undefined && chosen !== "") return chosen;
  if (i.uid() === 0) return "/var/lib/netmon";
  const xdg = i.xdgStateHome();
  if (xdg) return `${xdg}/netmon`;
  const home = i.home();
  if (!home) {
    throw new NetmonError("No state directory: set --state-dir, NETMON_STATE_DIR or HOME", EX.CONFIG);
  }
  return `${home}/.local/state/netmon`;
}

/** Creates the state directory (mode 0750) if it is missing. */
export function ensureStateDir(files: StateFiles): void {
  try {
    Deno.mkdirSync(files.dir, { recursive: true, mode: 0o750 });
  } catch (err) {
    throw fileError(err, "create state directory", files.dir);
  }
}

/**
 * Runs `fn` holding the state directory's lock, so overlapping runs (cron
 * firing while a slow run goes on) queue instead of interleaving. Gives up
 * with exit 75 after `timeoutMs`.
 */
export async function withLock<T>(files: StateFiles, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let lockFile: Deno.FsFile;
  try {
    lockFile = Deno.openSync(files.lock, { write: true, create: true, mode: 0o640 });
  } catch (err) {
    throw fileError(err, "create lock file", files.lock);
  }
  try {
    // Usually nobody holds it: take it at once, without timers or promises.
    if (lockFile.tryLockSync(true)) return await fn();
    // AbortSignal.timeout, unlike setTimeout, does not keep the process alive.
    const signal = AbortSignal.timeout(timeoutMs);
    const timeout = new Promise<never>((_, reject) => {
      signal.addEventListener("abort", () => {
        reject(
          new NetmonError(
            `Another netmon run has held ${files.lock} for ${timeoutMs / 1000} s; giving up, try again later`,
            EX.TEMPFAIL,
          ),
        );
      });
    });
    await Promise.race([lockFile.lock(true), timeout]);
    return await fn();
  } finally {
    // Closing the file releases the lock, even if lock() is still pending.
    lockFile.close();
  }
}

/** Reads the last file, or undefined if there is none. */
export function readLast(path: string): LastState | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw fileError(err, "read last file", path);
  }
  return parseLast(text, path);
}

/** The end of the log: its last complete line, and any torn fragment after it. */
export interface LogTail {
  /** File size in bytes (0 when missing). */
  size: number;
  /** The last complete line without its LF, if any. */
  lastLine?: string;
  /** Offset where an incomplete final line (no LF) starts, if there is one. */
  tornAt?: number;
}

/** Reads just the end of the log, however long it is. */
export function readLogTail(path: string): LogTail {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { size: 0 };
    throw fileError(err, "read log", path);
  }
  try {
    const size = file.statSync().size;
    let chunk = 64 * 1024;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buf = new Uint8Array(size - start);
      file.seekSync(start, Deno.SeekMode.Start);
      let got = 0;
      while (got < buf.length) {
        const n = file.readSync(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      const end = buf.lastIndexOf(10);
      const tail: LogTail = { size };
      if (end < 0 && start > 0) {
        chunk *= 4;
        continue;
      }
      if (end + 1 < got) tail.tornAt = start + end + 1;
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
    throw fileError(err, "read log", path);
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
 * the header before it (the original two when there is none). A bad line
 * is a DataError naming file:line; a missing log is Deno's NotFound.
 */
export async function forEachLogSample(
  path: string,
  each: (sample: Sample) => void,
  onHeader?: (columns: readonly string[]) => void,
): Promise<void> {
  let columns: readonly string[] = ORIGINAL_METERS;
  let lineNo = 0;
  try {
    for await (const line of readLines(path)) {
      lineNo++;
      const header = parseHeader(line);
      if (header) {
        columns = header;
        onHeader?.(header);
      } else if (line.startsWith("#") || line === "") continue;
      else each(parseLogLine(line, columns, `${path}:${lineNo}`));
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw err;
    if (err instanceof DataError) throw new DataError(`${err.message} (correct or delete that line)`);
    throw err instanceof NetmonError ? err : fileError(err, "read log", path);
  }
}

/** Reads the whole log to find its current columns and last sample. */
export async function scanLog(path: string): Promise<LogScan> {
  const scan: LogScan = { columns: ORIGINAL_METERS };
  try {
    await forEachLogSample(path, (sample) => (scan.last = sample), (columns) => (scan.columns = columns));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return scan;
}

function sameSample(a: Sample, b: Sample): boolean {
  if (a.timestamp !== b.timestamp || a.counters.size !== b.counters.size) return false;
  for (const [m, v] of a.counters) if (b.counters.get(m) !== v) return false;
  return true;
}

/** The previous state and what the log's current columns are. */
interface Previous {
  last: LastState | undefined;
  /** The meters of the log's last header; a log without one has the original two. */
  logColumns: readonly string[];
}

/**
 * Reconciles the last file with the log's end. Normally they agree; after an
 * interrupted run the log may be one sample ahead (rebuild the last state
 * from it) or end in a torn line (cut it off: that run never completed).
 */
async function previousState(files: StateFiles, warnings: string[]): Promise<Previous> {
  const last = readLast(files.last);
  const tail = readLogTail(files.log);
  if (tail.tornAt !== undefined) {
    try {
      Deno.truncateSync(files.log, tail.tornAt);
    } catch (err) {
      throw fileError(err, "repair log", files.log);
    }
    warnings.push(
      `${files.log}: removed ${tail.size - tail.tornAt} bytes of an incomplete last line left by an interrupted run`,
    );
  }
  if (tail.lastLine === undefined) return { last, logColumns: ORIGINAL_METERS };
  if (last) {
    const columns = [...last.sample.counters.keys()];
    try {
      const fromLog = parseLogLine(tail.lastLine, columns, files.log);
      if (sameSample(fromLog, last.sample)) return { last, logColumns: columns };
    } catch {
      // Not the last file's sample: fall through and read the log.
    }
  }
  const scan = await scanLog(files.log);
  if (!scan.last) return { last, logColumns: scan.columns };
  warnings.push(
    last
      ? `${files.last} was behind ${files.log} (an interrupted run?); rebuilt from its last line`
      : `${files.last} was missing; rebuilt from ${files.log}`,
  );
  return {
    last: { sample: scan.last, totalStart: last?.totalStart ?? scan.last.timestamp },
    logColumns: scan.columns,
  };
}

const encoder = new TextEncoder();

function writeAll(file: Deno.FsFile, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += file.writeSync(data.subarray(done));
}

/** Appends `text` to the log whole, or not at all. */
function appendLog(path: string, text: string): void {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { append: true, create: true, mode: 0o640 });
  } catch (err) {
    throw fileError(err, "create log", path);
  }
  let size = 0;
  try {
    size = file.statSync().size;
    writeAll(file, encoder.encode(text));
    file.syncDataSync();
  } catch (err) {
    // Leave no partial line behind (e.g. the disk filled up mid-write).
    try {
      file.truncateSync(size);
    } catch { /* the next run cuts a torn line off anyway */ }
    throw fileError(err, "append to log", path);
  } finally {
    file.close();
  }
}

/**
 * Writes and syncs `text` to a temporary file beside `path`, to be renamed
 * over it by {@linkcode commitReplace}. A full disk fails here, before
 * anything else has changed.
 */
export function prepareReplace(path: string, text: string): string {
  const tmp = `${path}.tmp`;
  try {
    const file = Deno.openSync(tmp, { write: true, create: true, truncate: true, mode: 0o640 });
    try {
      writeAll(file, encoder.encode(text));
      file.syncDataSync();
    } finally {
      file.close();
    }
    return tmp;
  } catch (err) {
    discard(tmp);
    throw fileError(err, "write", path);
  }
}

/** Removes a temporary file, if it is there. */
function discard(tmp: string): void {
  try {
    Deno.removeSync(tmp);
  } catch { /* nothing to clean */ }
}

/** Renames a prepared temporary file over `path` (atomic), then syncs the directory so the rename survives a crash. */
export function commitReplace(tmp: string, path: string): void {
  try {
    Deno.renameSync(tmp, path);
  } catch (err) {
    discard(tmp);
    throw fileError(err, "write", path);
  }
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  try {
    const d = Deno.openSync(dir, { read: true });
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch { /* the rename is done; a directory that cannot be synced only weakens durability */ }
}

/** Replaces `path` atomically: write a temporary file, sync it, rename it over. */
export function replaceFile(path: string, text: string): void {
  commitReplace(prepareReplace(path, text), path);
}

/**
 * True when even the earliest instant local stamp `previous` can name is
 * after now: the clock was stepped back, not just put back an hour for
 * winter time (where the wall clock repeats an hour).
 */
function clockWentBack(previous: string): boolean {
  return wallToEpoch(stampToNaive(previous)) > Date.now() + 1000;
}

/** The outcome of one recorded sample. */
export interface Recorded {
  /** The state before this sample (undefined on a first run). */
  previous: LastState | undefined;
  /** The sample now in the log. */
  sample: Sample;
  /** Usage and resets since the previous sample. */
  usage: UsageResult;
  /** Repairs made on the way, for stderr. */
  warnings: string[];
  /** Packets since the last reading, from sources that clear on reading. */
  intervalPackets?: Map<string, bigint>;
}

/** Options of {@linkcode recordSample}. */
export interface RecordOptions {
  /**
   * Reads every column's counters; called with the lock held, before the last
   * logged sample is known: a source may start its command at once and only
   * then wait for `previous` (which rejects if the previous state cannot be
   * read). A source that clears counters on reading must wait for it first.
   */
  readCounters: (previous: Promise<Sample | undefined>) => Promise<Reading>;
  /** The local timestamp for the sample. */
  now: () => string;
  /** How long to wait for another run's lock. */
  lockTimeoutMs?: number;
  /** Called with the lock still held once the sample is in both files (e.g. to spool its mail). */
  onRecorded?: ((recorded: Recorded) => void | Promise<void>) | undefined;
}

/**
 * Records one sample: with the lock held, reads the counters, writes the new
 * last file beside the old one, appends the log line (after a header when the
 * meters changed), and renames the new last file into place. A full disk
 * fails before the log changes; a crash after the append leaves the log one
 * sample ahead, which the next run repairs.
 */
export async function recordSample(files: StateFiles, opts: RecordOptions): Promise<Recorded> {
  ensureStateDir(files);
  return await withLock(files, opts.lockTimeoutMs ?? 60_000, async () => {
    const warnings: string[] = [];
    // The read starts first: its command runs while the previous state is read.
    const previous = Promise.withResolvers<Sample | undefined>();
    previous.promise.catch(() => {}); // a source need not wait for it
    const pending = opts.readCounters(previous.promise);
    pending.catch(() => {}); // awaited below, after the previous state
    let state: Previous;
    try {
      state = await previousState(files, warnings);
    } catch (err) {
      previous.reject(err);
      throw err;
    }
    const { last, logColumns } = state;
    previous.resolve(last?.sample);
    const reading = await pending;
    const counters = reading.bytes;
    const sample: Sample = { timestamp: opts.now(), counters };
    if (last && sample.timestamp < last.sample.timestamp && clockWentBack(last.sample.timestamp)) {
      warnings.push(
        `the clock (${sample.timestamp}) is before the last sample (${last.sample.timestamp}): ` +
          "recorded anyway, as a step back; check the system clock (NTP)",
      );
    }
    if (reading.packets) sample.packets = reading.packets;
    const usage = computeUsage(last, sample);
    const meters = [...counters.keys()];
    const header = sameColumns(logColumns, meters) ? "" : formatHeader(meters);
    // The new last file is written first: a full disk then fails before the log changes.
    const tmp = prepareReplace(files.last, formatLast({ sample, totalStart: usage.totalStart }));
    try {
      appendLog(files.log, header + formatLogLine(sample));
    } catch (err) {
      discard(tmp);
      throw err;
    }
    commitReplace(tmp, files.last);
    const recorded: Recorded = { previous: last, sample, usage, warnings };
    if (reading.intervalPackets) recorded.intervalPackets = reading.intervalPackets;
    await opts.onRecorded?.(recorded);
    return recorded;
  });
}
