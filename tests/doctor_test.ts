/**
 * `netmon doctor` against real firewalls in network namespaces and real
 * system files in a sandbox (overlays over /etc, /var and /usr/sbin): a
 * healthy setup, then each broken state it checks, with its verdict and
 * advice asserted. doctor runs under the netmon-admin permission set, so the
 * set is shown to be enough.
 *
 * @module
 */

import { deepEqual as assertEquals, doesNotMatch, match, ok } from "node:assert/strict";
import {
  backendOf,
  checkLog,
  diagnose,
  type Finding,
  formatFindings,
  runsReport,
  savedRules,
} from "../lib/doctor/diagnose.ts";
import { stateFiles } from "../lib/state/files.ts";
import { parseGraphLine } from "../lib/doctor/run_lines.ts";
import { netmonCommand } from "../lib/host/invocation.ts";
import { EX, NetmonError } from "../lib/host/errors.ts";
import { runCommand } from "../lib/host/run.ts";
import { CRON_DAEMONS } from "../lib/host/cron_daemon.ts";
import {
  exists,
  LEGACY_BINARIES,
  LEGACY_DOC_CONFIG,
  netmon,
  netnsTest,
  NFT_ONE_METER_CONFIG,
  ORIGINAL_DOC_CONFIG,
  RUN_ALLOW,
  withPair,
  withTempDir,
  writeConfig,
} from "./helpers.ts";
import { sandbox, type SandboxStep, type StepResult } from "./sandbox.ts";
import { deadPort, startSmtp } from "./smtp_server.ts";
import { startPostgresCluster } from "./postgres_cluster.ts";

interface Verdict {
  code: number;
  ok: boolean;
  checks: Map<string, Finding>;
}

function verdict(r: StepResult): Verdict {
  assertEquals(r.stderr, "", "doctor prints its findings on stdout only");
  const parsed = JSON.parse(r.stdout) as { ok: boolean; checks: Finding[] };
  return { code: r.code, ok: parsed.ok, checks: new Map(parsed.checks.map((c) => [c.check, c])) };
}

/** Asserts every check but `except` is ok, and those are problems whose text matches. */
function expect(v: Verdict, problems: Record<string, RegExp>, fixes: Record<string, RegExp> = {}): void {
  for (const [name, c] of v.checks) {
    const want = problems[name];
    if (want) {
      assertEquals(c.verdict, "problem", `${name}: ${JSON.stringify(c)}`);
      match(c.said, want, `${name}: ${c.said}`);
      ok(c.fix && c.fix.length > 10, `${name} says how to fix it: ${JSON.stringify(c)}`);
      if (fixes[name]) match(c.fix, fixes[name] as RegExp, `${name} fix`);
    } else {
      ok(c.verdict !== "problem", `${name} should not be a problem: ${JSON.stringify(c)}`);
    }
    ok(!/Deno denied/.test(c.said), `the netmon-admin set allows what doctor reads: ${c.said}`);
  }
  for (const name of Object.keys(problems)) ok(v.checks.has(name), `check ${name} ran`);
  const any = Object.keys(problems).length > 0;
  assertEquals([v.code, v.ok], any ? [1, false] : [0, true]);
}

const CONFIG = "/etc/netmon/netmon.toml";
const ROOT = new URL("..", import.meta.url).pathname;
/** Installs the schedule 'netmon schedule' writes for the config in the sandbox (a step that returns nothing). */
const SCHEDULE = (how: "--cron" | "--systemd"): SandboxStep => ({
  run: [
    Deno.execPath(),
    "run",
    "-q",
    "--frozen",
    "-P=netmon-admin",
    "--config",
    `${ROOT}deno.json`,
    `${ROOT}netmon.ts`,
    "schedule",
    how,
  ],
});
const LOG = "/var/lib/netmon/netmon.log";
const DOCTOR: SandboxStep = { netmon: ["doctor", "--json"] };

/** A working iptables setup: config, rules, two reports, the cron file 'netmon schedule --cron' writes. */
function healthy(config = ORIGINAL_DOC_CONFIG): SandboxStep[] {
  return [
    { write: CONFIG, text: config },
    { netmon: ["start"] },
    { netmon: ["report"], set: "netmon" },
    { netmon: ["report"], set: "netmon" },
    SCHEDULE("--cron"),
  ];
}

netnsTest("doctor: a healthy iptables setup is all well; text and JSON agree", () =>
  withPair(async (p) => {
    const r = await sandbox([...healthy(), DOCTOR, { netmon: ["doctor"] }], p.a);
    for (const step of r.slice(0, 3)) assertEquals([step.code, step.stderr], [0, ""]);
    const v = verdict(r[3] as StepResult);
    expect(v, {});
    match(v.checks.get("backend")?.said ?? "", /iptables drives nf_tables; the legacy backend holds no rules/);
    match(v.checks.get("rules")?.said ?? "", /all 2 rules for 2 log columns installed \(chain DOWNLOADED\)/);
    match(v.checks.get("log")?.said ?? "", /netmon\.log: 2 samples from /);
    match(
      v.checks.get("schedule")?.said ?? "",
      new RegExp(
        "^the report runs from cron /etc/cron\\.d/netmon:8; the nightly graph from cron /etc/cron\\.d/netmon:9; " +
          "the rules put back at boot from cron /etc/cron\\.d/netmon:12$",
      ),
    );
    match(v.checks.get("state-dir")?.said ?? "", /writable and on persistent storage/);
    const text = r[4] as StepResult;
    assertEquals(text.code, 0);
    ok(text.stdout.endsWith("netmon doctor: all is well\n"), text.stdout);
    for (const name of v.checks.keys()) match(text.stdout, new RegExp(`^ok +${name} `, "m"));
  }));

netnsTest(
  "doctor: a cron schedule on a machine without a cron daemon is a problem (nothing would run it); " +
    "schedule --cron warns of it, with --dry-run too",
  () =>
    withPair(async (p) => {
      // The sandbox hides /usr/sbin's daemons; one elsewhere on the host (systemd-cron, cronie's /usr/bin) it cannot.
      for (const other of CRON_DAEMONS.filter((d) => !d.startsWith("/usr/sbin/"))) {
        ok(!exists(other), `this host has ${other}, a cron daemon the sandbox cannot hide`);
      }
      const base = healthy().filter((s) => !("run" in s && s.run.includes("--cron")));
      const r = await sandbox([
        ...base,
        { remove: "/usr/sbin/cron" },
        { netmon: ["schedule", "--cron"] },
        DOCTOR,
        { netmon: ["doctor"] },
        // --dry-run shows the lines and says the same.
        { netmon: ["schedule", "--cron", "--dry-run"] },
        // With Debian's cron installed, all is well again.
        { write: "/usr/sbin/cron", text: "#!/bin/sh\n" },
        DOCTOR,
      ], p.a);
      const scheduled = r[3] as StepResult;
      assertEquals(scheduled.code, 0, scheduled.stderr);
      match(scheduled.stdout, /^wrote \/etc\/cron\.d\/netmon\n$/);
      assertEquals(
        scheduled.stderr,
        "netmon: warning: no cron daemon is installed (none of /usr/sbin/cron, /usr/sbin/crond, /usr/bin/crond, " +
          "/usr/lib/systemd/system-generators/systemd-crontab-generator), so nothing ever runs these lines: install " +
          "one (apt-get install cron), or run 'deno task netmon schedule --systemd' instead\n",
      );
      expect(verdict(r[4] as StepResult), {
        schedule: /^cron \/etc\/cron\.d\/netmon:8 should run the report, but no cron daemon is installed \(none of /,
      }, { schedule: /^install one \(apt-get install cron\), or run 'deno task netmon schedule --systemd' instead$/ });
      const text = r[5] as StepResult;
      assertEquals(text.code, 1);
      ok(!text.stdout.includes("all is well"), text.stdout);
      const shown = r[6] as StepResult;
      assertEquals([shown.code, shown.stderr], [0, scheduled.stderr]);
      match(shown.stdout, /^==> \/etc\/cron\.d\/netmon \(not written: --dry-run\) <==\n/);
      expect(verdict(r[7] as StepResult), {});
    }),
);

netnsTest("doctor: rules removed by hand, then repaired by start", () =>
  withPair(async (p) => {
    const r = await sandbox([
      ...healthy(),
      {
        run: [
          "iptables",
          "-D",
          "INPUT",
          "-s",
          "198.51.100.10/32",
          "-m",
          "comment",
          "--comment",
          "netmon:proxy",
          "-j",
          "DOWNLOADED",
        ],
      },
      DOCTOR,
      { netmon: ["start"] },
      DOCTOR,
    ], p.a);
    expect(verdict(r[3] as StepResult), { rules: /1 of 2 rules missing .*: proxy \(INPUT\)/ }, {
      rules: /netmon start/,
    });
    expect(verdict(r[5] as StepResult), {});
  }));

netnsTest("doctor: a missing binary, a second backend holding rules, a held xtables lock", () =>
  withPair(async (p) => {
    // A flag replaces the set's run list: the legacy tools, and the nft one doctor lists the other backend with.
    const legacyRun = [`--allow-run=${[...LEGACY_BINARIES, "/usr/sbin/iptables-nft-save", "/usr/bin/stat"].join(",")}`];
    const r = await sandbox([
      ...healthy(),
      // A foreign rule in the other backend: both apply, neither iptables shows the other's.
      { run: ["iptables-legacy", "-A", "INPUT", "-s", "203.0.113.7", "-j", "ACCEPT"] },
      DOCTOR,
      { run: ["iptables-legacy", "-D", "INPUT", "-s", "203.0.113.7", "-j", "ACCEPT"] },
      // The package half removed: iptables-restore gone.
      { remove: "/usr/sbin/iptables-restore" },
      DOCTOR,
      // The same meters on the legacy backend, with another process holding the xtables lock.
      { run: ["iptables", "-F", "INPUT"] },
      { write: CONFIG, text: LEGACY_DOC_CONFIG },
      SCHEDULE("--cron"),
      { netmon: ["start"], permissions: legacyRun },
      { lock: "/run/xtables.lock" },
      { netmon: ["doctor", "--json"], permissions: legacyRun },
      // The report reads with iptables-legacy-save, which never waits for the lock.
      { netmon: ["report"], permissions: legacyRun },
      // The legacy paths of the config without the flag that allows them: not missing, not allowed.
      { netmon: ["doctor", "--json"] },
    ], p.a);
    expect(
      verdict(r[3] as StepResult),
      {
        backend:
          /drives nf_tables, but the legacy backend holds rules too: .*iptables-legacy-save lists 1 rule \(table filter\)/,
      },
      { backend: /iptables-legacy-save \| iptables-restore/ },
    );
    const missing = verdict(r[4] as StepResult);
    expect(missing, { binaries: /\/usr\/sbin\/iptables-restore not found/ }, { binaries: /\[binaries\]/ });
    assertEquals(missing.checks.get("rules")?.verdict, "skipped");
    assertEquals((r[5] as StepResult).code, 0, (r[5] as StepResult).stderr);
    const locked = verdict(r[6] as StepResult);
    expect(locked, {
      "xtables-lock": /\/run\/xtables\.lock is held by another process: legacy iptables-restore waits .*start/,
    }, { "xtables-lock": /fuser/ });
    match(locked.checks.get("rules")?.said ?? "", /all 2 rules for 2 log columns installed/);
    const report = r[7] as StepResult;
    assertEquals([report.code, report.stderr], [0, ""]);
    match(report.stdout, /New Total/);
    match(locked.checks.get("backend")?.said ?? "", /iptables drives legacy; the nft backend holds no rules/);
    const notAllowed = verdict(r[8] as StepResult).checks.get("binaries");
    assertEquals(notAllowed?.verdict, "problem");
    match(notAllowed?.said ?? "", /Deno denied run access to \/usr\/sbin\/iptables-legacy/);
    match(
      notAllowed?.fix ?? "",
      /^allow them: run doctor \(and the report\) with --allow-run=\S*\/usr\/sbin\/iptables-legacy[,;]/,
    );
    doesNotMatch(notAllowed?.fix ?? "", /install the package/);
  }));

netnsTest("doctor: nf_tables ignores a held xtables lock; nftables table deleted by hand", () =>
  withPair(async (p) => {
    const r = await sandbox([
      ...healthy(),
      { lock: "/run/xtables.lock" },
      DOCTOR,
      // The iptables rules stopped first: left counting, doctor would name them (tests/switch_e2e_test.ts).
      { netmon: ["stop"] },
      { write: CONFIG, text: NFT_ONE_METER_CONFIG },
      SCHEDULE("--cron"),
      { remove: LOG },
      { remove: "/var/lib/netmon/netmon.last" },
      { netmon: ["start"] },
      DOCTOR,
      { run: ["nft", "delete", "table", "inet", "netmon"] },
      DOCTOR,
    ], p.a);
    const v = verdict(r[3] as StepResult);
    expect(v, {});
    match(
      v.checks.get("xtables-lock")?.said ?? "",
      /held by another process, but the nf_tables backend does not use it/,
    );
    const nftOk = verdict(r[6] as StepResult);
    expect(nftOk, {});
    ok(!nftOk.checks.has("backend") && !nftOk.checks.has("xtables-lock"), "iptables checks only for iptables");
    match(nftOk.checks.get("rules")?.said ?? "", /table inet netmon/);
    expect(verdict(r[7] as StepResult), {
      rules: /^1 of 1 log column's rules missing or not matching the config: b \(inet netmon input\)$/,
    }, { rules: /netmon start/ });
  }));

netnsTest(
  "doctor: the rules finding counts rules, not log columns, and says one in the singular",
  () =>
    withPair(async (p) => {
      const r = await sandbox([
        // One column counted in two hooks: two rules (start says "write 2 rules").
        { write: CONFIG, text: `${NFT_ONE_METER_CONFIG}hook = ["INPUT", "FORWARD"]\n` },
        { netmon: ["start"] },
        DOCTOR,
        { netmon: ["stop"] },
        // One meter on iptables: one rule.
        { write: CONFIG, text: 'source = "iptables"\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n' },
        { netmon: ["start"] },
        DOCTOR,
      ], p.a);
      match((r[0] as StepResult).stdout, /write 2 rules/);
      assertEquals(
        verdict(r[1] as StepResult).checks.get("rules")?.said,
        "all 2 rules for 1 log column installed (table inet netmon)",
      );
      assertEquals(
        verdict(r[4] as StepResult).checks.get("rules")?.said,
        "all 1 rule for 1 log column installed (chain DOWNLOADED)",
      );
    }, "misc2"),
);

netnsTest(
  "doctor: the last report's outcome, and the PostgreSQL store reached, logged in and its table there, only read",
  () =>
    withPair(async (p) => {
      await using cluster = await startPostgresCluster({ netns: p.a });
      await cluster.psql("CREATE DATABASE empty");
      const config = (port: number, database = cluster.database) =>
        `source = "interface"\ninterfaces = ["${p.va}"]\nhost = "misc2"\n` +
        `store = "postgresql://${cluster.user}@127.0.0.1:${port}/${database}"\n` +
        `[postgresql]\npassword_file = "/etc/netmon/db.password"\n`;
      const net = (port: number) => [`--allow-net=127.0.0.1:${port}`];
      const dead = 9; // nothing listens in the namespace: the server down
      const r = await sandbox([
        { write: CONFIG, text: config(cluster.port) },
        { write: "/etc/netmon/db.password", text: `${cluster.password}\n` },
        { netmon: ["report"], permissions: net(cluster.port) },
        { netmon: ["doctor", "--json"], permissions: net(cluster.port) },
        DOCTOR,
        { write: CONFIG, text: config(dead) },
        { netmon: ["report"], permissions: net(dead) },
        { netmon: ["doctor", "--json"], permissions: net(dead) },
        // A database without the table, looked at twice: doctor creates nothing.
        { write: CONFIG, text: config(cluster.port, "empty") },
        { netmon: ["doctor", "--json"], permissions: net(cluster.port) },
        { netmon: ["doctor", "--json"], permissions: net(cluster.port) },
        { write: CONFIG, text: config(cluster.port) },
        { write: "/etc/netmon/db.password", text: "not-the-password\n" },
        { netmon: ["doctor", "--json"], permissions: net(cluster.port) },
      ], p.a);
      const [report, well, denied, reportDown, down, empty, again, wrong] = r as StepResult[];
      assertEquals([report?.code, report?.stderr], [0, ""]);
      const fine = verdict(well as StepResult).checks;
      assertEquals(fine.get("last-report")?.verdict, "ok", JSON.stringify(fine.get("last-report")));
      match(fine.get("last-report")?.said ?? "", /^the last report \(\S+\) ended well$/);
      const where = `${cluster.user}@127\\.0\\.0\\.1:${cluster.port}/${cluster.database}`;
      assertEquals(fine.get("store")?.verdict, "ok", JSON.stringify(fine.get("store")));
      match(fine.get("store")?.said ?? "", new RegExp(`^${where}: logged in; table stats there, this host's newest`));
      // Without the report's --allow-net: Deno's refusal, and the line that runs doctor past it.
      const refused = verdict(denied as StepResult).checks.get("store");
      assertEquals(refused?.verdict, "problem");
      match(refused?.said ?? "", new RegExp(`Deno denied net access to 127\\.0\\.0\\.1:${cluster.port}`));
      match(refused?.fix ?? "", /the report's line needs it too/);

      assertEquals(reportDown?.code, 75, reportDown?.stderr);
      const failed = verdict(down as StepResult);
      assertEquals(failed.checks.get("last-report")?.verdict, "problem");
      match(
        failed.checks.get("last-report")?.said ?? "",
        /^the last report \(\S+\) failed with exit 75: .*unavailable/,
      );
      match(failed.checks.get("last-report")?.fix ?? "", /the next report tries again/);
      assertEquals(failed.checks.get("store")?.verdict, "problem");
      match(failed.checks.get("store")?.said ?? "", /PostgreSQL store .*:9\/\S+: unavailable/);
      match(failed.checks.get("store")?.fix ?? "", /start the server/);

      for (const step of [empty, again]) {
        const store = verdict(step as StepResult).checks.get("store");
        assertEquals(store?.verdict, "problem", JSON.stringify(store));
        match(store?.said ?? "", /\/empty: logged in, but there is no table stats although the log has samples/);
      }
      const login = verdict(wrong as StepResult).checks.get("store");
      assertEquals(login?.verdict, "problem", JSON.stringify(login));
      match(login?.said ?? "", /login refused/);
      match(login?.fix ?? "", /\/etc\/netmon\/db\.password/);
      doesNotMatch(JSON.stringify(r), /not-the-password/);
    }, "misc2"),
);

netnsTest(
  "doctor: read-only and tmpfs state directories, a corrupt log, a corrupt last file",
  () =>
    withPair(async (p) => {
      const r = await sandbox([
        ...healthy(),
        { run: ["mount", "--bind", "/var/lib/netmon", "/var/lib/netmon"] },
        { run: ["mount", "-o", "remount,bind,ro", "/var/lib/netmon"] },
        DOCTOR,
        { run: ["umount", "/var/lib/netmon"] },
        { write: LOG, text: "2026/11/21-10:00:00\tnot-a-number\t5\n", append: true },
        DOCTOR,
        { write: LOG, text: "" },
        { write: "/var/lib/netmon/netmon.last", text: "garbage\n" },
        DOCTOR,
        { run: ["mount", "-t", "tmpfs", "tmpfs", "/var/lib/netmon"] },
        DOCTOR,
      ], p.a);
      expect(verdict(r[3] as StepResult), { "state-dir": /\/var\/lib\/netmon is on a read-only file system/ }, {
        "state-dir": /remount it read-write/,
      });
      expect(verdict(r[4] as StepResult), { log: /netmon\.log:3/ }, { log: /correct or delete that line/ });
      expect(verdict(r[5] as StepResult), { log: /netmon\.last/ }, { log: /delete \/var\/lib\/netmon\/netmon\.last/ });
      expect(verdict(r[6] as StepResult), { "state-dir": /on tmpfs: the log and the last file vanish at reboot/ });
    }),
);

netnsTest("doctor: no schedule, a timer not enabled, enabled, and a stale last sample", () =>
  withPair(async (p) => {
    const base = healthy().filter((s) => !("run" in s && s.run.includes("--cron")));
    const r = await sandbox([
      ...base,
      DOCTOR,
      SCHEDULE("--systemd"),
      DOCTOR,
      { symlink: "/etc/systemd/system/timers.target.wants/netmon.timer", target: "/etc/systemd/system/netmon.timer" },
      // Both timers enabled, as the README says: the graph's unit is not a second report.
      {
        symlink: "/etc/systemd/system/timers.target.wants/netmon-graph.timer",
        target: "/etc/systemd/system/netmon-graph.timer",
      },
      { run: ["test", "-f", "/etc/systemd/system/netmon-graph.service"] },
      DOCTOR,
      // The start at boot, enabled as systemctl enables it.
      {
        symlink: "/etc/systemd/system/multi-user.target.wants/netmon-start.service",
        target: "/etc/systemd/system/netmon-start.service",
      },
      DOCTOR,
      // A crontab line that is commented out, and one for another command, do not count.
      { remove: "/etc/systemd/system/timers.target.wants/netmon.timer" },
      { write: "/etc/crontab", text: "#*/5 * * * * root /usr/local/bin/netmon report\n0 3 * * * root netmon start\n" },
      DOCTOR,
      { write: "/var/spool/cron/crontabs/root", text: "*/5 * * * * cd /opt/netmon && deno task -q report\n" },
      { write: LOG, text: "2020/01/01-00:00:00\t1\t2\n" },
      { write: "/var/lib/netmon/netmon.last", text: "2020/01/01-00:00:00\t1\t2\t2020/01/01-00:00:00\n" },
      DOCTOR,
    ], p.a);
    // The fix names the command as it runs from netmon's sources (schedule runs from nowhere else).
    expect(verdict(r[3] as StepResult), { schedule: /nothing runs 'netmon report' on a schedule/ }, {
      schedule: /^run 'deno task netmon schedule --cron' \(or --systemd\)/,
    });
    expect(verdict(r[4] as StepResult), { schedule: /netmon\.timer runs the report but is not enabled/ }, {
      schedule: /systemctl enable --now netmon\.timer/,
    });
    // The timers without the start at boot: after a reboot, every report would fail.
    expect(verdict(r[5] as StepResult), {
      schedule: /^netmon-start\.service runs 'netmon start' at boot but is not enabled$/,
    }, { schedule: /^systemctl enable netmon-start\.service$/ });
    const enabled = verdict(r[6] as StepResult);
    expect(enabled, {});
    assertEquals(
      enabled.checks.get("schedule")?.said,
      "the report runs from systemd netmon.timer (enabled); the nightly graph from systemd netmon-graph.timer " +
        "(enabled); the rules put back at boot from systemd netmon-start.service (enabled)",
    );
    expect(verdict(r[7] as StepResult), { schedule: /^netmon\.timer runs the report but is not enabled$/ });
    expect(verdict(r[8] as StepResult), {
      schedule: /cron \/var\/spool\/cron\/crontabs\/root:1 should run the report, but the last sample is \d+ hours old/,
    });
  }));

netnsTest(
  "doctor: the nightly graph's cron line and timer are checked as the report's: permissions, program, enabled",
  () =>
    withPair(async (p) => {
      const wants = "/etc/systemd/system/timers.target.wants";
      const r = await sandbox([
        ...healthy(),
        DOCTOR,
        // The graph line 'schedule --cron' wrote, without gnuplot: it could not draw the picture.
        { run: ["sed", "-i", "/graph\\.ts /s#,/usr/bin/gnuplot##", "/etc/cron.d/netmon"] },
        DOCTOR,
        // examples/netmon.cron's compiled graph, not installed (its report line as it runs from the sources).
        {
          write: "/etc/cron.d/netmon",
          text: (await Deno.readTextFile(`${ROOT}examples/netmon.cron`)).replace(
            "/usr/local/bin/netmon report",
            `${Deno.execPath()} run -q --frozen --config ${ROOT}deno.json -P=netmon ${ROOT}netmon.ts report`,
          ),
        },
        DOCTOR,
        { remove: "/etc/cron.d/netmon" },
        // systemd: the report's timer enabled (and the start at boot), the graph's not; then both.
        SCHEDULE("--systemd"),
        {
          symlink: "/etc/systemd/system/multi-user.target.wants/netmon-start.service",
          target: "/etc/systemd/system/netmon-start.service",
        },
        { symlink: `${wants}/netmon.timer`, target: "/etc/systemd/system/netmon.timer" },
        DOCTOR,
        { symlink: `${wants}/netmon-graph.timer`, target: "/etc/systemd/system/netmon-graph.timer" },
        DOCTOR,
      ], p.a);
      const ok1 = verdict(r[3] as StepResult);
      expect(ok1, {});
      assertEquals(
        ok1.checks.get("schedule")?.said,
        "the report runs from cron /etc/cron.d/netmon:8; the nightly graph from cron /etc/cron.d/netmon:9; the rules " +
          "put back at boot from cron /etc/cron.d/netmon:12",
      );
      expect(verdict(r[4] as StepResult), {
        schedule: new RegExp(
          "^cron /etc/cron\\.d/netmon:9 draws the nightly graph without --allow-run=/usr/bin/gnuplot \\(drawing " +
            "the picture\\): Deno refuses it every night$",
        ),
      }, { schedule: /^run 'deno task netmon schedule --cron' \(or --systemd\)/ });
      expect(verdict(r[5] as StepResult), {
        schedule:
          /^cron \/etc\/cron\.d\/netmon:10 runs \/usr\/local\/bin\/netmon-graph, which does not exist: the graph is never drawn$/,
      }, {
        schedule:
          /^install it \(deno task compile && install -m 0755 dist\/netmon-graph \/usr\/local\/bin\/netmon-graph\)/,
      });
      expect(verdict(r[6] as StepResult), {
        schedule: /^netmon-graph\.timer draws the nightly graph but is not enabled$/,
      }, {
        schedule: /^systemctl enable --now netmon-graph\.timer$/,
      });
      const both = verdict(r[7] as StepResult);
      expect(both, {});
      assertEquals(
        both.checks.get("schedule")?.said,
        "the report runs from systemd netmon.timer (enabled); the nightly graph from systemd netmon-graph.timer " +
          "(enabled); the rules put back at boot from systemd netmon-start.service (enabled)",
      );
    }),
);

netnsTest(
  "doctor: a cron line still running network_monitor.py, or its graph on another log, is a problem naming the line",
  () =>
    withPair(async (p) => {
      // Where netmon-admin lets doctor read: a link's target elsewhere is not read (as before).
      const OLD = "/etc/netmon/old";
      const r = await sandbox([
        ...healthy(),
        DOCTOR,
        { write: "/etc/crontab", text: "SHELL=/bin/sh\n*/5 * * * * root /usr/local/bin/network_monitor.py report\n" },
        DOCTOR,
        { write: "/etc/crontab", text: "SHELL=/bin/sh\n" },
        {
          write: "/var/spool/cron/crontabs/root",
          text: "@reboot python /usr/local/bin/network_monitor.py start\n" +
            "0 0 * * * cd /usr/local/bin && ./netmon_graph.py netmon.log\n",
        },
        DOCTOR,
        // The graph script on netmon's own log is what the README allows.
        { write: "/var/spool/cron/crontabs/root", text: `0 0 * * * /usr/local/bin/netmon_graph.py ${LOG}\n` },
        DOCTOR,
        // cron follows a link in /etc/cron.d that root owns, not one another user owns, and none in the spool.
        { write: `${OLD}/system.cron`, text: "*/5 * * * * root /usr/local/bin/network_monitor.py\n" },
        { write: `${OLD}/user.cron`, text: "*/5 * * * * /usr/local/bin/network_monitor.py report\n" },
        { symlink: "/etc/cron.d/original", target: `${OLD}/system.cron` },
        DOCTOR,
        { run: ["chown", "-h", "nobody", "/etc/cron.d/original"] },
        DOCTOR,
        { remove: "/etc/cron.d/original" },
        { remove: "/var/spool/cron/crontabs/root" },
        { symlink: "/var/spool/cron/crontabs/root", target: `${OLD}/user.cron` },
        DOCTOR,
      ], p.a);
      const none = verdict(r[3] as StepResult);
      expect(none, {});
      assertEquals(none.checks.get("original")?.said, "no cron line runs network_monitor.py or netmon_graph.py");
      expect(verdict(r[4] as StepResult), {
        original:
          /^cron \/etc\/crontab:2 still runs network_monitor\.py report, the 2010 script netmon replaces: it keeps writing its own netmon\.log and netmon\.last, so two meters count into two logs$/,
      }, { original: /^delete line 2 of \/etc\/crontab$/ });
      const two = verdict(r[5] as StepResult);
      expect(two, {
        original: new RegExp(
          "^cron /var/spool/cron/crontabs/root:1 still runs network_monitor\\.py start, .*: it puts its own two " +
            "rules back beside netmon's; cron /var/spool/cron/crontabs/root:2 runs netmon_graph\\.py on " +
            "/usr/local/bin/netmon\\.log, not on netmon's log /var/lib/netmon/netmon\\.log",
        ),
      });
      assertEquals(
        two.checks.get("original")?.fix,
        "delete line 1 of root's crontab ('crontab -u root -e'); make line 2 of root's crontab ('crontab -u root -e') " +
          "read /var/lib/netmon/netmon.log, or delete it ('netmon schedule --cron' writes netmon's own nightly graph line)",
      );
      const graph = verdict(r[6] as StepResult);
      expect(graph, {});
      assertEquals(
        graph.checks.get("original")?.said,
        "cron /var/spool/cron/crontabs/root:1 runs netmon_graph.py on netmon's log; no cron line runs network_monitor.py",
      );
      expect(verdict(r[7] as StepResult), {
        original: /^cron \/etc\/cron\.d\/original:1 still runs network_monitor\.py, the 2010 script/,
      }, { original: /^delete line 1 of \/etc\/cron\.d\/original$/ });
      expect(verdict(r[8] as StepResult), {});
      expect(verdict(r[9] as StepResult), {});
    }),
);

netnsTest(
  "doctor -c FILE -s DIR: the fixes' commands name that config and state directory",
  () =>
    withPair(async (p) => {
      const config = "/etc/netmon/lab.toml";
      const state = "/var/lib/netmon/lab";
      const r = await sandbox([
        { write: config, text: ORIGINAL_DOC_CONFIG },
        { netmon: ["report", "-c", config, "-s", state], set: "netmon" },
        { netmon: ["doctor", "--json", "-c", config, "-s", state] },
      ], p.a);
      const v = verdict(r[1] as StepResult);
      const on = ` -c ${config} -s ${state}'`;
      match(
        v.checks.get("rules")?.fix ?? "",
        new RegExp(`^run 'deno task netmon start${on}`),
        JSON.stringify(v.checks.get("rules")),
      );
      match(
        v.checks.get("schedule")?.fix ?? "",
        new RegExp(`^run 'deno task netmon schedule --cron${on}`),
        JSON.stringify(v.checks.get("schedule")),
      );
    }),
);

netnsTest(
  "doctor: a schedule running a missing program, another config or state directory, another command, too few permissions",
  () =>
    withPair(async (p) => {
      const deno = `${Deno.execPath()} run -q --frozen --config ${ROOT}deno.json`;
      const cron = (command: string): SandboxStep[] => [
        { write: "/etc/cron.d/netmon", text: `PATH=/usr/sbin:/usr/bin:/sbin:/bin\n*/5 * * * * root ${command}\n` },
        DOCTOR,
      ];
      const r = await sandbox([
        ...healthy(),
        ...cron("/usr/local/bin/netmon report >/dev/null"),
        ...cron(`${deno} -P=netmon ${ROOT}netmon.ts report -c /etc/netmon/other.toml`),
        ...cron(`NETMON_CONFIG=${CONFIG} ${deno} -P=netmon ${ROOT}netmon.ts -s /srv/netmon`),
        ...cron("/usr/local/bin/netmon pf-conf"),
        ...cron(`${deno} -P=netmon --allow-run=/usr/sbin/nft ${ROOT}netmon.ts report -c ${CONFIG} -s /var/lib/netmon`),
        ...cron(`cd ${ROOT} && deno task -q report 2>&1 | logger -t netmon`),
        // With a start at boot: for another config, with too few permissions, then as netmon-admin runs it.
        ...cron(
          `cd ${ROOT} && deno task -q report\n@reboot root ${deno} -P=netmon-admin ${ROOT}netmon.ts start -c /x.toml`,
        ),
        ...cron(`cd ${ROOT} && deno task -q report\n@reboot root ${deno} -P=netmon ${ROOT}netmon.ts start`),
        ...cron(`cd ${ROOT} && deno task -q report\n@reboot root cd ${ROOT} && deno task -q netmon start >/dev/null`),
        // A start at boot running a compiled netmon that is not there (removed): as a report's line would be.
        ...cron(`cd ${ROOT} && deno task -q report\n@reboot root /usr/local/bin/netmon start -c ${CONFIG}`),
      ], p.a);
      const fix = { schedule: /netmon schedule --cron/ };
      expect(verdict(r[3] as StepResult), {
        schedule: /^cron \/etc\/cron\.d\/netmon:2 runs \/usr\/local\/bin\/netmon, which does not exist/,
      }, { schedule: /install it/ });
      const others =
        `^nothing runs the report of ${CONFIG} with state directory /var/lib/netmon: cron /etc/cron\\.d/netmon:2 runs`;
      expect(
        verdict(r[4] as StepResult),
        { schedule: new RegExp(`${others} the report of /etc/netmon/other\\.toml$`) },
        fix,
      );
      expect(verdict(r[5] as StepResult), {
        schedule: new RegExp(`${others} the report with state directory /srv/netmon$`),
      }, fix);
      expect(verdict(r[6] as StepResult), { schedule: new RegExp(`${others} netmon pf-conf$`) }, fix);
      expect(verdict(r[7] as StepResult), {
        schedule:
          /^cron \/etc\/cron\.d\/netmon:2 runs the report without .*--allow-run=\/usr\/sbin\/iptables-save \(reading the iptables IPv4 counters\)/,
      }, fix);
      // deno task report, found through the cron PATH, with deno.json's permission set, but nothing puts the rules
      // back at boot.
      const boot = {
        schedule: /^nothing runs this config's 'netmon start' at boot: a reboot takes the rules away, and every report/,
      };
      expect(verdict(r[8] as StepResult), boot, fix);
      // A start from the firewall's own boot script (the old advice) cannot be seen: the fix says so.
      expect(verdict(r[8] as StepResult), boot, {
        schedule: /writes an @reboot line .*'netmon start' in the firewall's own boot script is invisible to doctor/,
      });
      expect(verdict(r[9] as StepResult), boot, fix);
      expect(verdict(r[10] as StepResult), {
        schedule: new RegExp(
          "^cron /etc/cron\\.d/netmon:3 runs 'netmon start' at boot without --allow-run=/usr/sbin/iptables-restore " +
            "\\(installing the iptables IPv4 rules\\): Deno refuses it at every boot$",
        ),
      }, fix);
      // All well.
      const well = verdict(r[11] as StepResult);
      expect(well, {});
      match(
        well.checks.get("schedule")?.said ?? "",
        /; the rules put back at boot from cron \/etc\/cron\.d\/netmon:3( |$)/,
      );
      expect(verdict(r[12] as StepResult), {
        schedule: new RegExp(
          "^cron /etc/cron\\.d/netmon:3 runs /usr/local/bin/netmon, which does not exist: the rules are not put " +
            "back at boot$",
        ),
      }, { schedule: /^install it \(deno task compile && install -m 0755 dist\/netmon \/usr\/local\/bin\/netmon\)/ });
    }),
);

netnsTest(
  "doctor: a missing program's install line quotes the path, and is not offered for another user's crontab",
  () =>
    withPair(async (p) => {
      // A path whose words sh would run, as another user may write into their own crontab (where doctor may look).
      const evil = "/usr/local/bin/$(id>/tmp/x)";
      const on = `-c ${CONFIG} -s /var/lib/netmon`;
      const graphLine = (program: string) => `'${program}/netmon-graph' ${on} -o /var/lib/netmon/usage.dat`;
      const reportLine = (program: string) => `'${program}/netmon' report ${on}`;
      const r = await sandbox([
        ...healthy(),
        { write: "/var/spool/cron/crontabs/bob", text: `0 0 * * * ${graphLine(evil)}\n` },
        DOCTOR,
        { write: "/var/spool/cron/crontabs/bob", text: `*/5 * * * * ${reportLine(evil)}\n` },
        DOCTOR,
        { remove: "/var/spool/cron/crontabs/bob" },
        // Root's own table, a path with a space and the same words in it: printed as one word for sh.
        { write: "/etc/cron.d/more", text: `0 0 * * * root ${graphLine("/usr/local/bin/net mon/$(id)")}\n` },
        DOCTOR,
        { write: "/etc/cron.d/more", text: `*/5 * * * * root ${reportLine("/usr/local/bin/net mon/$(id)")}\n` },
        DOCTOR,
        // Where doctor may not look: the flag it names is one word too.
        { write: "/etc/cron.d/more", text: `0 0 * * * root ${graphLine("/opt/net mon/$(id)")}\n` },
        DOCTOR,
      ], p.a);
      const schedule = (i: number) => verdict(r[i] as StepResult).checks.get("schedule") as Finding;
      const fixFor = `run 'deno task netmon schedule --cron' (or --systemd): it writes the line with exactly the ` +
        "permissions this config needs";
      for (const [i, what] of [[3, "netmon-graph"], [4, "netmon"]] as const) {
        const bob = schedule(i);
        assertEquals(bob.verdict, "problem", JSON.stringify(bob));
        ok(bob.said.startsWith(`cron /var/spool/cron/crontabs/bob:1 runs ${evil}/${what}, which does not exist`));
        // bob's line runs as bob: root installing root's binary where bob says fixes nothing, and is bob's choice.
        assertEquals(bob.fix, fixFor);
      }
      for (const [i, what] of [[5, "netmon-graph"], [6, "netmon"]] as const) {
        const root = schedule(i);
        assertEquals(root.verdict, "problem", JSON.stringify(root));
        assertEquals(
          root.fix,
          `install it (deno task compile && install -m 0755 dist/${what} '/usr/local/bin/net mon/$(id)/${what}'), ` +
            `or ${fixFor}`,
        );
      }
      const unseen = schedule(7);
      assertEquals(unseen.verdict, "ok", JSON.stringify(unseen));
      ok(unseen.said.includes(`run it with '--allow-read=/opt/net mon/$(id)/netmon-graph')`), unseen.said);
    }),
);

netnsTest("doctor: a log it may not read says so, and does not advise deleting a line", () =>
  withPair(async (p) => {
    const r = await sandbox([
      ...healthy(),
      {
        netmon: ["doctor", "--json"],
        permissions: [`--allow-read=/etc/netmon,/run/xtables.lock,/etc/cron.d,/var/lib/netmon/netmon.last,/usr/bin`],
      },
    ], p.a);
    const v = verdict(r[3] as StepResult);
    const log = v.checks.get("log");
    assertEquals(log?.verdict, "problem", JSON.stringify(log));
    match(log?.said ?? "", /Deno denied read access to \/var\/lib\/netmon\/netmon\.log/);
    match(log?.fix ?? "", /^nothing is wrong with the file: doctor may not read it/);
  }));

netnsTest(
  "doctor: a config that does not load is one problem; the other checks say why they did not run",
  () =>
    withPair(async (p) => {
      const r = await sandbox([{
        write: CONFIG,
        text: 'source = "iptables"\n[[meter]]\nname = "x"\nfrom = "300.1.1.1"\n',
      }, DOCTOR], p.a);
      const v = verdict(r[0] as StepResult);
      assertEquals([v.code, v.ok], [1, false]);
      assertEquals(v.checks.get("config")?.verdict, "problem");
      match(v.checks.get("config")?.said ?? "", /netmon\.toml.*300\.1\.1\.1/);
      for (const [name, c] of v.checks) if (name !== "config") assertEquals(c.verdict, "skipped", name);
    }),
);

netnsTest("doctor: mail server reachable, down, reports waiting in the spool, and one refused for good", async () => {
  const server = await startSmtp({ tls: "none" });
  const dead = deadPort();
  try {
    const mail = (port: number) =>
      `source = "interface"\n[mail]\nto = ["ops@example.net"]\nfrom = "netmon@example.net"\nserver = "127.0.0.1"\n` +
      `port = ${port}\nsecurity = "none"\ntimeout = 5\n`;
    const net = (port: number) => ({ netmon: ["doctor", "--json"], permissions: [`--allow-net=127.0.0.1:${port}`] });
    const r = await sandbox([
      { write: CONFIG, text: mail(server.port) },
      SCHEDULE("--cron"),
      net(server.port),
      { write: CONFIG, text: mail(dead) },
      SCHEDULE("--cron"),
      net(dead),
      { write: CONFIG, text: mail(server.port) },
      SCHEDULE("--cron"),
      { write: "/var/lib/netmon/spool/20261121100000000-abcd.json", text: "{}\n" },
      net(server.port),
      { remove: "/var/lib/netmon/spool/20261121100000000-abcd.json" },
      { write: "/var/lib/netmon/spool/20261121100500000-ef01.refused", text: "{}\n" },
      net(server.port),
      // doctor itself without the server's --allow-net: the flag is named, not the server settings.
      { netmon: ["doctor", "--json"] },
      // The installed line without it: the schedule check names the missing flag.
      { remove: "/var/lib/netmon/spool/20261121100500000-ef01.refused" },
      { run: ["sed", "-i", "s/ --allow-net=[^ ]*//", "/etc/cron.d/netmon"] },
      net(server.port),
    ]);
    const noNet = verdict(r[4] as StepResult).checks.get("mail");
    assertEquals(noNet?.verdict, "problem");
    match(noNet?.said ?? "", /Deno denied net access to 127\.0\.0\.1:\d+/);
    match(
      noNet?.fix ?? "",
      new RegExp(
        `^give the report's line --allow-net=127\\.0\\.0\\.1:${server.port} too \\('deno task netmon schedule' prints ` +
          `it whole\\); for this doctor, run it as: deno run -q --frozen (--config \\S+ )?-P=netmon-admin ` +
          `--allow-net=127\\.0\\.0\\.1:${server.port} \\S*netmon\\.ts doctor --json$`,
      ),
    );
    expect(verdict(r[5] as StepResult), {
      schedule: new RegExp(
        `^cron /etc/cron\\.d/netmon:8 runs the report without --allow-net=127\\.0\\.0\\.1:${server.port} \\(the mail server\\)`,
      ),
    }, { schedule: /netmon schedule --cron/ });
    const up = verdict(r[0] as StepResult);
    expect(up, {});
    match(up.checks.get("mail")?.said ?? "", new RegExp(`127\\.0\\.0\\.1:${server.port} answered without TLS`));
    assertEquals(server.messages.length, 0, "doctor sends no mail");
    expect(verdict(r[1] as StepResult), { mail: /could not connect/ }, { mail: /mail\.server/ });
    expect(verdict(r[2] as StepResult), { mail: /1 mail waits in the spool/ });
    expect(
      verdict(r[3] as StepResult),
      { mail: /refused 1 mail for good: \/var\/lib\/netmon\/spool\/20261121100500000-ef01\.refused$/ },
      { mail: /never resends them/ },
    );
  } finally {
    await server.close();
  }
});

netnsTest(
  "doctor: the fix for a permission it lacks (the mail server, the textfile's directory) is a whole line that runs " +
    "it past the refusal, with the user's own -c and -s",
  async () => {
    const server = await startSmtp({ tls: "none" });
    try {
      const config = "/var/walk/netmon.toml";
      const state = "/var/walk/state";
      const setup: SandboxStep[] = [
        {
          write: config,
          text: `source = "interface"\n[mail]\nto = ["ops@example.net"]\nfrom = "netmon@example.net"\n` +
            `server = "127.0.0.1"\nport = ${server.port}\nsecurity = "none"\ntimeout = 5\n` +
            `[prometheus]\ntextfile = "/var/walk/prom/netmon.prom"\n`,
        },
        { run: ["mkdir", "-p", state, "/var/walk/prom"] },
      ];
      // The config and state directory elsewhere than the set reads: allowed as a refusal's line allows them.
      const read = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).permissions["netmon-admin"].read;
      const args = ["doctor", "--json", "-c", config, "-s", state];
      const [first] = await sandbox([...setup, {
        netmon: args,
        permissions: [`--allow-read=${[...read, config, state].join(",")}`],
      }]);
      const v = verdict(first as StepResult);
      const lines = new Map<string, string>();
      for (const check of ["mail", "textfile"]) {
        const c = v.checks.get(check);
        assertEquals(c?.verdict, "problem", JSON.stringify(c));
        match(c?.said ?? "", /^Deno denied (net|read) access to /);
        const line = /; for this doctor, run it as: (deno run .*)$/.exec(c?.fix ?? "")?.[1];
        ok(line?.endsWith(` netmon.ts ${args.join(" ")}`), `${check}: ${c?.fix}`);
        lines.set(check, line as string);
      }
      match(
        v.checks.get("mail")?.fix ?? "",
        new RegExp(`^give the report's line --allow-net=127\\.0\\.0\\.1:${server.port} too`),
      );
      match(
        v.checks.get("mail")?.fix ?? "",
        /\('deno task netmon schedule -c \/var\/walk\/netmon\.toml -s \/var\/walk\/state'/,
      );
      match(
        v.checks.get("textfile")?.fix ?? "",
        /^the report needs \/var\/walk\/prom in its --allow-read and --allow-write/,
      );
      // Each line, run as written, gets doctor past its refusal: the config still read, the check done.
      const dir = Deno.env.get("DENO_DIR");
      const sh = (line: string): SandboxStep => ({
        run: ["env", ...(dir ? [`DENO_DIR=${dir}`] : []), "sh", "-c", line],
        keep: true,
      });
      const [mail, textfile] = await sandbox([
        ...setup,
        sh(lines.get("mail") as string),
        sh(lines.get("textfile") as string),
      ]);
      const m = verdict(mail as StepResult);
      assertEquals(m.checks.get("config")?.verdict, "ok", JSON.stringify(m.checks.get("config")));
      match(m.checks.get("mail")?.said ?? "", new RegExp(`127\\.0\\.0\\.1:${server.port} answered without TLS`));
      const t = verdict(textfile as StepResult);
      assertEquals(t.checks.get("config")?.verdict, "ok", JSON.stringify(t.checks.get("config")));
      match(t.checks.get("textfile")?.said ?? "", /not written yet: the first report writes it/);
    } finally {
      await server.close();
    }
  },
);

netnsTest("doctor: mail.user without a password, and a server that does not offer AUTH, are problems", async () => {
  const server = await startSmtp({ tls: "none", offerAuth: false });
  try {
    const net = [`--allow-net=127.0.0.1:${server.port}`];
    const r = await sandbox([
      {
        write: CONFIG,
        text: `source = "interface"\n[mail]\nto = ["ops@example.net"]\nfrom = "netmon@example.net"\n` +
          `server = "127.0.0.1"\nport = ${server.port}\nsecurity = "none"\ntimeout = 5\nuser = "netmon"\n`,
      },
      SCHEDULE("--cron"),
      { netmon: ["doctor", "--json"], permissions: net },
      { netmon: ["doctor", "--json"], permissions: net, env: { NETMON_SMTP_PASSWORD: "s3cret" } },
    ]);
    expect(verdict(r[0] as StepResult), { mail: /^mail\.user "netmon" needs a password and none is given: / }, {
      mail: /doctor sees its own environment, not the report's: if the report's cron line or unit sets NETMON_SMTP_/,
    });
    expect(verdict(r[1] as StepResult), {
      mail: /failed: the server does not offer AUTH, so the login as netmon that mail\.user asks for cannot be made/,
    });
    assertEquals(server.messages.length, 0, "doctor sends no mail");
  } finally {
    await server.close();
  }
});

netnsTest(
  "doctor without CAP_NET_ADMIN: the rules check says it needs root, and the rest still run",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, ORIGINAL_DOC_CONFIG);
        const r = await netmon(["doctor", "--json", "-c", config, "-s", dir], {
          ns: p.a,
          permissions: [
            `${RUN_ALLOW},/usr/sbin/iptables-legacy-save,/usr/sbin/iptables-nft-save`,
            `--allow-read=${dir},/run/xtables.lock`,
            `--allow-write=${dir}`,
            "--allow-env",
            "--allow-sys=uid,statfs",
          ],
          wrap: ["setpriv", "--bounding-set=-net_admin,-net_raw", "--inh-caps=-all"],
        });
        const v = verdict(r);
        assertEquals([v.code, v.ok], [1, false]);
        const rules = v.checks.get("rules");
        assertEquals(rules?.verdict, "problem", JSON.stringify(rules));
        match(rules?.said ?? "", /cannot read the firewall: iptables-save needs root or CAP_NET_ADMIN/);
        match(rules?.fix ?? "", /as root/);
        // The fresh namespace has no legacy tables, so listing them needs no capability: backend is ok.
        for (const name of ["config", "binaries", "backend", "xtables-lock", "state-dir", "log"]) {
          assertEquals(v.checks.get(name)?.verdict, "ok", `${name}: ${JSON.stringify(v.checks.get(name))}`);
        }
      })
    ),
);

Deno.test("doctor: a damaged log line says what it stops, as report, summary and the pages do", () =>
  withTempDir(async (dir) => {
    // A real state from the interface source (the host's counters, read only), no config: nothing else is read.
    const report = () => netmon(["report", "--state-dir", dir], { dirs: [dir], env: { NETMON_CONFIG: "" } });
    for (let i = 0; i < 4; i++) assertEquals((await report()).code, 0);
    const files = stateFiles(dir);
    const damage = (n: number) => {
      const lines = Deno.readTextFileSync(files.log).split("\n");
      lines[n - 1] = (lines[n - 1] as string).replace(/\t(\d+)$/, "\tX$1");
      Deno.writeTextFileSync(files.log, lines.join("\n"));
    };
    const said = async () => {
      const f = (await checkLog(files)).findings[0] as Finding;
      return `${f.verdict} ${f.said} fix: ${f.fix}`;
    };
    // Line 3 of 5 (a header, four samples): the report appends past it, the summary skips it.
    damage(3);
    const before = Deno.readTextFileSync(files.log).split("\n").length;
    assertEquals((await report()).code, 0);
    assertEquals(Deno.readTextFileSync(files.log).split("\n").length, before + 1, "report appended");
    const summary = await netmon(["summary", "--state-dir", dir], { dirs: [dir], env: { NETMON_CONFIG: "" } });
    assertEquals(summary.code, 0);
    match(summary.stderr, /netmon\.log:3: .*line skipped/);
    const middle = await said();
    match(middle, /^problem .*netmon\.log:3: .* is not a whole number/);
    match(middle, /report still appends .*summary, graph and the pages skip that line/);
    doesNotMatch(middle, /will not append/);
    // The last line: the report stops there, and doctor says so.
    damage(6);
    assertEquals((await report()).code, 65);
    match(await said(), /netmon\.log:3: .*fix: .*: report fails on it/);
  }));

Deno.test("doctor: checkLog's fix names the -c/-s it is given, not those of the last diagnose", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    // A log of another user's: refused (not read), and the fix is to run doctor as the report runs.
    await Deno.writeTextFile(files.log, "2026/11/21-10:00:00\t1\t2\n");
    await Deno.chown(files.log, 65534, 65534);
    await diagnose({
      config: new NetmonError("bad config", EX.CONFIG),
      given: { config: "/srv/rvperm-one.toml" },
      run: runCommand,
      now: new Date(),
    });
    const alone = (await checkLog(files)).findings[0] as Finding;
    assertEquals(alone.verdict, "problem", alone.said);
    ok(alone.fix?.includes(`'${netmonCommand("doctor")}' as root`), alone.fix);
    const given = { config: "/srv/rvperm-two.toml", stateDir: dir };
    const named = (await checkLog(files, given)).findings[0] as Finding;
    ok(named.fix?.includes(`'${netmonCommand("doctor", given)}' as root`), named.fix);
  }));

Deno.test("doctor: which cron and ExecStart commands run the report", () => {
  for (
    const [command, yes] of [
      ["/usr/local/bin/netmon report >/dev/null", true],
      ["/usr/local/bin/netmon", true],
      ["cd /opt/netmon && deno task -q report", true],
      ["/usr/bin/deno run -q --frozen --config /opt/netmon/deno.json -P=netmon /opt/netmon/netmon.ts report", true],
      ["cd /opt/netmon && deno run -P=netmon-admin netmon.ts status", false],
      ["/usr/local/bin/netmon REPORT -c /etc/netmon/other.toml", true],
      ["/usr/local/bin/netmon start", false],
      ["/usr/local/bin/netmon initialize", false],
      ["/usr/local/bin/netmon pf-conf", false],
      ["/usr/local/bin/netmon completions bash", false],
      ["/usr/local/bin/netmon help", false],
      ["/usr/local/bin/netmon report --help", false],
      ["/usr/local/bin/netmon --mail-test", false],
      ["/usr/local/bin/netmon -s /srv/netmon 2>&1 | logger -t netmon", true],
      ["cd /opt/netmon && deno task netmon status", false],
      ["cd /opt/netmon && deno task netmon report -c /etc/netmon/netmon.toml", true],
      ["/usr/local/bin/netmon doctor", false],
      ["/usr/local/bin/netmon-graph -o /var/lib/netmon/usage.dat", false],
      ["/usr/bin/deno run -P=graph /opt/netmon/graph.ts -o x", false],
      ["/usr/bin/vnstat -u", false],
    ] as const
  ) assertEquals(runsReport(command), yes, command);
});

Deno.test("doctor: which cron and ExecStart commands draw the graph, and where they read and write", () => {
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks;
  const graphOf = (command: string) => {
    const line = parseGraphLine(command, tasks);
    return line && { kind: line.kind, flags: line.denoFlags, opts: line.opts };
  };
  assertEquals(graphOf("/usr/local/bin/netmon-graph -o /var/lib/netmon/usage.dat --plot /var/lib/netmon/usage.png"), {
    kind: "binary",
    flags: [],
    opts: { outputs: ["/var/lib/netmon/usage.dat", "/var/lib/netmon/usage.png"], informational: false },
  });
  assertEquals(graphOf("cd /opt/netmon && deno task graph -c /etc/netmon/a.toml -s /srv/a --html /srv/www -o -"), {
    kind: "deno-task",
    flags: ["-q", "--frozen", "-P=graph", "--v8-flags=--max-semi-space-size=2"],
    opts: { config: "/etc/netmon/a.toml", stateDir: "/srv/a", outputs: [], html: "/srv/www", informational: false },
  });
  // --html with --plot or --gnuplot but no -o: the data goes to the default file too, as graph.ts writes it.
  for (const drawn of ["--plot /srv/www/usage.png", "--gnuplot /srv/www/usage.gp"]) {
    assertEquals(
      (graphOf(`/usr/local/bin/netmon-graph --html /srv/www ${drawn}`)?.opts as { outputs: string[] }).outputs,
      ["netmon_graph.dat", drawn.split(" ")[1]],
      drawn,
    );
  }
  // The original's default output, in the directory cron starts in; a log named; help draws nothing.
  assertEquals(graphOf("/usr/bin/deno run -P=graph /opt/netmon/graph.ts /srv/netmon.log")?.opts, {
    outputs: ["netmon_graph.dat"],
    log: "/srv/netmon.log",
    informational: false,
  });
  assertEquals((graphOf("/usr/local/bin/netmon-graph --help")?.opts as { informational: boolean }).informational, true);
  assertEquals(graphOf("/usr/local/bin/netmon-graph --bogus")?.opts, "unknown option --bogus");
  for (const command of ["/usr/local/bin/netmon report", "cd /opt/netmon && deno task report", "/usr/bin/gnuplot x"]) {
    assertEquals(graphOf(command), undefined, command);
  }
});

Deno.test("doctor: a run line to copy is printed whole, on a line of its own; a fix names the task", () => {
  const line = "deno run -q --frozen -P=netmon-admin --allow-read=/etc/netmon,/var/lib/netmon," +
    "/srv/netmon/netmon.toml netmon.ts -c /srv/netmon/netmon.toml doctor";
  const text = formatFindings([{
    check: "config",
    verdict: "problem",
    said: `Deno denied read access to /srv/netmon/netmon.toml: this run's permissions (the netmon-admin set, and ` +
      `any flags given with it) do not allow it; as a flag beside -P=netmon-admin replaces the set's list of its ` +
      `kind (and 'deno task' passes deno none), each list in this line repeats the set's: run it as: ${line}`,
    fix: "run doctor as the line above says",
  }]);
  ok(text.includes(`run it as:\n${" ".repeat(17)}${line}\n`), text);
  assertEquals(netmonCommand("start"), "deno task netmon start");
  assertEquals(
    netmonCommand("start", { config: "/srv/a b.toml", stateDir: "/srv/s" }),
    "deno task netmon start -c '/srv/a b.toml' -s /srv/s",
  );
});

Deno.test("doctor: backend from the version line, rules from iptables-save output", () => {
  assertEquals(backendOf("iptables v1.8.9 (nf_tables)"), "nf_tables");
  assertEquals(backendOf("iptables v1.8.9 (legacy)"), "legacy");
  assertEquals(backendOf("iptables v1.4.21"), undefined);
  const saved = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n-A INPUT -s 192.0.2.1/32 -j ACCEPT\nCOMMIT\n" +
    "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
  assertEquals(savedRules(saved), { rules: 1, tables: ["filter"], policies: ["filter INPUT DROP"] });
  assertEquals(savedRules("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"), { rules: 0, tables: [], policies: [] });
});

netnsTest(
  "doctor: the Prometheus textfile: written and fresh, unreadable by node_exporter, stale, its directory gone",
  () =>
    withPair(async (p) => {
      const dir = "/var/lib/prometheus/node-exporter";
      const prom = `${dir}/netmon.prom`;
      // The report's set plus the textfile's directory, as the README's permission table says.
      const report: SandboxStep = {
        netmon: ["report"],
        set: "netmon",
        permissions: [`--allow-read=/etc/netmon,/var/lib/netmon,${dir}`, `--allow-write=/var/lib/netmon,${dir}`],
      };
      const config = `${ORIGINAL_DOC_CONFIG}[prometheus]\ntextfile = "${prom}"\n`;
      const r = await sandbox([
        { run: ["mkdir", "-p", dir] },
        { write: CONFIG, text: config },
        DOCTOR, // 0: no sample yet
        { netmon: ["start"] },
        report,
        report,
        SCHEDULE("--cron"),
        DOCTOR, // 4
        { run: ["chmod", "0600", prom] },
        DOCTOR, // 5
        { run: ["chmod", "0644", prom] },
        // A report that cannot write it (its directory not allowed): the log moves on, the file stays behind. A second
        // later: a sample of the same second as the file's would be the log's last sample to the file's time.
        { run: ["sleep", "1.1"] },
        { netmon: ["report"], set: "netmon" },
        DOCTOR, // 7
        // A link in its place (to a FIFO, which a read would block on): said, never followed.
        { run: ["mkfifo", "/var/lib/netmon/fifo"] },
        { run: ["ln", "-sf", "/var/lib/netmon/fifo", prom] },
        DOCTOR, // 8
        { run: ["rm", "-r", dir] },
        DOCTOR, // 9
      ], p.a);
      match(
        verdict(r[0] as StepResult).checks.get("textfile")?.said ?? "",
        /not written yet: the first report writes it/,
      );
      for (const step of r.slice(1, 4)) assertEquals([step.code, step.stderr], [0, ""]);
      const fine = verdict(r[4] as StepResult);
      expect(fine, {});
      match(
        fine.checks.get("textfile")?.said ?? "",
        /is of the log's last sample \(.*Z\) and readable by node_exporter/,
      );
      expect(verdict(r[5] as StepResult), { textfile: /has mode 0600: node_exporter, its own user, cannot read it/ });
      assertEquals((r[6] as StepResult).code, 77, "the report without the textfile's directory");
      expect(verdict(r[7] as StepResult), { textfile: /is of the sample at .*, not the log's last \(.*\)/ }, {
        textfile: /netmon report/,
      });
      expect(verdict(r[8] as StepResult), { textfile: /is a link, not the file the reports write/ });
      expect(verdict(r[9] as StepResult), { textfile: /does not exist: every report fails to write/ }, {
        textfile: /node-exporter/,
      });
    }),
);
