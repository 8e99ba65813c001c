/**
 * Rows as one JSON document: `"version": 1`, bytes as integers (exact
 * beyond 2^53: JSON.rawJSON), rates in bit/s as numbers, times as ISO 8601
 * with offset. Read it back exactly with lib/json.ts's `parseExactJson`.
 *
 * @module
 */

import type { Row } from "./rows.ts";
import { isoWithOffset, type Zone } from "./zone.ts";

/** What the document says about itself. */
export interface JsonMeta {
  /** The kind of bucket (`day`, `cycle`, …). */
  by: string;
  /** The zone bucket boundaries follow. */
  zone: Zone;
}

const raw = (n: bigint) => (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(String(n));

/** The JSON object of one row. */
function rowObject(row: Row, zone: Zone): Record<string, unknown> {
  const o: Record<string, unknown> = {
    start: isoWithOffset(zone, row.start),
    end: isoWithOffset(zone, row.end),
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
  let out = `{"version":1,"by":${JSON.stringify(meta.by)},"timezone":${JSON.stringify(meta.zone.name)},"rows":[`;
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
