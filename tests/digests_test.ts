/**
 * `[mail] send = "daily"` and `"cycle"` end to end: the interface source on a
 * veth in namespaces the test makes, a real SMTP server, the clock faked
 * across days and billing cycles (libfaketime). Digests come once a day, a
 * day the machine was off still gets its own at the next run, once;
 * statements come once per customer and cycle, only to that customer, with
 * the CSV the summary gives for that customer and cycle.
 */
import { formatTimestamp } from "../lib/usage/local_time.ts";
import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import { iecBytes } from "../lib/usage/units.ts";
import { linearEstimate } from "../lib/usage/projection.ts";
import { parseConfig } from "../lib/config/config.ts";
import { dueDigests } from "../lib/outputs/digests.ts";
import { reportMessage } from "../lib/outputs/mail.ts";
import { isMessageId } from "./smtp_server.ts";
import { netnsTest, sendUdp, withTempDir } from "./helpers.ts";
import { decodeMail, logSamples, mailSection, netmonAt, type QuotaEnv, spoolOf, withQuotaEnv } from "./quota_env.ts";

/** A log stamp of instant `t`, in the local time the log is read in. */
const local = (t: number) => formatTimestamp(new Date(t));

async function ok0(e: QuotaEnv, at: string): Promise<void> {
  const r = await netmonAt(e, at);
  assertEquals({ at, code: r.code, stderr: r.stderr }, { at, code: 0, stderr: "" });
}

/** One customer with a quota on the veth, and a digest a day. */
const dailyConfig = (veth: string, port: number) =>
  `source = "interface"\ninterfaces = ["${veth}"]\n[billing]\ntimezone = "UTC"\n` +
  `[[customer]]\nname = "acme"\nmeters = ["${veth}"]\nquota = "10 MiB"\n\n${mailSection(port, 'send = "daily"\n')}`;

const subjects = (e: QuotaEnv) => e.smtp.messages().map((m) => decodeMail(m).headers.get("subject"));

netnsTest(
  'send = "daily": one digest a day, none twice; a day the machine was off gets its own at the next run',
  () =>
    withQuotaEnv(
      dailyConfig,
      async (e) => {
        await ok0(e, "2025-05-10 08:00:00"); // the log begins: the day before has nothing to tell
        await sendUdp(e.p.b, "192.0.2.1", 100, 1000);
        await ok0(e, "2025-05-10 20:00:00");
        assertEquals(subjects(e), [], "no report mails with send = daily, no digest before midnight");
        await ok0(e, "2025-05-11 00:10:00");
        assertEquals(subjects(e), ["netmon daily usage - 2025-05-10"]);
        const first = decodeMail(e.smtp.messages()[0]!);
        assertEquals(first.to, ["ops@example.org"]);
        ok(first.text.startsWith("Network usage on 2025-05-10 (UTC):\n"), first.text);
        // The quota line: the cycle so far as of the run that sent it (in and out since the log began).
        const [s0, , s2] = logSamples(e);
        const used = [":rx", ":tx"].reduce(
          (a, d) => a + s2!.counters.get(e.p.va + d)! - s0!.counters.get(e.p.va + d)!,
          0n,
        );
        ok(
          first.text.includes(
            `  acme: ${iecBytes(used)} of 10.00 MiB (${
              (100 * Number(used) / 10 / 2 ** 20).toFixed(1)
            }%, counting total)\n`,
          ),
          first.text,
        );
        // The estimate is the summary's and the alerts': the rate since the log began (the 10th at 08:00, not the
        // cycle's start on the 1st) carried to the cycle's end, once a day of it is counted: 16 hours are too few.
        const may = { start: Date.UTC(2025, 4, 1), end: Date.UTC(2025, 5, 1) };
        assertEquals(linearEstimate(used, may, s0!.epoch, s2!.epoch, s2!.epoch), undefined);
        ok(first.text.includes("  acme: estimate too early (less than a day of this cycle counted)\n"), first.text);
        await sendUdp(e.p.b, "192.0.2.1", 50, 1000);
        await ok0(e, "2025-05-11 12:00:00");
        await ok0(e, "2025-05-11 23:00:00");
        assertEquals(subjects(e).length, 1, "one digest for the 10th, not one per run");
        // The machine is off from the 11th at 23:00 to the 13th at 09:00: no run after either midnight.
        await ok0(e, "2025-05-13 09:00:00");
        await ok0(e, "2025-05-13 10:00:00");
        assertEquals(subjects(e), [
          "netmon daily usage - 2025-05-10",
          "netmon daily usage - 2025-05-11",
          "netmon daily usage - 2025-05-12",
        ]);
        const ids = e.smtp.messages().map((m) => decodeMail(m).headers.get("message-id"));
        assertEquals(new Set(ids).size, 3);
        // Three days counted by then: an estimate.
        const third = decodeMail(e.smtp.messages()[2]!).text;
        match(third, /\n {2}acme: estimate \d+(\.\d+)? [KMGT]?i?B\n/, third);
        assertEquals(spoolOf(e), []);
      },
    ),
);

netnsTest(
  'send = "cycle": one statement per customer and cycle, only to its statement_to, with the summary\'s CSV row',
  () =>
    withQuotaEnv(
      (veth, port) =>
        `source = "interface"\ninterfaces = ["${veth}"]\n[billing]\ntimezone = "UTC"\n` +
        `[[customer]]\nname = "acme"\nmeters = ["${veth}"]\nquota = "1 MiB"\nstatement_to = "billing@acme.example"\n` +
        `[[customer]]\nname = "globex"\nmeters = ["${veth}:rx"]\nstatement_to = ["a@globex.example", "b@globex.example"]\n\n` +
        mailSection(port, 'send = "cycle"\n'),
      async (e) => {
        await ok0(e, "2025-05-30 12:00:00"); // April closed before the log began: nothing to state
        for (const h of ["18", "23"]) {
          await sendUdp(e.p.b, "192.0.2.1", 200, 1000);
          await ok0(e, `2025-05-30 ${h}:00:00`);
        }
        await sendUdp(e.p.b, "192.0.2.1", 300, 1000);
        await ok0(e, "2025-05-31 12:00:00");
        assertEquals(subjects(e), []);
        await ok0(e, "2025-06-01 00:30:00");
        await ok0(e, "2025-06-01 02:00:00");
        await sendUdp(e.p.b, "192.0.2.1", 100, 1000);
        await ok0(e, "2025-06-15 00:00:00");
        await ok0(e, "2025-07-01 01:00:00");
        await ok0(e, "2025-07-01 02:00:00");
        const mails = e.smtp.messages().map(decodeMail);
        // One run spools both customers' statements: their order between them is not kept.
        assertEquals(mails.map((m) => [m.headers.get("subject"), m.to]).sort(), [
          ["netmon statement for acme - 2025-05-01 .. 2025-05-31", ["billing@acme.example"]],
          ["netmon statement for acme - 2025-06-01 .. 2025-06-30", ["billing@acme.example"]],
          ["netmon statement for globex - 2025-05-01 .. 2025-05-31", ["a@globex.example", "b@globex.example"]],
          ["netmon statement for globex - 2025-06-01 .. 2025-06-30", ["a@globex.example", "b@globex.example"]],
        ]);
        for (const m of mails) ok(isMessageId(m.headers.get("message-id")), m.headers.get("message-id"));
        // Each statement's CSV is the customer's row of `netmon summary --by cycle --csv`, run on this state.
        for (const m of mails) {
          const [, name, label] = /statement for (\S+) - (.*)$/.exec(m.headers.get("subject")!)! as unknown as [
            string,
            string,
            string,
          ];
          const summary = await netmonAt(e, "2025-07-01 03:00:00", [
            "summary",
            "--by",
            "cycle",
            "--csv",
            "--meter",
            name,
          ]);
          assertEquals([summary.code, summary.stderr], [0, ""], summary.stdout);
          const [header, ...rows] = summary.stdout.trimEnd().split("\n");
          const start = `${label.slice(0, 10)}T00:00:00+00:00`;
          const row = rows.find((r) => r.startsWith(`${start},`) && r.includes(`,${name},customer,`));
          ok(row, `summary has ${name}'s cycle ${label}: ${summary.stdout}`);
          assertEquals([...m.attachments.values()], [`${header}\n${row}\n`], `${name} ${label}`);
          assertEquals([...m.attachments.keys()], [`netmon-${name}-${label.slice(0, 10)}.csv`]);
          const total = BigInt((row as string).split(",")[6] as string);
          ok(m.text.includes(`Total: ${iecBytes(total)} (${total} bytes)\n`), m.text);
          ok(total > 0n);
        }
        assertEquals(spoolOf(e), []);
      },
    ),
);

netnsTest(
  'send = "daily": the ledger drops what no check reads again, and a run months later sends nothing twice',
  () =>
    withQuotaEnv(
      dailyConfig,
      async (e) => {
        const ledger = () => Deno.readTextFileSync(`${e.dir}/state/netmon.sent`).split("\n").filter((l) => l !== "");
        await ok0(e, "2025-05-10 08:00:00");
        await sendUdp(e.p.b, "192.0.2.1", 100, 1000);
        await ok0(e, "2025-05-11 00:10:00");
        assertEquals(subjects(e), ["netmon daily usage - 2025-05-10"]);
        ok(ledger().includes("daily\t2025-05-10"), ledger().join("\n"));
        // Off until September: the last week's digests come at the next run (as ever), once. May is still the cycle
        // the tally saw close last (checked again until October), so its keys stay.
        await ok0(e, "2025-09-01 00:10:00");
        await ok0(e, "2025-09-01 00:20:00");
        const week = ["25", "26", "27", "28", "29", "30", "31"].map((d) => `netmon daily usage - 2025-08-${d}`);
        assertEquals(subjects(e).sort(), ["netmon daily usage - 2025-05-10", ...week].sort());
        ok(ledger().includes("daily\t2025-05-10"), ledger().join("\n"));
        // A month on, September has closed: May is past any check, and goes when the next keys are added.
        await ok0(e, "2025-10-02 00:10:00");
        await ok0(e, "2025-10-02 00:20:00");
        const kept = ledger();
        // But the instant mail began (the log's first sample), which every run that mails reads.
        assertEquals(kept.filter((k) => k.includes("2025-05")), ["mail from\t2025-05-10T08:00:00.000Z"]);
        ok(kept.includes("daily\t2025-10-01") && kept.includes("daily\t2025-08-31"), kept.join("\n"));
        assertEquals(new Set(kept).size, kept.length, "no key twice");
        const sent = subjects(e);
        assertEquals(new Set(sent).size, sent.length, "no digest twice");
        assertEquals(sent.length, 15, sent.join("\n")); // May 10th, Aug 25-31, Sep 25 - Oct 1
      },
    ),
);

Deno.test("the daily digest's estimate of a meter added mid-cycle counts from its column's first sample, as the summary's", async () => {
  await withTempDir(async (dir) => {
    // December 2025 (31 days, UTC billing): base at 1 B/s from the 1st; late, added to the config on day 21 (the
    // 22nd), at 1 GiB an hour from then: 120 GiB in 5 days, 5 days to go, 240 GiB (not 120 x 31/26: before its
    // first sample late's traffic is unknown, not zero). Stamps in the local time the log is read in.
    const start = Date.UTC(2025, 11, 1), added = Date.UTC(2025, 11, 22), epoch = Date.UTC(2025, 11, 27);
    const lines = ["# netmon meters:\tbase"];
    for (let t = start; t <= epoch; t += 3_600_000) {
      if (t === added) lines.push("# netmon meters:\tbase\tlate");
      const late = t >= added ? `\t${BigInt((t - added) / 3_600_000) << 30n}` : "";
      lines.push(`${local(t)}\t${(t - start) / 1000}${late}`);
    }
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, lines.map((l) => `${l}\n`).join(""));
    const config = parseConfig(
      '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "newco"\nmeters = ["late"]\n' +
        mailSection(25, 'send = "daily"\n'),
      "netmon.toml",
    );
    const due = dueDigests(config, config.mail!, log, epoch, new Set(), new Date(epoch));
    assertEquals(due.map((d) => d.key), ["daily\t2025-12-26"]);
    const text = due[0]!.message!.text;
    ok(text.includes("  base: estimate 2.55 MiB\n"), text); // 26 days of 31 at 1 B/s: 31 days' worth
    ok(text.includes("  late: estimate 240.00 GiB\n"), text);
    ok(text.includes("  newco: estimate 240.00 GiB\n"), text);
  });
});

Deno.test("the daily digest tells a customer named as its column from the column, in its tables and estimates", async () => {
  await withTempDir(async (dir) => {
    // Customer acme (its meters by default its name) over the unsplit meter acme and meter web: 2 and 1 B/s.
    const start = Date.UTC(2025, 11, 1), epoch = Date.UTC(2025, 11, 3);
    const lines = ["# netmon meters:\tacme\tweb"];
    for (let t = start; t <= epoch; t += 3_600_000) {
      lines.push(`${local(t)}\t${(t - start) / 500}\t${(t - start) / 1000}`);
    }
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, lines.map((l) => `${l}\n`).join(""));
    const config = parseConfig(
      '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nmeters = ["acme", "web"]\n' +
        mailSection(25, 'send = "daily"\n'),
      "netmon.toml",
    );
    const due = dueDigests(config, config.mail!, log, epoch, new Set(), new Date(epoch));
    assertEquals(due.map((d) => d.key), ["daily\t2025-12-02"]);
    const text = due[0]!.message!.text;
    // Each table: the column's row and the customer's, marked; web alone is not.
    const names = text.split("\n").filter((l) => l.startsWith("2025-12-")).map((l) => l.split(/\s{2,}/)[1]);
    assertEquals(names, ["acme (column)", "web", "acme (customer)", "acme (column)", "web", "acme (customer)"]);
    // Two days of 31 at 2 B/s and 1 B/s: 31 days' worth, 5.11 and 2.55 MiB, the customer's 7.66 MiB.
    ok(text.includes("  acme (column): estimate 5.11 MiB\n"), text);
    ok(text.includes("  web: estimate 2.55 MiB\n"), text);
    ok(text.includes("  acme (customer): estimate 7.66 MiB\n"), text);
  });
});

Deno.test("the digest's quota line and the statement of a meter counting only out (not split): nothing in, as the summary", async () => {
  await withTempDir(async (dir) => {
    // Meter up counts out only, one column: 1 B/s out from 30 November to 3 December; acme's quota counts in, so it
    // has used nothing; its statement for November: in 0 B, out 86,400 B, as the summary's CSV row.
    const start = Date.UTC(2025, 10, 30), epoch = Date.UTC(2025, 11, 3);
    const lines = ["# netmon meters:\tup"];
    for (let t = start; t <= epoch; t += 3_600_000) lines.push(`${local(t)}\t${(t - start) / 1000}`);
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, lines.map((l) => `${l}\n`).join(""));
    const config = parseConfig(
      'source = "nftables"\n[billing]\ntimezone = "UTC"\n' +
        '[[meter]]\nname = "up"\naddress = "198.51.100.0/28"\ndirection = "out"\n' +
        '[[customer]]\nname = "acme"\nmeters = ["up"]\nquota = "1 MiB"\ncount = "in"\n' +
        mailSection(25, 'send = ["daily", "cycle"]\n'),
      "netmon.toml",
    );
    const due = dueDigests(config, config.mail!, log, epoch, new Set(), new Date(epoch));
    assertEquals(due.map((d) => d.key), ["daily\t2025-12-02", "statement\tacme\t2025-11-01 .. 2025-11-30"]);
    const text = due[0]!.message!.text;
    ok(text.includes("  acme: 0 B of 1.00 MiB (0.0%, counting in)\n"), text);
    const statement = due[1]!.message!;
    ok(statement.text.includes("In:    0 B (0 bytes)\nOut:   84.38 KiB (86400 bytes)\n"), statement.text);
    const csv = statement.attachments![0]!.content as string;
    ok(csv.includes(",acme,customer,0,86400,86400,"), csv);
  });
});

Deno.test("the digest of a cycle's last day, sent at its close, shows that cycle, not the new one at 0 B", async () => {
  await withTempDir(async (dir) => {
    // The walkthrough's: cycle_day 15 in Berlin, the digest for 2026-12-14 sent at the first run after the close
    // showed "Billing cycle 2026-12-15 .. 2027-01-14 so far" and 0 B everywhere. acme at 1 B/s from November 20.
    const start = Date.UTC(2026, 10, 20), epoch = Date.UTC(2026, 11, 14, 23, 5); // 00:05 in Berlin
    const lines = ["# netmon meters:\tacme"];
    for (let t = start; t <= epoch; t += 300_000) lines.push(`${local(t)}\t${(t - start) / 1000}`);
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, lines.map((l) => `${l}\n`).join(""));
    const config = parseConfig(
      '[billing]\ncycle_day = 15\ntimezone = "Europe/Berlin"\n[[customer]]\nname = "acme"\nquota = "10 MiB"\n' +
        mailSection(25, 'send = "daily"\n'),
      "netmon.toml",
    );
    const due = dueDigests(config, config.mail!, log, epoch, new Set(["daily\t2026-12-13"]), new Date(epoch));
    assertEquals(due.map((d) => d.key), ["daily\t2026-12-14"]);
    const text = due[0]!.message!.text;
    ok(!text.includes("2026-12-15 .. 2027-01-14"), text);
    // November 20, 00:00 UTC (01:00 in Berlin) to December 15 in Berlin: 24 days and 23 hours at 1 B/s.
    const cycle = BigInt(24 * 86_400 + 23 * 3600);
    ok(text.includes("Billing cycle 2026-11-15 .. 2026-12-14"), text);
    ok(text.includes(`  acme: ${iecBytes(cycle)} of 10.00 MiB`), text);
  });
});

Deno.test("a quota written in MB is shown in MB in the digest and the statement, and the commit beside the percentile", async () => {
  await withTempDir(async (dir) => {
    // The walkthrough's: quota = "2 MB" read "20.47 MiB of 1.91 MiB". acme at 10 B/s through November (UTC).
    const start = Date.UTC(2026, 10, 1), epoch = Date.UTC(2026, 11, 1, 0, 5);
    const lines = ["# netmon meters:\tacme"];
    for (let t = start; t <= epoch; t += 300_000) lines.push(`${local(t)}\t${(t - start) / 100}`);
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, lines.map((l) => `${l}\n`).join(""));
    const config = parseConfig(
      '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nquota = "2 MB"\ncommit = "100 bit/s"\n' +
        mailSection(25, 'send = ["daily", "cycle"]\n'),
      "netmon.toml",
    );
    const due = dueDigests(config, config.mail!, log, epoch, new Set(["daily\t2026-11-29"]), new Date(epoch));
    assertEquals(due.map((d) => d.key.split("\t")[0]), ["daily", "statement"]);
    // 30 days at 10 B/s: 25.92 MB (24.72 MiB), 1296.0% of 2 MB; the 95th percentile 80 bit/s.
    const [digest, statement] = due.map((d) => d.message!.text) as [string, string];
    ok(digest.includes("  acme: 25.92 MB of 2.00 MB (1296.0%, counting total)\n"), digest);
    ok(statement.includes("Quota: acme: 25.92 MB of 2.00 MB (1296.0%, counting total)\n"), statement);
    ok(statement.includes("Total: 24.72 MiB (25920000 bytes)\n"), statement);
    ok(statement.includes("95th percentile: 80.00 bit/s; commit 100.00 bit/s (80.0%)\n"), statement);
  });
});

Deno.test("every Message-ID netmon builds is RFC 5322's (a dot-atom each side): digests, statements of any customer name, reports", async () => {
  await withTempDir(async (dir) => {
    const start = Date.UTC(2025, 10, 30), epoch = Date.UTC(2025, 11, 3);
    const lines = ["# netmon meters:\tup"];
    for (let t = start; t <= epoch; t += 3_600_000) lines.push(`${local(t)}\t${(t - start) / 1000}`);
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, lines.map((l) => `${l}\n`).join(""));
    // A statement's key holds the cycle's label (`A .. B`) and the customer's name, which may be anything printable.
    const names = ["charlie", "Zoë & Co.", ".dots..", "-", "東京", "大阪"];
    const config = parseConfig(
      '[billing]\ntimezone = "UTC"\n' +
        names.map((n) => `[[customer]]\nname = ${JSON.stringify(n)}\nmeters = ["up"]\n`).join("") +
        mailSection(25, 'send = ["daily", "cycle"]\n'),
      "netmon.toml",
    );
    const due = dueDigests(config, config.mail!, log, epoch, new Set(), new Date(epoch));
    assertEquals(due.length, 1 + names.length, due.map((d) => d.key).join("; "));
    const ids = [
      ...due.map((d) => d.message!.messageId),
      reportMessage(config.mail!, "2025/12/03-00:00:00", new Date(epoch), "text").messageId,
    ];
    for (const id of ids) ok(isMessageId(id), id);
    assertEquals(new Set(ids).size, ids.length, "each its own");
  });
});

Deno.test("a billing with no zone is the log's in digests and statements (its zone record's), whatever this process's TZ", async () => {
  await withTempDir(async (dir) => {
    // acme counts 1 B/s from 1 November 2026 00:00 UTC, logged hourly by a report in Tokyo (UTC+9), which recorded
    // its zone. At 1 December 20:00 UTC (2 December 05:00 in Tokyo) yesterday is Tokyo's 1 December, and the cycle
    // that closed (day 15) is Tokyo's 15 October to 15 November, 14 November 15:00 UTC: 327 hours of the log.
    const start = Date.UTC(2026, 10, 1), epoch = Date.UTC(2026, 11, 1, 20);
    const stamp = (t: number) => {
      const z = Temporal.Instant.fromEpochMilliseconds(t).toZonedDateTimeISO("Asia/Tokyo");
      const p = (n: number) => String(n).padStart(2, "0");
      return `${z.year}/${p(z.month)}/${p(z.day)}-${p(z.hour)}:${p(z.minute)}:${p(z.second)}`;
    };
    const lines = ["# netmon meters:\tacme"];
    for (let t = start; t <= epoch; t += 3_600_000) lines.push(`${stamp(t)}\t${(t - start) / 1000}`);
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, lines.map((l) => `${l}\n`).join(""));
    await Deno.writeTextFile(`${dir}/netmon.zone`, "# netmon: the zone of netmon.log's stamps\n-\tAsia/Tokyo\n");
    const config = parseConfig(
      '[billing]\ncycle_day = 15\n[[customer]]\nname = "acme"\nmeters = ["acme"]\n' +
        mailSection(25, 'send = ["daily", "cycle"]\n'),
      "netmon.toml",
    );
    const due = dueDigests(config, config.mail!, log, epoch, new Set(), new Date(epoch));
    assertEquals(due.map((d) => d.key), ["daily\t2026-12-01", "statement\tacme\t2026-10-15 .. 2026-11-14"]);
    ok(due[0]!.message!.text.startsWith("Network usage on 2026-12-01 (local time):\n"), due[0]!.message!.text);
    const statement = due[1]!.message!.text;
    ok(statement.includes("(2026-10-15T00:00:00+09:00 to 2026-11-15T00:00:00+09:00, end exclusive)\n"), statement);
    ok(statement.includes(`Total: ${iecBytes(327n * 3600n)} (${327 * 3600} bytes)\n`), statement);
  });
});
