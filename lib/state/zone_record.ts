/**
 * The zone the log's stamps are written in (`netmon.zone` beside the log),
 * so that every reader reads them as written, whatever its own `TZ`.
 *
 * The stamps are local time with no offset (the original's format, kept
 * byte for byte), written in the report's zone. The report records that
 * zone's IANA name, and when it changes (`timedatectl set-timezone`, a `TZ`
 * in cron's environment) the new zone from a second after the last sample
 * written in the old one (see {@linkcode noteStampZone}):
 *
 * ```
 * # netmon: the zone of netmon.log's stamps from each instant on (lib/state/zone_record.ts)
 * -	Europe/Berlin
 * 2026-11-30T10:05:00Z	America/New_York
 * ```
 *
 * A zone with no IANA name (a `TZ` such as `XYZ-3` or a file path) is
 * recorded as nothing: stamps from then are read in each reader's own zone.
 * A log with no record (the original's, never reported by netmon) is read in
 * the reader's own zone, as before.
 *
 * @module
 */

import { DataError } from "../host/errors.ts";
import { replaceFile } from "../host/files.ts";
import { dirOf, type OpenSpec, readWholeText, realPathOr } from "../host/safe_open.ts";
import { shellWord } from "../host/shell_word.ts";
import { formatTimestamp, stampToNaive } from "../usage/local_time.ts";
import { ianaZone, localZone, wallToInstant, type Zone, zoneHistory, type ZoneSpan } from "../usage/zone.ts";
import { STATE_MODE, type StateFiles } from "./files.ts";

/** The most a record may hold: a line per zone change. */
const MAX_BYTES = 1 << 20;

const HEADER = "# netmon: the zone of netmon.log's stamps from each instant on (lib/state/zone_record.ts)\n";

/**
 * How the record at `path` is read. Another user's is refused, with the fix
 * to remove it: netmon makes it as the user the report runs as, so another
 * user's was made by them first (after an upgrade, in a directory they may
 * write through its sticky bit), and its zones are theirs to choose (a chown
 * would read the log's stamps in them). The next report records the zone.
 */
const recordSpec = (path: string): OpenSpec => ({
  what: "zone record",
  plantedFix: `remove it: rm ${shellWord(path)}; the next report records the zone anew`,
});

/** The record of the log at `logPath`: `netmon.zone` beside it. */
export function zoneRecordPath(logPath: string): string {
  return `${dirOf(logPath)}/netmon.zone`;
}

/** One line of the record. */
export interface ZoneEntry {
  /** From this instant on (ms; `-Infinity` for the first line, `-`). */
  from: number;
  /** The IANA name; "" for a zone that has none (the reader's own). */
  name: string;
  /** The line number, for messages. */
  line: number;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** The entries of record `text` (of `path`, for messages); a line that is none of them is bad data. */
export function parseZoneRecord(text: string, path: string): ZoneEntry[] {
  const entries: ZoneEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === "" || line.startsWith("#")) continue;
    const tab = line.indexOf("\t");
    const when = line.slice(0, tab);
    const previous = entries.at(-1);
    const from = previous === undefined
      ? (when === "-" ? -Infinity : NaN)
      : (INSTANT.test(when) && Date.parse(when) >= previous.from ? Date.parse(when) : NaN);
    if (tab < 0 || Number.isNaN(from)) {
      throw new DataError(
        `${path}:${i + 1}: not a zone record line ('-' first, then an instant YYYY-MM-DDTHH:MM:SSZ not before the ` +
          `line before's, a tab, an IANA zone name or nothing): fix or remove the line`,
      );
    }
    entries.push({ from, name: line.slice(tab + 1), line: i + 1 });
  }
  return entries;
}

/**
 * The zone the stamps of the log at `logPath` are in, from the record beside
 * it (one zone, or one whose offset switches where the record says); the
 * reader's own zone where it records none, or when there is no record.
 * For a log the user `named` (a link there is followed to the log), the
 * record beside the log's real path. The record itself is never read
 * through a link, another user's file or a hard link: the user named the
 * log, not it, and it may be in a directory others can write.
 */
export function logZone(logPath: string, named = false): Zone {
  const path = zoneRecordPath(named ? realPathOr(logPath) : logPath);
  const text = readWholeText(path, recordSpec(path), MAX_BYTES);
  if (text === undefined) return localZone();
  const spans: ZoneSpan[] = parseZoneRecord(text, path).map((e) => {
    if (e.name === "") return { from: e.from, zone: localZone() };
    try {
      return { from: e.from, zone: ianaZone(e.name) };
    } catch {
      throw new DataError(
        `${path}:${e.line}: ${JSON.stringify(e.name)} is not a time zone this Deno knows: fix or remove the line`,
      );
    }
  });
  return zoneHistory(spans);
}

const HALF_YEAR = 182 * 86_400_000;
const DAY = 86_400_000;

/** The latest instant before `before` whose wall time in `zone` is `naive` (the earliest if none is before it). */
function lastInstant(zone: Zone, naive: number, before: number): number {
  const named = [naive - zone.offsetAt(naive - DAY), naive - zone.offsetAt(naive + DAY)]
    .filter((t) => t < before && zone.offsetAt(t) === naive - t);
  return named.length > 0 ? Math.max(...named) : wallToInstant(zone, naive);
}

/**
 * The IANA name of the zone this process writes stamps in (its `TZ`, else
 * the system's), or "" when it has none: the runtime's name for it, believed
 * only when that zone's offsets are the process's (`TZ=XYZ-3` is named UTC).
 * From Temporal, about 1 ms: a date formatter's name costs 40 to 90 ms
 * (locale data), and the runtime's list of names 1.5 to 5 ms.
 */
export function ownZoneName(now = Date.now()): string {
  const id = Temporal.Now.timeZoneId();
  const local = localZone();
  try {
    for (const t of [now, now + HALF_YEAR]) {
      const offset = Temporal.Instant.fromEpochMilliseconds(t).toZonedDateTimeISO(id).offsetNanoseconds / 1e6;
      if (offset !== local.offsetAt(t)) return "";
    }
  } catch {
    return ""; // a name Temporal gives but does not know (Etc/Unknown)
  }
  return id;
}

/**
 * The report's step, with the state lock held and before its sample (taken
 * at instant `epoch`, its stamp in this process's zone) is logged: records
 * that zone when the record does not end in it (or is missing). The record
 * is read each run (one small read) and written only then; a change is said
 * in `warnings`, once (the next run finds it recorded).
 *
 * A change is recorded from a second after the previous sample (`previous`,
 * its stamp), not from this one: no sample is between them, and a move west
 * repeats wall times as autumn does, so the old zone's wall times after the
 * previous sample would name this sample too (a day after a report in
 * Berlin, New York's 12:00 is also Berlin's 12:00 of that day). Read with the
 * change there, only the new zone's reading falls after it.
 */
export function noteStampZone(files: StateFiles, epoch: number, warnings: string[], previous?: string): void {
  const path = zoneRecordPath(files.log);
  const text = readWholeText(path, recordSpec(path), MAX_BYTES)?.replace(/\n+$/, "");
  const name = ownZoneName(epoch);
  const last = text?.slice(text.lastIndexOf("\n") + 1);
  if (last !== undefined && !last.startsWith("#") && last.slice(last.indexOf("\t") + 1) === name) return;
  const recorded = text === undefined ? undefined : parseZoneRecord(text, path).at(-1);
  const fix = "set TZ to one such as Europe/Berlin, or unset it";
  if (recorded === undefined) {
    replaceFile(path, `${HEADER}-\t${name}\n`, STATE_MODE, "zone record");
    if (name === "") {
      warnings.push(
        `the time zone has no IANA name (${fix}): the log's stamps are read in each reader's own zone (${path})`,
      );
    }
    return;
  }
  const second = Math.floor(epoch / 1000) * 1000;
  const after = previous === undefined ? undefined : lastInstant(logZone(files.log), stampToNaive(previous), epoch);
  const change = after === undefined ? second : Math.min(Math.floor(after / 1000) * 1000 + 1000, second);
  const from = new Date(change).toISOString().slice(0, 19) + "Z";
  replaceFile(path, `${text}\n${from}\t${name}\n`, STATE_MODE, "zone record");
  const called = (n: string) => n === "" ? "one with no IANA name" : n;
  const readIn = (n: string) => n === "" ? "each reader's own zone" : n;
  warnings.push(
    `the time zone changed from ${called(recorded.name)} to ${called(name)}${
      name === "" ? ` (${fix})` : ""
    }: stamps from ${formatTimestamp(new Date(second))} on are read in ${readIn(name)}, those before in ${
      readIn(recorded.name)
    } (${path})`,
  );
}
