/**
 * Rows as one JSON document: `"version": 1`, bytes as integers (exact
 * beyond 2^53: JSON.rawJSON), rates in bit/s as numbers, times as ISO 8601
 * with offset. Read it back exactly with lib/json.ts's `parseExactJson`.
 *
 * @module
 */

import type { Figures, OverviewLine, Periods } from "./overview.ts";
import type { Row } from "./rows.ts";
import { isoWithOffset, type Zone } from "./zone.ts";

/** What the document says about itself. */
export interface JsonMeta {
  /** The kind of bucket (`day`, `cycle`, …). */
  by: string;
  /** The zone bucket boundaries follow (a row of a customer billed in another zone follows its own). */
  zone: Zone;
}

/** A zone's name for people and scripts: the IANA name, or the machine's (from `TZ` or the system) for `local`. */
export function zoneName(zone: Zone): string {
  return zone.name === "local" ? Intl.DateTimeFormat().resolvedOptions().timeZone : zone.name;
}

/** A bigint written into JSON as an exact integer. */
export const raw = (n: bigint) => (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(String(n));

/** The JSON object of one row. */
export function rowObject(row: Row, zone: Zone): Record<string, unknown> {
  const z = row.zone ?? zone;
  const o: Record<string, unknown> = {
    start: isoWithOffset(z, row.start),
    end: isoWithOffset(z, row.end),
    label: row.label,
    name: row.name,
    kind: row.kind,
  };
  if (row.inBytes !== undefined) o.in_bytes = raw(row.inBytes);
  if (row.outBytes !== undefined) o.out_bytes = raw(row.outBytes);
  o.total_bytes = raw(row.totalBytes);
  if (row.p95In !== undefined) o.p95_in_bps = row.p95In;
  if (row.p95Out !== undefined) o.p95_out_bps = row.p95Out;
  if (row.p95 !== undefined) o.p95_bps = row.p95;
  o.coverage = row.coverage;
  o.resets = row.resets;
  return o;
}

/**
 * The document in chunks: `{"version":1,"by":…,"timezone":…,"rows":[…]}`,
 * one row a line, for streaming.
 */
export function* jsonChunks(rows: Iterable<Row>, meta: JsonMeta): Generator<string> {
  let out = `{"version":1,"by":${JSON.stringify(meta.by)},"timezone":${JSON.stringify(zoneName(meta.zone))},"rows":[`;
  let first = true;
  for (const row of rows) {
    out += (first ? "\n" : ",\n") + JSON.stringify(rowObject(row, meta.zone));
    first = false;
    if (out.length > 65536) {
      yield out;
      out = "";
    }
  }
  yield out + "\n]}\n";
}

/** One overview figure as JSON: `{"in_bytes"?, "out_bytes"?, "total_bytes"}`. */
function figures(f: Figures): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (f.inBytes !== undefined) o.in_bytes = raw(f.inBytes);
  if (f.outBytes !== undefined) o.out_bytes = raw(f.outBytes);
  o.total_bytes = raw(f.totalBytes);
  return o;
}

/** One overview: the periods of one billing and its lines. */
export interface OverviewJsonPart {
  /** Its periods. */
  periods: Periods;
  /** The zone they are in. */
  zone: Zone;
  /** Its billing cycle's first day. */
  cycleDay: number;
  /** Its lines. */
  lines: readonly OverviewLine[];
  /** The instant it is as of (the present, or the last before `--to`). */
  now: number;
}

/**
 * The overview as one JSON document: `{"version":1,"view":"overview","now",
 * "billings":[{"timezone","cycle_day","now","periods":{today,…},"lines":[…]}]}`,
 * a period `{"start","end","label"}`, a line's periods each
 * `{"in_bytes"?,"out_bytes"?,"total_bytes"}` (absent where it has no sample)
 * and its `cycle_coverage`. Each billing is as of its own `now` (with `--to`,
 * the last instant before it in its zone); the document's `now` is the first
 * billing's.
 */
export function overviewJson(parts: readonly OverviewJsonPart[], now: number): string {
  const doc = {
    version: 1,
    view: "overview",
    now: isoWithOffset(parts[0]?.zone ?? { name: "UTC", offsetAt: () => 0 }, now),
    billings: parts.map((p) => ({
      timezone: zoneName(p.zone),
      cycle_day: p.cycleDay,
      now: isoWithOffset(p.zone, p.now),
      periods: Object.fromEntries(
        Object.entries(p.periods).map((
          [k, b],
        ) => [k === "previousCycle" ? "previous_cycle" : k, {
          start: isoWithOffset(p.zone, b.start),
          end: isoWithOffset(p.zone, b.end),
          label: b.label,
        }]),
      ),
      lines: p.lines.map((l) => {
        // A period without any sample of the line has no figure: left out, as the estimate before there is one.
        const o: Record<string, unknown> = { name: l.name, kind: l.kind };
        if (l.today) o.today = figures(l.today);
        if (l.yesterday) o.yesterday = figures(l.yesterday);
        if (l.cycle) o.cycle = figures(l.cycle);
        if (l.estimate) o.estimate = figures(l.estimate);
        if (l.previousCycle) o.previous_cycle = figures(l.previousCycle);
        if (l.year) o.year = figures(l.year);
        o.cycle_coverage = l.cycleCoverage;
        return o;
      }),
    })),
  };
  return JSON.stringify(doc) + "\n";
}
