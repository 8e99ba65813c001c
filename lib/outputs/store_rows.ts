/**
 * What both stores (SQLite, PostgreSQL) keep of samples sharing a second,
 * and what loading samples into one did.
 *
 * The log's stamps have one-second resolution and the stores' key is
 * (stamp, column): of two samples in one second (two runs close together)
 * the log keeps both lines, a store one row per column. Both stores keep
 * the LAST: the log's usage engine (lib/usage/engine.ts) puts the growth
 * between two samples of one instant in the bucket that instant is in, so
 * each column's usage up to that second, and every interval after it, is
 * the same as from the last sample alone. Keeping the first would leave
 * the second sample's growth out of the store until the next sample (and
 * for good if there is none), and count a counter reset between the second
 * sample and the next one as growth. What one row per second cannot keep:
 * when a bucket begins after the sample before that second, up to it, the
 * log gives the growth between the two samples of the second wholly to the
 * second's bucket, the store shares it with the interval before by time;
 * the interval rates (the 95th percentile) count that growth in the
 * interval before, where the log's zero-length interval has no rate; and a
 * counter reset between the two samples of one second: the log counts the
 * first sample's growth, then the reset; the store, which has only the
 * second, counts the reset alone. A reset the log records before the first
 * of them goes with the kept row (PostgreSQL's resets table): the log counts
 * the first sample's value, then the growth to the second's, the store the
 * second's value, the same.
 *
 * @module
 */

import type { Sample } from "../state/log_format.ts";
import type { TimedSample } from "../state/log_timed.ts";

/** What loading samples into a store did: rows are one per sample and column. */
export interface StoreCounts {
  /** Samples read. */
  samples: number;
  /** Their rows. */
  rows: number;
  /** Rows written: new, or changed (a later sample of a second the store held another sample of). */
  stored: number;
  /** Rows the store held already, the same. */
  present: number;
  /** Rows left out for a later sample of the same second (the store keeps one row per second and column). */
  superseded: number;
  /** Resets written (PostgreSQL: the log's reset lines, new or changed). */
  resets: number;
}

/** No samples, no rows. */
export function noCounts(): StoreCounts {
  return { samples: 0, rows: 0, stored: 0, present: 0, superseded: 0, resets: 0 };
}

/** Adds `b` to `a`. */
export function addCounts(a: StoreCounts, b: StoreCounts): StoreCounts {
  a.samples += b.samples;
  a.rows += b.rows;
  a.stored += b.stored;
  a.present += b.present;
  a.superseded += b.superseded;
  a.resets += b.resets;
  return a;
}

/**
 * `read N samples (R rows) from LOG into WHERE: M rows stored, K already present, D left out for …`: one line. The
 * rows left out are the log's (an earlier sample of a second it has a later one of), never written, at every
 * import; a row the store held of an earlier sample of its second and rewrote is one stored. The resets stored
 * (PostgreSQL's resets table, new or changed) are said when there are any.
 */
export function countsLine(n: StoreCounts, log: string, where: string): string {
  return `read ${n.samples} samples (${n.rows} rows) from ${log} into ${where}: ${n.stored} rows stored, ` +
    `${n.present} already present, ${n.superseded} left out for a later sample of the same second` +
    `${n.resets > 0 ? `; ${n.resets} reset(s) stored` : ""}\n`;
}

/**
 * `samples` (in log order) as a store keeps them: of the rows (stamp,
 * column) that several samples share, the last sample's, with the resets
 * the log records before any of them (the later's reason where both have
 * one); a sample left with no row is dropped. `superseded` counts the rows
 * left out. The same
 * array when no two samples share a second (the usual case: nothing copied).
 */
export function lastOfEachSecond(
  samples: readonly TimedSample[],
): { samples: readonly TimedSample[]; superseded: number } {
  const epochs = new Set<number>();
  for (const s of samples) epochs.add(s.epoch);
  if (epochs.size === samples.length) return { samples, superseded: 0 };
  // Each second's resets, the later sample's reason first.
  const resets = new Map<number, Map<string, string>>();
  for (const { epoch, sample } of samples) {
    if (!sample.resets) continue;
    let r = resets.get(epoch);
    if (!r) resets.set(epoch, r = new Map());
    for (const [type, reason] of sample.resets) r.set(type, reason);
  }
  const taken = new Map<number, Set<string>>();
  const kept: TimedSample[] = [];
  let superseded = 0;
  for (let i = samples.length - 1; i >= 0; i--) {
    const { epoch, sample } = samples[i]!;
    let types = taken.get(epoch);
    if (!types) taken.set(epoch, types = new Set());
    const counters = new Map<string, bigint>();
    for (const [type, bytes] of sample.counters) {
      if (types.has(type)) superseded++;
      else {
        types.add(type);
        counters.set(type, bytes);
      }
    }
    if (counters.size === 0) continue;
    const second = resets.get(epoch);
    // Nothing left out and no other sample's resets in its second: kept as it is (a whole log's import, copied not).
    if (counters.size === sample.counters.size && (second?.size ?? 0) === (sample.resets?.size ?? 0)) {
      kept.push(samples[i]!);
      continue;
    }
    const reset = second && new Map([...second].filter(([t]) => counters.has(t)));
    const copy: Sample = { timestamp: sample.timestamp, counters };
    if (sample.packets) copy.packets = new Map([...sample.packets].filter(([t]) => counters.has(t)));
    if (reset?.size) copy.resets = reset;
    kept.push({ epoch, sample: copy });
  }
  return { samples: kept.reverse(), superseded };
}
