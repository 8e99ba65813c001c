/**
 * The usage engine: hand-worked cases for each rule, and a differential test
 * against graph.ts (run as the real CLI) on seeded random logs with resets,
 * gaps, meters changing midway, 64-bit counters and daylight-saving changes.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { type Bucket, calendar, type Unit } from "../lib/usage/calendar.ts";
import { type BucketUsage, type ReturnsHint, type Sample, usageByBucket, UsageEngine } from "../lib/usage/engine.ts";
import { LogReader, returningOf, returnsOf, samplesOf } from "../lib/usage/log_samples.ts";
import { ianaZone, type Zone } from "../lib/usage/zone.ts";
import { graph, withTempDir } from "./helpers.ts";
import { seededRandom } from "./random.ts";
import { AWAY_THREE_HOURS } from "./late_meter.ts";

const utc = ianaZone("UTC");
const H = 3_600_000;

/** Samples of log `lines` read in `zone`; fails on any malformed line. */
function samples(lines: string[], zone: Zone = utc): Sample[] {
  return [...samplesOf(lines.map((l, i) => [l, i + 1] as [string, number]), "test.log", (where, why) => {
    throw new Error(`${where}: ${why}`);
  }, zone)];
}

/** Usage per bucket label and column, as strings, for golden comparisons. */
function table(buckets: Iterable<BucketUsage>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const b of buckets) {
    out[b.bucket.label] = Object.fromEntries(b.columns.map((c) => [c.name, String(c.usage)]));
  }
  return out;
}

const ORIGINAL_LOG = [
  "2010/02/25-22:00:00\t0\t0",
  "2010/02/25-23:00:00\t1048576\t2097152",
  "2010/02/26-01:00:00\t3145728\t2097152",
  "2010/02/26-12:00:00\t524288\t4194304",
  "2010/02/28-12:00:00\t524288\t7340032",
];

Deno.test("the original log by day: midnight shared by time, one meter's reset, a gap spread, every day a row", () => {
  const days = [...usageByBucket(samples(ORIGINAL_LOG), calendar("day", utc))];
  // The same figures graph_test.ts works out by hand for graph.ts, in bytes.
  assertEquals(table(days), {
    "2010-02-25": { proxy: "2097152", "non-network": "2097152" },
    "2010-02-26": { proxy: "1572864", "non-network": "2883584" },
    "2010-02-27": { proxy: "0", "non-network": "1572864" },
    "2010-02-28": { proxy: "0", "non-network": "786432" },
  });
  assertEquals(days.map((d) => d.columns.map((c) => c.resets)), [[0, 0], [1, 0], [0, 0], [0, 0]]);
});

Deno.test("a reset line forces a reset whatever the value; a counter that went down resets its column alone", () => {
  const log = [
    "# netmon meters:\ta\tb",
    "2026/01/01-00:00:00\t100\t100",
    "2026/01/01-00:05:00\t150\t160",
    "# netmon reset:\ta\tinterface re-created",
    "2026/01/01-00:10:00\t900\t170", // a went up, but was re-created: its usage is 900
    "2026/01/01-00:15:00\t950\t5", // b went down: its usage is 5
  ];
  const [day] = [...usageByBucket(samples(log), calendar("day", utc))];
  assertEquals(day?.columns.map((c) => [c.name, c.usage, c.resets]), [["a", 50n + 900n + 50n, 1], [
    "b",
    60n + 10n + 5n,
    1,
  ]]);
});

Deno.test("the first sample is the starting point; a column appearing later starts from its first value, one leaving stops", () => {
  const log = [
    "# netmon meters:\ta",
    "2026/01/01-23:00:00\t5000",
    "2026/01/02-01:00:00\t7000",
    "# netmon meters:\ta\tb",
    "2026/01/02-02:00:00\t8000\t123456",
    "2026/01/02-03:00:00\t9000\t123556",
    "# netmon meters:\tb",
    "2026/01/03-03:00:00\t124556",
  ];
  const days = [...usageByBucket(samples(log), calendar("day", utc))];
  assertEquals(table(days), {
    "2026-01-01": { a: "1000" },
    // b: 100 in the hour it appeared, then 1000 over 24 hours, 21 of them on the 2nd.
    "2026-01-02": { a: "3000", b: "975" },
    "2026-01-03": { b: "125" },
  });
});

Deno.test("a column that leaves and comes back: its growth is over its own interval, from its last sample, shared by time", () => {
  const log = [...AWAY_THREE_HOURS];
  // r: 10,800 B from 23:00 to 02:00, 1 B/s, 1 h of it in October; 3 h is not more than three usual intervals.
  const hours = [...usageByBucket(samples(log), calendar("hour", utc))];
  assertEquals(table(hours), {
    "2026-10-31 22:00": { a: "3600", r: "3600" },
    "2026-10-31 23:00": { a: "3600", r: "3600" },
    "2026-11-01 00:00": { a: "3600", r: "3600" },
    "2026-11-01 01:00": { a: "3600", r: "3600" },
    "2026-11-01 02:00": { a: "3600", r: "3600" },
    "2026-11-01 03:00": { a: "0", r: "0" },
  });
  for (const b of hours.slice(0, 5)) assertEquals(b.columns.map((c) => c.coverage), [1, 1], b.bucket.label);
  const months = [...usageByBucket(samples(log), calendar("month", utc), { p95: true, reuse: true })];
  assertEquals(
    months.map((b) => b.columns.map((c) => [c.name, String(c.usage), c.p95, c.coveredMs / H])),
    [
      [["a", "7200", 8, 2], ["r", "7200", 8, 2]],
      [["a", "10800", 8, 3], ["r", "10800", 8, 3]],
    ],
  );
  // A reset while away (a counter lower on return) counts its new value, over the same interval; the reset is the
  // return's, in the bucket its sample is in.
  const reset = log.map((l) => l.replace("14400\t14400", "14400\t900"));
  const back = [...usageByBucket(samples(reset), calendar("hour", utc))];
  assertEquals(back.slice(1, 5).map((b) => b.columns.filter((c) => c.name === "r").map((c) => [c.usage, c.resets])), [
    [[300n, 0]],
    [[300n, 0]],
    [[300n, 0]],
    [[17100n, 1]],
  ]);
});

Deno.test("buckets closed while a column is away are held until it is back, only for a column the log says comes back", () => {
  // gone leaves for good on the 2nd; back leaves on the 3rd and is back on the 5th.
  const log: Sample[] = [];
  for (let h = 0; h <= 6 * 24; h++) {
    const columns = h < 24 ? ["a", "gone", "back"] : h < 48 || h >= 96 ? ["a", "back"] : ["a"];
    log.push({ epoch: Date.UTC(2026, 0, 1, h), columns, counters: columns.map(() => h * 3600) });
  }
  const run = (returning?: ReadonlySet<string>) => {
    const engine = new UsageEngine(calendar("day", utc), { returning });
    const handed: [number, string[]][] = [];
    for (const [k, s] of log.entries()) for (const b of engine.push(s)) handed.push([k, [b.bucket.label]]);
    for (const b of engine.finish()) handed.push([log.length, [b.bucket.label]]);
    return handed;
  };
  const held = run();
  const told = run(new Set(["back"]));
  // Told: each day as the sample after it comes, but the 2nd (back's last sample, 23:00, is in it) to the 4th, held
  // until back is (sample 96).
  assertEquals(told.map(([k]) => k), [24, 96, 96, 96, 120, 144, 145]);
  // Not told, gone might come back too: all held to the end, the same days in the same order.
  assertEquals(held, told.map(([, b]) => [145, b]));
  const days = (returning?: ReadonlySet<string>) => table(usageByBucket(log, calendar("day", utc), { returning }));
  assertEquals(days(new Set(["back"])), days());
  assertEquals(days()["2026-01-03"], { a: "86400", back: "86400" });
});

Deno.test("a column is not in the buckets before its first sample, but for a reset line's value counted there; graph.ts prints the same", async () => {
  const log = [
    "# netmon meters:\ta",
    "2026/01/01-00:00:00\t0",
    "2026/01/02-00:00:00\t100",
    "2026/01/03-00:00:00\t200",
    // b from the 4th at midnight: the 3rd's end, where it was not yet.
    "# netmon meters:\ta\tb",
    "2026/01/04-00:00:00\t300\t5000",
    "2026/01/04-12:00:00\t400\t5100",
    // c first at 06:00 on the 6th after a gap from the 4th: not in the 4th and 5th, which the interval crosses.
    "# netmon meters:\ta\tb\tc",
    "2026/01/06-06:00:00\t500\t5200\t7000",
    // d's first sample has a reset line: its value is counted in the interval ending there, shared by time (18:00
    // on the 6th to 06:00 on the 7th), so the 6th holds half of it and lists d.
    "2026/01/06-18:00:00\t600\t5300\t7100",
    "# netmon meters:\ta\tb\tc\td",
    "# netmon reset:\td\tcounter created",
    "2026/01/07-06:00:00\t700\t5400\t7200\t1000",
  ];
  const days = [...usageByBucket(samples(log), calendar("day", utc))];
  assertEquals(days.map((d) => [d.bucket.label, d.columns.map((c) => `${c.name} ${c.usage} ${c.coverage}`)]), [
    ["2026-01-01", ["a 100 1"]],
    ["2026-01-02", ["a 100 1"]],
    ["2026-01-03", ["a 100 1"]],
    // 100 over the 42 hours from 12:00 on the 4th: 12 on the 4th, 24 on the 5th, 6 on the 6th.
    ["2026-01-04", ["a 128 1", "b 128 1"]],
    ["2026-01-05", ["a 57 1", "b 57 1"]],
    ["2026-01-06", ["a 165 1", "b 165 1", "c 150 1", "d 500 1"]],
    ["2026-01-07", ["a 50 1", "b 50 1", "c 50 1", "d 500 1"]],
  ]);
  // b's first bucket starts at its first sample: it says so (the overview measures b's coverage from there).
  assertEquals(days[3]?.columns.map((c) => c.since), [undefined, Date.UTC(2026, 0, 4)]);
  // graph.ts: an empty field where the engine lists no column, d's half of its value on the 6th.
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/netmon.log`, log.join("\n") + "\n");
    const r = await graph(["--by", "day", "--unit", "B", "-o", "-", `${dir}/netmon.log`], {
      cwd: dir,
      env: { TZ: "UTC" },
    });
    assertEquals([r.code, r.stderr], [0, ""]);
    assertEquals(r.stdout.split("\n").slice(3, 7), [
      "2026/01/03\t100\t\t\t",
      "2026/01/04\t128\t128\t\t",
      "2026/01/05\t57\t57\t\t",
      "2026/01/06\t165\t165\t150\t500",
    ]);
  });
});

Deno.test("counters above 2^53 are exact, and buckets add up exactly to the counters' growth", () => {
  const base = (1n << 63n) + 12345n;
  const lines = ["# netmon meters:\tbig"];
  let v = base;
  for (let i = 0; i < 50; i++) {
    lines.push(
      `2026/01/${String(1 + Math.floor(i / 10)).padStart(2, "0")}-${String(i % 10 * 2).padStart(2, "0")}:17:00\t${v}`,
    );
    v += (1n << 55n) + BigInt(i * 7919);
  }
  const hours = [...usageByBucket(samples(lines), calendar("hour", utc))];
  const total = hours.reduce((s, b) => s + (b.columns[0]?.usage ?? 0n), 0n);
  assertEquals(total, v - (1n << 55n) - 49n * 7919n - base);
  // Every hour from the first sample to the last has a row.
  assertEquals(hours.length, (Date.UTC(2026, 0, 5, 18) - Date.UTC(2026, 0, 1, 0)) / H + 1);
});

Deno.test("coverage: a gap longer than three usual intervals is not covered; the first bucket counts whole, the last up to its last sample", () => {
  const lines = ["# netmon meters:\tx"];
  const stamp = (t: number) => new Date(t).toISOString().slice(0, 19).replace(/-/g, "/").replace("T", "-");
  let v = 0;
  // 2 Jan 12:00 to 3 Jan 12:00 every 5 minutes, except 4 hours missing on 3 Jan from 02:00.
  for (let t = Date.UTC(2026, 0, 2, 12); t <= Date.UTC(2026, 0, 3, 12); t += 300_000) {
    if (t > Date.UTC(2026, 0, 3, 2) && t < Date.UTC(2026, 0, 3, 6)) continue;
    lines.push(`${stamp(t)}\t${v += 1000}`);
  }
  const days = [...usageByBucket(samples(lines), calendar("day", utc))];
  assertEquals(days.map((d) => d.columns[0]?.coverage), [0.5, 8 / 12]);
  assertEquals(days.map((d) => d.spanMs / H), [24, 12]);
  // Until the end of the day, the last day is covered for 8 of its 24 hours.
  const engine = new UsageEngine(calendar("day", utc));
  for (const s of samples(lines)) engine.push(s);
  assertEquals(engine.finish(Date.UTC(2026, 0, 4))[0]?.columns[0]?.coverage, 8 / 24);
});

Deno.test("the engine's percentile is the time-weighted 95th percentile of the bucket's interval rates", () => {
  const columns = ["x"];
  const engine = new UsageEngine(calendar("day", utc), { p95: true });
  let v = 0;
  const rates: number[] = [];
  engine.push({ epoch: Date.UTC(2026, 0, 1), columns, counters: [0] });
  for (let i = 1; i <= 100; i++) {
    const bytes = ((i * 37) % 100 + 1) * 1000;
    rates.push(bytes * 8 / 300);
    engine.push({ epoch: Date.UTC(2026, 0, 1) + i * 300_000, columns, counters: [v += bytes] });
  }
  const [day] = engine.finish();
  rates.sort((a, b) => a - b);
  assertEquals(day?.columns[0]?.p95, rates[94]); // ceil(0.95 * 100) = 95th smallest
  assertEquals(day?.intervals?.length, 100);
});

Deno.test("reuse: each bucket, used as it closes, is the same as without reuse (columns coming and going, gaps over several buckets)", () => {
  const rand = seededRandom("engine reuse");
  const all = ["a", "b", "c"];
  const log: Sample[] = [];
  let t = Date.UTC(2026, 0, 1);
  const v = [0, 0, 0];
  for (let i = 0; i < 10_000; i++) {
    // Mostly 5 minutes; now and then a gap of up to 5 days, so that one push closes several buckets.
    t += rand() < 0.003 ? Math.floor(rand() * 5 * 86_400_000) : 300_000;
    const columns = rand() < 0.1 ? all.slice(0, 2) : all;
    for (let j = 0; j < 3; j++) v[j] = rand() < 0.001 ? 0 : (v[j] as number) + Math.floor(rand() * 1e6);
    log.push({ epoch: t, columns, counters: v.slice(0, columns.length) });
  }
  // What a caller sees of a bucket when it closes: figures, percentiles and its interval rates.
  const seen = (b: BucketUsage) =>
    JSON.stringify({
      label: b.bucket.label,
      columns: b.columns,
      weights: [...(b.intervals?.weights ?? [])],
      rates: [...(b.intervals?.rates ?? [])].map(([name, r]) => [name, [...r].map(String)]),
    }, (_, x) => (typeof x === "bigint" ? String(x) : x));
  for (const unit of ["day", "week"] as const) {
    const plain = new UsageEngine(calendar(unit, utc), { p95: true });
    const reusing = new UsageEngine(calendar(unit, utc), { p95: true, reuse: true });
    const want: string[] = [];
    const got: string[] = [];
    for (const s of log) {
      want.push(...plain.push(s).map(seen));
      got.push(...reusing.push(s).map(seen));
    }
    want.push(...plain.finish().map(seen));
    got.push(...reusing.finish().map(seen));
    ok(want.length > 10, `${unit}: ${want.length} buckets`);
    assertEquals(got, want);
  }
});

// ---- Differential test against graph.ts ----------------------------------

/** A small seeded generator, so a failing log can be reproduced. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random log in `zone`'s wall time around its daylight-saving changes:
 * intervals of 1 to 20 minutes with gaps of hours and days, resets, 64-bit
 * counters, meters that come and go.
 */
function randomLog(seed: number, zone: Zone, start: number, lines: number): string[] {
  const rand = prng(seed);
  const all = ["a", "b", "c-inbound", "c-outbound"];
  let meters = ["a", "b"];
  const counters = new Map<string, bigint>(all.map((m) => [m, BigInt(Math.floor(rand() * 1e6))]));
  const out = [`# netmon meters:\t${meters.join("\t")}`];
  let t = start;
  for (let i = 0; i < lines; i++) {
    const r = rand();
    let step = r < 0.02 ? Math.floor(rand() * 3 * 86_400) * 1000 : r < 0.1 ? Math.floor(rand() * 6 * 3600) * 1000 : 0;
    // Gaps may span an autumn change: graph.ts now runs on this engine, so
    // its old rule for an interval jumping over the repeated hour is gone.
    if (step === 0) step = Math.floor(60 + rand() * 1140) * 1000;
    t += step;
    if (rand() < 0.03) {
      meters = all.filter(() => rand() < 0.6);
      if (meters.length === 0) meters = ["b"];
      out.push(`# netmon meters:\t${meters.join("\t")}`);
    }
    for (const m of meters) {
      let c = counters.get(m) as bigint;
      const x = rand();
      if (x < 0.03) c = BigInt(Math.floor(rand() * 1e5));
      else if (x < 0.05) c = (1n << 64n) - 1n - BigInt(Math.floor(rand() * 1e15));
      else c += BigInt(Math.floor(rand() * 2 ** 40));
      if (c >= 1n << 64n) c = BigInt(Math.floor(rand() * 1e9));
      counters.set(m, c);
    }
    const wall = new Date(t + zone.offsetAt(t)).toISOString();
    const stamp = `${wall.slice(0, 4)}/${wall.slice(5, 7)}/${wall.slice(8, 10)}-${wall.slice(11, 19)}`;
    out.push(`${stamp}\t${meters.map((m) => counters.get(m)).join("\t")}`);
  }
  return out;
}

/** graph.ts's date column for a bucket. */
function graphLabel(unit: Unit, b: Bucket): string {
  const iso = new Date(b.wallStart).toISOString();
  const day = `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}`;
  if (unit === "hour") return `${day}-${iso.slice(11, 13)}:00`;
  if (unit === "month") return day.slice(0, 7);
  return day;
}

for (const tz of ["Europe/Berlin", "America/New_York"]) {
  Deno.test(`graph.ts prints exactly the engine's buckets by hour, day, week and month (TZ=${tz}, seeded random logs)`, async () => {
    const zone = ianaZone(tz);
    await withTempDir(async (dir) => {
      for (const seed of [11, 12]) {
        // Spring and autumn changes of 2026, a leap day (2028) and a new year.
        for (
          const start of [Date.UTC(2026, 2, 26), Date.UTC(2026, 9, 22), Date.UTC(2028, 1, 27), Date.UTC(2026, 11, 30)]
        ) {
          const log = randomLog(seed, zone, start, 600);
          const path = `${dir}/netmon.log`;
          await Deno.writeTextFile(path, log.join("\n") + "\n");
          for (const unit of ["hour", "day", "week", "month"] as const) {
            const r = await graph(["--by", unit, "--unit", "B", "-o", "-", path], { cwd: dir, env: { TZ: tz } });
            assertEquals(r.code, 0, r.stderr);
            // Only the newline: a last row may end in empty fields.
            const [head = "", ...rows] = r.stdout.replace(/\n$/, "").split("\n");
            const names = head.split("\t").slice(1);
            // A column not in a bucket (not metered there: not in it, or first sampled after it) is an empty field.
            const ours = [...usageByBucket(samples(log, zone), calendar(unit, zone))].map((b) => {
              const usage = new Map(b.columns.map((c) => [c.name, c.usage]));
              return [graphLabel(unit, b.bucket), ...names.map((n) => String(usage.get(n) ?? ""))].join("\t");
            });
            const diff = [...Array(Math.max(ours.length, rows.length)).keys()].map((k) =>
              ours[k] === rows[k] ? "" : `${k} ours ${ours[k]} graph ${rows[k]}`
            ).filter((x) => x).slice(0, 3);
            assertEquals(
              `seed ${seed}, start ${new Date(start).toISOString()}, --by ${unit}, TZ=${tz}\n` + diff.join("\n"),
              `seed ${seed}, start ${new Date(start).toISOString()}, --by ${unit}, TZ=${tz}\n`,
            );
            assertEquals(ours, rows, `seed ${seed}, start ${new Date(start).toISOString()}, --by ${unit}, TZ=${tz}`);
          }
        }
      }
    });
  });
}

Deno.test("the log reader reads stamps forward through the repeated hour and reports bad lines with file:line", () => {
  const berlin = ianaZone("Europe/Berlin");
  const bad: string[] = [];
  const reader = new LogReader("x.log", (where, why) => bad.push(`${where}: ${why}`), berlin);
  const epochs = [
    "2026/10/25-02:30:00\t1\t1",
    "2026/10/25-02:50:00\t2\t2",
    "2026/10/25-02:10:00\t3\t3", // winter time now
    "2026/10/25-02:40:00\t4\t4",
    "2026/10/25-03:10:00\t5",
    "2026/13/25-03:10:00\t5\t5",
  ].map((l, i) => reader.line(l, i + 1)?.epoch);
  assertEquals(epochs, [
    Date.UTC(2026, 9, 25, 0, 30),
    Date.UTC(2026, 9, 25, 0, 50),
    Date.UTC(2026, 9, 25, 1, 10),
    Date.UTC(2026, 9, 25, 1, 40),
    undefined,
    undefined,
  ]);
  assertEquals(bad, [
    "x.log:5: expected 3 fields but got 2",
    'x.log:6: "2026/13/25-03:10:00" is not a timestamp YYYY/MM/DD-HH:MM:SS',
  ]);
  ok(true);
});

Deno.test("coverage and presence, columns coming and going every few samples: as the rule says (seeded)", () => {
  const rand = seededRandom("engine coverage");
  const all = ["a", "b", "c", "d"];
  const log: Sample[] = [];
  let t = Date.UTC(2026, 0, 1, 3);
  const v = all.map(() => 0);
  let columns = all;
  for (let i = 0; i < 6000; i++) {
    t += rand() < 0.01 ? Math.floor(rand() * 86_400_000) : rand() < 0.05 ? 600_000 : 300_000;
    if (rand() < 0.05) columns = all.filter(() => rand() < 0.7);
    if (columns.length === 0) columns = ["a"];
    for (let j = 0; j < all.length; j++) v[j] = (v[j] as number) + Math.floor(rand() * 1000);
    log.push({ epoch: t, columns, counters: columns.map((n) => v[all.indexOf(n)] as number) });
  }
  const cal = calendar("day", utc);
  // The rule, directly: each column's interval is from its own last sample (a column that left the log and came back
  // has one long interval); it covers the buckets it spans when it is at most three times the median of the last 99
  // intervals of the log (this one included); a sample's columns are present in each bucket the log's interval
  // touches, and a column in each bucket its own interval touches.
  const covered = new Map<string, Map<string, number>>();
  const present = new Map<string, Set<string>>();
  const mark = (label: string, names: readonly string[]) => {
    const set = present.get(label) ?? new Set<string>();
    for (const n of names) set.add(n);
    present.set(label, set);
  };
  mark(cal.bucketAt(log[0]!.epoch).label, log[0]!.columns);
  const lastOf = new Map(log[0]!.columns.map((n) => [n, log[0]!.epoch]));
  const window: number[] = [];
  for (let k = 1; k < log.length; k++) {
    const before = log[k - 1]!;
    const s = log[k]!;
    const total = s.epoch - before.epoch;
    window.push(total);
    if (window.length > 99) window.shift();
    const usual = [...window].sort((x, y) => x - y)[(window.length - 1) >> 1] as number;
    for (let b = cal.bucketAt(before.epoch); b.start < s.epoch; b = cal.next(b)) mark(b.label, s.columns);
    for (const n of s.columns) {
      const from = lastOf.get(n)!;
      lastOf.set(n, s.epoch);
      for (let b = cal.bucketAt(from); b.start < s.epoch; b = cal.next(b)) {
        mark(b.label, [n]);
        if (s.epoch - from > 3 * usual) continue;
        const piece = Math.min(b.end, s.epoch) - Math.max(b.start, from);
        const byName = covered.get(b.label) ?? new Map<string, number>();
        byName.set(n, (byName.get(n) ?? 0) + piece);
        covered.set(b.label, byName);
      }
    }
  }
  let returned = 0;
  for (let k = 2; k < log.length; k++) {
    returned += log[k]!.columns.filter((n) => !log[k - 1]!.columns.includes(n) && log[k]!.epoch - log[k - 1]!.epoch > 0)
      .length;
  }
  ok(returned > 100, `columns back in the log: ${returned}`);
  const got = [...usageByBucket(log, cal)];
  ok(got.length > 30, `${got.length} days`);
  for (const b of got) {
    assertEquals(new Set(b.columns.map((c) => c.name)), present.get(b.bucket.label) ?? new Set(), b.bucket.label);
    for (const c of b.columns) {
      assertEquals(c.coveredMs, covered.get(b.bucket.label)?.get(c.name) ?? 0, `${b.bucket.label} ${c.name}`);
    }
  }
});

Deno.test("a column back once, then removed for good, holds no bucket after it left for good (told how often it returns)", () => {
  // Hourly samples for 10 days; m away on day 2, back on day 3, removed for good on day 5.
  const from = Date.UTC(2026, 9, 1);
  const samples: Sample[] = [];
  for (let k = 0; k <= 240; k++) {
    const day = Math.floor(k / 24);
    const withM = day < 2 || (day >= 3 && day < 5);
    samples.push({
      epoch: from + k * 3_600_000,
      columns: withM ? ["a", "m"] : ["a"],
      counters: withM ? [k * 100, k * 100] : [k * 100],
    });
  }
  const returns = returnsOf(samples);
  assertEquals([...returns], [["m", 1]]);
  const held = (hint: ReturnsHint) => {
    const engine = new UsageEngine(calendar("day", ianaZone("UTC")), { returning: hint });
    let out = 0;
    for (const s of samples) out += engine.push(s).length;
    return { before: out, atEnd: engine.finish().length };
  };
  // Told it comes back once: the days after its removal come out as they close, all but the last at the end.
  assertEquals(held(returns), { before: 10, atEnd: 1 });
  // Told only that it comes back (a set): held from its removal to the end, the figures the same.
  assertEquals(held(returningOf(samples)), { before: 4, atEnd: 7 });
});
