/**
 * Rows as an aligned table for people: sizes in IEC units, rates with SI
 * prefixes, coverage in percent.
 *
 * @module
 */

import type { Row } from "./rows.ts";
import { iecBytes, percentText, siRate } from "./units.ts";

/** Lays out `cells` (first row the header) with numbers right-aligned and text left. */
export function aligned(cells: string[][], rightAligned: (column: number) => boolean): string {
  const widths: number[] = [];
  for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return cells.map((r) =>
    r.map((c, i) => (rightAligned(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join("  ").trimEnd()
  ).join("\n") + "\n";
}

/**
 * The table of `rows`: bucket, name, in, out, total, 95th percentiles
 * (where computed), coverage, resets.
 */
export function formatTable(rows: readonly Row[]): string {
  const withP95 = rows.some((r) => r.p95 !== undefined);
  const withDirection = rows.some((r) => r.inBytes !== undefined);
  const header = ["period", "name"];
  if (withDirection) header.push("in", "out");
  header.push("total");
  if (withP95) header.push(...(withDirection ? ["p95 in", "p95 out"] : []), "p95");
  header.push("coverage", "resets");
  const cells = [header];
  for (const r of rows) {
    const line = [r.label, r.name];
    if (withDirection) {
      line.push(
        r.inBytes === undefined ? "" : iecBytes(r.inBytes),
        r.outBytes === undefined ? "" : iecBytes(r.outBytes),
      );
    }
    line.push(iecBytes(r.totalBytes));
    const rate = (x: number | undefined) => (x === undefined ? "" : siRate(x));
    if (withP95) line.push(...(withDirection ? [rate(r.p95In), rate(r.p95Out)] : []), rate(r.p95));
    line.push(percentText(r.coverage), String(r.resets));
    cells.push(line);
  }
  return aligned(cells, (i) => i >= 2);
}
