/**
 * The rows every machine-readable view prints: one per bucket and column or
 * customer, with the fields of the CSV header
 * `start,end,name,kind,in_bytes,out_bytes,total_bytes,p95_in_bps,p95_out_bps,p95_bps,coverage,resets`.
 *
 * @module
 */

import type { CustomerColumns } from "../config/customers.ts";
import { rollUp } from "./customers.ts";
import type { BucketUsage } from "./engine.ts";
import type { Zone } from "./zone.ts";

/** One row: a column's or a customer's figures in one bucket. */
export interface Row {
  /** Bucket start, epoch ms. */
  start: number;
  /** Bucket end (exclusive), epoch ms. */
  end: number;
  /** Bucket label with real dates. */
  label: string;
  /** Column or customer name. */
  name: string;
  /** `column` (a log column) or `customer`. */
  kind: "column" | "customer";
  /** Bytes in: customers split by direction only. */
  inBytes?: bigint | undefined;
  /** Bytes out: customers split by direction only. */
  outBytes?: bigint | undefined;
  /** Bytes in total. */
  totalBytes: bigint;
  /** 95th percentile in, bit/s: customers only. */
  p95In?: number | undefined;
  /** 95th percentile out, bit/s: customers only. */
  p95Out?: number | undefined;
  /** A column's 95th percentile, or a customer's billable one, bit/s. */
  p95?: number | undefined;
  /** Coverage, 0 to 1. */
  coverage: number;
  /** Resets. */
  resets: number;
  /** The zone of the calendar the bucket is from (its times are printed with its offsets), when not the view's. */
  zone?: Zone | undefined;
}

/** What rows to make. */
export interface RowOptions {
  /** Customers to add after the columns. */
  customers?: readonly CustomerColumns[];
  /** Leave the columns out (customers only). */
  customersOnly?: boolean;
  /** Keep only these columns and customers (names); all when undefined. */
  only?: ReadonlySet<string>;
}

/** The rows of one bucket: its columns, then its customers. */
export function rowsOf(bucket: BucketUsage, options: RowOptions = {}): Row[] {
  const { start, end, label } = bucket.bucket;
  const keep = (name: string) => options.only === undefined || options.only.has(name);
  const rows: Row[] = [];
  if (options.customersOnly !== true) {
    for (const c of bucket.columns) {
      if (!keep(c.name)) continue;
      rows.push({
        start,
        end,
        label,
        name: c.name,
        kind: "column",
        totalBytes: c.usage,
        p95: c.p95,
        coverage: c.coverage,
        resets: c.resets,
      });
    }
  }
  const customers = (options.customers ?? []).filter((c) => keep(c.name));
  for (const c of rollUp(bucket, customers)) {
    rows.push({
      start,
      end,
      label,
      name: c.name,
      kind: "customer",
      inBytes: c.inBytes,
      outBytes: c.outBytes,
      totalBytes: c.totalBytes,
      p95In: c.p95In,
      p95Out: c.p95Out,
      p95: c.p95,
      coverage: c.coverage,
      resets: c.resets,
    });
  }
  return rows;
}
