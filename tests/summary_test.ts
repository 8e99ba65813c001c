/**
 * `netmon summary` end to end, as a subprocess: golden outputs worked out by
 * hand on logs whose traffic is a constant 1 (or 2) bytes a second, so that
 * every bucket's usage is its length in seconds; across a leap day, a cycle
 * day of 31 across February, a reset line, daylight-saving changes in the
 * machine's zone and in a billing zone, the original's two-column log; CSV
 * and JSON read back and added up; exit statuses and message shapes.
 */
import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import { parseExactJson } from "../lib/host/json.ts";
import { CSV_HEADER } from "../lib/usage/csv.ts";
import { netmon, type Result, withTempDir } from "./helpers.ts";
import { seededRandom } from "./random.ts";
import { AWAY_THREE_HOURS } from "./late_meter.ts";

/** A log stamp of instant `epoch` in `zone`, as the report writes it in that local time. */
function stamp(epoch: number, zone: string): string {
  const f: Record<string, string> = {};
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  for (const p of format.formatToParts(epoch)) f[p.type] = p.value;
  return `${f.year}/${f.month}/${f.day}-${f.hour}:${f.minute}:${f.second}`;
}

/** Samples every `stepS` seconds from `from` to `to` (instants) of columns counting `rates` bytes a second. */
function steady(from: number, to: number, stepS: number, rates: number[], zone: string, base: number[] = []): string[] {
  const lines: string[] = [];
  for (let t = from; t <= to; t += stepS * 1000) {
    const s = (t - from) / 1000;
    lines.push([stamp(t, zone), ...rates.map((r, j) => (base[j] ?? 0) + r * s)].join("\t"));
  }
  return lines;
}

interface Setup {
  log: string[];
  config?: string;
  tz?: string;
}

/** Runs `netmon summary ARGS` on a state directory holding `setup.log` (and the config, if any). */
async function summary(dir: string, setup: Setup, args: string[]): Promise<Result> {
  await Deno.writeTextFile(`${dir}/netmon.log`, setup.log.map((l) => l + "\n").join(""));
  const config = `${dir}/netmon.toml`;
  await Deno.writeTextFile(config, setup.config ?? "");
  return await netmon(["summary", "-c", config, "-s", dir, ...args], {
    dirs: [dir],
    env: { TZ: setup.tz ?? "UTC" },
  });
}

/** The output of a successful run with no warnings. */
async function ok0(dir: string, setup: Setup, args: string[]): Promise<string> {
  const r = await summary(dir, setup, args);
  assertEquals({ code: r.code, stderr: r.stderr }, { code: 0, stderr: "" }, `${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** CSV lines as records of the header's fields. */
function csv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trimEnd().split("\n");
  assertEquals(header, CSV_HEADER);
  const keys = CSV_HEADER.split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [keys[i], v])));
}

const DAY = 86_400;
const ACME = '[[customer]]\nname = "acme"\nmeters = ["acme"]\n';

/**
 * 1 B/s in and 2 B/s out, every 6 hours from 30 January to 2 March 2024 (a
 * leap year), the inbound counter reset on 10 February with a reset line.
 */
function leapLog(): string[] {
  const from = Date.UTC(2024, 0, 30);
  const resetAt = Date.UTC(2024, 1, 10, 6);
  const lines = ["# netmon meters:\tacme-inbound\tacme-outbound"];
  for (let t = from; t <= Date.UTC(2024, 2, 2); t += 6 * 3_600_000) {
    const s = (t - from) / 1000;
    const inbound = t < resetAt ? s : (t - resetAt) / 1000 + 21_600;
    if (t === resetAt) lines.push("# netmon reset:\tacme-inbound\treboot");
    lines.push(`${stamp(t, "UTC")}\t${inbound}\t${2 * s}`);
  }
  return lines;
}

Deno.test("--by cycle --csv: cycle day 31 across a leap February, a reset line, coverage and p95 (golden)", async () => {
  await withTempDir(async (dir) => {
    const setup = { log: leapLog(), config: `[billing]\ncycle_day = 31\ntimezone = "UTC"\n${ACME}` };
    const out = await ok0(dir, setup, ["--by", "cycle", "--csv"]);
    // Cycles start on the 31st, in February on its last day, the 29th:
    // 31 Dec - 30 Jan (1 day of samples, coverage 1/31), 31 Jan - 28 Feb
    // (29 days, the reset), 29 Feb - 30 Mar (2 days of samples, coverage
    // 2/31: the cycle is over, the samples after the log stopped missing).
    const c1 = "2023-12-31T00:00:00+00:00,2024-01-31T00:00:00+00:00";
    const c2 = "2024-01-31T00:00:00+00:00,2024-02-29T00:00:00+00:00";
    const c3 = "2024-02-29T00:00:00+00:00,2024-03-31T00:00:00+00:00";
    const days = [1, 29, 2];
    const expected = [c1, c2, c3].flatMap((c, k) => {
      const s = (days[k] as number) * DAY;
      const cov = ["0.032258", "1", "0.064516"][k];
      const resets = k === 1 ? 1 : 0;
      return [
        `${c},acme-inbound,column,,,${s},,,8,${cov},${resets}`,
        `${c},acme-outbound,column,,,${2 * s},,,16,${cov},0`,
        `${c},acme,customer,${s},${2 * s},${3 * s},8,16,16,${cov},${resets}`,
      ];
    });
    assertEquals(out, [CSV_HEADER, ...expected].join("\n") + "\n");
  });
});

Deno.test("--by cycle --csv: a customer of a split meter and an unsplit one is billed its larger direction (golden)", async () => {
  await withTempDir(async (dir) => {
    // 1000 B/s in, 100 B/s out and 10 B/s both ways in one column, every 5 minutes for two days. Which way the
    // unsplit column's bytes went is not known: they count in each direction's rate (8000 + 80 bit/s in, 800 + 80
    // out), and the bill is the larger, 8080 bit/s; not 8880, the two directions added up.
    const from = Date.UTC(2026, 10, 1);
    const log = [
      "# netmon meters:\tacme-inbound\tacme-outbound\tweb",
      ...steady(from, from + 2 * DAY * 1000, 300, [1000, 100, 10], "UTC"),
    ];
    const config = '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["acme", "web"]\n';
    const c = "2026-11-01T00:00:00+00:00,2026-12-01T00:00:00+00:00";
    const s = 2 * DAY;
    assertEquals(
      await ok0(dir, { log, config }, ["--by", "cycle", "--csv"]),
      [
        CSV_HEADER,
        `${c},acme-inbound,column,,,${1000 * s},,,8000,1,0`,
        `${c},acme-outbound,column,,,${100 * s},,,800,1,0`,
        `${c},web,column,,,${10 * s},,,80,1,0`,
        `${c},acme,customer,${1000 * s},${100 * s},${1110 * s},8080,880,8080,1,0`,
      ].join("\n") + "\n",
    );
  });
});

Deno.test("every --by unit on a steady log across a leap day (golden sizes)", async () => {
  await withTempDir(async (dir) => {
    // 1 B/s, hourly, Monday 26 February to Monday 4 March 2024, UTC.
    const log = ["# netmon meters:\tm", ...steady(Date.UTC(2024, 1, 26), Date.UTC(2024, 2, 4), 3600, [1], "UTC")];
    const totals = async (by: string) =>
      csv(await ok0(dir, { log }, ["--by", by, "--csv"])).map((r) => [r.start?.slice(0, 16), Number(r.total_bytes)]);
    const hours = await totals("hour");
    assertEquals(hours.length, 7 * 24 + 1);
    ok(hours.slice(0, -1).every(([, b]) => b === 3600), "every hour 3600 B");
    assertEquals(await totals("day"), [
      ...["26", "27", "28", "29"].map((d) => [`2024-02-${d}T00:00`, DAY]),
      ...["01", "02", "03"].map((d) => [`2024-03-${d}T00:00`, DAY]),
      ["2024-03-04T00:00", 0],
    ]);
    assertEquals(await totals("week"), [["2024-02-26T00:00", 7 * DAY], ["2024-03-04T00:00", 0]]);
    assertEquals(await totals("month"), [["2024-02-01T00:00", 4 * DAY], ["2024-03-01T00:00", 3 * DAY]]);
    assertEquals(await totals("cycle"), [["2024-02-01T00:00", 4 * DAY], ["2024-03-01T00:00", 3 * DAY]]);
    assertEquals(await totals("year"), [["2024-01-01T00:00", 7 * DAY]]);
    // The table for people: IEC units, the p95 in SI bit/s, coverage in percent (March's 3 days of 31: it is over).
    assertEquals(
      await ok0(dir, { log }, ["--by", "month"]),
      [
        "period   name       total         p95  coverage  resets",
        "2024-02  m     337.50 KiB  8.00 bit/s     13.8%       0",
        "2024-03  m     253.12 KiB  8.00 bit/s      9.7%       0",
        "",
      ].join("\n"),
    );
  });
});

Deno.test("daylight saving in the machine's zone (the log's stamps) and in a billing zone: days of 23 hours", async () => {
  await withTempDir(async (dir) => {
    // Hourly, 1 B/s, from Saturday 28 March 2026 00:00 GMT, written in
    // London time: the clocks go forward at 01:00 GMT on the 29th.
    const from = Date.UTC(2026, 2, 28);
    const log = ["# netmon meters:\tm", ...steady(from, from + 47 * 3_600_000, 3600, [1], "Europe/London")];
    ok(log.includes("2026/03/29-00:00:00\t86400") && log.includes("2026/03/29-02:00:00\t90000"), "no 01:00 stamp");
    const rows = async (config: string) =>
      csv(await ok0(dir, { log, config, tz: "Europe/London" }, ["--by", "day", "--csv"])).map((
        r,
      ) => [r.start, r.end, Number(r.total_bytes)]);
    // Local days: the 29th has 23 hours; the last sample opens the 30th.
    assertEquals(await rows(""), [
      ["2026-03-28T00:00:00+00:00", "2026-03-29T00:00:00+00:00", DAY],
      ["2026-03-29T00:00:00+00:00", "2026-03-30T00:00:00+01:00", 23 * 3600],
      ["2026-03-30T00:00:00+01:00", "2026-03-31T00:00:00+01:00", 0],
    ]);
    // Days at midnight in New York (summer time there since 8 March): the
    // same 47 hours fall as 4, 24 and 19 hours.
    assertEquals(await rows('[billing]\ntimezone = "America/New_York"\n'), [
      ["2026-03-27T00:00:00-04:00", "2026-03-28T00:00:00-04:00", 4 * 3600],
      ["2026-03-28T00:00:00-04:00", "2026-03-29T00:00:00-04:00", DAY],
      ["2026-03-29T00:00:00-04:00", "2026-03-30T00:00:00-04:00", 19 * 3600],
    ]);
  });
});

/** The original two-column log, as the 2010 script wrote it: a midnight crossing, one counter's reset, a gap. */
const ORIGINAL_LOG = [
  "2010/02/25-22:00:00\t0\t0",
  "2010/02/25-23:00:00\t1048576\t2097152",
  "2010/02/26-01:00:00\t3145728\t2097152",
  "2010/02/26-12:00:00\t524288\t4194304",
  "2010/02/28-12:00:00\t524288\t7340032",
];

Deno.test("the original's log (no header) reads as proxy and non-network, with graph.ts's numbers", async () => {
  await withTempDir(async (dir) => {
    const rows = csv(await ok0(dir, { log: ORIGINAL_LOG }, ["--by", "day", "--csv"]));
    const got = rows.map((r) => [r.start?.slice(0, 10), r.name, Number(r.total_bytes), r.resets]);
    // The same figures as tests/graph_test.ts's worked example, in bytes.
    const MiB = 1048576;
    assertEquals(got, [
      ["2010-02-25", "proxy", 2 * MiB, "0"],
      ["2010-02-25", "non-network", 2 * MiB, "0"],
      ["2010-02-26", "proxy", 1.5 * MiB, "1"],
      ["2010-02-26", "non-network", 2.75 * MiB, "0"],
      ["2010-02-27", "proxy", 0, "0"],
      ["2010-02-27", "non-network", 1.5 * MiB, "0"],
      ["2010-02-28", "proxy", 0, "0"],
      ["2010-02-28", "non-network", 0.75 * MiB, "0"],
    ]);
    // The two-day gap is not covered: a day inside it says so.
    assertEquals(rows.find((r) => r.start?.startsWith("2010-02-27"))?.coverage, "0");
  });
});

Deno.test("--top N, --from/--to and --meter restrict the rows", async () => {
  await withTempDir(async (dir) => {
    // Three days of 1 B/s, then a day of 3 B/s, then a day of 2 B/s; beta steady.
    const day = (d: number) => Date.UTC(2026, 0, d);
    const rates = [1, 1, 1, 3, 2];
    const lines = ["# netmon meters:\tacme-inbound\tacme-outbound\tbeta"];
    let a = 0;
    for (let k = 0; k <= 5 * 24; k++) {
      const t = day(5) + k * 3_600_000;
      lines.push(`${stamp(t, "UTC")}\t${a}\t${a}\t${k * 3600}`);
      a += (rates[Math.floor(k / 24)] ?? 0) * 3600;
    }
    const setup = { log: lines, config: ACME };
    const top = csv(await ok0(dir, setup, ["--top", "2", "--csv", "--meter", "acme"]));
    assertEquals(top.map((r) => [r.name, r.start?.slice(0, 10), Number(r.total_bytes)]), [
      ["acme", "2026-01-08", 6 * DAY],
      ["acme", "2026-01-09", 4 * DAY],
    ]);
    const ranged = csv(
      await ok0(dir, setup, ["--by", "day", "--csv", "--from", "2026-01-06", "--to", "2026-01-08", "--meter", "beta"]),
    );
    assertEquals(ranged.map((r) => [r.name, r.start?.slice(0, 10), r.total_bytes]), [
      ["beta", "2026-01-06", String(DAY)],
      ["beta", "2026-01-07", String(DAY)],
    ]);
    // A column's name keeps that column.
    const split = csv(await ok0(dir, setup, ["--by", "year", "--csv", "--meter", "acme-inbound"]));
    assertEquals(split.map((r) => r.name), ["acme-inbound"]);
  });
});

/**
 * 1 B/s, hourly, 30 October to 3 December 2025, written in New York time
 * (the machine's zone, whose clocks go back on 2 November): a log around
 * November, whose rows are labelled in other zones than the machine's. In
 * the past, so that the overview's "now" is --to's.
 */
function novemberInNewYork(): string[] {
  return [
    "# netmon meters:\tm",
    ...steady(Date.UTC(2025, 9, 30), Date.UTC(2025, 11, 3), 3600, [1], "America/New_York"),
  ];
}

Deno.test("--from/--to are read in the zone the rows are labelled in, not the machine's", async () => {
  await withTempDir(async (dir) => {
    const setup = {
      log: novemberInNewYork(),
      config: '[billing]\ntimezone = "Europe/Berlin"\n',
      tz: "America/New_York",
    };
    const range = ["--from", "2025-11-01", "--to", "2025-12-01"];
    const rows = async (by: string, more: string[] = []) =>
      csv(await ok0(dir, setup, ["--by", by, "--csv", ...range, ...more])).map((r) => [r.start, Number(r.total_bytes)]);
    // November in Berlin: 30 whole days (no daylight-saving change in it),
    // the first starting at midnight there, none of December.
    const days = await rows("day");
    assertEquals(days.length, 30, JSON.stringify(days.slice(0, 2)));
    assertEquals(days[0], ["2025-11-01T00:00:00+01:00", DAY]);
    assertEquals(days[29], ["2025-11-30T00:00:00+01:00", DAY]);
    assertEquals(await rows("month"), [["2025-11-01T00:00:00+01:00", 30 * DAY]]);
    // An hour: 'HH:MM' too is Berlin time.
    assertEquals(await rows("hour", ["--from", "2025-11-10 06:00", "--to", "2025-11-10 08:00"]), [
      ["2025-11-10T06:00:00+01:00", 3600],
      ["2025-11-10T07:00:00+01:00", 3600],
    ]);
    // The overview as it was at --to: midnight in Berlin, so today is all of 30 November there.
    const doc = parseExactJson(await ok0(dir, setup, ["--json", ...range])) as {
      now: string;
      billings: { periods: { today: { start: string } }; lines: { today: { total_bytes: number } }[] }[];
    };
    assertEquals(doc.now, "2025-11-30T23:59:59+01:00");
    assertEquals(doc.billings[0]?.periods.today.start, "2025-11-30T00:00:00+01:00");
    assertEquals(doc.billings[0]?.lines[0]?.today.total_bytes, DAY);
  });
});

Deno.test("--from/--to with customers in other zones: each billing's rows from its own midnight", async () => {
  await withTempDir(async (dir) => {
    // The columns billed in Berlin; acme in Los Angeles, whose 2 November
    // has 25 hours (summer time ends there that night, as in New York).
    const config = '[billing]\ntimezone = "Europe/Berlin"\n[[customer]]\nname = "acme"\nmeters = ["m"]\n' +
      'timezone = "America/Los_Angeles"\n';
    const setup = { log: novemberInNewYork(), config, tz: "America/New_York" };
    const rows = csv(await ok0(dir, setup, ["--by", "day", "--csv", "--from", "2025-11-02", "--to", "2025-11-04"]));
    assertEquals(rows.map((r) => [r.start, r.end, r.name, Number(r.total_bytes)]), [
      ["2025-11-02T00:00:00+01:00", "2025-11-03T00:00:00+01:00", "m", DAY],
      ["2025-11-02T00:00:00-07:00", "2025-11-03T00:00:00-08:00", "acme", DAY + 3600],
      ["2025-11-03T00:00:00+01:00", "2025-11-04T00:00:00+01:00", "m", DAY],
      ["2025-11-03T00:00:00-08:00", "2025-11-04T00:00:00-08:00", "acme", DAY],
    ]);
    // The overview as it was at --to: each billing's midnight, its today the whole 3 November there.
    const doc = parseExactJson(await ok0(dir, setup, ["--json", "--to", "2025-11-04"])) as {
      now: string;
      billings: {
        now: string;
        periods: { today: { start: string; end: string } };
        lines: { today: { total_bytes: number } }[];
      }[];
    };
    assertEquals(doc.billings.map((b) => [b.periods.today.start, b.periods.today.end, b.lines[0]?.today.total_bytes]), [
      ["2025-11-03T00:00:00+01:00", "2025-11-04T00:00:00+01:00", DAY],
      ["2025-11-03T00:00:00-08:00", "2025-11-04T00:00:00-08:00", DAY],
    ]);
    // Each billing is as of its own last instant before --to; the document's `now` is the first billing's.
    assertEquals(doc.billings.map((b) => b.now), ["2025-11-03T23:59:59+01:00", "2025-11-03T23:59:59-08:00"]);
    assertEquals(doc.now, "2025-11-03T23:59:59+01:00");
  });
});

Deno.test("--from/--to in an hour the billing zone skips or repeats (daylight saving in Berlin)", async () => {
  await withTempDir(async (dir) => {
    // 1 B/s, every 10 minutes, written in New York time, around Berlin's two changes of 2026.
    const log = [
      "# netmon meters:\tm",
      ...steady(Date.UTC(2026, 2, 28, 20), Date.UTC(2026, 2, 29, 6), 600, [1], "America/New_York"),
    ];
    const autumn = [
      "# netmon meters:\tm",
      ...steady(Date.UTC(2026, 9, 24, 20), Date.UTC(2026, 9, 25, 6), 600, [1], "America/New_York"),
    ];
    const config = '[billing]\ntimezone = "Europe/Berlin"\n';
    const hours = async (lines: string[], from: string, to: string) =>
      csv(
        await ok0(dir, { log: lines, config, tz: "America/New_York" }, [
          "--by",
          "hour",
          "--csv",
          "--from",
          from,
          "--to",
          to,
        ]),
      )
        .map((r) => [r.start, Number(r.total_bytes)]);
    // 29 March: 02:00-03:00 never happens in Berlin. From 02:30 is from the
    // moment the clock jumped: the first row is 03:00 summer time.
    assertEquals(await hours(log, "2026-03-29 02:30", "2026-03-29 05:00"), [
      ["2026-03-29T03:00:00+02:00", 3600],
      ["2026-03-29T04:00:00+02:00", 3600],
    ]);
    assertEquals(await hours(log, "2026-03-29 01:00", "2026-03-29 03:00"), [["2026-03-29T01:00:00+01:00", 3600]]);
    // 25 October: 02:00-03:00 happens twice, one row two hours long. A
    // range from 02:00 holds it; one from 02:30 starts after it began.
    assertEquals(await hours(autumn, "2026-10-25 02:00", "2026-10-25 04:00"), [
      ["2026-10-25T02:00:00+02:00", 7200],
      ["2026-10-25T03:00:00+01:00", 3600],
    ]);
    assertEquals(await hours(autumn, "2026-10-25 02:30", "2026-10-25 04:00"), [["2026-10-25T03:00:00+01:00", 3600]]);
    assertEquals(await hours(autumn, "2026-10-25 01:00", "2026-10-25 02:30"), [
      ["2026-10-25T01:00:00+02:00", 3600],
      ["2026-10-25T02:00:00+02:00", 7200],
    ]);
  });
});

Deno.test("--from/--to both in the hour the billing zone skips are one instant: --from is not before --to, exit 64", async () => {
  await withTempDir(async (dir) => {
    const log = [
      "# netmon meters:\tm",
      ...steady(Date.UTC(2026, 2, 28, 20), Date.UTC(2026, 2, 29, 6), 600, [1], "UTC"),
    ];
    const config = '[billing]\ntimezone = "Europe/Berlin"\n';
    const r = await summary(dir, { log, config }, [
      "--by",
      "hour",
      "--from",
      "2026-03-29 02:30",
      "--to",
      "2026-03-29 02:45",
    ]);
    assertEquals({ code: r.code, stdout: r.stdout, stderr: r.stderr }, {
      code: 64,
      stdout: "",
      stderr:
        "netmon: --from 2026-03-29 02:30 is not before --to 2026-03-29 02:45 in Europe/Berlin: both fall in the " +
        "hour its clock skips (daylight saving), the same instant (see 'netmon summary --help')\n",
    });
  });
});

Deno.test("a meter removed for three hours and added back: its growth over its time away, shared by time (golden)", async () => {
  await withTempDir(async (dir) => {
    const log = [...AWAY_THREE_HOURS];
    const config = '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "ac"\nmeters = ["a", "r"]\n';
    // r: 10,800 B from its sample at 23:00 to the next at 02:00, 1 B/s (8 bit/s), 1 h of it in October; 3 h is not
    // more than three usual intervals, so covered.
    const cycles = csv(await ok0(dir, { log, config }, ["--by", "cycle", "--csv"]))
      .map((r) => [r.start!.slice(0, 7), r.name, r.total_bytes, r.p95_bps, r.coverage]);
    assertEquals(cycles.filter((r) => r[1] !== "a"), [
      ["2026-10", "r", "7200", "8", "0.002688"],
      ["2026-10", "ac", "14400", "16", "0.002688"],
      ["2026-11", "r", "10800", "8", "1"],
      ["2026-11", "ac", "21600", "16", "1"],
    ]);
    const hours = csv(await ok0(dir, { log, config }, ["--by", "hour", "--csv", "--meter", "r"]))
      .map((r) => [r.start!.slice(11, 16), r.total_bytes]);
    assertEquals(hours, [
      ["22:00", "3600"],
      ["23:00", "3600"],
      ["00:00", "3600"],
      ["01:00", "3600"],
      ["02:00", "3600"],
      [
        "03:00",
        "0",
      ],
    ]);
  });
});

Deno.test("CSV and JSON read back: days add up to cycles and to the counters' growth (seeded random log)", async () => {
  await withTempDir(async (dir) => {
    const rand = seededRandom("summary round trip");
    // Irregular samples with gaps, resets (with and without a reset line) and a meter added midway.
    let t = Date.UTC(2026, 0, 20);
    const c = [0, 0, 0];
    let columns = 2;
    const lines = ["# netmon meters:\tacme-inbound\tacme-outbound"];
    const growth = [0n, 0n, 0n];
    let first = true;
    for (let i = 0; i < 600; i++) {
      t += (rand() < 0.05 ? 86_400 : 300 + Math.floor(rand() * 900)) * 1000;
      if (i === 300) {
        columns = 3;
        lines.push("# netmon meters:\tacme-inbound\tacme-outbound\tbeta");
      }
      for (let j = 0; j < columns; j++) {
        const add = Math.floor(rand() * 1e9);
        let resetLine = false;
        if (rand() < 0.01) {
          // Without a reset line the counter must go down to be seen as reset.
          if (rand() < 0.5 || add >= (c[j] as number)) {
            lines.push(`# netmon reset:\t${["acme-inbound", "acme-outbound", "beta"][j]}\ttest`);
            resetLine = true;
          }
          c[j] = add;
        } else c[j] = (c[j] as number) + add;
        // The first sample of a column is its starting point, but for one after the log's first that a reset line
        // names: its counter was created within the interval, and its value counts (lib/usage/engine.ts).
        const starts = first || (j === 2 && i === 300 && !resetLine);
        if (!starts) growth[j] = (growth[j] as bigint) + BigInt(add);
      }
      first = false;
      lines.push([stamp(t, "UTC"), ...c.slice(0, columns)].join("\t"));
    }
    const setup = { log: lines, config: `[billing]\ncycle_day = 7\ntimezone = "Europe/Berlin"\n${ACME}` };
    const sums = (rows: { name: string; total: bigint }[]) => {
      const m = new Map<string, bigint>();
      for (const r of rows) m.set(r.name, (m.get(r.name) ?? 0n) + r.total);
      return m;
    };
    const fromCsv = (text: string) =>
      csv(text).map((r) => ({ name: r.name as string, total: BigInt(r.total_bytes ?? "") }));
    const fromJson = (text: string) => {
      const doc = parseExactJson(text) as { version: number; rows: { name: string; total_bytes: bigint | number }[] };
      assertEquals(doc.version, 1);
      return doc.rows.map((r) => ({ name: r.name, total: BigInt(r.total_bytes) }));
    };
    const byDay = sums(fromCsv(await ok0(dir, setup, ["--by", "day", "--csv"])));
    const byCycle = sums(fromCsv(await ok0(dir, setup, ["--by", "cycle", "--csv"])));
    const byDayJson = sums(fromJson(await ok0(dir, setup, ["--by", "day", "--json"])));
    const byCycleJson = sums(fromJson(await ok0(dir, setup, ["--by", "cycle", "--json"])));
    const expected = new Map([
      ["acme-inbound", growth[0] as bigint],
      ["acme-outbound", growth[1] as bigint],
      ["beta", growth[2] as bigint],
      ["acme", (growth[0] as bigint) + (growth[1] as bigint)],
    ]);
    for (const got of [byDay, byCycle, byDayJson, byCycleJson]) {
      assertEquals(got, expected, "see the seed printed above");
    }
  });
});

Deno.test("the overview: every column and customer, in, out and total where split by direction", async () => {
  await withTempDir(async (dir) => {
    // Samples up to now, so that today, this cycle and this year hold data.
    const now = Date.now();
    const from = now - 3 * DAY * 1000;
    const log = ["# netmon meters:\tacme-inbound\tacme-outbound\tbeta", ...steady(from, now, 600, [1, 2, 4], "UTC")];
    const out = await ok0(dir, { log, config: ACME }, []);
    const lines = out.trimEnd().split("\n");
    ok(
      /^name +today +yesterday +cycle \d{4}-\d\d-01 \.\. \d{4}-\d\d-\d\d +estimate +cycle .* +\d{4} +coverage$/.test(
        lines[0] as string,
      ),
      lines[0],
    );
    assertEquals(
      lines.map((l) => l.split(/\s{2,}/)[0]),
      ["name", "acme-inbound", "acme-outbound", "beta", "acme", ""]
        .concat([""]),
    );
    assertEquals(lines.slice(4).map((l) => l.trim().split(/\s{2,}/)[l.startsWith("acme") ? 1 : 0]), [
      "in",
      "out",
      "total",
    ]);
    // Yesterday was a whole day of 1 B/s: 84.38 KiB.
    ok((lines[1] as string).includes("84.38 KiB"), lines[1]);
    const doc = parseExactJson(await ok0(dir, { log, config: ACME }, ["--json"])) as {
      version: number;
      billings: { lines: { name: string; yesterday: { total_bytes: number; in_bytes?: number } }[] }[];
    };
    assertEquals(doc.version, 1);
    const acme = doc.billings[0]?.lines.find((l) => l.name === "acme");
    assertEquals(acme?.yesterday, { in_bytes: DAY, out_bytes: 2 * DAY, total_bytes: 3 * DAY });
  });
});

Deno.test("--by day: a meter whose first sample is at midnight has no row for the day before, when it was not there", async () => {
  await withTempDir(async (dir) => {
    const log = ["# netmon meters:\ta"];
    for (let d = 1; d <= 3; d++) log.push(`${stamp(Date.UTC(2026, 2, d), "UTC")}\t${d * 1000}`);
    log.push("# netmon meters:\ta\tb");
    for (let h = 0; h <= 12; h += 6) log.push(`${stamp(Date.UTC(2026, 2, 4, h), "UTC")}\t${4000 + h}\t${500 + h * 10}`);
    const config = '[[customer]]\nname = "bco"\nmeters = ["b"]\n';
    const rows = csv(await ok0(dir, { log, config }, ["--by", "day", "--csv"]));
    assertEquals(
      rows.map((r) => `${r.start?.slice(0, 10)} ${r.kind} ${r.name} ${r.total_bytes} ${r.coverage}`),
      [
        // bco's meter not in the log yet: zero, covered nowhere (as a customer added before its meter's column).
        "2026-03-01 column a 1000 1",
        "2026-03-01 customer bco 0 0",
        "2026-03-02 column a 1000 1",
        "2026-03-02 customer bco 0 0",
        "2026-03-03 column a 1000 1",
        "2026-03-03 customer bco 0 0",
        // The log stops at noon on the 4th: the rest of that day, over, is missing.
        "2026-03-04 column a 12 0.5",
        "2026-03-04 column b 120 0.5",
        "2026-03-04 customer bco 120 0.5",
      ],
    );
  });
});

Deno.test("coverage of a bucket that ended before now, the log stopping in it: of the whole bucket, not up to the last sample", async () => {
  await withTempDir(async (dir) => {
    // October 2026 has two hours of samples, then none (the machine died); now is later. Only the bucket holding now
    // is counted up to the last sample ("so far"): a closed one whose samples stop early is missing the rest.
    const log = ["# netmon meters:\ta"];
    for (let h = 0; h <= 2; h++) log.push(`${stamp(Date.UTC(2026, 9, 1, h), "UTC")}\t${h * 3600}`);
    ok(Date.now() > Date.UTC(2026, 10, 1), "the test needs October 2026 to be over");
    const config = '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["a"]\n';
    const cov = async (by: string) =>
      csv(await ok0(dir, { log, config }, ["--by", by, "--csv"])).map((r) => `${r.name} ${r.coverage}`);
    // 2 hours of October's 744 (0.002688), of its first day's 24.
    assertEquals(await cov("cycle"), ["a 0.002688", "acme 0.002688"]);
    assertEquals(await cov("day"), ["a 0.083333", "acme 0.083333"]);
    const acme = (await ok0(dir, { log, config }, ["--by", "cycle"])).split("\n").find((l) => / acme /.test(l));
    match(acme ?? "", / 0\.3% +0$/);
  });
});

Deno.test("the overview's estimate of a meter added mid-cycle (the log's header gains its column) counts from its first sample", async () => {
  await withTempDir(async (dir) => {
    // November 2025 (30 days): base at 1 B/s from the 1st; late, added to the config on day 20 (the 21st), at 1 GiB
    // an hour from then, 120 GiB in the 5 days to the 26th. Before the 21st, late's traffic is unknown, not zero.
    const start = Date.UTC(2025, 10, 1), added = Date.UTC(2025, 10, 21), end = Date.UTC(2025, 10, 26);
    const log = ["# netmon meters:\tbase"];
    for (let t = start; t <= end; t += 3_600_000) {
      if (t === added) log.push("# netmon meters:\tbase\tlate");
      const base = (t - start) / 1000;
      log.push(`${stamp(t, "UTC")}\t${base}${t >= added ? `\t${(t - added) / 3_600_000 * 2 ** 30}` : ""}`);
    }
    const config = '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "newco"\nmeters = ["late"]\n';
    // Now is the day after the last sample (--to): the cycle so far ends at the last sample.
    const doc = parseExactJson(await ok0(dir, { log, config }, ["--json", "--to", "2025-11-27"])) as {
      billings: { lines: { name: string; cycle: { total_bytes: bigint }; estimate?: { total_bytes: bigint } }[] }[];
    };
    const GiB = 1n << 30n;
    assertEquals(
      doc.billings[0]?.lines.map((l) => [l.name, l.cycle.total_bytes, l.estimate?.total_bytes]),
      [
        // 25 days of 30: 30 days' worth.
        ["base", 25n * 86_400n, 30n * 86_400n],
        // 120 GiB in the 5 days since its first sample, 5 days to go: 240 GiB, not 120 x 30/25 = 144 GiB.
        ["late", 120n * GiB, 240n * GiB],
        ["newco", 120n * GiB, 240n * GiB],
      ],
    );
    const table = await ok0(dir, { log, config }, ["--to", "2025-11-27"]);
    const newco = table.split("\n").find((l) => l.startsWith("newco")) ?? "";
    // Today (the 26th) nothing yet, yesterday 24 GiB, the cycle so far 120 GiB, its estimate 240 GiB.
    match(newco, /^newco +0 B +24\.00 GiB +120\.00 GiB +240\.00 GiB /);
  });
});

Deno.test("the overview has no estimate before a day of the cycle is counted: a burst in its first minutes says too early", async () => {
  await withTempDir(async (dir) => {
    // 2.37 MiB in two minutes, at the start of November: carried to the cycle's end, some 50 GiB.
    const log = ["# netmon meters:\tacme", "2025/11/01-00:01:00\t0", "2025/11/01-00:03:00\t2485125"];
    const config = '[billing]\ntimezone = "UTC"\n';
    const doc = parseExactJson(await ok0(dir, { log, config }, ["--json", "--to", "2025-11-01 00:04"])) as {
      billings: { lines: { name: string; estimate?: unknown }[] }[];
    };
    assertEquals(doc.billings[0]?.lines.map((l) => [l.name, l.estimate]), [["acme", undefined]]);
    const table = await ok0(dir, { log, config }, ["--to", "2025-11-01 00:04"]);
    const acme = table.split("\n").find((l) => l.startsWith("acme")) ?? "";
    // Yesterday and October hold no sample: said, not a zero that reads as none sent.
    match(acme, /^acme +2\.37 MiB +no sample +2\.37 MiB +too early +no sample +2\.37 MiB /, table);
  });
});

Deno.test("the overview says a period without any sample has none (table), and leaves its figure out (JSON)", async () => {
  await withTempDir(async (dir) => {
    // Samples on November 2nd only; now the 3rd: today, yesterday (a real zero day for beta), October, the year.
    const log = [
      "# netmon meters:\tacme",
      "2025/11/02-10:00:00\t0",
      "2025/11/02-11:00:00\t1024",
      "# netmon meters:\tacme\tbeta",
      "2025/11/02-12:00:00\t2048\t0",
      "2025/11/02-13:00:00\t2048\t0",
    ];
    const config = '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "both"\nmeters = ["acme", "beta"]\n';
    const args = ["--to", "2025-11-03 12:00"];
    const doc = parseExactJson(await ok0(dir, { log, config }, ["--json", ...args])) as {
      billings: { lines: Record<string, unknown>[] }[];
    };
    const periods = (l: Record<string, unknown>) =>
      ["today", "yesterday", "cycle", "previous_cycle", "year"].filter((k) => k in l);
    const lines = doc.billings[0]?.lines ?? [];
    assertEquals(lines.map((l) => [l.name, periods(l)]), [
      ["acme", ["yesterday", "cycle", "year"]],
      ["beta", ["yesterday", "cycle", "year"]],
      ["both", ["yesterday", "cycle", "year"]],
    ]);
    // A zero where there were samples stays a zero.
    assertEquals(lines[1]?.yesterday, { total_bytes: 0n });
    assertEquals(lines[0]?.yesterday, { total_bytes: 2048n });
    const table = await ok0(dir, { log, config }, args);
    const row = (name: string) => table.split("\n").find((l) => l.startsWith(name)) ?? "";
    match(row("acme"), /^acme +no sample +2\.00 KiB +2\.00 KiB +\S.* +no sample +2\.00 KiB /, table);
    match(row("beta"), /^beta +no sample +0 B +0 B +\S.* +no sample +0 B /, table);
  });
});

Deno.test("a customer named as its meter (the default): the text rows say which is the column and which the customer", async () => {
  await withTempDir(async (dir) => {
    // Customer acme sums the unsplit meter acme and meter web: two names "acme", 1.86 GiB the column, 2.70 GiB the customer.
    const meters = 'source = "iptables"\n[[meter]]\nname = "acme"\nfrom = "192.0.2.10"\n' +
      '[[meter]]\nname = "web"\nfrom = "192.0.2.20"\n';
    const log = [
      "# netmon meters:\tacme\tweb",
      "2026/11/01-00:00:00\t0\t0",
      "2026/11/15-00:00:00\t1000000000\t500000000",
      "2026/11/29-00:00:00\t2000000000\t900000000",
    ];
    const setup = { log, config: `${meters}[[customer]]\nname = "acme"\nmeters = ["acme", "web"]\n` };
    const cells = (text: string) => text.trimEnd().split("\n").map((l) => l.split(/\s{2,}/));
    const c = "2026-11-01 .. 2026-11-30";
    assertEquals(cells(await ok0(dir, setup, ["--by", "cycle"])).map((r) => r.slice(0, 3)), [
      ["period", "name", "total"],
      [c, "acme (column)", "1.86 GiB"],
      [c, "web", "858.31 MiB"],
      [c, "acme (customer)", "2.70 GiB"],
    ]);
    // --meter acme keeps both (the name is both): still told apart.
    assertEquals(cells(await ok0(dir, setup, ["--by", "cycle", "--meter", "acme"])).map((r) => r.slice(0, 3)), [
      ["period", "name", "total"],
      [c, "acme (column)", "1.86 GiB"],
      [c, "acme (customer)", "2.70 GiB"],
    ]);
    assertEquals(cells(await ok0(dir, setup, ["--top", "1", "--meter", "acme"])).map((r) => r[1]), [
      "name",
      "acme (column)",
      "acme (customer)",
    ]);
    assertEquals(cells(await ok0(dir, setup, ["--to", "2026-11-30"])).map((r) => [r[0], r[3]]), [
      ["name", "cycle 2026-11-01 .. 2026-11-30"],
      ["acme (column)", "1.86 GiB"],
      ["web", "858.31 MiB"],
      ["acme (customer)", "2.70 GiB"],
    ]);
    // The machine-readable views have their kind field: the name stays the name.
    assertEquals(csv(await ok0(dir, setup, ["--by", "cycle", "--csv"])).map((r) => [r.name, r.kind]), [
      ["acme", "column"],
      ["web", "column"],
      ["acme", "customer"],
    ]);
    // Billed on another day, the customer is in an overview of its own: marked all the same.
    const other = { log, config: `${meters}[[customer]]\nname = "acme"\nmeters = ["acme", "web"]\ncycle_day = 15\n` };
    const names = cells(await ok0(dir, other, ["--to", "2026-11-30"])).map((r) => r[0]);
    assertEquals(names.filter((n) => n?.startsWith("acme")), ["acme (column)", "acme (customer)"]);
  });
});

Deno.test("summary errors: one line and a sysexits status", async () => {
  await withTempDir(async (dir) => {
    const log = ["# netmon meters:\tacme-inbound\tacme-outbound", "2026/01/05-10:00:00\t0\t0"];
    const hint = " (see 'netmon summary --help')";
    const cases: [string[], string, number, string][] = [
      [
        ["--by", "fortnight"],
        "",
        64,
        "netmon: --by fortnight: must be one of hour, day, week, month, year, cycle" + hint,
      ],
      [
        ["--from", "2026-02-3"],
        "",
        64,
        "netmon: --from 2026-02-3: write it as YYYY-MM-DD or 'YYYY-MM-DD HH:MM' (in the billing zone, as the rows are labelled)" +
        hint,
      ],
      // Written so, but no such date: the part out of range said, not the form.
      [["--from", "2026-13-01"], "", 64, "netmon: --from 2026-13-01: month 13 is out of range (01 to 12)" + hint],
      [
        ["--from", "2026-02-30"],
        "",
        64,
        "netmon: --from 2026-02-30: day 30 is out of range (February 2026 has 28 days)" + hint,
      ],
      [
        ["--from", "2026-02-02", "--to", "2026-02-01"],
        "",
        64,
        "netmon: --from 2026-02-02 is not before --to 2026-02-01" + hint,
      ],
      [["--csv"], "", 64, "netmon: --csv needs --by or --top (the overview is a table, or JSON with --json)" + hint],
      [["--top", "0"], "", 64, "netmon: --top 0: must be a number of days, 1 or more" + hint],
      [
        ["--meter", "nobody"],
        "",
        64,
        "netmon: --meter nobody: no column, meter or customer of that name (there are: acme-inbound, acme-outbound)" +
        hint,
      ],
      [
        ["--meter", "gamma"],
        '[[customer]]\nname = "acme-outbound"\nmeters = ["acme-outbound"]\n',
        64,
        // A customer named as a column: the name listed once.
        "netmon: --meter gamma: no column, meter or customer of that name (there are: acme-inbound, acme-outbound)" +
        hint,
      ],
      [["--json"], "[billing]\ncycle_day = 32\n", 78, "billing.cycle_day: 32 must be a day of the month, 1 to 31"],
      [["--json"], "[billing]\ncycle_day = 0\n", 78, "billing.cycle_day: 0 must be a day of the month, 1 to 31"],
      [
        ["--json"],
        '[billing]\ntimezone = "Mars/Olympus"\n',
        78,
        'billing.timezone: "Mars/Olympus" is not a time zone name',
      ],
      [
        ["--by", "day"],
        '[[customer]]\nname = "acme"\nmeters = ["acme-in", "acme-out"]\n',
        78,
        `customer[1].meters[1]: "acme-in" matches no meter or column (columns of ${dir}/netmon.log: acme-inbound, acme-outbound)`,
      ],
    ];
    for (const [args, config, code, message] of cases) {
      const r = await summary(dir, { log, config }, args);
      assertEquals([r.code, r.stdout], [code, ""], args.join(" "));
      const errLines = r.stderr.trimEnd().split("\n");
      ok(errLines[0]?.includes(message) && errLines[0].startsWith("netmon: "), `${args.join(" ")}: ${r.stderr}`);
      if (!message.includes("acme-in")) assertEquals(errLines.length, 1, r.stderr);
    }
    // A malformed line: a warning naming file:line, the rest still summed; --strict makes it exit 65.
    const bad = [...log, "2026/01/05-11:00:00\t10", "2026/01/05-12:00:00\t20\t20"];
    const warned = await summary(dir, { log: bad }, ["--by", "day", "--csv"]);
    assertEquals(warned.code, 0);
    assertEquals(
      warned.stderr,
      `netmon: warning: ${dir}/netmon.log:3: expected 3 fields but got 2; line skipped\n`,
    );
    assertEquals(csv(warned.stdout).map((r) => r.total_bytes), ["20", "20"]);
    const strict = await summary(dir, { log: bad }, ["--by", "day", "--strict"]);
    assertEquals([strict.code, strict.stdout], [65, ""]);
    assertEquals(strict.stderr, `netmon: ${dir}/netmon.log:3: expected 3 fields but got 2 (--strict)\n`);
    // A header naming a column twice (a hand edit): refused naming the log, here before and after data lines.
    for (const twice of [["# netmon meters:\tbig\tbig", ...log], [...log, "# netmon meters:\tbig\tbig"]]) {
      const dup = await summary(dir, { log: twice }, ["--by", "day"]);
      assertEquals([dup.code, dup.stdout], [65, ""]);
      match(dup.stderr, new RegExp(`^netmon: ${dir}/netmon\\.log(:\\d+)?: the meters header names "big" twice`));
    }
    await Deno.remove(`${dir}/netmon.log`);
    const none = await netmon(["summary", "-c", `${dir}/netmon.toml`, "-s", dir], { dirs: [dir] });
    assertEquals([none.code, none.stderr], [
      66,
      `netmon: ${dir}/netmon.log: no such log (run 'netmon report' first)\n`,
    ]);
  });
});

Deno.test("a meter split by direction mid-cycle (and back): its customer's cycle is all its columns, not a meter named like one", async () => {
  await withTempDir(async (dir) => {
    // 1 day of acme undirected at 1 B/s, then 1 day split, 2 B/s in and 3 B/s out; acme-v6, a meter of its own, 10 B/s
    // throughout. The interval at the split counts in neither (the split columns count from their first sample).
    const from = Date.UTC(2026, 10, 2);
    const meters = (split: boolean) =>
      `source = "nftables"\n[billing]\ntimezone = "UTC"\n[[meter]]\nname = "acme"\naddress = "192.0.2.0/28"\n` +
      (split ? 'split = "direction"\n' : "") + '[[meter]]\nname = "acme-v6"\naddress = "2001:db8:1::/48"\n' + ACME;
    const undirected = (t0: number, t1: number, base: number) => steady(t0, t1, 300, [1, 10], "UTC", [0, 10 * base]);
    const directed = (t0: number, t1: number, base: number) =>
      steady(t0, t1, 300, [2, 3, 10], "UTC", [0, 0, 10 * base]);
    const day1 = from + DAY * 1000, day2 = day1 + DAY * 1000;
    const c = "2026-11-01T00:00:00+00:00,2026-12-01T00:00:00+00:00";
    const acmeOf = async (log: string[], split: boolean) =>
      csv(await ok0(dir, { log, config: meters(split) }, ["--by", "cycle", "--csv"]))
        .filter((r) => r.kind === "customer")
        .map((r) => [`${r.start},${r.end}`, r.name, r.in_bytes, r.out_bytes, r.total_bytes]);
    const splitLater = [
      "# netmon meters:\tacme\tacme-v6",
      ...undirected(from, day1, 0),
      "# netmon meters:\tacme-inbound\tacme-outbound\tacme-v6",
      ...directed(day1 + 300_000, day2, DAY + 300),
    ];
    const after = DAY - 300;
    const want = [[c, "acme", String(2 * after), String(3 * after), String(DAY + 5 * after)]];
    assertEquals(await acmeOf(splitLater, true), want);
    const unsplitLater = [
      "# netmon meters:\tacme-inbound\tacme-outbound\tacme-v6",
      ...directed(from, day1, 0),
      "# netmon meters:\tacme\tacme-v6",
      ...undirected(day1 + 300_000, day2, DAY + 300),
    ];
    assertEquals(await acmeOf(unsplitLater, false), [[
      c,
      "acme",
      String(2 * DAY),
      String(3 * DAY),
      String(6 * DAY - 300),
    ]]);
  });
});

Deno.test("summary: a meter split in and out, reset once (both columns at one sample), is one reset of its customer", async () => {
  await withTempDir(async (dir) => {
    const log = [
      "# netmon meters:\tacme-inbound\tacme-outbound",
      "2026/01/05-10:00:00\t100\t100",
      "2026/01/05-10:05:00\t200\t200",
      "2026/01/05-10:10:00\t10\t10",
      "2026/01/05-10:15:00\t20\t5",
    ];
    const rows = csv(await ok0(dir, { log, config: ACME }, ["--by", "cycle", "--csv"]));
    assertEquals(rows.map((r) => [r.name, r.kind, r.resets]), [
      ["acme-inbound", "column", "1"],
      ["acme-outbound", "column", "2"],
      ["acme", "customer", "2"],
    ]);
  });
});

Deno.test("a customer added with its meter, before the meter has a column in the log: zero so far, not a config error", async () => {
  // The walkthrough's: adding customer delta (and its meter) broke `summary` for everyone until the next report.
  await withTempDir(async (dir) => {
    const config = 'source = "iptables"\n[[meter]]\nname = "alpha"\nfrom = "192.0.2.0/24"\n' +
      '[[meter]]\nname = "delta"\nfrom = "198.51.100.0/24"\n' +
      '[[customer]]\nname = "alpha"\n[[customer]]\nname = "delta"\n';
    const log = ["# netmon meters:\talpha", ...steady(Date.UTC(2026, 10, 1), Date.UTC(2026, 10, 2), 3600, [1], "UTC")];
    const alpha = csv(await ok0(dir, { log, config }, ["--by", "cycle", "--meter", "alpha", "--csv"]));
    assertEquals(alpha.map((r) => [r.name, r.kind, r.total_bytes]), [["alpha", "column", "86400"], [
      "alpha",
      "customer",
      "86400",
    ]]);
    const delta = csv(await ok0(dir, { log, config }, ["--by", "cycle", "--meter", "delta", "--csv"]));
    assertEquals(delta.map((r) => [r.name, r.kind, r.total_bytes]), [["delta", "customer", "0"]]);
    // The overview: no sample of delta in any period (a zero would read as nothing sent).
    match(
      await ok0(dir, { log, config }, []),
      /\ndelta +no sample +no sample +no sample +0 B +no sample +no sample /,
    );
    // A name matching neither a configured meter nor a column stays an error, naming what the config says: here
    // no `meters`, so the customer's name.
    const r = await summary(dir, { log, config: '[[customer]]\nname = "alpha"\n[[customer]]\nname = "nobody"\n' }, [
      "--by",
      "cycle",
    ]);
    assertEquals([r.code, r.stdout], [78, ""]);
    assertEquals(
      r.stderr,
      `netmon: ${dir}/netmon.toml: customer[2].name: "nobody" (no meters given: its own name) matches no meter or column (columns of ${dir}/netmon.log: alpha)\n`,
    );
  });
});
