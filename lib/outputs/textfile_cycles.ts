/**
 * The Prometheus textfile's per-customer billing-cycle figures and their
 * families: each customer's usage so far in its current cycle by direction,
 * its quota, and the cycle's start. They come from the cycle tally (lib/usage/cycle_tally.ts,
 * kept in `netmon.cycles` by the alerts output, which the report runs first),
 * never from the log: the tally counts every billing's columns, is brought
 * up to each sample by that one interval, and equals the usage engine's open
 * cycle, so the metrics are what `netmon summary --by cycle` says.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import type { StateFiles } from "../state/files.ts";
import type { Recorded } from "../state/record.ts";
import { readTally, tallyPath } from "../state/tally_file.ts";
import {
  fingerprint,
  isWatched,
  matchCustomers,
  reportColumns,
  tallyPlan,
  type Watched,
} from "../usage/cycle_customers.ts";
import { customerCycle, type Tally } from "../usage/cycle_tally.ts";
import { escapeLabelValue, family, natural, seconds, series, unique } from "./textfile.ts";

/** A customer's usage in one direction: `in`, `out`, or `both` (columns that count the two together). */
export interface DirectionUsage {
  /** `in`, `out` or `both`. */
  direction: "in" | "out" | "both";
  /** Bytes so far in the current cycle. */
  bytes: bigint;
}

/** One customer's current billing cycle. */
export interface CycleFigure {
  /** The customer's name. */
  customer: string;
  /** When the current cycle started, Unix seconds. */
  cycleStart: number;
  /** Its usage so far in the cycle, in each direction it has columns of; summed, its total. */
  usage: readonly DirectionUsage[];
  /** Its quota per cycle and what counts against it (`in`, `out`, or `total`: all its columns), if one is set. */
  quota?: { bytes: bigint; count: "in" | "out" | "total" };
}

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
 * The customers' families as of the recorded sample `r`, from `netmon.cycles`;
 * undefined when the tally there is not of that sample (the alerts output
 * failed this run and said so): the textfile then leaves the cycle metrics
 * out rather than show an older sample's as current.
 */
export function recordedCycles(config: Config, files: StateFiles, r: Recorded): string | undefined {
  if (config.customers.length === 0) return "";
  const cached = readTally(tallyPath(files));
  if (!cached || cached.stamp !== r.sample.timestamp) return undefined;
  const columns = reportColumns(config.meters, () => r.sample.counters.keys());
  const customers = matchCustomers(config.customers, columns, config.file ?? "config", cached.tally.counters.keys());
  // The tally is the alerts output's: the same plan (the config's columns and the tally's), so the same fingerprint.
  // Its watched customers are these (each customer is matched on its own), those with a quota or a commit.
  const watched = customers.filter((w) => isWatched(w.spec));
  if (cached.fingerprint !== fingerprint(tallyPlan(config.customers, watched))) return undefined;
  return cycleFamilies(cycleFigures(cached.tally, customers));
}

/** The customers' families: usage in the current cycle by direction, quota, the cycle's start. */
export function cycleFamilies(cycles: readonly CycleFigure[]): string {
  unique("customer", cycles.map((c) => JSON.stringify(c.customer)));
  unique("direction", cycles.flatMap((c) => c.usage.map((u) => JSON.stringify([c.customer, u.direction]))));
  const customer = (c: CycleFigure) => `customer="${escapeLabelValue(c.customer)}"`;
  const lines = <T>(xs: readonly T[], line: (x: T) => string) => xs.map(line).join("");
  const count = (v: bigint, c: CycleFigure, what: string) => String(natural(v, c.customer, what));
  const usage = lines(
    cycles,
    (c) =>
      lines(
        c.usage,
        (u) =>
          series("netmon_cycle_usage_bytes", `${customer(c)},direction="${u.direction}"`, count(u.bytes, c, " usage")),
      ),
  );
  const quota = lines(
    cycles,
    (c) =>
      c.quota === undefined
        ? ""
        : series("netmon_quota_bytes", `${customer(c)},count="${c.quota.count}"`, count(c.quota.bytes, c, " quota")),
  );
  const start = lines(
    cycles,
    (c) =>
      series("netmon_cycle_start_timestamp_seconds", customer(c), seconds(`${c.customer} cycle start`, c.cycleStart)),
  );
  return family(
    "netmon_cycle_usage_bytes",
    "gauge",
    "Bytes the customer used so far in its current billing cycle, by direction " +
      "(in, out; both: columns that count the two together). Summed over direction: its total.",
    usage,
  ) +
    family(
      "netmon_quota_bytes",
      "gauge",
      "The customer's quota per billing cycle; count is what counts against it: in, out, or total (all its columns).",
      quota,
    ) +
    family(
      "netmon_cycle_start_timestamp_seconds",
      "gauge",
      "When the customer's current billing cycle started (Unix time).",
      start,
    );
}
