/**
 * Quota alerts end to end: the interface source metering a veth in
 * namespaces the test makes, exact traffic from the peer, a real SMTP server,
 * and the clock faked (libfaketime) across days and billing cycles. What is
 * mailed is read back from the server and decoded as a mail client would.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { alertsOutput, dueAlerts, unmailedNotes } from "../lib/outputs/alerts.ts";
import { parseConfig } from "../lib/config/config.ts";
import { customerColumns } from "../lib/config/customers.ts";
import { columnsAsConfigured } from "../lib/config/meters.ts";
import { stateFiles } from "../lib/state/files.ts";
import { type Recorded, recordSample } from "../lib/state/record.ts";
import { formatTimestamp } from "../lib/usage/local_time.ts";
import { iecBytes } from "../lib/usage/units.ts";
import { calendar } from "../lib/usage/calendar.ts";
import { usageByBucket } from "../lib/usage/engine.ts";
import { ianaZone, localZone, zoneHistory, zoneNamed } from "../lib/usage/zone.ts";
import { advanceTally, customerCycle, p95SoFar, type Tally } from "../lib/usage/cycle_tally.ts";
import { fingerprint, reportColumns, reportPlan, tallyPlan, watchedCustomers } from "../lib/usage/cycle_customers.ts";
import { formatTally, readTally, sentPath, tallyPath, writeTally } from "../lib/state/tally_file.ts";
import { named, netnsTest, removeFaketimeLeftovers, sendUdp, spawnNetmon, withTempDir } from "./helpers.ts";
import { seededRandom } from "./random.ts";
import { isMessageId } from "./smtp_server.ts";
import { LATE, lateMeterCounters } from "./late_meter.ts";
import {
  decodeMail,
  logSamples,
  type Mail,
  mailSection,
  netmonAt,
  type QuotaEnv,
  runOpts,
  spoolOf,
  withQuotaEnv,
} from "./quota_env.ts";

/** The alert mails received so far (the reports, mailed every run by default, left out). */
function alerts(e: QuotaEnv): Mail[] {
  return e.smtp.messages().map(decodeMail).filter((m) => (m.headers.get("subject") ?? "").startsWith("netmon: "));
}

const MiB = 1n << 20n;

function quotaConfig(veth: string, port: number, customer = ""): string {
  return `source = "interface"\ninterfaces = ["${veth}"]\n\n[billing]\ncycle_day = 1\ntimezone = "UTC"\n\n` +
    `[[customer]]\nname = "acme"\nmeters = ["${veth}"]\nquota = "1 MiB"\nalert_at = [80, 100]\n` +
    `alert_to = "noc@example.com"\n${customer}\n${mailSection(port)}`;
}

/** 1000-byte datagrams from the peer to the metered side: about `bytes` on the veth. */
async function traffic(e: QuotaEnv, bytes: number): Promise<void> {
  await sendUdp(e.p.b, "192.0.2.1", Math.ceil(bytes / 1042), 1000);
}

/** What the alert for `pct` must say, from the log (in = rx, out = tx since the cycle's first sample). */
function expectedAlert(e: QuotaEnv, pct: number, from: number, cycle: [string, string, string, string]): string {
  const samples = logSamples(e);
  const first = samples[from]!;
  const last = samples.at(-1)!;
  const rx = `${e.p.va}:rx`, tx = `${e.p.va}:tx`;
  const inB = last.counters.get(rx)! - first.counters.get(rx)!;
  const outB = last.counters.get(tx)! - first.counters.get(tx)!;
  const used = inB + outB;
  const [startDay, lastDay, start, end] = cycle;
  const startMs = Date.parse(start), endMs = Date.parse(end);
  const since = Math.max(startMs, first.epoch);
  const projected = used * BigInt(endMs - since) / BigInt(last.epoch - since);
  return `acme has passed ${pct}% of its quota in the billing cycle ${startDay} .. ${lastDay}: ` +
    `${(100 * Number(used) / Number(MiB)).toFixed(1)}% used.\n\n` +
    `Used so far: ${iecBytes(used)} (in and out: in ${iecBytes(inB)}, out ${iecBytes(outB)})\n` +
    `Quota: ${iecBytes(MiB)} per billing cycle\n` +
    `Projected for the whole cycle: ${iecBytes(projected)}\n` +
    `Billing cycle: ${startDay} .. ${lastDay} (${start.replace(".000Z", "+00:00")} to ${
      end.replace(".000Z", "+00:00")
    })\n` +
    `As of the sample of ${last.stamp}\n`;
}

netnsTest(
  "quota crossed at 80% then 100%: two alerts with the right figures, none after, the next cycle again",
  () =>
    withQuotaEnv((veth, port) => quotaConfig(veth, port), async (e) => {
      const ok0 = async (at: string) => {
        const r = await netmonAt(e, at);
        assertEquals({ at, code: r.code, stderr: r.stderr }, { at, code: 0, stderr: "" });
      };
      const march: [string, string, string, string] = [
        "2025-03-01",
        "2025-03-31",
        "2025-03-01T00:00:00.000Z",
        "2025-04-01T00:00:00.000Z",
      ];
      await ok0("2025-03-10 00:00:00"); // the log begins mid-cycle
      await traffic(e, 500_000);
      await ok0("2025-03-10 06:00:00");
      assertEquals(alerts(e).length, 0, "48%: no alert yet");
      await traffic(e, 350_000);
      await ok0("2025-03-11 00:00:00");
      const first = alerts(e);
      assertEquals(first.map((m) => [m.headers.get("subject"), m.to]), [[
        "netmon: acme passed 80% of its quota (2025-03-01 .. 2025-03-31)",
        ["noc@example.com"],
      ]]);
      assertEquals(first[0]!.text, expectedAlert(e, 80, 0, march));
      await ok0("2025-03-12 00:00:00");
      assertEquals(alerts(e).length, 1, "still over 80%, under 100%: nothing new");
      await traffic(e, 250_000);
      await ok0("2025-03-13 00:00:00");
      const second = alerts(e).slice(1);
      assertEquals(second.map((m) => m.headers.get("subject")), [
        "netmon: acme passed 100% of its quota (2025-03-01 .. 2025-03-31)",
      ]);
      assertEquals(second[0]!.text, expectedAlert(e, 100, 0, march));
      await traffic(e, 100_000);
      await ok0("2025-03-14 00:00:00");
      await ok0("2025-03-20 00:00:00");
      assertEquals(alerts(e).length, 2, "over 100%: nothing more this cycle");
      // The next cycle: its first sample (the interval across midnight split by time), then its own thresholds.
      await ok0("2025-04-01 00:00:00");
      assertEquals(alerts(e).length, 2);
      const aprilFirst = logSamples(e).length - 1;
      await traffic(e, 900_000);
      await ok0("2025-04-02 00:00:00");
      await traffic(e, 200_000);
      await ok0("2025-04-03 00:00:00");
      const april = alerts(e).slice(2);
      assertEquals(april.map((m) => m.headers.get("subject")), [
        "netmon: acme passed 80% of its quota (2025-04-01 .. 2025-04-30)",
        "netmon: acme passed 100% of its quota (2025-04-01 .. 2025-04-30)",
      ]);
      const ids = alerts(e).map((m) => m.headers.get("message-id"));
      assertEquals(new Set(ids).size, 4, "each alert its own Message-ID");
      for (const id of ids) ok(isMessageId(id), id);
      ok(
        april[1]!.text.includes(
          expectedAlert(e, 100, aprilFirst, [
            "2025-04-01",
            "2025-04-30",
            "2025-04-01T00:00:00.000Z",
            "2025-05-01T00:00:00.000Z",
          ])
            .split("\n")[2]!,
        ),
        april[1]!.text,
      );
      assertEquals(spoolOf(e), []);
      // Every report still mailed as the original did ([mail] send defaults to "report"), to [mail] to.
      const reports = e.smtp.messages().map(decodeMail).filter((m) => !alerts(e).some((a) => a.raw === m.raw));
      assertEquals(reports.length, 10, "ten reports, ten report mails");
      ok(reports.every((m) => m.to.join() === "ops@example.org"));
    }),
);

netnsTest(
  "SIGKILL at random instants over 108 of 120 runs across both thresholds in 12 cycles: each alerted once",
  () =>
    withQuotaEnv((veth, port) => quotaConfig(veth, port), async (e) => {
      const random = seededRandom("alert SIGKILL instants");
      // Each month: ten runs an hour apart from its 1st, 300 kB before each of runs 2 to 5 (80% at the 4th,
      // 100% at the 5th, if all are logged).
      const at = (m: number, k: number) => `2024-${String(m + 1).padStart(2, "0")}-01 0${k}:00:00`;
      const args = ["report"];
      const durations: number[] = [];
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        const r = await netmonAt(e, `2023-12-31 0${k}:00:00`, args);
        assertEquals(r.code, 0, r.stderr);
        durations.push(performance.now() - t0);
      }
      // Kill instants uniform over a span that follows the runs: 1.4 times the median of the warm-up runs at first,
      // then longer after each kill and drawn toward 1.4 times each completed run, so most runs are hit whatever the
      // machine's load (a span too short would kill every run before it logs anything).
      let span = 1.4 * durations.sort((a, b) => a - b)[1]!;
      let killed = 0, completed = 0;
      try {
        for (let m = 0; m < 12; m++) {
          for (let k = 0; k < 10; k++) {
            if (k >= 2 && k <= 5) await traffic(e, 300_000);
            const t0 = performance.now();
            const child = spawnNetmon(["-c", e.config, "-s", `${e.dir}/state`, ...args], runOpts(e, at(m, k)));
            // The month's second run is never killed, so its traffic (after that run) is logged in its own
            // cycle whatever the kill instants: with every later run killed, the interval to the next logged sample
            // crosses into the next month by at most an hour and is shared by time, leaving this one far over 100%
            // (a killed first run, with the traffic before it, would give most of it to the month before).
            const timer = k === 1 ? undefined : setTimeout(() => {
              try {
                child.kill("SIGKILL");
              } catch { /* it finished */ }
            }, random() * span);
            const out = await child.output();
            clearTimeout(timer);
            if (out.signal === "SIGKILL") {
              killed++;
              span *= 1.1;
            } else {
              assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
              completed++;
              span = 0.7 * span + 0.3 * 1.4 * (performance.now() - t0);
            }
          }
        }
      } finally {
        removeFaketimeLeftovers();
      }
      // One run more, not killed, delivers whatever the last kills left in the spool.
      const final = await netmonAt(e, "2024-12-01 12:00:00");
      assertEquals(final.code, 0, final.stderr);
      assertEquals(spoolOf(e), []);
      ok(killed >= 50 && completed >= 20, `killed ${killed}, completed ${completed}: kills spread over runs`);

      // What the log says each cycle used (the engine, as the summary and the statements count it).
      const samples = logSamples(e);
      const cycles = calendar("cycle", zoneNamed("UTC"), 1);
      const engineSamples = samples.map((s) => ({
        epoch: s.epoch,
        columns: [...s.counters.keys()],
        counters: [...s.counters.values()],
      }));
      const want = new Map<string, number>();
      for (const b of usageByBucket(engineSamples, cycles, { now: samples.at(-1)!.epoch })) {
        const used = b.columns.reduce((a: bigint, c) => a + BigInt(c.usage), 0n);
        const label = b.bucket.label;
        for (const pct of [80, 100]) {
          if (used * 100n >= MiB * BigInt(pct)) want.set(`netmon: acme passed ${pct}% of its quota (${label})`, 0);
        }
      }
      assertEquals(want.size, 24, "both thresholds of each of the 12 months passed in the log");
      // What came: each threshold once, but for a repeat with the same Message-ID (a kill between the server's
      // acceptance and the spool removal).
      const byId = new Map<string, string>();
      let repeats = 0;
      for (const m of alerts(e)) {
        const subject = m.headers.get("subject")!;
        const id = m.headers.get("message-id")!;
        ok(want.has(subject), `an alert the log does not call for: ${subject}`);
        if (byId.has(id)) {
          assertEquals(byId.get(id), subject);
          repeats++;
        } else byId.set(id, subject);
      }
      const counts = new Map<string, number>();
      for (const subject of byId.values()) counts.set(subject, (counts.get(subject) ?? 0) + 1);
      for (const subject of want.keys()) assertEquals([subject, counts.get(subject)], [subject, 1]);
      ok(repeats <= killed, "a repeat only where a run was killed");
      // deno-lint-ignore no-console
      console.log(
        `    ${killed} runs killed, ${completed} completed (kill span at the end ${
          Math.round(span)
        } ms); ${want.size} thresholds passed, each alerted once; ` +
          `${repeats} recognisable repeat(s) (same Message-ID)`,
      );
    }),
);

netnsTest(
  "mail server down during an alert: exit 75, the alert spooled, delivered once when the server is back",
  () =>
    withQuotaEnv(
      (veth, port) =>
        quotaConfig(veth, port).replace('to = "ops@example.org"', 'to = "ops@example.org"\nsend = "cycle"'),
      async (e) => {
        assertEquals((await netmonAt(e, "2025-03-10 00:00:00")).code, 0);
        await traffic(e, 900_000);
        await e.smtp.stop();
        const down = await netmonAt(e, "2025-03-10 01:00:00");
        assertEquals(down.code, 75, down.stderr);
        ok(/could not connect .*; 1 mail\(s\) kept in .*spool for the next run\n$/.test(down.stderr), down.stderr);
        const spooled = spoolOf(e);
        assertEquals(spooled.length, 1);
        const message = JSON.parse(Deno.readTextFileSync(`${e.dir}/state/spool/${spooled[0]}`));
        assertEquals([message.subject, message.to], [
          "netmon: acme passed 80% of its quota (2025-03-01 .. 2025-03-31)",
          ["noc@example.com"],
        ]);
        // Still down: the alert waits, and is not spooled again.
        assertEquals((await netmonAt(e, "2025-03-10 02:00:00")).code, 75);
        assertEquals(spoolOf(e), spooled);
        await e.smtp.start();
        const up = await netmonAt(e, "2025-03-10 03:00:00");
        assertEquals([up.code, up.stderr], [0, ""]);
        assertEquals(alerts(e).map((m) => m.headers.get("message-id")), [message.messageId]);
        assertEquals((await netmonAt(e, "2025-03-10 04:00:00")).code, 0);
        assertEquals(alerts(e).length, 1, "delivered once");
        assertEquals(spoolOf(e), []);
      },
    ),
);

netnsTest(
  "commit: each threshold alerted once on the 95th percentile, also for a cycle only its closing interval passed",
  () =>
    withQuotaEnv(
      (veth, port) =>
        `source = "interface"\ninterfaces = ["${veth}"]\n\n[billing]\ncycle_day = 1\ntimezone = "UTC"\n\n` +
        `[[customer]]\nname = "acme"\nmeters = ["${veth}"]\ncommit = "400 bit/s"\nalert_at = [80, 100]\n\n` +
        mailSection(port),
      async (e) => {
        // Half-hourly samples at the end of May with next to no traffic, then an hour across midnight with about
        // 560 bit/s: May's last half hour passes both thresholds (its weight is a quarter of May's time metered);
        // June's first would too, but half an hour of June is too early to say (a day counted, as the projection).
        for (const at of ["22:00", "22:30", "23:00", "23:30"]) {
          const r = await netmonAt(e, `2025-05-31 ${at}:00`);
          assertEquals(r.code, 0, r.stderr);
        }
        assertEquals(alerts(e), []);
        await traffic(e, 250_000);
        const r = await netmonAt(e, "2025-06-01 00:30:00");
        assertEquals(r.code, 0, r.stderr);
        // In order: the cycle that closed first, each cycle's thresholds from the lowest.
        const got = alerts(e).map((m) => m.headers.get("subject"));
        assertEquals(got, [
          "netmon: acme passed 80% of its commit (2025-05-01 .. 2025-05-31)",
          "netmon: acme passed 100% of its commit (2025-05-01 .. 2025-05-31)",
        ]);
        const may = alerts(e).find((m) => m.headers.get("subject") === got[0])!;
        ok(/^acme's 95th percentile over the billing cycle 2025-05-01 \.\. 2025-05-31 is /.test(may.text), may.text);
        ok(may.text.includes("As of the cycle's close (the sample of 2025/06/01-00:30:"), may.text);
        assertEquals(may.to, ["ops@example.org"]);
        // Later runs of June, with the same percentile: nothing more.
        for (const at of ["01:00", "01:30"]) assertEquals((await netmonAt(e, `2025-06-01 ${at}:00`)).code, 0);
        assertEquals(alerts(e).length, 2);
        assertEquals(spoolOf(e), []);
      },
    ),
);

/** A customer over its 1 MiB quota on 2025-05-10, with a digest a day (so later runs add ledger keys). */
async function overQuotaInMay(e: QuotaEnv): Promise<void> {
  for (const at of ["08:00", "09:00"]) {
    if (at === "09:00") await traffic(e, 2_000_000);
    const r = await netmonAt(e, `2025-05-10 ${at}:00`);
    assertEquals(r.code, 0, r.stderr);
  }
  assertEquals(alerts(e).map((m) => m.headers.get("subject")), [
    "netmon: acme passed 80% of its quota (2025-05-01 .. 2025-05-31)",
    "netmon: acme passed 100% of its quota (2025-05-01 .. 2025-05-31)",
  ]);
}

const dailyQuotaConfig = (veth: string, port: number) =>
  `source = "interface"\ninterfaces = ["${veth}"]\n[billing]\ntimezone = "UTC"\n` +
  `[[customer]]\nname = "acme"\nmeters = ["${veth}"]\nquota = "1 MiB"\n\n${mailSection(port, 'send = "daily"\n')}`;

netnsTest(
  "ledger pruning keeps what the checks read: after months off, the closed cycle's alerts do not go again",
  () =>
    withQuotaEnv(dailyQuotaConfig, async (e) => {
      await overQuotaInMay(e);
      // Off until September: the tally's closed cycle is still May, checked again by every run until October.
      for (const at of ["2025-09-01 00:10:00", "2025-09-01 00:20:00", "2025-09-02 00:10:00"]) {
        assertEquals((await netmonAt(e, at)).code, 0);
      }
      assertEquals(alerts(e).length, 2, alerts(e).map((m) => m.headers.get("subject")).join("\n"));
    }),
);

netnsTest(
  "ledger pruning keeps what the checks read: a run with the clock a year ahead, then back, sends nothing twice",
  () =>
    withQuotaEnv(dailyQuotaConfig, async (e) => {
      await overQuotaInMay(e);
      assertEquals((await netmonAt(e, "2026-05-10 09:00:00")).code, 0);
      await netmonAt(e, "2025-05-10 10:00:00"); // recorded with a warning: the clock went back
      const quota = alerts(e).map((m) => m.headers.get("subject")).filter((s) => s?.includes("2025-05-01"));
      assertEquals(quota.length, 2, quota.join("\n"));
    }),
);

netnsTest(
  "alert_projected: one warning per cycle when the linear estimate passes the quota, again the next cycle",
  () =>
    withQuotaEnv(
      (veth, port) =>
        `source = "interface"\ninterfaces = ["${veth}"]\n\n[billing]\ncycle_day = 1\ntimezone = "UTC"\n\n` +
        `[[customer]]\nname = "acme"\nmeters = ["${veth}"]\nquota = "10 MiB"\nalert_projected = true\n\n` +
        mailSection(port),
      async (e) => {
        const run = async (at: string) => assertEquals((await netmonAt(e, at)).code, 0, at);
        const subjects = () => alerts(e).map((m) => m.headers.get("subject"));
        // About 100 KB in the first hour of the log (May 2nd): carried on, some 72 MB by the cycle's end, against
        // 10 MiB; but an hour says little of a month: no warning before a day is counted.
        await run("2025-05-02 00:00:00");
        await traffic(e, 100_000);
        await run("2025-05-02 01:00:00");
        assertEquals(subjects(), [], "too early to project");
        // 500 KB in its first day: some 15 MB by the cycle's end; far below 80% so far.
        await traffic(e, 400_000);
        await run("2025-05-03 00:00:00");
        assertEquals(subjects(), ["netmon: acme is on course to pass its quota (2025-05-01 .. 2025-05-31)"]);
        const m = alerts(e)[0]!;
        ok(
          /^At its rate so far, acme will use [\d.]+ MiB in the billing cycle 2025-05-01 \.\. 2025-05-31, more than its quota of 10\.00 MiB\.\n/
            .test(m.text),
          m.text,
        );
        await traffic(e, 100_000);
        await run("2025-05-03 02:00:00");
        await run("2025-05-04 00:00:00");
        assertEquals(subjects().length, 1, "once per cycle");
        // June: counted from June 1st (the tally ran through it), 600 KB in its first 25 hours makes some 17 MB by the
        // cycle's end: one warning for June.
        await run("2025-06-02 00:00:00");
        await traffic(e, 600_000);
        await run("2025-06-02 01:00:00");
        assertEquals(subjects(), [
          "netmon: acme is on course to pass its quota (2025-05-01 .. 2025-05-31)",
          "netmon: acme is on course to pass its quota (2025-06-01 .. 2025-06-30)",
        ]);
      },
    ),
);

/** acme with a quota (and a projection) and a commit, alerted at 50, 80 and 100%, statements and digests mailed. */
const zoneConfig = (veth: string, port: number) =>
  `source = "interface"\ninterfaces = ["${veth}"]\n\n[billing]\ncycle_day = 15\ntimezone = "Europe/Berlin"\n\n` +
  `[[customer]]\nname = "acme"\nmeters = ["${veth}"]\nquota = "1 MiB"\nalert_at = [50, 80, 100]\n` +
  `alert_projected = true\ncommit = "400 bit/s"\n\n${mailSection(port, 'send = ["cycle", "daily"]\n')}`;

/** Every mail's subject so far, in order. */
const allSubjects = (e: QuotaEnv) => e.smtp.messages().map((m) => decodeMail(m).headers.get("subject") ?? "");

/**
 * The four alerts of acme's cycle `label` in {@linkcode zoneConfig} in its first hours, sorted: its commit's wait for
 * a day of the cycle counted.
 */
const fourAlerts = (label: string) =>
  [
    ...[50, 80, 100].map((pct) => `netmon: acme passed ${pct}% of its quota (${label})`),
    `netmon: acme is on course to pass its quota (${label})`,
  ].sort();

/** Rewrites one `key = value` line of the test's config. */
function setConfig(e: QuotaEnv, line: RegExp, to: string): void {
  const text = Deno.readTextFileSync(e.config);
  ok(line.test(text), `${line} in the config`);
  Deno.writeTextFileSync(e.config, text.replace(line, to));
}

/**
 * acme's November cycle (2026-11-15 .. 2026-12-14 in Berlin) after the October one closed: the statement and the
 * digest of the 14th at the first run after Berlin's midnight, then 1.1 MB in an hour, half the time metered in the
 * cycle: every quota threshold and the projection passed (the commit's too, but too early: less than a day counted).
 */
async function novemberOverQuota(e: QuotaEnv, beforeTheThresholds = () => {}): Promise<void> {
  const ok0 = async (at: string) => {
    const r = await netmonAt(e, at);
    assertEquals({ at, code: r.code, stderr: r.stderr }, { at, code: 0, stderr: "" });
  };
  await ok0("2026-11-14 20:00:00"); // 21:00 in Berlin, 22:00 in Helsinki: October's cycle in both
  await ok0("2026-11-14 21:00:00");
  await ok0("2026-11-15 00:00:00"); // 01:00 in Berlin: October's cycle closed
  assertEquals(allSubjects(e).sort(), [
    "netmon daily usage - 2026-11-14",
    "netmon statement for acme - 2026-10-15 .. 2026-11-14",
  ]);
  beforeTheThresholds();
  await traffic(e, 1_100_000);
  await ok0("2026-11-15 01:00:00");
}

netnsTest(
  "[billing] timezone changed (Berlin to Helsinki): nothing sent again for the same cycle dates; a new cycle_day alerts",
  () =>
    withQuotaEnv(zoneConfig, async (e) => {
      await novemberOverQuota(e);
      const november = "2026-11-15 .. 2026-12-14";
      assertEquals(alerts(e).map((m) => m.headers.get("subject")).sort(), fourAlerts(november));
      const before = allSubjects(e);
      // The billing zone moves an hour east: November's cycle has the same dates, an hour earlier.
      setConfig(e, /^timezone = "Europe\/Berlin"$/m, 'timezone = "Europe/Helsinki"');
      const moved = await netmonAt(e, "2026-11-15 02:00:00"); // 04:00 in Helsinki
      assertEquals([moved.code, moved.stderr], [0, ""]);
      const again = allSubjects(e).slice(before.length);
      assertEquals(again, [], `nothing sent twice, but:\n${again.join("\n")}`);
      // Another cycle_day: another cycle (2026-10-20 .. 2026-11-19), whose thresholds are its own.
      setConfig(e, /^cycle_day = 15$/m, "cycle_day = 20");
      const other = await netmonAt(e, "2026-11-15 03:00:00");
      assertEquals([other.code, other.stderr], [0, ""]);
      assertEquals(
        alerts(e).slice(4).map((m) => m.headers.get("subject")).sort(),
        fourAlerts("2026-10-20 .. 2026-11-19"),
      );
      assertEquals(spoolOf(e), []);
    }),
);

netnsTest(
  "a ledger from before the upgrade (keys naming the cycle's start with its UTC offset) still suppresses its alerts",
  () =>
    withQuotaEnv(zoneConfig, async (e) => {
      const ledger = `${e.dir}/state/netmon.sent`;
      // As the version before wrote them: every threshold of November but its quota's 100%.
      const start = "2026-11-15T00:00:00+01:00";
      const old = [
        `quota\tacme\t${start}\t50`,
        `quota\tacme\t${start}\t80`,
        `projected\tacme\t${start}`,
        `commit\tacme\t${start}\t50`,
        `commit\tacme\t${start}\t80`,
        `commit\tacme\t${start}\t100`,
      ];
      await novemberOverQuota(e, () => {
        assertEquals(allSubjects(e).length, 2, "the statement and the digest");
        Deno.writeTextFileSync(ledger, old.map((k) => `${k}\n`).join(""), { append: true });
      });
      assertEquals(alerts(e).map((m) => m.headers.get("subject")), [
        "netmon: acme passed 100% of its quota (2026-11-15 .. 2026-12-14)",
      ]);
      // And after the zone moves, the old keys (an offset of Berlin's) still stand for November's dates.
      setConfig(e, /^timezone = "Europe\/Berlin"$/m, 'timezone = "Europe/Helsinki"');
      const moved = await netmonAt(e, "2026-11-15 02:00:00");
      assertEquals([moved.code, moved.stderr], [0, ""]);
      assertEquals(alerts(e).length, 1, alerts(e).map((m) => m.headers.get("subject")).join("\n"));
      const keys = Deno.readTextFileSync(ledger).split("\n");
      ok(old.every((k) => keys.includes(k)), "the old keys kept as they were");
      // Each recorded again as now written (the cycle's dates), once, so later runs find it without the old form.
      const november = "2026-11-15 .. 2026-12-14";
      const now = [
        ...[50, 80, 100].map((pct) => `quota\tacme\t${november}\t${pct}`),
        `projected\tacme\t${november}`,
      ];
      assertEquals(keys.filter((k) => k.includes(november)).sort(), now.sort());
    }),
);

netnsTest(
  "thresholds passed in one interval are spooled and delivered in order: by customer as configured, then threshold",
  () =>
    withQuotaEnv(
      (veth, port) =>
        `source = "interface"\ninterfaces = ["${veth}"]\n\n[billing]\ncycle_day = 1\ntimezone = "UTC"\n\n` +
        // zeta first: the config's order, not the names'.
        `[[customer]]\nname = "zeta"\nmeters = ["${veth}"]\nquota = "2 MiB"\nalert_at = [10, 25, 50]\n\n` +
        `[[customer]]\nname = "acme"\nmeters = ["${veth}"]\nquota = "1 MiB"\nalert_at = [50, 80, 100]\n` +
        `alert_projected = true\ncommit = "400 bit/s"\n\n${mailSection(port)}`,
      async (e) => {
        // A day counted first (before it, a commit's percentile is not alerted on).
        for (const at of ["2025-03-09 00:00:00", "2025-03-10 00:00:00"]) assertEquals((await netmonAt(e, at)).code, 0);
        // 1.1 MiB: past every threshold of both at once; over two hours, 8% of the time counted: the commit's too.
        await traffic(e, 1_150_000);
        await e.smtp.stop();
        const down = await netmonAt(e, "2025-03-10 02:00:00");
        assertEquals(down.code, 75, down.stderr);
        const cycle = "(2025-03-01 .. 2025-03-31)";
        const want = [
          ...[10, 25, 50].map((pct) => `netmon: zeta passed ${pct}% of its quota ${cycle}`),
          ...[50, 80, 100].map((pct) => `netmon: acme passed ${pct}% of its quota ${cycle}`),
          `netmon: acme is on course to pass its quota ${cycle}`,
          ...[50, 80, 100].map((pct) => `netmon: acme passed ${pct}% of its commit ${cycle}`),
        ];
        // The spool's order (its names sorted, as delivery lists them) is the order they are due in.
        const spooled = spoolOf(e).map((n) => JSON.parse(Deno.readTextFileSync(`${e.dir}/state/spool/${n}`)).subject)
          .filter((s: string) => s.startsWith("netmon: "));
        assertEquals({ spooled }, { spooled: want });
        await e.smtp.start();
        const up = await netmonAt(e, "2025-03-10 03:00:00");
        assertEquals([up.code, up.stderr], [0, ""]);
        assertEquals({ received: alerts(e).map((m) => m.headers.get("subject")) }, { received: want });
        assertEquals(spoolOf(e), []);
      },
    ),
);

netnsTest(
  "no [mail]: a threshold passed is said once on stderr and not mailed when [mail] comes; later ones are; --no-mail defers",
  () =>
    withQuotaEnv(
      (veth) =>
        `source = "interface"\ninterfaces = ["${veth}"]\n\n[billing]\ncycle_day = 1\ntimezone = "UTC"\n\n` +
        `[[customer]]\nname = "acme"\nmeters = ["${veth}"]\nquota = "1 MiB"\nalert_at = [50, 80, 100]\n` +
        `alert_to = "noc@example.com"\n`,
      async (e) => {
        const run = async (at: string, stderr = "", args?: string[]) => {
          const r = await netmonAt(e, at, args);
          assertEquals({ at, code: r.code, stderr: r.stderr }, { at, code: 0, stderr });
        };
        const note = (cycle: string, ...pcts: number[]) =>
          `netmon: warning: ${pcts.map((pct) => `acme passed ${pct}% of its quota (${cycle})`).join("; ")}: ` +
          `not mailed, ${e.config} has no [mail] section (recorded as passed: adding [mail] later does not send ` +
          `${pcts.length === 1 ? "it" : "them"}; 'netmon check' shows where each quota stands)\n`;
        const march = "2025-03-01 .. 2025-03-31", april = "2025-04-01 .. 2025-04-30";
        await run("2025-03-10 00:00:00");
        await traffic(e, 900_000); // 86%
        await run("2025-03-10 01:00:00", note(march, 50, 80));
        await run("2025-03-10 02:00:00"); // said once
        // The monitoring check needs no mail: it says where the quota stands.
        const check = await netmonAt(e, "2025-03-10 02:01:00", ["check"]);
        assertEquals(check.code, 1, check.stdout);
        ok(/^NETMON WARNING - acme [\d.]+ KiB of 1\.00 MiB \(8\d\.\d%\) \| /.test(check.stdout), check.stdout);
        await run("2025-04-01 00:10:00"); // March closed: checked once more, nothing new
        await traffic(e, 600_000);
        await run("2025-04-01 01:00:00", note(april, 50));
        // [mail] added: what passed before it is not sent late, in a burst, to alert_to.
        Deno.writeTextFileSync(e.config, `\n${mailSection(e.smtp.port)}`, { append: true });
        await run("2025-04-01 02:00:00");
        assertEquals(e.smtp.messages().length, 1, "the report only");
        assertEquals(alerts(e), []);
        // A threshold passed from then on is mailed; a run with --no-mail leaves it to the next run that mails.
        await traffic(e, 300_000); // 86%
        await run("2025-04-01 03:00:00", "", ["report", "--no-mail"]);
        assertEquals(alerts(e), []);
        await run("2025-04-01 04:00:00");
        assertEquals(alerts(e).map((m) => [m.headers.get("subject"), m.to]), [
          [`netmon: acme passed 80% of its quota (${april})`, ["noc@example.com"]],
        ]);
        assertEquals(spoolOf(e), []);
      },
    ),
);

Deno.test("no [mail]: thresholds passed in one run are one line per customer, each named", () => {
  const cycle = "2025-03-01 .. 2025-03-31";
  const items = [
    ...[10, 20, 30, 40, 50, 60, 70].map((pct) => ({
      customer: "acme",
      subject: `netmon: acme passed ${pct}% of its quota (${cycle})`,
    })),
    { customer: "zeta", subject: `netmon: zeta passed 80% of its commit (${cycle})` },
  ];
  const tail = "has no [mail] section (recorded as passed: adding [mail] later does not send";
  assertEquals(unmailedNotes(items, "/etc/netmon/netmon.toml"), [
    [10, 20, 30, 40, 50, 60, 70].map((pct) => `acme passed ${pct}% of its quota (${cycle})`).join("; ") +
    `: not mailed, /etc/netmon/netmon.toml ${tail} them; 'netmon check' shows where each quota stands)`,
    `zeta passed 80% of its commit (${cycle}): not mailed, /etc/netmon/netmon.toml ${tail} it; 'netmon check' shows ` +
    "where each quota stands)",
  ]);
});

Deno.test("no [mail]: a threshold's note is said before it is recorded as passed, so a kill between cannot lose it", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/netmon.toml`,
      `source = "interface"\ninterfaces = ["eth0"]\n[billing]\ntimezone = "UTC"\n` +
        `[[customer]]\nname = "acme"\nmeters = ["eth0"]\nquota = "1 MiB"\nalert_at = [50, 80]\n`,
    );
    const config = parseConfig(await Deno.readTextFile(`${dir}/netmon.toml`), `${dir}/netmon.toml`);
    const files = stateFiles(`${dir}/state`);
    // What netmon.sent held at the moment each note was said.
    const saidWhen: string[] = [];
    const said: string[] = [];
    const output = alertsOutput(config, files, undefined, (note) => {
      said.push(note);
      let ledger = "";
      try {
        ledger = Deno.readTextFileSync(`${dir}/state/netmon.sent`);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      saidWhen.push(ledger);
    })!;
    let rx = 0n;
    let epoch = Date.UTC(2025, 2, 10);
    const record = () =>
      recordSample(files, {
        readCounters: () => Promise.resolve({ bytes: new Map([["eth0:rx", rx], ["eth0:tx", 0n]]) }),
        now: () => formatTimestamp(new Date(epoch)),
        onRecorded: async (r) => void await output.recorded?.(r),
      });
    await record();
    rx += 900_000n; // 86% of 1 MiB: both thresholds
    epoch += 3_600_000;
    const r = await record();
    assertEquals(said.length, 1, said.join("\n"));
    ok(said[0]!.startsWith("acme passed 50% of its quota (2025-03-01 .. 2025-03-31); acme passed 80%"), said[0]);
    ok(!saidWhen[0]!.includes("quota"), `said before any of its keys is in netmon.sent, which held:\n${saidWhen[0]}`);
    ok(Deno.readTextFileSync(`${dir}/state/netmon.sent`).includes("quota"), "then recorded");
    assertEquals(r.warnings, [], "said once, not again with the run's warnings");
  });
});

Deno.test("alert_projected: a customer whose meter was added on day 20 is projected from its first sample, and warned", () => {
  // A 30-day cycle; newco's meter is added on day 20 (its column is in the log from the 21st on) and carries
  // 10 GiB in the 5 days after: on course for 20 GiB, past its 15 GiB quota. Counted from the log's first sample
  // instead, 10 GiB x 30/25 = 12 GiB, it would not be warned.
  const config = parseConfig(
    '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "newco"\nmeters = ["late"]\nquota = "15 GiB"\n' +
      `alert_projected = true\n${mailSection(25)}`,
    "netmon.toml",
  );
  const watched = watchedCustomers(config.customers, named(["base", "late"]), "netmon.toml");
  const plan = tallyPlan(config.customers, watched);
  const { now } = LATE;
  let tally: Tally | undefined;
  for (const s of lateMeterCounters()) tally = advanceTally(tally, plan, s);
  const due = dueAlerts(tally!, watched, new Set(), config.mail!, "2025/11/26-00:00:00", new Date(now));
  assertEquals(due.map((d) => d.key), ["projected\tnewco\t2025-11-01 .. 2025-11-30"]);
  const text = due[0]!.message!.text;
  ok(text.includes("Used so far: 10.00 GiB") && text.includes("Projected for the whole cycle: 20.00 GiB\n"), text);
});

Deno.test("a quota passed in a cycle's first hours: the mail says it is too early to project, not a figure", () => {
  // 2 MiB in the first two hours of November against a 1 MiB quota: 50% and 100% passed; carried on, 720 MiB.
  const config = parseConfig(
    '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["acme"]\nquota = "1 MiB"\n' +
      `alert_at = [50, 100]\nalert_projected = true\n${mailSection(25)}`,
    "netmon.toml",
  );
  const watched = watchedCustomers(config.customers, named(["acme"]), "netmon.toml");
  const plan = tallyPlan(config.customers, watched);
  const start = Date.UTC(2025, 10, 1);
  let tally: Tally | undefined;
  for (const [t, bytes] of [[0, 0n], [3_600_000, 1n << 20n], [7_200_000, 2n << 20n]] as const) {
    tally = advanceTally(tally, plan, { epoch: start + t, counters: new Map([["acme", bytes]]) });
  }
  const due = dueAlerts(tally!, watched, new Set(), config.mail!, "2025/11/01-02:00:00", new Date(start + 7_200_000));
  // The thresholds passed, and on course past the quota as it is past it already: not from a rate over two hours.
  assertEquals(due.map((d) => d.key.split("\t")[0]), ["quota", "quota", "projected"]);
  const onCourse = due[2]!.message!.text;
  ok(
    onCourse.startsWith(
      "acme has used 2.00 MiB in the billing cycle 2025-11-01 .. 2025-11-30 already, more than its quota of 1.00 MiB.\n",
    ),
    onCourse,
  );
  for (const d of due) {
    const text = d.message!.text;
    ok(text.includes("Projected for the whole cycle: too early (less than a day of this cycle counted)\n"), text);
  }
});

Deno.test("a version-6 tally file (which did not note when a meter appeared) is rebuilt from the log once, and the projection warned", async () => {
  await withTempDir(async (dir) => {
    // December 2025 (31 days): newco's meter is added on day 21 (the 22nd); 10 GiB in the 5 days after is on
    // course for 20 GiB, past its 15 GiB quota (10 GiB x 31/26 = 11.92 GiB counted from the log's first sample).
    const GiB = 1n << 30n, DAY = 86_400_000;
    const config = parseConfig(
      '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "newco"\nmeters = ["late"]\nquota = "15 GiB"\n' +
        `alert_projected = true\n${mailSection(25)}`,
      `${dir}/netmon.toml`,
    );
    const watched = watchedCustomers(config.customers, named(["base", "late"]), "netmon.toml");
    const plan = tallyPlan(config.customers, watched);
    const start = Date.UTC(2025, 11, 1), added = Date.UTC(2025, 11, 22), now = Date.UTC(2025, 11, 27);
    const stamp = (t: number) => {
      const d = new Date(t), p = (n: number) => String(n).padStart(2, "0");
      return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())}-${p(d.getHours())}:${p(d.getMinutes())}:00`;
    };
    const lines = ["# netmon meters:\tbase"];
    const samples: { t: number; counters: Map<string, bigint> }[] = [];
    for (let t = start; t <= now; t += 3_600_000) {
      const counters = new Map([["base", BigInt((t - start) / 1000)]]);
      if (t === added) lines.push("# netmon meters:\tbase\tlate");
      if (t >= added) counters.set("late", 10n * GiB * BigInt(t - added) / BigInt(5 * DAY));
      lines.push([stamp(t), ...counters.values()].join("\t"));
      samples.push({ t, counters });
    }
    const files = stateFiles(dir);
    await Deno.writeTextFile(files.log, lines.map((l) => `${l}\n`).join(""));
    // The file a version before wrote at the sample before the last, for this very plan: no note of late's start.
    let tally: Tally | undefined;
    for (const s of samples.slice(0, -1)) tally = advanceTally(tally, plan, { epoch: s.t, counters: s.counters });
    for (const c of tally!.cycles.values()) delete c.firsts;
    const before = stamp(samples.at(-2)!.t);
    const text = formatTally(tally!, fingerprint(plan), before).replace('{"version":9,', '{"version":6,');
    ok(text.startsWith('{"version":6,') && !text.includes(`"late":${added}`), text.slice(0, 200));
    await Deno.writeTextFile(tallyPath(files), text);
    const last = samples.at(-1)!;
    const recorded = {
      previous: { sample: { timestamp: before, counters: samples.at(-2)!.counters }, totalStart: stamp(start) },
      sample: { timestamp: stamp(last.t), counters: last.counters },
      epoch: last.t,
      zone: localZone, // the log has no zone record
      usage: { meters: [], resets: [], totalStart: stamp(start) },
      warnings: [],
    } as unknown as Recorded;
    alertsOutput(config, files, config.mail)!.recorded!(recorded);
    // Rebuilt from the log: version 9 (as written now), noting late's first sample, and the projection warned.
    const rebuilt = readTally(tallyPath(files));
    assertEquals(rebuilt?.fingerprint, fingerprint(plan));
    assertEquals(rebuilt?.stamp, stamp(last.t));
    assertEquals([...rebuilt!.tally.cycles.values()][0]?.firsts, new Map([["late", added]]));
    assertEquals(
      Deno.readTextFileSync(sentPath(files)),
      "mail from\t2025-12-27T00:00:00.000Z\nprojected\tnewco\t2025-12-01 .. 2025-12-31\n",
    );
    const spooled = [...Deno.readDirSync(`${dir}/spool`)].map((e) => Deno.readTextFileSync(`${dir}/spool/${e.name}`));
    assertEquals(spooled.length, 1);
    ok(spooled[0]!.includes("Projected for the whole cycle: 20.00 GiB"), spooled[0]);
  });
});

/** Meter acme (192.0.2.0/28), split by direction or not; customer acme with a 1 MiB quota alerting at 50%, and `extra`. */
function acmeSplit(dir: string, split: boolean, extra = "") {
  return parseConfig(
    `source = "nftables"\n[billing]\ntimezone = "UTC"\n[[meter]]\nname = "acme"\naddress = "192.0.2.0/28"\n` +
      (split ? 'split = "direction"\n' : "") +
      `[[customer]]\nname = "acme"\nquota = "1 MiB"\nalert_at = [50, 100]\n${extra}`,
    `${dir}/netmon.toml`,
  );
}

/**
 * Reports of meter acme, undirected (400,000 B, 38% of 1 MiB), then split by direction mid-cycle (100,000 B each
 * way), each with the config of its time; `after` runs after each report with the config it had.
 */
async function splitMidCycle(
  dir: string,
  extra: string,
  after: (config: ReturnType<typeof acmeSplit>) => void = () => {},
): Promise<string[]> {
  const files = stateFiles(`${dir}/state`);
  const said: string[] = [];
  let epoch = Date.UTC(2025, 2, 10);
  const report = async (split: boolean, counters: [string, bigint][]) => {
    const config = acmeSplit(dir, split, extra);
    const output = alertsOutput(config, files, undefined, (note) => said.push(note))!;
    await recordSample(files, {
      readCounters: () => Promise.resolve({ bytes: new Map(counters) }),
      now: () => formatTimestamp(new Date(epoch)),
      onRecorded: async (r) => void await output.recorded?.(r),
    });
    after(config);
    epoch += 3_600_000;
  };
  await report(false, [["acme", 0n]]);
  await report(false, [["acme", 400_000n]]);
  await report(true, [["acme-inbound", 0n], ["acme-outbound", 0n]]);
  await report(true, [["acme-inbound", 100_000n], ["acme-outbound", 100_000n]]);
  return said;
}

Deno.test("a meter split by direction mid-cycle: what its column counted before the split counts against the quota", async () => {
  await withTempDir(async (dir) => {
    // 600,000 B of 1 MiB (57%): past 50%. The split columns alone, 200,000 B (19%), are not.
    const said = await splitMidCycle(dir, "");
    assertEquals(said.length, 1, said.join("\n"));
    ok(said[0]!.startsWith("acme passed 50% of its quota (2025-03-01 .. 2025-03-31): not mailed"), said[0]);
  });
});

Deno.test("a commit customer's meter split mid-cycle: its tally is rebuilt at the split's first report, then only advanced", async () => {
  await withTempDir(async (dir) => {
    const prints: string[] = [];
    const said = await splitMidCycle(dir, 'commit = "1 Gbit/s"\n', (config) => {
      // What the next report with this config reads: a tally for the plan it makes from it (so advanced, not rebuilt).
      const cached = readTally(tallyPath(stateFiles(`${dir}/state`)))!;
      const columns = reportColumns(config.meters, () => []);
      assertEquals(cached.fingerprint, reportPlan(config.customers, columns, "netmon.toml", cached.tally).print);
      prints.push(cached.fingerprint);
    });
    // The commit's columns: acme; then acme, acme-inbound and acme-outbound (a new plan, once); then the same.
    assertEquals(new Set(prints).size, 2, prints.join(" "));
    assertEquals([prints[0] === prints[1], prints[1] === prints[2], prints[2] === prints[3]], [true, false, true]);
    assertEquals(said.length, 1, said.join("\n"));
    ok(said[0]!.startsWith("acme passed 50% of its quota"), said[0]);
  });
});

/**
 * Meters down (`direction = "in"`) and up (`direction = "out"`), each one column, not split; customer acme over up
 * with a quota of 800 MB counting in, customer link over both with a commit of 8.5 Mbit/s.
 */
function oneDirection(dir: string) {
  return parseConfig(
    `source = "nftables"\n[billing]\ntimezone = "UTC"\n` +
      `[[meter]]\nname = "down"\naddress = "192.0.2.0/28"\ndirection = "in"\n` +
      `[[meter]]\nname = "up"\naddress = "198.51.100.0/28"\ndirection = "out"\n` +
      `[[customer]]\nname = "acme"\nmeters = ["up"]\nquota = "800 MB"\ncount = "in"\nalert_at = [50, 100]\n` +
      `[[customer]]\nname = "link"\nmeters = ["down", "up"]\ncommit = "8.5 Mbit/s"\nalert_at = [100]\n`,
    `${dir}/netmon.toml`,
  );
}

Deno.test("a meter counting one direction, not split: its direction at report time is the config's, as in the summary", async () => {
  await withTempDir(async (dir) => {
    const config = oneDirection(dir);
    const files = stateFiles(`${dir}/state`);
    const said: string[] = [];
    const prints: string[] = [];
    const output = alertsOutput(config, files, undefined, (note) => said.push(note))!;
    // Hourly: down 3,600,000,000 B an hour (8 Mbit/s), up 450,000,000 B (1 Mbit/s; 56% of 800 MB, all of it out).
    // After the second report its tally is replaced by the one a version taking a column's direction from its name
    // kept (link's columns both ways, so its rates the total's, 9 Mbit/s): the third report finds a tally of that
    // plan, which it must rebuild from the log, not advance.
    const byName = reportColumns(config.meters, () => []).map((c) => ({
      name: c.name,
      label: c.label,
      meter: c.meter!,
    }));
    const oldPlan = tallyPlan(config.customers, watchedCustomers(config.customers, byName, "netmon.toml"));
    const oldPrint = fingerprint(oldPlan);
    let old: Tally | undefined;
    let epoch = Date.UTC(2025, 2, 10);
    for (let k = 0; k < 4; k++) {
      const counters = new Map([["down", BigInt(k) * 3_600_000_000n], ["up", BigInt(k) * 450_000_000n]]);
      await recordSample(files, {
        readCounters: () => Promise.resolve({ bytes: new Map(counters) }),
        now: () => formatTimestamp(new Date(epoch)),
        onRecorded: async (r) => void await output.recorded?.(r),
      });
      prints.push(readTally(tallyPath(files))!.fingerprint);
      old = advanceTally(old, oldPlan, { epoch, counters });
      if (k === 1) writeTally(tallyPath(files), old, oldPrint, formatTimestamp(new Date(epoch)));
      epoch += 3_600_000;
    }
    // No inbound traffic against acme's inbound quota; link's 95th percentile is its larger direction, 8 Mbit/s.
    assertEquals(said, []);
    // The summary's customers: acme has no inbound column (0 B in), link is up out and down in.
    const summary = customerColumns(config.customers, columnsAsConfigured(["down", "up"], config.meters));
    assertEquals(summary, [
      { name: "acme", in: [], out: ["up"], both: [] },
      { name: "link", in: ["down"], out: ["up"], both: [] },
    ]);
    const cached = readTally(tallyPath(files))!;
    const at = reportPlan(config.customers, reportColumns(config.meters, () => []), "netmon.toml", cached.tally);
    assertEquals(at.watched.map((w) => w.columns), summary);
    // The old plan's tally was rebuilt once, then advanced: each run's fingerprint is the one the next run's plan has.
    ok(oldPrint !== at.print, oldPrint);
    assertEquals(new Set(prints).size, 1, prints.join(" "));
    assertEquals(at.print, cached.fingerprint);
    const link = customerCycle(cached.tally, at.watched[1]!)!;
    assertEquals([link.in, link.out, link.both], [10_800_000_000n, 1_350_000_000n, 0n]);
    assertEquals(p95SoFar(link, at.watched[1]!.columns), 8e6);
  });
});

Deno.test("a commit passed in a cycle's first hours waits for a day counted, as the projection: one burst is not the cycle's", () => {
  // The walkthrough's: after 10 hours of a new cycle, a one-hour burst was the 95th percentile of the 10 intervals
  // (their maximum) and alerted; 14 hours later the cycle's was a fifteenth of it.
  const config = parseConfig(
    '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["acme"]\ncommit = "5 kbit/s"\n' +
      `alert_at = [50]\n${mailSection(25)}`,
    "netmon.toml",
  );
  const watched = watchedCustomers(config.customers, named(["acme"]), "netmon.toml");
  const plan = tallyPlan(config.customers, watched);
  const start = Date.UTC(2025, 10, 1), HOUR = 3_600_000;
  let tally: Tally | undefined, bytes = 0n;
  const dueAt = (hour: number, add: bigint) => {
    bytes += add;
    tally = advanceTally(tally, plan, { epoch: start + hour * HOUR, counters: new Map([["acme", bytes]]) });
    return dueAlerts(tally!, watched, new Set(), config.mail!, "2025/11/01-00:00:00", new Date(start + hour * HOUR))
      .map((d) => d.key);
  };
  assertEquals(dueAt(0, 0n), []);
  for (let h = 1; h <= 9; h++) assertEquals(dueAt(h, 1000n), [], `hour ${h}`);
  // 1.5 MB in the tenth hour: 3.33 kbit/s, the largest of ten intervals.
  assertEquals(dueAt(10, 1_500_000n), [], "10 hours counted: too early");
  // A day counted, the burst 1 hour of 25 (4%): not the 95th percentile.
  for (let h = 11; h <= 25; h++) assertEquals(dueAt(h, 1000n), [], `hour ${h}`);
  // Two busy hours of 26 (more than 5% of the time) are the cycle's 95th percentile, and alert.
  assertEquals(dueAt(26, 1_500_000n), ["commit\tacme\t2025-11-01 .. 2025-11-30\t50"]);
});

Deno.test("a closed cycle checked late (its commit lowered the next morning) names the first sample after its close", () => {
  // The walkthrough's: the mail said "the sample of 2026/12/15-08:00:00 is the first after it", the sample of the run
  // that checked; the first after the close was 00:00's.
  const start = Date.UTC(2025, 10, 30), HOUR = 3_600_000;
  const watchedOf = (commit: string) => {
    const config = parseConfig(
      '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["acme"]\n' +
        `commit = "${commit}"\nalert_at = [100]\n${mailSection(25)}`,
      "netmon.toml",
    );
    const watched = watchedCustomers(config.customers, named(["acme"]), "netmon.toml");
    return { config, watched, plan: tallyPlan(config.customers, watched) };
  };
  // Hourly samples from November 30 to December 1, 08:00, 1 kB an hour (about 2.2 bit/s): below a 1 Gbit/s commit.
  const high = watchedOf("1 Gbit/s");
  let tally: Tally | undefined;
  for (let h = 0; h <= 32; h++) {
    tally = advanceTally(tally, high.plan, {
      epoch: start + h * HOUR,
      counters: new Map([["acme", BigInt(h) * 1000n]]),
    });
  }
  // The tally goes through its file between runs.
  const dir = Deno.makeTempDirSync({ prefix: "netmon-billing2-" });
  try {
    writeTally(`${dir}/netmon.cycles`, tally!, "f", "2025/12/01-08:00:00");
    tally = readTally(`${dir}/netmon.cycles`)!.tally;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  // Lowered to 1 bit/s on December 1 at 08:00: November, as it closed, passed it.
  const low = watchedOf("1 bit/s");
  const due = dueAlerts(
    tally,
    low.watched,
    new Set(),
    low.config.mail!,
    "2025/12/01-08:00:00",
    new Date(start + 32 * HOUR),
  );
  assertEquals(due.map((d) => d.key), ["commit\tacme\t2025-11-01 .. 2025-11-30\t100"]);
  const closing = formatTimestamp(new Date(Date.UTC(2025, 11, 1)));
  ok(
    due[0]!.message!.text.includes(`As of the cycle's close (the sample of ${closing} is the first after it)`),
    due[0]!.message!.text,
  );
});

Deno.test("a quota written in MB is alerted in MB: its used, in and out, projection and quota", () => {
  // The walkthrough's: quota = "2 MB" mailed "Quota: 1.91 MiB per billing cycle".
  const config = parseConfig(
    '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["acme"]\nquota = "2 MB"\n' +
      `alert_at = [100]\n${mailSection(25)}`,
    "netmon.toml",
  );
  const watched = watchedCustomers(config.customers, named(["acme"]), "netmon.toml");
  const plan = tallyPlan(config.customers, watched);
  const start = Date.UTC(2025, 10, 1), DAY = 86_400_000;
  let tally: Tally | undefined;
  for (const [t, bytes] of [[0, 0n], [2 * DAY, 2_500_000n]] as const) {
    tally = advanceTally(tally, plan, { epoch: start + t, counters: new Map([["acme", bytes]]) });
  }
  const due = dueAlerts(tally!, watched, new Set(), config.mail!, "2025/11/03-00:00:00", new Date(start + 2 * DAY));
  assertEquals(due.map((d) => d.key), ["quota\tacme\t2025-11-01 .. 2025-11-30\t100"]);
  const text = due[0]!.message!.text;
  ok(text.includes("Used so far: 2.50 MB (in and out)\n"), text);
  ok(text.includes("Quota: 2.00 MB per billing cycle\n"), text);
  ok(text.includes("Projected for the whole cycle: 37.50 MB\n"), text);
});

Deno.test("a billing with no zone is the log's in an alert's cycle and key, as in its tally: a record Berlin then New York", () => {
  // Billing day 15 with no zone, the log recorded in Berlin and from 30 November 10:05 UTC in New York: November's
  // cycle is 15 November 00:00 in Berlin (14 November 23:00 UTC) to 15 December 00:00 in New York, whatever this
  // process's TZ. The cycle's dates are the alert's key: read in another zone, a sent alert is sent again.
  const config = parseConfig(
    '[billing]\ncycle_day = 15\n[[customer]]\nname = "acme"\nmeters = ["acme"]\nquota = "1 MiB"\nalert_at = [50]\n' +
      mailSection(25),
    "netmon.toml",
  );
  const change = Date.UTC(2026, 10, 30, 10, 5), HOUR = 3_600_000;
  const berlin = ianaZone("Europe/Berlin"), newYork = ianaZone("America/New_York");
  const zone = () => zoneHistory([{ from: -Infinity, zone: berlin }, { from: change, zone: newYork }]);
  const watched = watchedCustomers(config.customers, named(["acme"]), "netmon.toml");
  const plan = tallyPlan(config.customers, watched, zone);
  let tally: Tally | undefined;
  for (const [t, bytes] of [[change - HOUR, 0n], [change + HOUR, 1n << 20n]] as const) {
    tally = advanceTally(tally, plan, { epoch: t, counters: new Map([["acme", bytes]]) });
  }
  const due = dueAlerts(
    tally!,
    watched,
    new Set(),
    config.mail!,
    "2026/11/30-06:05:00",
    new Date(change + HOUR),
    -Infinity,
    zone,
  );
  assertEquals(due.map((d) => d.key.split("\t").slice(0, 3)), [["quota", "acme", "2026-11-15 .. 2026-12-14"]]);
  const text = due[0]!.message!.text;
  ok(
    text.includes("Billing cycle: 2026-11-15 .. 2026-12-14 (2026-11-15T00:00:00+01:00 to 2026-12-15T00:00:00-05:00)\n"),
    text,
  );
});

Deno.test("a quota threshold is passed at its percentage exactly: 33% of 1 GiB is not passed at 32.9999999%", () => {
  const config = parseConfig(
    '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["acme"]\nquota = "1 GiB"\n' +
      `alert_at = [33, 66.7]\n${mailSection(25)}`,
    "netmon.toml",
  );
  const watched = watchedCustomers(config.customers, named(["acme"]), "netmon.toml");
  const plan = tallyPlan(config.customers, watched);
  const start = Date.UTC(2025, 10, 1), HOUR = 3_600_000;
  // 33% of 1 GiB is 354,334,801.92 B: 354,334,801 B is below it, 354,334,802 B past it.
  const due = (used: bigint) => {
    let tally: Tally | undefined;
    for (const [t, bytes] of [[0, 0n], [HOUR, used]] as const) {
      tally = advanceTally(tally, plan, { epoch: start + t, counters: new Map([["acme", bytes]]) });
    }
    return dueAlerts(tally!, watched, new Set(), config.mail!, "2025/11/01-01:00:00", new Date(start + HOUR))
      .map((d) => d.key);
  };
  assertEquals(due(354_334_801n), []);
  assertEquals(due(354_334_802n), ["quota\tacme\t2025-11-01 .. 2025-11-30\t33"]);
});
