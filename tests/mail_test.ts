/**
 * Mailed reports against a real SMTP server on 127.0.0.1: plain, STARTTLS
 * and implicit TLS with a self-signed certificate, AUTH accepted and refused,
 * several recipients, an attachment, and a server that is down, refusing or
 * hung, with the spool delivering later, each report once.
 *
 * netmon runs as a subprocess with the interface source on `lo` (no root
 * needed) and only the permissions mail adds: the server's address and port.
 */
import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import { parseLast } from "../lib/state/log_format.ts";
import { mailBody } from "../lib/outputs/mail.ts";
import { formatReport } from "../lib/outputs/report_text.ts";
import { humanReadable } from "../lib/usage/units.ts";
import { computeUsage } from "../lib/usage/deltas.ts";
import { NETMON, netmon, netmonMailing, processesRunning, type Result, spoolNames, withTempDir } from "./helpers.ts";
import { deadPort, parseMessage, withSmtp } from "./smtp_server.ts";

const PASSWORD = "s3cret-Pa55word-7f3a";

/** netmon on the config and state in `dir`, mailing to the server on `port` (tests/helpers.ts). */
const run = netmonMailing;

/** Writes a config metering `lo` that mails to the server on `port`. */
async function config(dir: string, port: number, mail: string): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/netmon.toml`,
    `source = "interface"\ninterfaces = ["lo"]\n\n[mail]\nserver = "127.0.0.1"\nport = ${port}\nfrom = "netmon@example.org"\n` +
      `to = ["ops@example.org", "billing@example.net"]\ntimeout = 5\n${mail}`,
  );
}

const withServer = withSmtp;
/** The spool's file names, of the state directory in `dir`. */
const spoolOf = (dir: string) => spoolNames(`${dir}/state`);

/** Every file netmon wrote, and what it printed, must not hold the password. */
async function assertNoPassword(dir: string, ...outputs: Result[]): Promise<void> {
  for (const r of outputs) ok(!`${r.stdout}${r.stderr}`.includes(PASSWORD), "password in output");
  for await (const path of walk(`${dir}/state`)) {
    ok(!(await Deno.readTextFile(path)).includes(PASSWORD), `password in ${path}`);
  }
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) yield* walk(`${dir}/${e.name}`);
    else yield `${dir}/${e.name}`;
  }
}

Deno.test("mail body: the original's for its two meters, with the reset marker", () => {
  const previous = {
    sample: {
      timestamp: "2010/02/25-10:00:00",
      counters: new Map([["proxy", 1024n], ["non-network", 2048n]]),
    },
    totalStart: "2010/02/20-00:00:00",
  };
  const sample = { timestamp: "2010/02/25-10:05:00", counters: new Map([["proxy", 1536n], ["non-network", 3072n]]) };
  const meters = [{ name: "proxy", label: "Proxied" }, { name: "non-network", label: "Off Network" }];
  // The original's EMAIL_MSG, filled in by hand.
  assertEquals(
    mailBody(meters, previous, sample, computeUsage(previous, sample)),
    "Network usage between: 2010/02/25-10:00:00 and 2010/02/25-10:05:00\n\nProxy Traffic:\n  Usage: 512\n" +
      "  Current Total: 1.50K\n\nNon Network Traffic:\n  Usage: 1.00K\n  Current Total: 3.00K\n\n" +
      "Total since: 2010/02/20-00:00:00\n",
  );
  const reset = { timestamp: "2010/02/25-10:10:00", counters: new Map([["proxy", 10n], ["non-network", 4096n]]) };
  const body = mailBody(meters, { sample, totalStart: previous.totalStart }, reset, computeUsage(previous, reset));
  // The original mail had no reset line (only the marker): netmon's names the meters as the report text does.
  ok(
    body.startsWith(
      " == RESET DETECTED! == \nReset: counter went down: Proxied\n" +
        "Network usage between: 2010/02/25-10:05:00 and 2010/02/25-10:10:00\n",
    ),
    body,
  );
  const rebooted = mailBody(
    meters,
    { sample, totalStart: previous.totalStart },
    reset,
    computeUsage(previous, reset, new Map([["proxy", "reboot"], ["non-network", "reboot"]])),
  );
  ok(rebooted.startsWith(" == RESET DETECTED! == \nReset: reboot: Proxied, Off Network\n"), rebooted);
  match(
    formatReport(meters, { sample, totalStart: previous.totalStart }, reset, computeUsage(previous, reset)),
    /\n== RESET DETECTED! == counter went down: Proxied; /,
    "the report text names the meter the same way",
  );
  ok(body.endsWith("\nTotal since: 2010/02/25-10:10:00\n"), body);
});

Deno.test("[mail] is validated: one line per problem naming the key; nothing reaches a header", () => {
  const problems = (mail: string) => {
    try {
      parseConfig(`[mail]\n${mail}`, "n.toml");
      return [];
    } catch (e) {
      return (e as Error).message.split("\n");
    }
  };
  assertEquals(problems(`from = "a@example.org"`), ["n.toml: mail.to: is missing: name at least one recipient"]);
  assertEquals(problems(`to = "x@example.org\\nBcc: victim@example.net"\nfrom = "a@example.org"`), [
    'n.toml: mail.to: "x@example.org\\nBcc: victim@example.net" contains a control character (newline, tab, NUL…)',
  ]);
  assertEquals(problems(`to = ["a@example.org", "$(id)@example.org>"]\nfrom = "root"\nsecurity = "ssl"\nport = 0`), [
    'n.toml: mail.to[2]: "$(id)@example.org>" is not a mail address like netmon@example.org',
    'n.toml: mail.from: "root" is not a mail address like netmon@example.org',
    'n.toml: mail.security: "ssl" must be "none", "starttls" or "tls"',
    "n.toml: mail.port: 0 must be a port number from 1 to 65535",
  ]);
  assertEquals(problems(`to = "a@example.org"\nfrom = "a@example.org"\nserver = "mail;reboot"\npassword = "x"`), [
    'n.toml: mail.server: "mail;reboot" is not a host name or IP address',
    "n.toml: mail.password: unknown key (known keys: to, from, transport, server, port, security, user, password_file, ca_file, subject, attach, sendmail, helo, timeout, send)",
  ]);
  const ok587 = parseConfig(`[mail]\nto = "a@example.org"\nfrom = "n@example.org"\nserver = "smtp.example.org"`, "n");
  assertEquals([ok587.mail?.security, ok587.mail?.port], ["starttls", 587]);
});

Deno.test("report mails over plain SMTP to several recipients, with the right headers and body", async () => {
  await withServer({ tls: "none" }, (server) =>
    withTempDir(async (dir) => {
      await config(dir, server.port, `security = "none"\n`);
      const before = Date.now();
      const r = await run(dir, ["report"], server.port);
      assertEquals({ code: r.code, stderr: r.stderr }, { code: 0, stderr: "" });
      assertEquals(server.messages.length, 1);
      const m = server.messages[0]!;
      assertEquals([m.from, m.to], ["netmon@example.org", ["ops@example.org", "billing@example.net"]]);
      const { headers, body } = parseMessage(m.raw);
      const last = parseLast(await Deno.readTextFile(`${dir}/state/netmon.last`), "netmon.last");
      const stamp = last.sample.timestamp;
      assertEquals(headers.get("subject"), `Network Usage Report - ${stamp}`);
      assertEquals(headers.get("from"), "netmon@example.org");
      assertEquals(headers.get("to"), "ops@example.org, billing@example.net");
      ok(
        /^<netmon\.\d{14}\.[0-9a-f]{12}@example\.org>$/.test(headers.get("message-id") ?? ""),
        headers.get("message-id"),
      );
      const date = Date.parse(headers.get("date") ?? "");
      ok(date >= before - 1000 && date <= Date.now() + 1000, `Date header ${headers.get("date")}`);
      ok((headers.get("content-type") ?? "").startsWith("text/plain; charset=utf-8"));
      // First run: usage is each counter's value, totals count from now.
      let expected = `Network usage between: ${stamp} and ${stamp}\n`;
      for (const [name, v] of last.sample.counters) {
        expected += `\n${name} Traffic:\n  Usage: ${humanReadable(v)}\n  Current Total: ${humanReadable(v)}\n`;
      }
      expected += `\nTotal since: ${stamp}\n`;
      assertEquals(body.replaceAll("\r\n", "\n"), expected);
      assertEquals(spoolOf(dir), []);
    }));
});

Deno.test("STARTTLS with a self-signed certificate trusted through ca_file, and AUTH from password_file", async () => {
  await withServer(
    { tls: "starttls", auth: { user: "netmon", pass: PASSWORD } },
    (server) =>
      withTempDir(async (dir) => {
        await Deno.writeTextFile(`${dir}/password`, `${PASSWORD}\n`, { mode: 0o600 });
        await config(
          dir,
          server.port,
          `security = "starttls"\nuser = "netmon"\npassword_file = "${dir}/password"\nca_file = "${server.certFile}"\n`,
        );
        const r = await run(dir, ["report"], server.port);
        assertEquals({ code: r.code, stderr: r.stderr }, { code: 0, stderr: "" });
        assertEquals(server.messages.map((m) => [m.user, m.secure]), [["netmon", true]]);
        await assertNoPassword(dir, r);
      }),
  );
});

Deno.test("the server's certificate not trusted: exit 75, the report spooled", async () => {
  await withServer({ tls: "starttls" }, (server) =>
    withTempDir(async (dir) => {
      await config(dir, server.port, `security = "starttls"\n`);
      const r = await run(dir, ["report"], server.port);
      assertEquals(r.code, 75, r.stderr);
      const lines = r.stderr.trim().split("\n");
      assertEquals(lines.length, 1, r.stderr);
      ok(
        /^netmon: mail to 127\.0\.0\.1:\d+ failed: .*certificate.*; 1 mail\(s\) kept in .*spool for the next run$/i
          .test(lines[0]!),
        lines[0],
      );
      assertEquals(server.messages.length, 0);
      assertEquals(spoolOf(dir).length, 1);
    }));
});

Deno.test("implicit TLS, with the password from NETMON_SMTP_PASSWORD", async () => {
  await withServer({ tls: "tls", auth: { user: "netmon", pass: PASSWORD } }, (server) =>
    withTempDir(async (dir) => {
      await config(dir, server.port, `security = "tls"\nuser = "netmon"\nca_file = "${server.certFile}"\n`);
      const r = await run(dir, ["report"], server.port, { NETMON_SMTP_PASSWORD: PASSWORD });
      assertEquals({ code: r.code, stderr: r.stderr }, { code: 0, stderr: "" });
      assertEquals(server.messages.map((m) => [m.user, m.secure]), [["netmon", true]]);
      await assertNoPassword(dir, r);
    }));
});

Deno.test("AUTH refused: one line with what the server said, exit 75, sample logged, report spooled, no password anywhere", async () => {
  await withServer(
    { tls: "starttls", auth: { user: "netmon", pass: "the-right-one" } },
    (server) =>
      withTempDir(async (dir) => {
        await config(dir, server.port, `security = "starttls"\nuser = "netmon"\nca_file = "${server.certFile}"\n`);
        const r = await run(dir, ["report"], server.port, { NETMON_SMTP_PASSWORD: PASSWORD });
        assertEquals(r.code, 75);
        ok(r.stdout.startsWith("Last Total - "), "the report is still printed");
        assertEquals(
          r.stderr.replace(/:\d+ /, ":PORT ").replace(/ in \S+ for/, " in SPOOL for"),
          'netmon: mail to 127.0.0.1:PORT failed: authentication as netmon refused: the server said "535 Authentication credentials invalid"; 1 mail(s) kept in SPOOL for the next run\n',
        );
        assertEquals((await Deno.readTextFile(`${dir}/state/netmon.log`)).trim().split("\n").length, 2); // header + sample
        assertEquals(spoolOf(dir).length, 1);
        const spooled = await Deno.readTextFile(`${dir}/state/spool/${spoolOf(dir)[0]}`);
        ok(spooled.includes("Network Usage Report - "), spooled);
        assertEquals(((await Deno.stat(`${dir}/state/spool/${spoolOf(dir)[0]}`)).mode ?? 0) & 0o777, 0o640);
        await assertNoPassword(dir, r);
      }),
  );
});

Deno.test("server down: exit 75 and the report spooled; server up: both reports delivered oldest first, once", async () => {
  await withTempDir(async (dir) => {
    const port = deadPort();
    await config(dir, port, `security = "none"\n`);
    const down = await run(dir, ["report"], port);
    assertEquals(down.code, 75);
    ok(/failed: could not connect \(.*ECONNREFUSED.*\); 1 mail\(s\) kept/.test(down.stderr), down.stderr);
    assertEquals(spoolOf(dir).length, 1);
    const firstSubject = JSON.parse(await Deno.readTextFile(`${dir}/state/spool/${spoolOf(dir)[0]}`)).subject;
    await new Promise((r) => setTimeout(r, 1100)); // a later stamp for the second report
    await withServer({ tls: "none", port }, async (server) => {
      const up = await run(dir, ["report"], port);
      assertEquals({ code: up.code, stderr: up.stderr }, { code: 0, stderr: "" });
      const subjects = server.messages.map((m) => parseMessage(m.raw).headers.get("subject"));
      assertEquals(subjects.length, 2);
      assertEquals(subjects[0], firstSubject);
      ok((subjects[0] ?? "") < (subjects[1] ?? ""), `oldest first: ${subjects}`);
      const ids = new Set(server.messages.map((m) => parseMessage(m.raw).headers.get("message-id")));
      assertEquals(ids.size, 2);
      assertEquals(spoolOf(dir), []);
      // A third run sends its own report only.
      const again = await run(dir, ["report"], port);
      assertEquals(again.code, 0, again.stderr);
      assertEquals(server.messages.length, 3);
    });
  });
});

Deno.test("a server refusing for now (451): exit 75, sample logged, report spooled; accepted later, once", async () => {
  await withServer({ tls: "none" }, (server) =>
    withTempDir(async (dir) => {
      await config(dir, server.port, `security = "none"\n`);
      server.refuse = 451;
      const refused = await run(dir, ["report"], server.port);
      assertEquals(refused.code, 75);
      ok(/451/.test(refused.stderr) && refused.stderr.split("\n").length === 2, refused.stderr);
      assertEquals(spoolOf(dir).length, 1);
      assertEquals((await Deno.readTextFile(`${dir}/state/netmon.log`)).trimEnd().split("\n").length, 2);
      assertEquals(server.messages.length, 0);
      delete server.refuse;
      await new Promise((r) => setTimeout(r, 1100));
      const later = await run(dir, ["report"], server.port);
      assertEquals([later.code, later.stderr], [0, ""]);
      assertEquals(server.messages.length, 2, "the refused report, then this one");
      assertEquals(spoolOf(dir), []);
      const again = await run(dir, ["report"], server.port);
      assertEquals([again.code, server.messages.length], [0, 3], "nothing sent twice");
    }));
});

Deno.test("a report refused for good (554) is moved aside and the later ones still go: exit 69, then 0", async () => {
  await withServer({ tls: "none" }, (server) =>
    withTempDir(async (dir) => {
      await config(dir, server.port, `security = "none"\n`);
      server.refuse = 451;
      assertEquals((await run(dir, ["report"], server.port)).code, 75);
      const [first] = spoolOf(dir);
      const { messageId } = JSON.parse(await Deno.readTextFile(`${dir}/state/spool/${first}`));
      // The server now takes mail again, but never that message.
      delete server.refuse;
      server.refuseIf = { code: 554, when: (raw) => raw.includes(messageId) };
      await new Promise((r) => setTimeout(r, 1100));
      const r = await run(dir, ["report"], server.port);
      const spool = `${dir}/state/spool`;
      const aside = `${spool}/${first?.replace(/\.json$/, ".refused")}`;
      assertEquals(r.code, 69, r.stderr);
      const lines = r.stderr.split("\n");
      ok(lines[0]?.startsWith("netmon: warning: mail to 127.0.0.1:") && lines[0].includes("554"), r.stderr);
      ok(lines[0]?.includes(`moved to ${aside} (it would be refused again)`), r.stderr);
      assertEquals(
        lines[1],
        `netmon: 1 mail(s) refused for good by the mail server (see the warning above), kept as ${aside}; 1 sent`,
      );
      assertEquals(lines.length, 3, r.stderr);
      assertEquals(server.messages.length, 1, "the report after the refused one was sent");
      assertEquals(spoolOf(dir), [aside.slice(spool.length + 1)], "only the refused report is left, aside");
      ok(JSON.parse(await Deno.readTextFile(aside)).messageId === messageId, "the refused report is kept whole");
      await new Promise((r) => setTimeout(r, 1100));
      const next = await run(dir, ["report"], server.port);
      assertEquals([next.code, next.stderr, server.messages.length], [0, "", 2], "never retried, nothing stuck");
    }));
});

Deno.test("a hung server is given up on after the timeout, the report spooled; the password is in no process's argv", async () => {
  await withServer({ tls: "none", silent: true }, (server) =>
    withTempDir(async (dir) => {
      await config(dir, server.port, `security = "none"\nuser = "netmon"\n`);
      await Deno.writeTextFile(
        `${dir}/netmon.toml`,
        (await Deno.readTextFile(`${dir}/netmon.toml`)).replace("timeout = 5", "timeout = 2"),
      );
      const start = Date.now();
      const running = run(dir, ["report"], server.port, { NETMON_SMTP_PASSWORD: PASSWORD });
      // While netmon waits on the server, look at every process's command line.
      let sawNetmon = false;
      while (Date.now() - start < 1500) {
        for (const e of Deno.readDirSync("/proc")) {
          if (!/^\d+$/.test(e.name)) continue;
          let argv = "";
          try {
            argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
          } catch { /* gone */ }
          if (argv.includes(NETMON)) sawNetmon = true;
          ok(!argv.includes(PASSWORD), `password in the argv of process ${e.name}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      ok(sawNetmon, "netmon was running while the process list was read");
      const r = await running;
      const took = Date.now() - start;
      assertEquals(r.code, 75);
      ok(/no answer within 2 s/.test(r.stderr), r.stderr);
      ok(took < 15_000, `gave up after ${took} ms`);
      assertEquals(spoolOf(dir).length, 1);
      await assertNoPassword(dir, r);
    }));
});

Deno.test("an attachment arrives whole; --no-mail sends nothing; --mail-test says what the server said", async () => {
  await withServer({ tls: "none" }, (server) =>
    withTempDir(async (dir) => {
      const png = crypto.getRandomValues(new Uint8Array(3000));
      await Deno.writeFile(`${dir}/usage.png`, png);
      await config(dir, server.port, `security = "none"\nattach = "${dir}/usage.png"\n`);
      const r = await run(dir, ["report"], server.port);
      assertEquals({ code: r.code, stderr: r.stderr }, { code: 0, stderr: "" });
      const raw = server.messages[0]!.raw;
      ok(/^Content-Type: multipart\/mixed;/m.test(raw), "multipart");
      const part = raw.split(/\r\n--/).find((p) =>
        p.includes("filename=usage.png") || p.includes('filename="usage.png"')
      );
      ok(part, "the attachment part names the file");
      const b64 = (part ?? "").split("\r\n\r\n")[1]?.replace(/\s+/g, "") ?? "";
      assertEquals(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), png);

      const quiet = await run(dir, ["report", "--no-mail"], server.port);
      assertEquals(quiet.code, 0, quiet.stderr);
      assertEquals(server.messages.length, 1);
      assertEquals(spoolOf(dir), []);

      const lines = (await Deno.readTextFile(`${dir}/state/netmon.log`)).split("\n").length;
      const test = await run(dir, ["--mail-test"], server.port);
      assertEquals(test.code, 0, test.stderr);
      assertEquals(
        test.stdout.replace(/:\d+ /, ":PORT "),
        "mail test: 127.0.0.1:PORT accepted the message for ops@example.org, billing@example.net: 250 queued as N2\n",
      );
      assertEquals((await Deno.readTextFile(`${dir}/state/netmon.log`)).split("\n").length, lines, "nothing logged");
      ok((parseMessage(server.messages[1]!.raw).headers.get("subject") ?? "").startsWith("netmon mail test - "));
    }));
});

/** A report's permissions with `DIR/sendmail` as its MTA: exactly the netmon set's variables (sendmail needs no more). */
function sendmailPermissions(dir: string): string[] {
  return [
    `--allow-run=/usr/sbin/ip,/usr/bin/stat,${dir}/sendmail`,
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,NETMON_SMTP_PASSWORD",
    "--allow-sys=uid,osUptime",
  ];
}

Deno.test('transport = "sendmail" hands the report to a local MTA (msmtp relaying to the test server)', async () => {
  await withServer({ tls: "none" }, (server) =>
    withTempDir(async (dir) => {
      // msmtp is a real sendmail-compatible MTA; its own config relays to the server.
      await Deno.writeTextFile(
        `${dir}/.msmtprc`,
        `account default\nhost 127.0.0.1\nport ${server.port}\nfrom netmon@example.org\ntls off\nauth off\n`,
        { mode: 0o600 },
      );
      await Deno.writeTextFile(
        `${dir}/netmon.toml`,
        `source = "interface"\ninterfaces = ["lo"]\n\n[mail]\ntransport = "sendmail"\nsendmail = "${dir}/sendmail"\n` +
          `from = "netmon@example.org"\nto = ["ops@example.org", "billing@example.net"]\n`,
      );
      // sendmail gets only PATH and LC_ALL (no HOME): msmtp is told where its config is by a wrapper.
      await Deno.writeTextFile(
        `${dir}/sendmail`,
        `#!/bin/sh\nenv > ${dir}/sendmail.env\nexec /usr/bin/msmtp -C ${dir}/.msmtprc "$@"\n`,
        { mode: 0o755 },
      );
      const r = await netmon(["-c", `${dir}/netmon.toml`, "-s", `${dir}/state`, "report"], {
        permissions: sendmailPermissions(dir),
        env: { HOME: dir, NETMON_SMTP_PASSWORD: PASSWORD },
      });
      assertEquals({ code: r.code, stderr: r.stderr }, { code: 0, stderr: "" });
      assertEquals(server.messages.map((m) => [m.from, m.to]), [[
        "netmon@example.org",
        ["ops@example.org", "billing@example.net"],
      ]]);
      ok((parseMessage(server.messages[0]!.raw).headers.get("subject") ?? "").startsWith("Network Usage Report - "));
      assertEquals(spoolOf(dir), []);
      // The child's whole environment: no password, no HOME, nothing of netmon's.
      const env = (await Deno.readTextFile(`${dir}/sendmail.env`)).split("\n").filter((l) => l !== "").sort();
      assertEquals(env.filter((l) => !/^(PWD|SHLVL|_)=/.test(l)), ["LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]);
    }));
});

Deno.test("a hung sendmail is killed at the delivery deadline: exit 75, one line, the report spooled, nothing left running", async () => {
  await withTempDir(async (dir) => {
    // Reads the message, then never exits (as an MTA stuck on its queue lock).
    const argv = ["/bin/sleep", "93.0625"];
    await Deno.writeTextFile(`${dir}/sendmail`, `#!/bin/sh\ncat >/dev/null\nexec ${argv.join(" ")}\n`, { mode: 0o755 });
    await Deno.writeTextFile(
      `${dir}/netmon.toml`,
      `source = "interface"\ninterfaces = ["lo"]\n\n[mail]\ntransport = "sendmail"\nsendmail = "${dir}/sendmail"\n` +
        `from = "netmon@example.org"\nto = ["ops@example.org"]\ntimeout = 1\n`,
    );
    const started = performance.now();
    const r = await netmon(["-c", `${dir}/netmon.toml`, "-s", `${dir}/state`, "report"], {
      permissions: sendmailPermissions(dir),
    });
    assertEquals(r.code, 75, r.stderr);
    assertEquals(
      r.stderr,
      `netmon: mail to ${dir}/sendmail failed: it did not finish within 4 s (four times mail.timeout) and was killed; ` +
        `1 mail(s) kept in ${dir}/state/spool for the next run\n`,
    );
    ok(performance.now() - started < 30_000);
    assertEquals(spoolOf(dir).length, 1);
    // The sample is logged (a header and one line).
    assertEquals((await Deno.readTextFile(`${dir}/state/netmon.log`)).trim().split("\n").length, 2);
    // Killed, not left behind by the run that gave up on it.
    assertEquals(processesRunning(argv), []);
  });
});
