/**
 * `netmon check` as a monitoring system runs it: its exit status and its one
 * line parsed by the Monitoring Plugins guidelines (text, then `|` and
 * `'label'=value[UOM];[warn];[crit];[min];[max]` items), for each state: OK,
 * WARNING at a first threshold, CRITICAL at the last, CRITICAL for a stale
 * sample and for a report that found the rules missing, UNKNOWN when the
 * state cannot be read. Real sources in namespaces the tests make, the clock
 * faked (libfaketime).
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import {
  netmon,
  netnsTest,
  NFT_ONE_METER_CONFIG,
  nftOnly,
  type Result,
  sendUdp,
  withPair,
  withTempDir,
} from "./helpers.ts";
import { logSamples, mailSection, netmonAt, type QuotaEnv, withQuotaEnv } from "./quota_env.ts";
import { groupHint } from "../lib/cli/check.ts";
import { fileError } from "../lib/host/errors.ts";
import { AWAY_THREE_HOURS } from "./late_meter.ts";

/** One performance data item. */
interface Perf {
  label: string;
  value: number;
  uom: string;
  warn?: number;
  crit?: number;
  min?: number;
  max?: number;
}

/** A plugin's output as a monitoring system reads it: status, text, and perfdata by label. */
function parsePlugin(r: Result): { status: string; code: number; text: string; perf: Map<string, Perf> } {
  const lines = r.stdout.split("\n");
  assertEquals(lines.length, 2, `one line: ${r.stdout}`);
  assertEquals(lines[1], "");
  const [text, perfText = ""] = (lines[0] as string).split(" | ") as [string, string?];
  ok(!text.includes("|"), "a | only before the performance data");
  const perf = new Map<string, Perf>();
  // Items are separated by spaces; a label with spaces is in single quotes ('' inside is a quote).
  for (const m of perfText.matchAll(/('(?:[^']|'')+'|[^ '=]+)=([^ ]*)/g)) {
    const label = (m[1] as string).replace(/^'|'$/g, "").replaceAll("''", "'");
    const [v = "", warn, crit, min, max] = (m[2] as string).split(";");
    const vm = /^(-?\d+(?:\.\d+)?)([a-zA-Z%]*)$/.exec(v);
    ok(vm, `value of ${label}: ${v}`);
    ok(["", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"].includes(vm[2] as string), `UOM ${vm[2]}`);
    const num = (x: string | undefined) => (x === undefined || x === "" ? undefined : Number(x));
    for (const x of [warn, crit, min, max]) ok(x === undefined || /^(-?\d+(\.\d+)?)?$/.test(x), `threshold ${x}`);
    const item: Perf = { label, value: Number(vm[1]), uom: vm[2] as string };
    for (const [k, x] of [["warn", warn], ["crit", crit], ["min", min], ["max", max]] as const) {
      const n = num(x);
      if (n !== undefined) item[k] = n;
    }
    perf.set(label, item);
  }
  const status = /^NETMON (OK|WARNING|CRITICAL|UNKNOWN) - /.exec(text)?.[1];
  ok(status, text);
  assertEquals(r.code, ["OK", "WARNING", "CRITICAL", "UNKNOWN"].indexOf(status), `exit status for ${status}`);
  return { status, code: r.code, text, perf };
}

const QUOTA = 1 << 20;

function usedSoFar(e: QuotaEnv): number {
  const s = logSamples(e);
  const [a, b] = [s[0]!, s.at(-1)!];
  return [":rx", ":tx"].reduce((x, d) => x + Number(b.counters.get(e.p.va + d)! - a.counters.get(e.p.va + d)!), 0);
}

netnsTest(
  "check: OK, WARNING at the first threshold, CRITICAL at the last and for a stale sample, UNKNOWN",
  () =>
    withQuotaEnv(
      (veth, port) =>
        `source = "interface"\ninterfaces = ["${veth}"]\n[billing]\ntimezone = "UTC"\n` +
        `[[customer]]\nname = "acme's"\nmeters = ["${veth}"]\nquota = "1 MiB"\nalert_at = [80, 100]\n\n` +
        mailSection(port, 'send = "cycle"\n'),
      async (e) => {
        const check = async (at: string) => parsePlugin(await netmonAt(e, at, ["check"]));
        const none = await check("2025-03-10 00:00:00");
        assertEquals([none.status, none.perf.size], ["UNKNOWN", 0]);
        ok(none.text.includes("no sample yet"), none.text);
        for (const at of ["2025-03-10 00:00:00", "2025-03-10 00:05:00"]) assertEquals((await netmonAt(e, at)).code, 0);
        const fine = await check("2025-03-10 00:06:00");
        assertEquals(fine.status, "OK", fine.text);
        ok(fine.text.startsWith("NETMON OK - 1 of 1 quotas below their first threshold, last sample "), fine.text);
        const acme = (r: typeof fine) => r.perf.get("acme's")!;
        // Nagios ranges: a plain threshold N alerts above N, so one byte below where 80% and 100% are reached.
        const warn = Math.ceil(QUOTA * 0.8) - 1;
        assertEquals(acme(fine), {
          label: "acme's",
          value: usedSoFar(e),
          uom: "B",
          warn,
          crit: QUOTA - 1,
          min: 0,
          max: QUOTA,
        });
        const age = fine.perf.get("age")!;
        // Three intervals of 5 min; the faked clock runs from each run's start, so a loaded machine moves the
        // samples' stamps (and so the interval seen) by a few seconds.
        ok(
          age.uom === "s" && age.value >= 55 && age.value <= 70 && Math.abs(age.crit! - 900) <= 15 && age.min === 0,
          `age ${age.value}, critical ${age.crit}`,
        );

        await sendUdp(e.p.b, "192.0.2.1", 850, 1000);
        assertEquals((await netmonAt(e, "2025-03-10 00:10:00")).code, 0);
        const w = await check("2025-03-10 00:11:00");
        assertEquals(w.status, "WARNING", w.text);
        ok(acme(w).value > warn && acme(w).value < QUOTA && acme(w).value === usedSoFar(e));
        ok(/^NETMON WARNING - acme's \d+\.\d\d KiB of 1\.00 MiB \(\d+\.\d%\)$/.test(w.text), w.text);

        await sendUdp(e.p.b, "192.0.2.1", 250, 1000);
        assertEquals((await netmonAt(e, "2025-03-10 00:15:00")).code, 0);
        const c = await check("2025-03-10 00:16:00");
        assertEquals([c.status, acme(c).value >= QUOTA], ["CRITICAL", true], c.text);

        // Three intervals (5 min) without a sample: stale, whatever the quotas say.
        const stale = await check("2025-03-10 00:31:00");
        assertEquals(stale.status, "CRITICAL");
        ok(
          stale.text.startsWith("NETMON CRITICAL - last sample 16 min old (more than three intervals of 5 min)"),
          stale.text,
        );
        // The next cycle: no sample in it yet, so nothing used in it; stale still.
        const april = await check("2025-04-01 00:01:00");
        assertEquals([april.status, acme(april).value], ["CRITICAL", 0], april.text);

        // State that cannot be read: a damaged last file.
        Deno.writeTextFileSync(`${e.dir}/state/netmon.last`, "garbage\n");
        const bad = await check("2025-03-10 00:16:00");
        assertEquals(bad.status, "UNKNOWN", bad.text);
        ok(bad.text.includes("netmon.last"), bad.text);
      },
    ),
);

netnsTest(
  "check: CRITICAL when the last report found the rules missing (exit 69), OK again once they are back",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = `${dir}/netmon.toml`;
        await Deno.writeTextFile(config, NFT_ONE_METER_CONFIG + '[[customer]]\nname = "b"\nquota = "1 GiB"\n');
        const o = nftOnly(p.a, [dir]);
        const cmd = (args: string[]) => netmon([...args, "-c", config, "-s", `${dir}/state`], o);
        assertEquals((await cmd(["start"])).code, 0);
        assertEquals((await cmd(["report"])).code, 0);
        assertEquals(parsePlugin(await cmd(["check"])).status, "OK");
        assertEquals((await cmd(["stop"])).code, 0);
        const failed = await cmd(["report"]);
        assertEquals(failed.code, 69, failed.stderr);
        const c = parsePlugin(await cmd(["check"]));
        assertEquals(c.status, "CRITICAL", c.text);
        ok(c.text.includes("failed with exit 69"), c.text);
        ok(c.perf.has("b"), "the quota's perfdata is still there");
        assertEquals((await cmd(["start"])).code, 0);
        assertEquals((await cmd(["report"])).code, 0);
        assertEquals(parsePlugin(await cmd(["check"])).status, "OK");
      })
    ),
);

netnsTest(
  "check: UNKNOWN in another config's state directory, as the report refuses it, naming that config and the fix",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const [a, b, state] = [`${dir}/a.toml`, `${dir}/b.toml`, `${dir}/state`];
        await Deno.writeTextFile(a, NFT_ONE_METER_CONFIG);
        await Deno.writeTextFile(b, NFT_ONE_METER_CONFIG);
        const o = nftOnly(p.a, [dir]);
        assertEquals((await netmon(["start", "-c", a, "-s", state], o)).code, 0);
        assertEquals((await netmon(["report", "-c", a, "-s", state], o)).code, 0);
        assertEquals(parsePlugin(await netmon(["check", "-c", a, "-s", state], o)).status, "OK");
        const report = await netmon(["report", "-c", b, "-s", state], o);
        assertEquals(report.code, 78, report.stderr);
        const c = parsePlugin(await netmon(["check", "-c", b, "-s", state], o));
        assertEquals(c.status, "UNKNOWN", c.text);
        ok(c.text.startsWith(`NETMON UNKNOWN - check: state directory ${state} is used by ${a} `), c.text);
        ok(c.text.includes(`run 'deno task netmon start --replace -c ${b} -s ${state}' with this config`), c.text);
        assertEquals(c.perf.size, 0, "no figures of the other config's samples");
      }), "misc2"),
);

Deno.test("check after a meter was split by direction mid-cycle: its quota counts the column from before the split", async () => {
  await withTempDir(async (dir) => {
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(
      config,
      'source = "nftables"\n[billing]\ntimezone = "UTC"\n[[meter]]\nname = "acme"\naddress = "192.0.2.0/28"\n' +
        'split = "direction"\n[[customer]]\nname = "acme"\nquota = "1 MiB"\nalert_at = [50, 100]\n',
    );
    // Hourly: acme undirected, 400,000 B by 01:00; split from 02:00, 100,000 B each way by 03:00: 600,000 B of
    // 1 MiB (57%), past the first threshold (the split columns alone, 200,000 B, are not). No tally yet: the check
    // counts from the log.
    const split = "# netmon meters:\tacme-inbound\tacme-outbound";
    const log = ["# netmon meters:\tacme", "2025/03/10-00:00:00\t0", "2025/03/10-01:00:00\t400000", split];
    log.push("2025/03/10-02:00:00\t0\t0", "2025/03/10-03:00:00\t100000\t100000");
    await Deno.mkdir(`${dir}/state`, { mode: 0o750 });
    await Deno.writeTextFile(`${dir}/state/netmon.log`, log.map((l) => `${l}\n`).join(""), { mode: 0o640 });
    const last = `${split}\n2025/03/10-03:00:00\t100000\t100000\t2025/03/10-00:00:00\n`;
    await Deno.writeTextFile(`${dir}/state/netmon.last`, last, { mode: 0o640 });
    const r = await netmon(["check", "-c", config, "-s", `${dir}/state`], {
      dirs: [dir],
      env: { TZ: "UTC" },
      fakeTime: "@2025-03-10 03:01:00",
    });
    const c = parsePlugin(r);
    assertEquals([c.status, c.perf.get("acme")?.value], ["WARNING", 600_000], c.text);
  });
});

Deno.test("check: a meter counting only out (not split) adds nothing to a quota counting in, as the summary says", async () => {
  await withTempDir(async (dir) => {
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(
      config,
      'source = "nftables"\n[billing]\ntimezone = "UTC"\n[[meter]]\nname = "up"\naddress = "198.51.100.0/28"\n' +
        'direction = "out"\n[[customer]]\nname = "acme"\nmeters = ["up"]\nquota = "1 MiB"\ncount = "in"\n' +
        "alert_at = [50, 100]\n",
    );
    // Hourly: 800,000 B out by 01:00 (76% of 1 MiB), none in. No tally yet: the check counts from the log.
    const log = ["# netmon meters:\tup", "2025/03/10-00:00:00\t0", "2025/03/10-01:00:00\t800000"];
    await Deno.mkdir(`${dir}/state`, { mode: 0o750 });
    await Deno.writeTextFile(`${dir}/state/netmon.log`, log.map((l) => `${l}\n`).join(""), { mode: 0o640 });
    const last = "# netmon meters:\tup\n2025/03/10-01:00:00\t800000\t2025/03/10-00:00:00\n";
    await Deno.writeTextFile(`${dir}/state/netmon.last`, last, { mode: 0o640 });
    const o = { dirs: [dir], env: { TZ: "UTC" }, fakeTime: "@2025-03-10 01:01:00" };
    const summary = await netmon(["summary", "-c", config, "-s", `${dir}/state`, "--by", "cycle", "--csv"], o);
    assertEquals(summary.code, 0, summary.stderr);
    const row = summary.stdout.split("\n").find((l) => l.includes(",acme,customer,"))!.split(",");
    assertEquals([row[4], row[5], row[6]], ["0", "800000", "800000"], "the summary: 0 B in, 800,000 B out");
    const c = parsePlugin(await netmon(["check", "-c", config, "-s", `${dir}/state`], o));
    assertEquals([c.status, c.perf.get("acme")?.value], ["OK", 0], c.text);
  });
});

/** `netmon check` at faked time `at` (UTC) on a state directory holding `log` (lines) and `last` (none: no `netmon.last`). */
function checkOnLog(
  log: string[],
  at: string,
  last?: string,
  configText = NFT_ONE_METER_CONFIG,
): Promise<ReturnType<typeof parsePlugin>> {
  let result: ReturnType<typeof parsePlugin> | undefined;
  return withTempDir(async (dir) => {
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, configText);
    await Deno.mkdir(`${dir}/state`, { mode: 0o750 });
    await Deno.writeTextFile(`${dir}/state/netmon.log`, log.map((l) => `${l}\n`).join(""), { mode: 0o640 });
    if (last !== undefined) await Deno.writeTextFile(`${dir}/state/netmon.last`, last, { mode: 0o640 });
    const r = await netmon(["check", "-c", config, "-s", `${dir}/state`], {
      dirs: [dir],
      env: { TZ: "UTC" },
      fakeTime: `@${at}`,
    });
    result = parsePlugin(r);
  }).then(() => result!);
}

Deno.test("check: with a log but no netmon.last, judges the log's last sample and says the next report rebuilds it", async () => {
  const log = [
    "# netmon meters:\tb",
    "2026/11/29-10:00:00\t100",
    "2026/11/29-10:05:00\t200",
    "2026/11/29-10:10:00\t300",
  ];
  const fine = await checkOnLog(log, "2026-11-29 10:11:00");
  assertEquals(fine.status, "OK", fine.text);
  ok(fine.text.startsWith("NETMON OK - last sample 60 s ago; "), fine.text);
  ok(fine.text.includes("netmon.last missing: the next report rebuilds it from the log"), fine.text);
  assertEquals(fine.perf.get("age")?.crit, 900);
  const stale = await checkOnLog(log, "2026-11-29 10:30:00");
  assertEquals(stale.status, "CRITICAL", stale.text);
  ok(stale.text.includes("last sample 20 min old (more than three intervals of 5 min)"), stale.text);
});

Deno.test("check: samples seconds apart (reports run by hand) still allow three minutes, cron's finest step being one", async () => {
  const log = [
    "# netmon meters:\tb",
    "2026/11/29-10:00:00\t100",
    "2026/11/29-10:00:04\t200",
    "2026/11/29-10:00:08\t300",
  ];
  const last = "# netmon meters:\tb\n2026/11/29-10:00:08\t300\t2026/11/29-10:00:00\n";
  const fine = await checkOnLog(log, "2026-11-29 10:00:27", last);
  assertEquals(fine.status, "OK", fine.text);
  ok(fine.text.startsWith("NETMON OK - last sample 19 s ago"), fine.text);
  assertEquals(fine.perf.get("age")?.crit, 180);
  const stale = await checkOnLog(log, "2026-11-29 10:03:30", last);
  assertEquals(stale.status, "CRITICAL", stale.text);
  ok(stale.text.includes("last sample 3 min old (more than three intervals of 60 s)"), stale.text);
});

Deno.test("check: a last sample in the future (the clock stepped back, or a log from elsewhere) is a WARNING saying so", async () => {
  // The walkthrough's: "NETMON OK - ... last sample -1276692 s ago".
  const log = [
    "# netmon meters:\tb",
    "2026/12/15-08:00:00\t100",
    "2026/12/15-08:05:00\t200",
  ];
  const last = "# netmon meters:\tb\n2026/12/15-08:05:00\t200\t2026/12/15-08:00:00\n";
  const behind = await checkOnLog(log, "2026-11-30 13:27:08", last);
  assertEquals(behind.status, "WARNING", behind.text);
  ok(
    behind.text.startsWith(
      "NETMON WARNING - the last sample (2026/12/15-08:05:00) is 354.6 h ahead of the clock: the clock was set back, " +
        "or the log is from another machine; check the time (timedatectl)",
    ),
    behind.text,
  );
  ok(!behind.text.includes(" ago"), behind.text);
});

Deno.test("check: a quota written in MB is said in MB", async () => {
  // The walkthrough's: quota = "2 MB" read "20.47 MiB of 1.91 MiB".
  const log = [
    "# netmon meters:\tb",
    "2026/11/29-10:00:00\t0",
    "2026/11/29-10:05:00\t1000000",
    "2026/11/29-10:10:00\t21470000",
  ];
  const over = await checkOnLog(
    log,
    "2026-11-29 10:11:00",
    undefined,
    NFT_ONE_METER_CONFIG + '[[customer]]\nname = "b"\nquota = "2 MB"\n',
  );
  assertEquals(over.status, "CRITICAL", over.text);
  ok(over.text.startsWith("NETMON CRITICAL - b 21.47 MB of 2.00 MB (1073.5%)"), over.text);
  assertEquals(over.perf.get("b")?.max, 2_000_000, "the perfdata in bytes, as before");
});

Deno.test("check refused by the file system as a monitoring user says how to give its group the state directory for good", () => {
  const refused = fileError(new Deno.errors.PermissionDenied("open"), "read last file", "/var/lib/netmon/netmon.last");
  const hint = groupHint(refused, () => 65534);
  ok(hint.startsWith(" (check runs as uid 65534: "), hint);
  // The setgid bit: each report replaces the files, and a new file gets the directory's group only with it.
  ok(hint.includes("chmod g+rxs DIR"), hint);
  assertEquals(groupHint(refused, () => 0), "", "root is not refused so; nothing to add");
  assertEquals(groupHint(new Error("other"), () => 65534), "");
});

Deno.test("check: a threshold of a quota is passed at its percentage exactly, never below it, and the perf data says the same", async () => {
  const config = NFT_ONE_METER_CONFIG + '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["b"]\n' +
    'quota = "1 GiB"\nalert_at = [33, 66.7]\n';
  // 33% of 1 GiB is 354,334,801.92 B: 354,334,801 B is 32.9999999%, below it; 354,334,802 B is past it.
  const at = async (used: number) => {
    const log = ["# netmon meters:\tb", "2026/11/29-10:00:00\t0", `2026/11/29-10:05:00\t${used}`];
    const c = await checkOnLog(log, "2026-11-29 10:06:00", undefined, config);
    const p = c.perf.get("acme");
    // Nagios ranges: a plain threshold N alerts when the value is above N.
    const perfSays = p === undefined
      ? undefined
      : p.value > p.crit!
      ? "CRITICAL"
      : p.value > p.warn!
      ? "WARNING"
      : "OK";
    return [c.status, perfSays, p?.warn, p?.crit];
  };
  assertEquals(await at(354_334_801), ["OK", "OK", 354_334_801, 716_185_796]);
  assertEquals(await at(354_334_802), ["WARNING", "WARNING", 354_334_801, 716_185_796]);
  // 66.7% is 716,185,796.608 B: CRITICAL from 716,185,797 B.
  assertEquals(await at(716_185_796), ["WARNING", "WARNING", 354_334_801, 716_185_796]);
  assertEquals(await at(716_185_797), ["CRITICAL", "CRITICAL", 354_334_801, 716_185_796]);
});

Deno.test("check: a meter removed for three hours and added back counts its time away shared by time, as the summary", async () => {
  const config = 'source = "nftables"\n[billing]\ntimezone = "UTC"\n[[meter]]\nname = "a"\nfrom = "192.0.2.1"\n' +
    '[[meter]]\nname = "r"\nfrom = "192.0.2.2"\n[[customer]]\nname = "ac"\nmeters = ["a", "r"]\nquota = "1 MiB"\n';
  const log = [...AWAY_THREE_HOURS];
  // r: 10,800 B from 23:00 to 02:00, 1 h of them in October; November is 10,800 B of a and 10,800 B of r.
  const c = await checkOnLog(log, "2026-11-01 03:01:00", undefined, config);
  assertEquals([c.status, c.perf.get("ac")?.value], ["OK", 21_600], c.text);
});
