/**
 * The one transaction that records a sample: lock, read the previous state,
 * read the counters, find the resets (lib/state/identity.ts), append the
 * reset lines and the log line, replace the last file. A crash at
 * any instant leaves both files parseable, and the log never loses a
 * completed sample.
 *
 * @module
 */

import { appendWhole, AtomicFile, leftLongAgo, type Replacement, tidyTemporaries } from "../host/files.ts";
import type { Reading } from "../sources/source.ts";
import { computeUsage, type UsageResult } from "../usage/deltas.ts";
import { stampToNaive } from "../usage/local_time.ts";
import { localZone, wallToInstant, type Zone } from "../usage/zone.ts";
import { logZone } from "./zone_record.ts";
import { ensureStateDir, REPLACED_UNDER_LOCK, STATE_MODE, type StateFiles } from "./files.ts";
import { withLock } from "./lock.ts";
import {
  formatHeader,
  formatLast,
  formatLogLine,
  type LastState,
  ORIGINAL_METERS,
  parseLogLine,
  sameColumns,
  type Sample,
} from "./log_format.ts";
import { readLast, readLogTail, scanLog } from "./log_reader.ts";
import { type BootClock, bootClock } from "../host/boot.ts";
import { checkResets } from "./identity.ts";
import { STATUS_FILE } from "./status.ts";
import { logEndRepair } from "./log_end.ts";
import { lastLoggedValues } from "./log_back.ts";

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
  /** A repair of the log's end, made only once the new sample is ready to append (bad data leaves it unchanged). */
  repair?: () => void;
  /**
   * The log has no sample but the last file has one (the log was rotated: moved away, or emptied as logrotate's
   * copytruncate does): the new log begins with it, so that every reader bills the interval since, as the report does.
   */
  rotated?: boolean;
}

/**
 * Reconciles the last file with the log's end. Normally they agree; after an
 * interrupted run the log may be one sample ahead (rebuild the last state
 * from it) or end in a torn line (cut it off: that run never completed). A
 * last line that lacks only its newline is kept (see {@linkcode logEndRepair}).
 */
async function previousState(files: StateFiles, warnings: string[]): Promise<Previous> {
  const last = readLast(files.last);
  const tail = readLogTail(files.log);
  const end = logEndRepair(files, tail, last, warnings);
  const lastLine = end.complete ?? tail.lastLine;
  if (lastLine === undefined) return { last, logColumns: ORIGINAL_METERS, rotated: last !== undefined, ...end };
  if (last && !readsLogWhole(last, lastLine)) return { last, logColumns: [...last.sample.counters.keys()], ...end };
  const scan = await scanLog(files.log);
  if (!scan.last) return { last, logColumns: scan.columns, ...end };
  warnings.push(
    !last ? `${files.last} was missing; rebuilt from ${files.log}` : last.sample.timestamp <= scan.last.timestamp // a run killed after its append may have shared a second
      ? `${files.last} was behind ${files.log} (an interrupted run?); rebuilt from its last line`
      : `${files.last} did not match the end of ${files.log} (was the log cut back or edited?); rebuilt from its last line`,
  );
  return {
    last: { sample: scan.last, totalStart: last?.totalStart ?? scan.last.timestamp },
    logColumns: scan.columns,
    ...end,
  };
}

/**
 * Whether the report must read the log whole to continue it: the last file
 * is missing, or does not hold the sample of the log's last line `lastLine`
 * (an interrupted run, a log cut back or edited). Otherwise it reads only
 * the log's end, and a damaged line before it does not stop it (doctor says
 * which it is).
 */
export function readsLogWhole(last: LastState | undefined, lastLine: string): boolean {
  if (!last) return true;
  // Usually the log ends in the very line written for the last file's sample: compared as text, not parsed again.
  if (`${lastLine}\n` === formatLogLine(last.sample)) return false;
  try {
    return !sameSample(parseLogLine(lastLine, [...last.sample.counters.keys()], "log"), last.sample);
  } catch {
    return true; // not the last file's sample
  }
}

/**
 * True when even the earliest instant stamp `previous` of the log can name
 * (in `zone`, the log's) is after now: the clock was stepped back, not just
 * put back an hour for winter time (where the wall clock repeats an hour)
 * nor moved to a zone further west.
 */
function clockWentBack(zone: Zone, previous: string): boolean {
  return wallToInstant(zone, stampToNaive(previous)) > Date.now() + 1000;
}

/**
 * The last value in the log of each of `meters` that `previous` (the log's last sample) lacks and the log had before
 * (lib/state/log_back.ts). Those `netmon.totals`, kept up to `previous`, does not name were never in the log: not
 * looked for (a brand-new meter would have the whole log read backward, under the lock).
 */
async function comingBack(
  files: StateFiles,
  previous: Sample,
  meters: readonly string[],
): Promise<Map<string, bigint> | undefined> {
  let added = meters.filter((m) => !previous.counters.has(m));
  if (added.length === 0) return undefined;
  const { columnsEver } = await import("./totals_file.ts");
  const ever = columnsEver(files.dir, previous.timestamp, [...previous.counters.keys()]);
  if (ever) added = added.filter((m) => ever.has(m));
  return added.length > 0 ? lastLoggedValues(files.log, added) : undefined;
}

/** The outcome of one recorded sample. */
export interface Recorded {
  /** The state before this sample (undefined on a first run). */
  previous: LastState | undefined;
  /** The sample now in the log. */
  sample: Sample;
  /** The instant it was taken at (ms): in the hour repeated in autumn, which pass its stamp is of. */
  epoch: number;
  /**
   * The zone of the log's stamps, this sample's included once `onPrepare` has recorded it (lib/state/zone_record.ts):
   * read when first asked, once.
   */
  zone: () => Zone;
  /** Usage and resets since the previous sample. */
  usage: UsageResult;
  /** Repairs made on the way, for stderr. */
  warnings: string[];
  /** Packets since the last reading, from sources that clear on reading. */
  intervalPackets?: Map<string, bigint>;
}

/** A file's replacement, ready to be renamed into place (lib/host/files.ts). */
export type { Replacement };

/** What a file kept beside the last file is made from (see {@linkcode RecordOptions.besideLast}). */
export interface BesideStep {
  /** The sample before this one, if any. */
  previous: Sample | undefined;
  /** The sample being recorded. */
  sample: Sample;
  /** Warnings for stderr. */
  warnings: string[];
  /** The columns reset since the previous sample, with their reasons (those the counter shows and those it cannot). */
  resets: ReadonlyMap<string, string>;
  /** The last value in the log of each column that came back (the previous sample lacks it), when any did. */
  lastLogged?: ReadonlyMap<string, bigint>;
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
  /**
   * The sample's local stamp and the instant it was taken at; a stamp alone (tests) is read in this process's zone,
   * in the hour repeated in autumn as of its first pass.
   */
  now: () => string | Taken;
  /**
   * The zone of the log's stamps, asked with the lock held (see {@linkcode Recorded.zone}); default: the record
   * beside the log, read when first asked.
   */
  logZone?: () => Zone;
  /** How long to wait for another run's lock. */
  lockTimeoutMs?: number;
  /**
   * Called first with the lock held, before anything is read or written:
   * throws to refuse the state directory (another config's, which a start
   * holding the lock may have made it meanwhile: lib/state/installed.ts) or
   * a file in it the sample needs (a planted or damaged zone record), while
   * the counters are intact.
   */
  claim?: () => void;
  /** The boot time now (default: from the uptime): a test moves it to stand for a reboot. */
  clock?: () => BootClock;
  /**
   * Files kept in step with the last file (e.g. `netmon.totals`): called with the lock held before the log append,
   * returns their replacements written and synced; committed (renamed) after the append, or abandoned if it fails.
   * A commit must not throw: the sample is in the log by then.
   */
  besideLast?:
    | ((step: BesideStep) => Promise<Replacement[]>)
    | undefined;
  /**
   * Called with the lock held before the sample is appended, to make what
   * must not be lost with it (the mailed report): committed once the sample
   * is in the log, abandoned if it never gets there.
   */
  onPrepare?: ((recorded: Recorded) => Prepared | void | Promise<Prepared | void>) | undefined;
  /** Called with the lock still held once the sample is in both files (e.g. to store it). */
  onRecorded?: ((recorded: Recorded) => void | Promise<void>) | undefined;
}

/** A sample's local stamp and the instant (ms) it was taken at. */
export interface Taken {
  timestamp: string;
  epoch: number;
}

/** What {@linkcode RecordOptions.onPrepare} made, to keep or drop with the sample. */
export interface Prepared {
  commit(): void;
  abandon(): void;
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
  // Before any counter is read (pf -z clears them): a missing --allow-sys=osUptime stops the run here.
  const clock = (opts.clock ?? bootClock)();
  return await withLock(files, opts.lockTimeoutMs ?? 60_000, async () => {
    opts.claim?.();
    // What killed runs left half-written (the status's: once an hour old, as it is written after the lock is let go).
    // Only netmon's own: graph.ts may be writing its picture here meanwhile, without this lock.
    tidyTemporaries(
      files.dir,
      (target, path) => REPLACED_UNDER_LOCK.has(target) || (target === STATUS_FILE && leftLongAgo(path)),
    );
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
    const { last, repair } = state;
    previous.resolve(last?.sample);
    const reading = await pending;
    const counters = reading.bytes;
    const now = opts.now();
    const taken = typeof now === "string"
      ? { timestamp: now, epoch: wallToInstant(localZone(), stampToNaive(now)) }
      : now;
    const sample: Sample = { timestamp: taken.timestamp, counters };
    let read: Zone | undefined;
    const zone = opts.logZone ?? (() => read ??= logZone(files.log));
    if (last && sample.timestamp < last.sample.timestamp && clockWentBack(zone(), last.sample.timestamp)) {
      warnings.push(
        `the clock (${sample.timestamp}) is before the last sample (${last.sample.timestamp}): ` +
          "recorded anyway, as a step back; check the system clock (NTP)",
      );
    }
    if (reading.packets) sample.packets = reading.packets;
    const resets = checkResets(files, last?.sample, sample, reading, clock, warnings);
    const meters = [...counters.keys()];
    // A rotated log begins again with the last sample (under its header, unless it has the original two meters).
    const lastMeters = last && state.rotated ? [...last.sample.counters.keys()] : undefined;
    const logColumns = lastMeters ?? state.logColumns;
    const begun = last && lastMeters
      ? (sameColumns(ORIGINAL_METERS, lastMeters) ? "" : formatHeader(lastMeters)) + formatLogLine(last.sample)
      : "";
    const header = sameColumns(logColumns, meters) ? "" : formatHeader(meters);
    // Only when the columns changed: a column back in them counts from its last value in the log.
    const lastLogged = header && last ? await comingBack(files, last.sample, meters) : undefined;
    const usage = computeUsage(last, sample, resets.resets, lastLogged);
    const text = begun + header + resets.lines + formatLogLine(sample);
    // The sample as the log has it, its reset lines included (the PostgreSQL store keeps them).
    if (resets.logged.size > 0) sample.resets = resets.logged;
    const recorded: Recorded = { previous: last, sample, epoch: taken.epoch, zone, usage, warnings };
    if (reading.intervalPackets) recorded.intervalPackets = reading.intervalPackets;
    // The new last file is written first: a full disk then fails before the log changes.
    const next = new AtomicFile(files.last, STATE_MODE, "last file");
    next.write(formatLast({ sample, totalStart: usage.totalStart }));
    next.sync();
    const step: BesideStep = { previous: last?.sample, sample, warnings, resets: resets.resets };
    if (usage.lastLogged) step.lastLogged = usage.lastLogged;
    const beside = await opts.besideLast?.(step).catch(
      (err) => {
        next.abandon();
        throw err;
      },
    ) ?? [];
    let prepared: Prepared | void = undefined;
    try {
      prepared = await opts.onPrepare?.(recorded);
      repair?.();
      resets.commit(text); // before the append: see lib/state/identity.ts
      appendWhole(files.log, text, STATE_MODE, "log");
    } catch (err) {
      for (const f of [next, ...beside]) f.abandon();
      prepared?.abandon();
      throw err;
    }
    prepared?.commit();
    for (const f of [next, ...beside]) f.commit();
    resets.cleanup();
    await opts.onRecorded?.(recorded);
    return recorded;
  });
}
