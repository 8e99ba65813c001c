/**
 * The zone of the log's stamps (lib/state/zone_record.ts): a log is read in
 * the zone its report wrote it in, whatever the reader's `TZ`. The same log
 * read under New York's and Berlin's `TZ` gives the same summary (table, CSV,
 * JSON) and graph buckets, equal to figures worked out by hand; reports
 * under Berlin's then New York's `TZ` (libfaketime, the interface source in
 * namespaces this test makes) record the change once and are read across it.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { parseExactJson } from "../lib/host/json.ts";
import { CSV_HEADER } from "../lib/usage/csv.ts";
import { logZone, parseZoneRecord } from "../lib/state/zone_record.ts";
import { ianaZone, latestInstant, localZone, wallToInstant, zoneHistory } from "../lib/usage/zone.ts";
import { stampToNaive } from "../lib/usage/local_time.ts";
import { graph, netmon, netnsTest, type Result, sendUdp, withPair, withTempDir } from "./helpers.ts";
import { TEST_BOOT_TIME } from "../lib/host/boot.ts";

const HOUR = 3_600_000;

/** The stamp of instant `epoch` as a report in `zone` writes it. */
function stamp(epoch: number, zone: string): string {
  const z = Temporal.Instant.fromEpochMilliseconds(epoch).toZonedDateTimeISO(zone);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${z.year}/${p(z.month)}/${p(z.day)}-${p(z.hour)}:${p(z.minute)}:${p(z.second)}`;
}

/** A successful run's stdout (no warnings). */
function ok0(r: Result, what: string): string {
  assertEquals({ code: r.code, stderr: r.stderr }, { code: 0, stderr: "" }, what);
  return r.stdout;
}

/** CSV lines as records of the header's fields. */
function csv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trimEnd().split("\n");
  assertEquals(header, CSV_HEADER);
  const keys = CSV_HEADER.split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [keys[i], v])));
}

// alpha counts 1 B/s and beta 2 B/s, sampled every 6 hours from 28 October 2026 12:00 UTC to 3 November 12:00 UTC,
// by a report whose zone is Berlin (CET from 25 October: UTC+1), which recorded it as a report does.
const FIRST = Date.UTC(2026, 9, 28, 12);
const LAST = Date.UTC(2026, 10, 3, 12);
const BERLIN_LOG = (() => {
  const lines = ["# netmon meters:\talpha\tbeta"];
  for (let t = FIRST; t <= LAST; t += 6 * HOUR) {
    const s = (t - FIRST) / 1000;
    lines.push(`${stamp(t, "Europe/Berlin")}\t${s}\t${2 * s}`);
  }
  return lines.join("\n") + "\n";
})();
const BERLIN_RECORD = "# netmon: the zone of netmon.log's stamps from each instant on (lib/state/zone_record.ts)\n" +
  "-\tEurope/Berlin\n";

Deno.test("summary: the same log read under New York's and Berlin's TZ gives the figures of the zone it was written in", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/netmon.log`, BERLIN_LOG);
    await Deno.writeTextFile(`${dir}/netmon.zone`, BERLIN_RECORD);
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, "[billing]\ncycle_day = 1\n"); // no zone: the machine's, the log's
    const run = async (tz: string, args: string[]) =>
      ok0(
        await netmon(["summary", "-c", config, "-s", dir, "--by", "cycle", "--meter", "alpha", ...args], {
          dirs: [dir],
          env: { TZ: tz },
        }),
        `${tz} ${args.join(" ")}`,
      );
    for (const args of [["--csv"], ["--json"], []]) {
      const ny = await run("America/New_York", args);
      assertEquals(await run("Europe/Berlin", args), ny, args.join(" "));
      assertEquals(await run("Asia/Tokyo", args), ny, args.join(" "));
    }
    // By hand: October in Berlin is 1 October 00:00 CEST (30 September 22:00 UTC) to 1 November 00:00 CET
    // (31 October 23:00 UTC), 745 hours; alpha's samples cover it from 28 October 12:00 UTC, 83 hours at 1 B/s.
    const rows = csv(await run("America/New_York", ["--csv"])).filter((r) => r.name === "alpha");
    const closedEnd = Date.UTC(2026, 9, 31, 23);
    assertEquals(rows.map((r) => [r.start, r.end, r.total_bytes]), [
      ["2026-10-01T00:00:00+02:00", "2026-11-01T00:00:00+01:00", String((closedEnd - FIRST) / 1000)],
      ["2026-11-01T00:00:00+01:00", "2026-12-01T00:00:00+01:00", String((LAST - closedEnd) / 1000)],
    ]);
    assertEquals(Number(rows[0]?.coverage), Number((83 / 745).toFixed(6)));
    const json = parseExactJson(await run("Europe/Berlin", ["--json"])) as { timezone: string };
    assertEquals(json.timezone, "Europe/Berlin");
  }));

Deno.test("graph.ts --by day: a log read under another TZ has the days of the zone it was written in", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/netmon.log`, BERLIN_LOG);
    await Deno.writeTextFile(`${dir}/netmon.zone`, BERLIN_RECORD);
    const out = async (tz: string, how: string[]) =>
      ok0(
        await graph([`${dir}/netmon.log`, "--by", "day", ...how, "-o", "-"], { dirs: [dir], env: { TZ: tz } }),
        `${tz} ${how.join(" ")}`,
      );
    const days = ["10/28", "10/29", "10/30", "10/31", "11/01", "11/02", "11/03"].map((d) => `2026/${d}`);
    // By hand: Berlin's days are 23:00 to 23:00 UTC; the first sample (28 October 13:00 CET) is 11 hours before the
    // end of its day, the last (3 November 13:00) 13 hours after the start of its.
    const bytes = [11 * 3600, 86400, 86400, 86400, 86400, 86400, 13 * 3600];
    for (const tz of ["Europe/Berlin", "America/New_York"]) {
      assertEquals(
        await out(tz, ["--unit", "B"]),
        ["Date\talpha\tbeta", ...days.map((d, i) => `${d}\t${bytes[i]}\t${2 * bytes[i]!}`)].join("\n") + "\n",
        tz,
      );
      // Each of Berlin's days is 24 hours (New York's 1 November, 25): 1 and 2 B/s in every one.
      assertEquals(
        await out(tz, ["--rate", "B/s"]),
        ["Date\talpha\tbeta", ...days.map((d) => `${d}\t1.00\t2.00`)].join("\n") + "\n",
        tz,
      );
    }
  }));

Deno.test("zone record: a history is one zone whose offset switches at the recorded instants", () => {
  const at = Date.UTC(2026, 10, 30, 0);
  const text = `# comment\n-\tEurope/Berlin\n2026-11-30T00:00:00Z\tAmerica/New_York\n`;
  const entries = parseZoneRecord(text, "netmon.zone");
  assertEquals(entries.map((e) => [e.from, e.name]), [[-Infinity, "Europe/Berlin"], [at, "America/New_York"]]);
  const zone = zoneHistory(entries.map((e) => ({ from: e.from, zone: ianaZone(e.name) })));
  assertEquals([zone.offsetAt(at - 1000), zone.offsetAt(at)], [HOUR, -5 * HOUR]);
  // Read forward: Berlin's 00:59:59 before the change, then New York's 19:00:00 (the wall clock went back 6 hours).
  const before = { epoch: at - 1000, offset: HOUR };
  assertEquals(wallToInstant(zone, stampToNaive("2026/11/29-19:00:00"), before), at);
  for (
    const bad of [
      "2026-11-30T00:00:00Z\tUTC\n",
      "-\tUTC\n-\tUTC\n",
      "-\tUTC\n2026-11-30T00:00:01Z\tUTC\n2026-11-30T00:00:00Z\tUTC\n",
      "-\tUTC\n2026-11-30\tUTC\n",
      "-UTC\n",
    ]
  ) {
    let said = "";
    try {
      parseZoneRecord(bad, "netmon.zone");
    } catch (e) {
      said = (e as Error).message;
    }
    ok(/^netmon\.zone:\d: not a zone record line .*: fix or remove the line$/.test(said), `${bad}: ${said}`);
  }
});

Deno.test("latestInstant: a previous stamp is read as the latest of its instants not after the next sample's", () => {
  const berlin = ianaZone("Europe/Berlin");
  const two = stampToNaive("2026/10/25-02:00:00"); // 00:00 UTC in summer time, 01:00 UTC in winter time
  assertEquals(latestInstant(berlin, two, Date.UTC(2026, 9, 25, 1, 5)), Date.UTC(2026, 9, 25, 1));
  assertEquals(latestInstant(berlin, two, Date.UTC(2026, 9, 25, 0, 55)), Date.UTC(2026, 9, 25, 0));
  // None not after it (the clock was stepped back): the earlier, as wallToInstant reads it.
  assertEquals(latestInstant(berlin, two, Date.UTC(2026, 9, 24, 12)), Date.UTC(2026, 9, 25, 0));
  // Once, or never (spring's skipped hour): as wallToInstant reads it.
  const noon = stampToNaive("2026/10/25-12:00:00");
  assertEquals(latestInstant(berlin, noon, Date.UTC(2026, 9, 26)), Date.UTC(2026, 9, 25, 11));
  const skipped = stampToNaive("2026/03/29-02:30:00");
  assertEquals(latestInstant(berlin, skipped, Date.UTC(2026, 2, 30)), wallToInstant(berlin, skipped));
});

/**
 * Reports in namespace `ns` with the interface source, at faked instant `at`, in zone `tz`. libfaketime is given the
 * instant as Unix seconds (FAKETIME_FMT): a wall time of the autumn's repeated hour would be ambiguous.
 */
function reportAt(dir: string, ns: string, at: number, tz: string): Promise<Result> {
  return netmon(["report", "-c", `${dir}/netmon.toml`, "-s", `${dir}/state`], {
    ns,
    permissions: [
      "--allow-run=/usr/sbin/ip,/usr/bin/stat",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      `--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,${TEST_BOOT_TIME}`,
      "--allow-sys=uid,osUptime",
    ],
    env: { TZ: tz, FAKETIME_FMT: "%s" },
    fakeTime: `@${Math.floor(at / 1000)}`,
  });
}

netnsTest(
  "report in the autumn's repeated hour: the textfile's sample time and the SQLite store's rows are each pass's own",
  () =>
    withPair(
      (p) =>
        withTempDir(async (dir) => {
          await Deno.writeTextFile(
            `${dir}/netmon.toml`,
            `source = "interface"\ninterfaces = ["${p.va}"]\nstore = "sqlite:${dir}/state/netmon.sqlite"\n` +
              `[prometheus]\ntextfile = "${dir}/state/netmon.prom"\n`,
          );
          // Berlin, 25 October 2026: 02:55 CEST, then 02:00 and 02:05 CET (the wall clock went back at 03:00 CEST).
          const runs = [55, 60, 65].map((m) => Date.UTC(2026, 9, 25, 0, m));
          const shown: number[] = [];
          for (const at of runs) {
            const r = await reportAt(dir, p.a, at, "Europe/Berlin");
            assertEquals(r.code, 0, r.stderr);
            const prom = await Deno.readTextFile(`${dir}/state/netmon.prom`);
            shown.push(Number(/^netmon_last_sample_timestamp_seconds (\d+)$/m.exec(prom)?.[1]) * 1000);
          }
          const stamps = (await Deno.readTextFile(`${dir}/state/netmon.log`)).split("\n")
            .filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.slice(0, 19));
          assertEquals(stamps.map((s) => s.slice(11, 16)), ["02:55", "02:00", "02:05"]);
          shown.forEach((t, i) => ok(Math.abs(t - runs[i]!) < 60_000, `textfile of run ${i}: ${t} for ${runs[i]}`));
          const { DatabaseSync } = await import("node:sqlite");
          const db = new DatabaseSync(`${dir}/state/netmon.sqlite`);
          const stored = db.prepare("SELECT DISTINCT stamp FROM stats ORDER BY stamp").all().map((r) =>
            Number(r.stamp)
          );
          db.close();
          assertEquals(stored.length, 3, `one second per sample: ${stored}`);
          stored.forEach((t, i) => ok(Math.abs(t * 1000 - runs[i]!) < 60_000, `stored sample ${i}: ${t}`));
        }),
      "nmzone2",
    ),
);

netnsTest(
  "report: a zone change between reports is recorded once, and every stamp read in its own zone",
  () =>
    withPair(
      (p) =>
        withTempDir(async (dir) => {
          await Deno.writeTextFile(
            `${dir}/netmon.toml`,
            `source = "interface"\ninterfaces = ["${p.va}"]\n[billing]\ntimezone = "UTC"\n`,
          );
          // Berlin at 20:00 and 22:00 UTC (21:00, 23:00 CET), then New York at 02:00 and 04:00 UTC (21:00, 23:00 EST
          // the day before): the wall clock goes back 6 hours at the change, and the interval across it holds UTC's
          // midnight.
          const runs: [number, string][] = [
            [Date.UTC(2026, 10, 29, 20), "Europe/Berlin"],
            [Date.UTC(2026, 10, 29, 22), "Europe/Berlin"],
            [Date.UTC(2026, 10, 30, 2), "America/New_York"],
            [Date.UTC(2026, 10, 30, 4), "America/New_York"],
          ];
          const said: string[] = [];
          for (const [i, [at, tz]] of runs.entries()) {
            if (i > 0) await sendUdp(p.b, "192.0.2.1", 20 * i, 1000);
            const r = await reportAt(dir, p.a, at, tz);
            assertEquals(r.code, 0, r.stderr);
            said.push(r.stderr);
          }
          assertEquals(said.map((s) => s.includes("time zone")), [false, false, true, false], said.join(""));
          ok(
            /the time zone changed from Europe\/Berlin to America\/New_York: stamps from /.test(said[2] as string),
            said[2],
          );
          let record: string[][] = [];
          try {
            record = (await Deno.readTextFile(`${dir}/state/netmon.zone`)).split("\n")
              .filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split("\t"));
          } catch { /* none: asserted below */ }
          assertEquals(record.map((e) => e[1]), ["Europe/Berlin", "America/New_York"]);
          assertEquals(record[0]?.[0], "-");
          assertEquals((await Deno.stat(`${dir}/state/netmon.zone`)).mode! & 0o777, 0o640);
          // By hand: each stamp in the zone its report ran in, each interval shared between UTC days by time.
          const samples = (await Deno.readTextFile(`${dir}/state/netmon.log`)).split("\n")
            .filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split("\t"));
          assertEquals(samples.length, 4);
          const epochs = samples.map((s, i) => wallToInstant(ianaZone(runs[i]![1]), stampToNaive(s[0]!)));
          epochs.forEach((e, i) => ok(Math.abs(e - runs[i]![0]) < 60_000, `sample ${i} at ${e}`));
          assertEquals(
            Date.parse(record[1]![0]!),
            Math.floor(epochs[1]! / 1000) * 1000 + 1000,
            "the change: a second after the last sample in Berlin",
          );
          const midnight = Date.UTC(2026, 10, 30);
          const expected = [`${p.va}:rx`, `${p.va}:tx`].map((_, j) => {
            const v = samples.map((s) => BigInt(s[j + 1]!));
            const across = v[2]! - v[1]!;
            const before = across * BigInt(midnight - epochs[1]!) / BigInt(epochs[2]! - epochs[1]!);
            return [v[1]! - v[0]! + before, across - before + v[3]! - v[2]!];
          });
          ok(expected.some(([a, b]) => a! > 0n && b! > 0n), "traffic on both days");
          const sums = async (tz: string) => {
            const r = await netmon([
              "summary",
              "-c",
              `${dir}/netmon.toml`,
              "-s",
              `${dir}/state`,
              "--by",
              "day",
              "--csv",
            ], {
              dirs: [dir],
              env: { TZ: tz },
            });
            return ok0(r, tz);
          };
          const text = await sums("America/New_York");
          assertEquals(await sums("Europe/Berlin"), text);
          const rows = csv(text);
          for (const [j, suffix] of [":rx", ":tx"].entries()) {
            const mine = rows.filter((r) => r.name === p.va + suffix);
            assertEquals(mine.map((r) => [r.start, BigInt(r.total_bytes!)]), [
              ["2026-11-29T00:00:00+00:00", expected[j]![0]],
              ["2026-11-30T00:00:00+00:00", expected[j]![1]],
            ]);
          }
        }),
      "nmzone",
    ),
);

Deno.test("a move west a day after the last sample: recorded a second after it, so the new zone's first stamp, also a later wall time of the old zone, reads as the new zone's", () =>
  withTempDir(async (dir) => {
    const module = new URL("../lib/state/zone_record.ts", import.meta.url).href;
    const files = new URL("../lib/state/files.ts", import.meta.url).href;
    await Deno.writeTextFile(`${dir}/netmon.zone`, "# netmon\n-\tEurope/Berlin\n");
    // The walkthrough's: the last report in Berlin (19:00 CET), the next a day later in New York (19:00 EST), whose
    // stamp is also Berlin's 19:00 of that day, after the last Berlin sample.
    const last = Date.UTC(2026, 10, 28, 18);
    const at = Date.UTC(2026, 10, 30, 0);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { StampZone } from "${module}"; import { stateFiles } from "${files}"; ` +
        `const z = new StampZone(stateFiles(${JSON.stringify(dir)})); z.read(); ` +
        `z.note(${at}, [], "2026/11/28-19:00:00");`,
      ],
      env: { TZ: "America/New_York", NO_COLOR: "1" },
      stderr: "piped",
    }).output();
    assertEquals(new TextDecoder().decode(out.stderr), "");
    const entries = parseZoneRecord(await Deno.readTextFile(`${dir}/netmon.zone`), "netmon.zone");
    assertEquals(entries.map((e) => [e.from, e.name]), [[-Infinity, "Europe/Berlin"], [
      last + 1000,
      "America/New_York",
    ]]);
    const zone = logZone(`${dir}/netmon.log`);
    assertEquals(wallToInstant(zone, stampToNaive("2026/11/28-19:00:00")), last);
    assertEquals(wallToInstant(zone, stampToNaive("2026/11/29-19:00:00"), { epoch: last, offset: HOUR }), at);
  }));

Deno.test("report's zone step: a TZ with no IANA name is recorded as nothing, said once, and read in the reader's zone", () =>
  withTempDir(async (dir) => {
    const module = new URL("../lib/state/zone_record.ts", import.meta.url).href;
    const files = new URL("../lib/state/files.ts", import.meta.url).href;
    // The report's step as the report takes it, in a Deno whose TZ is `tz`; its warnings as JSON.
    const step = async (tz: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `import { StampZone } from "${module}"; import { stateFiles } from "${files}"; const w = []; ` +
          `const z = new StampZone(stateFiles(${JSON.stringify(dir)})); z.read(); z.note(Date.now(), w); ` +
          "console.log(JSON.stringify(w));",
        ],
        env: { TZ: tz, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(new TextDecoder().decode(out.stderr), "");
      return JSON.parse(new TextDecoder().decode(out.stdout)) as string[];
    };
    const first = await step("XYZ-3"); // 3 hours ahead of UTC, with no name (Temporal calls it UTC)
    assertEquals(first.length, 1);
    ok(/^the time zone has no IANA name \(set TZ to one such as Europe\/Berlin, or unset it\)/.test(first[0]!));
    assertEquals(await step("XYZ-3"), []);
    assertEquals(await step("Europe/Berlin"), [
      ...(await Deno.readTextFile(`${dir}/netmon.zone`)).split("\n").slice(2, 3).map((l) =>
        `the time zone changed from one with no IANA name to Europe/Berlin: stamps from ${
          stamp(Date.parse(l.slice(0, 20)), "Europe/Berlin")
        } on are read in Europe/Berlin, those before in each reader's own zone (${dir}/netmon.zone)`
      ),
    ]);
    assertEquals(await step("Europe/Berlin"), []);
    const lines = (await Deno.readTextFile(`${dir}/netmon.zone`)).split("\n");
    assertEquals([lines[1], lines[2]?.slice(20), lines[3]], ["-\t", "\tEurope/Berlin", ""]);
    // Read: the reader's own zone before the change, Berlin's from it.
    const change = Date.parse(lines[2]!.slice(0, 20));
    const zone = logZone(`${dir}/netmon.log`);
    assertEquals(zone.offsetAt(change - 1000), localZone().offsetAt(change - 1000));
    assertEquals(zone.offsetAt(change), ianaZone("Europe/Berlin").offsetAt(change));
  }));

Deno.test("report: a damaged or planted zone record fails the run before the counters are read, so pf -z clears none", () =>
  withTempDir(async (dir) => {
    // pfctl cannot run here: a script stands for it, printing one label's counters and noting each run.
    const calls = `${dir}/pfctl.calls`;
    await Deno.writeTextFile(`${dir}/pfctl`, `#!/bin/sh\necho "$*" >> '${calls}'\necho "acme 1 2 3"\n`, {
      mode: 0o755,
    });
    await Deno.chmod(`${dir}/pfctl`, 0o755);
    await Deno.writeTextFile(
      `${dir}/netmon.toml`,
      `source = "pf"\npf_zero = true\n[binaries]\npfctl = "${dir}/pfctl"\n[[meter]]\nname = "acme"\n` +
        `address = "192.0.2.0/28"\n`,
    );
    const report = () =>
      netmon(["report", "-c", `${dir}/netmon.toml`, "-s", `${dir}/state`], { dirs: [dir], run: [`${dir}/pfctl`] });
    const runs = async () => (await Deno.readTextFile(calls)).split("\n").length - 1;
    const first = await report();
    assertEquals(first.code, 0, first.stderr);
    assertEquals(await runs(), 1);
    const record = `${dir}/state/netmon.zone`;
    await Deno.writeTextFile(record, "-\tUTC\nyesterday\tAsia/Tokyo\n");
    const damaged = await report();
    assertEquals(damaged.code, 65, damaged.stderr);
    ok(damaged.stderr.includes(`${record}:2: not a zone record line`), damaged.stderr);
    assertEquals(await runs(), 1, "pfctl -z did not run: nothing cleared unlogged");
    // A zone this Deno does not know, where the run's zone differs (the change would be read in it): before them too.
    await Deno.writeTextFile(record, "-\tMars/Olympus_Mons\n");
    const unknown = await report();
    assertEquals(unknown.code, 65, unknown.stderr);
    ok(unknown.stderr.includes(`${record}:1: "Mars/Olympus_Mons" is not a time zone this Deno knows`), unknown.stderr);
    assertEquals(await runs(), 1, "pfctl -z did not run: nothing cleared unlogged");
    // Another user's record (made while the directory let them): refused, before the counters too.
    await Deno.writeTextFile(record, "-\tEurope/Berlin\n");
    await Deno.chown(record, 65534, 65534);
    const planted = await report();
    assertEquals(planted.code, 77, planted.stderr);
    ok(planted.stderr.includes(`rm ${record}`), planted.stderr);
    assertEquals(await runs(), 1, "pfctl -z did not run: nothing cleared unlogged");
  }));
