/**
 * The Prometheus textfile's per-customer billing-cycle figures: each
 * customer's usage so far in its current cycle by direction, its quota, and
 * the cycle's start. They come from the cycle tally (lib/usage/cycle_tally.ts,
 * kept in `netmon.cycles` by the alerts output, which the report runs first),
 * never from the log: the tally counts every billing's columns, is brought
 * up to each sample by that one interval, and equals the usage engine's open
 * cycle, so the metrics are what `netmon summary --by cycle` says.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { allColumns } from "../config/meters.ts";
import type { StateFiles } from "../state/files.ts";
import type { Recorded } from "../state/record.ts";
import { readTally, tallyPath } from "../state/tally_file.ts";
import { fingerprint, matchCustomers, tallyPlan, type Watched, watchedCustomers } from "../usage/cycle_customers.ts";
import { customerCycle, type Tally } from "../usage/cycle_tally.ts";
import type { CycleFigure, DirectionUsage } from "./textfile.ts";

/**
 * The textfile's figures for `customers` from `tally`: usage in each
 * direction a customer has columns of (`both` for columns counting the two
 * together), its quota where one is set, its cycle's start. Pure.
 *
 * @example
 * ```ts
 * cycleFigures(tally, customers);
 * // [{ customer: "acme", cycleStart: 1740787200, usage: [{ direction: "in", bytes: 500n }, …], quota: … }]
 * ```
 */
export function cycleFigures(tally: Tally, customers: readonly Watched[]): CycleFigure[] {
  const out: CycleFigure[] = [];
  for (const w of customers) {
    const t = customerCycle(tally, w);
    if (!t) continue;
    const usage: DirectionUsage[] = [];
    if (w.columns.in.length > 0) usage.push({ direction: "in", bytes: t.in });
    if (w.columns.out.length > 0) usage.push({ direction: "out", bytes: t.out });
    if (w.columns.both.length > 0) usage.push({ direction: "both", bytes: t.both });
    const figure: CycleFigure = { customer: w.spec.name, cycleStart: t.start / 1000, usage };
    if (w.spec.quota) figure.quota = { bytes: w.spec.quota.bytes, count: w.spec.quota.count };
    out.push(figure);
  }
  return out;
}

/**
 * The figures as of the recorded sample `r`, read from `netmon.cycles`; undefined
 * when the tally there is not of that sample (the alerts output failed this
 * run and said so): the textfile then leaves the cycle metrics out rather
 * than show an older sample's as current.
 */
export function recordedCycles(config: Config, files: StateFiles, r: Recorded): CycleFigure[] | undefined {
  if (config.customers.length === 0) return [];
  const columns = config.meters.length > 0
    ? allColumns(config.meters).map((c) => c.name)
    : [...r.sample.counters.keys()];
  const where = config.file ?? "config";
  // The tally is the alerts output's: the same plan, so the same fingerprint.
  const plan = tallyPlan(config.customers, watchedCustomers(config.customers, columns, where));
  const cached = readTally(tallyPath(files), fingerprint(plan));
  if (!cached || cached.stamp !== r.sample.timestamp) return undefined;
  return cycleFigures(cached.tally, matchCustomers(config.customers, columns, where));
}
