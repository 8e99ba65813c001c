/**
 * The README's set-up works as written: its quick start and the original
 * setup's commands, taken from the README itself, run one after the other
 * as root on a machine with no netmon files (the test sandbox: overlays over
 * /etc and /var inside a network namespace), each exiting 0, and doctor then
 * finding all well.
 *
 * @module
 */

import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import { netnsTest, removeFaketimeLeftovers, withPair } from "./helpers.ts";
import { sandbox, type StepResult } from "./sandbox.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const README = Deno.readTextFileSync(`${ROOT}README.md`);

/** The commands of the first ```sh block after `heading`, comments dropped. */
function commands(heading: string): string[] {
  const at = README.indexOf(heading);
  ok(at >= 0, heading);
  const start = README.indexOf("```sh\n", at) + 6;
  const block = README.slice(start, README.indexOf("```", start));
  return block.split("\n").map((l) => l.replace(/(^|\s+)#.*$/, "").trim()).filter((l) => l !== "");
}

netnsTest(
  "README: the quick start's report and the original setup's commands work as written, in order",
  () =>
    withPair(async (p) => {
      const quick = commands("Then, from this directory, one command runs").filter((c) => c !== "deno task test");
      const original = commands("`examples/original.toml` is the 2010 setup exactly");
      assertEquals(quick, ["deno task report"]);
      ok(
        original[0] === "mkdir -p /etc/netmon" && original.includes("deno task netmon schedule --cron"),
        original.join("; "),
      );
      const all = [...quick, ...original];
      const r = await sandbox(
        all.map((c) => ({ run: ["sh", "-c", `cd ${ROOT} && ${c}`], keep: true })),
        p.a,
      ) as StepResult[];
      all.forEach((c, i) => {
        const step = r[i] as StepResult;
        // deno task names the task it runs on stderr: that is all it may say there.
        const said = step.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("Task "));
        assertEquals([step.code, said], [0, []], `${c}: ${JSON.stringify(step)}`);
      });
      match((r[0] as StepResult).stdout, /^Last Total - Timestamp: /);
      match((r[all.indexOf("deno task netmon start --dry-run")] as StepResult).stdout, /netmon:proxy/);
      match((r.at(-1) as StepResult).stdout, /netmon doctor: all is well\n$/);
    }),
);

netnsTest(
  "README: a command run by hand on a config kept elsewhere is refused with the README's line, which works as written",
  async () => {
    const block = commands("### Running a command by hand on a config kept elsewhere");
    assertEquals(block.length, 3, block.join("; "));
    const [copy, task, line] = block as [string, string, string];
    ok(task.startsWith("deno task netmon ") && line.startsWith("deno run "), block.join("; "));
    const r = await sandbox([copy, task, line].map((c) => ({ run: ["sh", "-c", `cd ${ROOT} && ${c}`], keep: true })));
    const [copied, refused, ran] = r as [StepResult, StepResult, StepResult];
    assertEquals(copied.code, 0, copied.stderr);
    // The refusal prints exactly the README's line (the set's lists as deno.json has them now).
    assertEquals(refused.code, 77, refused.stderr);
    ok(refused.stderr.endsWith(`: run it as: ${line}\n`), refused.stderr);
    assertEquals([ran.code, ran.stderr], [0, ""], line);
    match(ran.stdout, /^# netmon report for \/etc\/netmon-lab\.toml, state in \/var\/lib\/netmon-lab\n/);
  },
);

netnsTest(
  "README: switching from a running network_monitor.py works as written: its rules taken over with their counters, " +
    "its files continued with no reset and the same total-start",
  () =>
    withPair(async (p) => {
      const find = commands("### Switching from network_monitor.py");
      const steps = commands("Then move its files into netmon's state directory");
      assertEquals(find, [
        "grep -rnsE 'network_monitor\\.py|netmon_graph\\.py' /var/spool/cron /etc/crontab /etc/cron.d",
      ]);
      ok(steps.includes("deno task netmon start") && steps.at(-1) === "deno task netmon doctor", steps.join("; "));
      const script = "/usr/local/bin/network_monitor.py";
      // The script's last report a day ago (faketime): a total-start that a reset would replace with today's.
      const orig = (command: string) => ({
        run: [
          "sh",
          "-c",
          `ORIG_STATE_DIR=/usr/local/bin ORIG_MAIL_OUT=/dev/null faketime -f -1d python3 ${script} ${command}`,
        ],
      });
      // Traffic from a documentation address that is not the script's NETWORK: counted as off-network.
      const send = {
        run: [
          "python3",
          "-c",
          "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n" +
          "for _ in range(20): s.sendto(bytes(1000), ('192.0.2.1', 9))",
        ],
      };
      // The 2010 crontab: the report, and the nightly graph of the script's log.
      const line = "*/5 * * * * /usr/local/bin/network_monitor.py report\n";
      const graph = "0 0 * * * cd /usr/local/bin && ./netmon_graph.py netmon.log\n";
      const r = await sandbox([
        { write: script, text: Deno.readTextFileSync(`${ROOT}tests/original/network_monitor.py`) },
        // A machine with cron, where root's crontab runs the script.
        { write: "/etc/crontab", text: "SHELL=/bin/sh\n" },
        { write: "/var/spool/cron/crontabs/root", text: line + graph },
        // The 2010 setup, running: its rules, a report, traffic since.
        orig("start"),
        send,
        orig("report"),
        // In the sandbox's own /run, not the host's /tmp.
        { run: ["cp", "/usr/local/bin/netmon.last", "/run/last-before"], keep: true },
        send,
        { run: ["sh", "-c", `cd ${ROOT} && ${find[0]}`], keep: true },
        // The script's line deleted and the graph's made to read netmon's log, as the README says (crontab -e).
        { write: "/var/spool/cron/crontabs/root", text: graph.replace("netmon.log", "/var/lib/netmon/netmon.log") },
        ...steps.map((c) => ({ run: ["sh", "-c", `cd ${ROOT} && ${c}`], keep: true })),
        { run: ["sh", "-c", "cat /run/last-before /var/lib/netmon/netmon.last"], keep: true },
        { run: ["stat", "-c", "%a %n", "/var/lib/netmon", "/var/lib/netmon/netmon.log"], keep: true },
      ], p.a) as StepResult[];
      removeFaketimeLeftovers();
      const [, found, ...rest] = r;
      assertEquals([found?.code, found?.stdout, found?.stderr], [
        0,
        `/var/spool/cron/crontabs/root:1:${line}/var/spool/cron/crontabs/root:2:${graph}`,
        "",
      ]);
      steps.forEach((c, i) => {
        const step = rest[i] as StepResult;
        const said = step.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("Task "));
        assertEquals([step.code, said], [0, []], `${c}: ${JSON.stringify(step)}`);
      });
      const out = (c: string) => (rest[steps.indexOf(c)] as StepResult).stdout;
      match(
        out("deno task netmon start --dry-run"),
        /^would take over rule INPUT -s 192\.168\.1\.10\/32 -j DOWNLOADED /,
      );
      match(
        out("deno task netmon start"),
        /^take over rule INPUT -s 192\.168\.1\.10\/32 -j DOWNLOADED .*\ntake over rule INPUT ! -s 192\.168\.1\.0\/24 -j DOWNLOADED /,
      );
      const report = out("deno task report");
      match(report, /^Last Total - Timestamp: /);
      ok(!report.includes("RESET"), report);
      // New Usage: the traffic since the script's last report (20 datagrams of 1,028 bytes, and whatever else the
      // namespace's own address answered), billed.
      const usage = /^New Usage - .* Off Network: (\S+)$/m.exec(report)?.[1] ?? "";
      ok(/^\d+\.\d\dK$/.test(usage) && parseFloat(usage) >= 20, report);
      match(out("deno task netmon doctor"), /netmon doctor: all is well\n$/);
      // The state as README "Files" promises it, not the script's world-readable log (its umask 022).
      assertEquals((rest.at(-1) as StepResult).stdout, "750 /var/lib/netmon\n640 /var/lib/netmon/netmon.log\n");
      const [before, after] = (rest.at(-2) as StepResult).stdout.trimEnd().split("\n");
      const d = new Date(Date.now() - 86_400_000);
      const yesterday = [d.getFullYear(), d.getMonth() + 1, d.getDate()].map((n) => String(n).padStart(2, "0")).join(
        "/",
      );
      ok(before?.split("\t")[3]?.startsWith(yesterday), before);
      assertEquals(after?.split("\t")[3], before?.split("\t")[3], "the script's total-start, kept");
    }),
);

Deno.test("README: every test the 'What survives what' table names is there, under the name it gives", () => {
  const at = README.indexOf("### What survives what");
  const table = README.slice(at, README.indexOf("\n## ", at));
  let named = 0;
  for (const row of table.split("\n").filter((l) => l.startsWith("| "))) {
    // `file_test.ts` "a name", "another"; `other_test.ts` …: each name is (part of) a test's name in that file.
    for (const [, file, names] of row.matchAll(/`([a-z_]+_test\.ts)`([^`|]*)/g)) {
      const text = Deno.readTextFileSync(`${ROOT}tests/${file}`);
      for (const [, name] of (names ?? "").matchAll(/"([^"]+)"/g)) {
        ok(text.includes(name as string), `${file} has no test named "${name}"`);
        named++;
      }
    }
  }
  ok(named > 20, `only ${named} test names found in the table`);
});
