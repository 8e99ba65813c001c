/**
 * Hand-made input for the usage pages: customers with a year of daily
 * figures, made from a seeded generator so that a failing page can be made
 * again. Used by the page tests and the page benchmark.
 *
 * @module
 */

import type { CustomerData, CycleRow, DailyRow, PageData } from "../lib/outputs/page.ts";

/** A small seeded generator (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GiB = 1n << 30n;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const DAY_MS = 86_400_000;

/** What a made-up customer looks like. */
export interface MadeCustomer {
  name: string;
  /** Typical bytes a day. */
  scale: bigint;
  /** Split by direction (in and out), or a total only. */
  split: boolean;
  quota?: bigint;
  /** Hours since the last sample when the page is made. */
  staleHours?: number;
}

/**
 * A customer with a year of daily usage up to `today` (`YYYY-MM-DD`, its day
 * half over), billing cycles starting on the 15th.
 */
export function madeCustomer(m: MadeCustomer, today: string, rand: () => number): CustomerData {
  const end = Date.parse(`${today}T00:00:00Z`);
  const days: DailyRow[] = [];
  for (let t = end - 365 * DAY_MS; t <= end; t += DAY_MS) {
    const partial = t === end;
    const f = (partial ? 0.5 : 1) * (0.2 + rand() * 1.6);
    const inB = BigInt(Math.round(Number(m.scale) * f));
    const outB = BigInt(Math.round(Number(m.scale) * f * (0.1 + rand() * 0.4)));
    days.push(
      m.split ? { date: day(t), in: inB, out: outB, total: inB + outB, partial } : {
        date: day(t),
        total: inB + outB,
        partial,
      },
    );
  }
  // Cycles from the 15th to the 14th.
  const cycleOf = (d: string) => {
    const [y, mo, dd] = d.split("-").map(Number) as [number, number, number];
    const s = new Date(Date.UTC(y, dd >= 15 ? mo - 1 : mo - 2, 15));
    return day(s.getTime());
  };
  const byCycle = new Map<string, DailyRow[]>();
  for (const d of days) {
    const k = cycleOf(d.date);
    byCycle.set(k, [...(byCycle.get(k) ?? []), d]);
  }
  const sum = (rows: readonly DailyRow[], f: (r: DailyRow) => bigint | undefined) =>
    rows.reduce((a, r) => a + (f(r) ?? 0n), 0n);
  const starts = [...byCycle.keys()];
  const cycles: CycleRow[] = starts.slice(-12).map((start) => {
    const rows = byCycle.get(start) as DailyRow[];
    const s = Date.parse(`${start}T00:00:00Z`);
    const next = new Date(s);
    next.setUTCMonth(next.getUTCMonth() + 1);
    const row: CycleRow = {
      start,
      end: day(next.getTime() - DAY_MS),
      total: sum(rows, (r) => r.total),
      p95: 1e6 + rand() * 1e8,
      coverage: 0.9 + rand() * 0.1,
      resets: Math.floor(rand() * 3),
      partial: rows.some((r) => r.partial),
    };
    if (m.split) {
      row.in = sum(rows, (r) => r.in);
      row.out = sum(rows, (r) => r.out);
    }
    return row;
  });
  const current = byCycle.get(starts.at(-1) as string) as DailyRow[];
  const previous = byCycle.get(starts.at(-2) as string) ?? [];
  const cur = cycles.at(-1) as CycleRow;
  const elapsed = current.length - 0.5;
  const cycleDays = (Date.parse(`${cur.end}T00:00:00Z`) - Date.parse(`${cur.start}T00:00:00Z`)) / DAY_MS + 1;
  const last = new Date(end + 12 * 3_600_000 - (m.staleHours ?? 0) * 3_600_000);
  const c: CustomerData = {
    name: m.name,
    cycle: {
      start: cur.start,
      end: cur.end,
      soFar: m.split ? { in: cur.in as bigint, out: cur.out as bigint, total: cur.total } : { total: cur.total },
      projection: cur.total * BigInt(Math.round(cycleDays * 1000)) / BigInt(Math.round(elapsed * 1000)),
      p95: m.split
        ? { in: cur.p95 as number, out: (cur.p95 as number) / 3, billable: cur.p95 as number }
        : { billable: cur.p95 as number },
      coverage: cur.coverage,
      resets: cur.resets,
    },
    lastSample: last.toISOString().replace(/\.\d+Z$/, "+00:00"),
    interval: 300,
    daily: { current, previous },
    cycles,
    csv: `${m.name.replace(/[^A-Za-z0-9-]/g, "_")}.csv`,
  };
  if (m.quota !== undefined) c.quota = m.quota;
  return c;
}

/** The name that must show as text and run nothing. */
export const XSS_NAME = "<img src=x onerror=alert(1)>";

/** A page with a handful of customers covering each case the pages show differently. */
export function smallPage(seed: number): PageData {
  const rand = prng(seed);
  const today = "2026-10-20";
  const made: MadeCustomer[] = [
    { name: "acme", scale: 40n * GiB, split: true, quota: 2000n * GiB },
    { name: XSS_NAME, scale: 3n * GiB, split: true },
    { name: "bigco & \"sons\" 'ltd'", scale: 900n * GiB, split: true, quota: 5000n * GiB },
    { name: "tiny", scale: 5n << 20n, split: false, staleHours: 30 },
  ];
  return {
    title: "gw1 <netmon>",
    generated: `${today}T12:05:00+00:00`,
    customers: made.map((m) => madeCustomer(m, today, rand)),
  };
}

/** `count` customers with a year of data each, for size and speed. */
export function bigPage(seed: number, count: number): PageData {
  const rand = prng(seed);
  const today = "2026-10-20";
  const customers = Array.from(
    { length: count },
    (_, i) =>
      madeCustomer(
        {
          name: `customer-${String(i).padStart(3, "0")}`,
          scale: BigInt(Math.round(2 ** (20 + rand() * 20))),
          split: true,
          ...(i % 3 === 0 ? { quota: 1000n * GiB } : {}),
        },
        today,
        rand,
      ),
  );
  return { title: "gw1", generated: `${today}T12:05:00+00:00`, customers };
}
