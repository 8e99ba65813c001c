/**
 * Rows as CSV, a header line first: the format billing scripts rely on.
 *
 * @module
 */

import type { Row } from "./rows.ts";
import { isoWithOffset, type Zone } from "./zone.ts";

/** The CSV header, exactly. */
export const CSV_HEADER =
  "start,end,name,kind,in_bytes,out_bytes,total_bytes,p95_in_bps,p95_out_bps,p95_bps,coverage,resets";

/** A field quoted as RFC 4180 asks when it holds a comma, quote or line break. */
function field(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A rate in bit/s as a plain number with at most three decimals; empty when not computed. */
export function rateText(bps: number | undefined): string {
  return bps === undefined ? "" : String(Math.round(bps * 1000) / 1000);
}

/** A coverage fraction with at most six decimals. */
export function coverageText(fraction: number): string {
  return String(Math.round(fraction * 1e6) / 1e6);
}

/**
 * One CSV line (with LF) for `row`, times in its own zone, else in `zone`.
 *
 * @example
 * ```ts
 * csvLine(row, ianaZone("Europe/Berlin"));
 * // "2026-10-15T00:00:00+02:00,2026-11-15T00:00:00+01:00,acme,customer,10,20,30,1.5,2.5,2.5,1,0\n"
 * ```
 */
export function csvLine(row: Row, zone: Zone): string {
  const z = row.zone ?? zone;
  return [
    isoWithOffset(z, row.start),
    isoWithOffset(z, row.end),
    field(row.name),
    row.kind,
    row.inBytes ?? "",
    row.outBytes ?? "",
    row.totalBytes,
    rateText(row.p95In),
    rateText(row.p95Out),
    rateText(row.p95),
    coverageText(row.coverage),
    row.resets,
  ].join(",") + "\n";
}

/** The CSV text of `rows` in chunks, header first, for streaming to a file or stdout. */
export function* csvChunks(rows: Iterable<Row>, zone: Zone): Generator<string> {
  let out = CSV_HEADER + "\n";
  for (const row of rows) {
    out += csvLine(row, zone);
    if (out.length > 65536) {
      yield out;
      out = "";
    }
  }
  yield out;
}
