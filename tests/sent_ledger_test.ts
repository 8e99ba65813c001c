/**
 * The sent ledger (`netmon.sent`, lib/state/tally_file.ts): a key recorded
 * after a line a killed run left torn goes on its own line; recording never
 * waits on a FIFO swapped in for the ledger; and the ledger is pruned of keys
 * no check reads again, so that it stays the size of its last few months.
 */
import { deepEqual as assertEquals, equal, ok } from "node:assert/strict";
import { alertKey, SentAlerts } from "../lib/outputs/alert_keys.ts";
import { mailFrom, mailFromKey, pruneSent, readSent, recordSent, SENT_KEPT_DAYS } from "../lib/state/tally_file.ts";
import { must, withTempDir } from "./helpers.ts";

const root = Deno.uid() === 0;

Deno.test("sent ledger: a key after a torn last line goes on its own line, the torn fragment on its own (matching no key)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/netmon.sent`;
    recordSent(path, "daily\t2026-11-01");
    await Deno.writeTextFile(path, "statement\tacme\t2026-10-0", { append: true }); // a run killed mid-append
    recordSent(path, "daily\t2026-11-02");
    equal(Deno.readTextFileSync(path), "daily\t2026-11-01\nstatement\tacme\t2026-10-0\ndaily\t2026-11-02\n");
    assertEquals([...readSent(path)].sort(), ["daily\t2026-11-01", "daily\t2026-11-02", "statement\tacme\t2026-10-0"]);
    equal((Deno.statSync(path).mode ?? 0) & 0o777, 0o640);
  });
});

Deno.test({
  name: "sent ledger: recording refuses a FIFO swapped in for the ledger at once instead of waiting on it",
  ignore: !root,
  fn: async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/netmon.sent`;
      await must("mkfifo", [path]);
      // In a child, so that an open that waits (as a plain read-only open of a FIFO does) cannot hang the tests.
      const code = `import { recordSent } from ${
        JSON.stringify(new URL("../lib/state/tally_file.ts", import.meta.url).href)
      };
        try { recordSent(${JSON.stringify(path)}, "daily\\t2026-11-01"); console.log("recorded"); }
        catch (e) { console.log("refused: " + e.message); }`;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["eval", "--frozen", `--config=${new URL("../deno.json", import.meta.url).pathname}`, code],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const out = await child.output();
      clearTimeout(timer);
      const text = new TextDecoder().decode(out.stdout);
      ok(out.success, `the child finished instead of waiting on the FIFO: ${new TextDecoder().decode(out.stderr)}`);
      ok(/^refused: .*netmon\.sent.*FIFO/m.test(text), text);
    });
  },
});

Deno.test("sent ledger: pruned of keys about days before the cutoff, keeping every other key and form", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/netmon.sent`;
    const keys = [
      "daily\t2026-07-01",
      "daily\t2026-11-28",
      "statement\tacme\t2026-07-01 .. 2026-07-31",
      "statement\tacme\t2026-10-01 .. 2026-10-31",
      "quota\tacme\t2026-07-01T00:00:00+02:00\t80",
      "quota\tacme\t2026-07-01 .. 2026-07-31\t80", // as alert keys are written now: the cycle's dates
      "commit\tacme\t2026-10-01 .. 2026-10-31\t80",
      "quota\t2026-01-01 corp\t2026-11-01T00:00:00+01:00\t100", // a date in the name is not the key's day
      "commit\tacme\t2026-06-01T00:00:00Z\t80",
      "projected\tacme\t2026-11-01T00:00:00Z",
      "something else\twith no day",
      "mail from\t2026-05-01T08:00:00.000Z", // read by every run that mails: kept for good
    ];
    for (const k of keys) recordSent(path, k);
    const before = Deno.statSync(path);
    equal(pruneSent(path, "2026-06-01"), 0, "nothing before the cutoff: nothing dropped");
    equal(Deno.statSync(path).ino, before.ino, "and the file is not rewritten");
    equal(pruneSent(path, "2026-08-20"), 5);
    assertEquals([...readSent(path)], [
      "daily\t2026-11-28",
      "statement\tacme\t2026-10-01 .. 2026-10-31",
      "commit\tacme\t2026-10-01 .. 2026-10-31\t80",
      "quota\t2026-01-01 corp\t2026-11-01T00:00:00+01:00\t100",
      "projected\tacme\t2026-11-01T00:00:00Z",
      "something else\twith no day",
      "mail from\t2026-05-01T08:00:00.000Z",
    ]);
    equal((Deno.statSync(path).mode ?? 0) & 0o777, 0o640);
    ok(SENT_KEPT_DAYS > 62, "longer than two billing cycles: the last closed cycle's keys are kept");
    return Promise.resolve();
  });
});

Deno.test("sent ledger: an alert's key names its cycle's dates; a key of the versions before stands for the cycle starting on its date", () => {
  equal(alertKey("quota", "acme", "2026-11-15 .. 2026-12-14", 80), "quota\tacme\t2026-11-15 .. 2026-12-14\t80");
  equal(alertKey("projected", "acme", "2026-11-15 .. 2026-12-14"), "projected\tacme\t2026-11-15 .. 2026-12-14");
  const sent = new SentAlerts(
    new Set([
      "quota\tacme\t2026-11-15 .. 2026-12-14\t80",
      "quota\tacme\t2026-11-15T00:00:00+01:00\t12.5", // as the versions before wrote them
      "commit\tbeta corp\t2026-11-01T00:00:00-05:00\t100",
      "projected\tacme\t2026-10-15T01:00:00Z", // midnight skipped: the cycle began at 01:00
      "quota\t2026-11-15 x\t2026-10-15T00:00:00+02:00\t50", // a date in the name is not the cycle's
      "statement\tacme\t2026-11-15 .. 2026-12-14",
    ]),
  );
  const nov = "2026-11-15 .. 2026-12-14";
  assertEquals(
    [
      sent.status("quota", "acme", nov, 80),
      sent.status("quota", "acme", nov, 12.5),
      sent.status("quota", "acme", nov, 100),
      sent.status("commit", "acme", nov, 80),
      sent.status("commit", "beta corp", "2026-11-01 .. 2026-11-30", 100),
      sent.status("commit", "beta corp", "2026-11-01 .. 2026-11-30", 80),
      sent.status("projected", "acme", "2026-10-15 .. 2026-11-14"),
      sent.status("projected", "acme", nov),
      sent.status("quota", "2026-11-15 x", "2026-10-15 .. 2026-11-14", 50),
      sent.status("quota", "2026-11-15 x", nov, 50),
      sent.status("quota", "acme", "2026-11-20 .. 2026-12-19", 80), // another cycle_day: another cycle
    ],
    ["sent", "sent before", "due", "due", "sent before", "due", "sent before", "due", "sent before", "due", "due"],
  );
});

Deno.test("sent ledger: its mail from line names the instant netmon mails from, read back exactly; none in a ledger without it", () => {
  const at = Date.UTC(2026, 10, 30, 8, 0, 0, 250);
  equal(mailFromKey(at), "mail from\t2026-11-30T08:00:00.250Z");
  equal(mailFrom(new Set(["daily\t2026-11-29", mailFromKey(at)])), at);
  equal(mailFrom(new Set(["daily\t2026-11-29", "statement\tmail from\t2026-10-15 .. 2026-11-14"])), undefined);
  // Two (a ledger joined from two by hand): the earlier, so that nothing closed since either is held back.
  equal(mailFrom(new Set([mailFromKey(at), mailFromKey(at - 86_400_000)])), at - 86_400_000);
});
