/**
 * Customers: log columns rolled up into one figure per customer, with in and
 * out where its meters are split by direction, and the billable 95th
 * percentile, the larger of the two. Which columns a customer has is
 * decided in one place, lib/config/customers.ts (`customerColumns`).
 *
 * A pure function over the engine's output: the usage of a customer is the
 * sum of its columns' usage, and its percentile is taken over the summed
 * rates of each interval (not the sum of the columns' percentiles).
 *
 * A column counting both ways at once (a meter counting both, not split by
 * direction) cannot be given to either direction: in a customer split by direction,
 * its rate counts in the inbound and in the outbound percentile, each then
 * at least that direction's true one and above it by at most the column's
 * highest rate, so the bill (the larger) is never below the traffic.
 * Adding the directions up instead would bill a customer with a small
 * unsplit meter for its in and out together. Its bytes count once, in the
 * total.
 *
 * @module
 */

import type { CustomerColumns } from "../config/customers.ts";
import type { BucketUsage, ColumnUsage } from "./engine.ts";
import { weightedPercentile } from "./percentile.ts";

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
  /** 95th percentile of the summed inbound rates (and of any column with no direction), bit/s. */
  p95In?: number;
  /** 95th percentile of the summed outbound rates (and of any column with no direction), bit/s. */
  p95Out?: number;
  /** Billable 95th percentile, bit/s: the larger of in and out, or where no column has a direction, of the total. */
  p95?: number;
  /** The smallest coverage of its columns (0 to 1). */
  coverage: number;
  /** Reset events: samples at which any of its columns reset (a meter split in and out, reset once, is one). */
  resets: number;
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

/** Each reset event of `bucket` as a set, made once per bucket for all its customers (a reboot names every column). */
const eventSets = new WeakMap<BucketUsage, ReadonlySet<string>[]>();

/**
 * The samples of `bucket` at which any of `names` reset; a bucket without
 * its events (made by hand) has its columns' resets, summed.
 */
function resetEvents(bucket: BucketUsage, present: readonly ColumnUsage[], names: readonly string[]): number {
  const events = bucket.resetEvents;
  if (events === undefined) return present.reduce((s, u) => s + u.resets, 0);
  let sets = eventSets.get(bucket);
  if (sets === undefined) eventSets.set(bucket, sets = events.map((e) => new Set(e)));
  let n = 0;
  for (const set of sets) if (names.some((name) => set.has(name))) n++;
  return n;
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
export function rollUp(bucket: BucketUsage, customers: readonly CustomerColumns[]): CustomerUsage[] {
  const byName = new Map<string, ColumnUsage>(bucket.columns.map((c) => [c.name, c]));
  return customers.map((c) => {
    const sum = (names: readonly string[]) => names.reduce((s, n) => s + (byName.get(n)?.usage ?? 0n), 0n);
    const members = [...c.in, ...c.out, ...c.both];
    const present = members.map((n) => byName.get(n)).filter((u) => u !== undefined);
    const out: CustomerUsage = {
      name: c.name,
      totalBytes: sum(members),
      coverage: present.length === 0 ? 0 : Math.min(...present.map((u) => u.coverage)),
      resets: resetEvents(bucket, present, members),
    };
    const directed = c.in.length + c.out.length > 0;
    if (directed) {
      out.inBytes = sum(c.in);
      out.outBytes = sum(c.out);
    }
    if (bucket.intervals !== undefined && !directed) {
      const billable = p95Of(bucket, c.both);
      if (billable !== undefined) out.p95 = billable;
    } else if (bucket.intervals !== undefined) {
      // The columns with no direction count in each (see the module's note), summed after the direction's own.
      const pin = p95Of(bucket, c.both.length === 0 ? c.in : [...c.in, ...c.both]);
      const pout = p95Of(bucket, c.both.length === 0 ? c.out : [...c.out, ...c.both]);
      if (pin !== undefined) out.p95In = pin;
      if (pout !== undefined) out.p95Out = pout;
      const billable = Math.max(pin ?? -Infinity, pout ?? -Infinity);
      if (billable !== -Infinity) out.p95 = billable;
    }
    return out;
  });
}
