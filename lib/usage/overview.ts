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
import type { BucketUsage } from "./engine.ts";
import { type Row, rowsOf } from "./rows.ts";
import { aligned } from "./table.ts";
import { iecBytes } from "./units.ts";
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

/** One column's or customer's overview. */
export interface OverviewLine {
  /** Column or customer name. */
  name: string;
  /** `column` or `customer`. */
  kind: Row["kind"];
  /** Today so far. */
  today: Figures;
  /** Yesterday. */
  yesterday: Figures;
  /** This cycle so far. */
  cycle: Figures;
  /** This cycle's linear estimate: so far, over the time the log covers of it, times its length. */
  estimate?: Figures;
  /** The previous cycle. */
  previousCycle: Figures;
  /** This year so far. */
  year: Figures;
  /** Time of this cycle so far in covered intervals, as a fraction. */
  cycleCoverage: number;
}

const PERIODS = ["today", "yesterday", "cycle", "previousCycle", "year"] as const;

function add(f: Figures, r: Row): void {
  if (r.inBytes !== undefined) f.inBytes = (f.inBytes ?? 0n) + r.inBytes;
  if (r.outBytes !== undefined) f.outBytes = (f.outBytes ?? 0n) + r.outBytes;
  f.totalBytes += r.totalBytes;
}

/**
 * Collects day buckets into an overview. Days outside every period are
 * passed over, so the log can be streamed through it.
 */
export class OverviewBuilder {
  readonly #periods: Periods;
  readonly #customers: readonly CustomerColumns[];
  readonly #columns: boolean;
  readonly #only: ReadonlySet<string> | undefined;
  readonly #lines = new Map<string, OverviewLine & { covered: number }>();

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
    this.#customers = customers;
    this.#columns = options.columns !== false;
    this.#only = options.only;
  }

  /** The periods it covers. */
  get periods(): Periods {
    return this.#periods;
  }

  /** Adds one day bucket (from an engine with a `day` calendar in the periods' zone). */
  add(day: BucketUsage): void {
    const start = day.bucket.start;
    const hit = PERIODS.filter((p) => this.#periods[p].start <= start && start < this.#periods[p].end);
    if (hit.length === 0) return;
    const options = {
      customers: this.#customers,
      customersOnly: !this.#columns,
      ...(this.#only ? { only: this.#only } : {}),
    };
    for (const r of rowsOf(day, options)) {
      const key = `${r.kind}\0${r.name}`;
      let line = this.#lines.get(key);
      if (line === undefined) {
        const zero = (): Figures => ({ totalBytes: 0n });
        line = {
          name: r.name,
          kind: r.kind,
          today: zero(),
          yesterday: zero(),
          cycle: zero(),
          previousCycle: zero(),
          year: zero(),
          cycleCoverage: 0,
          covered: 0,
        };
        this.#lines.set(key, line);
      }
      for (const p of hit) add(line[p], r);
      if (hit.includes("cycle")) line.covered += r.coverage * day.spanMs;
    }
  }

  /**
   * The overview, columns then customers in order of appearance. The
   * estimate scales this cycle so far by the cycle's length over the time
   * from its start (or the first sample, if later) to `now` (or the last
   * sample, if earlier).
   */
  result(firstEpoch: number, lastEpoch: number, now: number): OverviewLine[] {
    const c = this.#periods.cycle;
    const sofar = Math.min(now, c.end) - c.start;
    const lines = [...this.#lines.values()].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "column" ? -1 : 1));
    return lines.map(({ covered, ...line }) => {
      line.cycleCoverage = sofar > 0 ? Math.min(1, covered / sofar) : 0;
      const scale = (b: bigint) => linearEstimate(b, c, firstEpoch, lastEpoch, now);
      const total = scale(line.cycle.totalBytes);
      if (total !== undefined) {
        const e: Figures = { totalBytes: total };
        if (line.cycle.inBytes !== undefined) e.inBytes = scale(line.cycle.inBytes) as bigint;
        if (line.cycle.outBytes !== undefined) e.outBytes = scale(line.cycle.outBytes) as bigint;
        line.estimate = e;
      }
      return line;
    });
  }
}

/**
 * The linear estimate for a whole cycle from `soFar` bytes: scaled by the
 * cycle's length over the time from its start (or the first sample, if
 * later) to `now` (or the last sample, if earlier). Undefined when no time
 * of the cycle is covered yet.
 *
 * @example
 * ```ts
 * // 10 GiB in the first 10 of 30 days: 30 GiB.
 * linearEstimate(10n << 30n, { start: 0, end: 30 * DAY, wallStart: 0, label: "" }, 0, 10 * DAY, 10 * DAY);
 * ```
 */
export function linearEstimate(
  soFar: bigint,
  cycle: Pick<Bucket, "start" | "end">,
  firstEpoch: number,
  lastEpoch: number,
  now: number,
): bigint | undefined {
  const from = Math.max(cycle.start, firstEpoch);
  const to = Math.min(now, lastEpoch, cycle.end);
  const elapsed = to - from;
  if (!(elapsed > 0)) return undefined;
  return (soFar * BigInt(cycle.end - cycle.start)) / BigInt(elapsed);
}

/** The overview as an aligned table: in, out and total lines where a customer is split by direction. */
export function formatOverview(lines: readonly OverviewLine[], periods: Periods): string {
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
    const parts: [string, keyof Figures][] = l.today.inBytes !== undefined || l.year.inBytes !== undefined
      ? [["in", "inBytes"], ["out", "outBytes"], ["total", "totalBytes"]]
      : [["", "totalBytes"]];
    parts.forEach(([dir, field], k) => {
      const f = (x: Figures | undefined) => (x === undefined ? "" : iecBytes(x[field] ?? 0n));
      cells.push([
        k === 0 ? l.name : "",
        dir,
        f(l.today),
        f(l.yesterday),
        f(l.cycle),
        f(l.estimate),
        f(l.previousCycle),
        f(l.year),
        k === 0 ? `${(l.cycleCoverage * 100).toFixed(1)}%` : "",
      ]);
    });
  }
  return aligned(cells, (i) => i >= 2);
}
