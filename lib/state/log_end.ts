/**
 * What to do with a log whose last line has no newline: a sample written
 * whole but for its LF is kept (the LF added), anything else is an
 * interrupted append and is cut off. Either repair is only planned here; the
 * record step makes it once its own sample is ready, so a run that fails on
 * bad data leaves the log as it was.
 *
 * @module
 */

import { appendWhole } from "../host/files.ts";
import { fileError } from "../host/errors.ts";
import { SafeFile } from "../host/safe_open.ts";
import type { StateFiles } from "./files.ts";
import { STATE_MODE } from "./files.ts";
import { type LastState, parseLogLine } from "./log_format.ts";
import type { LogTail } from "./log_reader.ts";

/** The planned repair of the log's end, and the complete last line it keeps, if any. */
export interface LogEnd {
  /** Makes the repair. */
  repair?: () => void;
  /** The last line, when it was complete but for its newline. */
  complete?: string;
}

/**
 * Plans the repair of a log ending in `tail.torn` (no LF). `last` is the last
 * file's state: a final line equal to its sample is complete. Warnings say
 * what will be done.
 */
export function logEndRepair(
  files: StateFiles,
  tail: LogTail,
  last: LastState | undefined,
  warnings: string[],
): LogEnd {
  if (tail.tornAt === undefined || tail.torn === undefined) return {};
  const torn = tail.torn;
  const tornAt = tail.tornAt;
  if (last) {
    try {
      const s = parseLogLine(torn, [...last.sample.counters.keys()], files.log);
      const same = s.timestamp === last.sample.timestamp && s.counters.size === last.sample.counters.size &&
        [...s.counters].every(([m, v]) => last.sample.counters.get(m) === v);
      if (same) {
        warnings.push(
          `${files.log}: its last line, the sample of ${s.timestamp}, had no newline (written by something else, or ` +
            "edited?); kept, and the newline added",
        );
        return { complete: torn, repair: () => appendWhole(files.log, "\n", STATE_MODE, "log") };
      }
    } catch {
      // Not that sample: an interrupted append.
    }
  }
  warnings.push(
    `${files.log}: removed ${tail.size - tornAt} bytes of an incomplete last line left by an interrupted run`,
  );
  return {
    repair: () => {
      const f = SafeFile.must(files.log, { what: "log", write: true });
      try {
        f.truncateSync(tornAt);
        f.syncDataSync();
      } catch (err) {
        throw fileError(err, "repair log", files.log);
      } finally {
        f.close();
      }
    },
  };
}
