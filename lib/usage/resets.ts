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

/** What is known of one column at a sample besides its byte counter. */
export interface ColumnIdentity {
  /** The counter's identity, where the source has one: another one is another counter. */
  id?: string;
  /** Cumulative packets. */
  packets?: bigint;
  /** pf: rule evaluations. */
  evaluations?: bigint;
}

/** What is known of one sample besides its counters. */
export interface Identities {
  /** The sample's instant, seconds since the epoch. */
  at: number;
  /** The boot time then, seconds since the epoch. */
  boot: number;
  /** Per column. */
  columns: Map<string, ColumnIdentity>;
}

/** What {@linkcode findResets} compares. */
export interface ResetInputs {
  /** The previous sample (undefined on a first run). */
  previous: Sample | undefined;
  /** Its identities, if they are known. */
  previousIds: Identities | undefined;
  /** The sample now. */
  sample: Sample;
  /** Its identities. */
  ids: Identities;
  /** What a changed `id` means, e.g. `interface re-created`. */
  identityReason?: string | undefined;
  /** Columns `netmon start` made afresh since the previous sample. */
  started?: ReadonlySet<string>;
  /** The logged values are netmon's own running sums (pf -z): nothing resets them. */
  carried?: boolean | undefined;
}

/**
 * The columns reset since the previous sample, each with its reason. Only
 * columns the previous sample has can be reset (a new column counts from
 * zero anyway).
 *
 * A reboot is a boot time later than the previous sample's instant: it is
 * worked out from the wall clock, so a clock stepped forward moves it too,
 * but only a step larger than the machine's uptime at the previous sample
 * could make it look later than that sample (a smaller step, or one back,
 * never does).
 *
 * @example
 * ```ts
 * const s = (v: bigint) => ({ timestamp: "2026/01/01-00:00:00", counters: new Map([["eth0:rx", v]]) });
 * const ids = (id: string) => ({ at: 100, boot: 0, columns: new Map([["eth0:rx", { id }]]) });
 * findResets({
 *   previous: s(5n), previousIds: ids("3"), sample: s(9n), ids: ids("7"), identityReason: "interface re-created",
 * }); // Map { "eth0:rx" => "interface re-created" }
 * ```
 */
export function findResets(i: ResetInputs): Map<string, string> {
  const resets = new Map<string, string>();
  const before = i.previous?.counters;
  if (!before) return resets;
  const prev = i.previousIds;
  const rebooted = !i.carried && prev !== undefined && i.ids.boot > prev.at + BOOT_JITTER;
  for (const [column, after] of i.sample.counters) {
    const old = before.get(column);
    if (old === undefined) continue;
    const reason = rebooted ? REASONS.reboot : i.carried ? undefined : why(i, column, prev?.columns.get(column));
    if (reason) resets.set(column, reason);
    else if (after < old) resets.set(column, REASONS.wentDown);
  }
  return resets;
}

/** Why `column` was reset though its counter may have grown, or undefined. */
function why(i: ResetInputs, column: string, was: ColumnIdentity | undefined): string | undefined {
  const now = i.ids.columns.get(column);
  const old = i.previous?.counters.get(column) ?? 0n;
  const value = i.sample.counters.get(column) ?? 0n;
  // Bytes and packets both exactly as before on another counter: a ruleset restored with its saved counters
  // (nft -f of a saved ruleset) for an idle meter, not a counter made afresh.
  const restored = value === old && was?.packets !== undefined && was.packets === now?.packets;
  if (was?.id !== undefined && now?.id !== undefined && was.id !== now.id && !restored) {
    return i.identityReason ?? REASONS.counterRecreated;
  }
  if (was?.evaluations !== undefined && now?.evaluations !== undefined && now.evaluations < was.evaluations) {
    return REASONS.rulesRecreated;
  }
  if (i.started?.has(column)) return REASONS.rulesRecreated;
  if (value < old) return REASONS.wentDown;
  if (was?.packets !== undefined && now?.packets !== undefined && now.packets < was.packets) {
    return REASONS.packetsWentDown;
  }
  return undefined;
}
