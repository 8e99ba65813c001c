/**
 * A customer that already exists and GAINS a meter mid-cycle: each of its
 * columns is projected from its own first sample, and the sum is its
 * projection. Counted from the customer's earliest column instead, the new
 * meter's usage is spread over the whole cycle so far, and the "on course to
 * pass its quota" alert comes late or never. The summary's overview, the
 * page, the daily digest and the alert must all say the same (the fixture:
 * tests/late_meter.ts; `summary --store`: tests/summary_store_test.ts).
 */
import { formatTimestamp } from "../lib/usage/local_time.ts";
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import type { CustomerColumns, CustomerSpec } from "../lib/config/customers.ts";
import { dueAlerts } from "../lib/outputs/alerts.ts";
import { dueDigests } from "../lib/outputs/digests.ts";
import { buildPageData } from "../lib/outputs/page_data.ts";
import { advanceTally, type Tally } from "../lib/usage/cycle_tally.ts";
import { tallyPlan, watchedCustomers } from "../lib/usage/cycle_customers.ts";
import type { Sample } from "../lib/usage/engine.ts";
import type { Row } from "../lib/usage/rows.ts";
import { billingPasses, OverviewSummarizer, Summarizer } from "../lib/usage/summary.ts";
import { named, withTempDir } from "./helpers.ts";
import { LATE, lateMeterCounters, lateMeterSamples } from "./late_meter.ts";
import { mailSection } from "./quota_env.ts";

const GiB = 1n << 30n;
const UTC = { cycleDay: 1, timeZone: "UTC" };
/** base's 25 days of 30 at 1 B/s, carried to the cycle's end. */
const BASE = 30n * 86_400n;
/** The fixture's samples (late at 1 GiB an hour): base's 30 days plus late's 120 GiB in 5 days, 5 to go. */
const EXACT = BASE + 240n * GiB;
/** What the customer's earliest column's time gave: all of it over 25 days, carried to 30. */
const SPREAD = (25n * 86_400n + 120n * GiB) * 30n / 25n;

Deno.test("the overview projects a customer that gains a meter mid-cycle column by column: each from its own first sample", () => {
  const acme: CustomerColumns = { name: "acme", in: [], out: [], both: ["base", "late"] };
  const mixed: CustomerColumns = { name: "mixed", in: ["base"], out: ["late"], both: [] };
  const passes = billingPasses(UTC, [{ columns: acme, billing: UTC }, { columns: mixed, billing: UTC }]);
  const ov = new OverviewSummarizer(passes, LATE.now);
  for (const s of lateMeterSamples()) ov.push(s);
  const lines = ov.result()[0]!.lines;
  const estimate = (name: string) => lines.find((l) => l.name === name)?.estimate;
  assertEquals(estimate("acme"), { totalBytes: EXACT }, `${SPREAD} would be the whole cycle so far's rate`);
  assertEquals(estimate("mixed"), { totalBytes: EXACT, inBytes: BASE, outBytes: 240n * GiB });
});

Deno.test("the page projects a customer that gains a meter mid-cycle column by column, as the overview", () => {
  const spec = (name: string, meters: string[]): CustomerSpec => ({ name, meters, billing: UTC });
  const page = buildPageData({
    samples: lateMeterSamples(),
    customers: [spec("acme", ["base", "late"]), spec("newco", ["late"])],
    billing: UTC,
    now: LATE.now,
    title: "t",
  });
  assertEquals(page.data.customers.map((c) => [c.name, c.cycle.projection]), [
    ["acme", EXACT],
    ["newco", 240n * GiB],
  ]);
});

Deno.test("alert_projected: a customer that gains a meter on day 20 is on course for its own 30 days plus the meter's 10", () => {
  // base carries 1 B/s all cycle; late 10 GiB in its first 5 days: on course for 20 GiB and 2.5 MiB, past the
  // 15 GiB quota. Spread over the 25 days of base, (10 GiB + 2.1 MiB) x 30/25 = 12 GiB: no warning.
  const config = parseConfig(
    '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["base", "late"]\nquota = "15 GiB"\n' +
      `alert_projected = true\n${mailSection(25)}`,
    "netmon.toml",
  );
  const watched = watchedCustomers(config.customers, named(["base", "late"]), "netmon.toml");
  const plan = tallyPlan(config.customers, watched);
  let tally: Tally | undefined;
  for (const s of lateMeterCounters()) tally = advanceTally(tally, plan, s);
  const due = dueAlerts(tally!, watched, new Set(), config.mail!, "2025/11/26-00:00:00", new Date(LATE.now));
  assertEquals(due.map((d) => d.key), ["projected\tacme\t2025-11-01 .. 2025-11-30"]);
  const text = due[0]!.message!.text;
  ok(text.includes("Projected for the whole cycle: 20.00 GiB\n"), text);
});

Deno.test("the daily digest's estimate of a customer that gains a meter mid-cycle is the overview's", async () => {
  await withTempDir(async (dir) => {
    // The fixture's samples as the log holds them: stamps in the local time the log is read in, a header per change.
    const local = (t: number) => formatTimestamp(new Date(t));
    const lines: string[] = [];
    let columns: readonly string[] | undefined;
    for (const s of lateMeterSamples()) {
      if (s.columns !== columns) lines.push(`# netmon meters:\t${(columns = s.columns).join("\t")}`);
      lines.push([local(s.epoch), ...Array.from(s.counters, String)].join("\t"));
    }
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, lines.map((l) => `${l}\n`).join(""));
    const config = parseConfig(
      '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["base", "late"]\n' +
        mailSection(25, 'send = "daily"\n'),
      "netmon.toml",
    );
    const due = dueDigests(config, config.mail!, log, LATE.now, new Set(), new Date(LATE.now));
    assertEquals(due.map((d) => d.key), ["daily\t2025-11-25"]);
    const text = due[0]!.message!.text;
    ok(text.includes("  late: estimate 240.00 GiB\n"), text);
    // 240 GiB and 2.5 MiB (not 144 GiB: late's 120 GiB spread over base's 25 days).
    ok(text.includes("  acme: estimate 240.00 GiB\n"), text);
  });
});

/** The cycle rows' and the overview's coverage of this cycle, by name, from `samples`. */
function coverages(samples: Sample[]): { rows: Record<string, number>; overview: Record<string, number> } {
  const acme: CustomerColumns = { name: "acme", in: [], out: [], both: ["base", "late"] };
  const newco: CustomerColumns = { name: "newco", in: [], out: [], both: ["late"] };
  const passes = billingPasses(UTC, [{ columns: acme, billing: UTC }, { columns: newco, billing: UTC }]);
  const cycles = new Summarizer(passes, { unit: "cycle" });
  const rows: Row[] = [];
  for (const s of samples) rows.push(...cycles.push(s));
  rows.push(...cycles.finish(LATE.now));
  const ov = new OverviewSummarizer(passes, LATE.now);
  for (const s of samples) ov.push(s);
  return {
    rows: Object.fromEntries(rows.filter((r) => r.start === LATE.start).map((r) => [r.name, r.coverage])),
    overview: Object.fromEntries(ov.result()[0]!.lines.map((l) => [l.name, l.cycleCoverage])),
  };
}

Deno.test("coverage of a meter added mid-cycle is of the time since its first sample: not 'missing' before it existed", () => {
  // late is in the log from day 20 on, sampled every hour since: nothing of it is missing. Measured against the
  // whole cycle it read 20%, and so did acme (the least of its columns), hiding any real gap of base for the cycle.
  const whole = { base: 1, late: 1, acme: 1, newco: 1 };
  assertEquals(coverages(lateMeterSamples()), { rows: whole, overview: whole });
});

Deno.test("coverage of a meter added mid-cycle still shows a real gap in its own time, and its customer's with it", () => {
  // No sample at all on the 23rd (a day of late's 5, of base's 25): base 24/25, late and newco 4/5. acme's is its
  // least covered column's (late's 4/5), on the overview as in its row: one figure for the cycle wherever a biller
  // reads it. (The overview gave 24/25, the days all its columns there were covered of the time since its first
  // column appeared: late's missing fifth of its own time hidden in base's longer one.)
  const gap = lateMeterSamples().filter((s) => s.epoch <= Date.UTC(2025, 10, 23) || s.epoch >= Date.UTC(2025, 10, 24));
  const each = { base: 24 / 25, late: 4 / 5, acme: 4 / 5, newco: 4 / 5 };
  const want = { rows: each, overview: each };
  const got = coverages(gap);
  for (const view of ["rows", "overview"] as const) {
    for (const [name, c] of Object.entries(want[view])) {
      ok(Math.abs(got[view][name]! - c) < 1e-9, `${view}: ${name} ${got[view][name]}, not ${c}`);
    }
  }
});

Deno.test("coverage of a cycle the log began in still counts the time before the log as not covered", () => {
  // netmon was not running before the 11th: every name's traffic before it is missing, a meter added later aside.
  const late = lateMeterSamples().filter((s) => s.epoch >= Date.UTC(2025, 10, 11));
  const want = { base: 15 / 25, late: 1, acme: 15 / 25, newco: 1 };
  const got = coverages(late);
  for (const view of ["rows", "overview"] as const) {
    for (const [name, c] of Object.entries(want)) {
      ok(Math.abs(got[view][name]! - c) < 1e-9, `${view}: ${name} ${got[view][name]}, not ${c}`);
    }
  }
});
