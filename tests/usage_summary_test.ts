/**
 * lib/usage/summary.ts in-process: a pass per distinct billing, rows from
 * each pass in its own zone and cycle, each name's top days, the overview's
 * parts, and a name's billing history (what the page shows).
 */
import { deepEqual as assertEquals } from "node:assert/strict";
import type { CustomerColumns } from "../lib/config/customers.ts";
import type { Sample } from "../lib/usage/engine.ts";
import { lateMeterSamples } from "./late_meter.ts";
import type { Row } from "../lib/usage/rows.ts";
import { FirstSeen } from "../lib/usage/first_seen.ts";
import {
  billingHistory,
  billingPasses,
  OverviewSummarizer,
  spanIn,
  Summarizer,
  topRows,
} from "../lib/usage/summary.ts";
import { returningOf } from "../lib/usage/log_samples.ts";
import { ianaZone } from "../lib/usage/zone.ts";

const acme: CustomerColumns = { name: "acme", in: ["acme-inbound"], out: ["acme-outbound"], both: [] };
const beta: CustomerColumns = { name: "b", in: [], out: [], both: ["beta"] };

/** Hourly samples of 1, 2 and 4 B/s from `from` for `days` days. */
function samples(from: number, days: number): Sample[] {
  const columns = ["acme-inbound", "acme-outbound", "beta"];
  return Array.from({ length: days * 24 + 1 }, (_, k) => {
    const s = k * 3600;
    return { epoch: from + k * 3_600_000, columns, counters: [s, 2 * s, 4 * s] };
  });
}

function run(s: Summarizer, list: Sample[]): Row[] {
  return [...list.flatMap((x) => s.push(x)), ...s.finish()];
}

Deno.test("a pass per distinct billing: the columns' first, customers sharing a billing share a pass", () => {
  const passes = billingPasses({ cycleDay: 1 }, [
    { columns: acme, billing: { cycleDay: 15, timeZone: "Europe/Berlin" } },
    { columns: beta, billing: { cycleDay: 1 } },
    { columns: { ...acme, name: "acme2" }, billing: { cycleDay: 15, timeZone: "Europe/Berlin" } },
  ]);
  assertEquals(
    passes.map((p) => [p.billing, p.zone.name, p.columns, p.customers.map((c) => c.name)]),
    [
      [{ cycleDay: 1 }, "local", true, ["b"]],
      [{ cycleDay: 15, timeZone: "Europe/Berlin" }, "Europe/Berlin", false, ["acme", "acme2"]],
    ],
  );
});

Deno.test("rows of each pass in its own cycle and zone; --from/--to and --meter by bucket start and name", () => {
  const passes = billingPasses({ cycleDay: 1, timeZone: "UTC" }, [
    { columns: acme, billing: { cycleDay: 15, timeZone: "Europe/Berlin" } },
  ]);
  const rows = run(new Summarizer(passes, { unit: "cycle", p95: true }), samples(Date.UTC(2026, 9, 10), 10));
  assertEquals(rows.map((r) => [r.label, r.name, r.zone?.name, r.totalBytes]), [
    // Berlin's cycle ends on 15 October at midnight there (22:00 UTC on the 14th): 4 days and 22 hours of 3 B/s.
    ["2026-09-15 .. 2026-10-14", "acme", "Europe/Berlin", 3n * (4n * 86_400n + 22n * 3600n)],
    ["2026-10-01 .. 2026-10-31", "acme-inbound", "UTC", 10n * 86_400n],
    ["2026-10-01 .. 2026-10-31", "acme-outbound", "UTC", 20n * 86_400n],
    ["2026-10-01 .. 2026-10-31", "beta", "UTC", 40n * 86_400n],
    ["2026-10-15 .. 2026-11-14", "acme", "Europe/Berlin", 3n * (5n * 86_400n + 2n * 3600n)],
  ]);
  const acmeRow = rows.find((r) => r.name === "acme") as Row;
  assertEquals([acmeRow.p95In, acmeRow.p95Out, acmeRow.p95], [8, 16, 16]);
  const some = run(
    new Summarizer(passes, {
      unit: "day",
      from: Date.UTC(2026, 9, 12),
      to: Date.UTC(2026, 9, 14),
      only: new Set(["beta"]),
    }),
    samples(Date.UTC(2026, 9, 10), 10),
  );
  assertEquals(some.map((r) => [r.label, r.name]), [["2026-10-12", "beta"], ["2026-10-13", "beta"]]);
  // --from/--to are wall times read in each pass's zone: both passes' rows from their own 12 October.
  const both = run(
    new Summarizer(passes, { unit: "day", from: Date.UTC(2026, 9, 12), to: Date.UTC(2026, 9, 13) }),
    samples(Date.UTC(2026, 9, 10), 10),
  );
  assertEquals(both.map((r) => [r.label, r.name, new Date(r.start).toISOString()]), [
    ["2026-10-12", "acme", "2026-10-11T22:00:00.000Z"],
    ["2026-10-12", "acme-inbound", "2026-10-12T00:00:00.000Z"],
    ["2026-10-12", "acme-outbound", "2026-10-12T00:00:00.000Z"],
    ["2026-10-12", "beta", "2026-10-12T00:00:00.000Z"],
  ]);
});

Deno.test("a wall-clock span in a zone: midnight there, a skipped hour from the jump, a repeated one from its first time", () => {
  const berlin = ianaZone("Europe/Berlin");
  const now = Date.UTC(2027, 0, 1);
  assertEquals(spanIn(berlin, {}, now), { from: -Infinity, to: Infinity, now });
  assertEquals(spanIn(berlin, { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) }, now), {
    from: Date.UTC(2026, 9, 31, 23),
    to: Date.UTC(2026, 10, 30, 23),
    now: Date.UTC(2026, 10, 30, 23) - 1,
  });
  // 29 March 2026: 02:30 never happens; it is the jump, 01:00 UTC, as 02:00 and 03:00 are.
  assertEquals(spanIn(berlin, { from: Date.UTC(2026, 2, 29, 2, 30) }, now).from, Date.UTC(2026, 2, 29, 1));
  assertEquals(spanIn(berlin, { from: Date.UTC(2026, 2, 29, 3) }, now).from, Date.UTC(2026, 2, 29, 1));
  // 25 October 2026: 02:30 happens at 00:30 UTC (summer time) and 01:30 UTC; the first.
  assertEquals(spanIn(berlin, { to: Date.UTC(2026, 9, 25, 2, 30) }, now).to, Date.UTC(2026, 9, 25, 0, 30));
});

Deno.test("top rows: each name's N largest, ties to the earlier, names in order of appearance", () => {
  const row = (name: string, day: number, total: bigint): Row => ({
    start: day,
    end: day + 1,
    label: String(day),
    name,
    kind: "column",
    totalBytes: total,
    coverage: 1,
    resets: 0,
  });
  const rows = [row("a", 1, 5n), row("b", 1, 1n), row("a", 2, 7n), row("a", 3, 5n), row("b", 2, 9n), row("a", 4, 6n)];
  assertEquals(topRows(rows, 2).map((r) => [r.name, r.start]), [["a", 2], ["a", 4], ["b", 2], ["b", 1]]);
  assertEquals(topRows(rows, 3).map((r) => [r.name, r.start]), [["a", 2], ["a", 4], ["a", 1], ["b", 2], ["b", 1]]);
});

Deno.test("billing history: this cycle so far with its linear estimate, the cycles before, this cycle's days", () => {
  const passes = billingPasses({ cycleDay: 1, timeZone: "UTC" }, [{
    columns: acme,
    billing: { cycleDay: 1, timeZone: "UTC" },
  }]);
  // 1 March to 11 March 2026 (10 days), then now is 11 March 00:00.
  const list = samples(Date.UTC(2026, 0, 21), 49);
  const cycles = new Summarizer(passes, { unit: "cycle", p95: true });
  const days = new Summarizer(passes, { unit: "day", p95: true });
  const cycleRows = run(cycles, list);
  const dayRows = run(days, list);
  const now = Date.UTC(2026, 2, 11);
  const h = billingHistory(cycleRows, dayRows, "acme", now, cycles.firstEpoch, cycles.lastEpoch, 12);
  assertEquals(h.past.map((r) => [r.label, r.totalBytes, r.coverage]), [
    ["2026-01-01 .. 2026-01-31", 3n * 11n * 86_400n, 11 / 31],
    ["2026-02-01 .. 2026-02-28", 3n * 28n * 86_400n, 1],
  ]);
  assertEquals(h.current?.row.label, "2026-03-01 .. 2026-03-31");
  assertEquals(h.current?.row.totalBytes, 3n * 10n * 86_400n);
  // 10 days of 31: the estimate is 31 days' worth.
  assertEquals(h.current?.estimate, {
    totalBytes: 3n * 31n * 86_400n,
    inBytes: 31n * 86_400n,
    outBytes: 62n * 86_400n,
  });
  assertEquals(
    h.days.map((r) => r.label),
    [...Array(11).keys()].map((k) => `2026-03-${String(k + 1).padStart(2, "0")}`),
  );
  assertEquals(billingHistory(cycleRows, dayRows, "acme", now, cycles.firstEpoch, cycles.lastEpoch, 1).past.length, 1);
});

Deno.test("the overview: one part per billing, days restricted by --from/--to, now at --to", () => {
  const passes = billingPasses({ cycleDay: 1, timeZone: "UTC" }, [{
    columns: beta,
    billing: { cycleDay: 15, timeZone: "UTC" },
  }]);
  const to = Date.UTC(2026, 9, 20);
  const ov = new OverviewSummarizer(passes, Date.now(), { to });
  for (const s of samples(Date.UTC(2026, 9, 10), 20)) ov.push(s);
  const parts = ov.result();
  assertEquals(parts.map((p) => p.part.now), [to - 1, to - 1]);
  assertEquals(parts.map((p) => p.lines.map((l) => l.name)), [["acme-inbound", "acme-outbound", "beta"], ["b"]]);
  const b = parts[1]?.lines[0];
  assertEquals([b?.today?.totalBytes, b?.yesterday?.totalBytes], [4n * 86_400n, 4n * 86_400n]);
  // The cycle from 15 October: five days so far, nothing after --to counted.
  assertEquals(b?.cycle?.totalBytes, 5n * 4n * 86_400n);
  assertEquals(parts[1]?.part.builder.periods.cycle.label, "2026-10-15 .. 2026-11-14");
});

Deno.test("the overview holds no day back for a meter removed for good once told which come back, the same figures", () => {
  const passes = billingPasses({ cycleDay: 1, timeZone: "UTC" }, [{
    columns: beta,
    billing: { cycleDay: 15, timeZone: "UTC" },
  }]);
  // gone is removed for good at 07:00 on the 11th; beta is away from 18:00 on the 12th to 06:00 on the 13th.
  const from = Date.UTC(2026, 9, 10);
  const list = samples(from, 4).map((s, k) => {
    const columns = k <= 30 ? [...s.columns, "gone"] : k >= 66 && k < 78 ? s.columns.slice(0, 2) : s.columns;
    return { ...s, columns, counters: columns.map((_, i) => s.counters[i] ?? k * 3600) };
  });
  const returning = returningOf(list);
  assertEquals(returning, new Set(["beta"]));
  const overview = (told: boolean) => {
    const ov = new OverviewSummarizer(passes, Date.UTC(2026, 9, 14, 1), told ? { returning } : {});
    // Whether days are held back after each sample.
    const held = list.map((s) => {
      ov.push(s);
      return ov.holding;
    });
    return { held, parts: ov.result().map((p) => p.lines) };
  };
  const told = overview(true);
  // Told: only while beta is away after the 12th closed (the 13th's first sample) up to its return.
  assertEquals(told.held.flatMap((h, k) => h ? [k] : []), [72, 73, 74, 75, 76, 77]);
  const untold = overview(false);
  assertEquals(untold.held.indexOf(true), 48, "not told: the 11th held from its close on, gone never back");
  assertEquals(untold.held.slice(48).every((h) => h), true);
  assertEquals(told.parts, untold.parts);
});

Deno.test("the overview's coverage of this cycle is up to the last sample, as the cycle's row: one figure, not two", () => {
  const billing = { cycleDay: 15, timeZone: "UTC" };
  const passes = billingPasses(billing, [{ columns: acme, billing }, { columns: beta, billing }]);
  // Hourly up to 22 October 00:00 but for twelve hours of the 18th; the summary asked 40 minutes after the last.
  const list = samples(Date.UTC(2026, 9, 10), 12).filter((s) =>
    s.epoch <= Date.UTC(2026, 9, 18, 6) || s.epoch >= Date.UTC(2026, 9, 18, 18)
  );
  const now = Date.UTC(2026, 9, 22, 0, 40);
  const rows = run(new Summarizer(passes, { unit: "cycle" }), list).filter((r) => r.start === Date.UTC(2026, 9, 15));
  const ov = new OverviewSummarizer(passes, now);
  for (const s of list) ov.push(s);
  const lines = ov.result().flatMap((p) => p.lines);
  // 7 days to the last sample, 12 hours of them missing.
  const want = 1 - 12 / (7 * 24);
  assertEquals(rows.map((r) => [r.name, Math.abs(r.coverage - want) < 1e-12]), [
    ["acme-inbound", true],
    ["acme-outbound", true],
    ["beta", true],
    ["acme", true],
    ["b", true],
  ]);
  assertEquals(lines.map((l) => [l.name, l.cycleCoverage.toFixed(6)]), rows.map((r) => [r.name, want.toFixed(6)]));
});

const GiB = 1n << 30n;

const newco: CustomerColumns = { name: "newco", in: [], out: [], both: ["late"] };
const mixed: CustomerColumns = { name: "mixed", in: ["base"], out: ["late"], both: [] };

Deno.test("the overview's estimate of a column (and customer) that first appears mid-cycle counts time from its first sample", () => {
  const passes = billingPasses({ cycleDay: 1, timeZone: "UTC" }, [
    { columns: newco, billing: { cycleDay: 1, timeZone: "UTC" } },
    { columns: mixed, billing: { cycleDay: 1, timeZone: "UTC" } },
  ]);
  const now = Date.UTC(2025, 10, 26);
  const ov = new OverviewSummarizer(passes, now);
  for (const s of lateMeterSamples()) ov.push(s);
  const lines = ov.result()[0]!.lines;
  const estimate = (name: string) => lines.find((l) => l.name === name)?.estimate;
  assertEquals(lines.map((l) => [l.name, l.cycle?.totalBytes]), [
    ["base", 25n * 86_400n],
    ["late", 120n * GiB],
    ["newco", 120n * GiB],
    ["mixed", 25n * 86_400n + 120n * GiB],
  ]);
  // 25 of 30 days of base: 30 days' worth.
  assertEquals(estimate("base"), { totalBytes: 30n * 86_400n });
  // late: 120 GiB in the 5 days since it appeared, 5 days to go: 240 GiB (not 120 x 30/25 = 144 GiB).
  assertEquals(estimate("late"), { totalBytes: 240n * GiB });
  assertEquals(estimate("newco"), { totalBytes: 240n * GiB });
  // A customer that gains late (base there from the log's first sample): each column from its own first sample,
  // summed (not all of it over base's 25 days: 144 GiB and 2.5 MiB).
  assertEquals(estimate("mixed"), {
    totalBytes: 30n * 86_400n + 240n * GiB,
    inBytes: 30n * 86_400n,
    outBytes: 240n * GiB,
  });
  // The billing history (what the page shows) with the first sample of the customer's columns: the same estimate.
  const list = lateMeterSamples();
  const seen = new FirstSeen();
  for (const s of list) seen.note(s);
  const cycles = new Summarizer(passes, { unit: "cycle" });
  const days = new Summarizer(passes, { unit: "day" });
  const cycleRows = run(cycles, list), dayRows = run(days, list);
  const h = billingHistory(cycleRows, dayRows, "newco", now, seen.of(newco.both), cycles.lastEpoch);
  assertEquals(h.current?.estimate, { totalBytes: 240n * GiB });
  // With its columns, a customer that gains one is projected column by column, as the overview.
  const first = (column: string) => seen.of([column]);
  assertEquals(
    billingHistory(cycleRows, dayRows, "mixed", now, first, cycles.lastEpoch, 12, mixed).current?.estimate,
    estimate("mixed"),
  );
});

Deno.test("rows come out in the same order whether a column is away or not: by bucket end, then pass", () => {
  // Two passes (UTC days, and beta's Berlin days); the column "gone" is away on the 2nd and comes back on the 3rd.
  const passes = billingPasses({ cycleDay: 1, timeZone: "UTC" }, [
    { columns: beta, billing: { cycleDay: 1, timeZone: "Europe/Berlin" } },
  ]);
  const from = Date.UTC(2026, 9, 1);
  const list = (away: boolean): Sample[] =>
    Array.from({ length: 4 * 24 + 1 }, (_, k) => {
      const s = k * 3600;
      const out = away && k >= 30 && k < 50;
      return out
        ? { epoch: from + k * 3_600_000, columns: ["beta"], counters: [s] }
        : { epoch: from + k * 3_600_000, columns: ["beta", "gone"], counters: [s, s] };
    });
  const order = (away: boolean) =>
    run(new Summarizer(passes, { unit: "day", returning: away ? new Set(["gone"]) : undefined }), list(away))
      .filter((r) => r.name === "beta" || r.name === "b")
      .map((r) => `${r.label} ${r.name} ${r.zone?.name}`);
  assertEquals(order(true), order(false));
  // One that never comes back (the samples end while it is away), no hint given: its buckets are held to the end,
  // and come out in that order too.
  const never = (away: boolean) =>
    run(new Summarizer(passes, { unit: "day" }), list(away).slice(0, 45))
      .filter((r) => r.name === "beta" || r.name === "b")
      .map((r) => `${r.label} ${r.name} ${r.zone?.name}`);
  assertEquals(never(true), never(false));
});
