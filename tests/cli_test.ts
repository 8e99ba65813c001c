/**
 * Golden tests of the CLI: netmon.ts run as a subprocess, its stdout, stderr
 * and exit status checked for success and for every error class.
 */
import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import { rootNeeded } from "../lib/cli/report.ts";
import { parseConfig } from "../lib/config/config.ts";
import { PERMISSION_SETS } from "../lib/cli/permission_line.ts";
import {
  must,
  netmon,
  netnsTest,
  ORIGINAL_DOC_CONFIG,
  run,
  RUN_ALLOW,
  withPair,
  withTempDir,
  writeConfig,
} from "./helpers.ts";

/** Runs netmon with no config (interface source) and full access to `dir`. */
const plain = (args: string[], dir: string) => netmon(args, { dirs: [dir], env: { NETMON_CONFIG: "" } });

Deno.test("--help, help COMMAND and --version", () =>
  withTempDir(async (dir) => {
    const h = await plain(["--help"], dir);
    assertEquals([h.code, h.stderr], [0, ""]);
    ok(h.stdout.startsWith("Usage: netmon [COMMAND] [OPTIONS]\n"));
    for (
      const word of ["report", "start, initiate, initialise", "stop, clear, flush", "status", "--dry-run"].slice(0, 4)
    ) {
      ok(h.stdout.includes(word), word);
    }
    for (
      const [cmd, first] of [["start", "Usage: netmon start"], ["CLEAR", "Usage: netmon stop"], [
        "status",
        "Usage: netmon status",
      ]]
    ) {
      const r = await plain(["help", cmd!], dir);
      assertEquals([r.code, r.stdout.split("\n")[0]?.startsWith(first!)], [0, true]);
      const r2 = await plain([cmd!, "--help"], dir);
      assertEquals(r2.stdout, r.stdout);
    }
    const v = await plain(["--version"], dir);
    assertEquals(v.stdout, `netmon 0.1.0 (deno ${Deno.version.deno})\n`);
  }));

/** Each mistake, its line, and the help it points at: the named command's own, where its options are. */
const USAGE_ERRORS: [string[], string, string][] = [
  [["bogus"], 'netmon: unknown command "bogus"\n', "netmon"],
  [["--bogus"], "netmon: unknown option --bogus\n", "netmon"],
  [["report", "--config"], "netmon: option --config needs a value\n", "netmon report"],
  [["report", "--state-dir"], "netmon: option --state-dir needs a value\n", "netmon report"],
  [["status", "--dry-run"], "netmon: --dry-run only applies to start, stop and schedule\n", "netmon status"],
  [["report", "extra"], 'netmon: unexpected argument "extra"\n', "netmon report"],
  [["help", "nope"], 'netmon: no help for "nope"\n', "netmon"],
  [
    ["SUMMARY", "--by", "fortnight"],
    "netmon: --by fortnight: must be one of hour, day, week, month, year, cycle\n",
    "netmon summary",
  ],
];

for (const [args, stderr, help] of USAGE_ERRORS) {
  Deno.test(`usage error: netmon ${args.join(" ")} exits 64 with one line`, () =>
    withTempDir(async (dir) => {
      const r = await plain(args, dir);
      assertEquals([r.code, r.stdout, r.stderr], [64, "", stderr.replace(/\n$/, ` (see '${help} --help')\n`)]);
      if (help !== "netmon") {
        const h = await plain([...help.split(" ").slice(1), "--help"], dir);
        assertEquals(h.code, 0, "the help pointed at is there");
      }
    }));
}

Deno.test("bad config: exit 78, one line per problem naming file and key, nothing written", () =>
  withTempDir(async (dir) => {
    const config = await writeConfig(dir, '[[meter]]\nname = "a"\nfrom = "192.0.2.1; reboot"\nhook = "nat"\n');
    const r = await netmon(["-c", config, "-s", `${dir}/state`], { dirs: [dir] });
    assertEquals([r.code, r.stdout], [78, ""]);
    assertEquals(
      r.stderr,
      // In the order of the file.
      [
        `netmon: ${config}: meter[1].from: "192.0.2.1; reboot" is not an IPv4 or IPv6 address or CIDR\n`,
        `netmon: ${config}: meter[1].hook: "nat" is not one of INPUT, OUTPUT, FORWARD\n`,
      ].join(""),
    );
    const missing = await netmon(["-c", `${dir}/nope.toml`], { dirs: [dir] });
    assertEquals([missing.code, missing.stderr], [
      78,
      `netmon: ${dir}/nope.toml: config file not found (check --config or NETMON_CONFIG)\n`,
    ]);
    const envMissing = await netmon(["status"], { dirs: [dir], env: { NETMON_CONFIG: `${dir}/env.toml` } });
    assertEquals(envMissing.code, 78);
    await Deno.stat(`${dir}/state`).then(() => Promise.reject(new Error("state dir was created")), () => undefined);
  }));

Deno.test("missing binary: exit 69 naming it and the config key", () =>
  withTempDir(async (dir) => {
    const config = await writeConfig(
      dir,
      '[binaries]\niptables_save = "/nonexistent/iptables-save"\n[[meter]]\nname = "a"\n',
    );
    const r = await netmon(["-c", config, "-s", dir], {
      dirs: [dir],
      permissions: [
        `--allow-run=/nonexistent/iptables-save,/usr/bin/stat`,
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        "--allow-env",
        "--allow-sys=uid,osUptime",
      ],
    });
    assertEquals([r.code, r.stderr], [
      69,
      "netmon: /nonexistent/iptables-save not found: install it or set its path under [binaries] in the config\n",
    ]);
    assertEquals((await Deno.stat(`${dir}/netmon.log`).catch(() => undefined))?.size ?? 0, 0);
  }));

Deno.test("unreadable log: exit 65 with file:line, the log untouched", () =>
  withTempDir(async (dir) => {
    const log = "2026/11/21-10:00:00\t1\t2\ngarbage here\n";
    await Deno.writeTextFile(`${dir}/netmon.log`, log);
    const r = await plain(["-s", dir], dir);
    assertEquals([r.code, r.stdout], [65, ""]);
    assertEquals(
      r.stderr,
      `netmon: ${dir}/netmon.log:2: expected 3 fields (timestamp and proxy, non-network) but got 2 (correct or delete that line)\n`,
    );
    assertEquals(await Deno.readTextFile(`${dir}/netmon.log`), log);
    await Deno.writeTextFile(`${dir}/netmon.last`, "2026/11/21-10:00:00\t1\n");
    const bad = await plain(["-s", dir], dir);
    assertEquals([bad.code, bad.stderr], [
      65,
      `netmon: ${dir}/netmon.last:1: expected 4 fields (timestamp, proxy, non-network, total start) but got 2: ` +
      "delete it, and the next report rebuilds it from the log's last line\n",
    ]);
  }));

Deno.test("a permission Deno refused: exit 77 naming the exact flag", () =>
  withTempDir(async (dir) => {
    const r = await netmon(["-s", dir], {
      env: { NETMON_CONFIG: "" },
      permissions: [
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        "--allow-env",
        "--allow-sys=uid,osUptime",
        "--allow-run=/usr/bin/stat",
      ],
    });
    assertEquals([r.code, r.stderr], [
      77,
      "netmon: Deno denied run access to /usr/sbin/ip: run it with --allow-run=/usr/sbin/ip (or a permission set from deno.json)\n",
    ]);
    const env = await netmon(["-s", dir], { permissions: [RUN_ALLOW, `--allow-read=${dir}`, `--allow-write=${dir}`] });
    assertEquals([env.code, env.stderr.includes("--allow-env=NETMON_CONFIG")], [77, true]);
  }));

/** netmon's directory, where `deno task` runs. */
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** What a run of `deno` from a shell is given: where deno and its cache are, no colour. */
const SHELL_ENV = {
  PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  HOME: Deno.env.get("HOME") ?? "/root",
  NO_COLOR: "1",
  ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
};
/** Runs `line` with sh in `cwd`, as a user pastes it. */
const shell = (line: string, cwd = ROOT) => run("sh", ["-c", line], { env: SHELL_ENV, cwd });
/** The run line a refusal prints, or undefined (with the line, for the assertion's message). */
const runLineOf = (stderr: string) => /: run it as: (deno run .*)\n$/.exec(stderr)?.[1];

Deno.test("a config outside the admin set: the refusal prints the whole run line, which works as printed", () =>
  withTempDir(async (dir) => {
    const config = await writeConfig(dir, 'source = "nftables"\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n');
    const task = await shell(`deno task -q netmon -c ${config} -s ${dir}/state schedule`);
    assertEquals(task.code, 77, task.stderr);
    const line = runLineOf(task.stderr);
    ok(line !== undefined, task.stderr);
    ok(
      task.stderr.startsWith(
        `netmon: Deno denied read access to ${config}: this run's permissions (the netmon-admin set, and any flags ` +
          "given with it) do not allow it; ",
      ),
      task.stderr,
    );
    // The set's read list from deno.json, then what is added: one line, every path of the set kept.
    const set = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).permissions["netmon-admin"];
    ok(line.includes(` --allow-read=${set.read.join(",")},${config},${dir}/state `), line);
    ok(line.endsWith(` netmon.ts -c ${config} -s ${dir}/state schedule`), line);
    const again = await shell(line);
    assertEquals([again.code, again.stderr], [0, ""], line);
    ok(again.stdout.startsWith(`# netmon report for ${config}, state in ${dir}/state\n`), again.stdout);
    // From another directory: deno.json and netmon.ts by their paths, and the line works there.
    const elsewhere = await shell(
      `deno run -q --frozen --config ${ROOT}/deno.json -P=netmon-admin ${ROOT}/netmon.ts -c ${config} -s ${dir} schedule`,
      dir,
    );
    const there = runLineOf(elsewhere.stderr);
    ok(there?.includes(` --config ${ROOT}/deno.json `), elsewhere.stderr);
    ok(there?.endsWith(` ${ROOT}/netmon.ts -c ${config} -s ${dir} schedule`), elsewhere.stderr);
    const fromThere = await shell(there as string, dir);
    assertEquals([fromThere.code, fromThere.stderr], [0, ""], there);
  }));

Deno.test("a refusal under flags a line gave keeps them, and graph's line adds --html's directory read and written", () =>
  withTempDir(async (dir) => {
    const config = await writeConfig(dir, 'source = "nftables"\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n');
    await Deno.mkdir(`${dir}/state`);
    await Deno.writeTextFile(`${dir}/state/netmon.log`, "2026/11/21-10:00:00\t1\t2\n2026/11/22-10:00:00\t5\t9\n");
    // The config granted (as a line that was refused it printed), the state directory and the pages not.
    const first = await shell(
      `deno run -q --frozen -P=graph --allow-read=/etc/netmon,/var/lib/netmon,${config} graph.ts -c ${config} ` +
        `-s ${dir}/state --html ${dir}/html`,
    );
    assertEquals(first.code, 77, first.stderr);
    match(
      first.stderr,
      new RegExp(`^graph: Deno denied read access to ${dir}/html: this run's permissions`),
    );
    const line = runLineOf(first.stderr) as string;
    // The read it was given before is kept beside what it lacked, and the pages' directory is read and written.
    ok(line.includes(`--allow-read=/etc/netmon,/var/lib/netmon,${config},${dir}/html,${dir}/state `), line);
    ok(line.includes(`--allow-write=/var/lib/netmon,${dir}/html `), line);
    ok(line.includes(" --v8-flags=--max-semi-space-size=2 graph.ts "), line);
    const second = await shell(line);
    assertEquals([second.code, second.stderr], [0, ""], line);
    ok((await Deno.stat(`${dir}/html/index.html`)).isFile);
  }));

/** The graph set's task words before graph.ts, run from `cwd` (not netmon's directory), with `flags` of one's own. */
const graphBy = (flags: string, args: string) =>
  `deno run --config ${ROOT}/deno.json -q --frozen -P=graph ${flags} ${ROOT}/graph.ts ${args}`;

Deno.test("graph writing to the current directory: the line adds it for reading and writing, and works as printed", () =>
  withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/state`);
    await Deno.mkdir(`${dir}/g2`);
    await Deno.writeTextFile(`${dir}/state/netmon.log`, "2026/11/21-10:00:00\t1\t2\n2026/11/22-10:00:00\t5\t9\n");
    for (const out of [[], ["-o", "out.dat"]]) {
      const args = [`${dir}/state/netmon.log`, ...out].join(" ");
      const first = await shell(graphBy(`--allow-read=/etc/netmon,/var/lib/netmon,${dir}/state`, args), `${dir}/g2`);
      assertEquals(first.code, 77, first.stderr);
      match(first.stderr, /^graph: Deno denied write access to \.: /);
      const line = runLineOf(first.stderr) as string;
      ok(
        line.includes(` --allow-read=/etc/netmon,/var/lib/netmon,${dir}/state,. --allow-write=/var/lib/netmon,. `),
        line,
      );
      const again = await shell(line, `${dir}/g2`);
      assertEquals([again.code, again.stderr], [0, ""], line);
      ok((await Deno.stat(`${dir}/g2/${out[1] ?? "netmon_graph.dat"}`)).isFile);
    }
    // The write added by hand, as the flag-alone refusal says: the read refusal's line keeps it.
    const byHand = await shell(
      graphBy(
        `--allow-read=/etc/netmon,/var/lib/netmon,${dir}/state --allow-write=/var/lib/netmon,.`,
        `${dir}/state/netmon.log -o hand.dat`,
      ),
      `${dir}/g2`,
    );
    assertEquals(byHand.code, 77, byHand.stderr);
    match(byHand.stderr, new RegExp(`^graph: Deno denied read access to ${dir}/g2: `));
    const line = runLineOf(byHand.stderr) as string;
    ok(line.includes(" --allow-write=/var/lib/netmon,. "), line);
    const again = await shell(line, `${dir}/g2`);
    assertEquals([again.code, again.stderr], [0, ""], line);
    ok((await Deno.stat(`${dir}/g2/hand.dat`)).isFile);
  }));

Deno.test("graph on a log kept elsewhere: the refusal names its directory and the output's, and reading the file alone is a refusal too", () =>
  withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/state`);
    const log = `${dir}/state/netmon.log`;
    await Deno.writeTextFile(log, "2026/11/21-10:00:00\t1\t2\n2026/11/22-10:00:00\t5\t9\n");
    for (const flags of ["", `--allow-read=/etc/netmon,/var/lib/netmon,${log}`]) {
      const first = await shell(graphBy(flags, `${log} -o ${dir}/state/g.dat`), dir);
      assertEquals(first.code, 77, first.stderr);
      match(first.stderr, new RegExp(`^graph: Deno denied read access to ${dir}/state, the directory of the log `));
      const line = runLineOf(first.stderr) as string;
      // The output's directory, written beside the output and renamed into place, in the same line.
      ok(line.includes(` --allow-read=/etc/netmon,/var/lib/netmon,${dir}/state `), line);
      ok(line.includes(` --allow-write=/var/lib/netmon,${dir}/state `), line);
      const second = await shell(line, dir);
      assertEquals([second.code, second.stderr], [0, ""], line);
      await Deno.remove(`${dir}/state/g.dat`);
    }
  }));

Deno.test("a program refused under a set and flags of one's own: the whole line, the set's programs kept", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/sendmail`, "#!/bin/sh\ncat >/dev/null\n", { mode: 0o755 });
    const config = await writeConfig(
      dir,
      `source = "interface"\ninterfaces = ["lo"]\n\n[mail]\ntransport = "sendmail"\nsendmail = "${dir}/sendmail"\n` +
        'to = ["ops@example.org"]\nfrom = "netmon@example.org"\n',
    );
    const own = `--allow-read=/etc/netmon,/var/lib/netmon,${dir} --allow-write=/var/lib/netmon,${dir}/state`;
    const args = `netmon.ts -c ${config} -s ${dir}/state report`;
    const first = await shell(`deno run -q --frozen -P=netmon ${own} ${args}`);
    assertEquals(first.code, 77, first.stderr);
    match(first.stderr, new RegExp(`^netmon: Deno denied run access to ${dir}/sendmail, 1 mail\\(s\\) kept in `));
    const line = runLineOf(first.stderr) as string;
    ok(line.includes(`,/usr/bin/stat,${dir}/sendmail `), line);
    // The flag the flag-alone form would have named, added by hand: the set's programs are back in the line.
    const byHand = await shell(`deno run -q --frozen -P=netmon ${own} --allow-run=${dir}/sendmail ${args}`);
    assertEquals(byHand.code, 77, byHand.stderr);
    const next = runLineOf(byHand.stderr) as string;
    ok(next.includes(`--allow-run=${PERMISSION_SETS.netmon?.run?.join(",")},${dir}/sendmail `), byHand.stderr);
    for (const l of [line, next]) {
      const r = await shell(l);
      assertEquals([r.code, r.stderr], [0, ""], l);
    }
    ok(!first.stderr.includes("passes deno no flags"), first.stderr);
  }));

Deno.test("an SQLite store kept elsewhere: the chain of printed lines ends in a run that works, whichever -c is last", () =>
  withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/store`);
    await writeConfig(dir, 'source = "interface"\ninterfaces = ["lo"]\n', "a.toml");
    const config = await writeConfig(
      dir,
      `source = "interface"\ninterfaces = ["lo"]\nstore = "sqlite:${dir}/store/n.db"\n`,
      "b.toml",
    );
    // The parser takes the last -c: a first one naming another config is not what the line keeps the paths of.
    for (const configs of [`-c ${config}`, `-c ${dir}/a.toml -c ${config}`]) {
      let line = `deno task -q netmon ${configs} -s ${dir}/lab2 report`;
      const seen: string[] = [];
      let r = await shell(line);
      // Each step adds one path at least; a handful is all this config needs (the config, the state, the store).
      for (let step = 0; r.code === 77 && step < 8; step++) {
        seen.push(r.stderr.split(":")[1] ?? r.stderr);
        line = runLineOf(r.stderr) as string;
        ok(line !== undefined, r.stderr);
        r = await shell(line);
      }
      assertEquals([r.code, r.stderr], [0, ""], `${configs}: ${seen.join(" |")}`);
      ok((await Deno.stat(`${dir}/store/n.db`)).isFile);
      await Deno.remove(`${dir}/lab2`, { recursive: true });
      await Deno.remove(`${dir}/store`, { recursive: true });
      await Deno.mkdir(`${dir}/store`);
    }
  }));

Deno.test("flags of one's own: the default config's refusal says it was only looked for, and how to name one", () =>
  withTempDir(async (dir) => {
    const r = await netmon(["summary", "-s", dir], {
      permissions: [`--allow-read=${dir}`, "--allow-env", "--allow-sys=uid"],
    });
    assertEquals([r.code, r.stdout, r.stderr], [
      77,
      "",
      "netmon: Deno denied read access to /etc/netmon/netmon.toml, where netmon looks for a config when none is " +
      "named: name yours with -c FILE (or NETMON_CONFIG=FILE; empty for none), or run it with " +
      "--allow-read=/etc/netmon/netmon.toml (or a permission set from deno.json)\n",
    ]);
  }));

Deno.test("a state directory that cannot be created: exit 73", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    const r = await plain(["-s", `${dir}/file/state`], dir);
    assertEquals([r.code, r.stderr], [
      73,
      `netmon: Cannot create state directory ${dir}/file/state: Not a directory (os error 20)\n`,
    ]);
  }));

netnsTest(
  "not root (no CAP_NET_ADMIN): exit 77 saying so, nothing logged",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, ORIGINAL_DOC_CONFIG);
        for (const args of [["start", "-c", config], ["-c", config, "-s", dir], ["stop", "--dry-run", "-c", config]]) {
          const r = await netmon(args, {
            ns: p.a,
            dirs: [dir],
            wrap: ["setpriv", "--bounding-set=-net_admin,-net_raw", "--inh-caps=-all"],
          });
          assertEquals(r.code, 77, r.stderr);
          ok(
            /^netmon: iptables-save needs root or CAP_NET_ADMIN \(exited with code 4: .*Permission denied.*\)\n$/
              .test(r.stderr),
            r.stderr,
          );
        }
        assertEquals(await Deno.readTextFile(`${dir}/netmon.log`).catch(() => ""), "");
      })
    ),
);

netnsTest(
  "start --dry-run prints the exact transaction and changes nothing; status and report without rules",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, ORIGINAL_DOC_CONFIG);
        const o = { ns: p.a, dirs: [dir] };
        const dry = await netmon(["start", "-n", "-c", config], o);
        assertEquals([dry.code, dry.stderr], [0, ""]);
        assertEquals(
          dry.stdout,
          `would create chain DOWNLOADED
would add rule for meter proxy to INPUT
would add rule for meter non-network to INPUT
would run: /usr/sbin/iptables-restore --noflush --wait=10
with input:
*filter
:DOWNLOADED - [0:0]
-I INPUT 1 ! -s 198.51.100.0/24 -m comment --comment "netmon:non-network" -j DOWNLOADED
-I INPUT 1 -s 198.51.100.10/32 -m comment --comment "netmon:proxy" -j DOWNLOADED
COMMIT
(dry run: nothing was changed)
`,
        );
        assertEquals((await must("ip", ["netns", "exec", p.a, "iptables-save"])).includes("netmon"), false);
        const st = await netmon(["status", "-c", config], o);
        assertEquals(st.code, 69);
        assertEquals(
          st.stdout,
          `source: iptables (chain DOWNLOADED), config ${config}
meter        where  installed  packets  bytes
proxy        INPUT  NO         -        -
non-network  INPUT  NO         -        -
2 meters not installed: run 'deno task netmon start -c ${config}'
`,
        );
        const r = await netmon(["-c", config, "-s", dir], o);
        assertEquals([r.code, r.stdout, r.stderr], [
          69,
          "",
          `netmon: netmon's rules are not installed for meters proxy, non-network: run 'deno task netmon start -c ${config} -s ${dir}'\n`,
        ]);
        assertEquals(await Deno.readTextFile(`${dir}/netmon.log`).catch(() => ""), "");
      })
    ),
);

netnsTest(
  "status counts the rules and the meters not installed, and names each of a meter's rules in one hook by its match",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        // charlie's traffic in both directions is one column: INPUT -d, OUTPUT -s, and FORWARD -d and -s.
        const config = await writeConfig(
          dir,
          'source = "iptables"\nchain = "DOWNLOADED"\n[[meter]]\nname = "charlie"\naddress = "192.0.2.7"\n' +
            '[[meter]]\nname = "proxy"\nfrom = "198.51.100.10"\n',
        );
        const st = await netmon(["status", "-c", config, "-s", dir], { ns: p.a, dirs: [dir] });
        assertEquals(st.code, 69, st.stderr);
        const rows = st.stdout.split("\n").slice(2, -2).map((l) => l.split(/ {2,}/).slice(0, 3).join(" | "));
        assertEquals(rows.sort(), [
          "charlie | FORWARD -d 192.0.2.7/32 | NO",
          "charlie | FORWARD -s 192.0.2.7/32 | NO",
          "charlie | INPUT | NO",
          "charlie | OUTPUT | NO",
          "proxy | INPUT | NO",
        ]);
        ok(
          st.stdout.endsWith(
            `5 rules of 2 meters not installed: run 'deno task netmon start -c ${config} -s ${dir}'\n`,
          ),
          st.stdout,
        );
      })
    ),
);

netnsTest(
  "a rule changed behind netmon's back is refused until start repairs it",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, ORIGINAL_DOC_CONFIG);
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        assertEquals((await netmon(["-c", config, "-s", dir], o)).code, 0);
        const moved = ORIGINAL_DOC_CONFIG.replace("198.51.100.10", "198.51.100.11");
        await writeConfig(dir, moved);
        const r = await netmon(["-c", config, "-s", dir], o);
        // The start named acts on this config and state directory: a bare 'netmon start' would act on the default.
        const fix = `run 'deno task netmon start -c ${config} -s ${dir}' to update the rules`;
        assertEquals([r.code, r.stderr], [
          69,
          `netmon: meter proxy: the installed rule in INPUT matches source 198.51.100.10 but the config says 198.51.100.11: ${fix}\n`,
        ]);
        // check repeats the report's failure from netmon.status, with the same runnable fix.
        const c = await netmon(["check", "-c", config, "-s", dir], o);
        assertEquals(c.code, 2, c.stdout);
        ok(c.stdout.includes(`config says 198.51.100.11: ${fix}`), c.stdout);
        const s = await netmon(["start", "-c", config], o);
        ok(
          s.stdout.includes(
            "remove stale rule of proxy from INPUT\nadd rule for meter proxy to INPUT\nkeep 1 installed rule",
          ),
          s.stdout,
        );
        assertEquals((await netmon(["-c", config, "-s", dir], o)).code, 0);
      })
    ),
);

Deno.test("report by a user who is not root says first that reading a firewall needs root", () => {
  const iptables = parseConfig(ORIGINAL_DOC_CONFIG, "/etc/netmon/netmon.toml");
  assertEquals(
    rootNeeded(iptables, false, () => 1000),
    "netmon report reads the iptables counters, which needs root (or CAP_NET_ADMIN): run it as root",
  );
  assertEquals(rootNeeded(iptables, false, () => 0), undefined);
  // With a state directory given, the firewall program's own refusal says it ("needs root or CAP_NET_ADMIN").
  assertEquals(rootNeeded(iptables, true, () => 1000), undefined);
  assertEquals(rootNeeded(parseConfig('source = "interface"\n', "c.toml"), false, () => 1000), undefined);
});
