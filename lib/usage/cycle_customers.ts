/**
 * The config's customers as the cycle tally (lib/usage/cycle_tally.ts)
 * serves them: matched to the config's columns and those the tally has
 * counted, the tally's plan (the billings it counts in, the customers whose
 * rates it keeps), the plan's fingerprint, and each customer's cycle so far
 * with its quota.
 *
 * @module
 */

import { type Billing, type CustomerColumns, customerColumns, type CustomerSpec } from "../config/customers.ts";
import { allColumns, type Column, type Meter } from "../config/meters.ts";
import { ConfigError } from "../host/errors.ts";
import { type Calendar, calendar } from "./calendar.ts";
import {
  counted,
  customerCycle,
  type CustomerTally,
  type Tally,
  type TallyCustomer,
  type TallyPlan,
} from "./cycle_tally.ts";
import { localZone, type Zone, zoneNamed } from "./zone.ts";

/** A customer matched to the log's columns, with what the config says of it. */
export interface Watched extends TallyCustomer {
  /** The config's customer. */
  spec: CustomerSpec;
}

/** The key of a customer's billing in the tally: customers of one billing share its counts. */
export function billingKey(spec: CustomerSpec): string {
  return `${spec.billing.cycleDay} ${spec.billing.timeZone ?? ""}`;
}

/**
 * The config's columns as a report matches customers to them: as the config
 * makes them ({@linkcode allColumns}), each with the meter that writes it and
 * the direction the config gives it (a meter counting one direction, split
 * or not), as the summary has them; with no meters (the interface source),
 * the sample's columns, their direction the one their name says (`:rx`).
 */
export function reportColumns(meters: readonly Meter[], sampled: () => Iterable<string>): Column[] {
  if (meters.length === 0) return Array.from(sampled(), (name) => ({ name, label: name }));
  return allColumns(meters);
}

/**
 * `specs` (the config's customers; with `only`, those it is true of) matched
 * to `columns` (the config's: {@linkcode reportColumns}) and to `past`, the
 * columns the tally has counted (the log's: a meter split or unsplit within
 * the cycle is all of its columns, a `*` customer every column of the log, as
 * in the summary). A meter matching no column is a config error naming it and
 * its customer, numbered as in the config.
 */
export function matchCustomers(
  specs: readonly CustomerSpec[],
  columns: readonly Column[],
  where: string,
  past?: Iterable<string>,
  only?: (spec: CustomerSpec) => boolean,
): Watched[] {
  if (specs.length === 0) return [];
  let matched: CustomerColumns[];
  try {
    matched = customerColumns(specs, columns, where, past, only);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const keyOf = billingKeys();
  const out: Watched[] = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i] as CustomerSpec;
    if (only !== undefined && !only(spec)) continue;
    out.push({ spec, columns: matched[out.length] as CustomerColumns, billing: keyOf(spec) });
  }
  return out;
}

/** {@linkcode billingKey}, made once per billing: the customers of one billing share its object (parseCustomers). */
function billingKeys(): (spec: CustomerSpec) => string {
  const made = new Map<Billing, string>();
  return (spec) => {
    let key = made.get(spec.billing);
    if (key === undefined) made.set(spec.billing, key = billingKey(spec));
    return key;
  };
}

/** Whether a customer has a quota or a commit: those alerts are about. */
export function isWatched(spec: CustomerSpec): boolean {
  return spec.quota !== undefined || spec.commit !== undefined;
}

/** The customers with a quota or a commit ({@linkcode isWatched}), matched as {@linkcode matchCustomers} does. */
export function watchedCustomers(
  specs: readonly CustomerSpec[],
  columns: readonly Column[],
  where: string,
  past?: Iterable<string>,
): Watched[] {
  return matchCustomers(specs, columns, where, past, isWatched);
}

/**
 * What the tally is kept for: the billing of every customer in `specs` (so
 * any customer's cycle can be taken from it, not only those with a quota),
 * each calendar made the first time it is needed (a billing with no zone in
 * `local()`'s: the log's, lib/state/zone_record.ts; default the machine's);
 * and the rates of the `watched` customers with a commit.
 */
export function tallyPlan(
  specs: readonly CustomerSpec[],
  watched: readonly Watched[],
  local: () => Zone = localZone,
): TallyPlan {
  const billings = new Map<string, () => Calendar>();
  const keyOf = billingKeys();
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i] as CustomerSpec;
    const key = keyOf(spec);
    if (billings.has(key)) continue;
    let made: Calendar | undefined;
    const { cycleDay, timeZone } = spec.billing;
    billings.set(key, () => made ??= calendar("cycle", zoneNamed(timeZone, local), cycleDay));
  }
  return { billings, rates: watched.filter((w) => w.spec.commit !== undefined) };
}

/**
 * What a tally was made for, as a short hash: another billing, or another
 * customer with a commit or other columns for one, makes it stale. Adding a
 * customer of a billing already counted does not: its cycle is its
 * columns'. Two 32-bit FNV-1a hashes, so the tally file does not carry the
 * plan.
 */
export function fingerprint(plan: TallyPlan): string {
  let a = 0x811c9dc5, b = 0x01000193 ^ plan.billings.size;
  const add = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    a = Math.imul(a ^ 0x1f, 0x01000193); // a separator no name holds
    b = Math.imul(b ^ 0x1f, 0x5bd1e995);
  };
  for (const key of plan.billings.keys()) add(key);
  for (const c of plan.rates) {
    add(c.columns.name);
    add(c.billing);
    for (const cols of [c.columns.in, c.columns.out, c.columns.both]) add(cols.join("\u001e"));
  }
  const hex = (h: number) => (h >>> 0).toString(16).padStart(8, "0");
  return `${hex(a)}${hex(b)}:${plan.billings.size}:${plan.rates.length}`;
}

/** What a report checks customers with. */
export interface ReportPlan {
  /** The customers with a quota or a commit, matched. */
  watched: Watched[];
  /** The tally's plan for the config's customers. */
  plan: TallyPlan;
  /** The plan's {@linkcode fingerprint}. */
  print: string;
}

/**
 * A report's plan: `specs` with a quota or commit matched to the config's
 * `columns` ({@linkcode reportColumns}) and to those `tally` has counted
 * (its counters: every column of the log since it began, a column that left
 * the log keeping its counter; none when no tally was read), the plan and
 * its fingerprint. The tally's columns change only when the log gains one,
 * which the config's then already have: a plan made from the tally a report
 * wrote is the plan it wrote it for, and a commit customer's columns (so the
 * fingerprint) change only at the report that first logs a column its meters
 * match, as they did when only the config's columns were matched. `local`:
 * as {@linkcode tallyPlan}'s.
 */
export function reportPlan(
  specs: readonly CustomerSpec[],
  columns: readonly Column[],
  where: string,
  tally: Tally | undefined,
  local?: () => Zone,
): ReportPlan {
  const watched = watchedCustomers(specs, columns, where, tally?.counters.keys());
  const plan = tallyPlan(specs, watched, local);
  return { watched, plan, print: fingerprint(plan) };
}

/** A customer's cycle so far, with its quota: what a view of it needs. */
export interface CustomerCycleUsage {
  /** The customer's name. */
  name: string;
  /** Its cycle so far: start, end, in, out, both, resets. */
  cycle: CustomerTally;
  /** Bytes counting against its quota (its `count`), or all of its bytes when it has no quota. */
  used: bigint;
  /** Its quota in bytes per cycle, if it has one. */
  quota?: bigint;
}

/**
 * Each of `customers`' cycle so far (customers whose billing the tally does
 * not count are left out), with its quota; for the report's outputs that
 * show it, such as Prometheus metrics.
 *
 * @example
 * ```ts
 * const columns = reportColumns(config.meters, () => sample.counters.keys());
 * const customers = matchCustomers(config.customers, columns, "netmon.toml", tally.counters.keys());
 * for (const u of customerCycleUsage(tally, customers)) console.log(u.name, u.cycle.start, u.used, u.quota);
 * ```
 */
export function customerCycleUsage(tally: Tally, customers: readonly Watched[]): CustomerCycleUsage[] {
  const out: CustomerCycleUsage[] = [];
  for (const c of customers) {
    const cycle = customerCycle(tally, c);
    if (!cycle) continue;
    const quota = c.spec.quota;
    const usage: CustomerCycleUsage = { name: c.spec.name, cycle, used: counted(cycle, quota?.count ?? "total") };
    if (quota) usage.quota = quota.bytes;
    out.push(usage);
  }
  return out;
}
