/**
 * A column's offset: its reset-corrected running total minus its counter,
 * which stays the same from sample to sample until the column is reset, added
 * or removed. It is what a report keeps between runs (`netmon.totals`,
 * lib/state/totals_file.ts), so the file changes only when an offset does;
 * lib/usage/running_totals.ts has the totals themselves. Pure.
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

/** The reset counts of a column that has had none (shared: never changed in place). */
export const NO_RESETS: ReadonlyMap<string, bigint> = new Map();

const NO_REASONS: ReadonlyMap<string, string> = new Map();
const NO_COUNTERS: ReadonlyMap<string, bigint> = new Map();

type Resets = ReadonlyMap<string, bigint>;

/**
 * Every column's offset after one sample, one array per field, laid out as
 * the log: the last sample's columns in its order, then those no longer read.
 */
export interface Offsets {
  /** The stamp of the sample at which they last changed (a reset, a column added, removed or moved). */
  stamp: string;
  /** Every column seen. */
  columns: readonly string[];
  /** Per column: total minus counter (negative when it had counted before its first sample); without one, total. */
  offsets: readonly bigint[];
  /** Per column: resets seen so far per reason label ({@linkcode resetLabel}); shared, never changed in place. */
  resets: readonly Resets[];
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
  // Both samples' columns are compared with the offsets' by position, the counters by name: no list of 10,000
  // names or counters is made for it (four of them were 320 KB of fresh memory every report).
  let same = true;
  let i = 0;
  previous.forEach((_, column) => {
    if (same && column !== before.columns[i++]) same = false;
  });
  i = 0;
  sample.counters.forEach((counter, column) => {
    if (same) same = column === before.columns[i++] && counter >= (previous.get(column) as bigint);
  });
  return same;
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
 *   summary counts it; with a reset in `resets` (a reset line: `start` made
 *   its counter within the interval), at its counter, counted under its
 *   reason, as the report and the summary count it;
 * - seen, but not in the previous sample (a meter removed, then put back):
 *   its counter kept counting while it was away, so it counts from its last
 *   value in the log, `lastLogged`'s (lib/state/log_back.ts), as if it had
 *   been in the previous sample with that value (the rules below); without
 *   one, from its value now (its total stays), or whole if it is in
 *   `resets`;
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
  lastLogged: ReadonlyMap<string, bigint> = NO_COUNTERS,
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
    let was = previous?.get(column);
    const i = at.get(column);
    if (i === undefined) {
      // New to the log: its total is what it counts from its first sample on, unless a reset line says its counter
      // was made within the interval (`start` made the meter): then all it counted is the interval's, as the report
      // and every reader of the log count it. (The log's very first sample has no interval: nothing counted yet.)
      const reason = before === undefined ? undefined : resets.get(column);
      if (reason === undefined) add(column, -counter, NO_RESETS);
      else add(column, 0n, new Map([[resetLabel(reason), 1n]]));
      continue;
    }
    let offset = before!.offsets[i] as bigint;
    const counts = before!.resets[i] as Resets;
    const reason = resets.get(column);
    // Not in the previous sample (its meter was removed, then put back): its offset is its total, which it left with
    // at its last value, the one it counts from now.
    if (was === undefined) {
      was = lastLogged.get(column) ?? (reason === undefined ? counter : 0n);
      offset -= was;
    }
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

/**
 * Notes in `gone` the counter in `previous` of each column `sample` lacks:
 * its last value, which it counts from if it comes back (`lastLogged` of
 * {@linkcode advanceOffsets}, for a reader of the whole log). Call it only
 * when the offsets changed (the columns did then, if ever): it looks at every
 * column.
 */
export function noteGone(
  gone: Map<string, bigint>,
  previous: ReadonlyMap<string, bigint> | undefined,
  sample: Sample,
): void {
  previous?.forEach((counter, column) => {
    if (!sample.counters.has(column)) gone.set(column, counter);
  });
}

/** The error for offsets that cannot be those after the previous sample (a file edited by hand, say). */
function notOfPrevious(why: string): RangeError {
  return new RangeError(`The offsets are not those after the previous sample: ${why}`);
}
