/**
 * The reset-corrected running total of each log column: bytes counted since
 * the column's first sample, which never goes down however often the firewall
 * counter is zeroed (rules reloaded, `iptables -Z`, reboot). Prometheus'
 * `increase()` over it is exact across resets; over the raw counter it is not.
 *
 * What is kept between runs is each column's offset: its total minus its
 * counter, which stays the same from sample to sample until the column is
 * reset, added or removed. A report then only adds the offset to the counter
 * it read, and the state file that keeps the offsets
 * (`lib/state/totals_file.ts`) is rewritten only when one changes.
 *
 * Pure: previous figures and a sample in, new figures out.
 *
 * @module
 */

import type { Sample } from "../state/log_format.ts";

/**
 * The `reason` label of a reset, from issue 17's reason text
 * (lib/usage/resets.ts `REASONS`): snake_case, `re-created` as `recreated`,
 * so `counter went down` is `counter_went_down` (the label value netmon
 * used before the reasons were recorded) and `interface re-created` is
 * `interface_recreated`. Any other text (a hand-written `# netmon reset:`
 * line) is lowercased with every run of other characters as one `_`.
 */
export function resetLabel(reason: string): string {
  return reason.toLowerCase().replaceAll("re-created", "recreated").replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "") || "unknown";
}

/** The known reasons' labels, in the order the textfile lists them (others follow in name order). */
export const RESET_LABELS: readonly string[] = [
  "counter_went_down",
  "reboot",
  "interface_recreated",
  "counter_recreated",
  "rules_recreated",
  "packets_went_down",
];

/** The label of a counter that went down with no other reason given. */
const WENT_DOWN = "counter_went_down";

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

/** The reset counts of a column that has had none (shared: never changed in place). */
export const NO_RESETS: ReadonlyMap<string, bigint> = new Map();

const NO_REASONS: ReadonlyMap<string, string> = new Map();

/**
 * Every column's offset after one sample: what its counter is short of its
 * running total. Laid out as the log is, one array per field, the columns of
 * the last sample first in its order, then those no longer read: a report
 * reads and writes ten thousand of them, and the arrays are what it walks.
 */
export interface Offsets {
  /** The stamp of the sample at which they last changed (a reset, a column added, removed or moved). */
  stamp: string;
  /** Every column seen: those of the last sample, in its order, then those no longer read. */
  columns: readonly string[];
  /**
   * Per column: its total minus its counter (negative when the counter had counted before the column's first
   * sample); for a column no longer read, which has no counter, its total.
   */
  offsets: readonly bigint[];
  /** Per column: resets seen so far, per reason label, as in {@linkcode ColumnTotal.resets}; shared, never changed. */
  resets: readonly ReadonlyMap<string, bigint>[];
}

/** Refuses a negative counter. */
function checked(column: string, counter: bigint): void {
  if (counter < 0n) throw new RangeError(`Column ${JSON.stringify(column)}: counter ${counter} is negative`);
}

/**
 * True when `sample` changes nothing in `before` (the offsets after
 * `previous`): the same columns in the same order, none reset, none gone
 * down. The usual sample, checked without a lookup by name.
 */
function changesNothing(
  before: Offsets,
  previous: ReadonlyMap<string, bigint>,
  sample: Sample,
  resets: ReadonlyMap<string, string>,
): boolean {
  const n = sample.counters.size;
  if (resets.size > 0 || previous.size !== n || before.columns.length < n) return false;
  const names = [...sample.counters.keys()];
  const counters = [...sample.counters.values()];
  const previousNames = [...previous.keys()];
  const was = [...previous.values()];
  for (let i = 0; i < n; i++) {
    const column = names[i] as string;
    if (column !== before.columns[i] || column !== previousNames[i] || (counters[i] as bigint) < (was[i] as bigint)) {
      return false;
    }
  }
  return true;
}

/**
 * The offsets after `sample`, from those after the sample before it
 * (`before`, undefined on a first run) and that sample's counters
 * (`previous`). `resets` maps the columns reset since then to their reason
 * (issue 17's text, as the record step finds them and the log's
 * `# netmon reset:` lines keep them). When nothing changed (no reset, the
 * same columns in the same order: most samples) it returns `before`
 * itself, so the caller knows there is nothing to write; otherwise new
 * offsets, laid out with the sample's columns first.
 *
 * Per column of the sample:
 * - never seen before: its total starts at 0 (its offset is minus its
 *   counter), so a total is the usage since the column's first sample, as the
 *   summary counts it;
 * - seen, but not in the previous sample (a meter removed, then added again):
 *   the counter counted since its rule came back: added whole, which its
 *   offset (its total) does as it is;
 * - in `resets`, or below its previous value: a reset, counted under its
 *   reason (`counter went down` when none is given), the new counter being
 *   what was counted since: the previous counter joins the offset;
 * - otherwise the counter's growth is the total's: the offset stays.
 * A column of the previous sample that is not in this one keeps its total as
 * its offset. Throws a RangeError for a negative counter, and one saying
 * they are "not those after the previous sample" for offsets that lack a
 * column of the previous sample or name one twice.
 *
 * @example
 * ```ts
 * const s0 = { timestamp: "2024/03/01-10:00:00", counters: new Map([["proxy", 100n]]) };
 * const o0 = advanceOffsets(undefined, undefined, s0);
 * o0.offsets[0]; // -100n: its total starts at 0
 * const s1 = { timestamp: "2024/03/01-10:05:00", counters: new Map([["proxy", 15n]]) };
 * advanceOffsets(o0, s0.counters, s1).offsets[0]; // 0n: it went down, and counted 15 bytes since: total 15
 * ```
 */
export function advanceOffsets(
  before: Offsets | undefined,
  previous: ReadonlyMap<string, bigint> | undefined,
  sample: Sample,
  resets: ReadonlyMap<string, string> = NO_REASONS,
): Offsets {
  if (before !== undefined && previous !== undefined && changesNothing(before, previous, sample, resets)) {
    return before;
  }
  const at = new Map(before?.columns.map((c, i) => [c, i]));
  if (before !== undefined && at.size !== before.columns.length) throw notOfPrevious("they name a column twice");
  for (const column of previous?.keys() ?? []) {
    if (!at.has(column)) throw notOfPrevious(`its column ${JSON.stringify(column)} has none`);
  }
  const out = { stamp: sample.timestamp, columns: [] as string[], offsets: [] as bigint[], resets: [] as Resets[] };
  const add = (column: string, offset: bigint, counts: Resets) => {
    out.columns.push(column);
    out.offsets.push(offset);
    out.resets.push(counts);
  };
  for (const [column, counter] of sample.counters) {
    checked(column, counter);
    const was = previous?.get(column);
    const i = at.get(column);
    if (i === undefined) {
      add(column, -counter, NO_RESETS);
      continue;
    }
    const offset = before!.offsets[i] as bigint;
    const counts = before!.resets[i] as Resets;
    // Not in the previous sample (its meter was removed, then added again): its offset is its total as it was.
    if (was === undefined) {
      add(column, offset, counts);
      continue;
    }
    const reason = resets.get(column);
    const label = reason !== undefined ? resetLabel(reason) : counter < was ? WENT_DOWN : undefined;
    if (label === undefined) add(column, offset, counts);
    else add(column, offset + was, new Map(counts).set(label, (counts.get(label) ?? 0n) + 1n));
  }
  // Columns no longer read keep the total they had: the last counter they had joins the offset.
  for (const [i, column] of (before?.columns ?? []).entries()) {
    if (!sample.counters.has(column)) {
      add(column, (before!.offsets[i] as bigint) + (previous?.get(column) ?? 0n), before!.resets[i] as Resets);
    }
  }
  return out;
}

type Resets = ReadonlyMap<string, bigint>;

/** The error for offsets that cannot be those after the previous sample (a file edited by hand, say). */
function notOfPrevious(why: string): RangeError {
  return new RangeError(`The offsets are not those after the previous sample: ${why}`);
}

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
 * maps the columns reset since the previous sample to their reason.
 * Columns not in the sample keep their total, without a counter. The order
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
): Totals {
  const before = previous && offsetsOfTotals(previous);
  return totalsAt(advanceOffsets(before, previous && countersOfTotals(previous), sample, resets), sample);
}

/**
 * The totals after the last of `samples` (oldest first), or undefined if
 * there are none; from `start` (totals before the first of them) when given.
 */
export function totalsOfSamples(samples: Iterable<Sample>, start?: Totals): Totals | undefined {
  let offsets = start && offsetsOfTotals(start);
  let previous = start && countersOfTotals(start);
  let last: Sample | undefined;
  for (const s of samples) {
    offsets = advanceOffsets(offsets, previous, s, s.resets);
    previous = s.counters;
    last = s;
  }
  return last && offsets ? totalsAt(offsets, last) : start;
}
