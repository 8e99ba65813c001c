/**
 * The cycle tally kept sample by sample equals the usage engine's open cycle
 * for the same log: the quota check a report makes agrees with the summary.
 *
 * @module
 */

import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { calendar } from "../lib/usage/calendar.ts";
import { type BucketUsage, usageByBucket } from "../lib/usage/engine.ts";
import { ianaZone } from "../lib/usage/zone.ts";
import {
  advanceTally,
  counted,
  countedIn,
  customerClosed,
  customerCycle,
  type CustomerTally,
  cycleProjection,
  p95SoFar,
  type Tally,
  type TallyCustomer,
} from "../lib/usage/cycle_tally.ts";
import { parseConfig } from "../lib/config/config.ts";
import { type CustomerColumns, customerColumns, type CustomerSpec } from "../lib/config/customers.ts";
import { columnsAsConfigured } from "../lib/config/meters.ts";
import {
  customerCycleUsage,
  fingerprint,
  matchCustomers,
  reportColumns,
  reportPlan,
  tallyPlan,
} from "../lib/usage/cycle_customers.ts";
import { formatTally, readTally, writeTally } from "../lib/state/tally_file.ts";
import { rollUp } from "../lib/usage/customers.ts";
import { cycleEstimate, linearEstimate } from "../lib/usage/projection.ts";
import { FirstSeen } from "../lib/usage/first_seen.ts";
import { billingPasses, OverviewSummarizer } from "../lib/usage/summary.ts";
import { named } from "./helpers.ts";
import { seededRandom } from "./random.ts";
import { LATE, lateMeterCounters } from "./late_meter.ts";

const COLUMNS = ["acme-inbound", "acme-outbound", "globex", "box-v4", "late"];
const CUSTOMERS: CustomerColumns[] = [
  { name: "acme", in: ["acme-inbound"], out: ["acme-outbound"], both: [] },
  { name: "globex", in: [], out: [], both: ["globex", "late"] },
  { name: "all", in: ["acme-inbound", "box-v4"], out: ["acme-outbound"], both: ["globex"] },
];

interface LogSample {
  epoch: number;
  counters: Map<string, bigint>;
  resets?: string[];
}

/**
 * A random log across cycle starts in Berlin: resets, a recorded reset, gaps (none in its first day), a column
 * that comes late, 64-bit values.
 */
function randomLog(random: () => number): LogSample[] {
  const out: LogSample[] = [];
  let epoch = Date.UTC(2026, 9, 13, 20); // two days before a 15th, across the October DST change
  const counters = new Map(COLUMNS.filter((c) => c !== "late").map((c) => [c, c === "box-v4" ? (1n << 62n) : 0n]));
  for (let i = 0; i < 2500; i++) {
    // No gap in the first day: the checks there are before a day of the cycle is counted, whatever the seed.
    const gap = random() < 0.01 && i >= 300
      ? 86_400_000 * (1 + Math.floor(random() * 20))
      : 300_000 + Math.floor(random() * 30_000);
    epoch += gap;
    if (i === 900) counters.set("late", 0n);
    const s: LogSample = { epoch, counters: new Map() };
    for (const [c, v] of counters) {
      let next = v + BigInt(Math.floor(random() * 5e7));
      if (random() < 0.004) next = BigInt(Math.floor(random() * 1e6)); // the counter went down
      counters.set(c, next);
      s.counters.set(c, next);
    }
    if (random() < 0.004) s.resets = ["globex"]; // a reset the counter cannot show, recorded in the log
    out.push(s);
  }
  return out;
}

/** A customer's billable percentile in `bucket`, as `netmon summary` bills it (its own roll-up, not a copy of it). */
function billedP95(c: CustomerColumns, bucket: BucketUsage): number | undefined {
  return rollUp(bucket, [c])[0]?.p95;
}

Deno.test("the tally equals the engine's open cycle after every few samples, in and out, p95 and projection", () => {
  let closedChecked = 0;
  // Checks before a day of the cycle was counted (no estimate anywhere) and after (an estimate everywhere).
  let early = 0, projected = 0;
  const random = seededRandom("cycle tally vs engine");
  const log = randomLog(random);
  const cycles = calendar("cycle", ianaZone("Europe/Berlin"), 15);
  const setup: TallyCustomer[] = CUSTOMERS.map((columns) => ({ columns, billing: "15 Europe/Berlin" }));
  const plan = { billings: new Map([["15 Europe/Berlin", () => cycles]]), rates: setup };
  let tally: Tally | undefined;
  for (const [k, s] of log.entries()) {
    tally = advanceTally(tally, plan, s);
    // Every few samples, and more often in the cycle the log began in (counted from its first sample).
    if (k % 97 !== 0 && k !== log.length - 1 && !(k < 60 && k % 6 === 0)) continue;
    const samples = log.slice(0, k + 1).map((x) => {
      const columns = [...x.counters.keys()];
      return { epoch: x.epoch, columns, counters: columns.map((c) => x.counters.get(c) as bigint), resets: x.resets };
    });
    const buckets = [...usageByBucket(samples, cycles, { p95: true, now: s.epoch })];
    const open = buckets.at(-1)!;
    const usage = (cols: string[]) =>
      cols.reduce((a, c) => a + (open.columns.find((u) => u.name === c)?.usage ?? 0n), 0n);
    for (const [i, c] of CUSTOMERS.entries()) {
      const t: CustomerTally = customerCycle(tally, setup[i]!)!;
      assertEquals([t.start, t.end], [open.bucket.start, open.bucket.end], `${c.name} at sample ${k}`);
      assertEquals([t.in, t.out, t.both], [usage(c.in), usage(c.out), usage(c.both)], `${c.name} at sample ${k}`);
      assertEquals(counted(t, "total"), usage([...c.in, ...c.out, ...c.both]));
      // The alert's projection is the summary's estimate, also in the cycle the log began in (the first samples):
      // each column's usage counted from its first sample (globex gains late mid-log), summed.
      const seen = new FirstSeen();
      for (const x of samples) seen.note(x);
      const parts = [...c.in, ...c.out, ...c.both].map((col) => ({
        bytes: usage([col]),
        from: seen.of([col]),
        removed: seen.removed(col),
      }));
      const estimate = cycleEstimate(parts, open.bucket, s.epoch, s.epoch);
      assertEquals(cycleProjection(t, "total", s.epoch), estimate, `${c.name} at ${k}`);
      // Less than a day of the cycle counted (the log's first hours, a cycle's first hours): too early for any view.
      const counting = s.epoch - Math.max(open.bucket.start, Math.min(...parts.map((p) => p.from)));
      assertEquals(estimate === undefined, counting < 86_400_000, `${c.name} at ${k}: ${counting} ms counted`);
      if (estimate === undefined && counted(t, "total") > 0n) early++;
      if (estimate !== undefined) projected++;
      // The cycle before, as it closed (with its share of the interval across the boundary).
      const closed = customerClosed(tally, setup[i]!);
      if (buckets.length >= 2) {
        const prev = buckets.at(-2)!;
        const used = (cols: string[]) =>
          cols.reduce((a, col) => a + (prev.columns.find((u) => u.name === col)?.usage ?? 0n), 0n);
        assertEquals([closed?.start, closed?.end], [prev.bucket.start, prev.bucket.end], `${c.name} closed at ${k}`);
        assertEquals([closed?.in, closed?.out, closed?.both], [used(c.in), used(c.out), used(c.both)]);
      } else assertEquals(closed, undefined);
      const want = billedP95(c, open);
      const got = p95SoFar(t, c);
      assertEquals(got, want, `${c.name} p95 ${got} vs ${want} at ${k}`);
      // The cycle before's, as it closed: a commit its last interval passed is still alerted.
      if (buckets.length >= 2 && closed) {
        const wantClosed = billedP95(c, buckets.at(-2)!);
        const gotClosed = p95SoFar(closed, c);
        assertEquals(gotClosed, wantClosed, `${c.name} closed p95 ${gotClosed} vs ${wantClosed} at ${k}`);
        if (wantClosed !== undefined) closedChecked++;
      }
    }
  }
  ok(tally && tally.intervals.length === 12);
  ok(closedChecked > 10, `closed cycles' percentiles compared: ${closedChecked}`);
  ok(early > 10 && projected > 10, `too early: ${early}, projected: ${projected}`);
});

Deno.test("no projection before a day of the cycle is counted: a burst in its first minutes projects nothing", () => {
  const DAY = 86_400_000, MiB = 1n << 20n;
  // 2.37 MiB in the first two minutes of a 30-day cycle: carried on, 50 GiB; too early to say.
  const t = { start: 0, end: 30 * DAY, in: 0n, out: 0n, both: 237n * MiB / 100n, resets: 0 };
  assertEquals(cycleEstimate([{ bytes: t.both, from: 0 }], t, 120_000, 120_000), undefined);
  assertEquals(cycleProjection(t, "total", 120_000), undefined, "the alert's projection: too early, no alert on it");
  // A new meter's first minutes, mid-cycle: the same.
  assertEquals(
    cycleEstimate([{ bytes: t.both, from: 20 * DAY }], t, 20 * DAY + 120_000, 20 * DAY + 120_000),
    undefined,
  );
  // A day counted: carried to the cycle's end.
  assertEquals(cycleProjection(t, "total", DAY), t.both * 30n);
  // A customer counted for days that gains a meter two minutes ago: the new one adds what it counted, not its burst.
  const old = { bytes: 10n * MiB, from: 0 }, burst = { bytes: t.both, from: 10 * DAY - 120_000 };
  assertEquals(cycleEstimate([old, burst], t, 10 * DAY, 10 * DAY), 30n * MiB + t.both);
});

Deno.test("a commit's p95 so far of a customer mixing split and unsplit columns is its larger direction, the unsplit one in each", () => {
  // 1000 B/s in, 100 B/s out, 10 B/s both ways in one column: in 8080 bit/s, out 880, billed 8080 (not 8880).
  const c: CustomerColumns = { name: "acme", in: ["acme-inbound"], out: ["acme-outbound"], both: ["web"] };
  const cycles = calendar("cycle", ianaZone("UTC"), 1);
  const customer: TallyCustomer = { columns: c, billing: "1 UTC" };
  const plan = { billings: new Map([["1 UTC", () => cycles]]), rates: [customer] };
  let tally: Tally | undefined;
  for (let s = 0; s <= 86_400; s += 300) {
    const counters = new Map([["acme-inbound", 1000n], ["acme-outbound", 100n], ["web", 10n]].map(([k, r]) => [
      k as string,
      (r as bigint) * BigInt(s),
    ]));
    tally = advanceTally(tally, plan, { epoch: Date.UTC(2026, 10, 1) + s * 1000, counters });
  }
  assertEquals(p95SoFar(customerCycle(tally!, customer)!, c), 8080);
});

Deno.test("a projection carries the rate so far to the cycle's end, as the summary's estimate; nothing elapsed projects what there is", () => {
  const t = { start: 0, end: 30 * 86_400_000, in: 0n, out: 0n, both: 100n };
  assertEquals(cycleProjection(t, "total", 3 * 86_400_000), 1000n);
  assertEquals(cycleProjection(t, "total", 0), undefined); // nothing counted yet: too early
  assertEquals(cycleProjection({ ...t, since: 10 * 86_400_000 }, "total", 20 * 86_400_000), 200n);
  // Parts counted from different instants (a meter gained on day 10): each carried over its own time, summed.
  const parts = [{ since: 0, in: 0n, out: 0n, both: 100n }, { since: 10 * 86_400_000, in: 0n, out: 0n, both: 50n }];
  assertEquals(cycleProjection({ ...t, both: 150n, parts }, "total", 20 * 86_400_000), 150n + 100n);
  // The summary's estimate, for a log that began on day 10: 100 bytes in 10 days, 10 days to go.
  assertEquals(linearEstimate(100n, t, 10 * 86_400_000, 20 * 86_400_000, 20 * 86_400_000), 200n);
  assertEquals(linearEstimate(100n, t, 0, 3 * 86_400_000, 5 * 86_400_000), 1000n);
});

Deno.test("a customer whose meter was added on day 20 is projected from its first sample: 10 GiB in 5 days, 20 GiB", () => {
  const GiB = 1n << 30n;
  const november = calendar("cycle", ianaZone("UTC"), 1);
  const newco: TallyCustomer = { columns: { name: "newco", in: [], out: [], both: ["late"] }, billing: "1 UTC" };
  const mixed: TallyCustomer = { columns: { name: "mixed", in: ["base"], out: ["late"], both: [] }, billing: "1 UTC" };
  const plan = { billings: new Map([["1 UTC", () => november]]), rates: [] };
  // Hourly from 1 November (a 30-day cycle); late is in the log from day 20 (the 21st), 10 GiB in the 5 days after.
  const { now } = LATE;
  let tally: Tally | undefined;
  for (const s of lateMeterCounters()) tally = advanceTally(tally, plan, s);
  const t = customerCycle(tally!, newco)!;
  assertEquals(counted(t, "total"), 10n * GiB);
  const projected = cycleProjection(t, "total", now);
  assertEquals(projected, 20n * GiB, `${projected} bytes (12 GiB would be 10 GiB x 30/25, the log's time)`);
  // A customer that gains late (base there since the log began): each column from its own first sample, summed:
  // base's 25 days carried to 30, late's 5 days to 10 (not all of it over 25 days: 12 GiB, under its course).
  const m = customerCycle(tally!, mixed)!;
  assertEquals(cycleProjection(m, "total", now), 30n * 86_400n + 20n * GiB);
  assertEquals(cycleProjection(m, "in", now), 30n * 86_400n);
  assertEquals(cycleProjection(m, "out", now), 20n * GiB);
  // The same after the tally file (which notes when late appeared) is written and read back, as each report does.
  const dir = Deno.makeTempDirSync({ prefix: "netmon-tally-added-" });
  try {
    writeTally(`${dir}/netmon.cycles`, tally!, "plan", "stamp");
    const read = readTally(`${dir}/netmon.cycles`)!.tally;
    assertEquals(read, tally);
    assertEquals(cycleProjection(customerCycle(read, newco)!, "total", now), 20n * GiB);
    assertEquals(cycleProjection(customerCycle(read, mixed)!, "total", now), 30n * 86_400n + 20n * GiB);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  // In the next cycle every column is there from its start.
  const next = advanceTally(tally, plan, { epoch: Date.UTC(2025, 11, 11), counters: new Map([["late", 20n * GiB]]) });
  const d = customerCycle(next, newco)!;
  assertEquals([d.start, cycleProjection(d, "total", Date.UTC(2025, 11, 11))], [
    Date.UTC(2025, 11, 1),
    counted(d, "total") * 31n / 10n,
  ]);
});

Deno.test("the tally written to its file and read back each run advances exactly as the one kept in memory", async () => {
  const random = seededRandom("cycle tally file round trip");
  const log = randomLog(random);
  const berlin = calendar("cycle", ianaZone("Europe/Berlin"), 15);
  const utc = calendar("cycle", ianaZone("UTC"), 1);
  const rates: TallyCustomer[] = [{ columns: CUSTOMERS[0]!, billing: "berlin" }, {
    columns: CUSTOMERS[2]!,
    billing: "utc",
  }];
  const plan = { billings: new Map([["berlin", () => berlin], ["utc", () => utc]]), rates };
  const dir = await Deno.makeTempDir({ prefix: "netmon-tally-" });
  try {
    const path = `${dir}/netmon.cycles`;
    let kept: Tally | undefined;
    for (const [k, s] of log.entries()) {
      kept = advanceTally(kept, plan, s);
      const read = k === 0 ? undefined : readTally(path);
      if (k > 0) assertEquals(read?.stamp, `stamp ${k - 1}`, `sample ${k}`);
      writeTally(path, advanceTally(read?.tally, plan, s), "plan A", `stamp ${k}`);
    }
    assertEquals(readTally(path)?.tally, kept);
    ok((kept?.closed.size ?? 0) === 2 && (kept?.rates.size ?? 0) === 2, "both billings closed a cycle, rates kept");
    assertEquals(formatTally(readTally(path)!.tally, "plan A", "x"), formatTally(kept!, "plan A", "x"));
    // Made for another plan, by a version before (4: its rates may count intervals before a customer's columns
    // appeared; 5: its rates are four numbers an interval; 6: it does not note when a column appeared in the
    // cycle, for the projection; 7: it does not tell columns that left the log, removed meters, from the others; 8:
    // it does not note when they left), or damaged: not believed (the caller rebuilds it from the log).
    assertEquals(readTally(path)?.fingerprint, "plan A", "a report for plan B compares it and rebuilds");
    const text = Deno.readTextFileSync(path);
    ok(text.startsWith('{"version":9,'), text.slice(0, 20));
    for (const old of [4, 5, 6, 7, 8]) {
      Deno.writeTextFileSync(path, text.replace('{"version":9,', `{"version":${old},`));
      assertEquals(readTally(path), undefined, `version ${old}`);
    }
    Deno.writeTextFileSync(path, text);
    assertEquals(readTally(path)?.tally, kept);
    Deno.writeTextFileSync(path, Deno.readTextFileSync(path).slice(0, 100));
    assertEquals(readTally(path), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("customers' cycles are sums of column counts: a customer added later needs no rebuild, a billing does", () => {
  const random = seededRandom("cycle tally customers");
  const log = randomLog(random);
  const spec = (name: string, meters: string[], quota?: bigint, timeZone = "Europe/Berlin"): CustomerSpec => ({
    name,
    meters,
    billing: { cycleDay: 15, timeZone },
    ...(quota ? { quota: { bytes: quota, count: "total" as const, alertAt: [80, 100], alertProjected: false } } : {}),
  });
  const columns = named(COLUMNS);
  const first = [spec("acme", ["acme"], 1n << 40n), spec("all", ["*"])];
  const later = [...first, spec("globex", ["globex", "late"], 1n << 30n)];
  const plan = (specs: CustomerSpec[]) => tallyPlan(specs, matchCustomers(specs, columns, "test"));
  assertEquals(fingerprint(plan(first)), fingerprint(plan(later)));
  ok(fingerprint(plan(first)) !== fingerprint(plan([...first, spec("box", ["box-v4"], undefined, "UTC")])));
  let tally: Tally | undefined;
  for (const s of log) tally = advanceTally(tally, plan(first), s);
  const usage = customerCycleUsage(tally!, matchCustomers(later, columns, "test"));
  // What the engine gives each of them for the open cycle, the customer added later included.
  const samples = log.map((x) => {
    const cols = [...x.counters.keys()];
    return { epoch: x.epoch, columns: cols, counters: cols.map((c) => x.counters.get(c) as bigint), resets: x.resets };
  });
  const cycles = calendar("cycle", ianaZone("Europe/Berlin"), 15);
  const open = [...usageByBucket(samples, cycles, { now: log.at(-1)!.epoch })].at(-1)!;
  const sum = (cols: string[]) => cols.reduce((a, c) => a + (open.columns.find((u) => u.name === c)?.usage ?? 0n), 0n);
  assertEquals(
    usage.map((u) => [u.name, u.cycle.start, u.used, u.quota]),
    [
      ["acme", open.bucket.start, sum(["acme-inbound", "acme-outbound"]), 1n << 40n],
      ["all", open.bucket.start, sum(COLUMNS), undefined],
      ["globex", open.bucket.start, sum(["globex", "late"]), 1n << 30n],
    ],
  );
});

/** Meters added to the config mid-cycle, at different times, and one that leaves and comes back. */
const LATE_COLUMNS = ["base", "beta-in", "beta-out", "gamma", "gamma-v6"];
const LATE_CUSTOMERS: CustomerColumns[] = [
  { name: "beta", in: ["beta-in"], out: ["beta-out"], both: [] },
  { name: "gamma", in: [], out: [], both: ["gamma", "gamma-v6"] },
  { name: "mixed", in: ["base", "beta-in"], out: ["beta-out"], both: [] },
  { name: "late-both", in: ["beta-in"], out: [], both: ["gamma-v6"] },
];
const HOUR = 3_600_000;

/**
 * A log of 3-hourly samples from three days before a cycle's start (the 15th, Berlin) for about 40 days, where only
 * `base` is there at first: beta's inbound column appears some days into the cycle, its outbound later, gamma's two
 * columns later still, and gamma leaves for a while and comes back. Traffic bursts now and then, counters go down
 * now and then, a column may appear with a reset line (created within the interval).
 */
function lateLog(random: () => number): { log: LogSample[]; from: Map<string, number> } {
  const log: LogSample[] = [];
  let epoch = Date.UTC(2026, 9, 12, 1, 0, 0);
  const cycleStart = Date.UTC(2026, 9, 14, 22); // the 15th, 00:00 in Berlin (CEST)
  const at = (days: number) => cycleStart + Math.floor(days * 24 * HOUR);
  const betaIn = at(3 + random() * 5);
  const betaOut = betaIn + Math.floor((1 + random() * 4) * 24 * HOUR);
  const gamma = betaOut + Math.floor((1 + random() * 3) * 24 * HOUR);
  const gammaV6 = gamma + Math.floor((0.5 + random() * 2) * 24 * HOUR);
  const gone = gammaV6 + Math.floor((1 + random() * 3) * 24 * HOUR);
  const back = gone + Math.floor((0.5 + random() * 2) * 24 * HOUR);
  const from = new Map([["base", epoch], ["beta-in", betaIn], ["beta-out", betaOut], ["gamma", gamma], [
    "gamma-v6",
    gammaV6,
  ]]);
  const counters = new Map<string, bigint>();
  for (let i = 0; i < 330; i++) {
    epoch += 3 * HOUR + Math.floor(random() * 600_000) - 300_000;
    const s: LogSample = { epoch, counters: new Map() };
    for (const c of LATE_COLUMNS) {
      if (epoch < (from.get(c) as number) || (c === "gamma" && epoch >= gone && epoch < back)) continue;
      const burst = random() < 0.06 ? 40 : 1;
      let v = counters.has(c) ? (counters.get(c) as bigint) + BigInt(Math.floor(random() * 2e8 * burst)) : 0n;
      if (!counters.has(c) && random() < 0.3) {
        v = BigInt(Math.floor(random() * 1e8)); // created within the interval: the log says so
        (s.resets ??= []).push(c);
      }
      if (random() < 0.01) v = BigInt(Math.floor(random() * 1e6)); // the counter went down
      counters.set(c, v);
      s.counters.set(c, v);
    }
    log.push(s);
  }
  return { log, from };
}

Deno.test("meters added mid-cycle (at different times), one leaving and coming back: the tally's p95 and projection are the summary's, exactly (50 logs)", async () => {
  const random = seededRandom("cycle tally late meters");
  const cycles = calendar("cycle", ianaZone("Europe/Berlin"), 15);
  const setup: TallyCustomer[] = LATE_CUSTOMERS.map((columns) => ({ columns, billing: "15 Europe/Berlin" }));
  const plan = { billings: new Map([["15 Europe/Berlin", () => cycles]]), rates: setup };
  const dir = await Deno.makeTempDir({ prefix: "netmon-tally-late-" });
  let diluted = 0, closedChecked = 0, projectedLate = 0, gained = 0, removed = 0;
  const berlin = { cycleDay: 15, timeZone: "Europe/Berlin" };
  const overviewPasses = billingPasses(berlin, LATE_CUSTOMERS.map((columns) => ({ columns, billing: berlin })));
  try {
    for (let run = 0; run < 50; run++) {
      const { log, from } = lateLog(random);
      let tally: Tally | undefined;
      const path = `${dir}/netmon.cycles.${run}`;
      for (const [k, s] of log.entries()) {
        tally = advanceTally(tally, plan, s) as Tally;
        // A few runs also go through the file every sample, as reports do.
        if (run < 3) {
          const read = k === 0 ? undefined : readTally(path);
          writeTally(path, advanceTally(read?.tally, plan, s), "late", `stamp ${k}`);
        }
        if (k % 5 !== 0 && k !== log.length - 1) continue;
        const samples = log.slice(0, k + 1).map((x) => {
          const columns = [...x.counters.keys()];
          return {
            epoch: x.epoch,
            columns,
            counters: columns.map((c) => x.counters.get(c) as bigint),
            resets: x.resets,
          };
        });
        const buckets = [...usageByBucket(samples, cycles, { p95: true, now: s.epoch })];
        const open = buckets.at(-1)!;
        const summary = rollUp(open, LATE_CUSTOMERS);
        const ov = new OverviewSummarizer(overviewPasses, s.epoch);
        for (const x of samples) ov.push(x);
        const overview = ov.result()[0]!.lines;
        const closedSummary = buckets.length >= 2 ? rollUp(buckets.at(-2)!, LATE_CUSTOMERS) : undefined;
        for (const [i, c] of LATE_CUSTOMERS.entries()) {
          const where = `${c.name}, log ${run}, sample ${k}`;
          const t: CustomerTally = customerCycle(tally!, setup[i]!)!;
          const want = summary[i]!;
          assertEquals(t.start, open.bucket.start, where);
          assertEquals(
            [t.in + t.out + t.both, c.in.length + c.out.length > 0 ? [t.in, t.out] : undefined],
            [want.totalBytes, want.inBytes === undefined ? undefined : [want.inBytes, want.outBytes]],
            `bytes of ${where}`,
          );
          const got = p95SoFar(t, c);
          assertEquals(got, want.p95, `p95 so far of ${where}: tally ${got}, summary ${want.p95}`);
          // The quota alert's projection is the overview's estimate: each column from its own first sample, summed.
          // (A cycle without a sample of the customer's columns has no figure in the overview, 0 in the tally.)
          const line = overview.find((l) => l.kind === "customer" && l.name === c.name)!;
          assertEquals(line.cycle?.totalBytes ?? 0n, want.totalBytes, `overview's cycle of ${where}`);
          // Too early (less than a day counted): no projection in either.
          const projection = cycleProjection(t, "total", s.epoch);
          assertEquals(projection, line.estimate?.totalBytes, `projection of ${where}`);
          const projected = projection ?? 0n;
          if (t.parts !== undefined && projected > 0n) gained++;
          // gamma away from the log (its meter removed, for now): counted at what it counted, as the summary does.
          if (t.parts?.some((p) => p.removed) && projected > 0n) removed++;
          // Intervals of the cycle before the customer's first column appeared: the case the summary leaves out.
          const first = Math.min(...[...c.in, ...c.out, ...c.both].map((col) => from.get(col) as number));
          if (want.p95 !== undefined && first > open.bucket.start && first > log[0]!.epoch) diluted++;
          if (first > open.bucket.start && first > log[0]!.epoch && projected > 0n) projectedLate++;
          const closed = customerClosed(tally!, setup[i]!);
          if (closedSummary && closed) {
            const gotClosed = p95SoFar(closed, c), wantClosed = closedSummary[i]!.p95;
            assertEquals(
              gotClosed,
              wantClosed,
              `closed cycle's p95 of ${where}: tally ${gotClosed}, summary ${wantClosed}`,
            );
            closedChecked++;
          }
        }
      }
      if (run < 3) assertEquals(readTally(path)?.tally, tally, `log ${run} through the file`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  ok(diluted > 1000, `checks of a customer whose columns came after its cycle's start: ${diluted}`);
  ok(projectedLate > 1000, `projections of a customer whose columns came after its cycle's start: ${projectedLate}`);
  ok(
    gained > 1000,
    `projections of a customer that gained a column mid-cycle (parts from different instants): ${gained}`,
  );
  ok(closedChecked > 100, `closed cycles' percentiles compared: ${closedChecked}`);
  ok(removed > 100, `projections of a customer with a column away from the log's newest sample: ${removed}`);
});

/**
 * A config with meter acme, split by direction or not, a meter acme-v6 of its own, a meter up counting out only (one
 * column, not split), and customers of them.
 */
function acmeConfig(split: boolean) {
  return parseConfig(
    `source = "nftables"\n[billing]\ntimezone = "UTC"\n[[meter]]\nname = "acme"\naddress = "192.0.2.0/28"\n` +
      (split ? 'split = "direction"\n' : "") +
      '[[meter]]\nname = "acme-v6"\naddress = "2001:db8:1::/48"\n' +
      '[[meter]]\nname = "up"\naddress = "198.51.100.0/28"\ndirection = "out"\n' +
      '[[customer]]\nname = "acme"\nquota = "1 TiB"\ncommit = "1 Gbit/s"\n' +
      '[[customer]]\nname = "all"\nmeters = ["*"]\nquota = "1 TiB"\n' +
      '[[customer]]\nname = "uplink"\nmeters = ["up"]\nquota = "1 TiB"\ncount = "in"\n' +
      '[[customer]]\nname = "mix"\nmeters = ["acme", "up"]\ncommit = "1 Gbit/s"\n',
    "netmon.toml",
  );
}

Deno.test("a meter split by direction mid-cycle, or unsplit: the report's tally and the summary count all its columns, no other meter's", () => {
  const random = seededRandom("cycle tally split meter");
  const cycles = calendar("cycle", ianaZone("UTC"), 1);
  for (const splitFirst of [false, true]) {
    const before = acmeConfig(splitFirst), after = acmeConfig(!splitFirst);
    // Hourly from 9 March 12:00 UTC; the config changes on the 10th at 12:00, well within March's cycle.
    const start = Date.UTC(2025, 2, 9, 12), change = Date.UTC(2025, 2, 10, 12);
    const log: LogSample[] = [];
    const counters = new Map<string, bigint>();
    for (let t = start; t <= start + 48 * HOUR; t += HOUR) {
      const config = t < change ? before : after;
      const s: LogSample = { epoch: t, counters: new Map() };
      for (const c of reportColumns(config.meters, () => [])) {
        const v = (counters.get(c.name) ?? 0n) + BigInt(Math.floor(random() * 1e9));
        counters.set(c.name, v);
        s.counters.set(c.name, v);
      }
      log.push(s);
    }
    // Each report: the config of its time, matched with the tally's columns; a new plan rebuilds it from the log.
    let tally: Tally | undefined, print: string | undefined, rebuilt = 0;
    for (const [k, s] of log.entries()) {
      const config = s.epoch < change ? before : after;
      const at = reportPlan(config.customers, reportColumns(config.meters, () => []), "netmon.toml", tally);
      if (tally && at.print !== print) {
        rebuilt++;
        tally = undefined;
        for (const x of log.slice(0, k)) tally = advanceTally(tally, at.plan, x);
      }
      tally = advanceTally(tally, at.plan, s);
      print = at.print;
    }
    assertEquals(rebuilt, 1, "the commit customer's columns changed once: at the split");
    const where = `${splitFirst ? "unsplit" : "split"} mid-cycle`;
    const columns = reportColumns(after.meters, () => []);
    const usage = customerCycleUsage(
      tally!,
      matchCustomers(after.customers, columns, "netmon.toml", tally!.counters.keys()),
    );
    // The summary: the log's columns as the config knows them.
    const samples = log.map((x) => {
      const names = [...x.counters.keys()];
      return { epoch: x.epoch, columns: names, counters: names.map((c) => x.counters.get(c) as bigint) };
    });
    const open = [...usageByBucket(samples, cycles, { p95: true, now: log.at(-1)!.epoch })].at(-1)!;
    const names = [...new Set(samples.flatMap((x) => x.columns))];
    const matched = customerColumns(after.customers, columnsAsConfigured(names, after.meters));
    const summary = rollUp(open, matched);
    const sum = (cols: string[]) =>
      cols.reduce((a, c) => a + (open.columns.find((u) => u.name === c)?.usage ?? 0n), 0n);
    const acme = sum(["acme", "acme-inbound", "acme-outbound"]);
    const up = sum(["up"]);
    ok(sum(["acme"]) > 0n && sum(["acme-inbound"]) > 0n && sum(["acme-v6"]) > 0n && up > 0n, where);
    const all = acme + sum(["acme-v6"]) + up;
    // uplink's quota counts in: up counts out only, so nothing.
    const want = [["acme", acme], ["all", all], ["uplink", 0n], ["mix", acme + up]];
    assertEquals(usage.map((u) => [u.name, u.used]), want, `${where}: ${usage.map((u) => `${u.name} ${u.used}`)}`);
    assertEquals(summary.map((u) => [u.name, u.name === "uplink" ? u.inBytes : u.totalBytes]), want);
    // Each customer's columns, bytes in and out and (with a commit) 95th percentile so far are the summary's, over the
    // intervals before the split and after.
    const watched = matchCustomers(after.customers, columns, "netmon.toml", tally!.counters.keys());
    const sorted = (c: CustomerColumns) => [c.in, c.out, c.both].map((cols) => [...cols].sort());
    for (const [i, w] of watched.entries()) {
      const who = `${w.spec.name}, ${where}`;
      assertEquals(sorted(w.columns), sorted(matched[i]!), who);
      const t = customerCycle(tally!, w)!, s = summary[i]!;
      const directed = w.columns.in.length + w.columns.out.length > 0;
      assertEquals(
        [t.in + t.out + t.both, directed ? [t.in, t.out] : undefined],
        [s.totalBytes, s.inBytes === undefined ? undefined : [s.inBytes, s.outBytes]],
        who,
      );
      if (w.spec.commit) assertEquals(p95SoFar(t, w.columns), s.p95, who);
    }
  }
});

Deno.test("a quota counting in (or out) counts a column with no direction too: never below the traffic", () => {
  // A customer of one unsplit column (a meter counting both ways) with count = "in" counted nothing at all, so its
  // quota was never reached; one mixing split and unsplit columns left the unsplit one out.
  const cycle = {
    start: 0,
    end: 1,
    bytes: new Map([["box", 5_000_000n], ["web:in", 700n], ["web:out", 300n]]),
    resets: new Map(),
  };
  const unsplit: CustomerColumns = { name: "box", in: [], out: [], both: ["box"] };
  const mixed: CustomerColumns = { name: "mixed", in: ["web:in"], out: ["web:out"], both: ["box"] };
  assertEquals(["in", "out", "total"].map((c) => countedIn(cycle, unsplit, c as "in")), [
    5_000_000n,
    5_000_000n,
    5_000_000n,
  ]);
  assertEquals(["in", "out", "total"].map((c) => countedIn(cycle, mixed, c as "in")), [
    5_000_700n,
    5_000_300n,
    5_001_000n,
  ]);
  const t = { start: 0, end: 1, in: 700n, out: 300n, both: 5_000_000n };
  assertEquals(["in", "out", "total"].map((c) => counted(t, c as "in")), [5_000_700n, 5_000_300n, 5_001_000n]);
});

Deno.test("a report's customer that matches no column is numbered as the config numbers it, not among those with a quota", () => {
  // The interface source: the columns are known only from the sample, so the match is checked at report time.
  // The second customer of the config is the first with a quota.
  const config = parseConfig(
    'source = "interface"\ninterfaces = ["eth0"]\n[[customer]]\nname = "seen"\nmeters = ["eth0"]\n' +
      '[[customer]]\nname = "acme"\nmeters = ["eth9"]\nquota = "1 MiB"\n',
    "netmon.toml",
  );
  const columns = reportColumns(config.meters, () => ["eth0:rx", "eth0:tx"]);
  let message = "";
  try {
    reportPlan(config.customers, columns, "netmon.toml", undefined);
  } catch (e) {
    message = (e as Error).message;
  }
  assertEquals(
    message,
    'netmon.toml: customer[2].meters[1]: "eth9" matches no meter or column (columns: eth0:rx, eth0:tx)',
  );
});

Deno.test("a column back in the log counts its time away over its own interval, in this cycle and the one before, as the summary", () => {
  // r leaves after 23:00 on 31 October and is back at 02:00: 10,800 B over those 3 h, 1 h of them in October.
  const H = 3_600_000, start = Date.UTC(2026, 9, 31, 22);
  const log: LogSample[] = [[0, 0], [3600, 3600], [7200], [10800], [14400, 14400], [18000, 18000]].map((v, k) => ({
    epoch: start + k * H,
    counters: new Map(v.map((x, j) => [["a", "r"][j] as string, BigInt(x)])),
  }));
  const cycles = calendar("cycle", ianaZone("UTC"), 1);
  const ac: TallyCustomer = { columns: { name: "ac", in: [], out: [], both: ["a", "r"] }, billing: "1 UTC" };
  const plan = { billings: new Map([["1 UTC", () => cycles]]), rates: [ac] };
  let tally: Tally | undefined;
  let read: Tally | undefined;
  const dir = Deno.makeTempDirSync({ prefix: "netmon-tally-back-" });
  try {
    for (const s of log) {
      tally = advanceTally(tally, plan, s);
      // Through the file, as reports keep it: r's last sample is kept while it is away.
      writeTally(`${dir}/netmon.cycles`, advanceTally(read, plan, s), "plan", "stamp");
      read = readTally(`${dir}/netmon.cycles`)?.tally;
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  assertEquals(read, tally);
  const now = customerCycle(tally!, ac)!, before = customerClosed(tally!, ac)!;
  assertEquals([now.both, p95SoFar(now, ac.columns), before.both, p95SoFar(before, ac.columns)], [
    21600n,
    16,
    14400n,
    16,
  ]);
  assertEquals([tally!.cycles.get("1 UTC")?.bytes.get("r"), tally!.closed.get("1 UTC")?.bytes.get("r")], [
    10800n,
    7200n,
  ]);
  // The summary's, exactly.
  const samples = log.map((x) => ({
    epoch: x.epoch,
    columns: [...x.counters.keys()],
    counters: [...x.counters.values()],
  }));
  const [october, november] = [...usageByBucket(samples, cycles, { p95: true })];
  assertEquals(rollUp(november!, [ac.columns])[0]?.totalBytes, now.both);
  assertEquals(rollUp(november!, [ac.columns])[0]?.p95, p95SoFar(now, ac.columns));
  assertEquals(rollUp(october!, [ac.columns])[0]?.totalBytes, before.both);
  assertEquals(rollUp(october!, [ac.columns])[0]?.p95, p95SoFar(before, ac.columns));
});
