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
 * The names both a column and a customer have among `rows`: a customer's
 * `meters` default to its own name, so customer "acme" over meter acme gives
 * two rows "acme". The text views mark these with their kind ({@linkcode nameLabel});
 * CSV and JSON have a `kind` field.
 */
export function sharedNames(rows: Iterable<Pick<Row, "name" | "kind">>): Set<string> {
  const columns = new Set<string>();
  const customers = new Set<string>();
  for (const r of rows) (r.kind === "column" ? columns : customers).add(r.name);
  return new Set([...customers].filter((n) => columns.has(n)));
}

/** A row's name for people: `acme (column)` and `acme (customer)` where the name is in `shared`, else the name. */
export function nameLabel(row: Pick<Row, "name" | "kind">, shared: ReadonlySet<string>): string {
  return shared.has(row.name) ? `${row.name} (${row.kind})` : row.name;
}

/**
 * The table of `rows`: bucket, name (with its kind where a column and a
 * customer share it), in, out, total, 95th percentiles (where computed),
 * coverage, resets.
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
  const shared = sharedNames(rows);
  for (const r of rows) {
    const line = [r.label, nameLabel(r, shared)];
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
