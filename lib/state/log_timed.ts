/**
 * The log's samples with their Unix time, streamed in constant memory: what
 * a store loads when it catches up from the log (`netmon import`, a run after
 * the database was away). Stamps are wall times in the zone the report
 * wrote them in (lib/state/zone_record.ts), read forward through
 * daylight-saving changes (a repeated autumn hour is ordered by the hint).
 *
 * @module
 */

import { DataError, EX, fileError, NetmonError } from "../host/errors.ts";
import { SafeFile } from "../host/safe_open.ts";
import { linesOfFile } from "../usage/log_samples.ts";
import { stampToNaive } from "../usage/local_time.ts";
import { type Hint, latestInstant, resolveWall, type Zone } from "../usage/zone.ts";
import type { Recorded } from "./record.ts";
import { logZone } from "./zone_record.ts";
import { ORIGINAL_METERS, parseHeader, parseLogLine, RESET_PREFIX, type Sample } from "./log_format.ts";
import { resetOf } from "./log_reader.ts";

/** A sample with its Unix time. */
export interface TimedSample {
  /** Unix time, seconds. */
  epoch: number;
  /** The sample as logged. */
  sample: Sample;
}

/**
 * The Unix time (seconds) of log stamp `stamp` written in `zone` (the log's: {@linkcode logZone}); `hint` (the
 * previous stamp's) orders a repeated autumn hour.
 */
export function stampSeconds(zone: Zone, stamp: string, hint?: Hint): { epoch: number; hint: Hint } {
  const h = resolveWall(zone, stampToNaive(stamp), hint);
  return { epoch: Math.floor(h.epoch / 1000), hint: h };
}

/**
 * The Unix times (seconds) of just-recorded sample `r`, its own instant's, and of the sample before it: the latest
 * instant of its stamp not after `r`'s (in the autumn's repeated hour, the pass it was written in).
 */
export function recordedSeconds(
  r: Pick<Recorded, "previous" | "epoch" | "zone">,
): { epoch: number; previous?: number } {
  const epoch = Math.floor(r.epoch / 1000);
  if (!r.previous) return { epoch };
  const previous = latestInstant(r.zone(), stampToNaive(r.previous.sample.timestamp), r.epoch);
  return { epoch, previous: Math.floor(previous / 1000) };
}

/**
 * Yields every sample of the log at `path`, oldest first, with its Unix
 * time and the resets the log records before it (`Sample.resets`, from its
 * `# netmon reset:` lines: what its counters cannot show). A bad line is a DataError naming file:line; a missing log is
 * NOINPUT (66). `named`: a log the user named on the command line, opened
 * through a link (symbolic or hard: a backup snapshot's), still only a
 * regular file.
 */
export async function* timedLogSamples(path: string, named = false): AsyncGenerator<TimedSample> {
  let columns: readonly string[] = ORIGINAL_METERS;
  let hint: Hint | undefined;
  let resets: Map<string, string> | undefined;
  let file: SafeFile | undefined;
  try {
    file = SafeFile.open(path, { what: "log", follow: named });
  } catch (err) {
    throw fileError(err, "read log", path);
  }
  if (!file) throw new NetmonError(`${path}: no such log`, EX.NOINPUT);
  try {
    const zone = logZone(path, named);
    for (const [line, lineNo] of linesOfFile(file, path)) {
      const header = parseHeader(line, `${path}:${lineNo}`);
      if (header) columns = header;
      else if (line.startsWith("#") && !line.startsWith(RESET_PREFIX) || line === "") continue;
      else {
        let sample: Sample;
        try {
          if (line.startsWith(RESET_PREFIX)) {
            const r = resetOf(line, columns, `${path}:${lineNo}`);
            (resets ??= new Map()).set(r.column, r.reason);
            continue;
          }
          sample = parseLogLine(line, columns, `${path}:${lineNo}`);
        } catch (err) {
          if (err instanceof DataError) throw new DataError(`${err.message} (correct or delete that line)`);
          throw err;
        }
        if (resets) sample.resets = resets;
        resets = undefined;
        const e = stampSeconds(zone, sample.timestamp, hint);
        hint = e.hint;
        yield { epoch: e.epoch, sample };
      }
    }
  } finally {
    file.close();
  }
}
