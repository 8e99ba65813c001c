/**
 * Time zones as offsets at instants, and wall-clock times back to instants:
 * the machine's local zone, an IANA zone (a billing cycle's cut-off at
 * midnight in Berlin, whatever the machine's zone), or the zones a log's
 * stamps were written in one after another (lib/state/zone_record.ts).
 *
 * A wall time is handled as a "naive" number: its fields read as if UTC
 * (`Date.UTC(2026, 9, 25, 2, 30)` for 02:30 on 25 October 2026).
 *
 * @module
 */

const DAY = 86_400_000;

/** A time zone: the offset it has at each instant. */
export interface Zone {
  /** The IANA name, or `local` for the machine's zone. */
  readonly name: string;
  /** Offset (wall time minus UTC) in ms at instant `epoch`. */
  offsetAt(epoch: number): number;
}

/** The machine's zone (the `TZ` environment variable, else the system's), through `Date`. */
export function localZone(): Zone {
  return { name: "local", offsetAt: (epoch) => -new Date(epoch).getTimezoneOffset() * 60_000 };
}

const zones = new Map<string, Zone>();

/** The runtime's canonical zone names, read once. */
let canonical: Set<string> | undefined;

/**
 * The runtime's name for zone `name` (an alias resolved: `US/Eastern` is
 * `America/New_York`), as a date formatter resolves it; undefined when it
 * knows no such zone (nor an offset like `+01:00`, which is not a zone). A canonical name or UTC is its own name, known without
 * making a formatter: a formatter's first use loads the locale data, about
 * 20 ms of a run.
 */
export function zoneId(name: string): string | undefined {
  if (name.trim() === "" || /^[+-]/.test(name)) return undefined;
  canonical ??= new Set(Intl.supportedValuesOf("timeZone"));
  if (name === "UTC" || canonical.has(name)) return name;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/**
 * The IANA zone `name` (e.g. `Europe/Berlin`, `UTC`), offsets from
 * `Temporal` (the same as a date formatter's, without loading the locale
 * data a formatter needs). Throws a RangeError naming the zone when the
 * runtime does not know it.
 *
 * @example
 * ```ts
 * ianaZone("Europe/Berlin").offsetAt(Date.UTC(2026, 6, 1)); // 7200000
 * ```
 */
export function ianaZone(name: string): Zone {
  const known = zones.get(name);
  if (known) return known;
  const id = zoneId(name);
  if (id === undefined) {
    throw new RangeError(
      `Unknown time zone ${JSON.stringify(name)}: use an IANA name such as "Europe/Berlin" or "UTC"`,
    );
  }
  // The last two instants asked and their offsets: a Temporal lookup makes objects (garbage)
  // every call, and the rows of a bucket ask its start and its end in turn.
  let last = NaN;
  let lastOffset = 0;
  let before = NaN;
  let beforeOffset = 0;
  const zone: Zone = {
    name: id,
    offsetAt(epoch) {
      // To the second, as wall clocks read: the offset of the instant's whole second.
      const second = Math.floor(epoch / 1000) * 1000;
      if (second === last) return lastOffset;
      if (second === before) return beforeOffset;
      before = last;
      beforeOffset = lastOffset;
      last = second;
      lastOffset = Temporal.Instant.fromEpochMilliseconds(second).toZonedDateTimeISO(id).offsetNanoseconds /
        1_000_000;
      return lastOffset;
    },
  };
  zones.set(name, zone);
  return zone;
}

/**
 * The zone named `name`, or `local` when `name` is undefined or `local`: by
 * default the machine's zone; for a log's figures, the zone its stamps are in
 * (lib/state/zone_record.ts), so that "local" is the same for every reader.
 * A function for `local` is called only then (the log's zone is read from a file).
 */
export function zoneNamed(name?: string, local: Zone | (() => Zone) = localZone): Zone {
  if (name !== undefined && name !== "local") return ianaZone(name);
  return typeof local === "function" ? local() : local;
}

/** A stretch of stamps written in one zone: `zone` from instant `from` (ms) on. */
export interface ZoneSpan {
  /** The instant the stretch starts at (`-Infinity` for the first). */
  readonly from: number;
  /** The zone its stamps are in. */
  readonly zone: Zone;
}

/**
 * The zone of stamps written in `spans` in turn (in order of `from`, the first from `-Infinity`): each span's offsets
 * from its instant on. Its offset switches at those instants as at a daylight-saving change, so
 * {@linkcode wallToInstant} reads a log across them (a move west repeats wall times, read forward; a move east skips
 * some). Named for the last span's zone: the one stamps are written in now.
 *
 * @example
 * ```ts
 * const z = zoneHistory([{ from: -Infinity, zone: ianaZone("Europe/Berlin") }, { from: t, zone: ianaZone("UTC") }]);
 * z.offsetAt(t - 1000); // 3600000 (in winter)
 * ```
 */
export function zoneHistory(spans: readonly ZoneSpan[]): Zone {
  const last = spans.at(-1);
  if (last === undefined) return localZone();
  if (spans.length === 1) return last.zone;
  return {
    name: last.zone.name,
    offsetAt(epoch) {
      let i = spans.length - 1;
      while (i > 0 && (spans[i] as ZoneSpan).from > epoch) i--;
      return (spans[i] as ZoneSpan).zone.offsetAt(epoch);
    },
  };
}

/** The naive wall time (fields as if UTC) of instant `epoch` in `zone`. */
export function wallOf(zone: Zone, epoch: number): number {
  return epoch + zone.offsetAt(epoch);
}

/**
 * The first instant at which the wall clock of `zone` reads `naive` or
 * later: for a wall time that happened once, that instant; for one that
 * happened twice (the hour repeated when daylight saving ends), the earlier;
 * for one that never happened (the hour skipped in spring), the instant the
 * clock jumped over it. Bucket starts are defined by this, so buckets
 * partition time: a skipped hour is a bucket of no length, a repeated hour
 * one bucket twice as long.
 *
 * @example
 * ```ts
 * firstInstant(ianaZone("Europe/Berlin"), Date.UTC(2026, 2, 29, 2)); // the instant of 03:00 CEST
 * ```
 */
export function firstInstant(zone: Zone, naive: number): number {
  const before = zone.offsetAt(naive - DAY);
  const after = zone.offsetAt(naive + DAY);
  const candidates = before === after
    ? [naive - before]
    : [naive - Math.max(before, after), naive - Math.min(before, after)];
  for (const t of candidates) if (zone.offsetAt(t) === naive - t) return t;
  // In a gap: the transition lies between reading the wall time with the
  // larger offset (too early) and with the smaller (too late).
  let lo = naive - Math.max(before, after);
  let hi = naive - Math.min(before, after);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid + zone.offsetAt(mid) >= naive) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** A resolved instant and the offset it had, to resolve the next wall time near it. */
export interface Hint {
  /** An instant already passed. */
  epoch: number;
  /** Offset (wall minus UTC, ms) at that instant. */
  offset: number;
}

/**
 * The instant of wall time `naive` in `zone` read forward from `hint` (the
 * rule the log's stamps are read by): a wall time that happened twice (the
 * hour repeated when daylight saving ends) is, of the instants not before
 * `hint.epoch`, the one with the hint's offset, else the earlier; so a log
 * read forward goes through the repeated hour twice, first in summer time
 * then in winter time. A wall time that never happened (the hour skipped in
 * spring) is read with the offset from before the change, as JavaScript's
 * Date does: the skipped hour has no length.
 */
export function wallToInstant(zone: Zone, naive: number, hint?: Hint): number {
  const before = zone.offsetAt(naive - DAY);
  const after = zone.offsetAt(naive + DAY);
  const early = naive - Math.max(before, after);
  const late = naive - Math.min(before, after);
  const earlyOk = zone.offsetAt(early) === naive - early;
  const lateOk = zone.offsetAt(late) === naive - late;
  if (earlyOk && lateOk && early !== late && hint !== undefined) {
    const open = [early, late].filter((e) => e >= hint.epoch);
    const choices = open.length > 0 ? open : [early, late];
    return choices.find((e) => naive - e === hint.offset) ?? (choices[0] as number);
  }
  if (earlyOk) return early;
  if (lateOk) return late;
  return naive - before;
}

/**
 * The latest instant not after `notAfter` at which the wall clock of `zone`
 * read `naive`: a sample's stamp resolved from the instant of the sample
 * after it (in the hour repeated when daylight saving ends, the pass it was
 * written in). A wall time whose every instant is after `notAfter` (the
 * clock was stepped back), or that never happened, is read as
 * {@linkcode wallToInstant} reads it with no hint.
 *
 * @example
 * ```ts
 * // Berlin's 02:00 on 25 October 2026 seen from 01:05 UTC: the second pass's (CET), 01:00 UTC.
 * latestInstant(ianaZone("Europe/Berlin"), Date.UTC(2026, 9, 25, 2), Date.UTC(2026, 9, 25, 1, 5));
 * ```
 */
export function latestInstant(zone: Zone, naive: number, notAfter: number): number {
  const late = naive - Math.min(zone.offsetAt(naive - DAY), zone.offsetAt(naive + DAY));
  return late <= notAfter && zone.offsetAt(late) === naive - late ? late : wallToInstant(zone, naive);
}

/** {@linkcode wallToInstant} with the hint it gives for the next wall time. */
export function resolveWall(zone: Zone, naive: number, hint?: Hint): Hint {
  const epoch = wallToInstant(zone, naive, hint);
  return { epoch, offset: naive - epoch };
}

const pad2 = (n: number) => (n < 10 ? "0" : "") + n;

/**
 * ISO 8601 with the zone's offset at that instant, to the second:
 * `2026-10-15T00:00:00+02:00`.
 */
export function isoWithOffset(zone: Zone, epoch: number): string {
  const offset = zone.offsetAt(epoch);
  const wall = new Date(epoch + offset).toISOString().slice(0, 19);
  const minutes = Math.round(Math.abs(offset) / 60_000);
  return `${wall}${offset < 0 ? "-" : "+"}${pad2(Math.floor(minutes / 60))}:${pad2(minutes % 60)}`;
}
