/**
 * The zone the log's stamps are written in (`netmon.zone` beside the log),
 * so that every reader reads them as written, whatever its own `TZ`.
 *
 * The stamps are local time with no offset (the original's format, kept
 * byte for byte), written in the report's zone. The report records that
 * zone's IANA name, and when it changes (`timedatectl set-timezone`, a `TZ`
 * in cron's environment) the new zone from a second after the last sample
 * written in the old one (see {@linkcode StampZone.note}):
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
import { ianaZone, latestInstant, localZone, type Zone, zoneHistory, type ZoneSpan } from "../usage/zone.ts";
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
  return text === undefined ? localZone() : zoneOf(parseZoneRecord(text, path), path);
}

/** The zone of record `path`'s `entries` (the reader's own where there are none). */
function zoneOf(entries: readonly ZoneEntry[], path: string): Zone {
  const spans: ZoneSpan[] = entries.map((e) => {
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
 * The record as a report keeps it, with the state lock held: {@linkcode read}
 * and checked before the counters are read (a record planted by another user
 * or damaged then fails the run with the counters intact, not once pf has
 * cleared them), {@linkcode note}d before the sample is logged, and made the
 * log's {@linkcode zone} for the report's outputs without reading it again.
 */
export class StampZone {
  readonly #path: string;
  /** The record's text without its last newlines; undefined while there is none. */
  #text: string | undefined;
  #entries: ZoneEntry[] | undefined;
  #zone: Zone | undefined;
  /** The IANA name of this process's zone, as the record is read. */
  #own = "";

  /** The record of `files`' log, not read yet. */
  constructor(files: StateFiles) {
    this.#path = zoneRecordPath(files.log);
  }

  /**
   * Reads and checks the record: another user's is refused, a line that is none of a record's is bad data, and
   * when this process's zone is not the one it ends in, a zone this Deno does not know (the change is read in them).
   */
  read(): void {
    this.#text = readWholeText(this.#path, recordSpec(this.#path), MAX_BYTES)?.replace(/\n+$/, "");
    this.#entries = this.#text === undefined ? [] : parseZoneRecord(this.#text, this.#path);
    this.#zone = undefined;
    this.#own = ownZoneName();
    const last = this.#entries.at(-1);
    if (last !== undefined && last.name !== this.#own) this.zone();
  }

  /**
   * Before the sample (taken at instant `epoch`, its stamp in this process's
   * zone) is logged: records that zone (as named when the record was read)
   * when the record does not end in it (or is missing). The record is written only then; a change is said in
   * `warnings`, once (the next run finds it recorded).
   *
   * A change is recorded from a second after the previous sample (`previous`,
   * its stamp), not from this one: no sample is between them, and a move west
   * repeats wall times as autumn does, so the old zone's wall times after the
   * previous sample would name this sample too (a day after a report in
   * Berlin, New York's 12:00 is also Berlin's 12:00 of that day). Read with the
   * change there, only the new zone's reading falls after it.
   */
  note(epoch: number, warnings: string[], previous?: string): void {
    if (this.#entries === undefined) this.read();
    const entries = this.#entries as ZoneEntry[];
    const path = this.#path;
    const name = this.#own;
    const recorded = entries.at(-1);
    if (recorded?.name === name) return;
    const fix = "set TZ to one such as Europe/Berlin, or unset it";
    this.#zone = undefined;
    if (recorded === undefined) {
      this.#text = `${HEADER}-\t${name}`;
      replaceFile(path, `${this.#text}\n`, STATE_MODE, "zone record");
      entries.push({ from: -Infinity, name, line: 2 });
      if (name === "") {
        warnings.push(
          `the time zone has no IANA name (${fix}): the log's stamps are read in each reader's own zone (${path})`,
        );
      }
      return;
    }
    const second = Math.floor(epoch / 1000) * 1000;
    // In the zone as recorded so far, the old one's: the previous sample's latest instant not after this one's.
    const after = previous === undefined ? undefined : latestInstant(this.zone(), stampToNaive(previous), epoch);
    const change = after === undefined ? second : Math.min(Math.floor(after / 1000) * 1000 + 1000, second);
    const from = new Date(change).toISOString().slice(0, 19) + "Z";
    this.#zone = undefined;
    this.#text = `${this.#text}\n${from}\t${name}`;
    replaceFile(path, `${this.#text}\n`, STATE_MODE, "zone record");
    entries.push({ from: change, name, line: this.#text.split("\n").length });
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

  /** The zone of the log's stamps as recorded (the note's included), made when first asked. */
  zone(): Zone {
    if (this.#entries === undefined) this.read();
    return this.#zone ??= zoneOf(this.#entries as ZoneEntry[], this.#path);
  }
}
