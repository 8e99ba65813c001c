/**
 * What netmon refuses to run with, as root, before it reads or writes
 * anything (sshd's StrictModes; lib/host/dir_trust.ts): a store directory
 * another user can write, a state directory another user can write (not
 * sticky), a config file or a program the config names (sendmail) that
 * another user owns or can write, or in a directory another user can write.
 * Real files of another user (chown to nobody) and real plants by nobody
 * (setpriv), in the test's own temporary directories.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { deepEqual as assertEquals, ok } from "node:assert/strict";
import {
  exists,
  graph,
  must,
  netmon,
  netmonRuleTargets,
  netmonSet,
  netnsTest,
  type Result,
  withPair,
  withTempDir,
  writeConfig,
} from "./helpers.ts";
import { withSmtp } from "./smtp_server.ts";

const root = Deno.uid() === 0;
const rootTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: !root, fn, sanitizeOps: false, sanitizeResources: false });
if (!root) console.log("strict_modes_test: IGNORED (not passed): files of another user need root");

const NOBODY = 65534;
const LO = 'source = "interface"\ninterfaces = ["lo"]\n';

/** A temporary directory other users can traverse (the test's own is 0700). */
function withOpenTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  return withTempDir(async (dir) => {
    await Deno.chmod(dir, 0o755);
    await fn(dir);
  });
}

async function mkdir(path: string, mode: number): Promise<string> {
  await Deno.mkdir(path);
  await Deno.chmod(path, mode);
  return path;
}

/** `args` of netmon with the config `config`, killed after 30 s (a FIFO waited on). */
function run(args: string[], dir: string, config: string, permissions?: string[]): Promise<Result> {
  return netmon([...args, "-c", config], {
    dirs: [dir],
    wrap: ["timeout", "-s", "KILL", "30"],
    ...(permissions ? { permissions } : {}),
  });
}

/** The one line a refusal prints (no other line), exit 77. */
function refused(r: Result, what: RegExp, fix: string): void {
  assertEquals(r.code, 77, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assertEquals(lines.length, 1, r.stderr);
  ok(what.test(lines[0]!), lines[0]);
  ok(lines[0]!.includes(fix), `the fix ${fix}: ${lines[0]}`);
}

rootTest(
  "a store directory another user can write is refused before SQLite opens anything there",
  () =>
    withOpenTempDir(async (dir) => {
      const state = await mkdir(`${dir}/state`, 0o700);
      for (const mode of [0o777, 0o1777, 0o775]) {
        const shared = await mkdir(`${dir}/shared-${mode.toString(8)}`, mode);
        // The journal attack's FIFO: SQLite would block on it, holding the state lock.
        if (mode !== 0o775) {
          await must("setpriv", [
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
            "mkfifo",
            `${shared}/netmon.db-journal`,
          ]);
        }
        const config = `${dir}/netmon.toml`;
        await Deno.writeTextFile(config, `${LO}state_dir = "${state}"\nstore = "sqlite:${shared}/netmon.db"\n`);
        for (const args of [["report"], ["import"]]) {
          const r = await run(args, dir, config);
          ok(r.code !== 137, `${args[0]}: blocked: ${r.stderr}`);
          refused(
            r,
            new RegExp(`^netmon: ${shared} is writable by (every user|group 0).*store`),
            `chmod go-w ${shared}`,
          );
          ok(!exists(`${shared}/netmon.db`), `${args[0]}: no store made`);
          assertEquals(
            [...Deno.readDirSync(state)].map((e) => e.name),
            [],
            `${args[0]}: nothing in the state directory`,
          );
        }
      }
    }),
);

rootTest(
  "as root, a state directory another user can write is refused unless sticky (then warned)",
  () =>
    withOpenTempDir(async (dir) => {
      const config = `${dir}/netmon.toml`;
      await Deno.writeTextFile(config, LO);
      for (const [mode, code] of [[0o777, 77], [0o770, 77], [0o1777, 0], [0o750, 0]] as const) {
        const state = await mkdir(`${dir}/state-${mode.toString(8)}`, mode);
        const r = await run(["report", "-s", state], dir, config);
        assertEquals(r.code, code, `${mode.toString(8)}: ${r.stderr}`);
        if (code === 77) {
          refused(r, new RegExp(`^netmon: ${state} is writable by`), `chmod go-w ${state}`);
          assertEquals([...Deno.readDirSync(state)].map((e) => e.name), [], "nothing read or written there");
        } else {
          ok(exists(`${state}/netmon.log`));
          ok(
            mode === 0o750 ? r.stderr === "" : r.stderr.includes(`warning: ${state} is writable by every user`),
            r.stderr,
          );
        }
      }
    }),
);

rootTest(
  "as root, import with a PostgreSQL store refuses a state directory another user can write before the store",
  () =>
    withOpenTempDir(async (dir) => {
      // Nothing listens on port 1: an import that reached the store would fail there, not with the refusal.
      const config = `${dir}/netmon.toml`;
      await Deno.writeTextFile(config, `${LO}store = "postgresql://netmon@127.0.0.1:1/netmon"\n`);
      const state = await mkdir(`${dir}/state`, 0o777);
      const r = await run(
        ["import", "-s", state],
        dir,
        config,
        netmonSet(dir, { net: ["127.0.0.1:1"], sys: ["hostname"], env: ["NETMON_DB_PASSWORD", "PGPASSFILE"] }),
      );
      refused(r, new RegExp(`^netmon: ${state} is writable by every user`), `chmod go-w ${state}`);
      assertEquals([...Deno.readDirSync(state)].map((e) => e.name), [], "nothing made or locked there");
    }),
);

rootTest(
  "as root, graph.ts refuses a state directory another user can write, as report does, when it reads or writes there",
  () =>
    withOpenTempDir(async (dir) => {
      const config = `${dir}/netmon.toml`;
      await Deno.writeTextFile(config, LO);
      const state = await mkdir(`${dir}/state`, 0o750);
      for (let k = 0; k < 2; k++) assertEquals((await run(["report", "-s", state], dir, config)).code, 0, "set-up");
      const log = Deno.readTextFileSync(`${state}/netmon.log`);
      await Deno.writeTextFile(`${dir}/copy.log`, log);
      await Deno.chmod(state, 0o777);
      const before = [...Deno.readDirSync(state)].map((e) => e.name).sort();
      const cases: [string, string[]][] = [
        // schedule's nightly graph: the state directory's log, its outputs there.
        ["the nightly graph", ["-c", config, "-s", state, "-o", `${state}/usage.dat`, "--plot", `${state}/usage.png`]],
        ["reading the log there", ["-c", config, "-s", state, "-o", `${dir}/out.dat`]],
        ["the pages from the log there", ["-c", config, "-s", state, "--html", `${dir}/site`]],
        ["a log named elsewhere, the data written there", ["-s", state, `${dir}/copy.log`, "-o", `${state}/usage.dat`]],
      ];
      for (const [what, args] of cases) {
        const r = await graph(args, { dirs: [dir] });
        assertEquals(r.code, 77, `${what}: ${r.stderr}`);
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        assertEquals(lines.length, 1, `${what}: ${r.stderr}`);
        ok(lines[0]!.startsWith(`graph: ${state} is writable by every user`), `${what}: ${lines[0]}`);
        ok(lines[0]!.includes(`chmod go-w ${state}`), `${what}: ${lines[0]}`);
        assertEquals([...Deno.readDirSync(state)].map((e) => e.name).sort(), before, `${what}: nothing written there`);
        ok(!exists(`${dir}/out.dat`) && !exists(`${dir}/site`), `${what}: nothing written`);
      }
      // A log named elsewhere, written elsewhere: the state directory is not used, so not refused.
      const elsewhere = await graph(["-s", state, `${dir}/copy.log`, "-o", `${dir}/out.dat`], { dirs: [dir] });
      assertEquals([elsewhere.code, elsewhere.stderr], [0, ""]);
    }),
);

rootTest(
  "as root, graph.ts --plot never runs a [binaries] gnuplot another user can change: refused before anything",
  () =>
    withOpenTempDir(async (dir) => {
      const loose = await mkdir(`${dir}/loose`, 0o777);
      await Deno.chown(loose, OTHER, OTHER);
      const ran = `${dir}/ran-as-root`;
      const program = `${loose}/gnuplot`;
      await Deno.writeTextFile(program, `#!/bin/sh\ntouch ${ran}\nexec /usr/bin/gnuplot "$@"\n`);
      await Deno.chmod(program, 0o755);
      await Deno.chown(program, OTHER, OTHER);
      const config = await writeConfig(dir, `${LO}[binaries]\ngnuplot = "${program}"\n`);
      const log = `${dir}/netmon.log`;
      await Deno.writeTextFile(log, "2026/11/01-00:00:00\t100\t200\n2026/11/02-00:00:00\t300\t400\n");
      const args = ["-c", config, log, "-o", `${dir}/usage.dat`, "--plot", `${dir}/usage.png`];
      const extra = [`--allow-run=/usr/bin/gnuplot,/usr/bin/stat,${program}`];
      const r = await graph(args, { dirs: [dir], extra });
      ok(!exists(ran), `it ran: ${r.stderr}`);
      assertEquals(r.code, 77, r.stderr);
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      assertEquals(lines.length, 1, r.stderr);
      ok(lines[0]!.startsWith(`graph: ${program} is owned by uid ${OTHER}`), lines[0]);
      ok(lines[0]!.includes("program the config names"), lines[0]);
      ok(!exists(`${dir}/usage.dat`) && !exists(`${dir}/usage.png`), "nothing written");
      // Root's, in root's directory: run.
      const own = `${dir}/gnuplot`;
      await Deno.copyFile(program, own);
      await Deno.chmod(own, 0o755);
      await writeConfig(dir, `${LO}[binaries]\ngnuplot = "${own}"\n`);
      const fine = await graph(args, { dirs: [dir], extra: [`--allow-run=/usr/bin/gnuplot,/usr/bin/stat,${own}`] });
      assertEquals([fine.code, fine.stderr], [0, ""]);
      ok(exists(ran) && exists(`${dir}/usage.png`), "root's gnuplot drew the picture");
    }),
);

rootTest(
  "a config file another user owns or can write, or in a directory another user can write, is refused",
  () =>
    withOpenTempDir(async (dir) => {
      const state = await mkdir(`${dir}/state`, 0o700);
      const text = `${LO}state_dir = "${state}"\n`;
      const cases: [string, (path: string) => Promise<void>, RegExp][] = [
        ["nobody", (p) => Deno.chown(p, NOBODY, NOBODY), /owned by uid 65534/],
        ["0666", (p) => Deno.chmod(p, 0o666), /writable by every user \(mode 0666\)/],
        ["0664", (p) => Deno.chmod(p, 0o664), /writable by group 0/],
      ];
      for (const [name, spoil, said] of cases) {
        const config = `${dir}/netmon-${name}.toml`;
        await Deno.writeTextFile(config, text);
        await Deno.chmod(config, 0o644);
        await spoil(config);
        for (const args of [["report"], ["summary"]]) {
          const r = await run(args, dir, config);
          refused(r, new RegExp(`^netmon: ${config} is .*${said.source}.*config file`), `${config}`);
          ok(r.stderr.includes(`chown root:root ${config} && chmod go-w ${config}`), r.stderr);
        }
        assertEquals([...Deno.readDirSync(state)].map((e) => e.name), [], `${name}: nothing written`);
        // doctor says it as a problem of the config.
        const d = await run(["doctor"], dir, config);
        assertEquals(d.code, 1, d.stdout);
        ok(/PROBLEM[^\n]*config|config[^\n]*PROBLEM/i.test(d.stdout), d.stdout);
        ok(d.stdout.replace(/\s+/g, " ").includes(`chown root:root ${config} && chmod go-w ${config}`), d.stdout);
      }
      // Root's own file, but in a directory every user can write (not sticky): they could put another in its place.
      const loose = await mkdir(`${dir}/loose`, 0o777);
      await Deno.writeTextFile(`${loose}/netmon.toml`, text);
      const r = await run(["report"], dir, `${loose}/netmon.toml`);
      refused(r, new RegExp(`^netmon: ${loose} is writable by every user.*config file`), `chmod go-w ${loose}`);
      // In a sticky one (like /tmp) it is root's and stays so: run.
      const sticky = await mkdir(`${dir}/sticky`, 0o1777);
      await Deno.writeTextFile(`${sticky}/netmon.toml`, text);
      const fine = await run(["report"], dir, `${sticky}/netmon.toml`);
      assertEquals([fine.code, fine.stderr], [0, ""]);
    }),
);

rootTest(
  "a sendmail program the config names, another user's or in a directory they can write, is never run",
  () =>
    withOpenTempDir(async (dir) => {
      const state = await mkdir(`${dir}/state`, 0o700);
      const ran = `${dir}/ran-as-root`;
      const script = `#!/bin/sh\nid -u > ${ran}\ncat > /dev/null\n`;
      const loose = await mkdir(`${dir}/loose`, 0o777);
      const cases: [string, string, (p: string) => Promise<void>, string][] = [
        ["nobody", `${dir}/evil.sh`, (p) => Deno.chown(p, NOBODY, NOBODY), "owned by uid 65534"],
        ["0777", `${dir}/open.sh`, (p) => Deno.chmod(p, 0o777), "writable by every user (mode 0777)"],
        ["in a loose directory", `${loose}/sendmail`, () => Promise.resolve(), `${loose} is writable by every user`],
      ];
      for (const [name, program, spoil, said] of cases) {
        await Deno.writeTextFile(program, script);
        await Deno.chmod(program, 0o755);
        await spoil(program);
        const config = `${dir}/netmon.toml`;
        await Deno.writeTextFile(
          config,
          `${LO}state_dir = "${state}"\n[mail]\ntransport = "sendmail"\nsendmail = "${program}"\n` +
            `from = "netmon@example.org"\nto = ["ops@example.org"]\n`,
        );
        const permissions = [
          `--allow-run=/usr/sbin/ip,/usr/bin/stat,${program}`,
          `--allow-read=${dir}`,
          `--allow-write=${dir}`,
          "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,NETMON_SMTP_PASSWORD",
          "--allow-sys=uid,osUptime",
        ];
        for (const args of [["report"], ["report", "--mail-test"]]) {
          const r = await run(args, dir, config, permissions);
          refused(r, new RegExp(`^netmon: .*${said.replace(/[()]/g, "\\$&")}.*program`), "chmod go-w");
          ok(!exists(ran), `${name}: ${args.join(" ")}: it ran`);
        }
        assertEquals([...Deno.readDirSync(state)].map((e) => e.name), [], `${name}: nothing written`);
        const d = await run(["doctor"], dir, config, permissions);
        assertEquals(d.code, 1, d.stdout);
        ok(d.stdout.replace(/\s+/g, " ").includes(said), d.stdout);
        ok(!exists(ran), `${name}: doctor ran it`);
      }
    }),
);

rootTest(
  "a [binaries] program of another user is never run: report, start and status refuse",
  () =>
    withOpenTempDir(async (dir) => {
      const state = await mkdir(`${dir}/state`, 0o700);
      const ran = `${dir}/ran-as-root`;
      const program = `${dir}/evil-ip`;
      await Deno.writeTextFile(program, `#!/bin/sh\nid -u > ${ran}\nexec /usr/sbin/ip "$@"\n`);
      await Deno.chmod(program, 0o755);
      await Deno.chown(program, NOBODY, NOBODY);
      const config = `${dir}/netmon.toml`;
      await Deno.writeTextFile(config, `${LO}state_dir = "${state}"\n[binaries]\nip = "${program}"\n`);
      for (const args of [["report"], ["start", "--dry-run"], ["status"]]) {
        const r = await netmon([...args, "-c", config], {
          dirs: [dir],
          run: [program],
          wrap: ["timeout", "-s", "KILL", "30"],
        });
        refused(
          r,
          new RegExp(`^netmon: ${program} is owned by uid 65534.*program the config names`),
          "chown root:root",
        );
        ok(!exists(ran), `${args.join(" ")}: it ran`);
      }
      // Root's again: run.
      await Deno.chown(program, 0, 0);
      const r = await netmon(["report", "-c", config], { dirs: [dir], run: [program] });
      assertEquals(r.code, 0, r.stderr);
      ok(exists(ran), "root's program runs");
    }),
);

/** An unused uid: the other user whose file a password or CA file is. */
const OTHER = 4242;

/** `text` with regular expression characters escaped. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

rootTest(
  "a password or CA file the config names, another user's or one they can write or replace, is refused before anything",
  () =>
    withOpenTempDir(async (dir) => {
      const state = await mkdir(`${dir}/state`, 0o700);
      const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
      const mail = `[mail]\nserver = "127.0.0.1"\nport = 1\nfrom = "netmon@example.org"\nto = ["ops@example.org"]\n`;
      const store = `store = "postgresql://netmon@127.0.0.1:1/netmon"\n[postgresql]\n`;
      // Each key, what the file holds, and the config that names it as `file`.
      const keys: [string, string, (file: string) => string][] = [
        ["mail.password_file", "secret\n", (f) => `${mail}user = "netmon"\npassword_file = "${f}"\n`],
        ["mail.ca_file", pem, (f) => `${mail}ca_file = "${f}"\n`],
        ["postgresql.password_file", "secret\n", (f) => `${store}password_file = "${f}"\n`],
        ["postgresql.ca_file", pem, (f) => `${store}sslmode = "verify-ca"\nca_file = "${f}"\n`],
      ];
      const loose = await mkdir(`${dir}/loose`, 0o777);
      // How the file is spoiled, where it is, and what the one line says of what (`path`) and the fix.
      const spoils: [string, string, (p: string) => Promise<void>, string, (p: string) => string][] = [
        ["another user's", dir, (p) => Deno.chown(p, OTHER, OTHER), "owned by uid 4242", (p) => p],
        ["writable by its group", dir, (p) => Deno.chmod(p, 0o664), "writable by group 0", (p) => p],
        ["in a directory every user can write", loose, () => Promise.resolve(), "writable by every user", () => loose],
      ];
      const permissions = netmonSet(dir, {
        net: ["127.0.0.1:1"],
        sys: ["hostname"],
        env: ["NETMON_DB_PASSWORD", "PGPASSFILE"],
      });
      for (const [key, content, configOf] of keys) {
        for (const [how, where, spoil, said, what] of spoils) {
          const file = `${where}/${key}`;
          await Deno.writeTextFile(file, content);
          await Deno.chmod(file, 0o600);
          await spoil(file);
          const config = `${dir}/netmon.toml`;
          await Deno.writeTextFile(config, `${LO}state_dir = "${state}"\n${configOf(file)}`);
          const r = await run(["report"], dir, config, permissions);
          refused(
            r,
            new RegExp(
              `^netmon: ${literal(what(file))} is ${said}.* the ${literal(key)} ${literal(file)} \\(netmon refuses`,
            ),
            `chown root:root ${what(file)} && chmod go-w ${what(file)}`,
          );
          assertEquals([...Deno.readDirSync(state)].map((e) => e.name), [], `${key} ${how}: nothing written`);
          await Deno.remove(file);
        }
      }
    }),
);

rootTest(
  "doctor, as root, runs no program and reads no file of a refused config: every check past it is skipped",
  () =>
    withOpenTempDir(async (dir) => {
      const state = await mkdir(`${dir}/state`, 0o700);
      // The attacker's own directory, which every user can write: what is in it is theirs to choose.
      const loose = await mkdir(`${dir}/loose`, 0o777);
      await Deno.chown(loose, OTHER, OTHER);
      const ran = `${dir}/ran-as-root`;
      const program = `${loose}/ip`;
      await Deno.writeTextFile(program, `#!/bin/sh\ntouch ${ran}\nexec /usr/sbin/ip "$@"\n`);
      await Deno.chmod(program, 0o755);
      await Deno.chown(program, OTHER, OTHER);
      // A root-only file, and the attacker's link to it where the config expects the SMTP password.
      const secret = `${dir}/shadow`;
      await Deno.writeTextFile(secret, "root:$y$j9T$not-a-real-hash:20000:0:99999:7:::\n");
      await Deno.chmod(secret, 0o600);
      const password = `${loose}/smtp.password`;
      await Deno.symlink(secret, password);
      await must("chown", ["-h", `${OTHER}:${OTHER}`, password]);
      await withSmtp({ tls: "none", auth: { user: "netmon", pass: "anything" } }, async (server) => {
        const mail = `[mail]\nserver = "127.0.0.1"\nport = ${server.port}\nsecurity = "none"\ntimeout = 5\n` +
          `from = "netmon@example.org"\nto = ["ops@example.org"]\nuser = "netmon"\npassword_file = "${password}"\n`;
        const config = `${dir}/netmon.toml`;
        await Deno.writeTextFile(config, `${LO}state_dir = "${state}"\n[binaries]\nip = "${program}"\n${mail}`);
        const d = await run(["doctor", "--json"], dir, config, [
          `--allow-run=/usr/sbin/ip,/usr/bin/stat,${program}`,
          `--allow-read=${dir}`,
          `--allow-write=${dir}`,
          "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,NETMON_SMTP_PASSWORD",
          "--allow-sys=uid,osUptime,statfs",
          `--allow-net=127.0.0.1:${server.port}`,
        ]);
        // No login: doctor read nothing through the other user's link.
        assertEquals(server.logins, []);
        ok(!exists(ran), "doctor ran the other user's program");
        assertEquals(server.messages, []);
        assertEquals(d.code, 1, d.stderr);
        const checks = (JSON.parse(d.stdout) as { checks: { check: string; verdict: string; said: string }[] })
          .checks;
        const config0 = checks[0]!;
        assertEquals([config0.check, config0.verdict], ["config", "problem"]);
        ok(config0.said.includes(`${loose} is owned by uid ${OTHER}`), config0.said);
        assertEquals(
          checks.slice(1).map((c) => `${c.check} ${c.verdict}: ${c.said}`),
          ["binaries", "rules", "state-dir", "log", "schedule", "original", "mail", "last-report"].map((c) =>
            `${c} skipped: fix the config problem first`
          ),
        );
      });
      assertEquals([...Deno.readDirSync(state)].map((e) => e.name), [], "nothing written");
    }),
);

rootTest(
  "schedule --into a directory another user can put another in place of is refused before it writes or removes there",
  () =>
    withOpenTempDir(async (dir) => {
      const config = await writeConfig(dir, LO);
      // Root's own schedule directory, holding netmon's cron file.
      const victim = await mkdir(`${dir}/victim`, 0o755);
      const run = (...args: string[]) =>
        netmon(["schedule", "-c", config, "-s", `${dir}/state`, ...args], { dirs: [dir] });
      assertEquals((await run("--cron", "--into", victim)).code, 0, "set-up");
      const cron = Deno.readTextFileSync(`${victim}/netmon`);
      // The other user's directory, and in it their link to root's, or a directory of theirs.
      const pub = await mkdir(`${dir}/pub`, 0o777);
      await Deno.chown(pub, OTHER, OTHER);
      await Deno.symlink(victim, `${pub}/link`);
      await must("chown", ["-h", `${OTHER}:${OTHER}`, `${pub}/link`]);
      await mkdir(`${pub}/own`, 0o755);
      for (const into of [`${pub}/link`, `${pub}/own`]) {
        for (const args of [["--remove", "--cron"], ["--remove", "--systemd"], ["--cron"], ["--systemd"]]) {
          const r = await run(...args, "--into", into);
          const what = `${args.join(" ")} --into ${into}`;
          assertEquals(r.code, 77, `${what}: ${r.stderr}`);
          const lines = r.stderr.split("\n").filter((l) => l !== "");
          assertEquals(lines.length, 1, `${what}: ${r.stderr}`);
          ok(
            new RegExp(
              `^netmon: ${literal(pub)}(/link)? is .*owned by uid ${OTHER}.* schedule directory ${literal(into)} `,
            )
              .test(lines[0]!),
            `${what}: ${lines[0]}`,
          );
          assertEquals(r.stdout, "", what);
        }
      }
      assertEquals([...Deno.readDirSync(victim)].map((e) => e.name), ["netmon"], "nothing written or removed there");
      assertEquals(Deno.readTextFileSync(`${victim}/netmon`), cron);
      assertEquals([...Deno.readDirSync(`${pub}/own`)].map((e) => e.name), [], "nothing written there");
      // Root's own directory is written and removed from as before.
      const removed = await run("--remove", "--cron", "--into", victim);
      assertEquals([removed.code, removed.stderr], [0, ""]);
      assertEquals([...Deno.readDirSync(victim)].map((e) => e.name), []);
    }),
);

rootTest(
  "a mail.attach file another user can write is warned of: the report goes on, and mails it",
  () =>
    withOpenTempDir(async (dir) => {
      const state = await mkdir(`${dir}/state`, 0o700);
      const sent = `${dir}/sent.eml`;
      const sendmail = `${dir}/sendmail`;
      await Deno.writeTextFile(sendmail, `#!/bin/sh\ncat > ${sent}\n`);
      await Deno.chmod(sendmail, 0o755);
      const attached = `${dir}/usage.txt`;
      await Deno.writeTextFile(attached, "the attached file\n");
      await Deno.chmod(attached, 0o666);
      const config = `${dir}/netmon.toml`;
      await Deno.writeTextFile(
        config,
        `${LO}state_dir = "${state}"\n[mail]\ntransport = "sendmail"\nsendmail = "${sendmail}"\n` +
          `from = "netmon@example.org"\nto = ["ops@example.org"]\nattach = ["${attached}"]\n`,
      );
      const r = await run(["report"], dir, config, [
        `--allow-run=/usr/sbin/ip,/usr/bin/stat,${sendmail}`,
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,NETMON_SMTP_PASSWORD",
        "--allow-sys=uid,osUptime",
      ]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(
        r.stderr,
        `netmon: warning: ${attached} is writable by every user (mode 0666): another user could choose what netmon ` +
          `mails with every report through the mail.attach file ${attached} (the report goes on, but fix it: ` +
          `chown root:root ${attached} && chmod go-w ${attached})\n`,
      );
      ok(Deno.readTextFileSync(sent).includes(`filename=usage.txt`), "mailed with the attachment");
    }),
);

rootTest(
  "summary, check, schedule and pf-conf refuse a config in a directory another user can write, as report does",
  () =>
    withOpenTempDir(async (dir) => {
      const state = await mkdir(`${dir}/state`, 0o700);
      assertEquals((await run(["report", "-s", state], dir, await writeConfig(dir, LO))).code, 0, "set-up");
      const before = [...Deno.readDirSync(state)].map((e) => e.name).sort();
      const loose = await mkdir(`${dir}/loose`, 0o777);
      const config = await writeConfig(loose, `${LO}state_dir = "${state}"\n`);
      const said = new RegExp(`^${literal(loose)} is writable by every user.* the config file ${literal(config)} `);
      for (const args of [["summary"], ["schedule"], ["pf-conf"]]) {
        const r = await run(args, dir, config);
        refused(r, new RegExp(`^netmon: ${said.source.slice(1)}`), `chmod go-w ${loose}`);
        assertEquals(r.stdout, "", `${args[0]}: nothing printed`);
      }
      // What the report only warns of and summary does not read (the textfile's directory) is not summary's to say.
      const shared = await mkdir(`${dir}/textfile`, 0o777);
      const textfile = await writeConfig(
        dir,
        `${LO}state_dir = "${state}"\n[prometheus]\ntextfile = "${shared}/n.prom"\n`,
        "textfile.toml",
      );
      const s = await run(["summary"], dir, textfile);
      assertEquals([s.code, s.stderr], [0, ""], `summary with a loose textfile directory: ${s.stderr}`);
      // A monitoring plugin says it as its one UNKNOWN line.
      const c = await run(["check"], dir, config);
      assertEquals(c.code, 3, c.stdout);
      ok(c.stdout.startsWith("NETMON UNKNOWN - ") && said.test(c.stdout.slice(17)), c.stdout);
      assertEquals([...Deno.readDirSync(state)].map((e) => e.name).sort(), before, "nothing written");
      // graph.ts, as root, too.
      const g = await graph(["-c", config, "-o", `${dir}/out.dat`], { dirs: [dir] });
      assertEquals(g.code, 77, g.stderr);
      ok(g.stderr.startsWith(`graph: ${loose} is writable by every user`), g.stderr);
      ok(!exists(`${dir}/out.dat`), "graph wrote nothing");
    }),
);

netnsTest(
  "[iptables] start and stop refuse a state directory another user can write or replace before they make anything",
  () =>
    withPair(
      (p) =>
        withOpenTempDir(async (dir) => {
          const config = await writeConfig(dir, '[[meter]]\nname = "a-proxy"\nfrom = "198.51.100.10"\n');
          const o = { ns: p.a, dirs: [dir], wrap: ["timeout", "-s", "KILL", "60"] };
          // Not made yet, in a directory every user can write: they could put another in its place.
          const open = await mkdir(`${dir}/open`, 0o777);
          const start = await netmon(["start", "-c", config, "-s", `${open}/state`], o);
          refused(start, new RegExp(`^netmon: ${literal(open)} is writable by every user.*state directory`), open);
          assertEquals([...Deno.readDirSync(open)].map((e) => e.name), [], "no state directory made");
          assertEquals(await netmonRuleTargets(p), [], "nothing installed");
          // There, and every user can write it.
          const state = await mkdir(`${dir}/state`, 0o777);
          for (const command of ["start", "stop"]) {
            const r = await netmon([command, "-c", config, "-s", state], o);
            refused(r, new RegExp(`^netmon: ${literal(state)} is writable by every user.*state directory`), state);
            assertEquals([...Deno.readDirSync(state)].map((e) => e.name), [], `${command}: nothing made there`);
          }
          assertEquals(await netmonRuleTargets(p), [], "nothing installed");
        }),
      "nm-trust2-",
    ),
);
