/**
 * `netmon start`'s record of the columns whose rules (or counters) it made
 * afresh (`netmon.started` in the state directory): the next report treats
 * those columns as reset whatever their counters say, since rules made
 * afresh count from zero and may have passed the old value already, and
 * nothing else may show it: iptables' counters have no identity of their
 * own, and an nftables counter's is unknown where the column's previous
 * sample was of iptables (a switch of source) or there was none (a meter
 * added: its first sample's reset line makes every reader count its whole
 * value). A record of a counter whose identity is the one it had at the
 * previous sample has no effect (lib/usage/resets.ts).
 *
 * `start` holds the state directory's lock (lib/cli/firewall.ts: from reading
 * its record of installed rules to writing it) while it writes this record
 * and runs its firewall commands, so a report's counters are read either
 * wholly before the change (and that report does not see the record) or
 * wholly after it. The record is written before the commands: a start
 * killed between the two leaves a record of a change that may not have
 * happened, so a report applies a record only to columns whose rules it finds
 * all in the exact text start writes, each once and with no other rule of
 * theirs (start re-creates a column only when that was not so: a rule missing
 * or written otherwise, or one too many). Each record has an id; a report lists
 * the ids it applied in netmon.ident with its sample (lib/state/identity.ts),
 * and removes the records only once its sample is in the log: a report
 * killed at any instant leaves each record applied exactly once. A record
 * names the source whose start wrote it (`ID:SOURCE`): a report reading
 * another source (the config's source changed since) takes it as applied and
 * gives it no effect, since those rules are not what it reads.
 *
 * @module
 */

import { fileError } from "../host/errors.ts";
import { removeIfPresent, replaceFile } from "../host/files.ts";
import { readWholeText } from "../host/safe_open.ts";
import { STATE_MODE, type StateFiles } from "./files.ts";

/** One `netmon start` that made columns' rules afresh. */
export interface StartRecord {
  /** Unique id of the record. */
  id: string;
  /** The columns whose every rule it made. */
  columns: string[];
  /** The source whose rules they are (iptables, nftables); none in a record of a netmon from before. */
  source?: string;
}

/** The record file of a state directory. */
export function startedPath(files: StateFiles): string {
  return `${files.dir}/netmon.started`;
}

const HEADER = "# netmon start made these columns' rules afresh: id[:source], columns (lib/state/started.ts)\n";

/** Reads the records; none when the file is missing. Lines that are not records are ignored. */
export function readStarts(files: StateFiles): StartRecord[] {
  const text = readWholeText(startedPath(files), { what: "start records" }, 16 << 20);
  if (text === undefined) return [];
  const records: StartRecord[] = [];
  for (const line of text.split("\n")) {
    const [head, ...columns] = line.split("\t");
    const m = /^([0-9a-f]{16})(?::([a-z0-9]+))?$/.exec(head ?? "");
    if (!m || columns.length === 0) continue;
    const record: StartRecord = { id: m[1] as string, columns };
    if (m[2] !== undefined) record.source = m[2];
    records.push(record);
  }
  return records;
}

function writeStarts(files: StateFiles, records: StartRecord[]): void {
  const path = startedPath(files);
  if (records.length === 0) return removeIfPresent(path);
  const line = (r: StartRecord) => `${r.id}${r.source === undefined ? "" : `:${r.source}`}\t${r.columns.join("\t")}\n`;
  replaceFile(path, HEADER + records.map(line).join(""), STATE_MODE, "");
}

/** Removes the records with the given ids (a report does so once its sample is logged). */
export function dropStarts(files: StateFiles, ids: ReadonlySet<string>): void {
  if (ids.size === 0) return;
  const records = readStarts(files);
  const kept = records.filter((r) => !ids.has(r.id));
  if (kept.length !== records.length) writeStarts(files, kept);
}

/** True when the state directory holds a sample (a log or last file) that a later one is compared with. */
function hasSample(files: StateFiles): boolean {
  for (const path of [files.last, files.log]) {
    try {
      Deno.statSync(path);
      return true;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "read", path);
    }
  }
  return false;
}

/**
 * Runs `change` (start's firewall commands), having first recorded that it
 * makes `columns` afresh in `source`. The caller holds the state directory's
 * lock (see the module's note). With no columns, or no sample yet to compare
 * with, it just runs `change`.
 */
export async function recordingStart(
  files: StateFiles,
  columns: readonly string[],
  change: () => Promise<void>,
  source?: string,
): Promise<void> {
  if (columns.length > 0 && hasSample(files)) {
    const id = [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const record: StartRecord = { id, columns: [...columns] };
    if (source !== undefined) record.source = source;
    writeStarts(files, [...readStarts(files), record]);
  }
  await change();
}
