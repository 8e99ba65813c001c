/**
 * Customers, rows and the formatters over the engine's real output: CSV
 * header and fields, JSON exact beyond 2^53 and read back, IEC and SI units,
 * the overview's periods and estimate, and totals that add up across views.
 */
import { deepEqual as assertEquals, ok, throws } from "node:assert/strict";
import { parseExactJson } from "../lib/host/json.ts";
import { calendar } from "../lib/usage/calendar.ts";
import { customerColumns, CustomerMatchError } from "../lib/config/customers.ts";
import { rollUp } from "../lib/usage/customers.ts";
import { fleetBuckets } from "../lib/outputs/postgres_samples.ts";
import { CSV_HEADER, csvChunks } from "../lib/usage/csv.ts";
import { type BucketUsage, type Sample, usageByBucket } from "../lib/usage/engine.ts";
import { jsonChunks } from "../lib/usage/json.ts";
import { formatOverview, OverviewBuilder, periodsAt } from "../lib/usage/overview.ts";
import { weightedPercentile } from "../lib/usage/percentile.ts";
import { rowsOf } from "../lib/usage/rows.ts";
import { formatTable } from "../lib/usage/table.ts";
import { iecBytes, siRate } from "../lib/usage/units.ts";
import { ianaZone } from "../lib/usage/zone.ts";
import { seededRandom } from "./random.ts";

const berlin = ianaZone("Europe/Berlin");
const COLUMNS = ["acme-inbound", "acme-outbound", "beta"] as const;

/** Customers matched to the log's columns by the config's one matcher. */
function resolveCustomers(specs: { name: string; meters: string[] }[], columns: readonly string[]) {
  return customerColumns(
    specs.map((s) => ({ ...s, billing: { cycleDay: 1 } })),
    columns.map((name) => ({ name, label: name })),
    "netmon.log",
  );
}

/** Ten days of 5-minute samples from 10 Oct 2026 (Berlin), in bursts that differ between the two acme columns. */
function samples(): Sample[] {
  const out: Sample[] = [];
  const c: [number, number, number] = [0, 0, 0];
  const columns = [...COLUMNS];
  for (let i = 0; i <= 10 * 288; i++) {
    // In bursts at even hours, out at odd hours: the p95 of the sum differs from the sum of p95s.
    const hour = Math.floor(i / 12);
    c[0] += hour % 2 === 0 ? 3_000_000 : 1000;
    c[1] += hour % 2 === 1 ? 2_000_000 : 1000;
    c[2] += 5000;
    out.push({ epoch: Date.UTC(2026, 9, 9, 22) + i * 300_000, columns, counters: [...c] });
  }
  return out;
}

Deno.test("customers resolve meter names to their direction columns; a name matching nothing is one clear error", () => {
  assertEquals(
    resolveCustomers([{ name: "acme", meters: ["acme"] }, { name: "b", meters: ["beta", "acme-inbound"] }], COLUMNS),
    [
      { name: "acme", in: ["acme-inbound"], out: ["acme-outbound"], both: [] },
      { name: "b", in: ["acme-inbound"], out: [], both: ["beta"] },
    ],
  );
  // graph.ts's --group acme=acme-in,acme-out silently billed zero; here it is an error.
  throws(
    () => resolveCustomers([{ name: "acme", meters: ["acme-in"] }], COLUMNS),
    (e: unknown) =>
      e instanceof CustomerMatchError &&
      e.message ===
        'netmon.log: customer[1].meters[1]: "acme-in" matches no meter or column (columns: acme-inbound, acme-outbound, beta)',
  );
});

Deno.test("a customer's p95 is over the summed rates of its columns, the billable one the larger direction", () => {
  const cycles = [...usageByBucket(samples(), calendar("cycle", berlin, 15), { p95: true })];
  const [acme, both] = resolveCustomers([{ name: "acme", meters: ["acme"] }, {
    name: "both",
    meters: ["acme-inbound", "acme-outbound", "beta"],
  }], COLUMNS);
  const b = cycles[0] as BucketUsage;
  const [ra, rb] = rollUp(b, [acme!, both!]);
  const col = (n: string) => b.columns.find((c) => c.name === n)!;
  assertEquals(ra?.inBytes, col("acme-inbound").usage);
  assertEquals(ra?.outBytes, col("acme-outbound").usage);
  assertEquals(ra?.totalBytes, col("acme-inbound").usage + col("acme-outbound").usage);
  assertEquals(ra?.p95In, col("acme-inbound").p95);
  assertEquals(ra?.p95, Math.max(col("acme-inbound").p95!, col("acme-outbound").p95!));
  // "both" has a column with no direction, counted in each: a direction's p95 is that of its summed rates.
  const iv = b.intervals!;
  const a = iv.rates.get("acme-inbound")!;
  const o = iv.rates.get("acme-outbound")!;
  const z = iv.rates.get("beta")!;
  assertEquals(rb?.p95In, weightedPercentile(a.map((x, k) => x + (z[k] as number)), iv.weights, iv.length));
  assertEquals(rb?.p95Out, weightedPercentile(o.map((x, k) => x + (z[k] as number)), iv.weights, iv.length));
  assertEquals(rb?.p95, Math.max(rb!.p95In!, rb!.p95Out!));
  const sumOfP95s = col("acme-inbound").p95! + col("acme-outbound").p95! + col("beta").p95!;
  ok((rb?.p95 as number) < sumOfP95s * 0.9, `${rb?.p95} is not the sum of the percentiles ${sumOfP95s}`);
  assertEquals(rb?.inBytes, col("acme-inbound").usage);
  assertEquals(rb?.outBytes, col("acme-outbound").usage);
});

/** Ten days of 5-minute samples where in and out burst together, beside an unsplit column of a varying rate. */
function burstsTogether(): Sample[] {
  const out: Sample[] = [];
  const c: [number, number, number] = [0, 0, 0];
  for (let i = 0; i <= 10 * 288; i++) {
    const busy = Math.floor(i / 12) % 2 === 0;
    c[0] += busy ? 3_000_000 : 1000;
    c[1] += busy ? 2_000_000 : 1000;
    c[2] += 5000 + (i % 7) * 1000;
    out.push({ epoch: Date.UTC(2026, 9, 9, 22) + i * 300_000, columns: [...COLUMNS], counters: [...c] });
  }
  return out;
}

Deno.test("a customer mixing split and unsplit columns: the unsplit one counts in each direction, billed the larger", () => {
  const b = [...usageByBucket(burstsTogether(), calendar("cycle", berlin, 15), { p95: true })][0] as BucketUsage;
  const [mixed, inOnly, undirected] = resolveCustomers([
    { name: "mixed", meters: ["acme", "beta"] },
    { name: "in-only", meters: ["acme-inbound", "beta"] },
    { name: "undirected", meters: ["beta"] },
  ], COLUMNS);
  assertEquals(mixed, { name: "mixed", in: ["acme-inbound"], out: ["acme-outbound"], both: ["beta"] });
  const [rm, ri, ru] = rollUp(b, [mixed!, inOnly!, undirected!]);
  const iv = b.intervals!;
  const rate = (n: string) => iv.rates.get(n)!;
  const p95 = (...names: string[]) =>
    weightedPercentile(
      rate(names[0]!).map((_, k) => names.reduce((s, n) => s + rate(n)[k]!, 0)),
      iv.weights,
      iv.length,
    );
  // The billable figure is the larger direction, as for every customer split by direction.
  assertEquals(rm?.p95, Math.max(rm!.p95In!, rm!.p95Out!), `billable ${rm?.p95}, in ${rm?.p95In}, out ${rm?.p95Out}`);
  // netmon cannot tell which way the unsplit column's bytes went: each direction's rate includes all of them, an
  // upper bound of that direction's true rate, so the bill is never below the traffic.
  assertEquals([rm?.p95In, rm?.p95Out], [p95("acme-inbound", "beta"), p95("acme-outbound", "beta")]);
  // Not the percentile of both directions added up (what was billed before: about in plus out at their peaks).
  const everything = p95("acme-inbound", "acme-outbound", "beta")!;
  ok(rm!.p95! < everything * 0.9, `billable ${rm?.p95} is not the sum of the directions' ${everything}`);
  ok(rm!.p95! >= Math.max(p95("acme-inbound")!, p95("acme-outbound")!), "never below the split columns' own");
  // Bytes count once: in and out are the split columns', the total adds the unsplit one.
  const col = (n: string) => b.columns.find((c) => c.name === n)!.usage;
  assertEquals([rm?.inBytes, rm?.outBytes, rm?.totalBytes], [
    col("acme-inbound"),
    col("acme-outbound"),
    col("acme-inbound") + col("acme-outbound") + col("beta"),
  ]);
  // With no outbound column, out is the unsplit column alone.
  assertEquals([ri?.p95In, ri?.p95Out], [p95("acme-inbound", "beta"), p95("beta")]);
  assertEquals(ri?.p95, Math.max(ri!.p95In!, ri!.p95Out!));
  // With no direction at all, no direction is shown and the billable figure is the column's own.
  assertEquals([ru?.p95In, ru?.p95Out, ru?.p95], [undefined, undefined, p95("beta")]);
});

Deno.test("CSV: the exact header, ISO times with offset, empty fields where not computed, days adding up to the cycle", () => {
  const customers = resolveCustomers([{ name: "acme", meters: ["acme"] }], COLUMNS);
  const cycleRows = [...usageByBucket(samples(), calendar("cycle", berlin, 15), { p95: true })].flatMap((b) =>
    rowsOf(b, { customers })
  );
  const text = [...csvChunks(cycleRows, berlin)].join("");
  const [header, ...lines] = text.trimEnd().split("\n");
  assertEquals(header, CSV_HEADER);
  assertEquals(
    header,
    "start,end,name,kind,in_bytes,out_bytes,total_bytes,p95_in_bps,p95_out_bps,p95_bps,coverage,resets",
  );
  const first = (lines[0] as string).split(",");
  assertEquals(first.slice(0, 7), [
    "2026-09-15T00:00:00+02:00",
    "2026-10-15T00:00:00+02:00",
    "acme-inbound",
    "column",
    "",
    "",
    first[6],
  ]);
  assertEquals(first.slice(7, 9), ["", ""]);
  ok(Number(first[9]) > 0);
  const customer = lines.find((l) => l.includes(",customer,"))!.split(",");
  assertEquals(customer.length, 12);
  assertEquals(BigInt(customer[4]!) + BigInt(customer[5]!), BigInt(customer[6]!));
  // Days add up to the cycles, and the cycles to the counters' growth.
  const days = [...usageByBucket(samples(), calendar("day", berlin))].flatMap((b) => rowsOf(b, { customers }));
  const total = (rows: typeof days, name: string) =>
    rows.filter((r) => r.name === name).reduce((s, r) => s + r.totalBytes, 0n);
  const initial = samples()[0]!.counters;
  const last = samples().at(-1)!.counters;
  for (const [k, name] of COLUMNS.entries()) {
    assertEquals(total(days, name), total(cycleRows, name));
    assertEquals(total(cycleRows, name), BigInt((last[k] as number) - (initial[k] as number)));
  }
  assertEquals(total(days, "acme"), total(cycleRows, "acme"));
});

Deno.test("JSON: version 1, bytes exact beyond 2^53 as integers, rates as numbers, read back exactly", () => {
  const big = (1n << 62n) + 7n;
  const columns = ["x"];
  const rows = [
    ...usageByBucket(
      [
        { epoch: Date.UTC(2026, 0, 1), columns, counters: [0] },
        { epoch: Date.UTC(2026, 0, 1, 0, 5), columns, counters: [big] },
      ],
      calendar("day", berlin),
      { p95: true },
    ),
  ].flatMap((b) => rowsOf(b));
  const text = [...jsonChunks(rows, { by: "day", zone: berlin })].join("");
  ok(text.includes(`"total_bytes":${big}`), text);
  const doc = parseExactJson(text) as {
    version: bigint;
    by: string;
    timezone: string;
    rows: Record<string, unknown>[];
  };
  assertEquals([doc.version, doc.by, doc.timezone], [1n, "day", "Europe/Berlin"]);
  assertEquals(doc.rows[0]?.total_bytes, big);
  assertEquals(doc.rows[0]?.start, "2026-01-01T00:00:00+01:00");
  assertEquals(typeof JSON.parse(text).rows[0].p95_bps, "number");
  assertEquals(doc.rows[0]?.in_bytes, undefined);
});

Deno.test("IEC sizes and SI rates with two decimals; the table aligns them", () => {
  assertEquals(
    [0n, 1023n, 1024n, 1536n, (1n << 20n) - 1n, 5n << 30n, 3n << 40n, (1n << 64n) - 1n].map(iecBytes),
    ["0 B", "1023 B", "1.00 KiB", "1.50 KiB", "1.00 MiB", "5.00 GiB", "3.00 TiB", "16.00 EiB"],
  );
  assertEquals([0, 950, 999.999, 1_250_000, 9.5e9, 1.2e13].map(siRate), [
    "0.00 bit/s",
    "950.00 bit/s",
    "1.00 kbit/s",
    "1.25 Mbit/s",
    "9.50 Gbit/s",
    "12.00 Tbit/s",
  ]);
  const table = formatTable([
    {
      start: 0,
      end: 1,
      label: "2026-10-01",
      name: "acme",
      kind: "customer",
      inBytes: 1024n,
      outBytes: 5n,
      totalBytes: 1029n,
      coverage: 1,
      resets: 0,
    },
    {
      start: 0,
      end: 1,
      label: "2026-10-01",
      name: "b",
      kind: "column",
      totalBytes: 3n << 30n,
      coverage: 0.5,
      resets: 2,
    },
  ]);
  assertEquals(table.split("\n"), [
    "period      name        in  out     total  coverage  resets",
    "2026-10-01  acme  1.00 KiB  5 B  1.00 KiB    100.0%       0",
    "2026-10-01  b                    3.00 GiB     50.0%       2",
    "",
  ]);
});

Deno.test("a column and a customer of one name: the table and the overview say which row is which", () => {
  // A customer's meters default to its own name: customer "acme" over the unsplit meter acme and meter web.
  const row = (name: string, kind: "column" | "customer", totalBytes: bigint) => ({
    start: 0,
    end: 1,
    label: "2026-11-01",
    name,
    kind,
    totalBytes,
    coverage: 1,
    resets: 0,
  });
  const rows = [row("acme", "column", 2n << 29n), row("web", "column", 3n << 29n), row("acme", "customer", 5n << 29n)];
  assertEquals(formatTable(rows).split("\n"), [
    "period      name                total  coverage  resets",
    "2026-11-01  acme (column)    1.00 GiB    100.0%       0",
    "2026-11-01  web              1.50 GiB    100.0%       0",
    "2026-11-01  acme (customer)  2.50 GiB    100.0%       0",
    "",
  ]);
  // Only a name that is both is marked: without the column, "acme" is the customer alone, and the table as before.
  assertEquals(formatTable(rows.slice(1)).split("\n"), [
    "period      name     total  coverage  resets",
    "2026-11-01  web   1.50 GiB    100.0%       0",
    "2026-11-01  acme  2.50 GiB    100.0%       0",
    "",
  ]);
  const figures = (totalBytes: bigint) => ({ totalBytes });
  const line = (name: string, kind: "column" | "customer", b: bigint) => ({
    name,
    kind,
    today: figures(b),
    yesterday: figures(b),
    cycle: figures(b),
    previousCycle: figures(b),
    year: figures(b),
    cycleCoverage: 1,
  });
  const periods = periodsAt(Date.UTC(2026, 10, 20), berlin);
  const lines = [line("acme", "column", 1n), line("web", "column", 2n), line("acme", "customer", 3n)];
  assertEquals(formatOverview(lines, periods).split("\n").map((l) => l.split(/\s{2,}/).slice(0, 2)), [
    ["name", "today"],
    ["acme (column)", "1 B"],
    ["web", "2 B"],
    ["acme (customer)", "3 B"],
    [""],
  ]);
  // The CSV and JSON have a kind field of their own: their name stays the name.
  assertEquals([...csvChunks(rows, berlin)].join("").split("\n").map((l) => l.split(",")[2]), [
    "name",
    "acme",
    "web",
    "acme",
    undefined,
  ]);
});

Deno.test("overview: today, yesterday, this cycle with its linear estimate, the previous cycle and the year", () => {
  const all = samples();
  const now = all.at(-1)!.epoch; // 20 Oct 2026, 00:00 Berlin
  const periods = periodsAt(now, berlin, 15);
  assertEquals([
    periods.today.label,
    periods.yesterday.label,
    periods.cycle.label,
    periods.previousCycle.label,
    periods.year.label,
  ], [
    "2026-10-20",
    "2026-10-19",
    "2026-10-15 .. 2026-11-14",
    "2026-09-15 .. 2026-10-14",
    "2026",
  ]);
  const customers = resolveCustomers([{ name: "acme", meters: ["acme"] }], COLUMNS);
  const ov = new OverviewBuilder(periods, customers);
  for (const d of usageByBucket(all, calendar("day", berlin))) ov.add(d);
  const lines = ov.result(all[0]!.epoch, now, now);
  const beta = lines.find((l) => l.name === "beta")!;
  const perDay = 288n * 5000n;
  assertEquals([beta.today?.totalBytes, beta.yesterday?.totalBytes, beta.cycle?.totalBytes], [0n, perDay, 5n * perDay]);
  assertEquals(beta.previousCycle?.totalBytes, 5n * perDay);
  assertEquals(beta.year?.totalBytes, 10n * perDay);
  // Five days (120 hours) of a cycle of 31 days and the hour summer time gives back: 745 hours' worth.
  assertEquals(beta.estimate?.totalBytes, (5n * perDay * 745n) / 120n);
  assertEquals(beta.cycleCoverage, 1);
  const acme = lines.find((l) => l.name === "acme")!;
  assertEquals(acme.kind, "customer");
  assertEquals(acme.cycle?.totalBytes, (acme.cycle?.inBytes ?? 0n) + (acme.cycle?.outBytes ?? 0n));
});

Deno.test("overview: each line is the sum of its daily rows, columns coming and going, whatever is kept (seeded)", () => {
  const rand = seededRandom("overview sums");
  const names = ["a-inbound", "a-outbound", "b", "c-inbound", "c-outbound"];
  const customers = resolveCustomers([
    { name: "a", meters: ["a"] },
    { name: "ab", meters: ["a", "b"] },
    { name: "c", meters: ["c-inbound"] },
    { name: "none yet", meters: ["b"] },
  ], names);
  // Sixty days up to 20 Oct 2026 in Berlin: columns drop out for days and come back, gaps, resets. Whatever the
  // seed, customer a's columns are in for 16 Oct and out for 17 Oct, so that a covers this cycle (from the 15th) in
  // part (the random dropouts may spare a's columns in it, or take them for all of it).
  const log: Sample[] = [];
  const v = names.map(() => 0);
  let columns = names;
  // From 15 to 17 Oct every 5 minutes (no day skipped), a's columns in for the 16th and out for the 17th.
  const dayOf = (t: number) => Math.floor((t - Date.UTC(2026, 9, 16)) / 86_400_000);
  const step = (t: number) => dayOf(t) >= -1 && dayOf(t) <= 1 ? 300_000 : rand() < 0.002 ? 86_400_000 : 300_000;
  for (let t = Date.UTC(2026, 7, 21); t < Date.UTC(2026, 9, 20); t += step(t)) {
    if (rand() < 0.003) columns = names.filter(() => rand() < 0.7);
    const day = dayOf(t);
    const present = day === 0
      ? names.filter((n) => n.startsWith("a-") || columns.includes(n))
      : day === 1
      ? columns.filter((n) => !n.startsWith("a-"))
      : columns;
    if (present.length === 0) continue;
    for (let j = 0; j < names.length; j++) v[j] = rand() < 0.001 ? 0 : (v[j] as number) + Math.floor(rand() * 1e6);
    log.push({ epoch: t, columns: present, counters: present.map((n) => v[names.indexOf(n)] as number) });
  }
  // As of the last sample, the cycle in progress: its coverage is the cycle row's (`--by cycle`, the page, the mails).
  const now = log.at(-1)!.epoch;
  const periods = periodsAt(now, berlin, 15);
  const days = [...usageByBucket(log, calendar("day", berlin), { now })];
  const cycle = [...usageByBucket(log, calendar("cycle", berlin, 15), { now })].at(-1)!;
  assertEquals(cycle.bucket.start, periods.cycle.start);
  for (const options of [{}, { only: new Set(["a", "b", "c-outbound"]) }, { columns: false }]) {
    const ov = new OverviewBuilder(periods, customers, options);
    for (const d of days) ov.add(d);
    const got = ov.result(log[0]!.epoch, log.at(-1)!.epoch, now);
    // The definition: each day's rows (columns, customers rolled up) added into the periods holding the day.
    const want = new Map<
      string,
      { figures: Record<string, { in?: bigint; out?: bigint; total: bigint }> }
    >();
    for (const d of days) {
      const hit = (["today", "yesterday", "cycle", "previousCycle", "year"] as const)
        .filter((p) => periods[p].start <= d.bucket.start && d.bucket.start < periods[p].end);
      if (hit.length === 0) continue;
      const rows = rowsOf(d, { customers, customersOnly: options.columns === false, ...options });
      for (const r of rows) {
        const key = `${r.kind} ${r.name}`;
        let line = want.get(key);
        if (line === undefined) want.set(key, line = { figures: {} });
        // A period has a figure of a customer once a day of it has one of the customer's columns.
        const cu = r.kind === "customer" ? customers.find((c) => c.name === r.name) : undefined;
        const there = !cu || [...cu.in, ...cu.out, ...cu.both].some((n) => d.columns.some((c) => c.name === n));
        for (const p of hit) {
          if (!there && line.figures[p] === undefined) continue;
          const f = line.figures[p] ??= { total: 0n };
          f.total += r.totalBytes;
          if (r.inBytes !== undefined) f.in = (f.in ?? 0n) + r.inBytes;
          if (r.outBytes !== undefined) f.out = (f.out ?? 0n) + r.outBytes;
        }
      }
    }
    // One figure: the coverage of the cycle's row, a column's of its own time, a customer's its least covered
    // column's (none in the cycle: 0).
    const rows = rowsOf(cycle, { customers, customersOnly: options.columns === false, ...options });
    const coverage = new Map(rows.map((r) => [`${r.kind} ${r.name}`, r.coverage]));
    assertEquals(
      got.map((l) => `${l.kind} ${l.name}`),
      [...want.keys()].sort((
        x,
        y,
      ) => (x.startsWith("column") === y.startsWith("column") ? 0 : x.startsWith("column") ? -1 : 1)),
    );
    for (const l of got) {
      const w = want.get(`${l.kind} ${l.name}`)!;
      for (const p of ["today", "yesterday", "cycle", "previousCycle", "year"] as const) {
        // A period without any of its samples has no figure, not a zero.
        const f = w.figures[p];
        assertEquals(
          l[p] && [l[p].inBytes, l[p].outBytes, l[p].totalBytes],
          f && [f.in, f.out, f.total],
          `${l.name} ${p}`,
        );
      }
      const c = coverage.get(`${l.kind} ${l.name}`) ?? 0;
      ok(Math.abs(l.cycleCoverage - c) < 1e-12, `${l.name} coverage ${l.cycleCoverage}, not ${c}`);
    }
    ok(got.some((l) => l.kind === "customer" && l.cycleCoverage > 0 && l.cycleCoverage < 1));
  }
});

Deno.test("a customer's resets are reset events: samples where any of its columns reset, once however many did", async () => {
  const columns = ["m-inbound", "m-outbound", "other"];
  const at = (h: number) => Date.UTC(2026, 10, 2, h);
  // At 03:00 meter m (split in and out) is re-created: both its columns go down at one sample; at 04:00 other is
  // reset; at 05:00 m-outbound alone.
  const values = [[100, 100, 100], [200, 200, 200], [10, 10, 300], [20, 20, 5], [30, 1, 10]];
  const log: Sample[] = values.map((counters, k) => ({ epoch: at(k + 1), columns, counters }));
  const customers = resolveCustomers([{ name: "m", meters: ["m"] }, { name: "all", meters: ["m", "other"] }], columns);
  const [day] = [...usageByBucket(log, calendar("day", ianaZone("UTC")))];
  assertEquals(day!.columns.map((c) => [c.name, c.resets]), [["m-inbound", 1], ["m-outbound", 2], ["other", 1]]);
  assertEquals(rollUp(day!, customers).map((c) => [c.name, c.resets]), [["m", 2], ["all", 3]]);
  // Two hosts' buckets added up: their events are distinct, each host's counted.
  async function* host(): AsyncGenerator<BucketUsage> {
    yield* usageByBucket(log, calendar("day", ianaZone("UTC")));
  }
  const fleet: BucketUsage[] = [];
  for await (const b of fleetBuckets([host(), host()])) fleet.push(b);
  assertEquals(rollUp(fleet[0]!, customers).map((c) => [c.name, c.resets]), [["m", 4], ["all", 6]]);
});

Deno.test("fleet coverage: a host that stopped sampling is counted up to its own last sample in the bucket in progress only", async () => {
  // Hourly: office-old has x from 1 November 2026 to noon; office-b has x and y to noon on the 2nd, now 12:30.
  const hourly = (columns: string[], to: number): Sample[] => {
    const out: Sample[] = [];
    for (let t = Date.UTC(2026, 10, 1); t <= to; t += 3_600_000) {
      out.push({
        epoch: t,
        columns,
        counters: columns.map(() => t / 1000),
      });
    }
    return out;
  };
  const old = hourly(["x"], Date.UTC(2026, 10, 1, 12)), b = hourly(["x", "y"], Date.UTC(2026, 10, 2, 12));
  const now = Date.UTC(2026, 10, 2, 12, 30);
  const fleet = async (unit: "day" | "cycle") => {
    const cal = calendar(unit, ianaZone("UTC"), 1);
    async function* host(samples: Sample[]): AsyncGenerator<BucketUsage> {
      yield* usageByBucket(samples, cal, { now });
    }
    const out: string[] = [];
    for await (const f of fleetBuckets([host(old), host(b)])) {
      for (const c of f.columns) {
        out.push(`${new Date(f.bucket.start).toISOString().slice(5, 10)} ${c.name} ${c.coverage}`);
      }
    }
    return out;
  };
  // The 1st is over: office-old's samples of its afternoon are missing, and its x (the least covered host's) says so.
  assertEquals(await fleet("day"), ["11-01 x 0.5", "11-01 y 1", "11-02 x 1", "11-02 y 1"]);
  // The cycle is in progress: office-old counted so far, up to its last sample, lowers no other host's.
  assertEquals(await fleet("cycle"), ["11-01 x 1", "11-01 y 1"]);
});
