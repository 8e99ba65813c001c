/**
 * netmon run as root where other users can write (issue 15): links and
 * FIFOs planted by a real unprivileged user (setpriv to nobody) in real
 * directories without the sticky bit, so nothing depends on
 * fs.protected_symlinks; special files as outputs; unbounded input; a mail
 * server that never finishes; SIGKILL at every rename (strace) and at random
 * instants, with every interval counted in exactly one mail.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { deepEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import { moveStateFix } from "../lib/state/files.ts";
import {
  exists,
  graph,
  must,
  netmon,
  type NetmonRun,
  netmonSet,
  type Result,
  run,
  RUN_ALLOW,
  sendUdp,
  spawnNetmon,
  withPair,
  withTempDir,
  writeConfig,
} from "./helpers.ts";
import { parseMessage, type Server, startSmtp } from "./smtp_server.ts";
import { seededRandom } from "./random.ts";

const root = Deno.uid() === 0;
const NOBODY = 65534;
const rootTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: !root, fn, sanitizeOps: false, sanitizeResources: false });
if (!root) console.log("harden_test: IGNORED (not passed): the attacks need root and setpriv to nobody");

/** Runs `argv` as nobody (no groups): the other user who plants things. */
async function asNobody(argv: string[]): Promise<void> {
  await must("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", ...argv]);
}

/**
 * Starts nobody exchanging the names `a` and `b` (`renameat2` with `RENAME_EXCHANGE`, through Python's ctypes) over
 * and over, as an attacker who can write their directory swaps a FIFO in between netmon's look and its open;
 * `stop` ends it.
 */
function exchangeLoop(a: string, b: string, pause?: { swappedMs: number; backMs: number }): { stop(): Promise<void> } {
  // With `pause`: swapped for swappedMs, then back for backMs, over and over (else as fast as it can).
  const step = pause === undefined
    ? "    exchange()\n"
    : `    exchange()\n    time.sleep(${pause.swappedMs / 1000})\n    exchange()\n    time.sleep(${
      pause.backMs / 1000
    })\n`;
  // A failed exchange (no RENAME_EXCHANGE here, a name gone) ends it with status 1: stop() then fails the test, so
  // that a test never passes without its attack.
  const py = "import ctypes, sys, time\nlibc = ctypes.CDLL(None, use_errno=True)\n" +
    "a, b = (p.encode() for p in sys.argv[1:3])\n" +
    "def exchange():\n    if libc.renameat2(-100, a, -100, b, 2) != 0:\n        sys.exit(1)\n" +
    `while True:\n${step}`;
  const argv = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--pdeathsig", "KILL", "--"];
  const child = new Deno.Command("setpriv", {
    args: [...argv, "/usr/bin/python3", "-c", py, a, b],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* it has ended already: its status says how */ }
      const status = await child.status;
      assertEquals(
        status.signal,
        "SIGKILL",
        `the swapper ended by itself (status ${status.code}): nothing was swapped`,
      );
    },
  };
}

/** A directory every user can write, without the sticky bit (a state directory someone loosened). */
async function looseDir(parent: string, name: string): Promise<string> {
  const dir = `${parent}/${name}`;
  await Deno.mkdir(dir);
  await Deno.chmod(dir, 0o777);
  return dir;
}

/** A directory of nobody's (0755): the other user's, whose names they can change at will. */
async function nobodysDir(parent: string, name: string): Promise<string> {
  const dir = `${parent}/${name}`;
  await Deno.mkdir(dir);
  await Deno.chown(dir, NOBODY, NOBODY);
  await Deno.chmod(dir, 0o755);
  return dir;
}

/**
 * A state directory every user can write, with the sticky bit (like /tmp): as root netmon refuses one without it
 * (strict_modes_test.ts), and runs in this one, refusing what another user plants there.
 */
async function openStateDir(parent: string, name: string): Promise<string> {
  const dir = `${parent}/${name}`;
  await Deno.mkdir(dir);
  await Deno.chmod(dir, 0o1777);
  return dir;
}

/** A temporary directory other users can traverse (the test's own is 0700). */
async function withOpenTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    await Deno.chmod(dir, 0o755);
    await fn(dir);
  });
}

const LO = 'source = "interface"\ninterfaces = ["lo"]\n';

/** Runs the report with the config `text` and state `state`, killed if it takes longer than `seconds`. */
function report(dir: string, state: string, text = LO, o: NetmonRun = {}, seconds = 60): Promise<Result> {
  Deno.writeTextFileSync(`${dir}/netmon.toml`, text);
  return netmon(["report", "-c", `${dir}/netmon.toml`, "-s", state], {
    dirs: [dir],
    wrap: ["timeout", "-s", "KILL", String(seconds)],
    ...o,
  });
}

/** graph.ts under its permission set plus `dirs`, killed if it takes longer than `seconds`. */
function boundedGraph(args: string[], dirs: string[], seconds: number): Promise<Result> {
  return run("timeout", [
    "-s",
    "KILL",
    String(seconds),
    Deno.execPath(),
    "run",
    "-q",
    "--no-prompt",
    "-P=graph",
    `--allow-read=/etc/netmon,/var/lib/netmon,${dirs.join(",")}`,
    `--allow-write=/var/lib/netmon,${dirs.join(",")}`,
    new URL("../graph.ts", import.meta.url).pathname,
    ...args,
  ], {
    env: {
      NETMON_CONFIG: "",
      PATH: "/usr/bin:/bin",
      HOME: "/root",
      TZ: "UTC",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
    },
  });
}

rootTest(
  "links another user planted in the state directory are never followed; every run says the directory is loose",
  () =>
    withOpenTempDir(async (dir) => {
      const victim = `${dir}/victim`; // root's, empty: a log netmon would happily append to
      await Deno.writeTextFile(victim, "", { mode: 0o600 });
      const cases: [string, string, string][] = [
        ["netmon.log", victim, LO],
        ["netmon.last", victim, LO],
        ["netmon.lock", `${dir}/made-by-lock`, LO],
        ["netmon.sqlite", `${dir}/made-by-sqlite.db`, `${LO}store = "sqlite:netmon.sqlite"\n`],
      ];
      for (const [name, target, config] of cases) {
        const state = await openStateDir(dir, `state-${name}`);
        await asNobody(["ln", "-s", target, `${state}/${name}`]);
        const r = await report(dir, state, config);
        const errors = r.stderr.split("\n").filter((l) => l !== "" && !l.includes("warning:"));
        ok(r.code !== 0, `${name}: ${r.code} ${r.stderr}`);
        assertEquals(errors.length, 1, `${name}: one line: ${r.stderr}`);
        // The store's directory (here the state directory) is refused outright, sticky or not (strict_modes_test.ts).
        ok(
          name === "netmon.sqlite"
            ? r.code === 77 && /SQLite store's directory .*refuses to run/.test(errors[0] as string)
            : /symbolic link/.test(errors[0] as string),
          `${name}: ${r.stderr}`,
        );
        ok(r.stderr.includes(`${state} is writable by every user (mode 1777)`), `${name}: warns: ${r.stderr}`);
        ok(r.stderr.includes(`chmod go-w ${state}`), `${name}: says the fix: ${r.stderr}`);
        assertEquals(Deno.readTextFileSync(victim), "", `${name}: the victim is unchanged`);
        ok(!exists(`${dir}/made-by-lock`) && !exists(`${dir}/made-by-sqlite.db`), `${name}: nothing made`);
      }
      // graph.ts and doctor say it too.
      const state = `${dir}/state-netmon.log`;
      const g = await graph(["-s", state, "-o", "-"], { dirs: [dir] });
      ok(g.stderr.includes(`graph: warning: ${state} is writable by every user`), g.stderr);
      ok(/symbolic link/.test(g.stderr), g.stderr);
      // (On a config without the store, which netmon refuses in this directory: doctor would then check nothing else.)
      const d = await netmon(["doctor", "-c", await writeConfig(dir, LO), "-s", state], { dirs: [dir] });
      ok(/state-dir[^\n]*\n?[^\n]*writable by every user/.test(d.stdout), d.stdout);
      ok(d.stdout.replace(/\s+/g, " ").includes(`chmod go-w ${state}`), d.stdout);
    }),
);

rootTest(
  "a POSIX ACL that lets another user write the state directory is seen (the mask shows as root's group's write bit)",
  () =>
    withOpenTempDir(async (dir) => {
      const victim = `${dir}/victim`;
      await Deno.writeTextFile(victim, "", { mode: 0o600 });
      const state = `${dir}/state-acl`;
      await Deno.mkdir(state, { mode: 0o755 });
      // root:root 0755 plus an ACL entry for nobody: stat shows mode 0775 and group 0, nothing else.
      await must("setfacl", ["-m", "u:nobody:rwx", state]);
      assertEquals([Deno.statSync(state).mode! & 0o777, Deno.statSync(state).gid], [0o775, 0]);
      await asNobody(["ln", "-s", victim, `${state}/netmon.log`]);
      // As root, refused before anything there is looked at (strict_modes_test.ts).
      const r = await report(dir, state);
      assertEquals(r.code, 77, r.stderr);
      ok(
        r.stderr.includes(
          `${state} is writable by group 0 (root) or by a user or group a POSIX ACL names (mode 0775): another user ` +
            `could plant links or FIFOs in the state directory ${state} (netmon refuses to run until it is fixed`,
        ),
        r.stderr,
      );
      ok(r.stderr.includes(`chmod go-w ${state}`), r.stderr);
      assertEquals(Deno.readTextFileSync(victim), "");
      // The fix it gives narrows the ACL's mask: nobody can write there any more, and nothing is said.
      await Deno.remove(`${state}/netmon.log`);
      await must("chmod", ["go-w", state]);
      await rejects(asNobody(["touch", `${state}/planted`]));
      const fixed = await report(dir, state);
      assertEquals([fixed.code, fixed.stderr], [0, ""]);
    }),
);

rootTest(
  "a spool directory that is another user's link is refused: no file there deleted or mailed",
  () =>
    withOpenTempDir(async (dir) => {
      const server = await startSmtp({ tls: "none" });
      try {
        const other = `${dir}/someapp`;
        await Deno.mkdir(other);
        const theirs = {
          subject: "SOMEAPP SECRET",
          text: "secret\n",
          date: new Date().toISOString(),
          messageId: "<x@y>",
        };
        await Deno.writeTextFile(`${other}/a.json`, JSON.stringify(theirs));
        const state = await openStateDir(dir, "state");
        await asNobody(["ln", "-s", other, `${state}/spool`]);
        const r = await report(dir, state, mailConfig(server.port), { permissions: mailPermissions(dir, server.port) });
        ok(r.code !== 0, r.stderr);
        ok(/spool directory is a symbolic link/.test(r.stderr), r.stderr);
        ok(exists(`${other}/a.json`), "their file is still there");
        assertEquals(server.messages.filter((m) => m.raw.includes("SOMEAPP SECRET")).length, 0);
        assertEquals([...Deno.readDirSync(other)].map((e) => e.name), ["a.json"]);
      } finally {
        await server.close();
      }
    }),
);

rootTest(
  "a FIFO at netmon.last, netmon.log or netmon.lock is refused at once, never waited on",
  () =>
    withOpenTempDir(async (dir) => {
      for (const name of ["netmon.last", "netmon.log", "netmon.lock"]) {
        const state = await openStateDir(dir, `state-${name}`);
        await asNobody(["mkfifo", `${state}/${name}`]);
        const started = Date.now();
        const r = await report(dir, state, LO, {}, 30);
        ok(r.code !== 137, `${name}: killed after 30 s: it blocked`);
        ok(Date.now() - started < 20_000, `${name}: took ${Date.now() - started} ms`);
        ok(/is a FIFO, not a regular file/.test(r.stderr), `${name}: ${r.code} ${r.stderr}`);
      }
    }),
);

rootTest(
  "graph.ts refuses a log that is a device: netmon.log -> /dev/zero, or /dev/zero named",
  () =>
    withOpenTempDir(async (dir) => {
      // Sticky: as root a loose one is refused before the log is looked at (strict_modes_test.ts).
      const state = await openStateDir(dir, "state");
      await asNobody(["ln", "-s", "/dev/zero", `${state}/netmon.log`]);
      for (const args of [["-s", state], ["/dev/zero"]]) {
        const r = await boundedGraph([...args, "-o", "-"], [dir, "/dev/zero"], 20);
        ok(r.code !== 137, `${args}: killed after 20 s: it read on`);
        ok(r.code !== 0, `${args}: ${r.code}`);
        ok(/symbolic link|character device, not a regular file/.test(r.stderr), r.stderr);
      }
    }),
);

rootTest(
  "a 100 MB line without a newline is refused early with file:line, the log untouched",
  () =>
    withOpenTempDir(async (dir) => {
      const state = `${dir}/state`;
      await Deno.mkdir(state);
      const log = `${state}/netmon.log`;
      await Deno.writeTextFile(log, "2026/11/20-10:00:00\t1\t2\n");
      const f = await Deno.open(log, { append: true });
      const chunk = new Uint8Array(1 << 20).fill(0x31);
      for (let i = 0; i < 100; i++) await f.write(chunk);
      f.close();
      const size = (await Deno.stat(log)).size;
      for (const which of ["report", "graph"]) {
        const started = Date.now();
        const r = which === "report"
          ? await report(dir, state, LO, {}, 30)
          : await boundedGraph([log, "-o", "-"], [dir], 30);
        const ms = Date.now() - started;
        ok(ms < 10_000, `${which}: ${ms} ms`);
        assertEquals(r.code, 65, `${which}: ${r.stderr}`);
        ok(r.stderr.includes(`${log}:2: line longer than`), `${which}: ${r.stderr}`);
      }
      assertEquals((await Deno.stat(log)).size, size);
    }),
);

/** A mail server that greets, then answers EHLO with "250-" every second, forever. */
function tricklingServer(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];
  (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      const enc = new TextEncoder();
      await conn.write(enc.encode("220 trickle ESMTP\r\n")).catch(() => {});
      conn.read(new Uint8Array(1024)).then(() => {
        timers.push(setInterval(() => conn.write(enc.encode("250-still thinking\r\n")).catch(() => {}), 1000));
      }).catch(() => {});
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close() {
      for (const t of timers) clearInterval(t);
      for (const c of conns) c.close();
      listener.close();
    },
  };
}

function mailConfig(port: number, extra = ""): string {
  return `${LO}\n[mail]\nserver = "127.0.0.1"\nport = ${port}\nfrom = "netmon@example.org"\n` +
    `to = ["ops@example.org"]\ntimeout = 2\n${extra}`;
}

function mailPermissions(dir: string, port: number): string[] {
  return [
    "--allow-run=/usr/sbin/ip,/usr/bin/stat",
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,NETMON_SMTP_PASSWORD",
    "--allow-sys=uid,osUptime",
    `--allow-net=127.0.0.1:${port}`,
  ];
}

rootTest(
  "a mail server that answers '250-' every second forever is given up on at the overall deadline",
  () =>
    withOpenTempDir(async (dir) => {
      const server = tricklingServer();
      try {
        const started = Date.now();
        const r = await report(dir, `${dir}/state`, mailConfig(server.port), {
          permissions: mailPermissions(dir, server.port),
        }, 60);
        ok(r.code !== 137, "killed after 60 s: the delivery never ended");
        assertEquals(r.code, 75, r.stderr);
        ok(r.stderr.includes("not delivered within 8 s overall"), r.stderr);
        ok(Date.now() - started < 30_000);
        assertEquals([...Deno.readDirSync(`${dir}/state/spool`)].filter((e) => e.name.endsWith(".json")).length, 1);
      } finally {
        server.close();
      }
    }),
);

rootTest(
  "mail without --allow-net is a permission to grant: exit 77 naming the flag",
  () =>
    withOpenTempDir(async (dir) => {
      const r = await report(dir, `${dir}/state`, mailConfig(2525), {
        permissions: mailPermissions(dir, 2525).filter((p) => !p.startsWith("--allow-net")),
      });
      assertEquals(r.code, 77, r.stderr);
      ok(r.stderr.includes("--allow-net=127.0.0.1:2525"), r.stderr);
    }),
);

rootTest(
  "mail.attach: a link another user planted is not followed; the report goes without it",
  () =>
    withOpenTempDir(async (dir) => {
      const server = await startSmtp({ tls: "none" });
      try {
        const secret = `${dir}/root-only`;
        await Deno.writeTextFile(secret, "TOPSECRET\n", { mode: 0o600 });
        const web = await looseDir(dir, "web");
        await asNobody(["ln", "-s", secret, `${web}/usage.png`]);
        const r = await report(dir, `${dir}/state`, mailConfig(server.port, `attach = ["${web}/usage.png"]\n`), {
          permissions: mailPermissions(dir, server.port),
        });
        assertEquals(r.code, 0, r.stderr);
        ok(/mail\.attach: .*usage\.png: the attachment is a symbolic link/.test(r.stderr), r.stderr);
        assertEquals(server.messages.length, 1);
        const raw = server.messages[0]!.raw;
        ok(!raw.includes("usage.png") && !raw.includes(btoa("TOPSECRET\n").slice(0, 8)), "nothing attached");
      } finally {
        await server.close();
      }
    }),
);

/** The intervals ("A and B") of the distinct reports the server received. */
function mailedIntervals(server: Server): string[] {
  const byId = new Map<string, string>();
  for (const m of server.messages) {
    const { headers, body } = parseMessage(m.raw);
    const between = /Network usage between: (\S+) and (\S+)/.exec(body.replace(/=\r\n/g, ""));
    ok(between, body);
    const id = headers.get("message-id") as string;
    const interval = `${between[1]} ${between[2]}`;
    // The one repeat the README allows: the same report (same Message-ID) after a kill between acceptance and removal.
    if (byId.has(id)) assertEquals(byId.get(id), interval);
    byId.set(id, interval);
  }
  return [...byId.values()].sort();
}

/** The intervals the log says were reported: each sample with the one before it (the first with itself). */
function loggedIntervals(log: string): string[] {
  const stamps = log.split("\n").filter((l) => /^\d{4}\//.test(l)).map((l) => l.split("\t")[0] as string);
  return stamps.map((s, i) => `${stamps[i - 1] ?? s} ${s}`).sort();
}

rootTest(
  "SIGKILL at every rename (strace) and at random instants: every interval in exactly one mail",
  () =>
    withOpenTempDir(async (dir) => {
      const server = await startSmtp({ tls: "none" });
      const random = seededRandom("SIGKILL sweep");
      const state = `${dir}/state`;
      const perms = mailPermissions(dir, server.port);
      Deno.writeTextFileSync(`${dir}/netmon.toml`, mailConfig(server.port));
      try {
        let killed = 0;
        // Deterministic: the Nth rename of a run (spool entry, its commit, the last file) kills it.
        for (let when = 1; when <= 4; when++) {
          const r = await report(dir, state, mailConfig(server.port), {
            permissions: perms,
            wrap: [
              "strace",
              "-f",
              "-qq",
              "-o",
              "/dev/null",
              "-e",
              `inject=rename,renameat,renameat2:signal=SIGKILL:when=${when}`,
            ],
          });
          if (r.code === 137 || r.code === -9 || r.code === 128 + 9) killed++;
          await new Promise((ok) => setTimeout(ok, 1000)); // distinct stamps
        }
        ok(killed >= 2, `strace killed ${killed} runs`);
        // Random instants.
        for (let i = 0; i < 30; i++) {
          const child = spawnNetmon(["report", "-c", `${dir}/netmon.toml`, "-s", state], {
            permissions: perms,
            dirs: [dir],
          });
          await new Promise((ok) => setTimeout(ok, 150 + random() * 900));
          try {
            child.kill("SIGKILL");
          } catch { /* finished */ }
          await child.output();
          await new Promise((ok) => setTimeout(ok, 1000 - new Date().getMilliseconds()));
        }
        const last = await report(dir, state, mailConfig(server.port), { permissions: perms });
        assertEquals(last.code, 0, last.stderr);
        const log = await Deno.readTextFile(`${state}/netmon.log`);
        assertEquals(mailedIntervals(server), loggedIntervals(log));
      } finally {
        await server.close();
      }
    }),
);

rootTest(
  "a FIFO another user swaps in and out for the config, between netmon's look and its open, never holds a run",
  () =>
    withOpenTempDir(async (dir) => {
      // Root's config in a directory of nobody's: the way is refused once the config is read (exit 77), but the
      // open comes first, and a FIFO there would hold the run (and every cron run after it) forever.
      const eve = await nobodysDir(dir, "eve");
      const config = `${eve}/netmon.toml`;
      await Deno.writeTextFile(config, LO);
      await asNobody(["mkfifo", `${eve}/fifo`]);
      const state = `${dir}/state`;
      await Deno.mkdir(state, { mode: 0o700 });
      const wrap = ["timeout", "-s", "KILL", "20"];
      // Each with how many runs at least: the swap is a race, which the old open lost about once in twenty runs.
      const runs: [string, number, () => Promise<Result>][] = [
        // Deno lets it open the config for reading and writing, which never waits on a FIFO.
        ["report", 40, () => netmon(["report", "-c", config, "-s", state], { dirs: [dir], wrap })],
        ["check", 20, () => netmon(["check", "-c", config, "-s", state], { dirs: [dir], wrap })],
        // The config alone granted, for reading (as the permission sets grant it): opened with a deadline.
        ["report, the config read-only", 4, () =>
          netmon(["report", "-c", config, "-s", state], {
            wrap,
            permissions: [
              RUN_ALLOW,
              `--allow-read=${config},${state}`,
              `--allow-write=${state}`,
              "--allow-env",
              "--allow-sys=uid,osUptime",
            ],
          })],
      ];
      const swapper = exchangeLoop(config, `${eve}/fifo`);
      try {
        for (const [what, least, go] of runs) {
          // On until one met the FIFO, too.
          let met = 0;
          for (let i = 0; i < least || (met === 0 && i < 60); i++) {
            const r = await go();
            ok(r.code !== 137, `${what}: held by the FIFO until killed: ${r.stderr}`);
            // One line: the FIFO refused (check: its UNKNOWN line), else the config read and its way refused.
            const line = (what === "check" ? r.stdout : r.stderr).trim();
            ok(line !== "" && !line.includes("\n"), `${what}: ${r.stdout}${r.stderr}`);
            const fifo = new RegExp(
              "the config file (is a FIFO, not a regular file|changed while netmon opened it|did not open within 5 s)",
            ).test(line);
            if (fifo) met++;
            else ok(line.includes(`chmod go-w ${eve}`), `${what}: ${line}`);
            assertEquals(r.code, what === "check" ? 3 : fifo ? 66 : 77, `${what}: ${line}`);
          }
          ok(met > 0, `${what}: the FIFO was never met`);
        }
      } finally {
        await swapper.stop();
      }
    }),
);

rootTest(
  "a FIFO another user swaps in for an output's directory, after netmon's rename, never holds graph.ts",
  () =>
    withOpenTempDir(async (dir) => {
      // graph.ts syncs the directory of an output it renamed into place; nobody, who can write the directory above
      // it (a web root, say), exchanges it with a FIFO over and over.
      const html = await nobodysDir(dir, "html");
      const out = `${html}/netmon`;
      await Deno.mkdir(out, { mode: 0o755 });
      await asNobody(["mkfifo", `${html}/fifo`]);
      const log = `${dir}/netmon.log`;
      await Deno.writeTextFile(log, "2026/11/20-10:00:00\t1\t2\n2026/11/20-10:05:00\t3\t4\n");
      // The FIFO there a sixth of the time: often enough to meet a sync, rarely enough for runs to get through.
      const swapper = exchangeLoop(out, `${html}/fifo`, { swappedMs: 0.5, backMs: 2.5 });
      let written = 0;
      try {
        // On until forty runs wrote the output, each then syncing the directory (the swap is a race: every step by
        // name may lose it, and a run that loses it before the sync ends with an error).
        for (let i = 0; written < 40 && i < 600; i++) {
          const r = await graph([log, "-o", `${out}/usage.dat`], {
            dirs: [dir],
            wrap: ["timeout", "-s", "KILL", "20"],
          });
          ok(r.code !== 137, `held by the FIFO until killed: ${r.stderr}`);
          // The directory was away at the wrong moment: one line, exit 73 (or 66, 74); else written.
          if (r.code === 0) written++;
          else ok(r.stderr.trim().split("\n").length === 1 && [66, 73, 74].includes(r.code), `${r.code}: ${r.stderr}`);
        }
      } finally {
        await swapper.stop();
      }
      assertEquals(written, 40, "written forty times");
    }),
);

rootTest(
  "an output that is a device or a FIFO is written in place, never renamed over",
  () =>
    withOpenTempDir(async (dir) => {
      const log = `${dir}/netmon.log`;
      await Deno.writeTextFile(log, "2026/11/20-10:00:00\t1\t2\n2026/11/20-10:05:00\t3\t4\n");
      await must("mknod", ["-m", "0666", `${dir}/null`, "c", "1", "3"]);
      const r = await graph([log, "-o", `${dir}/null`], { dirs: [dir] });
      assertEquals([r.code, r.stderr], [0, ""]);
      ok(Deno.lstatSync(`${dir}/null`).isCharDevice, "still the device");
      await must("mkfifo", [`${dir}/fifo`]);
      const reader = new Deno.Command("cat", { args: [`${dir}/fifo`], stdout: "piped" }).spawn();
      await new Promise((ok) => setTimeout(ok, 300));
      const f = await graph([log, "-o", `${dir}/fifo`], { dirs: [dir] });
      assertEquals([f.code, f.stderr], [0, ""]);
      const got = new TextDecoder().decode((await reader.output()).stdout);
      ok(got.startsWith("Date\t"), got);
      ok(Deno.lstatSync(`${dir}/fifo`).isFifo, "still the FIFO");
    }),
);

rootTest(
  "graph.ts --plot as root in another user's directory: no file opened by name without O_EXCL, no chmod by path",
  () =>
    withOpenTempDir(async (dir) => {
      const web = await looseDir(dir, "web");
      await Deno.chown(web, 33, 33); // www-data's, as a web directory is
      await Deno.chmod(web, 0o755);
      const log = `${dir}/netmon.log`;
      await Deno.writeTextFile(log, "2026/11/20-10:00:00\t1\t2\n2026/11/21-10:05:00\t3000000\t4000000\n");
      const trace = `${dir}/trace`;
      const r = await run("strace", [
        "-f",
        "-qq",
        "-e",
        "trace=open,openat,creat,chmod,fchmodat,rename,renameat,renameat2",
        "-o",
        trace,
        Deno.execPath(),
        "run",
        "-q",
        "-P=graph",
        `--allow-read=/etc/netmon,/var/lib/netmon,${dir}`,
        `--allow-write=${dir}`,
        new URL("../graph.ts", import.meta.url).pathname,
        log,
        "-o",
        `${web}/usage.dat`,
        "--plot",
        `${web}/usage.png`,
      ], {
        env: {
          NETMON_CONFIG: "",
          PATH: "/usr/bin:/bin",
          HOME: "/root",
          ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
        },
      });
      assertEquals([r.code, r.stderr], [0, ""]);
      const lines = (await Deno.readTextFile(trace)).split("\n").filter((l) => l.includes(web));
      ok(lines.length > 0, "traced");
      for (const l of lines) {
        if (/open(at)?\(|creat\(/.test(l) && /O_CREAT|creat\(/.test(l)) {
          ok(/O_EXCL/.test(l), `created without O_EXCL: ${l}`);
        }
        ok(!/\b(chmod|fchmodat)\(/.test(l), `chmod by path: ${l}`);
      }
      const png = await Deno.readFile(`${web}/usage.png`);
      assertEquals([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    }),
);

rootTest(
  "explicit modes: graph outputs 0644, state files 0640 and the lock 0600 under umask 000 and 077",
  () =>
    withOpenTempDir(async (dir) => {
      for (const umask of ["000", "077"]) {
        const sh = ["sh", "-c", `umask ${umask}; exec "$@"`, "sh"];
        const state = `${dir}/state-${umask}`;
        await Deno.mkdir(state);
        Deno.writeTextFileSync(`${dir}/netmon.toml`, LO);
        for (let i = 0; i < 2; i++) {
          const r = await netmon(["report", "-c", `${dir}/netmon.toml`, "-s", state], { dirs: [dir], wrap: sh });
          assertEquals(r.code, 0, r.stderr);
        }
        // Into the state directory, as the nightly graph: its way is checked (stat), so a chmod by name is safe there.
        const g = await run(sh[0]!, [
          ...sh.slice(1),
          Deno.execPath(),
          "run",
          "-q",
          "-P=graph",
          `--allow-read=/etc/netmon,/var/lib/netmon,${dir}`,
          `--allow-write=${dir}`,
          new URL("../graph.ts", import.meta.url).pathname,
          "-s",
          state,
          `${state}/netmon.log`,
          "-o",
          `${state}/usage.dat`,
          "--plot",
          `${state}/usage.png`,
        ], { env: { NETMON_CONFIG: "" } });
        assertEquals(g.code, 0, g.stderr);
        const mode = (p: string) => ((Deno.statSync(p).mode ?? 0) & 0o777).toString(8);
        assertEquals(
          [mode(`${state}/usage.dat`), mode(`${state}/usage.png`)],
          ["644", "644"],
          `umask ${umask}`,
        );
        assertEquals(
          ["netmon.log", "netmon.last", "netmon.lock"].map((f) => mode(`${state}/${f}`)),
          ["640", "640", "600"],
          `umask ${umask}`,
        );
      }
    }),
);

Deno.test("a mail recipient or sender starting with '-' is refused in the config", () => {
  const r = (() => {
    try {
      parseConfig(`[mail]\nto = ["-oQ/tmp/x@example.org"]\nfrom = "netmon@example.org"\n`, "c.toml");
      return "accepted";
    } catch (e) {
      return (e as Error).message;
    }
  })();
  ok(/mail\.to.*starts with "-"/.test(r), r);
});

rootTest(
  "an interface whose name has a control character is left out with a warning; the others are metered",
  async () => {
    const ns = `nmctl${Deno.pid}`;
    await must("ip", ["netns", "add", ns]);
    try {
      await must("ip", ["-n", ns, "link", "add", "ab\x01c", "type", "veth", "peer", "name", "good0"]);
      await withOpenTempDir(async (dir) => {
        Deno.writeTextFileSync(`${dir}/netmon.toml`, 'source = "interface"\n');
        const r = await netmon(["report", "-c", `${dir}/netmon.toml`, "-s", `${dir}/state`], { dirs: [dir], ns });
        assertEquals(r.code, 0, r.stderr);
        ok(r.stderr.includes('interface "ab\\u0001c" has a control character in its name: not metered'), r.stderr);
        ok((await Deno.readTextFile(`${dir}/state/netmon.log`)).includes("good0:rx"));
      });
    } finally {
      await run("ip", ["netns", "del", ns]);
    }
  },
);

const HEADER = "# netmon meters:\tlo:rx\tlo:tx\n";

Deno.test("a complete last line without its newline, matched by the last file, is kept and the newline added", () =>
  withTempDir(async (dir) => {
    const state = `${dir}/state`;
    await Deno.mkdir(state);
    const lines = [`2026/11/20-10:00:00\t100\t200`, `2026/11/20-10:05:00\t150\t260`];
    await Deno.writeTextFile(`${state}/netmon.log`, `${HEADER}${lines.join("\n")}`);
    await Deno.writeTextFile(`${state}/netmon.last`, `${HEADER}${lines[1]}\t2026/11/20-10:00:00\n`);
    await Deno.writeTextFile(`${dir}/netmon.toml`, LO);
    const run = await netmon(["report", "-c", `${dir}/netmon.toml`, "-s", state], { dirs: [dir] });
    assertEquals(run.code, 0, run.stderr);
    ok(run.stderr.includes("its last line, the sample of 2026/11/20-10:05:00, had no newline"), run.stderr);
    ok(!run.stderr.includes("was behind"), run.stderr);
    const log = (await Deno.readTextFile(`${state}/netmon.log`)).split("\n");
    assertEquals(log.slice(0, 3), [HEADER.trimEnd(), lines[0], lines[1]]);
    assertEquals(log.length, 5, "one new sample, every line ended");
    ok(run.stdout.startsWith("Last Total - Timestamp: 2026/11/20-10:05:00"), run.stdout);
  }));

Deno.test("graph.ts skips a torn last line (no newline) with a warning, rather than read it as a reset", () =>
  withTempDir(async (dir) => {
    const complete = "2026/11/20-10:00:00\t1000000\t2000000\n2026/11/21-10:00:00\t3000000\t4000000\n";
    await Deno.writeTextFile(`${dir}/whole.log`, complete);
    // The third sample was being written: its counters are cut short, so it reads as a reset on a new day.
    await Deno.writeTextFile(`${dir}/torn.log`, `${complete}2026/11/22-10:00:00\t3000100\t40`);
    const whole = await graph([`${dir}/whole.log`, "-o", "-"], { dirs: [dir] });
    const torn = await graph([`${dir}/torn.log`, "-o", "-"], { dirs: [dir] });
    assertEquals(torn.stdout, whole.stdout);
    assertEquals(
      torn.stderr,
      `graph: warning: ${dir}/torn.log:3: incomplete last line (no newline: a run still writing it, or interrupted) ` +
        "skipped\n",
    );
  }));

/** Runs `script` (TypeScript, in `dir`) with `flags`, killed after `seconds`, under `umask`. */
async function script(dir: string, text: string, flags: string[], seconds = 20, umask = "022"): Promise<Result> {
  const path = `${dir}/probe.ts`;
  await Deno.writeTextFile(path, text);
  return run("sh", [
    "-c",
    `umask ${umask}; exec "$@"`,
    "sh",
    "timeout",
    "-s",
    "KILL",
    String(seconds),
    Deno.execPath(),
    "run",
    "-q",
    "--no-prompt",
    ...flags,
    path,
  ], { env: { PATH: "/usr/bin:/bin", ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}) } });
}

const SAFE_OPEN = new URL("../lib/host/safe_open.ts", import.meta.url).href;

rootTest(
  "a FIFO swapped in between netmon's look and its open neither blocks it nor is used: refused at once",
  () =>
    withOpenTempDir(async (dir) => {
      const state = await looseDir(dir, "state");
      await Deno.writeTextFile(`${state}/regular`, "x\n");
      await asNobody(["mkfifo", `${state}/netmon.log`]);
      // The swap is made to happen at the worst instant: the look (lstat) sees the regular file that was there.
      const probe = `import { SafeFile } from "${SAFE_OPEN}";
const lstat = Deno.lstatSync;
Deno.lstatSync = (p) => lstat(String(p).endsWith("netmon.log") ? "${state}/regular" : p);
for (const spec of [{ what: "log" }, { what: "log", write: true, append: true }, { what: "log", owners: "anyone" }]) {
  try {
    SafeFile.open("${state}/netmon.log", spec)?.close();
    console.log("opened");
  } catch (e) {
    console.log(e.message);
  }
}
// A caller that can wait opens what it may only read with a deadline: the FIFO holds it no longer.
try {
  (await SafeFile.openBounded("${state}/netmon.log", { what: "log" }, 1000))?.close();
  console.log("opened");
} catch (e) {
  console.log(e.message);
}
Deno.exit(0); // the open left waiting on the FIFO ends with the process, as netmon's own entry points exit
`;
      const t0 = performance.now();
      const r = await script(dir, probe, ["--allow-read", "--allow-write", "--allow-sys=uid"]);
      const ms = performance.now() - t0;
      assertEquals(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assertEquals(lines.length, 4, r.stdout);
      for (const l of lines) ok(/changed while netmon opened it/.test(l), l);
      ok(ms < 15_000, `took ${ms} ms`);
      // Without the permission to open it read-write, in a directory others can write: refused, with the fix; a
      // caller that can wait gives up at its deadline.
      const ro = await script(dir, probe, [`--allow-read=${dir}`, "--allow-sys=uid"]);
      assertEquals(ro.code, 0, ro.stderr);
      const said = ro.stdout.trim().split("\n");
      assertEquals(said.length, 4, ro.stdout);
      ok(/cannot be opened safely: .*other users can write .*\(fix: chmod go-w /.test(said[0]!), said[0]);
      ok(/netmon\.log: the log did not open within 1 s \(a FIFO swapped in\?\): refused/.test(said[3]!), said[3]);
    }),
);

const CONFIG = new URL("../lib/config/config.ts", import.meta.url).href;
const FILES = new URL("../lib/host/files.ts", import.meta.url).href;

/**
 * Root's directory `${dir}/r` and nobody's `${dir}/u` holding nobody's link `${dir}/u/link` to it: the way as given
 * goes through a link another user can swap for something else (renameat2 exchange with `${dir}/u/NAME`) while the
 * real path is all root's.
 */
async function linkedWay(dir: string): Promise<{ real: string; u: string; link: string }> {
  const real = `${dir}/r`;
  await Deno.mkdir(real, { mode: 0o755 });
  const u = await nobodysDir(dir, "u");
  await asNobody(["ln", "-s", real, `${u}/link`]);
  return { real, u, link: `${u}/link` };
}

rootTest(
  "the config through another user's link they swap for a directory with a FIFO of that name never holds a run",
  () =>
    withOpenTempDir(async (dir) => {
      // The real path is root's all the way, but the link on the given one is nobody's: an open by the given name
      // may meet nobody's FIFO, so it is never made without a deadline.
      const { real, u, link } = await linkedWay(dir);
      await Deno.writeTextFile(`${real}/netmon.toml`, LO);
      await asNobody(["mkdir", `${u}/evil`]);
      await asNobody(["mkfifo", `${u}/evil/netmon.toml`]);
      await asNobody(["ln", "-s", `${u}/evil`, `${u}/other`]);
      // Read alone, as a report's permission set grants the config: until a FIFO has held an open to its deadline.
      const probe = `import { loadConfig } from "${CONFIG}";
const seen = {};
for (let i = 0; i < 60; i++) {
  let said = "loaded";
  try {
    await loadConfig("${link}/netmon.toml");
  } catch (e) {
    said = e.message;
  }
  seen[said] = (seen[said] ?? 0) + 1;
  if (said.includes("did not open within")) break;
}
console.log(JSON.stringify(seen));
Deno.exit(0); // the open left waiting on the FIFO ends with the process, as netmon's own entry points exit
`;
      const swapper = exchangeLoop(link, `${u}/other`);
      let r: Result;
      try {
        r = await script(dir, probe, [
          `--config=${new URL("../deno.json", import.meta.url).pathname}`,
          "--allow-read",
          "--allow-env",
          "--allow-sys",
        ], 60);
      } finally {
        await swapper.stop();
      }
      ok(r.code !== 137, `held by the FIFO until killed: ${r.stdout}${r.stderr}`);
      assertEquals(r.code, 0, r.stderr);
      const seen: Record<string, number> = JSON.parse(r.stdout);
      const fifo =
        /the config file (is a FIFO, not a regular file|changed while netmon opened it|did not open within 5 s)/;
      for (const said of Object.keys(seen)) ok(said === "loaded" || fifo.test(said), said);
      ok(Object.keys(seen).some((said) => fifo.test(said)), `the FIFO was never met: ${r.stdout}`);
    }),
);

rootTest(
  "an output's directory through another user's link they swap for a FIFO never holds the commit's sync",
  () =>
    withOpenTempDir(async (dir) => {
      // The real directory is root's all the way: only the link on the given path is nobody's, who exchanges it
      // with a FIFO a sixth of the time. The sync opens the directory by name after the rename.
      const { real, u, link } = await linkedWay(dir);
      await asNobody(["mkfifo", `${u}/fifo`]);
      const probe = `import { AtomicFile } from "${FILES}";
let written = 0;
for (let i = 0; i < 300; i++) {
  try {
    const f = new AtomicFile("${link}/out.tsv", 0o644, "data", { named: true });
    f.write("x\\n");
    f.commit();
    written++;
  } catch { /* the link was away at the wrong moment */ }
}
console.log(written);
`;
      const swapper = exchangeLoop(link, `${u}/fifo`, { swappedMs: 0.5, backMs: 2.5 });
      try {
        // Three processes: each keeps what it found of the directory for the run, the first look may be the FIFO's.
        for (let i = 0; i < 3; i++) {
          const r = await script(dir, probe, ["--allow-read", "--allow-write", "--allow-env", "--allow-sys"], 30);
          ok(r.code !== 137, `held by the FIFO until killed: ${r.stdout}${r.stderr}`);
          assertEquals(r.code, 0, r.stderr);
          ok(+r.stdout.trim() > 0, `nothing written: ${r.stdout}`);
        }
      } finally {
        await swapper.stop();
      }
      assertEquals(await Deno.readTextFile(`${real}/out.tsv`), "x\n");
    }),
);

Deno.test("a file Deno lets netmon read but not its directory: open names --allow-read for the directory, a caller that can wait reads it", () =>
  withOpenTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/state`, { mode: 0o755 });
    const log = `${dir}/state/netmon.log`;
    await Deno.writeTextFile(log, "x\n");
    const probe = `import { SafeFile } from "${SAFE_OPEN}";
try {
  SafeFile.open("${log}", { what: "log" })?.close();
  console.log("opened");
} catch (e) {
  console.log(e.name, e.message);
}
const f = await SafeFile.openBounded("${log}", { what: "log" }, 1000);
const buf = new Uint8Array(8);
console.log("bounded", new TextDecoder().decode(buf.subarray(0, f?.readSync(buf) ?? 0)).trim());
`;
    const r = await script(dir, probe, [
      `--allow-read=${log}`,
      "--allow-sys=uid",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const [open, bounded] = r.stdout.trim().split("\n");
    ok(open?.startsWith(`DenoDenied Deno denied read access to ${dir}/state, the directory of the log ${log}`), open);
    ok(open?.includes(`--allow-read=${dir}/state `), open);
    assertEquals(bounded, "bounded x");
  }));

rootTest(
  "reading with read permission alone: in a directory no other user can write it is read; in a loose one refused",
  () =>
    withOpenTempDir(async (dir) => {
      const log = "2026/11/20-10:00:00\t1\t2\n2026/11/20-10:05:00\t3\t4\n";
      const quiet = `${dir}/quiet`;
      await Deno.mkdir(quiet, { mode: 0o755 });
      const loose = await looseDir(dir, "loose");
      for (const d of [quiet, loose]) await Deno.writeTextFile(`${d}/netmon.log`, log);
      const graphRead = (d: string) =>
        run(Deno.execPath(), [
          "run",
          "-q",
          "--no-prompt",
          `--allow-read=${dir}`,
          "--allow-env",
          "--allow-sys=uid",
          new URL("../graph.ts", import.meta.url).pathname,
          `${d}/netmon.log`,
          "-o",
          "-",
        ], { env: { NETMON_CONFIG: "", PATH: "/usr/bin:/bin", TZ: "UTC" } });
      const q = await graphRead(quiet);
      assertEquals(q.code, 0, q.stderr);
      ok(q.stdout.startsWith("Date\t"), q.stdout);
      const l = await graphRead(loose);
      assertEquals(l.code, 66, l.stderr);
      ok(
        /netmon\.log: the log cannot be opened safely: .* other users can write .*loose \(fix: chmod go-w /.test(
          l.stderr,
        ),
        l.stderr,
      );
    }),
);

rootTest(
  "a umask that narrows a mode: mended where no other user can change the way to the file, an error with the fix " +
    "elsewhere (a directory others can write, one above it that another user owns, one netmon may not look at)",
  () =>
    withOpenTempDir(async (dir) => {
      const loose = await looseDir(dir, "loose");
      // Debian's node_exporter layout: root's directory in another user's.
      const theirs = `${dir}/theirs`;
      await Deno.mkdir(`${theirs}/mine`, { recursive: true, mode: 0o755 });
      await Deno.chown(theirs, 65534, 65534);
      await Deno.mkdir(`${dir}/unchecked`, { mode: 0o755 });
      // With `checked`, the way is looked at by stat first, as a report checks its state and textfile directories.
      const probe = (d: string, checked = true) =>
        `import { replaceFile } from "${new URL("../lib/host/files.ts", import.meta.url).href}";
import { dirTrustWarnings, TEXTFILE_DIR } from "${new URL("../lib/host/dir_trust.ts", import.meta.url).href}";
${checked ? `await dirTrustWarnings("${d}", TEXTFILE_DIR);` : ""}
try {
  replaceFile("${d}/out.dat", "x\\n", 0o644, "data");
  console.log((Deno.statSync("${d}/out.dat").mode! & 0o777).toString(8));
} catch (e) {
  console.log(e.message);
}
`;
      const flags = [`--allow-read=${dir}`, `--allow-write=${dir}`, "--allow-sys=uid", "--allow-run=/usr/bin/stat"];
      const quiet = await script(dir, probe(dir), flags, 20, "077");
      assertEquals([quiet.code, quiet.stdout], [0, "644\n"], quiet.stderr);
      const refusal = (why: string) =>
        new RegExp(
          `created with mode 0600, not 0644, .*netmon does not chmod by name where another user could change the way ` +
            `to it \\(${why}\\): run netmon with umask 022 \\(or grant it --allow-sys`,
        );
      for (
        const [d, checked, why] of [
          [loose, true, `${loose} is writable by every user`],
          [`${theirs}/mine`, true, `${theirs} is owned by uid 65534`],
          // Not looked at by stat, and Deno does not let it look at the directory above (/tmp): it cannot tell.
          [`${dir}/unchecked`, false, `netmon may not look at ${dir.slice(0, dir.lastIndexOf("/")) || "/"}`],
        ] as const
      ) {
        const refused = await script(dir, probe(d, checked), flags, 20, "077");
        assertEquals(refused.code, 0, refused.stderr);
        ok(refusal(why).test(refused.stdout), refused.stdout);
        ok(!exists(`${d}/out.dat`), "nothing left at the name");
      }
      // With the whole --allow-sys, netmon sets the umask itself: exact there too, no chmod by name needed.
      const sys = await script(
        dir,
        probe(loose),
        [`--allow-read=${dir}`, `--allow-write=${dir}`, "--allow-sys", "--allow-run=/usr/bin/stat"],
        20,
        "077",
      );
      assertEquals([sys.code, sys.stdout], [0, "644\n"], sys.stderr);
    }),
);

rootTest(
  "a FIFO or a link to /dev/zero at any other state file (identities, start records, totals, tally, zone record, status) is refused at once",
  () =>
    withOpenTempDir(async (dir) => {
      const config = `${LO}[prometheus]\ntextfile = "${dir}/prom/netmon.prom"\n` +
        `[[customer]]\nname = "c"\nmeters = ["lo"]\nquota = "1 B"\n`;
      await Deno.mkdir(`${dir}/prom`);
      // (netmon.sent, read when a customer has a quota or commit, is read by the same safe open.)
      const names = [
        "netmon.ident",
        "netmon.ident.1",
        "netmon.started",
        "netmon.totals",
        "netmon.cycles",
        "netmon.zone",
      ];
      for (const [i, name] of names.entries()) {
        const state = await openStateDir(dir, `state-${name}`);
        for (let k = 0; k < 3; k++) assertEquals((await report(dir, state, config)).code, 0, `${name}: set-up`);
        // Gone (in a sticky directory only root can remove root's file), then another user's in its place.
        await must("rm", ["-f", `${state}/${name}`]);
        await asNobody(i % 2 === 0 ? ["mkfifo", `${state}/${name}`] : ["ln", "-s", "/dev/zero", `${state}/${name}`]);
        const started = Date.now();
        const r = await report(dir, state, config, {}, 30);
        ok(r.code !== 137, `${name}: killed after 30 s: it blocked`);
        ok(Date.now() - started < 20_000, `${name}: took ${Date.now() - started} ms`);
        ok(r.code !== 0, `${name}: ${r.stderr}`);
        ok(
          /is a (FIFO, not a regular file|symbolic link: netmon does not follow links)/.test(r.stderr),
          `${name}: ${r.stderr}`,
        );
      }
      // netmon check reads the last report's status: a FIFO there is no status, never a wait.
      const state = await openStateDir(dir, "state-status");
      assertEquals((await report(dir, state, config)).code, 0);
      await Deno.remove(`${state}/netmon.status`);
      await asNobody(["mkfifo", `${state}/netmon.status`]);
      const c = await netmon(["check", "-c", `${dir}/netmon.toml`, "-s", state], {
        dirs: [dir],
        wrap: ["timeout", "-s", "KILL", "30"],
      });
      ok(c.code !== 137, `check blocked on the status FIFO: ${c.stderr}`);
    }),
);

rootTest(
  "graph.ts on a log named on its command line reads the zone record beside the log's real path, never through a link",
  () =>
    withOpenTempDir(async (dir) => {
      const OTHER = 4242;
      // A root-only file, and another user's link to it where the record of a log in a public directory would be.
      const secret = `${dir}/secret`;
      await Deno.writeTextFile(secret, "-\troot-only-4242\n", { mode: 0o600 });
      const pub = await looseDir(dir, "pub");
      const log = `${pub}/netmon.log`;
      await Deno.writeTextFile(log, "2026/11/01-00:00:00\t100\t200\n2026/11/02-00:00:00\t300\t400\n");
      await Deno.symlink(secret, `${pub}/netmon.zone`);
      await must("chown", ["-h", `${OTHER}:${OTHER}`, `${pub}/netmon.zone`]);
      const planted = await boundedGraph(["-o", "-", log], [dir], 30);
      ok(!`${planted.stdout}${planted.stderr}`.includes("root-only-4242"), planted.stderr);
      assertEquals(planted.code, 66, planted.stderr);
      ok(planted.stderr.includes(`${pub}/netmon.zone: the zone record is a symbolic link`), planted.stderr);
      // A log named by a link: its record is the one beside the log itself (here a damaged one, which says so).
      await Deno.remove(`${pub}/netmon.zone`);
      const real = `${dir}/state`;
      await Deno.mkdir(real);
      await Deno.copyFile(log, `${real}/netmon.log`);
      await Deno.writeTextFile(`${real}/netmon.zone`, "not a record\n");
      await Deno.symlink(`${real}/netmon.log`, `${dir}/link.log`);
      const linked = await boundedGraph(["-o", "-", `${dir}/link.log`], [dir], 30);
      assertEquals(linked.code, 65, linked.stderr);
      ok(linked.stderr.startsWith(`graph: ${real}/netmon.zone:1: not a zone record line`), linked.stderr);
    }),
);

rootTest(
  "a zone record another user made first in a sticky state directory is refused with the fix: remove it, never chown it",
  () =>
    withOpenTempDir(async (dir) => {
      const state = await openStateDir(dir, "state");
      // A log from before the zone record (an upgrade): the next report would make the record, but another user did.
      assertEquals((await report(dir, state)).code, 0, "set-up");
      await Deno.remove(`${state}/netmon.zone`);
      const record = `${state}/netmon.zone`;
      await must("setpriv", [
        "--reuid=4242",
        "--regid=4242",
        "--clear-groups",
        "--",
        "sh",
        "-c",
        `printf '#\\n-\\tPacific/Kiritimati\\n' > ${record}`,
      ]);
      const refused = await report(dir, state);
      assertEquals(refused.code, 77, refused.stderr);
      const line = refused.stderr.split("\n").find((l) => l.startsWith(`netmon: ${record}`)) ?? "";
      ok(line.includes("belongs to uid 4242"), refused.stderr);
      // Its zones are the other user's choice: adopting it (chown) would read the log's stamps in them.
      ok(line.includes(`remove it: rm ${record}`) && !line.includes("chown"), line);
      await Deno.remove(record);
      assertEquals((await report(dir, state)).code, 0, "after the fix");
      ok(!Deno.readTextFileSync(record).includes("Kiritimati"));
    }),
);

rootTest(
  "a state directory in a user's directory (where network_monitor.py kept its files): report, doctor and start say " +
    "to move the state to /var/lib/netmon, never to chown the user's directory",
  () =>
    withOpenTempDir(async (dir) => {
      const bin = `${dir}/matt-bin`;
      await Deno.mkdir(bin, { mode: 0o755 });
      await must("chown", ["nobody:nogroup", bin]);
      const move = `keep the state in a directory of root's, not a user's: mkdir -m 0750 /var/lib/netmon && mv ` +
        `${bin}/netmon.* /var/lib/netmon/ && { [ ! -e ${bin}/spool ] || mv ${bin}/spool /var/lib/netmon/; } && ` +
        "chown -R root:root /var/lib/netmon && chmod -R g-w,o= /var/lib/netmon, then drop state_dir from the config " +
        "and --state-dir, or set them to /var/lib/netmon (a relative SQLite store not named netmon.*: move it there " +
        "too, or give store an absolute path; where /var/lib/netmon is there already, mkdir stops it before anything " +
        "is moved: rename it (mv /var/lib/netmon /var/lib/netmon.old) and run it again, or merge the two by hand)";
      // As root a state directory another user owns is refused before anything is read (strict_modes_test.ts).
      const r = await report(dir, bin);
      assertEquals(r.code, 77, r.stderr);
      assertEquals(
        r.stderr,
        `netmon: ${bin} is owned by uid 65534 (mode 0755): another user could plant links or FIFOs in the ` +
          `state directory ${bin} (netmon refuses to run until it is fixed: ${move})\n`,
      );
      const d = await netmon(["doctor", "--json", "-c", `${dir}/netmon.toml`, "-s", bin], { dirs: [dir] });
      const state = (JSON.parse(d.stdout) as { checks: { check: string; fix?: string }[] }).checks
        .find((c) => c.check === "state-dir");
      assertEquals(state?.fix, move, d.stdout);
      // start reads its record of installed rules there: not believed, and said how to fix it the same way.
      Deno.writeTextFileSync(`${dir}/fw.toml`, '[[meter]]\nname = "web"\nfrom = "192.0.2.2"\n');
      const s = await netmon(["start", "--dry-run", "-c", `${dir}/fw.toml`, "-s", bin], { dirs: [dir] });
      ok(
        s.stderr.startsWith(
          `netmon: warning: the state directory ${bin} can be written by other users, so its record of installed ` +
            `rules is not believed (${move})`,
        ),
        s.stderr,
      );
      // The user's directory is never handed to root: only root's own, where the state goes, is chowned.
      ok(!new RegExp(`chown [^&]*${bin}`).test(s.stderr), s.stderr);
    }),
);

rootTest(
  "the printed fix for a state in a user's directory, run as printed, makes the next report succeed with that state",
  () =>
    withOpenTempDir(async (dir) => {
      // A user's state: their files (group-writable, a umask of 002), their spool, a store named netmon.* there.
      const bin = `${dir}/matt-bin`;
      await Deno.mkdir(bin, { mode: 0o755 });
      const config = `${LO}store = "sqlite:netmon.sqlite"\n`;
      for (let k = 0; k < 2; k++) assertEquals((await report(dir, bin, config)).code, 0, "set-up");
      await Deno.mkdir(`${bin}/spool`, { mode: 0o700 });
      await must("chmod", ["g+w", ...[...Deno.readDirSync(bin)].map((e) => `${bin}/${e.name}`)]);
      await must("chown", ["-R", "nobody:nogroup", bin]);
      const refused = await report(dir, bin, config);
      assertEquals(refused.code, 77, refused.stderr);
      const fix = /until it is fixed: keep the state in a directory of root's, not a user's: (.*), then drop state_dir/
        .exec(refused.stderr)?.[1];
      ok(fix, refused.stderr);
      // The fix as printed, in a mount namespace of the test's own whose /var/lib is an empty tmpfs (the host's
      // /var/lib/netmon is never touched); then the next report there, and what it found.
      const after = await report(dir, "/var/lib/netmon", config, {
        wrap: [
          "timeout",
          "-s",
          "KILL",
          "60",
          "unshare",
          "-m",
          "sh",
          "-c",
          `mount --make-rprivate / && mount -t tmpfs -o mode=0755 tmpfs /var/lib && ${fix} && "$0" "$@" && ` +
          "echo samples: $(grep -c '^2' /var/lib/netmon/netmon.log) && ls /var/lib/netmon",
        ],
        permissions: netmonSet(dir, { read: ["/var/lib/netmon"], write: ["/var/lib/netmon"] }),
      });
      assertEquals([after.code, after.stderr], [0, ""], `${after.code}: ${after.stderr}${after.stdout}`);
      const lines = after.stdout.trimEnd().split("\n");
      ok(lines.includes("samples: 3"), after.stdout);
      for (const name of ["spool", "netmon.sqlite", "netmon.log", "netmon.last"]) {
        ok(lines.includes(name), after.stdout);
      }
      assertEquals([...Deno.readDirSync(bin)].map((e) => e.name), [], "nothing left in the user's directory");
    }),
);

rootTest(
  "the printed fix for a state in a user's directory overwrites nothing where /var/lib/netmon is there already: it " +
    "stops before any move, and moves to a new one at 0750 with files at 0640",
  () =>
    withOpenTempDir(async (dir) => {
      // The paths are words for sh: quoted where they need it.
      const spaced = moveStateFix("/home/matt/my bin", 0, 1000) ?? "";
      ok(
        spaced.includes("mv '/home/matt/my bin'/netmon.* /var/lib/netmon/ && { [ ! -e '/home/matt/my bin/spool' ]"),
        spaced,
      );
      const bin = `${dir}/matt-bin`;
      await Deno.mkdir(bin, { mode: 0o755 });
      for (let k = 0; k < 2; k++) assertEquals((await report(dir, bin)).code, 0, "set-up");
      await must("chmod", ["0644", `${bin}/netmon.log`]); // the 2010 script's log, its umask 022
      await must("chown", ["-R", "nobody:nogroup", bin]);
      const refused = await report(dir, bin);
      assertEquals(refused.code, 77, refused.stderr);
      const fix = /until it is fixed: keep the state in a directory of root's, not a user's: (.*), then drop state_dir/
        .exec(refused.stderr)?.[1];
      ok(fix, refused.stderr);
      const userFiles = [...Deno.readDirSync(bin)].map((e) => e.name).sort();
      // In a mount namespace of the test's own whose /var/lib is an empty tmpfs (the host's is never touched):
      // /var/lib/netmon there with a 3-line log of its own, the fix as printed, then what is left of it.
      const ns = (before: string): Promise<string> =>
        must("timeout", [
          "-s",
          "KILL",
          "60",
          "unshare",
          "-m",
          "sh",
          "-c",
          `mount --make-rprivate / && mount -t tmpfs -o mode=0755 tmpfs /var/lib && ${before} ` +
          `{ ${fix}; } 2>/dev/null; echo "rc=$?"; echo "log=$(wc -l < /var/lib/netmon/netmon.log)"; ` +
          "stat -c '%a %n' /var/lib/netmon /var/lib/netmon/netmon.*",
        ]);
      const there = await ns(
        "mkdir -m 0750 /var/lib/netmon && printf 'a\\nb\\nc\\n' > /var/lib/netmon/netmon.log &&",
      );
      ok(!there.includes("rc=0"), `the fix went on: ${there}`);
      ok(there.includes("log=3"), `the log there was overwritten: ${there}`);
      ok(there.includes("\n750 /var/lib/netmon\n") && there.includes("/var/lib/netmon/netmon.log\n"), there);
      assertEquals(there.trimEnd().split("\n").length, 4, `only the log there: ${there}`);
      assertEquals([...Deno.readDirSync(bin)].map((e) => e.name).sort(), userFiles, "nothing moved");
      // Where it is not there: moved, the directory 0750, the files 0640 (the log was 0644).
      const moved = await ns("");
      ok(moved.includes("rc=0") && moved.includes("\n750 /var/lib/netmon\n"), moved);
      ok(moved.includes("\n640 /var/lib/netmon/netmon.log\n"), moved);
      ok(!/\n6[0-7][1-7] /.test(moved), `a file readable by every user: ${moved}`);
    }),
);

rootTest(
  "a log looser than 0640 (the 2010 script's 0644) is brought to 0640 by the report's append (its mode from the " +
    "open file's fstat), and a tighter one is left as it is",
  () =>
    withOpenTempDir(async (dir) => {
      const state = `${dir}/state`;
      await Deno.mkdir(state, { mode: 0o750 });
      assertEquals((await report(dir, state)).code, 0, "set-up");
      const log = `${state}/netmon.log`;
      const mode = () => (Deno.statSync(log).mode ?? 0) & 0o7777;
      for (const [before, after] of [[0o644, 0o640], [0o666, 0o640], [0o604, 0o600], [0o600, 0o600]]) {
        await Deno.chmod(log, before as number);
        const r = await report(dir, state);
        assertEquals([r.code, r.stderr], [0, ""], r.stderr);
        assertEquals(mode().toString(8), (after as number).toString(8), `a log of ${(before as number).toString(8)}`);
      }
      // doctor says a state directory every user can read (netmon makes it 0750), as the README's steps made it once.
      const said = async () => {
        const d = await netmon(["doctor", "--json", "-c", `${dir}/netmon.toml`, "-s", state], { dirs: [dir] });
        return (JSON.parse(d.stdout) as { checks: { check: string; said: string }[] }).checks
          .find((c) => c.check === "state-dir")?.said ?? d.stdout;
      };
      const loose =
        ` (every user can read it, mode 0755: chmod o-rwx ${state}, as netmon makes it, so that its usage ` +
        "is root's and its group's)";
      const tight = await said();
      ok(tight.startsWith(`${state} is writable`) && !tight.includes("every user"), tight);
      await Deno.chmod(state, 0o755);
      assertEquals(await said(), tight + loose);
    }),
);

rootTest(
  "netmon check refuses a FIFO or a link to /dev/urandom at netmon.log at once, in one line: with and without a tally",
  () =>
    withOpenTempDir(async (dir) => {
      const quota = `${LO}[[customer]]\nname = "c"\nmeters = ["lo"]\nquota = "1 GB"\n`;
      let n = 0;
      for (const config of [LO, quota]) {
        for (const plant of ["mkfifo", "ln -s /dev/urandom"]) {
          // Sticky (a loose one is refused as root before anything is read): root's files are removed by root.
          const state = await openStateDir(dir, `state-${n++}`);
          for (let k = 0; k < 2; k++) assertEquals((await report(dir, state, config)).code, 0, "set-up");
          // The tally gone too, so that check counts from the log (the review's `rm netmon.cycles netmon.log`).
          await Deno.remove(`${state}/netmon.cycles`).catch(() => {});
          await Deno.remove(`${state}/netmon.log`);
          await asNobody(["sh", "-c", `${plant} ${state}/netmon.log`]);
          const c = await netmon(["check", "-c", `${dir}/netmon.toml`, "-s", state], {
            dirs: [dir],
            wrap: ["timeout", "-s", "KILL", "20"],
          });
          const what = `${plant}, ${config === LO ? "no quota" : "a quota"}`;
          ok(c.code !== 137, `${what}: killed after 20 s: check waited on the log or read it on`);
          assertEquals(c.code, 3, `${what}: UNKNOWN: ${c.stdout}${c.stderr}`);
          assertEquals(c.stdout.split("\n").filter((l) => l !== "").length, 1, `${what}: one line: ${c.stdout}`);
          ok(
            /^NETMON UNKNOWN - .*netmon\.log: the log is a (FIFO, not a regular file|symbolic link)/.test(c.stdout),
            `${what}: ${c.stdout}`,
          );
        }
      }
    }),
);

rootTest(
  "the tally and the digests, reading the whole log, refuse a FIFO swapped in for it at once (never wait holding the lock)",
  () =>
    withOpenTempDir(async (dir) => {
      const state = await looseDir(dir, "state");
      await asNobody(["mkfifo", `${state}/netmon.log`]);
      const lib = (p: string) => new URL(`../lib/${p}`, import.meta.url).href;
      const probe = `import { tallyFromLog } from "${lib("outputs/alerts.ts")}";
import { dueDigests } from "${lib("outputs/digests.ts")}";
import { parseConfig } from "${lib("config/config.ts")}";
const log = "${state}/netmon.log";
try {
  tallyFromLog(log, { zone: undefined, customers: [] });
  console.log("tally: read");
} catch (e) {
  console.log("tally: " + e.message);
}
const config = parseConfig('[mail]\\nserver = "127.0.0.1"\\nfrom = "n@example.org"\\nto = "o@example.org"\\nsend = "daily"\\n', "netmon.toml");
try {
  dueDigests(config, config.mail, log, Date.UTC(2026, 0, 2), new Set(), new Date());
  console.log("digests: read");
} catch (e) {
  console.log("digests: " + e.message);
}
`;
      const r = await script(dir, probe, [
        `--config=${new URL("../deno.json", import.meta.url).pathname}`, // the import map, for the config's TOML parser
        "--allow-read",
        "--allow-write",
        "--allow-sys=uid",
        "--allow-env",
      ]);
      ok(r.code !== 137, `killed after 20 s: waited on the FIFO: ${r.stdout}`);
      assertEquals(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assertEquals(lines.length, 2, r.stdout);
      for (const l of lines) ok(/^(tally|digests): .*netmon\.log: the log is a FIFO, not a regular file/.test(l), l);
    }),
);

rootTest(
  "a state file hard-linked to another file (fs.protected_hardlinks=0) is refused in one line, nothing written or read through it",
  () =>
    withPair((p) =>
      withOpenTempDir(async (dir) => {
        // Real traffic before each report (a's side of the pair, in its namespace), so that the quota of 1 B is passed
        // and netmon.sent made.
        const config = `source = "interface"\ninterfaces = ["${p.va}"]\nstore = "sqlite:netmon.sqlite"\n` +
          `[[customer]]\nname = "c"\nmeters = ["${p.va}"]\nquota = "1 B"\n`;
        const inA = { ns: p.a };
        const names = [
          "netmon.ident",
          "netmon.ident.1",
          "netmon.sent",
          "netmon.log",
          "netmon.sqlite",
          "netmon.lock",
          "netmon.last",
          "netmon.cycles",
        ];
        for (const name of names) {
          // root's own directory (the store's may not be one others can write, even sticky): root makes the links, as
          // another user could only in a directory it can write.
          const state = `${dir}/state-${name}`;
          await Deno.mkdir(state, { mode: 0o755 });
          for (let k = 0; k < 3; k++) {
            await sendUdp(p.b, "192.0.2.1", 1, 100);
            assertEquals((await report(dir, state, config, inA)).code, 0, `${name}: set-up`);
          }
          ok(exists(`${state}/${name}`), `${name}: made by the set-up`);
          // root's file, linked in where netmon's was: what a user can do where hard links are not protected.
          const victim = `${dir}/victim-${name}`;
          await Deno.writeTextFile(victim, "root:SECRET:0:0\n", { mode: 0o600 });
          await Deno.remove(`${state}/${name}`);
          await Deno.link(victim, `${state}/${name}`);
          const r = await report(dir, state, config, inA, 30);
          ok(r.code !== 137, `${name}: killed after 30 s`);
          const errors = r.stderr.split("\n").filter((l) => l !== "" && !l.includes("warning:"));
          ok(r.code !== 0, `${name}: ${r.code} ${r.stderr}`);
          assertEquals(errors.length, 1, `${name}: one line: ${r.stderr}`);
          ok(errors[0]!.includes(`${state}/${name}: `), `${name}: ${r.stderr}`);
          ok(/has 2 hard links: refused/.test(errors[0]!), `${name}: ${r.stderr}`);
          ok(!r.stderr.includes("SECRET") && !r.stdout.includes("SECRET"), `${name}: nothing of it said`);
          assertEquals(Deno.readTextFileSync(victim), "root:SECRET:0:0\n", `${name}: the victim is unchanged`);
        }
      }), "nm-hl-"),
);

rootTest(
  "the lock file is opened by name once, by the checked open: a link swapped in after it is never opened",
  () =>
    withOpenTempDir(async (dir) => {
      // Read-write in a directory others can write; read alone (no write permission) in one they cannot.
      const loose = await looseDir(dir, "loose");
      const quiet = `${dir}/quiet`;
      await Deno.mkdir(quiet, { mode: 0o755 });
      await Deno.writeTextFile(`${dir}/victim`, "", { mode: 0o600 });
      const probe = (state: string, lock = `${state}/netmon.lock`) =>
        `import { withLock } from "${new URL("../lib/state/lock.ts", import.meta.url).href}";
const opened = [];
const openSync = Deno.openSync, open = Deno.open;
// Another user's swap at the worst instant: right after netmon's first open of the lock by name.
const swap = (p) => {
  opened.push(String(p));
  if (String(p) === "${lock}" && opened.filter((o) => o === "${lock}").length === 1) {
    new Deno.Command("/usr/bin/ln", { args: ["-sfT", "${dir}/victim", "${lock}"] }).outputSync();
  }
};
Deno.openSync = (p, o) => { const f = openSync(p, o); swap(p); return f; };
Deno.open = async (p, o) => { const f = await open(p, o); swap(p); return f; };
try {
  console.log(await withLock({ lock: "${lock}" }, 2000, () => Promise.resolve("ran")));
} catch (e) {
  console.log(e.message);
}
console.log("opened by name: " + opened.filter((o) => o === "${lock}").length);
Deno.exit(0);
`;
      for (
        const [state, flags] of [[loose, ["--allow-read", "--allow-write"]], [quiet, [`--allow-read=${dir}`]]] as const
      ) {
        await Deno.writeTextFile(`${state}/netmon.lock`, "", { mode: 0o600 }); // root's, as netmon makes it
        const r = await script(dir, probe(state), [...flags, "--allow-sys=uid", "--allow-run=/usr/bin/ln"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "ran\nopened by name: 1\n", `${flags}: ${r.stdout}`);
      }
    }),
);
