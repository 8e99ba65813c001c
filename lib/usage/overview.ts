/**
 * The vnStat-like overview `netmon summary` prints with no options: per
 * column and customer, today, yesterday, this billing cycle so far with a
 * linear estimate for the whole cycle, the previous cycle, and this year.
 *
 * Built from the engine's day buckets in the billing zone: cycles and years
 * start at midnight in that zone, so each day lies wholly in one of each and
 * the figures add up exactly.
 *
 * @module
 */

import { type Bucket, calendar } from "./calendar.ts";
import type { CustomerColumns } from "../config/customers.ts";
import type { BucketUsage, ColumnUsage } from "./engine.ts";
import type { Row } from "./rows.ts";
import { aligned, nameLabel, sharedNames } from "./table.ts";
import { cycleEstimate, type Part, TOO_EARLY } from "./projection.ts";
import { iecBytes, percentText } from "./units.ts";
import type { Zone } from "./zone.ts";

/** The periods of the overview, relative to an instant. */
export interface Periods {
  /** The day holding now. */
  today: Bucket;
  /** The day before. */
  yesterday: Bucket;
  /** The billing cycle holding now. */
  cycle: Bucket;
  /** The cycle before. */
  previousCycle: Bucket;
  /** The year holding now. */
  year: Bucket;
}

/** The periods around `now` in `zone`, cycles starting on `cycleDay`. */
export function periodsAt(now: number, zone: Zone, cycleDay = 1): Periods {
  const day = calendar("day", zone);
  const cycle = calendar("cycle", zone, cycleDay);
  const today = day.bucketAt(now);
  const current = cycle.bucketAt(now);
  return {
    today,
    yesterday: day.bucketAt(today.start - 1),
    cycle: current,
    previousCycle: cycle.bucketAt(current.start - 1),
    year: calendar("year", zone).bucketAt(now),
  };
}

/** Bytes of one name in one period. */
export interface Figures {
  /** Bytes in, for customers split by direction. */
  inBytes?: bigint;
  /** Bytes out, for customers split by direction. */
  outBytes?: bigint;
  /** Bytes in total. */
  totalBytes: bigint;
}

/**
 * What the table says for a period without any sample of a name: its figure
 * is left out (JSON too), as a zero would read as nothing sent.
 */
export const NO_SAMPLE = "no sample";

/**
 * One column's or customer's overview. A period none of its samples fall in
 * (the day before the log began, a cycle before its meter was added) has no
 * figure: absent, not zero.
 */
export interface OverviewLine {
  /** Column or customer name. */
  name: string;
  /** `column` or `customer`. */
  kind: Row["kind"];
  /** Today so far. */
  today?: Figures;
  /** Yesterday. */
  yesterday?: Figures;
  /** This cycle so far. */
  cycle?: Figures;
  /** This cycle's linear estimate: so far, at its rate since its columns' first sample (or the cycle's start), to the cycle's end. */
  estimate?: Figures;
  /** The previous cycle. */
  previousCycle?: Figures;
  /** This year so far. */
  year?: Figures;
  /**
   * Time of this cycle up to the last sample in covered intervals, as a
   * fraction: a column's of its own time (from its first sample, if added
   * mid-cycle, to its last, if removed), a customer's its least covered
   * column's, as its cycle row's (`--by cycle`, the page, the mails).
   */
  cycleCoverage: number;
}

const PERIODS = ["today", "yesterday", "cycle", "previousCycle", "year"] as const;
const CYCLE = PERIODS.indexOf("cycle");

/** A column's bytes in each period (in the order of {@linkcode PERIODS}) and its covered time of this cycle. */
interface ColumnTotals {
  bytes: bigint[];
  /** Whether a day of each period had it: a period without one has no figure for it. */
  seen: boolean[];
  covered: number;
  /** Whether it is in a day of this cycle. */
  inCycle: boolean;
  /** Its first sample, when it appeared in this cycle after the log's first (a meter added): its time starts there. */
  since?: number;
  /** The end of its own span on the last day of this cycle that has it (a removed meter's: its last sample). */
  end: number;
  /** That day's coverage of it: the cycle's where it has no time in the cycle (the engine's rule for it, as is). */
  lastDay: number;
}

/**
 * The part of `day`'s span that `column` was there for: from its first sample, if that is in the day, up to the end
 * of its own span (a fleet's column: see ColumnUsage.spanMs).
 */
function ownSpan(day: BucketUsage, column: ColumnUsage): number {
  const span = column.spanMs ?? day.spanMs;
  return column.since === undefined ? span : Math.max(0, span - (column.since - day.bucket.start));
}

/**
 * Collects day buckets into an overview. Days outside every period are
 * passed over, so the log can be streamed through it.
 *
 * Each column's bytes and covered time are summed per period as the days
 * come; a customer's bytes are the sums of its columns', taken at the end
 * (the same as summing its daily roll-ups: a column absent from a day adds
 * nothing either way), its coverage its least covered column's. So the
 * customers can be given after the days ({@linkcode OverviewBuilder.match}).
 */
export class OverviewBuilder {
  readonly #periods: Periods;
  #customers: readonly CustomerColumns[];
  readonly #columns: boolean;
  #only: ReadonlySet<string> | undefined;
  /** Every column of a day in a period, in order of first appearance. */
  readonly #totals = new Map<string, ColumnTotals>();
  /** Whether a day of each period was added. */
  readonly #hit = PERIODS.map(() => false);

  /**
   * An overview of `periods` for the log's columns (unless `options.columns`
   * is false: customers billed differently from the columns) and
   * `customers`; `options.only` keeps those names.
   */
  constructor(
    periods: Periods,
    customers: readonly CustomerColumns[] = [],
    options: { columns?: boolean; only?: ReadonlySet<string> | undefined } = {},
  ) {
    this.#periods = periods;
    this.#only = options.only;
    this.#customers = customers;
    this.#columns = options.columns !== false;
  }

  /**
   * Reports `customers` and keeps the names in `only` (all when undefined)
   * instead of those given at first: for an overview whose customers are
   * matched to the columns its days turned out to have.
   */
  match(customers: readonly CustomerColumns[], only?: ReadonlySet<string>): void {
    this.#customers = customers;
    this.#only = only;
  }

  #keeps(name: string): boolean {
    return this.#only === undefined || this.#only.has(name);
  }

  /** The periods it covers. */
  get periods(): Periods {
    return this.#periods;
  }

  /** Adds one day bucket (from an engine with a `day` calendar in the periods' zone). */
  add(day: BucketUsage): void {
    const start = day.bucket.start;
    const hit: number[] = [];
    PERIODS.forEach((p, k) => {
      if (this.#periods[p].start <= start && start < this.#periods[p].end) hit.push(k);
    });
    if (hit.length === 0) return;
    for (const k of hit) this.#hit[k] = true;
    const inCycle = hit.includes(CYCLE);
    for (const c of day.columns) {
      let t = this.#totals.get(c.name);
      if (t === undefined) {
        const none = {
          bytes: PERIODS.map(() => 0n),
          seen: PERIODS.map(() => false),
          covered: 0,
          inCycle: false,
          end: -Infinity,
          lastDay: 0,
        };
        this.#totals.set(c.name, t = none);
      }
      for (const k of hit) {
        t.bytes[k] = (t.bytes[k] as bigint) + c.usage;
        t.seen[k] = true;
      }
      if (inCycle) {
        t.inCycle = true;
        t.covered += c.coverage * ownSpan(day, c);
        t.end = day.bucket.start + (c.spanMs ?? day.spanMs);
        t.lastDay = c.coverage;
        if (c.since !== undefined) t.since ??= c.since;
      }
    }
  }

  /**
   * The overview, columns then customers in order of appearance. The
   * estimate is each column's cycle so far at its rate over its time
   * counted, carried to the cycle's end, a customer's the sum of its
   * columns' (lib/usage/projection.ts `cycleEstimate`); a column's time
   * counted starts at `firstEpoch`: its first sample (lib/usage/first_seen.ts),
   * or one instant for all. A column `removed` says the newest sample no
   * longer has (its meter was removed) adds what it counted. Its time
   * counted ends at `lastEpoch`: the last sample, or (a fleet's, whose hosts
   * sampled up to different instants) the last of its own.
   */
  result(
    firstEpoch: number | ((columns: readonly string[]) => number),
    lastEpoch: number | ((columns: readonly string[]) => number),
    now: number,
    removed?: (column: string) => boolean,
  ): OverviewLine[] {
    const firstOf = typeof firstEpoch === "number" ? () => firstEpoch : firstEpoch;
    const lastOf = typeof lastEpoch === "number" ? () => lastEpoch : lastEpoch;
    const c = this.#periods.cycle;
    /**
     * Column `name`'s coverage of the cycle so far: of its time from its first sample (a meter added mid-cycle:
     * before it there was nothing to miss) to the last sample (or its own last, a meter removed), as every bucket
     * in progress counts its coverage (`--by cycle`, the page, the mails): the time since is not yet missing, the
     * next sample may cover it. With no time of its own in the cycle (a meter added at the last sample, or removed
     * at the cycle's first instant) its one day's coverage, by the engine's rule for it, as `--by cycle` gives it.
     */
    const coverage = (name: string, t: ColumnTotals) => {
      const time = Math.min(now, lastOf([name]), t.end, c.end) - Math.max(c.start, t.since ?? c.start);
      return time > 0 ? Math.min(1, t.covered / time) : t.lastDay;
    };
    /** The parts of `columns` in this cycle, each from its own first sample to its own last. */
    const parts = (columns: readonly string[]): Part[] =>
      columns.map((n) => {
        const part: Part = { bytes: this.#totals.get(n)?.bytes[CYCLE] ?? 0n, from: firstOf([n]) };
        if (removed?.(n) === true) part.removed = true;
        if (typeof lastEpoch !== "number") part.last = lastEpoch([n]);
        return part;
      });
    const estimate = (cu: Pick<CustomerColumns, "in" | "out" | "both">, cycle: Figures): Figures | undefined => {
      const all = [...cu.in, ...cu.out, ...cu.both];
      const last = lastOf(all);
      const total = cycleEstimate(parts(all), c, last, now);
      if (total === undefined) return undefined;
      const e: Figures = { totalBytes: total };
      // A direction whose columns have no time counted yet (all new at the last sample) is what it is so far.
      if (cycle.inBytes !== undefined) e.inBytes = cycleEstimate(parts(cu.in), c, last, now) ?? cycle.inBytes;
      if (cycle.outBytes !== undefined) e.outBytes = cycleEstimate(parts(cu.out), c, last, now) ?? cycle.outBytes;
      return e;
    };
    const line = (
      name: string,
      kind: Row["kind"],
      columns: Pick<CustomerColumns, "in" | "out" | "both">,
      figures: (k: number) => Figures,
      seen: (k: number) => boolean,
      cycleCoverage: number,
    ): OverviewLine => {
      const out: OverviewLine = { name, kind, cycleCoverage };
      PERIODS.forEach((p, k) => {
        if (seen(k)) out[p] = figures(k);
      });
      // The estimate as the quota alerts' projection (lib/usage/cycle_tally.ts), a cycle with no sample included.
      const e = estimate(columns, figures(CYCLE));
      if (e !== undefined) out.estimate = e;
      return out;
    };
    const lines: OverviewLine[] = [];
    if (this.#columns) {
      for (const [name, t] of this.#totals) {
        if (this.#keeps(name)) {
          const columns = { in: [], out: [], both: [name] };
          const figures = (k: number) => ({ totalBytes: t.bytes[k] as bigint });
          lines.push(line(name, "column", columns, figures, (k) => t.seen[k] === true, coverage(name, t)));
        }
      }
    }
    // Customers have a line once any day was added, as each day rolls them all up.
    if (!this.#hit.some((h) => h)) return lines;
    const sum = (names: readonly string[], k: number) =>
      names.reduce((s, n) => s + (this.#totals.get(n)?.bytes[k] ?? 0n), 0n);
    for (const cu of this.#customers.filter((c) => this.#keeps(c.name))) {
      const columns = [...cu.in, ...cu.out, ...cu.both];
      const figures = (k: number): Figures => {
        if (!this.#hit[k]) return { totalBytes: 0n };
        const f: Figures = { totalBytes: sum(columns, k) };
        if (cu.in.length + cu.out.length > 0) {
          f.inBytes = sum(cu.in, k);
          f.outBytes = sum(cu.out, k);
        }
        return f;
      };
      const seen = (k: number) => columns.some((n) => this.#totals.get(n)?.seen[k] === true);
      // Its least covered column's, each of its own time, as its cycle row (lib/usage/customers.ts `rollUp`).
      let least = Infinity;
      for (const n of columns) {
        const t = this.#totals.get(n);
        if (t?.inCycle === true) least = Math.min(least, coverage(n, t));
      }
      lines.push(line(cu.name, "customer", cu, figures, seen, least === Infinity ? 0 : least));
    }
    return lines;
  }
}

/**
 * The overview as an aligned table: in, out and total lines where a customer
 * is split by direction; a name in `shared` (by default, one both a column
 * and a customer of `lines` have) with its kind.
 */
export function formatOverview(
  lines: readonly OverviewLine[],
  periods: Periods,
  shared: ReadonlySet<string> = sharedNames(lines),
): string {
  const header = [
    "name",
    "",
    "today",
    "yesterday",
    `cycle ${periods.cycle.label}`,
    "estimate",
    `cycle ${periods.previousCycle.label}`,
    periods.year.label,
    "coverage",
  ];
  const cells = [header];
  for (const l of lines) {
    const split = [l.today, l.yesterday, l.cycle, l.previousCycle, l.year].some((x) => x?.inBytes !== undefined);
    const parts: [string, keyof Figures][] = split
      ? [["in", "inBytes"], ["out", "outBytes"], ["total", "totalBytes"]]
      : [["", "totalBytes"]];
    parts.forEach(([dir, field], k) => {
      const f = (x: Figures | undefined) => (x === undefined ? (k === 0 ? NO_SAMPLE : "") : iecBytes(x[field] ?? 0n));
      cells.push([
        k === 0 ? nameLabel(l, shared) : "",
        dir,
        f(l.today),
        f(l.yesterday),
        f(l.cycle),
        // None before a day of the cycle is counted: said, not left blank (lib/usage/projection.ts).
        l.estimate === undefined ? (k === 0 ? TOO_EARLY : "") : f(l.estimate),
        f(l.previousCycle),
        f(l.year),
        k === 0 ? percentText(l.cycleCoverage) : "",
      ]);
    });
  }
  return aligned(cells, (i) => i >= 2);
}
