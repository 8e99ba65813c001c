/**
 * Which columns were reset between two samples, and why, whatever their
 * counters' values: a counter that restarted from zero and passed its old
 * value before the next sample looks like growth, so the counter alone cannot
 * tell. What can: the boot time, each counter's identity (an interface's
 * ifindex, an nftables counter's handles), counters that only grow while the
 * counter lives (packets; pf's rule evaluations), and `netmon start`'s record
 * of rules it made afresh.
 *
 * Pure: it takes what the previous and the current sample were, read by the
 * caller.
 *
 * @module
 */

import type { Sample } from "../state/log_format.ts";

/** The reasons a column can be reset for, in the order one is chosen when several hold. */
export const REASONS = {
  reboot: "reboot",
  interfaceRecreated: "interface re-created",
  counterRecreated: "counter re-created",
  rulesRecreated: "rules re-created",
  wentDown: "counter went down",
  packetsWentDown: "packets went down",
} as const;

/** Seconds the boot time, worked out from the wall clock and the uptime, may be off by. */
export const BOOT_JITTER = 5;

/**
 * What is known of one sample besides its counters, column by column in the
 * order of `columns` (arrays rather than objects: a report of 10,000 meters
 * makes and reads them on every run). Decimal strings, as stored.
 */
export interface Identities {
  /** The sample's instant, seconds since the epoch. */
  at: number;
  /** The boot time then, seconds since the epoch. */
  boot: number;
  /** The columns, in order. */
  columns: readonly string[];
  /** Each column's counter identity ("" where the source has none): another one is another counter. */
  ids?: readonly string[] | undefined;
  /** Cumulative packets per column, decimal ("" where unknown). */
  packets?: readonly string[] | undefined;
  /** pf: rule evaluations per column, decimal ("" where unknown). */
  evaluations?: readonly string[] | undefined;
}

/** What {@linkcode findResets} compares. */
export interface ResetInputs {
  /** The previous sample (undefined on a first run). */
  previous: Sample | undefined;
  /** Its identities, if they are known. */
  previousIds: Identities | undefined;
  /** The sample now, its counters in the order of `ids.columns`. */
  sample: Sample;
  /** Its identities. */
  ids: Identities;
  /** What a changed identity means, e.g. `interface re-created`. */
  identityReason?: string | undefined;
  /** Columns whose counters `netmon start` made afresh (or made, for a new column) since the previous sample. */
  started?: ReadonlySet<string>;
  /** The logged values are netmon's own running sums (pf -z): nothing resets them. */
  carried?: boolean | undefined;
}

/** True when decimal `a` is below decimal `b` (both without leading zeros); false when either is unknown. */
export function decimalBelow(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  return a.length !== b.length ? a.length < b.length : a < b;
}

/**
 * The columns reset since the previous sample, each with its reason. A
 * column the previous sample lacks is reset only when `netmon start` made its
 * counter since (`started`), or the machine booted since: it counted from
 * zero within the interval, and
 * the reset line says so to every reader; otherwise every reader starts it
 * at its first value, or at its last value in the log if the log had it
 * before (a meter put back: lib/usage/deltas.ts, lib/usage/engine.ts).
 *
 * A reboot is a boot time later than the previous sample's instant (every
 * column is reset, a new one too: all counted since the boot): it is
 * worked out from the wall clock, so a clock stepped forward moves it too,
 * but only a step larger than the machine's uptime at the previous sample
 * could make it look later than that sample (a smaller step, or one back,
 * never does).
 *
 * Another identity with bytes and packets exactly as before is no reset: an
 * idle meter's counter restored with its saved value (a saved nftables
 * ruleset loaded again), not one made afresh.
 *
 * @example
 * ```ts
 * const s = (v: bigint) => ({ timestamp: "2026/01/01-00:00:00", counters: new Map([["eth0:rx", v]]) });
 * const ids = (id: string) => ({ at: 100, boot: 0, columns: ["eth0:rx"], ids: [id] });
 * findResets({
 *   previous: s(5n), previousIds: ids("3"), sample: s(9n), ids: ids("7"), identityReason: "interface re-created",
 * }); // Map { "eth0:rx" => "interface re-created" }
 * ```
 */
export function findResets(i: ResetInputs): Map<string, string> {
  const resets = new Map<string, string>();
  const before = i.previous?.counters;
  if (!before) return resets;
  const was = i.previousIds;
  const now = i.ids;
  if (was !== undefined && !i.carried && now.boot > was.at + BOOT_JITTER) {
    // A column new since the previous sample too: its counter, like every other, counts from the boot.
    for (const column of i.sample.counters.keys()) resets.set(column, REASONS.reboot);
    return resets;
  }
  // The previous identities by this sample's column index: the same order (the usual case) or looked up by name.
  let at: (j: number) => number = (j) => j;
  if (was && (was.columns.length !== now.columns.length || was.columns.some((c, j) => c !== now.columns[j]))) {
    const index = new Map(was.columns.map((c, j) => [c, j]));
    at = (j) => index.get(now.columns[j] as string) ?? -1;
  }
  let j = -1;
  // forEach, not for-of: see computeUsage in lib/usage/deltas.ts.
  i.sample.counters.forEach((after, column) => {
    j++;
    const old = before.get(column);
    if (old === undefined) {
      // A column new since the previous sample whose counter start made meanwhile: all it counted is this interval's.
      if (i.started?.has(column)) resets.set(column, REASONS.rulesRecreated);
      return;
    }
    if (i.carried) {
      if (after < old) resets.set(column, REASONS.wentDown);
      return;
    }
    const k = was ? at(j) : -1;
    const idWas = k >= 0 ? was?.ids?.[k] : undefined;
    const idNow = now.ids?.[j];
    const pWas = k >= 0 ? was?.packets?.[k] : undefined;
    const pNow = now.packets?.[j];
    if (idWas && idNow && idWas !== idNow && !(after === old && pWas && pWas === pNow)) {
      resets.set(column, i.identityReason ?? REASONS.counterRecreated);
    } else if (k >= 0 && decimalBelow(now.evaluations?.[j], was?.evaluations?.[k])) {
      resets.set(column, REASONS.rulesRecreated);
    } else if (i.started?.has(column) && !(idWas && idWas === idNow)) {
      // A counter with the identity it had at the previous sample was not made since (a start killed before its
      // commands ran left its record): the record is for counters without one (iptables) or not known then.
      resets.set(column, REASONS.rulesRecreated);
    } else if (after < old) resets.set(column, REASONS.wentDown);
    else if (decimalBelow(pNow, pWas)) resets.set(column, REASONS.packetsWentDown);
  });
  return resets;
}
