/**
 * Customers: log columns rolled up into one figure per customer, with in and
 * out where its meters are split by direction (columns `NAME-inbound` and
 * `NAME-outbound`), and the billable 95th percentile, the larger of the two.
 *
 * A pure function over the engine's output: the usage of a customer is the
 * sum of its columns' usage, and its percentile is taken over the summed
 * rates of each interval (not the sum of the columns' percentiles).
 *
 * @module
 */

import type { BucketUsage, ColumnUsage } from "./engine.ts";
import { weightedPercentile } from "./percentile.ts";

/** A customer as the config names it. */
export interface CustomerSpec {
  /** Customer name. */
  name: string;
  /** Meter names or log column names; a meter split by direction stands for its two columns. */
  meters: readonly string[];
}

/** A customer's log columns by direction. */
export interface Customer {
  /** Customer name. */
  name: string;
  /** Columns counting traffic to the customer (`…-inbound`). */
  inbound: string[];
  /** Columns counting traffic from the customer (`…-outbound`). */
  outbound: string[];
  /** Columns with no direction. */
  other: string[];
}

/** One customer's figures in one bucket. */
export interface CustomerUsage {
  /** Customer name. */
  name: string;
  /** Bytes in (undefined when no column has a direction). */
  inBytes?: bigint;
  /** Bytes out (undefined when no column has a direction). */
  outBytes?: bigint;
  /** Bytes of every column. */
  totalBytes: bigint;
  /** 95th percentile of the summed inbound rates, bit/s. */
  p95In?: number;
  /** 95th percentile of the summed outbound rates, bit/s. */
  p95Out?: number;
  /** Billable 95th percentile, bit/s: the larger of in and out, or of the total where a column has no direction. */
  p95?: number;
  /** The smallest coverage of its columns (0 to 1). */
  coverage: number;
  /** Resets of its columns. */
  resets: number;
}

const IN = "-inbound";
const OUT = "-outbound";

/**
 * Resolves each customer's meters against the log's `columns`: a name that
 * is a column is that column; else `NAME-inbound` and `NAME-outbound`. A
 * name matching neither throws a RangeError naming it (a config error for
 * the caller).
 *
 * @example
 * ```ts
 * resolveCustomers([{ name: "acme", meters: ["acme"] }], ["acme-inbound", "acme-outbound"]);
 * // [{ name: "acme", inbound: ["acme-inbound"], outbound: ["acme-outbound"], other: [] }]
 * ```
 */
export function resolveCustomers(specs: readonly CustomerSpec[], columns: readonly string[]): Customer[] {
  const known = new Set(columns);
  return specs.map((spec) => {
    const c: Customer = { name: spec.name, inbound: [], outbound: [], other: [] };
    const add = (column: string) => {
      const list = column.endsWith(IN) ? c.inbound : column.endsWith(OUT) ? c.outbound : c.other;
      if (!list.includes(column)) list.push(column);
    };
    for (const m of spec.meters) {
      if (known.has(m)) add(m);
      else if (known.has(m + IN) || known.has(m + OUT)) {
        if (known.has(m + IN)) add(m + IN);
        if (known.has(m + OUT)) add(m + OUT);
      } else {
        throw new RangeError(
          `Customer ${JSON.stringify(spec.name)}: ${JSON.stringify(m)} names no meter or log column (the log has ${
            columns.length === 0 ? "none" : columns.join(", ")
          })`,
        );
      }
    }
    return c;
  });
}

/** Sums the rates of `names` interval by interval; NaN where none of them was there. */
function summedRates(bucket: BucketUsage, names: readonly string[]): Float64Array | undefined {
  const iv = bucket.intervals;
  if (iv === undefined) return undefined;
  const sum = new Float64Array(iv.length).fill(NaN);
  for (const name of names) {
    const r = iv.rates.get(name);
    if (r === undefined) continue;
    for (let k = 0; k < iv.length; k++) {
      const x = r[k] as number;
      if (x === x) sum[k] = sum[k] !== sum[k] ? x : (sum[k] as number) + x;
    }
  }
  return sum;
}

function p95Of(bucket: BucketUsage, names: readonly string[]): number | undefined {
  const iv = bucket.intervals;
  if (iv === undefined || names.length === 0) return undefined;
  if (names.length === 1) return bucket.columns.find((c) => c.name === names[0])?.p95;
  const sum = summedRates(bucket, names);
  return sum && weightedPercentile(sum, iv.weights, iv.length);
}

/**
 * Each customer's figures in `bucket`. Percentiles are computed where the
 * engine kept interval rates (`p95: true`).
 */
export function rollUp(bucket: BucketUsage, customers: readonly Customer[]): CustomerUsage[] {
  const byName = new Map<string, ColumnUsage>(bucket.columns.map((c) => [c.name, c]));
  return customers.map((c) => {
    const sum = (names: readonly string[]) => names.reduce((s, n) => s + (byName.get(n)?.usage ?? 0n), 0n);
    const members = [...c.inbound, ...c.outbound, ...c.other];
    const present = members.map((n) => byName.get(n)).filter((u) => u !== undefined);
    const out: CustomerUsage = {
      name: c.name,
      totalBytes: sum(members),
      coverage: present.length === 0 ? 0 : Math.min(...present.map((u) => u.coverage)),
      resets: present.reduce((s, u) => s + u.resets, 0),
    };
    const directed = c.inbound.length + c.outbound.length > 0;
    if (directed) {
      out.inBytes = sum(c.inbound);
      out.outBytes = sum(c.outbound);
    }
    if (bucket.intervals !== undefined) {
      const pin = p95Of(bucket, c.inbound);
      const pout = p95Of(bucket, c.outbound);
      if (pin !== undefined) out.p95In = pin;
      if (pout !== undefined) out.p95Out = pout;
      const billable = c.other.length > 0 ? p95Of(bucket, members) : Math.max(pin ?? -Infinity, pout ?? -Infinity);
      if (billable !== undefined && billable !== -Infinity) out.p95 = billable;
    }
    return out;
  });
}
