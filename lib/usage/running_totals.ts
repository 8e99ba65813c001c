/**
 * The reset-corrected running total of each log column: bytes counted since
 * the column's first sample, which never goes down however often the firewall
 * counter is zeroed (rules reloaded, `iptables -Z`, reboot). Prometheus'
 * `increase()` over it is exact across resets; over the raw counter it is not.
 *
 * Pure: previous figures and a sample in, new figures out. The state file
 * that keeps them between runs is `lib/state/totals_file.ts`.
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
  /** The stamp of the last sample they include (to check they match `netmon.last`). */
  stamp: string;
  /** Per column, in the order first seen. */
  columns: Map<string, ColumnTotal>;
}

/** The reset counts of a column that has had none (shared: never changed in place). */
export const NO_RESETS: ReadonlyMap<string, bigint> = new Map();

/** `counter`, refused when negative. */
function checked(column: string, counter: bigint): bigint {
  if (counter < 0n) throw new RangeError(`Column ${JSON.stringify(column)}: counter ${counter} is negative`);
  return counter;
}

/**
 * A column's figures after its counter read `counter`, from its figures
 * before (`old`), `reason` being why the record step found it reset, if it did.
 */
function advanced(column: string, old: ColumnTotal, counter: bigint, reason: string | undefined): ColumnTotal {
  checked(column, counter);
  const before = old.counter;
  // Back after its meter was removed: the counter counted since its rule came back; not a reset of a known value.
  if (before === undefined) return { total: old.total + counter, counter, resets: old.resets };
  const label = reason !== undefined ? resetLabel(reason) : counter < before ? WENT_DOWN : undefined;
  if (label === undefined) return { total: old.total + counter - before, counter, resets: old.resets };
  // A reset: the new counter is what was counted since.
  const resets = new Map(old.resets);
  resets.set(label, (resets.get(label) ?? 0n) + 1n);
  return { total: old.total + counter, counter, resets };
}

/**
 * The totals after `sample`, from those after the previous sample (undefined
 * on a first run). `resets` maps the columns reset since the previous sample
 * to their reason (issue 17's text, as the record step finds them and the
 * log's `# netmon reset:` lines keep them).
 *
 * Per column of the sample:
 * - never seen before: its total starts at 0, so a total is the usage since
 *   the column's first sample, as the summary counts it;
 * - seen, but not in the previous sample (a meter removed, then added
 *   again): the counter counted since its rule came back: added whole;
 * - in `resets`, or below its previous value: a reset, counted under its
 *   reason (`counter went down` when none is given), the new counter being
 *   what was counted since (added whole);
 * - otherwise the growth of the counter is added.
 * Columns not in the sample keep their total, without a counter. The order
 * is the previous totals', then new columns in the sample's order.
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
  resets: ReadonlyMap<string, string> = new Map(),
): Totals {
  const columns = new Map<string, ColumnTotal>();
  const counters = sample.counters;
  for (const [column, old] of previous?.columns ?? []) {
    const counter = counters.get(column);
    columns.set(
      column,
      counter === undefined
        ? { total: old.total, counter: undefined, resets: old.resets }
        : advanced(column, old, counter, resets.get(column)),
    );
  }
  for (const [column, counter] of counters) {
    if (!columns.has(column)) columns.set(column, { total: 0n, counter: checked(column, counter), resets: NO_RESETS });
  }
  return { stamp: sample.timestamp, columns };
}

/**
 * The totals after the last of `samples` (e.g. a whole log, oldest first),
 * or undefined if there are none: how the state file is rebuilt when it is
 * missing or does not match the last sample. Each sample's `resets` (the
 * log's `# netmon reset:` lines before it) give their reasons.
 */
export function totalsOfSamples(samples: Iterable<Sample>, start?: Totals): Totals | undefined {
  let t = start;
  for (const s of samples) t = nextTotals(t, s, s.resets);
  return t;
}
