/**
 * The PostgreSQL store read back for the usage engine: one host's samples as
 * engine samples (lib/usage/engine.ts), and a fleet total made by adding up
 * each host's buckets. A fleet is added up bucket by bucket, after each
 * host's own engine, not by mixing hosts' samples into one stream: hosts
 * sample at different instants, and the engine shares an interval across a
 * bucket boundary by the time on each side, which only each host's own
 * intervals say.
 *
 * The resets the log records (`# netmon reset:` lines, issue 17: a counter
 * re-created that passed its old value) are in the store's resets table and
 * go to the engine as the log's lines do (`Sample.resets`); a counter that
 * went down is a reset in both by its value.
 *
 * @module
 */

import type { BucketUsage, ColumnUsage, Counter, Sample } from "../usage/engine.ts";
import type { PostgresStore } from "./postgres.ts";

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Which samples to read: Unix seconds, [from, to); unbounded when undefined. */
export interface StoreRange {
  from?: number;
  to?: number;
}

/**
 * One host's samples from the store, oldest first, as engine samples (the
 * same `columns` array while the host's columns do not change, the engine's
 * fast path). Read with a cursor: memory does not grow with the table.
 *
 * @example
 * ```ts
 * for await (const b of usageByBucketAsync(hostSamples(store, "edge1"), calendar("day", localZone()))) {
 *   // b.columns[i].usage …
 * }
 * ```
 */
export async function* hostSamples(store: PostgresStore, host: string, range: StoreRange = {}): AsyncGenerator<Sample> {
  let columns: string[] = [];
  for await (const s of store.samples({ hosts: [host], ...range })) {
    if (s.host !== host) continue;
    const names = [...s.counters.keys()];
    if (names.length !== columns.length || names.some((n, i) => n !== columns[i])) columns = names;
    const counters: Counter[] = new Array(names.length);
    let i = 0;
    for (const v of s.counters.values()) counters[i++] = v <= SAFE ? Number(v) : v;
    const sample: Sample = { epoch: s.epoch * 1000, columns, counters };
    if (s.resets) sample.resets = [...s.resets.keys()];
    yield sample;
  }
}

/**
 * A fleet's buckets: the buckets of each host's engine run (e.g.
 * `usageByBucketAsync(hostSamples(store, host), cal)` per host, with the same
 * calendar), added up per bucket and column name: usage and resets are
 * sums (each host's reset events its own: a customer's resets are the
 * sum of its resets on each host); a column's coverage is the lowest of the hosts that have it in the
 * bucket (the fleet is known as well as its least covered host; each host's
 * of a meter added there is of its time from its first sample, the fleet's
 * `since` the first of those, if no host had it before), of its own span
 * (`ColumnUsage.spanMs`: the longest of those hosts', so that a column is
 * covered as its own hosts cover it, whatever other hosts sampled up to,
 * the bucket's `spanMs` being the longest of all); the 95th
 * percentile is left out (the hosts' interval rates are not on one time
 * line). Buckets come out oldest first, columns in order of first appearance.
 */
export async function* fleetBuckets(perHost: Iterable<AsyncIterable<BucketUsage>>): AsyncGenerator<BucketUsage> {
  const buckets = new Map<
    number,
    { bucket: BucketUsage["bucket"]; spanMs: number; columns: Map<string, ColumnUsage>; events: string[][] }
  >();
  for (const host of perHost) {
    for await (const b of host) {
      let acc = buckets.get(b.bucket.start);
      if (!acc) {
        buckets.set(b.bucket.start, acc = { bucket: b.bucket, spanMs: b.spanMs, columns: new Map(), events: [] });
      }
      if (b.resetEvents) { for (const e of b.resetEvents) acc.events.push([...e]); }
      acc.spanMs = Math.max(acc.spanMs, b.spanMs);
      for (const c of b.columns) {
        const have = acc.columns.get(c.name);
        if (!have) {
          const copy: ColumnUsage = {
            name: c.name,
            usage: c.usage,
            resets: c.resets,
            coveredMs: c.coveredMs,
            coverage: c.coverage,
            spanMs: c.spanMs ?? b.spanMs,
          };
          if (c.since !== undefined) copy.since = c.since;
          acc.columns.set(c.name, copy);
        } else {
          have.usage += c.usage;
          have.resets += c.resets;
          have.spanMs = Math.max(have.spanMs as number, c.spanMs ?? b.spanMs);
          if (c.coverage < have.coverage) {
            have.coverage = c.coverage;
            have.coveredMs = c.coveredMs;
          }
          // The fleet's first sample of it: on any host (none in the bucket when one had it before).
          if (c.since === undefined || have.since === undefined) delete have.since;
          else have.since = Math.min(have.since, c.since);
        }
      }
    }
  }
  for (const start of [...buckets.keys()].sort((a, b) => a - b)) {
    const acc = buckets.get(start)!;
    const out: BucketUsage = { bucket: acc.bucket, spanMs: acc.spanMs, columns: [...acc.columns.values()] };
    if (acc.events.length > 0) out.resetEvents = acc.events;
    yield out;
  }
}
