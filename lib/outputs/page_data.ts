/**
 * The figures of the usage pages from the usage engine: one pass over the
 * log's samples into, per billing calendar, a cycle engine (with the 95th
 * percentile) and a day engine, rolled up per customer into
 * {@linkcode PageData} and, per customer, the CSV of its cycles: its rows of
 * `netmon summary --by cycle --csv --meter NAME` (lib/usage/csv.ts rows), of
 * kind `customer` only, the rows its statement attaches.
 *
 * Customers are the config's `[[customer]]`, each with its own billing cycle
 * and zone; with none, each log column is its own customer (its rows are of
 * kind `column`, as the summary prints them).
 *
 * @module
 */

import type { Column } from "../config/meters.ts";
import { type Billing, type CustomerColumns, customerColumns, type CustomerSpec } from "../config/customers.ts";
import { calendar } from "../usage/calendar.ts";
import { csvChunks } from "../usage/csv.ts";
import { type BucketUsage, type Counter, type ReturnsHint, type Sample, UsageEngine } from "../usage/engine.ts";
import { FirstSeen } from "../usage/first_seen.ts";
import { type Periods, periodsAt } from "../usage/overview.ts";
import { cycleEstimate } from "../usage/projection.ts";
import { type Row, rowsOf } from "../usage/rows.ts";
import { isoWithOffset, type Zone, zoneNamed } from "../usage/zone.ts";
import {
  type CustomerData,
  customerStem,
  type CycleRow,
  type DailyRow,
  type PageData,
  type PagePicture,
} from "./page.ts";

/** What the pages are made of. */
export interface PageInput {
  /**
   * The log's samples in time order (none for an empty or missing log). A
   * sample's counters may be reused for the next (a reader made with `reuse`).
   */
  samples: Iterable<Sample>;
  /**
   * The columns that come back to the log after leaving it (lib/usage/log_samples.ts `logColumns`): the engines
   * hold buckets back only while one of these is away (lib/usage/engine.ts `EngineOptions.returning`); all when
   * undefined, one removed for good holding every bucket after it to the end.
   */
  returning?: ReturnsHint | undefined;
  /** The config's customers; empty: each log column is one. */
  customers: readonly CustomerSpec[];
  /** Columns the config's meters write, matched before the log names them. */
  columns?: readonly Column[];
  /** The config's `[billing]`: for column customers, and the time of `generated`. */
  billing: Billing;
  /** The zone the log's stamps are in, and a billing with no zone's (default the machine's). */
  zone?: Zone;
  /** When the pages are made, epoch ms. */
  now: number;
  /** The overview's heading. */
  title: string;
  /** Log scale in the charts. */
  log?: boolean;
  /** graph.ts's picture beside the pages, when it is there. */
  picture?: PagePicture | undefined;
}

/** The pages' figures and, per customer, its CSV (file name and text). */
export interface PageBuild {
  data: PageData;
  csv: { name: string; text: string }[];
}

/** How many cycles a customer page shows. */
const CYCLES_SHOWN = 12;
/** How many intervals the usual interval is the median of (as the engine's). */
const WINDOW = 99;

/** One billing calendar's engines and what they gave, per customer name. */
interface Group {
  zone: Zone;
  periods: Periods;
  specs: CustomerSpec[];
  cycle: UsageEngine;
  day: UsageEngine;
  cycles: Map<string, Row[]>;
  /** Each column's bytes in the cycle holding now (from the cycle engine's bucket), to project column by column. */
  current: Map<string, bigint>;
  days: Map<string, Row[]>;
  /** The day engine starts at the last sample before the previous cycle: the days before are not shown. */
  dayStarted: boolean;
  held?: Sample;
  /**
   * Meters away when the day engine starts (in a sample before, not in the last one): each one's last sample's
   * instant and counter, given to the day engine first, so that one coming back shares its growth over its time
   * away by day, as the cycle engine (which reads every sample) shares it by cycle.
   */
  away?: Map<string, { epoch: number; counter: Counter }>;
}

/**
 * Matches `specs` to `columns`. Not `strict` (while the log is read): a meter
 * that matches nothing yet is left out; `strict` (at its end): an error, as
 * {@linkcode customerColumns} says it.
 */
function match(specs: readonly CustomerSpec[], columns: readonly Column[], strict: boolean): CustomerColumns[] {
  if (strict) return customerColumns(specs, columns, "the log and config");
  return specs.map((spec) => {
    const meters = spec.meters.filter((m) => {
      try {
        customerColumns([{ ...spec, meters: [m] }], columns);
        return true;
      } catch {
        return false;
      }
    });
    return meters.length === 0
      ? { name: spec.name, in: [], out: [], both: [] }
      : customerColumns([{ ...spec, meters }], columns)[0] as CustomerColumns;
  });
}

const push = <T>(map: Map<string, T[]>, key: string, value: T) => {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
};

/**
 * The pages' figures from the log's samples. Throws a CustomerMatchError
 * when a customer's meter matches no column of the config or the log.
 */
export function buildPageData(input: PageInput): PageBuild {
  const byColumn = input.customers.length === 0;
  const configColumns = input.columns ?? [];
  const returning = input.returning;
  const groups = new Map<string, Group>();
  const billings = byColumn ? [{ billing: input.billing, spec: undefined }] : input.customers.map((spec) => ({
    billing: spec.billing,
    spec,
  }));
  for (const { billing, spec } of billings) {
    const key = `${billing.cycleDay}\0${billing.timeZone ?? "local"}`;
    let g = groups.get(key);
    if (g === undefined) {
      const zone = zoneNamed(billing.timeZone, input.zone);
      g = {
        zone,
        periods: periodsAt(input.now, zone, billing.cycleDay),
        specs: [],
        // Rows are made as each cycle closes: its interval rates can be reused.
        cycle: new UsageEngine(calendar("cycle", zone, billing.cycleDay), { p95: true, reuse: true, returning }),
        day: new UsageEngine(calendar("day", zone), { returning }),
        cycles: new Map(),
        current: new Map(),
        days: new Map(),
        dayStarted: false,
      };
      groups.set(key, g);
    }
    if (spec) g.specs.push(spec);
  }

  // Customers are matched against the columns known so far, again when the log names more.
  let known = -1;
  const logColumns: string[] = [];
  const logSet = new Set<string>();
  const matched = new Map<Group, CustomerColumns[]>();
  const allColumns = (): Column[] => {
    const names = new Set(configColumns.map((c) => c.name));
    return [...configColumns, ...logColumns.filter((n) => !names.has(n)).map((name) => ({ name, label: name }))];
  };
  const customersOf = (g: Group): CustomerColumns[] => {
    if (known !== logColumns.length) {
      known = logColumns.length;
      matched.clear();
    }
    let cs = matched.get(g);
    if (cs === undefined) matched.set(g, cs = match(g.specs, allColumns(), false));
    return cs;
  };
  // A customer's rows only: a customer named like its column (`charlie` over meter `charlie`) would otherwise
  // have its column's rows too, and its CSV bill it twice.
  const rows = (g: Group, b: BucketUsage): Row[] =>
    byColumn ? rowsOf(b) : rowsOf(b, { customers: customersOf(g), customersOnly: true });
  const keepDays = (g: Group, days: readonly BucketUsage[]) => {
    if (days.length === 0) return; // the common case: nothing closed
    for (const b of days) {
      if (b.bucket.end <= g.periods.previousCycle.start || b.bucket.start >= g.periods.cycle.end) continue;
      for (const r of rows(g, b)) push(g.days, r.name, r);
    }
  };
  const keepCycles = (g: Group, cycles: readonly BucketUsage[]) => {
    if (cycles.length === 0) return; // the common case: nothing closed
    for (const b of cycles) {
      for (const r of rows(g, b)) push(g.cycles, r.name, r);
      if (b.bucket.start === g.periods.cycle.start) { for (const c of b.columns) g.current.set(c.name, c.usage); }
    }
  };

  // One pass over the samples; per columns array, the last instant it was seen (noted when the
  // columns change, and at the end); the last intervals.
  const lastSeen = new Map<readonly string[], number>();
  const groupList = [...groups.values()];
  const intervals: number[] = [];
  let prev = NaN;
  // Each column's first sample: a meter added mid-cycle is projected from there.
  const firstSeen = new FirstSeen();
  let columns: readonly string[] | undefined;
  for (const s of input.samples) {
    firstSeen.note(s);
    if (s.columns !== columns) {
      if (columns !== undefined) lastSeen.set(columns, prev);
      columns = s.columns;
      for (const n of columns) {
        if (logSet.has(n)) continue;
        logSet.add(n);
        logColumns.push(n);
      }
      lastSeen.set(columns, s.epoch);
    }
    if (s.epoch > prev) {
      intervals.push(s.epoch - prev);
      if (intervals.length > WINDOW) intervals.shift();
    }
    prev = s.epoch;
    for (const g of groupList) {
      keepCycles(g, g.cycle.push(s));
      if (!g.dayStarted) {
        if (s.epoch < g.periods.previousCycle.start) {
          if (g.held !== undefined && g.held.columns !== s.columns) noteAway(g, g.held, s.columns);
          g.held = copyInto(g.held, s);
          continue;
        }
        g.dayStarted = true;
        startDays(g);
      }
      keepDays(g, g.day.push(s));
    }
  }
  if (columns !== undefined) lastSeen.set(columns, prev);
  for (const g of groups.values()) {
    if (!g.dayStarted) startDays(g);
    keepCycles(g, g.cycle.finish(input.now));
    keepDays(g, g.day.finish(input.now));
  }
  const last = prev;

  // The customers, in the config's order (or the log's).
  if (!byColumn && lastSeen.size > 0) match(input.customers, [...allColumns()], true);
  const people: { name: string; label?: string; group: Group; spec?: CustomerSpec; columns: readonly string[] }[] = [];
  // A column is named as the report names it where the config gives it a label ("Proxied"), as its name otherwise.
  const labels = new Map(configColumns.map((c) => [c.name, c.label]));
  for (const g of groups.values()) {
    if (byColumn) {
      for (const name of logColumns) {
        const label = labels.get(name);
        people.push(
          label !== undefined && label !== name ? { name, label, group: g, columns: [name] } : {
            name,
            group: g,
            columns: [name],
          },
        );
      }
    } else {
      const cs = match(g.specs, allColumns(), false);
      g.specs.forEach((spec, i) => {
        const c = cs[i] as CustomerColumns;
        people.push({ name: spec.name, group: g, spec, columns: [...c.in, ...c.out, ...c.both] });
      });
    }
  }
  if (!byColumn) {
    const order = new Map(input.customers.map((s, i) => [s.name, i]));
    people.sort((a, b) => (order.get(a.name) as number) - (order.get(b.name) as number));
  }
  const sorted = [...intervals].sort((a, b) => a - b);
  const interval = sorted.length > 0 ? (sorted[(sorted.length - 1) >> 1] as number) / 1000 : 300;

  const customers: CustomerData[] = [];
  const csv: PageBuild["csv"] = [];
  for (const p of people) {
    const g = p.group;
    // One row a bucket: a customer's (a column's, with no customers).
    const cycleRows = g.cycles.get(p.name) ?? [];
    const c = g.periods.cycle;
    const cur = cycleRows.find((r) => r.start === c.start);
    let seen = NaN;
    for (const [cols, at] of lastSeen) {
      if (p.columns.some((n) => cols.includes(n))) seen = Number.isNaN(seen) ? at : Math.max(seen, at);
    }
    const file = `${customerStem(p.name)}.csv`;
    const d: CustomerData = {
      name: p.name,
      cycle: {
        start: c.label.split(" .. ")[0] as string,
        end: c.label.split(" .. ")[1] as string,
        soFar: traffic(cur),
        coverage: cur?.coverage ?? 0,
        resets: cur?.resets ?? 0,
      },
      interval,
      daily: {
        current: daily(g.days.get(p.name) ?? [], c, Math.min(last, input.now)),
        previous: daily(g.days.get(p.name) ?? [], g.periods.previousCycle, Math.min(last, input.now)),
      },
      cycles: cycleRows.slice(-CYCLES_SHOWN).map((r) => cycleRow(r, input.now)),
      csv: file,
    };
    if (p.label !== undefined) d.label = p.label;
    // Each column from its own first sample (a meter added mid-cycle), one the newest sample no longer has (a
    // meter removed) at what it counted, summed: the summary's estimate; none before a day is counted.
    const projection = cycleEstimate(
      p.columns.map((n) => ({ bytes: g.current.get(n) ?? 0n, from: firstSeen.of([n]), removed: firstSeen.removed(n) })),
      c,
      last,
      input.now,
    );
    if (projection !== undefined) d.cycle.projection = projection;
    if (cur?.p95 !== undefined) {
      d.cycle.p95 = { billable: cur.p95 };
      if (cur.p95In !== undefined) d.cycle.p95.in = cur.p95In;
      if (cur.p95Out !== undefined) d.cycle.p95.out = cur.p95Out;
    }
    if (p.spec?.quota) {
      d.quota = p.spec.quota.bytes;
      d.quotaCount = p.spec.quota.count;
      if (p.spec.quota.decimal) d.quotaDecimal = true;
    }
    if (p.spec?.commit) d.commit = p.spec.commit.bps;
    if (!Number.isNaN(seen)) d.lastSample = isoWithOffset(g.zone, seen);
    customers.push(d);
    csv.push({ name: file, text: [...csvChunks(cycleRows, g.zone)].join("") });
  }
  const data: PageData = {
    title: input.title,
    generated: isoWithOffset(zoneNamed(input.billing.timeZone, input.zone), input.now),
    customers,
  };
  if (input.log === true) data.log = true;
  if (input.picture !== undefined) data.picture = input.picture;
  return { data, csv };
}

/** `s` copied into `into` (its counters array too, when it fits): the reader may reuse `s`. */
/** Notes in `g.away` the meters of `before` that `columns` (the next sample's) lack, and forgets those it has back. */
function noteAway(g: Group, before: Sample, columns: readonly string[]): void {
  const now = new Set(columns);
  const away = g.away ??= new Map();
  before.columns.forEach((c, j) => {
    if (!now.has(c)) away.set(c, { epoch: before.epoch, counter: before.counters[j] as Counter });
  });
  for (const c of columns) away.delete(c);
}

/** Starts the day engine: the away meters' last samples (oldest first), then the last sample before its days. */
function startDays(g: Group): void {
  if (g.held === undefined) return;
  const byEpoch = new Map<number, { columns: string[]; counters: Counter[] }>();
  for (const [c, { epoch, counter }] of g.away ?? []) {
    if (g.held.columns.includes(c)) continue;
    let at = byEpoch.get(epoch);
    if (at === undefined) byEpoch.set(epoch, at = { columns: [], counters: [] });
    at.columns.push(c);
    at.counters.push(counter);
  }
  for (const epoch of [...byEpoch.keys()].sort((x, y) => x - y)) g.day.push({ epoch, ...byEpoch.get(epoch)! });
  g.day.push(g.held);
  delete g.away;
}

function copyInto(into: Sample | undefined, s: Sample): Sample {
  const n = s.counters.length;
  const copy = into ?? { epoch: 0, columns: s.columns, counters: [] };
  if (copy.counters.length !== n) copy.counters = new Array<Counter>(n);
  const counters = copy.counters as Counter[];
  for (let j = 0; j < n; j++) counters[j] = s.counters[j] as Counter;
  copy.epoch = s.epoch;
  copy.columns = s.columns;
  copy.resets = s.resets;
  return copy;
}

function traffic(r: Row | undefined): CustomerData["cycle"]["soFar"] {
  const t: CustomerData["cycle"]["soFar"] = { total: r?.totalBytes ?? 0n };
  if (r?.inBytes !== undefined) t.in = r.inBytes;
  if (r?.outBytes !== undefined) t.out = r.outBytes;
  return t;
}

/** The day rows of cycle `c`; a day is partial when not over by `until` or not covered whole. */
function daily(rows: readonly Row[], c: { start: number; end: number }, until: number): DailyRow[] {
  return rows.filter((r) => r.start >= c.start && r.start < c.end).map((r) => ({
    date: r.label,
    ...traffic(r),
    partial: r.end > until || r.coverage < 1,
  }));
}

function cycleRow(r: Row, now: number): CycleRow {
  const [start, end] = r.label.split(" .. ") as [string, string];
  const row: CycleRow = { start, end, ...traffic(r), coverage: r.coverage, resets: r.resets, partial: r.end > now };
  if (r.p95 !== undefined) row.p95 = r.p95;
  return row;
}
