/**
 * The figures of `netmon summary` (and of the page, alerts and statements
 * that build on them), as pure functions over samples and the engine's
 * output: one engine pass per distinct billing (cycle day and zone), rows per
 * bucket, the N days with most traffic, the overview, and a customer's
 * billing history (this cycle so far with its estimate, the cycles before,
 * the days of this cycle).
 *
 * Nothing here reads a file: the caller streams samples in.
 *
 * @module
 */

import type { Billing, CustomerColumns } from "../config/customers.ts";
import { UsageError } from "../host/errors.ts";
import { calendar, type Unit } from "./calendar.ts";
import { type BucketUsage, type ReturnsHint, type Sample, UsageEngine } from "./engine.ts";
import { FirstSeen } from "./first_seen.ts";
import { OverviewBuilder, type OverviewLine, periodsAt } from "./overview.ts";
import { cycleEstimate, type Part } from "./projection.ts";
import { type Row, rowsOf } from "./rows.ts";
import { firstInstant, type Zone, zoneNamed } from "./zone.ts";

/** One engine pass: a billing, its zone, and whom it bills. */
export interface Pass {
  /** Cycle day and zone name. */
  billing: Billing;
  /** The zone its calendar follows. */
  zone: Zone;
  /** The log's columns are in this pass (the config's `[billing]`). */
  columns: boolean;
  /** Customers billed this way. */
  customers: CustomerColumns[];
}

/** A customer's columns with its billing. */
export interface BilledCustomer {
  /** Its columns (from lib/config/customers.ts `customerColumns`). */
  columns: CustomerColumns;
  /** Its billing (`[billing]`, or its own cycle_day/timezone). */
  billing: Billing;
}

const billingKey = (b: Billing) => `${b.timeZone ?? "local"}\0${b.cycleDay}`;

/**
 * The passes for columns billed as `billing` and `customers` each billed
 * their own way: the columns' pass first, then one per other billing, in
 * the order customers name them.
 *
 * @example
 * ```ts
 * billingPasses({ cycleDay: 1 }, [{ columns: acme, billing: { cycleDay: 15, timeZone: "Europe/Berlin" } }]);
 * // [{ columns: true, customers: [] … }, { columns: false, customers: [acme] … }]
 * ```
 */
export function billingPasses(
  billing: Billing,
  customers: readonly BilledCustomer[],
  zoneOf: (name?: string) => Zone = zoneNamed,
): Pass[] {
  const passes = new Map<string, Pass>();
  passes.set(billingKey(billing), { billing, zone: zoneOf(billing.timeZone), columns: true, customers: [] });
  for (const c of customers) {
    const key = billingKey(c.billing);
    let pass = passes.get(key);
    if (pass === undefined) {
      passes.set(key, pass = { billing: c.billing, zone: zoneOf(c.billing.timeZone), columns: false, customers: [] });
    }
    pass.customers.push(c.columns);
  }
  return [...passes.values()];
}

/**
 * A span of wall-clock time (naive: fields as if UTC), as `--from` and
 * `--to` give it: read in each pass's zone, the zone its rows are labelled
 * in, so that every billing's rows start at its own midnight.
 */
export interface WallSpan {
  /** Keep only buckets starting at or after this wall time. */
  from?: number | undefined;
  /** Keep only buckets starting before this wall time. */
  to?: number | undefined;
}

/** A {@linkcode WallSpan} as instants in one zone, with the instant it is as of. */
export interface Span {
  /** Its first instant, or -Infinity. */
  from: number;
  /** The first instant after it, or Infinity. */
  to: number;
  /** The present, or the last instant before `to`. */
  now: number;
}

/**
 * `span` as instants in `zone` (unbounded ends as infinities), each end the
 * first instant the wall clock reads it (see lib/usage/zone.ts
 * `firstInstant`: the first of a repeated hour, the jump over a skipped
 * one), and `now` as of the span: the present, or the last instant before
 * its end. A UsageError when both ends fall in one hour the zone skips (the
 * same instant: `--from` is not before `--to` there).
 *
 * @example
 * ```ts
 * spanIn(ianaZone("Europe/Berlin"), { to: Date.UTC(2026, 11, 1) }, Date.now()).to; // Date.UTC(2026, 10, 30, 23)
 * ```
 */
export function spanIn(zone: Zone, span: WallSpan, now: number): Span {
  const from = span.from === undefined ? -Infinity : firstInstant(zone, span.from);
  const to = span.to === undefined ? Infinity : firstInstant(zone, span.to);
  if (from >= to) {
    // The wall times are in order (the command line checks), so both are in one skipped hour: the instant it ends.
    const wall = (naive: number) => new Date(naive).toISOString().slice(0, 16).replace("T", " ");
    throw new UsageError(
      `--from ${wall(span.from!)} is not before --to ${wall(span.to!)} in ${
        zone.name === "local" ? "local time" : zone.name
      }: both fall in the hour its clock skips (daylight saving), the same instant`,
    );
  }
  return { from, to, now: Math.min(now, to - 1) };
}

/** Whether a bucket starting at `start` is in `span`. */
export function inSpan(start: number, span: { from: number; to: number }): boolean {
  return start >= span.from && start < span.to;
}

/** What rows a {@linkcode Summarizer} makes. */
export interface SummaryOptions extends WallSpan {
  /** The kind of bucket. */
  unit: Unit;
  /** Compute 95th percentiles (of columns and customers). */
  p95?: boolean;
  /** Keep only these columns and customers (names); all when undefined. */
  only?: ReadonlySet<string> | undefined;
  /** The columns that come back to the log after leaving it, when known (see `EngineOptions.returning`). */
  returning?: ReturnsHint | undefined;
}

/** Whether a unit's buckets are a day or longer (those get the 95th percentile). */
export function dayOrLonger(unit: Unit): boolean {
  return unit !== "hour";
}

/**
 * Rows per bucket from samples, through one engine per pass. Push samples
 * in time order; each push returns the rows of the buckets it closed (in
 * order of bucket end, then pass; a bucket's columns, then its customers),
 * and {@linkcode Summarizer.finish} the rest. While an engine holds buckets
 * back (a column away from the log that may come back), every pass's rows
 * wait with them, so that they come out in that order all the same. Every
 * row carries its pass's zone.
 *
 * @example
 * ```ts
 * const s = new Summarizer(billingPasses({ cycleDay: 15 }, []), { unit: "cycle", p95: true });
 * for (const sample of samples) print(s.push(sample));
 * print(s.finish());
 * ```
 */
export class Summarizer {
  readonly #passes: Pass[];
  readonly #engines: UsageEngine[];
  readonly #options: SummaryOptions;
  readonly #spans: Span[];
  /** Rows waiting while an engine holds buckets back, each with its pass. */
  #waiting: { row: Row; k: number }[] = [];

  /** Rows of `options.unit` buckets for `passes`, `options.from` and `to` read in each pass's zone. */
  constructor(passes: readonly Pass[], options: SummaryOptions) {
    this.#passes = [...passes];
    this.#options = options;
    this.#spans = passes.map((p) => spanIn(p.zone, options, Infinity));
    // Each bucket's rows are made as it closes: its interval rates can be reused.
    this.#engines = passes.map((p) =>
      new UsageEngine(calendar(options.unit, p.zone, p.billing.cycleDay), {
        p95: options.p95 === true,
        reuse: true,
        returning: options.returning,
      })
    );
  }

  /** The first sample's instant (NaN before any). */
  get firstEpoch(): number {
    return this.#engines[0]?.firstEpoch ?? NaN;
  }

  /** The last sample's instant (NaN before any). */
  get lastEpoch(): number {
    return this.#engines[0]?.lastEpoch ?? NaN;
  }

  /** Every column seen so far, in order of first appearance. */
  get columns(): readonly string[] {
    return this.#engines[0]?.columns ?? [];
  }

  #rows(k: number, buckets: readonly BucketUsage[], out: Row[]): void {
    const pass = this.#passes[k] as Pass;
    const { only } = this.#options;
    const span = this.#spans[k] as Span;
    for (const b of buckets) {
      if (!inSpan(b.bucket.start, span)) continue;
      const rows = rowsOf(b, { customers: pass.customers, customersOnly: !pass.columns, ...(only ? { only } : {}) });
      for (const r of rows) {
        r.zone = pass.zone;
        out.push(r);
      }
    }
  }

  /** Adds the next sample; returns the rows of the buckets it closed (most often none: the same empty array). */
  push(sample: Sample): readonly Row[] {
    let out: Row[] | undefined;
    for (let k = 0; k < this.#engines.length; k++) {
      const closed = (this.#engines[k] as UsageEngine).push(sample);
      if (closed.length === 0) continue;
      if (this.#waiting.length > 0 || this.#engines.some((e) => e.holding)) {
        const rows: Row[] = [];
        this.#rows(k, closed, rows);
        for (const row of rows) this.#waiting.push({ row, k });
      } else this.#rows(k, closed, out ??= []);
    }
    if (this.#waiting.length === 0 || this.#engines.some((e) => e.holding)) return out ?? NO_ROWS;
    return [...(out ?? []), ...this.#release()];
  }

  /** The rows that waited, by bucket end then pass (as they come out when no engine holds any back). */
  #release(): Row[] {
    const waited = this.#waiting;
    this.#waiting = [];
    return waited.sort((a, b) => a.row.end - b.row.end || a.k - b.k).map((w) => w.row);
  }

  /**
   * Closes the open buckets and returns their rows; `now`, the present: a
   * bucket over by then is covered of its whole span, the one in progress
   * (without `now`, the last sample's) up to the last sample.
   */
  finish(now?: number): Row[] {
    if (this.#waiting.length === 0 && !this.#engines.some((e) => e.holding)) {
      const out: Row[] = [];
      this.#engines.forEach((e, k) => this.#rows(k, e.finish(now), out));
      return out;
    }
    this.#engines.forEach((e, k) => {
      const rows: Row[] = [];
      this.#rows(k, e.finish(now), rows);
      for (const row of rows) this.#waiting.push({ row, k });
    });
    return this.#release();
  }
}

/**
 * Each name's `n` rows with the most traffic (`totalBytes`; ties: the
 * earlier first), names in order of first appearance, each name's rows
 * largest first. Streams: memory grows with names times `n`.
 *
 * @example
 * ```ts
 * topRows(dayRows, 3); // each column's and customer's three busiest days
 * ```
 */
export function topRows(rows: Iterable<Row>, n: number): Row[] {
  const best = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.kind}\0${r.name}`;
    let list = best.get(key);
    if (list === undefined) best.set(key, list = []);
    if (list.length === n && (list[n - 1] as Row).totalBytes >= r.totalBytes) continue;
    let i = list.length;
    while (i > 0 && (list[i - 1] as Row).totalBytes < r.totalBytes) i--;
    list.splice(i, 0, r);
    if (list.length > n) list.pop();
  }
  return [...best.values()].flat();
}

/** What a push that closes no bucket returns. */
const NO_ROWS: readonly Row[] = Object.freeze([]);

/** The overview of one pass: its periods (its cycle) and its lines. */
export interface OverviewPart {
  /** The pass. */
  pass: Pass;
  /** The builder, for its periods. */
  builder: OverviewBuilder;
  /** The instant it is as of: the present, or the last before `--to` in the pass's zone. */
  now: number;
}

/**
 * The vnStat-like overview for every pass: today, yesterday, this cycle so
 * far with its estimate, the previous cycle and this year, around `now`.
 * Push samples in time order, then {@linkcode OverviewSummarizer.result}.
 */
export class OverviewSummarizer {
  readonly #parts: OverviewPart[];
  readonly #engines: UsageEngine[];
  readonly #spans: Span[];
  /**
   * Per pass, each column's first sample (a meter added mid-cycle is
   * estimated from there) and the newest sample's columns before its `--to`
   * (one no longer there was removed: its cycle is what it counted).
   */
  readonly #seen: FirstSeen[];

  /**
   * An overview of `passes` around instant `now` (for a pass, the instant
   * before `options.to` if earlier), keeping the names in `options.only`
   * (all when undefined) and the days starting from `options.from` and
   * before `options.to`, read in each pass's zone; `options.returning`, the
   * columns that come back (see `SummaryOptions.returning`).
   */
  constructor(
    passes: readonly Pass[],
    now: number,
    options: WallSpan & Pick<SummaryOptions, "only" | "returning"> = {},
  ) {
    const only = options.only;
    this.#spans = passes.map((pass) => spanIn(pass.zone, options, now));
    this.#parts = passes.map((pass, k) => {
      const at = (this.#spans[k] as Span).now;
      return {
        pass,
        now: at,
        builder: new OverviewBuilder(periodsAt(at, pass.zone, pass.billing.cycleDay), pass.customers, {
          columns: pass.columns,
          only,
        }),
      };
    });
    this.#engines = passes.map((p) => new UsageEngine(calendar("day", p.zone), { returning: options.returning }));
    this.#seen = this.#spans.map((span) => new FirstSeen(span.to));
  }

  /** Whether days that closed are held back (see `UsageEngine.holding`): not added up until a column is back. */
  get holding(): boolean {
    return this.#engines.some((e) => e.holding);
  }

  /** Adds the next sample. */
  push(sample: Sample): void {
    for (const seen of this.#seen) seen.note(sample);
    for (let k = 0; k < this.#engines.length; k++) {
      const closed = (this.#engines[k] as UsageEngine).push(sample);
      if (closed.length > 0) { for (const d of closed) this.#add(k, d); // most samples close none
       }
    }
  }

  #add(k: number, day: BucketUsage): void {
    if (inSpan(day.bucket.start, this.#spans[k] as Span)) {
      (this.#parts[k] as OverviewPart).builder.add(day);
    }
  }

  /**
   * The overview of each pass, as of its `now`; with `matched`, of its
   * passes and names instead of those given at first: the same billings,
   * their customers matched to the columns the samples turned out to have.
   */
  result(
    matched?: { passes: readonly Pass[]; only?: ReadonlySet<string> | undefined },
  ): { part: OverviewPart; lines: OverviewLine[] }[] {
    return this.#parts.map((part, k) => {
      const engine = this.#engines[k] as UsageEngine;
      const pass = matched?.passes[k];
      if (matched !== undefined && pass !== undefined) {
        part.pass = pass;
        part.builder.match(pass.customers, matched.only);
      }
      for (const d of engine.finish(part.now)) this.#add(k, d);
      const { from, to } = this.#spans[k] as Span;
      const seen = this.#seen[k] as FirstSeen;
      const first = (columns: readonly string[]) => Math.max(seen.of(columns), from);
      const last = Math.min(engine.lastEpoch, to);
      return { part, lines: part.builder.result(first, last, part.now, (c) => seen.removed(c)) };
    });
  }
}

/** A cycle row with its linear estimate for the whole cycle. */
export interface CycleSoFar {
  /** This cycle's row so far (usage, p95 so far, coverage so far, resets). */
  row: Row;
  /** The linear estimate of `totalBytes` (and in, out) for the whole cycle, when any of it is covered. */
  estimate?: { totalBytes: bigint; inBytes?: bigint; outBytes?: bigint };
}

/** One name's billing history: this cycle so far, the cycles before, the days of this cycle. */
export interface BillingHistory {
  /** The cycle holding `now`, if the log reaches into it. */
  current?: CycleSoFar;
  /** Up to `keep` cycles before it, oldest first. */
  past: Row[];
  /** The days of the current cycle, oldest first. */
  days: Row[];
}

/**
 * The billing history of `name` (a column or a customer) from the rows of
 * a cycle {@linkcode Summarizer} and of a day one over the same log and
 * pass: what the page shows and a statement sums. The estimate is the
 * projection (lib/usage/projection.ts): with `columns` (a customer's), the
 * sum of each column's row of the current cycle in `cycleRows` (so they must
 * hold its columns' rows), each from `firstEpoch` of the column (its first
 * sample, lib/usage/first_seen.ts: a meter added mid-cycle is projected from
 * there); without, the name's row from `firstEpoch` of the name.
 * `lastEpoch` is the log's last sample.
 *
 * @example
 * ```ts
 * const h = billingHistory(cycleRows, dayRows, "acme", Date.now(), (c) => seen.of([c]), s.lastEpoch, 12, acmeColumns);
 * h.current?.estimate?.totalBytes; // the projection for this cycle
 * ```
 */
export function billingHistory(
  cycleRows: readonly Row[],
  dayRows: readonly Row[],
  name: string,
  now: number,
  firstEpoch: number | ((column: string) => number),
  lastEpoch: number,
  keep = 12,
  columns?: Pick<CustomerColumns, "in" | "out" | "both">,
): BillingHistory {
  const mine = cycleRows.filter((r) => r.name === name);
  const currentRow = mine.find((r) => r.start <= now && now < r.end);
  const past = mine.filter((r) => r.end <= now).slice(-keep);
  const out: BillingHistory = { past, days: [] };
  if (currentRow !== undefined) {
    const cycle = { start: currentRow.start, end: currentRow.end };
    const firstOf = typeof firstEpoch === "number" ? () => firstEpoch : firstEpoch;
    const columnBytes = (n: string) =>
      cycleRows.find((r) => r.kind === "column" && r.name === n && r.start === currentRow.start)?.totalBytes ?? 0n;
    const parts = (names: readonly string[]): Part[] => names.map((n) => ({ bytes: columnBytes(n), from: firstOf(n) }));
    const scale = (names: readonly string[] | undefined, bytes: bigint) =>
      cycleEstimate(names ? parts(names) : [{ bytes, from: firstOf(name) }], cycle, lastEpoch, now);
    const current: CycleSoFar = { row: currentRow };
    const total = scale(columns && [...columns.in, ...columns.out, ...columns.both], currentRow.totalBytes);
    if (total !== undefined) {
      current.estimate = { totalBytes: total };
      if (currentRow.inBytes !== undefined) {
        current.estimate.inBytes = scale(columns?.in, currentRow.inBytes) ?? currentRow.inBytes;
      }
      if (currentRow.outBytes !== undefined) {
        current.estimate.outBytes = scale(columns?.out, currentRow.outBytes) ?? currentRow.outBytes;
      }
    }
    out.current = current;
    out.days = dayRows.filter((r) => r.name === name && r.start >= currentRow.start && r.start < currentRow.end);
  }
  return out;
}
