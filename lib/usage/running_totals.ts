/**
 * The reset-corrected running total of each log column: bytes counted since
 * the column's first sample, which never goes down however often the firewall
 * counter is zeroed (rules reloaded, `iptables -Z`, reboot). Prometheus'
 * `increase()` over it is exact across resets; over the raw counter it is not.
 *
 * A report keeps and advances offsets (lib/usage/offsets.ts: total minus
 * counter), whose rules these totals state; totals are what the offsets mean,
 * for a file of version 2 and for tests. Pure.
 *
 * @module
 */

import type { Sample } from "../state/log_format.ts";
import { advanceOffsets, noteGone, type Offsets } from "./offsets.ts";

export { advanceOffsets, NO_RESETS, type Offsets, RESET_LABELS, resetLabel } from "./offsets.ts";

/** One column's running figures after a sample. */
export interface ColumnTotal {
  /** Bytes since the column's first sample, reset-corrected. */
  total: bigint;
  /** The raw counter at the sample; undefined when the column was not in it (a meter removed, kept for its total). */
  counter: bigint | undefined;
  /**
   * Resets seen so far, per reason label ({@linkcode resetLabel}); reasons never seen are absent. Read-only: one
   * map is shared by the totals of successive samples until a reset changes it.
   */
  resets: ReadonlyMap<string, bigint>;
}

/** Every column's figures as of one sample. */
export interface Totals {
  /** The stamp of the last sample they include. */
  stamp: string;
  /** Per column: those of the last sample in its order, then those no longer read. */
  columns: Map<string, ColumnTotal>;
}

const NO_REASONS: ReadonlyMap<string, string> = new Map();

type Resets = ReadonlyMap<string, bigint>;

/** The offsets of `totals`: each column's total minus its counter (its total, for a column without one). */
export function offsetsOfTotals(totals: Totals): Offsets {
  const out = { stamp: totals.stamp, columns: [] as string[], offsets: [] as bigint[], resets: [] as Resets[] };
  for (const [column, t] of totals.columns) {
    out.columns.push(column);
    out.offsets.push(t.total - (t.counter ?? 0n));
    out.resets.push(t.resets);
  }
  return out;
}

/** The counters of the sample `totals` are of (those of its columns that have one). */
function countersOfTotals(totals: Totals): Map<string, bigint> {
  const counters = new Map<string, bigint>();
  for (const [column, t] of totals.columns) if (t.counter !== undefined) counters.set(column, t.counter);
  return counters;
}

/**
 * The totals at `sample` from the offsets after it, in their order: each
 * column's counter plus its offset; a column not in the sample has its offset
 * as its total.
 */
export function totalsAt(offsets: Offsets, sample: Sample): Totals {
  const columns = new Map<string, ColumnTotal>();
  offsets.columns.forEach((column, i) => {
    const counter = sample.counters.get(column);
    columns.set(column, {
      total: (counter ?? 0n) + (offsets.offsets[i] as bigint),
      counter,
      resets: offsets.resets[i] as Resets,
    });
  });
  return { stamp: sample.timestamp, columns };
}

/**
 * The totals after `sample`, from those after the previous sample (undefined
 * on a first run): {@linkcode advanceOffsets}'s rules, as totals. `resets`
 * maps the columns reset since the previous sample to their reason;
 * `lastLogged`, the last value of each column that comes back (one the
 * previous sample lacks: it counts from there). Columns not in the sample
 * keep their total, without a counter. The order
 * is the sample's, then the columns it no longer has.
 *
 * @example
 * ```ts
 * const t0 = nextTotals(undefined, { timestamp: "2024/03/01-10:00:00", counters: new Map([["proxy", 100n]]) });
 * const t1 = nextTotals(t0, { timestamp: "2024/03/01-10:05:00", counters: new Map([["proxy", 15n]]) });
 * t1.columns.get("proxy")?.total; // 15n: the counter went down, its 15 bytes are since the reset
 * ```
 */
export function nextTotals(
  previous: Totals | undefined,
  sample: Sample,
  resets: ReadonlyMap<string, string> = NO_REASONS,
  lastLogged?: ReadonlyMap<string, bigint>,
): Totals {
  const before = previous && offsetsOfTotals(previous);
  return totalsAt(advanceOffsets(before, previous && countersOfTotals(previous), sample, resets, lastLogged), sample);
}

/**
 * The totals after the last of `samples` (oldest first), or undefined if
 * there are none; from `start` (totals before the first of them) when given,
 * whose columns without a counter come back, if they do, from their value
 * then (their last is not known).
 */
export function totalsOfSamples(samples: Iterable<Sample>, start?: Totals): Totals | undefined {
  let offsets = start && offsetsOfTotals(start);
  let previous = start && countersOfTotals(start);
  let last: Sample | undefined;
  const gone = new Map<string, bigint>();
  for (const s of samples) {
    const next = advanceOffsets(offsets, previous, s, s.resets, gone);
    if (next !== offsets) noteGone(gone, previous, s);
    offsets = next;
    previous = s.counters;
    last = s;
  }
  return last && offsets ? totalsAt(offsets, last) : start;
}
