/**
 * The first report that mails, on a log netmon kept (or another machine's,
 * moved in) before `[mail]` was set: it mails about the cycle in progress,
 * not about cycles that closed before it, which were settled without netmon's
 * mail. End to end: the interface source on a veth in namespaces the test
 * makes, a real SMTP server, the clock faked (libfaketime).
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import { alertsOutput } from "../lib/outputs/alerts.ts";
import { stateFiles } from "../lib/state/files.ts";
import { formatHeader, formatLast, formatLogLine } from "../lib/state/log_format.ts";
import { recordSample } from "../lib/state/record.ts";
import { formatTimestamp } from "../lib/usage/local_time.ts";
import { must, netnsTest, sendUdp, spoolNames, withTempDir } from "./helpers.ts";
import { decodeMail, mailSection, netmonAt, type QuotaEnv, spoolOf, withQuotaEnv } from "./quota_env.ts";

/** What one day of the log's history counts on the veth's rx (in): 9.26 bit/s. */
const DAY_BYTES = 100_000n;

/**
 * acme (quota 19 days' traffic, commit 8 bit/s, each alerted at 50 and 100%) and beta (its in only, quota 38 days'
 * traffic, alerted at 50%), each with its own statement address, cycles from the 15th in UTC; statements and digests.
 */
const config = (veth: string, port: number) =>
  `source = "interface"\ninterfaces = ["${veth}"]\n\n[billing]\ncycle_day = 15\ntimezone = "UTC"\n\n` +
  `[[customer]]\nname = "acme"\nmeters = ["${veth}"]\nquota = "1900 kB"\nalert_at = [50, 100]\n` +
  `commit = "8 bit/s"\nalert_to = "noc@acme.example"\nstatement_to = "billing@acme.example"\n\n` +
  `[[customer]]\nname = "beta"\nmeters = ["${veth}:rx"]\nquota = "3800 kB"\nalert_at = [50]\n` +
  `statement_to = "billing@beta.example"\n\n${mailSection(port, 'send = ["cycle", "daily"]\n')}`;

/** The veth's byte counters in the metered namespace, as the interface source reads them. */
async function counters(e: QuotaEnv): Promise<{ rx: bigint; tx: bigint }> {
  const [link] = JSON.parse(await must("ip", ["-n", e.p.a, "-json", "-statistics", "link", "show", "dev", e.p.va]));
  return { rx: BigInt(link.stats64.rx.bytes), tx: BigInt(link.stats64.tx.bytes) };
}

/**
 * The state another machine (or netmon before `[mail]`) left: a sample every day at noon from 2026-09-15 to
 * 2026-11-29, DAY_BYTES in a day, ending 40 kB below the veth's counter. So the cycles 2026-09-15 .. 2026-10-14
 * and 2026-10-15 .. 2026-11-14 closed over acme's quota and commit and beta's 50%, and the one in progress
 * (14.5 days) is past acme's 50% and commit, under its 100% and beta's 50%.
 */
async function movedInState(e: QuotaEnv): Promise<void> {
  await sendUdp(e.p.b, "192.0.2.1", 8000, 1000); // counters above the history's 7.5 MB
  const now = await counters(e);
  const rx = [`${e.p.va}:rx`, `${e.p.va}:tx`];
  const days = 76;
  // Stamps in UTC, the zone netmon runs in here (the `YYYY/MM/DD-HH:MM:SS` of an ISO instant).
  const samples = Array.from({ length: days }, (_, i) => ({
    timestamp: new Date(Date.UTC(2026, 8, 15 + i, 12)).toISOString().slice(0, 19).replaceAll("-", "/").replace(
      "T",
      "-",
    ),
    counters: new Map([[rx[0]!, now.rx - 40_000n - BigInt(days - 1 - i) * DAY_BYTES], [rx[1]!, now.tx]]),
  }));
  assertEquals([samples[0]!.timestamp, samples.at(-1)!.timestamp], ["2026/09/15-12:00:00", "2026/11/29-12:00:00"]);
  const state = `${e.dir}/state`;
  Deno.mkdirSync(state, { mode: 0o750 });
  Deno.writeTextFileSync(`${state}/netmon.log`, formatHeader(rx) + samples.map(formatLogLine).join(""));
  Deno.writeTextFileSync(
    `${state}/netmon.last`,
    formatLast({ sample: samples.at(-1)!, totalStart: samples[0]!.timestamp }),
  );
}

/** Each mail received so far: its subject and recipients. */
const received = (e: QuotaEnv) =>
  e.smtp.messages().map(decodeMail).map((m) => [m.headers.get("subject") ?? "", m.to.join(",")].join(" -> "));

async function ok0(e: QuotaEnv, at: string): Promise<void> {
  const r = await netmonAt(e, at);
  assertEquals({ at, code: r.code, stderr: r.stderr }, { at, code: 0, stderr: "" });
}

netnsTest(
  "the first report that mails, on a log with closed cycles over quota: only the cycle in progress, then its close",
  () =>
    withQuotaEnv(config, async (e) => {
      await movedInState(e);
      const november = "2026-11-15 .. 2026-12-14";
      await ok0(e, "2026-11-30 08:00:00");
      // The cycle in progress, and the day before's digest; nothing of October's cycle (closed two weeks before,
      // over acme's quota and commit and beta's 50%) or September's, neither alert nor statement.
      assertEquals(received(e).sort(), [
        "netmon daily usage - 2026-11-29 -> ops@example.org",
        `netmon: acme passed 100% of its commit (${november}) -> noc@acme.example`,
        `netmon: acme passed 50% of its commit (${november}) -> noc@acme.example`,
        `netmon: acme passed 50% of its quota (${november}) -> noc@acme.example`,
      ]);
      const ledger = Deno.readTextFileSync(`${e.dir}/state/netmon.sent`);
      ok(ledger.includes("mail from\t2026-11-30T08:00:"), ledger);
      // October's figures by hand, as the README says: the summary's row, the one its statement would attach.
      const summary = await netmonAt(e, "2026-11-30 08:30:00", [
        "summary",
        "--by",
        "cycle",
        "--meter",
        "acme",
        "--from",
        "2026-10-15",
        "--to",
        "2026-11-15",
        "--csv",
      ]);
      assertEquals([summary.code, summary.stderr], [0, ""]);
      const rows = summary.stdout.trimEnd().split("\n").slice(1);
      assertEquals(rows.map((r) => r.split(",").slice(0, 4).join(",")), [
        "2026-10-15T00:00:00+00:00,2026-11-15T00:00:00+00:00,acme,customer",
      ]);
      assertEquals(rows[0]!.split(",")[6], String(31n * DAY_BYTES), summary.stdout);
      // Later reports do not send the old cycles late either.
      await ok0(e, "2026-11-30 09:00:00");
      assertEquals(received(e).length, 4, received(e).join("\n"));

      // Mailing since: 600 kB, then the machine off until after November's cycle closed. The interval across its end
      // passes acme's 100% and beta's 50% in it (its rate, 3.5 bit/s, passes no commit threshold in December's):
      // those alerts, the cycle's statements and the last week's digests come, once.
      await sendUdp(e.p.b, "192.0.2.1", 576, 1000);
      await ok0(e, "2026-12-15 01:00:00");
      await ok0(e, "2026-12-15 02:00:00");
      const week = ["08", "09", "10", "11", "12", "13", "14"].map((d) =>
        `netmon daily usage - 2026-12-${d} -> ops@example.org`
      );
      assertEquals(
        received(e).slice(4).sort(),
        [
          ...week,
          `netmon statement for acme - ${november} -> billing@acme.example`,
          `netmon statement for beta - ${november} -> billing@beta.example`,
          `netmon: acme passed 100% of its quota (${november}) -> noc@acme.example`,
          `netmon: beta passed 50% of its quota (${november}) -> ops@example.org`,
        ].sort(),
      );
      assertEquals(spoolOf(e), []);
    }),
);

/**
 * A state directory in `dir` with acme (a 1 MiB quota, 50%) on eth0, its reports recorded in-process: `record` logs
 * a sample of eth0's `at.rx` at `at.epoch` (from `epoch`), through `output` when given (none: before mail).
 */
function acmeOnEth0(dir: string, epoch: number) {
  const config = parseConfig(
    `source = "interface"\ninterfaces = ["eth0"]\n[billing]\ntimezone = "UTC"\n` +
      `[[customer]]\nname = "acme"\nmeters = ["eth0"]\nquota = "1 MiB"\nalert_at = [50]\n${mailSection(25)}`,
    `${dir}/netmon.toml`,
  );
  const files = stateFiles(`${dir}/state`);
  const at = { rx: 0n, epoch };
  const record = (output?: ReturnType<typeof alertsOutput>) =>
    recordSample(files, {
      readCounters: () => Promise.resolve({ bytes: new Map([["eth0:rx", at.rx], ["eth0:tx", 0n]]) }),
      now: () => formatTimestamp(new Date(at.epoch)),
      ...(output ? { onRecorded: async (r) => void await output.recorded?.(r) } : {}),
    });
  const subjects = () =>
    spoolNames(files.dir).map((n) => JSON.parse(Deno.readTextFileSync(`${files.dir}/spool/${n}`)).subject);
  const ledger = () => Deno.readTextFileSync(`${files.dir}/netmon.sent`).split("\n").filter((l) => l !== "");
  return { config, files, at, record, subjects, ledger };
}

/**
 * Two samples, an hour before March's end and an hour after, 1.2 MB between them: half of it in each cycle, past
 * the 50% of a 1 MiB quota in both. The first sample is logged before mail (no output); the report of the second
 * is the first that mails, with `ledger` (keys) as netmon.sent before it. Returns the spooled subjects and the ledger.
 */
async function firstMailAcrossMarch(ledger: string[]): Promise<{ subjects: string[]; ledger: string[] }> {
  let result: { subjects: string[]; ledger: string[] } | undefined;
  await withTempDir(async (dir) => {
    const { config, files, at, record, subjects, ledger: sent } = acmeOnEth0(dir, Date.UTC(2025, 2, 31, 23));
    await record();
    if (ledger.length > 0) Deno.writeTextFileSync(`${dir}/state/netmon.sent`, ledger.map((k) => `${k}\n`).join(""));
    at.rx += 1_200_000n;
    at.epoch += 2 * 3_600_000;
    await record(alertsOutput(config, files, config.mail));
    result = { subjects: subjects(), ledger: sent() };
  });
  return result!;
}

Deno.test("the first report that mails, its interval across a cycle's end: the closed cycle was settled without it", async () => {
  assertEquals(await firstMailAcrossMarch([]), {
    subjects: ["netmon: acme passed 50% of its quota (2025-04-01 .. 2025-04-30)"],
    ledger: ["mail from\t2025-04-01T01:00:00.000Z", "quota\tacme\t2025-04-01 .. 2025-04-30\t50"],
  });
});

Deno.test("a ledger kept before the note of when mail began (an upgrade): mail counts from the sample before", async () => {
  // A ledger an earlier version wrote, mailing up to the sample before: the cycle that closed since is alerted.
  assertEquals(await firstMailAcrossMarch(["daily\t2025-03-30"]), {
    subjects: [
      "netmon: acme passed 50% of its quota (2025-03-01 .. 2025-03-31)",
      "netmon: acme passed 50% of its quota (2025-04-01 .. 2025-04-30)",
    ],
    ledger: [
      "daily\t2025-03-30",
      "mail from\t2025-03-31T23:00:00.000Z",
      "quota\tacme\t2025-03-01 .. 2025-03-31\t50",
      "quota\tacme\t2025-04-01 .. 2025-04-30\t50",
    ],
  });
});

Deno.test("--no-mail before the first report that mails only postpones: a cycle that closed between is alerted", async () => {
  await withTempDir(async (dir) => {
    const { config, files, at, record, subjects, ledger } = acmeOnEth0(dir, Date.UTC(2025, 2, 31, 21));
    await record();
    // 22:00 on 31 March, --no-mail (the output has no mail): March passes 50%; nothing is spooled yet.
    at.rx += 600_000n;
    at.epoch += 3_600_000;
    await record(alertsOutput(config, files, undefined));
    assertEquals(spoolNames(files.dir), []);
    // 01:00 on 1 April, the first run that mails: March's 50%, due since 22:00, goes now.
    at.rx += 1_000n;
    at.epoch += 3 * 3_600_000;
    await record(alertsOutput(config, files, config.mail));
    assertEquals(subjects(), ["netmon: acme passed 50% of its quota (2025-03-01 .. 2025-03-31)"]);
    assertEquals(ledger(), ["mail from\t2025-03-31T22:00:00.000Z", "quota\tacme\t2025-03-01 .. 2025-03-31\t50"]);
  });
});
