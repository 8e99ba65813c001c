/**
 * `netmon.status`: how the last report ended (its stamp, exit status and
 * message), written at the end of every report whether it succeeded or not,
 * so that `netmon check` can say "rules missing" without touching the
 * firewall.
 *
 * @module
 */

import { replaceFile } from "../host/files.ts";
import { readWholeText } from "../host/safe_open.ts";
import { STATE_MODE, type StateFiles } from "./files.ts";

/** How a report ended. */
export interface ReportStatus {
  /** When (ISO 8601). */
  stamp: string;
  /** Its exit status. */
  exit: number;
  /** Its one-line message ("ok" when it succeeded). */
  message: string;
}

/** The status file's name in the state directory. */
export const STATUS_FILE = "netmon.status";

/** The status file of a state directory. */
export function statusPath(files: StateFiles): string {
  return `${files.dir}/${STATUS_FILE}`;
}

/**
 * Records how this report ended; a state directory that cannot take it only loses this note. Not synced, as the
 * other notes beside the log (the cycle tally, the parsed config): after a power loss it may be the previous
 * report's note, or none, until the next report writes it (two syncs fewer on every run).
 */
export function writeStatus(files: StateFiles, exit: number, message: string): void {
  const line = `${new Date().toISOString()}\t${exit}\t${message.split("\n")[0]?.replace(/\t/g, " ") ?? ""}\n`;
  try {
    replaceFile(statusPath(files), line, STATE_MODE, "status", { durable: false });
  } catch { /* the report's own outcome is what matters: it is printed and returned */ }
}

/** How the last report ended, if it said. */
export function readStatus(files: StateFiles): ReportStatus | undefined {
  let text: string | undefined;
  try {
    text = readWholeText(statusPath(files), { what: "status file" }, 1 << 20);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const [stamp, exit, message] = text.replace(/\n$/, "").split("\t");
  if (stamp === undefined || exit === undefined || !/^\d+$/.test(exit)) return undefined;
  return { stamp, exit: Number(exit), message: message ?? "" };
}
