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
  /** Resets seen so far, per reason label ({@linkcode resetLabel}); reasons never seen are absent. */
  resets: Map<string, bigint>;
}

/** Every column's figures as of one sample. */
export interface Totals {
  /** The stamp of the last sample they include (to check they match `netmon.last`). */
  stamp: string;
  /** Per column, in the order first seen. */
  columns: Map<string, ColumnTotal>;
}

/**
 * New totals from previous totals, previous counters and new counters.
 *
 * Per column of `counters`:
 * - never seen (not in `prevTotals`): the total starts at 0, so a total is
 *   the usage since the column's first sample, as the summary counts it;
 * - no previous counter but a previous total (a meter removed, then added
 *   again): the counter counted since its rule came back: added whole;
 * - in `resets` (column names), or below its previous value: a reset, the new counter is
 *   what was counted since (added whole);
 * - otherwise the growth of the counter is added.
 * Columns not in `counters` keep their total.
 *
 * @example
 * ```ts
 * advanceTotals(new Map([["proxy", 100n]]), new Map([["proxy", 60n]]), new Map([["proxy", 15n]]), []);
 * // Map { "proxy" => 115n }: the counter went down, its 15 bytes are since the reset
 * ```
 */
export function advanceTotals(
  prevTotals: ReadonlyMap<string, bigint>,
  prevCounters: ReadonlyMap<string, bigint> | undefined,
  counters: ReadonlyMap<string, bigint>,
  resets: Iterable<string>,
): Map<string, bigint> {
  const flagged = new Set(resets);
  const out = new Map(prevTotals);
  for (const [column, counter] of counters) {
    if (counter < 0n) throw new RangeError(`Column ${JSON.stringify(column)}: counter ${counter} is negative`);
    const total = prevTotals.get(column);
    const before = prevCounters?.get(column);
    if (total === undefined) out.set(column, 0n);
    else if (before === undefined || flagged.has(column) || counter < before) out.set(column, total + counter);
    else out.set(column, total + counter - before);
  }
  return out;
}

/**
 * The totals after `sample`, from those after the previous sample (undefined
 * on a first run). `resets` maps the columns reset since the previous sample
 * to their reason (issue 17's text, as the record step finds them and the
 * log's `# netmon reset:` lines keep them); a column not in it whose counter
 * went down counts as `counter went down`.
 */
export function nextTotals(
  previous: Totals | undefined,
  sample: Sample,
  resets: ReadonlyMap<string, string> = new Map(),
): Totals {
  const prevTotals = new Map<string, bigint>();
  const prevCounters = new Map<string, bigint>();
  for (const [c, t] of previous?.columns ?? []) {
    prevTotals.set(c, t.total);
    if (t.counter !== undefined) prevCounters.set(c, t.counter);
  }
  const totals = advanceTotals(prevTotals, prevCounters, sample.counters, resets.keys());
  const columns = new Map<string, ColumnTotal>();
  for (const [c, total] of totals) {
    const old = previous?.columns.get(c);
    const counter = sample.counters.get(c);
    const resetsSoFar = new Map(old?.resets);
    const before = prevCounters.get(c);
    if (counter !== undefined && before !== undefined) {
      const reason = resets.get(c);
      const label = reason !== undefined ? resetLabel(reason) : counter < before ? WENT_DOWN : undefined;
      if (label !== undefined) resetsSoFar.set(label, (resetsSoFar.get(label) ?? 0n) + 1n);
    }
    columns.set(c, { total, counter, resets: resetsSoFar });
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
