/**
 * A meter REMOVED from the config mid-cycle (the mirror of
 * tests/gained_meter_test.ts): its column stops appearing in the log's
 * samples, so its traffic can no longer grow; the cycle's projection counts
 * what it counted, not its rate carried to the cycle's end. A column is
 * removed when the log's newest sample no longer has it: one missing for a
 * while (a gap, the machine down, a meter removed and added back) is
 * projected as any other. The summary's overview, the page, the daily
 * digest and the quota alert must all say the same (they all take
 * lib/usage/projection.ts `cycleEstimate`).
 *
 * The fixture: November 2025 (a 30-day cycle, UTC), hourly samples; acme has
 * two meters, `stays` at 1 GiB a day all month and `gone` at 1 GiB a day
 * until it is removed on day 10 (the 11th, 00:00, its last sample). On day
 * 20 (the 21st, 00:00): gone counted 10 GiB and is done, stays counted 20 GiB
 * and is on course for 30: acme's projection is 40 GiB.
 *
 * A config's customer can name only meters the config has, so a customer
 * holds a removed meter's column through `meters = ["*"]` (every column of
 * the log, in the summary, page and digest) or a meter whose columns changed
 * (a split dropped); every column has its own line too. The customers here
 * are matched to the log's columns directly, as those views match them.
 */
import { formatTimestamp } from "../lib/usage/local_time.ts";
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import type { CustomerColumns, CustomerSpec } from "../lib/config/customers.ts";
import { dueAlerts } from "../lib/outputs/alerts.ts";
import { dueDigests } from "../lib/outputs/digests.ts";
import { buildPageData } from "../lib/outputs/page_data.ts";
import { advanceTally, customerCycle, cycleProjection, type Tally } from "../lib/usage/cycle_tally.ts";
import { calendar } from "../lib/usage/calendar.ts";
import { tallyPlan, watchedCustomers } from "../lib/usage/cycle_customers.ts";
import type { Sample } from "../lib/usage/engine.ts";
import type { Row } from "../lib/usage/rows.ts";
import { billingPasses, OverviewSummarizer, Summarizer } from "../lib/usage/summary.ts";
import { cycleEstimate } from "../lib/usage/projection.ts";
import { ianaZone } from "../lib/usage/zone.ts";
import { named, withTempDir } from "./helpers.ts";
import { mailSection } from "./quota_env.ts";

const GiB = 1n << 30n;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const UTC = { cycleDay: 1, timeZone: "UTC" };
const START = Date.UTC(2025, 10, 1);
const day = (d: number) => START + d * DAY;
/** 1 GiB a day from `from` (exact at whole days). */
const counter = (t: number, from = START) => GiB * BigInt(t - from) / BigInt(DAY);

/**
 * Hourly samples from day 0 to `now`: `stays` throughout; `gone` while
 * `has(t)` holds, its counter from `counterOf` (1 GiB a day from the start).
 */
function samples(
  now: number,
  has: (t: number) => boolean,
  counterOf: (t: number) => bigint = (t) => counter(t),
): Sample[] {
  const both = ["stays", "gone"], one = ["stays"];
  const out: Sample[] = [];
  for (let t = START; t <= now; t += HOUR) {
    out.push(
      has(t)
        ? { epoch: t, columns: both, counters: [counter(t), counterOf(t)] }
        : { epoch: t, columns: one, counters: [counter(t)] },
    );
  }
  return out;
}

/** gone removed on day 10, seen last then; now is day 20. */
const REMOVED = samples(day(20), (t) => t <= day(10));
/** stays' 30 GiB and gone's 10 GiB. */
const EXACT = 40n * GiB;
/** What carrying gone's rate to the cycle's end gave: both counted from the cycle's start, 30 GiB in 20 days of 30. */
const CARRIED = 45n * GiB;

const acme: CustomerColumns = { name: "acme", in: [], out: [], both: ["stays", "gone"] };
const split: CustomerColumns = { name: "split", in: ["stays"], out: ["gone"], both: [] };
const goneOnly: CustomerColumns = { name: "oldco", in: [], out: [], both: ["gone"] };

/** The overview's estimates of the columns and the customers, by name, from `list` at `now`. */
function overviewEstimates(list: Sample[], now: number) {
  const customers = [acme, split, goneOnly].map((columns) => ({ columns, billing: UTC }));
  const ov = new OverviewSummarizer(billingPasses(UTC, customers), now);
  for (const s of list) ov.push(s);
  return Object.fromEntries(ov.result()[0]!.lines.map((l) => [l.name, l.estimate]));
}

/** The tally's projection (the quota alert's) of acme's total at the last of `list`. */
function tallyProjection(list: Sample[]): bigint | undefined {
  const cycles = calendar("cycle", ianaZone("UTC"), 1);
  const plan = { billings: new Map([["UTC", () => cycles]]), rates: [] };
  let tally: Tally | undefined;
  for (const s of list) {
    tally = advanceTally(tally, plan, {
      epoch: s.epoch,
      counters: new Map(s.columns.map((c, i) => [c, BigInt(s.counters[i] as number | bigint)])),
    });
  }
  const t = customerCycle(tally!, { columns: acme, billing: "UTC" })!;
  return cycleProjection(t, "total", tally!.epoch);
}

Deno.test("the overview: a meter removed on day 10 counts its 10 GiB, not its rate carried to day 30", () => {
  const e = overviewEstimates(REMOVED, day(20));
  assertEquals(e.gone, { totalBytes: 10n * GiB }, `gone's own line: what it counted, not ${e.gone?.totalBytes}`);
  assertEquals(e.stays, { totalBytes: 30n * GiB });
  assertEquals(
    e.acme,
    { totalBytes: EXACT },
    `${e.acme?.totalBytes} (${CARRIED}: gone's rate carried to the cycle's end)`,
  );
  assertEquals(e.split, { totalBytes: EXACT, inBytes: 30n * GiB, outBytes: 10n * GiB });
  assertEquals(e.oldco, { totalBytes: 10n * GiB }, "a customer of removed meters only: what they counted");
});

Deno.test("the quota alert's projection (the cycle tally) of a customer whose meter was removed is the overview's", () => {
  assertEquals(tallyProjection(REMOVED), EXACT);
});

Deno.test("alert_projected: a customer whose meter was removed on day 10 is not on course to pass a 42 GiB quota", () => {
  const config = parseConfig(
    '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["stays", "gone"]\nquota = "42 GiB"\n' +
      `alert_projected = true\n${mailSection(25)}`,
    "netmon.toml",
  );
  // The customer's meters matched to the log's columns, gone among them (as the summary matches them, and a report:
  // to the config's meters and the columns the tally has counted).
  const watched = watchedCustomers(config.customers, named(["stays", "gone"]), "netmon.toml");
  const plan = tallyPlan(config.customers, watched);
  let tally: Tally | undefined;
  for (const s of REMOVED) {
    tally = advanceTally(tally, plan, {
      epoch: s.epoch,
      counters: new Map(s.columns.map((c, i) => [c, BigInt(s.counters[i] as number | bigint)])),
    });
  }
  const due = dueAlerts(tally!, watched, new Set(), config.mail!, "2025/11/21-00:00:00", new Date(day(20)));
  const keys = due.map((d) => d.key);
  assertEquals(keys, [], `40 GiB projected: under the quota (45 GiB carried gone's rate on); due: ${keys.join(", ")}`);
});

Deno.test("the page projects a customer whose meter was removed as the overview", () => {
  const spec = (name: string, meters: string[]): CustomerSpec => ({ name, meters, billing: UTC });
  const page = buildPageData({
    samples: REMOVED,
    customers: [spec("acme", ["stays", "gone"]), spec("oldco", ["gone"])],
    billing: UTC,
    now: day(20),
    title: "t",
  });
  assertEquals(page.data.customers.map((c) => [c.name, c.cycle.projection]), [
    ["acme", EXACT],
    ["oldco", 10n * GiB],
  ]);
});

Deno.test("the daily digest's estimate of a customer whose meter was removed is the overview's", async () => {
  await withTempDir(async (dir) => {
    // The samples as the log holds them: stamps in the local time the log is read in, a header per change.
    const local = (t: number) => formatTimestamp(new Date(t));
    const lines: string[] = [];
    let columns: readonly string[] | undefined;
    for (const s of REMOVED) {
      if (s.columns !== columns) lines.push(`# netmon meters:\t${(columns = s.columns).join("\t")}`);
      lines.push([local(s.epoch), ...Array.from(s.counters, String)].join("\t"));
    }
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, lines.map((l) => `${l}\n`).join(""));
    const config = parseConfig(
      '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["stays", "gone"]\n' +
        mailSection(25, 'send = "daily"\n'),
      "netmon.toml",
    );
    const due = dueDigests(config, config.mail!, log, day(20), new Set(), new Date(day(20)));
    assertEquals(due.map((d) => d.key), ["daily\t2025-11-20"]);
    const text = due[0]!.message!.text;
    ok(text.includes("  gone: estimate 10.00 GiB\n"), text);
    ok(text.includes("  acme: estimate 40.00 GiB\n"), text);
  });
});

/** The coverage of the cycle rows, of the day rows of days 9 and 10, and the overview's, by name, from `list` at `now`. */
function coverages(list: Sample[], now: number) {
  const customers = [acme, split, goneOnly].map((columns) => ({ columns, billing: UTC }));
  const passes = billingPasses(UTC, customers);
  const of = (unit: "cycle" | "day", when: (r: Row) => boolean) => {
    const s = new Summarizer(passes, { unit });
    const rows = list.flatMap((x) => s.push(x));
    rows.push(...s.finish(now));
    return Object.fromEntries(rows.filter(when).map((r) => [r.name, r.coverage]));
  };
  const ov = new OverviewSummarizer(passes, now);
  for (const s of list) ov.push(s);
  return {
    cycle: of("cycle", () => true),
    day9: of("day", (r) => r.start === day(9)),
    day10: of("day", (r) => r.start === day(10)),
    overview: Object.fromEntries(ov.result()[0]!.lines.map((l) => [l.name, l.cycleCoverage])),
  };
}

Deno.test("coverage of a meter removed mid-cycle is of its time up to its last sample: nothing of it is missing after", () => {
  // gone's last sample is day 10's first instant, stays goes on to day 20 (now), every hour: nothing is missing. Up
  // to the log's last sample, gone read 10 of 20 days (and day 10, that it is in for no time, 0), and so did every
  // customer of it: as a meter added mid-cycle is measured from its first sample, a removed one is up to its last.
  const all = { stays: 1, gone: 1, acme: 1, split: 1, oldco: 1 };
  assertEquals(coverages(REMOVED, day(20)), { cycle: all, day9: all, day10: all, overview: all });
});

Deno.test("coverage: a gap in every column is not a removal, nor is the log stopping: both still show as missing", () => {
  // No sample from day 12 to day 15 (3 of 20 days); then the log stops on day 20 and now is day 25: days 20 to 25
  // are missing too, the cycle being in progress counted up to the last sample, the day the log stopped in whole.
  const gap = samples(day(20), () => true).filter((s) => s.epoch <= day(12) || s.epoch >= day(15));
  const c = coverages(gap, day(25));
  const cycle = 17 / 20;
  assertEquals(c.cycle, { stays: cycle, gone: cycle, acme: cycle, split: cycle, oldco: cycle });
  assertEquals(c.overview, c.cycle);
  const s = new Summarizer(billingPasses(UTC, []), { unit: "day" });
  const rows = gap.flatMap((x) => s.push(x));
  rows.push(...s.finish(day(25)));
  // The day of the last sample (its first instant) is over by now: nothing of it covered.
  assertEquals(rows.filter((r) => r.start === day(20)).map((r) => [r.name, r.coverage]), [["stays", 0], ["gone", 0]]);
});

Deno.test("a gap (no sample at all for days, the machine down) is not a removal: projected as before", () => {
  // No sample from day 12 to day 15; both meters are in the newest sample: 20 GiB each in 20 days, 30 each.
  const gap = samples(day(20), () => true).filter((s) => s.epoch <= day(12) || s.epoch >= day(15));
  const e = overviewEstimates(gap, day(20));
  assertEquals([e.gone, e.acme], [{ totalBytes: 30n * GiB }, { totalBytes: 60n * GiB }]);
  assertEquals(tallyProjection(gap), 60n * GiB);
});

Deno.test("a meter missing from some samples, or removed and added back, is in the newest sample: projected again", () => {
  // gone leaves the log on day 10 and is added back on day 15, its counter made afresh (0 then): 15 GiB so far, its
  // time counted from the cycle's start as any column's (the days it was away are a gap): 15 x 30/20 = 22.5 GiB.
  const back = samples(
    day(20),
    (t) => t <= day(10) || t >= day(15),
    (t) => t <= day(10) ? counter(t) : counter(t, day(15)),
  );
  const e = overviewEstimates(back, day(20));
  const want = 30n * GiB + 15n * GiB * 30n / 20n;
  assertEquals([e.gone, e.acme], [{ totalBytes: 15n * GiB * 30n / 20n }, { totalBytes: want }]);
  assertEquals(tallyProjection(back), want);
  // Removed again on day 18: done at what it counted, 10 GiB and 3.
  const again = samples(
    day(20),
    (t) => t <= day(10) || (t >= day(15) && t <= day(18)),
    (t) => t <= day(10) ? counter(t) : counter(t, day(15)),
  );
  const e2 = overviewEstimates(again, day(20));
  assertEquals([e2.gone, e2.acme], [{ totalBytes: 13n * GiB }, { totalBytes: 43n * GiB }]);
  assertEquals(tallyProjection(again), 43n * GiB);
});

Deno.test("cycleEstimate: a removed part adds its bytes; an estimate there is once any part has time counted", () => {
  const cycle = { start: 0, end: 30 * DAY };
  const stays = { bytes: 20n * GiB, from: 0 }, gone = { bytes: 10n * GiB, from: 0, removed: true };
  assertEquals(cycleEstimate([stays, gone], cycle, 20 * DAY, 20 * DAY), EXACT);
  assertEquals(cycleEstimate([gone], cycle, 20 * DAY, 20 * DAY), 10n * GiB);
  // A meter added on day 5 and removed on day 10, of a customer whose other meter is new at the last sample.
  const brief = { bytes: 5n * GiB, from: 5 * DAY, removed: true }, fresh = { bytes: 0n, from: 20 * DAY };
  assertEquals(cycleEstimate([brief, fresh], cycle, 20 * DAY, 20 * DAY), 5n * GiB);
  // No time of the cycle counted yet (its first sample is the last): no estimate, removed or not.
  assertEquals(cycleEstimate([{ ...gone, from: 20 * DAY }], cycle, 20 * DAY, 20 * DAY), undefined);
});

Deno.test("summary --to before the removal: as of then the meter was there, and is projected as it was", () => {
  // gone removed on day 18; the overview as of day 15 (--to, UTC): gone's 15 GiB carried on, not held at 15.
  const later = samples(day(20), (t) => t <= day(18));
  const customers = [acme].map((columns) => ({ columns, billing: UTC }));
  const ov = new OverviewSummarizer(billingPasses(UTC, customers), day(20), { to: day(15) });
  for (const s of later) ov.push(s);
  const e = Object.fromEntries(ov.result()[0]!.lines.map((l) => [l.name, l.estimate?.totalBytes ?? 0n]));
  // 15 GiB in the 15 days (less the last millisecond) before --to, carried to day 30: just over 30 GiB.
  ok(e.gone! >= 30n * GiB && e.gone! < 31n * GiB, `gone: ${e.gone}`);
  ok(e.acme! >= 60n * GiB && e.acme! < 61n * GiB, `acme: ${e.acme}`);
});

Deno.test("coverage of a meter removed at the cycle's first instant: the overview's is --by cycle's", () => {
  // g's last sample is 1 March 00:00 (cycle day 1, UTC), then it is removed; a goes on hourly to the 3rd.
  const list: Sample[] = [];
  for (let t = Date.UTC(2026, 1, 27), k = 0; t <= Date.UTC(2026, 2, 3); t += 3_600_000, k++) {
    const columns = t <= Date.UTC(2026, 2, 1) ? ["a", "g"] : ["a"];
    list.push({ epoch: t, columns, counters: columns.map(() => k * 1000) });
  }
  const billing = { cycleDay: 1, timeZone: "UTC" };
  const acme: CustomerColumns = { name: "acme", in: [], out: [], both: ["a", "g"] };
  const passes = billingPasses(billing, [{ columns: acme, billing }]);
  const now = Date.UTC(2026, 2, 3, 0, 30);
  const rows = new Summarizer(passes, { unit: "cycle" });
  const cycle: Row[] = [...list.flatMap((s) => rows.push(s)), ...rows.finish(now)];
  const byCycle = Object.fromEntries(
    cycle.filter((r) => r.start === Date.UTC(2026, 2, 1)).map((r) => [r.name, r.coverage]),
  );
  const ov = new OverviewSummarizer(passes, now);
  for (const s of list) ov.push(s);
  const overview = Object.fromEntries(ov.result().flatMap((p) => p.lines).map((l) => [l.name, l.cycleCoverage]));
  assertEquals({ g: overview.g, acme: overview.acme }, { g: byCycle.g, acme: byCycle.acme });
});
