/**
 * SMTP AUTH as the config asks for it, against a real SMTP server on
 * 127.0.0.1: a `[mail] user` without a password fails the delivery in one
 * line naming the config, after the sample is logged (mail is a side
 * output), and a server that does not offer AUTH is not sent the mail
 * unauthenticated.
 *
 * netmon runs as a subprocess with the interface source on `lo` (no root
 * needed) and only the permissions mail adds: the server's address and port.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import { missingPassword } from "../lib/config/mail.ts";
import { Mailer } from "../lib/outputs/mail.ts";
import { netmonMailing, spoolNames, withTempDir } from "./helpers.ts";
import { deadPort, type Server, withSmtp } from "./smtp_server.ts";

const PASSWORD = "s3cret-Pa55word-9c1e";

/** netmon on the config and state in `dir`, mailing to the server on `port` (tests/helpers.ts). */
const run = netmonMailing;

/** Writes a config metering `lo` that mails, over plain SMTP, to the server on `port`. */
async function config(dir: string, port: number, mail: string): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/netmon.toml`,
    `source = "interface"\ninterfaces = ["lo"]\n\n[mail]\nserver = "127.0.0.1"\nport = ${port}\n` +
      `from = "netmon@example.org"\nto = "ops@example.org"\nsecurity = "none"\ntimeout = 5\n${mail}`,
  );
}

const withServer = withSmtp;
/** The spool's file names, of the state directory in `dir`. */
const spoolOf = (dir: string) => spoolNames(`${dir}/state`);

/** The samples in the log (its lines but the header), none when there is no log. */
async function samples(dir: string): Promise<number> {
  try {
    return (await Deno.readTextFile(`${dir}/state/netmon.log`)).trim().split("\n").length - 1;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
}

Deno.test("mail.user without password_file is a valid config; the run's environment must then hold the password", () => {
  const mailOf = (keys: string) =>
    parseConfig(`[mail]\nto = "ops@example.org"\nfrom = "netmon@example.org"\n${keys}`, "n.toml").mail!;
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const bare = mailOf(`user = "netmon"`);
  const missing = 'mail.user "netmon" needs a password and none is given: set mail.password_file (a file holding ' +
    "it on its first line, mode 0600) or NETMON_SMTP_PASSWORD in the report's environment";
  assertEquals(missingPassword(bare, env({})), missing);
  assertEquals(missingPassword(bare, env({ NETMON_SMTP_PASSWORD: "" })), missing);
  assertEquals(missingPassword(bare, env({ NETMON_SMTP_PASSWORD: PASSWORD })), undefined);
  // A password_file is read when mail is sent; no user, no login, no password asked for.
  assertEquals(
    missingPassword(mailOf(`user = "netmon"\npassword_file = "/etc/netmon/smtp.password"`), env({})),
    undefined,
  );
  assertEquals(missingPassword(mailOf(""), env({})), undefined);
});

Deno.test("mail.user without a password: the sample logged, its report spooled, exit 78 in one line naming the config", async () => {
  await withTempDir(async (dir) => {
    const port = deadPort();
    await config(dir, port, `user = "netmon"\n`);
    // A run with the password in its environment, the server down: one sample logged, its report spooled.
    const down = await run(dir, ["report"], port, { NETMON_SMTP_PASSWORD: PASSWORD });
    assertEquals(down.code, 75, down.stderr);
    assertEquals([await samples(dir), spoolOf(dir).length], [1, 1]);
    const spooled = spoolOf(dir);

    // The same config run without it (cron sets no NETMON_SMTP_PASSWORD). Mail is a side output: the sample is
    // logged and its report printed and spooled, then delivery is refused in one line naming the config.
    const refused = await run(dir, ["report"], port);
    assertEquals(
      { code: refused.code, stderr: refused.stderr },
      {
        code: 78,
        stderr: `netmon: ${dir}/netmon.toml: mail.user "netmon" needs a password and none is given: set ` +
          "mail.password_file (a file holding it on its first line, mode 0600) or NETMON_SMTP_PASSWORD in the " +
          `report's environment; 2 mail(s) kept in ${dir}/state/spool for the next run\n`,
      },
    );
    ok(refused.stdout.startsWith("Last Total - "), "the report is printed");
    assertEquals(await samples(dir), 2, "the sample is logged: a side output never costs one");
    assertEquals(spoolOf(dir).length, 2, "its report waits beside the first");
    ok(spooled.every((name) => spoolOf(dir).includes(name)), "what was spooled stays");
    // And `netmon check` learns it from netmon.status.
    assertEquals((await Deno.readTextFile(`${dir}/state/netmon.status`)).split("\t").slice(1), [
      "78",
      refused.stderr.slice("netmon: ".length),
    ]);

    // The password given again: the report runs and both reports go, logged in as mail.user.
    await withServer({ tls: "none", auth: { user: "netmon", pass: PASSWORD }, port }, async (server) => {
      const up = await run(dir, ["report"], port, { NETMON_SMTP_PASSWORD: PASSWORD });
      assertEquals({ code: up.code, stderr: up.stderr }, { code: 0, stderr: "" });
      assertEquals(server.messages.map((m) => m.user), ["netmon", "netmon", "netmon"]);
      assertEquals([await samples(dir), spoolOf(dir)], [3, []]);
    });
  });
});

Deno.test("mail.user without a password: password_file is enough, and --no-mail runs the report without it", async () => {
  await withServer({ tls: "none", auth: { user: "netmon", pass: PASSWORD } }, (server) =>
    withTempDir(async (dir) => {
      await config(dir, server.port, `user = "netmon"\n`);
      const unmailed = await run(dir, ["report", "--no-mail"], server.port);
      assertEquals({ code: unmailed.code, stderr: unmailed.stderr }, { code: 0, stderr: "" });
      assertEquals([await samples(dir), server.messages.length, spoolOf(dir)], [1, 0, []]);

      await Deno.writeTextFile(`${dir}/password`, `${PASSWORD}\n`, { mode: 0o600 });
      await config(dir, server.port, `user = "netmon"\npassword_file = "${dir}/password"\n`);
      const mailed = await run(dir, ["report"], server.port);
      assertEquals({ code: mailed.code, stderr: mailed.stderr }, { code: 0, stderr: "" });
      assertEquals(server.messages.map((m) => m.user), ["netmon"]);
    }));
});

Deno.test("a server that does not offer AUTH is not sent the mail without the login mail.user asks for: exit 75, kept", async () => {
  await withServer({ tls: "none", offerAuth: false }, (server) =>
    withTempDir(async (dir) => {
      await config(dir, server.port, `user = "netmon"\n`);
      const r = await run(dir, ["report"], server.port, { NETMON_SMTP_PASSWORD: PASSWORD });
      assertEquals(server.messages.length, 0, "nothing is sent unauthenticated");
      assertEquals(r.code, 75, r.stderr);
      ok(r.stdout.startsWith("Last Total - "), "the report is still printed");
      assertEquals(
        r.stderr.replace(/:\d+ /, ":PORT ").replace(/ in \S+ for/, " in SPOOL for"),
        "netmon: mail to 127.0.0.1:PORT failed: the server does not offer AUTH, so the login as netmon that " +
          'mail.user asks for cannot be made (it said "500 Error: command not recognized"): netmon does not send ' +
          "without it; remove mail.user if this server needs no login, else check mail.server, mail.port and " +
          "mail.security; 1 mail(s) kept in SPOOL for the next run\n",
      );
      assertEquals([await samples(dir), spoolOf(dir).length], [1, 1]);

      // Without mail.user, the same server takes the report (and the one kept): no login asked for, none made.
      await config(dir, server.port, "");
      const open = await run(dir, ["report"], server.port);
      assertEquals({ code: open.code, stderr: open.stderr }, { code: 0, stderr: "" });
      assertEquals(server.messages.map((m) => m.user ?? "none"), ["none", "none"]);
      assertEquals(spoolOf(dir), []);
    }));
});

Deno.test("doctor's check of the way to the server (Mailer.verify) says the same when AUTH is not offered", async () => {
  const mailTo = (port: number) =>
    parseConfig(
      `[mail]\nto = "ops@example.org"\nfrom = "netmon@example.org"\nserver = "127.0.0.1"\nport = ${port}\n` +
        `security = "none"\ntimeout = 5\nuser = "netmon"\n`,
      "n.toml",
    ).mail!;
  const verify = async (server: Server) => {
    const mailer = await Mailer.open(mailTo(server.port), PASSWORD);
    try {
      return await mailer.verify();
    } catch (err) {
      return (err as Error).message.replace(/:\d+ /, ":PORT ");
    } finally {
      mailer.close();
    }
  };
  await withServer({ tls: "none", offerAuth: false }, async (server) => {
    assertEquals(
      await verify(server),
      "mail to 127.0.0.1:PORT failed: the server does not offer AUTH, so the login as netmon that mail.user asks " +
        'for cannot be made (it said "500 Error: command not recognized"): netmon does not send without it; remove ' +
        "mail.user if this server needs no login, else check mail.server, mail.port and mail.security",
    );
  });
  await withServer({ tls: "none", auth: { user: "netmon", pass: PASSWORD } }, async (server) => {
    assertEquals(await verify(server), "answered without TLS and accepted the login as netmon");
  });
});
