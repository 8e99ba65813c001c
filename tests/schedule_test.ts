/**
 * `netmon schedule`: for every example config, the run line it prints,
 * executed exactly as printed in the test sandbox (a private mount namespace
 * over /etc and /var, inside a network namespace with real iptables and nft,
 * or with a real SMTP server on 127.0.0.1), does its job; the same line with
 * any one of its permissions taken away fails, naming that permission: none
 * is superfluous. pf cannot run here: its line is checked for its shape and
 * each permission for the need it serves. Also --cron, --systemd, --compile,
 * the marker that keeps netmon off files it did not write, and --dry-run.
 *
 * @module
 */

import { deepEqual as assertEquals, doesNotMatch, match, ok } from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import { grantedBy, grants, type Need, permissionFlags, permissionNeeds } from "../lib/config/permissions.ts";
import { MARKER, UNITS as UNIT_NAMES } from "../lib/cli/schedule.ts";
import { netmon, netnsTest, run, withPair, withTempDir } from "./helpers.ts";
import { sandbox, type SandboxStep, type StepResult } from "./sandbox.ts";
import { postgresUnavailable, startPostgresCluster } from "./postgres_cluster.ts";
import { startSmtp } from "./smtp_server.ts";
import { STAT } from "../lib/host/dir_trust.ts";

/** Every unit `schedule --systemd` may write, in /etc/systemd/system. */
const UNIT_PATHS = Object.values(UNIT_NAMES).map((u) => `/etc/systemd/system/${u}`);

const EXAMPLES = new URL("../examples/", import.meta.url).pathname;
const example = (name: string) => Deno.readTextFileSync(`${EXAMPLES}${name}`);
const CONFIG = "/etc/netmon/netmon.toml";

/** The run line from schedule's output: its one line that is not a comment. */
function lineOf(r: StepResult): string {
  assertEquals([r.code, r.stderr], [0, ""], r.stdout);
  const lines = r.stdout.trim().split("\n").filter((l) => !l.startsWith("#"));
  assertEquals(lines.length, 1, r.stdout);
  return lines[0] as string;
}

/** Each permission value in `line`, and the line without it (its flag dropped when it was the flag's only value). */
function withoutEach(line: string): { kind: string; value: string; line: string }[] {
  const words = line.split(" ");
  const out = [];
  for (const [i, w] of words.entries()) {
    const m = /^--allow-(\w+)=(.*)$/.exec(w);
    if (!m) continue;
    const values = (m[2] as string).split(",");
    for (const v of values) {
      const rest = values.filter((x) => x !== v);
      const replaced = [...words];
      if (rest.length > 0) replaced[i] = `--allow-${m[1]}=${rest.join(",")}`;
      else replaced.splice(i, 1);
      out.push({ kind: m[1] as string, value: v, line: replaced.join(" ") });
    }
  }
  return out;
}

/** The values of `key` in a unit file. */
function values(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1] as string);
}

/** Runs `line` through sh in the sandbox, as cron would. */
const sh = (line: string): SandboxStep => ({ run: ["sh", "-c", line], keep: true });

/**
 * In the sandbox: set-up steps, then the line as printed (must do its job), then the line without each of its
 * permissions (each must fail, naming it).
 */
async function checkLine(
  name: string,
  setup: SandboxStep[],
  schedule: SandboxStep,
  ns: string | undefined,
  job: (r: StepResult) => void,
  only: (kind: string, value: string) => boolean = () => true,
): Promise<string> {
  const printed = (await sandbox([...setup, schedule], ns)).at(-1) as StepResult;
  const line = lineOf(printed);
  const removals = withoutEach(line).filter((r) => only(r.kind, r.value));
  ok(removals.length >= 3, `${name}: ${line}`);
  const all = await sandbox([...setup, sh(line), ...removals.map((r) => sh(r.line))], ns);
  const results = all.slice(all.length - removals.length - 1);
  job(results[0] as StepResult);
  removals.forEach((r, i) => {
    const got = results[i + 1] as StepResult;
    const what = `${name} without --allow-${r.kind}=${r.value}`;
    if (r.kind === "run" && r.value === STAT) {
      // The one permission whose absence only warns: the state directory's ownership is not checked, and it says so.
      assertEquals(got.code, 0, `${what}: ${got.stderr}`);
      match(got.stderr, /cannot check whether other users can write .*--allow-run=\/usr\/bin\/stat/, what);
      return;
    }
    ok(got.code !== 0, `${what} should fail: ${got.stdout}`);
    // The one line names the permission: the flag, and the value or a path under it.
    const denied = new RegExp(`--allow-${r.kind}=(\\S*,)?${r.value.replace(/[.[\]]/g, "\\$&")}`);
    match(got.stderr, denied, `${what}: ${got.stderr}`);
  });
  return line;
}

netnsTest(
  "schedule: a config and state directory reached through links are granted where the links lead too",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        // Deno checks a scoped permission on the path a link leads to: a line granting only the link's path fails.
        await Deno.mkdir(`${dir}/real`);
        await Deno.writeTextFile(`${dir}/real/netmon.toml`, 'source = "interface"\n');
        await Deno.symlink(`${dir}/real/netmon.toml`, `${dir}/netmon.toml`);
        await Deno.mkdir(`${dir}/real/state`);
        await Deno.symlink(`${dir}/real/state`, `${dir}/state`);
        const printed = await netmon(["schedule", "-c", `${dir}/netmon.toml`, "-s", `${dir}/state`], { dirs: [dir] });
        const line = lineOf(printed);
        for (let i = 0; i < 2; i++) {
          const r = await run("ip", ["netns", "exec", p.a, "sh", "-c", line]);
          assertEquals(r.code, 0, r.stderr);
          doesNotMatch(r.stderr, /denied/);
        }
        match(line, new RegExp(`--allow-write=${dir}/state,${dir}/real/state `));
        ok(line.endsWith(`report -c ${dir}/netmon.toml -s ${dir}/state`), line);
        assertEquals(
          Deno.readTextFileSync(`${dir}/real/state/netmon.log`).split("\n").filter((l) => /^\d/.test(l)).length,
          2,
        );
      })
    ),
);

netnsTest(
  "schedule: the original iptables setup's line reports as printed, and needs each of its permissions",
  () =>
    withPair(async (p) => {
      const setup: SandboxStep[] = [{ write: CONFIG, text: example("original.toml") }, { netmon: ["start"] }];
      const line = await checkLine("original", setup, { netmon: ["schedule"] }, p.a, (r) => {
        assertEquals([r.code, r.stderr], [0, ""]);
        ok(r.stdout.startsWith("Last Total - Timestamp: "), r.stdout);
      });
      match(line, / --allow-run=\/usr\/bin\/stat,\/usr\/sbin\/iptables-save /);
      ok(!line.includes("ip6tables"), "IPv4 meters only: no ip6tables-save");
      ok(!/--allow-(env|net)/.test(line), "-c and -s are given, nothing is mailed: no environment, no network");
      ok(line.endsWith(`/netmon.ts report -c ${CONFIG} -s /var/lib/netmon`), line);
      ok(line.startsWith(`${Deno.execPath()} run -q --frozen --no-prompt --config `), line);
    }),
);

netnsTest(
  "schedule: the nftables customers' line, and the nightly graph line of the cron file",
  () =>
    withPair(async (p) => {
      const setup: SandboxStep[] = [{ write: CONFIG, text: example("nftables.toml") }, { netmon: ["start"] }];
      await checkLine("nftables", setup, { netmon: ["schedule"] }, p.a, (r) => {
        assertEquals([r.code, r.stderr], [0, ""]);
        match(r.stdout, /^Last Total - Timestamp: .* Customer in: \d+ Customer out: /);
      });
      // The cron file's graph line, run after two reports, draws; without any one permission it fails.
      const cron = (await sandbox([...setup, { netmon: ["schedule", "--cron", "--dry-run"] }], p.a)).at(-1);
      const cronLine = (prefix: string) =>
        (cron?.stdout.split("\n").find((l) => l.startsWith(prefix)) ?? "").replace(/^(\S+\s+){5}root /, "");
      const graphLine = cronLine("10 0 ");
      ok(graphLine.includes("/graph.ts "), cron?.stdout);
      const reportLine = cronLine("*/5 ");
      const removals = withoutEach(graphLine);
      const r = (await sandbox([
        ...setup,
        sh(reportLine),
        sh(reportLine),
        sh(graphLine),
        { run: ["sh", "-c", "head -c 4 /var/lib/netmon/usage.png | tail -c 3"], keep: true },
        ...removals.map((x) => sh(x.line)),
      ], p.a)).slice(1);
      for (const step of r.slice(0, 3)) assertEquals([step.code, step.stderr], [0, ""]);
      assertEquals((r[3] as StepResult).stdout, "PNG", "the picture is a PNG");
      removals.forEach((x, i) => {
        const got = r[i + 4] as StepResult;
        if (x.kind === "run" && x.value === STAT) {
          assertEquals(got.code, 0, `graph without ${STAT}: ${got.stderr}`); // only its warning cannot be given
          return;
        }
        ok(got.code !== 0, `graph without --allow-${x.kind}=${x.value} should fail`);
        match(got.stderr, new RegExp(`--allow-${x.kind}=`), `graph without --allow-${x.kind}=${x.value}`);
      });
    }),
);

/** The command of the cron line starting with `prefix` (its schedule and user taken off) in `cron`'s text. */
function cronCommandOf(cron: string | undefined, prefix: string): string {
  return (cron?.split("\n").find((l) => l.startsWith(prefix)) ?? "")
    .replace(prefix === "@reboot " ? /^\S+\s+root / : /^(\S+\s+){5}root /, "");
}

/**
 * After a reboot (`reboot`: the firewall's rules gone, as at boot) the report fails until the cron file's @reboot
 * line runs 'netmon start'; that line as written puts the rules back (the report after it counts), and without any
 * one of its permissions, after another reboot, it fails naming that permission.
 */
async function checkBootLine(name: string, config: string, reboot: string[], ns: string): Promise<string> {
  const setup: SandboxStep[] = [{ write: CONFIG, text: config }, { netmon: ["start"] }, { netmon: ["report"] }];
  const cron = (await sandbox([...setup, { netmon: ["schedule", "--cron", "--dry-run"] }], ns)).at(-1)?.stdout;
  const start = cronCommandOf(cron, "@reboot ");
  const report = cronCommandOf(cron, "*/5 ");
  ok(start.includes("/netmon.ts start -c ") && start.endsWith(" >/dev/null"), cron);
  const line = start.replace(/ >\/dev\/null$/, "");
  const removals = withoutEach(line);
  ok(removals.length >= 4, `${name}: ${line}`);
  const rebooted = { run: reboot };
  const r = (await sandbox([
    ...setup,
    rebooted,
    sh(report),
    sh(line),
    sh(report),
    ...removals.flatMap((x) => [rebooted, sh(x.line)]),
  ], ns)).slice(2);
  const [before, started, after] = r as StepResult[];
  assertEquals(before?.code, 69, `${name}: the report after a reboot, before start: ${before?.stderr}`);
  assertEquals([started?.code, started?.stderr], [0, ""], `${name}: the @reboot line`);
  assertEquals([after?.code, after?.stderr], [0, ""], `${name}: the report after the @reboot line`);
  removals.forEach((x, i) => {
    const got = r[i + 3] as StepResult;
    const what = `${name}'s start without --allow-${x.kind}=${x.value}`;
    if (x.kind === "run" && x.value === STAT) {
      assertEquals(got.code, 0, `${what}: ${got.stderr}`); // only its warning cannot be given
      match(got.stderr, /cannot check whether other users can write .*--allow-run=\/usr\/bin\/stat/, what);
      return;
    }
    ok(got.code !== 0, `${what} should fail: ${got.stdout}`);
    match(got.stderr, new RegExp(`--allow-${x.kind}=(\\S*,)?${x.value.replace(/[.[\]]/g, "\\$&")}`), what);
  });
  return line;
}

netnsTest(
  "schedule --cron: after a reboot, the @reboot line puts iptables' rules back with exactly start's permissions",
  () =>
    withPair(async (p) => {
      const line = await checkBootLine(
        "original",
        example("original.toml"),
        ["sh", "-c", "iptables -F && iptables -X"],
        p.a,
      );
      match(line, / --allow-run=\/usr\/bin\/stat,\/usr\/sbin\/iptables-save,\/usr\/sbin\/iptables-restore /);
      ok(!line.includes("ip6tables"), "IPv4 meters only: no ip6tables programs");
      match(line, / --allow-read=\/etc\/netmon\/netmon\.toml,\/var\/lib\/netmon --allow-write=\/var\/lib\/netmon /);
      ok(!/--allow-(env|net)|osUptime/.test(line), line);
      ok(line.endsWith(`/netmon.ts start -c ${CONFIG} -s /var/lib/netmon`), line);
    }, "boot"),
);

netnsTest(
  "schedule --cron: after a reboot (nftables.conf's flush ruleset), the @reboot line puts the table back",
  () =>
    withPair(async (p) => {
      const line = await checkBootLine("nftables", example("nftables.toml"), ["nft", "flush", "ruleset"], p.a);
      match(line, / --allow-run=\/usr\/bin\/stat,\/usr\/sbin\/nft --allow-sys=uid /);
    }, "boot"),
);

netnsTest(
  "schedule: the interface default (no config file) reads NETMON_CONFIG and the default's absence",
  () =>
    withPair(async (p) => {
      const line = await checkLine("interface default", [], { netmon: ["schedule"] }, p.a, (r) => {
        assertEquals([r.code, r.stderr], [0, ""]);
        match(r.stdout, new RegExp(`\nNew Total - .* ${p.va}:rx: \\d+ ${p.va}:tx: `));
      });
      ok(!line.includes(" -c "), line);
      match(line, / --allow-read=\/etc\/netmon\/netmon\.toml,\/var\/lib\/netmon /);
      match(line, / --allow-env=NETMON_CONFIG /);
    }),
);

netnsTest("schedule: mail (by address and by host name), a store and a state directory elsewhere", async () => {
  const server = await startSmtp({ tls: "starttls", auth: { user: "netmon", pass: "s3cret" } });
  try {
    const text = (host: string) =>
      example("mail-store.toml").replace('"192.0.2.25"', `"${host}"`).replace("port = 587", `port = ${server.port}`);
    const setup = (host: string): SandboxStep[] => [
      { write: CONFIG, text: text(host) },
      { write: "/etc/netmon/smtp.password", text: "s3cret\n" },
      { write: "/etc/netmon/smtp-ca.pem", text: Deno.readTextFileSync(server.certFile) },
      { run: ["mkdir", "-p", "/var/lib/traffic-db"] },
    ];
    let before = server.messages.length;
    const line = await checkLine("mail by address", setup("127.0.0.1"), { netmon: ["schedule"] }, undefined, (r) => {
      assertEquals([r.code, r.stderr], [0, ""]);
      // Exit 0 means the spool was delivered; later runs may deliver what runs without a permission spooled.
      ok(server.messages.length > before, "the report was mailed");
    });
    match(line, / --allow-net=127\.0\.0\.1:\d+ /);
    match(line, / --allow-write=\/var\/lib\/traffic,\/var\/lib\/traffic-db\/netmon\.sqlite /);
    match(line, / --allow-read=\/etc\/netmon\/netmon\.toml,\/var\/lib\/traffic,.*smtp\.password,.*smtp-ca\.pem /);
    ok(!line.includes("--allow-env"), "the password comes from password_file: no environment");

    // A host name: looked up when the line is made (schedule needs --allow-net=NAME for that) and by the line.
    before = server.messages.length;
    const schedule: SandboxStep = { netmon: ["schedule"], permissions: ["--allow-net=localhost"] };
    const named = await checkLine("mail by name", setup("localhost"), schedule, undefined, (r) => {
      assertEquals([r.code, r.stderr], [0, ""]);
      // Exit 0 means the spool was delivered; later runs may deliver what runs without a permission spooled.
      ok(server.messages.length > before, "the report was mailed");
    });
    match(named, new RegExp(` --allow-net=localhost,127\\.0\\.0\\.1:${server.port}[ ,]`));
    const said = (await sandbox([...setup("localhost"), schedule])).at(-1);
    match(said?.stdout ?? "", /^# mail\.server localhost resolved to 127\.0\.0\.1/m);
    const refused = (await sandbox([...setup("localhost"), { netmon: ["schedule"] }])).at(-1);
    assertEquals(
      [refused?.code, refused?.stderr],
      [77, "netmon: looking up mail.server localhost needs --allow-net=localhost: run schedule with it\n"],
    );
  } finally {
    await server.close();
  }
});

netnsTest("schedule: the Prometheus textfile and the PostgreSQL store, each with exactly its permissions", async () => {
  const why = postgresUnavailable();
  // deno-lint-ignore no-console
  if (why) return console.warn(`skipped: ${why}`);
  await using cluster = await startPostgresCluster();
  const textfile = "/var/lib/prometheus/node-exporter/netmon.prom";
  // No host: the store names this machine by its host name (--allow-sys=hostname).
  const config = `source = "interface"\nstore = "${cluster.url}"\n\n[prometheus]\ntextfile = "${textfile}"\n\n` +
    `[postgresql]\npassword_file = "/etc/netmon/db.password"\n`;
  const setup: SandboxStep[] = [
    { write: CONFIG, text: config },
    { write: "/etc/netmon/db.password", text: `${cluster.password}\n` },
    { run: ["mkdir", "-p", "/var/lib/prometheus/node-exporter"] },
  ];
  // Each permission the textfile and the store add is checked by taking it away (the others are the report's own).
  const fleetOnly = (kind: string, value: string) =>
    value.startsWith("/var/lib/prometheus") || value.startsWith("/etc/netmon/db") || kind === "net" ||
    value === "hostname";
  const line = await checkLine("textfile and store", setup, { netmon: ["schedule"] }, undefined, (r) => {
    assertEquals([r.code, r.stderr], [0, ""]);
    ok(r.stdout.startsWith("Last Total - Timestamp: "), r.stdout);
  }, fleetOnly);
  assertEquals(withoutEach(line).filter((r) => fleetOnly(r.kind, r.value)).length, 5, line);
  match(line, /--allow-read=\/etc\/netmon\/netmon\.toml,\/var\/lib\/netmon,\/var\/lib\/prometheus\/node-exporter,/);
  match(line, / --allow-read=\S*,\/etc\/netmon\/db\.password /);
  match(line, / --allow-write=\/var\/lib\/netmon,\/var\/lib\/prometheus\/node-exporter /);
  match(line, new RegExp(` --allow-net=127\\.0\\.0\\.1:${cluster.port} `));
  doesNotMatch(line, /--allow-env/); // the password is in a file; netmon's PostgreSQL client reads no variable
  match(line, / --allow-sys=uid,hostname,osUptime /);
  // The line as printed stored its samples under this machine's name.
  const stored = await cluster.psql(`SELECT count(DISTINCT stamp) FROM stats WHERE host = '${Deno.hostname()}'`);
  ok(Number(stored) >= 1, `samples stored: ${stored}`);
});

Deno.test("schedule: the pf line (pf cannot run here) has exactly the permissions pf needs, each for a reason", () =>
  withTempDir(async (dir) => {
    const config = `${dir}/pf.toml`;
    await Deno.writeTextFile(config, example("pf-2004.toml"));
    const r = await netmon(["schedule", "-c", config, "-s", `${dir}/state`], { dirs: [dir] });
    const line = lineOf(r);
    const flags = line.split(" ").filter((w) => w.startsWith("--allow-"));
    assertEquals(flags, [
      `--allow-read=${config},${dir}/state`,
      `--allow-write=${dir}/state`,
      "--allow-run=/usr/bin/stat,/sbin/pfctl",
      "--allow-sys=uid,osUptime",
    ]);
    // Each permission is explained: the config, the state directory (with the relative SQLite store in it), pfctl.
    match(r.stdout, /# {3}--allow-run=\/sbin\/pfctl: reading the pf counters/);
    match(r.stdout, new RegExp(`#   --allow-read=${config}: the config file`));
    match(r.stdout, new RegExp(`#   --allow-write=${dir}/state: the state directory`));
  }));

Deno.test("permissions follow the config: environment, user id, mail, store, sendmail, IPv6", () => {
  const needs = (text: string, o: Partial<Parameters<typeof permissionNeeds>[1]> = {}) =>
    permissionFlags(permissionNeeds("report", {
      config: parseConfig(text, "/c.toml"),
      configFile: "/c.toml",
      stateDir: "/s",
      explicitConfig: true,
      explicitStateDir: true,
      ...o,
    }));
  const v6 = 'source = "iptables"\n[[meter]]\nname = "a"\nfrom = ["192.0.2.0/24", "2001:db8::/32"]\n';
  assertEquals(needs(v6), [
    "--allow-read=/c.toml,/s",
    "--allow-write=/s",
    "--allow-run=/usr/bin/stat,/usr/sbin/iptables-save,/usr/sbin/ip6tables-save",
    "--allow-sys=uid,osUptime",
  ]);
  // Without -s: NETMON_STATE_DIR; without state_dir too, the user id (and for a user, XDG_STATE_HOME and HOME).
  assertEquals(needs(v6, { explicitStateDir: false }).slice(-2), [
    "--allow-env=NETMON_STATE_DIR",
    "--allow-sys=uid,osUptime",
  ]);
  assertEquals(
    needs(v6, { explicitStateDir: false, explicitConfig: false, asRoot: false }).at(-2),
    "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME",
  );
  assertEquals(needs(`state_dir = "/x"\n${v6}`, { explicitStateDir: false }).slice(-2), [
    "--allow-env=NETMON_STATE_DIR",
    "--allow-sys=uid,osUptime",
  ]);
  const mail = '[mail]\nto = "a@example.org"\nfrom = "b@example.org"\n';
  assertEquals(
    needs(`${mail}server = "2001:db8::25"\nuser = "u"\n`).filter((f) => /net|env/.test(f)),
    ["--allow-net=[2001:db8::25]:587", "--allow-env=NETMON_SMTP_PASSWORD"],
  );
  assertEquals(
    needs(`${mail}server = "mx.example.org"\nport = 25\n`, { mailAddresses: ["192.0.2.25", "2001:db8::25"] })
      .find((f) => f.startsWith("--allow-net")),
    "--allow-net=mx.example.org,192.0.2.25:25,[2001:db8::25]:25",
  );
  assertEquals(
    needs(`${mail}transport = "sendmail"\nsendmail = "/usr/lib/sendmail"\n`).find((f) => f.startsWith("--allow-run")),
    "--allow-run=/usr/bin/stat,/usr/sbin/ip,/usr/lib/sendmail",
  );
  assertEquals(
    needs(`${mail}server = "192.0.2.25"\nattach = ["/s/usage.png"]\n`)[0],
    "--allow-read=/c.toml,/s",
    "inside the state dir",
  ); // start: the config, the state directory (its record, its lock), the programs that read and change the firewall.
  const start = (text: string) =>
    permissionFlags(permissionNeeds("start", {
      config: parseConfig(text, "/c.toml"),
      configFile: "/c.toml",
      stateDir: "/s",
      explicitConfig: true,
      explicitStateDir: true,
    }));
  assertEquals(start(v6), [
    "--allow-read=/c.toml,/s",
    "--allow-write=/s",
    "--allow-run=/usr/bin/stat,/usr/sbin/iptables-save,/usr/sbin/iptables-restore,/usr/sbin/ip6tables-save," +
    "/usr/sbin/ip6tables-restore",
    "--allow-sys=uid",
  ]);
  assertEquals(
    start('source = "nftables"\n[[meter]]\nname = "a"\nfrom = "192.0.2.0/24"\n').find((f) => f.includes("run")),
    "--allow-run=/usr/bin/stat,/usr/sbin/nft",
  );
});

Deno.test("what a run line grants: sets, flags replacing a set's list, -A, hosts and paths", () => {
  const sets = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url))).permissions;
  const need = (kind: Need["kind"], value: string): Need => ({ kind, value, why: "" });
  const set = grantedBy(["-P=netmon"], sets);
  ok(set && grants(set, need("read", "/var/lib/netmon/x")) && !grants(set, need("net", "192.0.2.25:587")));
  const replaced = grantedBy(["-P=netmon", "--allow-read=/srv"], sets);
  ok(replaced && !grants(replaced, need("read", "/etc/netmon/netmon.toml")) && grants(replaced, need("read", "/srv")));
  const net = grantedBy(["--allow-net=mx.example.org,192.0.2.25:587"], sets);
  ok(net && grants(net, need("net", "192.0.2.25:587")) && !grants(net, need("net", "192.0.2.25:25")));
  ok(net && grants(net, need("net", "mx.example.org")) && !grants(net, need("env", "HOME")));
  const all = grantedBy(["-A"], sets);
  ok(all && grants(all, need("sys", "uid")));
  assertEquals(grantedBy(["-P=nosuchset"], sets), undefined);
});

Deno.test("schedule --cron and --systemd: written with a marker, replacing only netmon's own files; --dry-run", () =>
  withTempDir(async (dir) => {
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, example("nftables.toml"));
    const into = `${dir}/etc`;
    await Deno.mkdir(into);
    const run = (...args: string[]) =>
      netmon(["schedule", "-c", config, "-s", `${dir}/state`, ...args], { dirs: [dir] });
    const dry = await run("--cron", "--dry-run", "--into", into);
    assertEquals(dry.code, 0, dry.stderr);
    ok(dry.stdout.startsWith(`==> ${into}/netmon (not written: --dry-run) <==\n${MARKER}\n`), dry.stdout);
    assertEquals([...Deno.readDirSync(into)].length, 0, "--dry-run writes nothing");
    await Deno.writeTextFile(`${into}/netmon`, "*/5 * * * * root /usr/local/bin/netmon report\n");
    const refused = await run("--cron", "--into", into);
    assertEquals(
      [refused.code, refused.stderr],
      [
        73,
        `netmon: ${into}/netmon exists and netmon did not write it: move it away, or run again with --force to replace it\n`,
      ],
    );
    assertEquals(Deno.readTextFileSync(`${into}/netmon`), "*/5 * * * * root /usr/local/bin/netmon report\n");
    assertEquals((await run("--cron", "--into", into, "--force")).code, 0);
    const cron = Deno.readTextFileSync(`${into}/netmon`);
    ok(cron.startsWith(MARKER) && /^\*\/5 \* \* \* \* root \S+ run .* report -c /m.test(cron), cron);
    assertEquals(Deno.statSync(`${into}/netmon`).mode! & 0o777, 0o644);
    assertEquals((await run("--cron", "--into", into)).code, 0, "its own file is replaced without --force");
    const units = await run("--systemd", "--into", into);
    assertEquals(units.code, 0, units.stderr);
    // systemctl would act on /etc/systemd/system, not on these: no line that looks as if it enabled them.
    assertEquals(
      units.stdout,
      `wrote ${
        ["netmon.service", "netmon.timer", "netmon-graph.service", "netmon-graph.timer", "netmon-start.service"]
          .map((u) => `${into}/${u}`).join(", ")
      }; ${into} is not /etc/systemd/system, where systemctl enables, disables and reloads netmon's units: once ` +
        "they are there, systemctl daemon-reload && systemctl enable --now netmon-start.service netmon.timer " +
        "netmon-graph.timer\n",
    );
    const service = Deno.readTextFileSync(`${into}/netmon.service`);
    // The example's hardening, every line of it but the paths and the home directory, which follow the config.
    const hardening = example("netmon.service").split("\n")
      .filter((l) =>
        /^[A-Z]\w+=/.test(l) &&
        !/^(ExecStart|StateDirectory|StateDirectoryMode|ReadWritePaths|ProtectHome|Description)=/.test(l)
      );
    for (const l of hardening) ok(service.split("\n").includes(l), `service has ${l}`);
    match(service, new RegExp(`^ReadWritePaths=${dir}/state$`, "m"));
    match(service, /^ExecStart=\S+ run -q --frozen --no-prompt .* report -c /m);
    ok(Deno.readTextFileSync(`${into}/netmon.timer`).includes("OnCalendar=*:0/5"));
    // The nightly graph, as the cron file has it: the same command line, the report's hardening without its
    // capabilities and network, its output directory (the state directory) writable.
    const graph = Deno.readTextFileSync(`${into}/netmon-graph.service`);
    const cronGraph = cron.split("\n").find((l) => l.startsWith("10 0 * * * root "))?.slice(16) ?? "";
    ok(cronGraph.includes("/graph.ts "), cron);
    assertEquals(
      values(graph, "ExecStart"),
      [cronGraph.replaceAll("\\%", "%").replaceAll("%", "%%")],
      "the cron file's graph line",
    );
    assertEquals(values(graph, "CapabilityBoundingSet"), [""], "no capability at all");
    assertEquals(values(graph, "RestrictAddressFamilies"), ["AF_UNIX"]);
    assertEquals(values(graph, "ReadWritePaths"), [`${dir}/state`]);
    const shared = (unit: string) =>
      unit.split("\n").filter((l) =>
        /^[A-Z]\w+=/.test(l) &&
        !/^(ExecStart|CapabilityBoundingSet|RestrictAddressFamilies|TimeoutStartSec|Description|After)=/.test(l)
      );
    assertEquals(shared(graph), shared(service), "the same hardening otherwise");
    const graphHardening = example("netmon-graph.service").split("\n")
      .filter((l) =>
        /^[A-Z]\w+=/.test(l) &&
        !/^(ExecStart|StateDirectory|StateDirectoryMode|ReadWritePaths|ProtectHome|Description)=/.test(l)
      );
    for (const l of graphHardening) ok(graph.split("\n").includes(l), `graph service has ${l}`);
    const graphTimer = Deno.readTextFileSync(`${into}/netmon-graph.timer`);
    assertEquals(values(graphTimer, "OnCalendar"), ["*-*-* 00:10:00"], "each night at 00:10, as the cron line");
    assertEquals(values(graphTimer, "Unit"), ["netmon-graph.service"]);
    ok(graphTimer.startsWith(MARKER) && graph.startsWith(MARKER));
    const dryUnits = await run("--systemd", "--dry-run", "--into", `${dir}/none`);
    assertEquals(
      [...dryUnits.stdout.matchAll(/^==> (\S+) \(not written: --dry-run\) <==$/gm)].map((m) => m[1]),
      ["netmon.service", "netmon.timer", "netmon-graph.service", "netmon-graph.timer", "netmon-start.service"].map((
        u,
      ) => `${dir}/none/${u}`),
    );
    // A directory the permissions do not cover: one line naming the flag, exit 77 (not an uncaught error).
    await withTempDir(async (elsewhere) => {
      const denied = await run("--systemd", "--into", elsewhere);
      assertEquals(
        [denied.code, denied.stderr],
        [
          77,
          `netmon: Deno denied read access to ${elsewhere}, where the schedule goes: run it with ` +
          `--allow-read=${elsewhere} --allow-write=${elsewhere} (or a permission set from deno.json)\n`,
        ],
      );
      assertEquals([...Deno.readDirSync(elsewhere)].length, 0, "nothing written where it may not read");
    });
    const compile = await run("--compile");
    assertEquals(compile.code, 0, compile.stderr);
    match(
      compile.stdout,
      /^\S+ compile -q --frozen --no-prompt --config \S+\/deno\.json --allow-read=.* -o \S+\/dist\/netmon-report \S+\/netmon\.ts$/m,
    );
    match(compile.stdout, /^# \S+\/dist\/netmon-report report -c /m);
  }));

netnsTest(
  "schedule --systemd writes the report's and the nightly graph's units, which systemd-analyze verify accepts",
  async () => {
    const UNITS = ["netmon.service", "netmon.timer", "netmon-graph.service", "netmon-graph.timer"]
      .map((u) => `/etc/systemd/system/${u}`);
    const log = "# netmon meters:\teth0:rx\teth0:tx\n2026/11/20-10:00:00\t100\t200\n2026/11/20-10:05:00\t4000\t9000\n" +
      "2026/11/21-10:00:00\t9000\t19000\n";
    // The graph unit's command as systemd runs it, with no capability (setpriv: an empty bounding set).
    const graphRun = "line=$(sed -n 's/^ExecStart=//p' /etc/systemd/system/netmon-graph.service | sed 's/%%/%/g') && " +
      'umask 0027 && setpriv --bounding-set=-all --no-new-privs -- sh -c "$line" && ' +
      "head -c 4 /var/lib/traffic/usage.png | tail -c 3 && grep -c . /var/lib/traffic/usage.dat && " +
      "stat -c %a /var/lib/traffic/usage.png";
    const r = await sandbox([
      { write: CONFIG, text: example("mail-store.toml") },
      { netmon: ["schedule", "--systemd"] },
      { run: ["systemd-analyze", "verify", "--man=no", ...UNITS], keep: true },
      { run: ["cat", "/etc/systemd/system/netmon.service"], keep: true },
      { run: ["cat", "/etc/systemd/system/netmon-graph.service"], keep: true },
      { write: "/var/lib/traffic/netmon.log", text: log },
      { run: ["sh", "-c", graphRun], keep: true },
    ]);
    const [wrote, verify, service, graph, drawn] = r as StepResult[];
    assertEquals([wrote?.code, wrote?.stderr], [0, ""]);
    assertEquals(
      wrote?.stdout,
      `wrote ${UNITS.join(", ")}; now: systemctl daemon-reload && systemctl enable --now netmon.timer ` +
        "netmon-graph.timer\n",
    );
    assertEquals([verify?.code, verify?.stdout, verify?.stderr], [0, "", ""]);
    // A state directory elsewhere: no StateDirectory=, and exactly what the report writes is writable.
    match(service?.stdout ?? "", /^ReadWritePaths=\/var\/lib\/traffic \/var\/lib\/traffic-db$/m);
    ok(!/^StateDirectory=/m.test(service?.stdout ?? ""), service?.stdout);
    // The graph writes usage.dat and usage.png in the state directory, and nothing of the store's.
    match(graph?.stdout ?? "", /^ReadWritePaths=\/var\/lib\/traffic$/m);
    match(graph?.stdout ?? "", / -o \/var\/lib\/traffic\/usage\.dat --plot \/var\/lib\/traffic\/usage\.png$/m);
    // Drawn with no capability; the picture for a web server to read whatever the unit's umask.
    assertEquals([drawn?.code, drawn?.stdout], [0, "PNG3\n644\n"], drawn?.stderr);
  },
);

Deno.test("schedule --systemd: netmon-start.service for iptables and nftables, ordered and hardened; none for pf", () =>
  withTempDir(async (dir) => {
    const units = async (name: string) => {
      const config = `${dir}/${name}`;
      await Deno.writeTextFile(config, example(name));
      const r = await netmon(["schedule", "-c", config, "-s", "/var/lib/netmon", "--systemd", "--dry-run"], {
        dirs: [dir],
      });
      assertEquals(r.code, 0, r.stderr);
      const files = new Map(
        r.stdout.split(/^==> /m).filter((f) => f !== "").map((f) => {
          const [head = "", ...rest] = f.split("\n");
          return [head.replace(/^\/etc\/systemd\/system\/(\S+) .*$/, "$1"), rest.join("\n")] as const;
        }),
      );
      const cron = await netmon(["schedule", "-c", config, "-s", "/var/lib/netmon", "--cron", "--dry-run"], {
        dirs: [dir],
      });
      return { files, cron: cron.stdout };
    };
    for (const name of ["nftables.toml", "original.toml"]) {
      const { files, cron } = await units(name);
      const start = files.get("netmon-start.service") ?? "";
      ok(start.startsWith(MARKER), `${name}: ${[...files.keys()]}`);
      assertEquals(values(start, "Type"), ["oneshot"]);
      assertEquals(values(start, "RemainAfterExit"), ["yes"]);
      // After the firewall's own rules (a flush there would take netmon's away), before the report.
      assertEquals(values(start, "After"), ["nftables.service netfilter-persistent.service"]);
      assertEquals(values(start, "Before"), ["netmon.service"]);
      assertEquals(values(start, "WantedBy"), ["multi-user.target"]);
      // The cron file's @reboot line, as ExecStart.
      const line = cronCommandOf(cron, "@reboot ").replace(/ >\/dev\/null$/, "");
      assertEquals(values(start, "ExecStart"), [line.replaceAll("\\%", "%").replaceAll("%", "%%")]);
      // The report's hardening and capabilities; writable: the state directory.
      const shared = (unit: string) =>
        unit.split("\n").filter((l) =>
          /^[A-Z]\w+=/.test(l) &&
          !/^(Type|RemainAfterExit|ExecStartPre|ExecStart|ReadWritePaths|TimeoutStartSec|Description|After|Before|WantedBy)=/
            .test(l)
        );
      assertEquals(shared(start), shared(files.get("netmon.service") ?? ""), `${name}: the report's hardening`);
      assertEquals(values(start, "ReadWritePaths"), ["/var/lib/netmon"]);
      // Legacy iptables-restore locks /run/xtables.lock, which it cannot make on a read-only /run.
      assertEquals(
        values(start, "ExecStartPre"),
        name === "original.toml" ? ["+/usr/bin/touch /run/xtables.lock"] : [],
      );
      match(files.get("netmon.service") ?? "", /^# netmon\.service: .* netmon-start\.service puts the rules back/m);
    }
    // pf's rules are pf.conf's, and the interface source has none: no start at boot.
    for (const name of ["pf-2004.toml", "mail-store.toml"]) {
      const { files, cron } = await units(name);
      assertEquals([...files.keys()], ["netmon.service", "netmon.timer", "netmon-graph.service", "netmon-graph.timer"]);
      doesNotMatch(cron, /@reboot|netmon\.ts start/);
    }
  }));

netnsTest(
  "schedule --systemd: the start at boot's unit passes systemd-analyze verify, with the other units",
  async () => {
    const UNITS = UNIT_PATHS;
    for (const name of ["nftables.toml", "original.toml"]) {
      const [wrote, verify] = await sandbox([
        { write: CONFIG, text: example(name) },
        { netmon: ["schedule", "--systemd"] },
        { run: ["systemd-analyze", "verify", "--man=no", ...UNITS], keep: true },
      ]);
      assertEquals(
        [wrote?.code, wrote?.stdout, wrote?.stderr],
        [
          0,
          `wrote ${UNITS.join(", ")}; now: systemctl daemon-reload && systemctl enable --now netmon-start.service ` +
          "netmon.timer netmon-graph.timer\n",
          "",
        ],
        name,
      );
      assertEquals([verify?.code, verify?.stdout, verify?.stderr], [0, "", ""], name);
    }
  },
);

Deno.test("schedule: a password from the environment is named, and where it had better be", () =>
  withTempDir(async (dir) => {
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(
      config,
      'source = "interface"\n[mail]\nto = "ops@example.org"\nfrom = "netmon@example.org"\nserver = "192.0.2.25"\nuser = "netmon"\n',
    );
    const r = await netmon(["schedule", "-c", config, "-s", `${dir}/state`], { dirs: [dir] });
    match(lineOf(r), / --allow-net=192\.0\.2\.25:587 --allow-env=NETMON_SMTP_PASSWORD /);
    match(r.stdout, /^# mail\.user without mail\.password_file: the run reads NETMON_SMTP_PASSWORD/m);
  }));

Deno.test("schedule --systemd: a path the unit needs under /tmp or /var/tmp, hidden by PrivateTmp=yes, is one warning line", () =>
  withTempDir(async (dir) => {
    ok(dir.startsWith("/tmp/"), dir);
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, example("nftables.toml"));
    const run = (...args: string[]) =>
      netmon(["schedule", "-c", config, "-s", `${dir}/state`, ...args], { dirs: [dir] });
    const units = await run("--systemd", "--dry-run");
    assertEquals(units.code, 0, units.stderr);
    assertEquals(
      units.stderr,
      "netmon: warning: netmon.service, netmon-graph.service and netmon-start.service run with PrivateTmp=yes, " +
        `which hides ${config} (the config file), ${dir}/state (the state directory) from them (they see an empty ` +
        "/tmp of their own): move them out of /tmp and /var/tmp, or schedule with --cron\n",
    );
    assertEquals(units.stdout.split("\n").filter((l) => l === "PrivateTmp=yes").length, 3, units.stdout);
    // No start at boot for the interface source: the two units there are.
    const iface = `${dir}/interface.toml`;
    await Deno.writeTextFile(iface, 'source = "interface"\n');
    const two = await netmon(["schedule", "-c", iface, "-s", `${dir}/state`, "--systemd", "--dry-run"], {
      dirs: [dir],
    });
    assertEquals(
      [two.code, two.stderr],
      [
        0,
        `netmon: warning: netmon.service and netmon-graph.service run with PrivateTmp=yes, which hides ${iface} ` +
        `(the config file), ${dir}/state (the state directory) from them (they see an empty /tmp of their own): ` +
        "move them out of /tmp and /var/tmp, or schedule with --cron\n",
      ],
    );
    // cron has no private /tmp: nothing to say.
    const cron = await run("--cron", "--dry-run");
    assertEquals([cron.code, cron.stderr], [0, ""]);
  }));

Deno.test("schedule --systemd: netmon's own checkout under /tmp, which ExecStart runs, is named in the PrivateTmp warning", () =>
  withTempDir(async (dir) => {
    // A checkout in /tmp (a trial's git clone): netmon.ts, deno.json, its lock and lib/, copied as they are.
    const checkout = `${dir}/netmon`;
    await Deno.mkdir(checkout);
    const root = new URL("../", import.meta.url).pathname;
    for (const f of ["netmon.ts", "deno.json", "deno.lock"]) await Deno.copyFile(`${root}${f}`, `${checkout}/${f}`);
    const cp = await run("cp", ["-R", `${root}lib`, `${checkout}/lib`]);
    assertEquals(cp.code, 0, cp.stderr);
    // The config and state directory out of /tmp would leave only the checkout; in it, they are named too.
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, example("nftables.toml"));
    const r = await run(Deno.execPath(), [
      "run",
      "-q",
      "--frozen",
      "-P=netmon-admin",
      `--allow-read=${dir}`,
      "--config",
      `${checkout}/deno.json`,
      `${checkout}/netmon.ts`,
      "schedule",
      "-c",
      config,
      "-s",
      `${dir}/state`,
      "--systemd",
      "--dry-run",
    ], {
      env: {
        PATH: "/usr/bin:/bin",
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
      },
    });
    assertEquals(r.code, 0, r.stderr);
    match(r.stdout, new RegExp(`^ExecStart=\\S+ .* ${checkout}/netmon\\.ts report `, "m"));
    assertEquals(
      r.stderr,
      "netmon: warning: netmon.service, netmon-graph.service and netmon-start.service run with PrivateTmp=yes, " +
        `which hides ${config} (the config file), ${dir}/state (the state directory), ${checkout} (netmon's own ` +
        "files, which ExecStart runs) from them (they see an empty /tmp of their own): move them out of /tmp and " +
        "/var/tmp, or schedule with --cron\n",
    );
  }));

Deno.test("schedule --remove: only netmon's own files go, a link itself and not what it leads to; --dry-run", () =>
  withTempDir(async (dir) => {
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, example("nftables.toml"));
    const into = `${dir}/etc`;
    await Deno.mkdir(into);
    const run = (...args: string[]) =>
      netmon(["schedule", "-c", config, "-s", `${dir}/state`, ...args], { dirs: [dir] });
    const names = [
      "netmon",
      "netmon.service",
      "netmon.timer",
      "netmon-graph.service",
      "netmon-graph.timer",
      "netmon-start.service",
    ];
    const left = () => [...Deno.readDirSync(into)].map((e) => e.name).sort();
    assertEquals((await run("--cron", "--into", into)).code, 0);
    assertEquals((await run("--systemd", "--into", into)).code, 0);
    const all = names.map((n) => `${into}/${n}`).join(", ");
    // One directory for both kinds: the cron file and the units side by side in it, as they were written.
    const notThere = `${into} is not /etc/systemd/system, where systemctl enables, disables and reloads netmon's units`;
    const dry = await run("--remove", "--cron", "--systemd", "--into", into, "--dry-run");
    assertEquals(
      [dry.code, dry.stdout, dry.stderr],
      [0, `would remove ${all}; ${notThere}: no systemctl daemon-reload (--dry-run: nothing removed)\n`, ""],
    );
    assertEquals(left(), [...names].sort(), "--dry-run removes nothing");

    // A file of that name netmon did not write: refused, nothing removed (not even the files that are netmon's).
    const theirs = "[Unit]\nDescription=someone else's\n";
    await Deno.writeTextFile(`${into}/netmon.timer`, theirs);
    const refused = await run("--remove", "--cron", "--systemd", "--into", into);
    assertEquals(
      [refused.code, refused.stdout, refused.stderr],
      [
        73,
        "",
        `netmon: ${into}/netmon.timer exists and netmon did not write it: move it away, or run again with --force ` +
        "to remove it\n",
      ],
    );
    assertEquals(left(), [...names].sort(), "a refusal removes nothing");
    // A link (here to a file of netmon's elsewhere) is not followed, and with --force it goes, not what it leads to.
    await Deno.remove(`${into}/netmon.timer`);
    const elsewhere = `${dir}/kept.timer`;
    await Deno.writeTextFile(elsewhere, `${MARKER}\n`);
    await Deno.symlink(elsewhere, `${into}/netmon.timer`);
    const link = await run("--remove", "--systemd", "--into", into);
    assertEquals([link.code, link.stderr], [
      73,
      `netmon: ${into}/netmon.timer is a symbolic link: move it away, or run again with --force to remove it (the ` +
      "link, not what it points to)\n",
    ]);
    const forced = await run("--remove", "--systemd", "--into", into, "--force");
    assertEquals([forced.code, forced.stderr], [0, ""]);
    assertEquals(
      forced.stdout,
      `removed ${names.slice(1).map((n) => `${into}/${n}`).join(", ")}; ${notThere}: no systemctl daemon-reload\n`,
    );
    assertEquals(Deno.readTextFileSync(elsewhere), `${MARKER}\n`, "what the link led to is kept");
    assertEquals(left(), ["netmon"], "--systemd leaves the cron file");

    // Missing files are said, not an error; the cron file alone needs no daemon-reload.
    const cron = await run("--remove", "--cron", "--systemd", "--into", into);
    assertEquals(
      [cron.code, cron.stdout, cron.stderr],
      [0, `removed ${into}/netmon; not there: ${names.slice(1).map((n) => `${into}/${n}`).join(", ")}\n`, ""],
    );
    assertEquals(left(), []);
    // A directory at the name is never removed, --force or not.
    await Deno.mkdir(`${into}/netmon`);
    const directory = await run("--remove", "--cron", "--into", into, "--force");
    assertEquals([directory.code, directory.stderr], [
      73,
      `netmon: ${into}/netmon is a directory: netmon removes only the files it wrote, move it away\n`,
    ]);

    for (
      const [args, said] of [
        [["--remove"], "--remove goes with --cron or --systemd"],
        [["--remove", "--compile"], "--remove goes with --cron or --systemd"],
        [["--remove", "--cron", "--into", "etc"], "--into needs an absolute directory"],
      ] as const
    ) {
      const r = await run(...args);
      assertEquals([r.code, r.stderr], [64, `netmon: ${said} (see 'netmon schedule --help')\n`], args.join(" "));
    }
    // A directory the permissions do not cover: one line naming both flags, exit 77.
    await withTempDir(async (other) => {
      const denied = await run("--remove", "--cron", "--into", other);
      assertEquals(
        [denied.code, denied.stderr],
        [
          77,
          `netmon: Deno denied read access to ${other}, where the schedule goes: run it with ` +
          `--allow-read=${other} --allow-write=${other} (or a permission set from deno.json)\n`,
        ],
      );
    });
  }));

Deno.test("schedule --remove --dry-run: what it would remove, and what refuses it (an enabled unit, another's file), exit 73", () =>
  withTempDir(async (dir) => {
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, example("nftables.toml"));
    const into = `${dir}/etc`;
    await Deno.mkdir(into);
    const run = (...args: string[]) =>
      netmon(["schedule", "-c", config, "-s", `${dir}/state`, ...args, "--into", into], { dirs: [dir] });
    assertEquals((await run("--cron")).code, 0);
    assertEquals((await run("--systemd")).code, 0);
    // Enabled in DIR, as 'systemctl --root' would enable them in an image: links in DIR's timers.target.wants.
    await Deno.mkdir(`${into}/timers.target.wants`);
    await Deno.symlink(`${into}/netmon.timer`, `${into}/timers.target.wants/netmon.timer`);
    await Deno.writeTextFile(`${into}/netmon-graph.timer`, "[Timer]\n");
    const notThere = `${into} is not /etc/systemd/system, where systemctl enables, disables and reloads netmon's units`;
    const units = ["netmon.service", "netmon.timer", "netmon-graph.service", "netmon-start.service"]
      .map((u) => `${into}/${u}`);
    const dry = await run("--remove", "--cron", "--systemd", "--dry-run");
    assertEquals([dry.code, dry.stdout, dry.stderr], [
      73,
      `would remove ${into}/netmon, ${units.join(", ")}; ${notThere}: no systemctl daemon-reload (--dry-run: ` +
      "nothing removed; refused now, see below)\n",
      `netmon: netmon.timer is still enabled (${into}/timers.target.wants): remove its link there first ` +
      `(${notThere}), then remove\n` +
      `netmon: ${into}/netmon-graph.timer exists and netmon did not write it: move it away, or run again with ` +
      "--force to remove it\n",
    ]);
    ok(Deno.statSync(`${into}/netmon.service`).isFile, "--dry-run removes nothing");
    // The removal itself refuses with the first of them, and removes nothing either.
    const refused = await run("--remove", "--cron", "--systemd");
    assertEquals([refused.code, refused.stdout, refused.stderr], [
      73,
      "",
      `netmon: netmon.timer is still enabled (${into}/timers.target.wants): remove its link there first ` +
      `(${notThere}), then remove again\n`,
    ]);
    ok(Deno.statSync(`${into}/netmon`).isFile, "a refusal removes nothing");
  }));

Deno.test("schedule: a % in the config or state path is escaped in the units' Description=; a control character is refused", () =>
  withTempDir(async (dir) => {
    const config = `${dir}/net%hmon.toml`;
    await Deno.writeTextFile(config, example("nftables.toml"));
    const run = (state: string) =>
      netmon(["schedule", "-c", config, "-s", state, "--systemd", "--dry-run", "--into", `${dir}/etc`], {
        dirs: [dir],
      });
    const r = await run(`${dir}/st%iate`);
    assertEquals(r.code, 0, r.stderr);
    const descriptions = r.stdout.split("\n").filter((l) => l.startsWith("Description="));
    assertEquals(descriptions.length, 5, r.stdout);
    // systemd expands %h, %i in Description=: each % is doubled, and none is left alone.
    for (const d of descriptions) doesNotMatch(d.replaceAll("%%", ""), /%/, d);
    ok(descriptions.some((d) => d.includes("st%%iate")), descriptions.join("\n"));
    ok(descriptions.some((d) => d.includes("net%%hmon.toml")), descriptions.join("\n"));
    // A newline would start a line of its own in the cron file or a unit (a comment ended, a directive begun).
    for (const kind of ["--cron", "--systemd"]) {
      const bad = await netmon(
        ["schedule", "-c", config, "-s", `${dir}/st\nExecStartPre=/bin/false`, kind, "--into", `${dir}/etc`],
        { dirs: [dir] },
      );
      assertEquals(bad.code, 64, bad.stderr);
      match(bad.stderr, /^netmon: the state directory "[^\n]*\\n[^\n]*" has a control character[^\n]*\n$/);
    }
  }));

Deno.test("schedule --remove: a file error other than a missing file is one line, not a crash", () =>
  withTempDir(async (dir) => {
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, example("nftables.toml"));
    // A name too long for the file system: lstat fails with ENAMETOOLONG.
    const into = `${dir}/${"a".repeat(300)}`;
    for (const kind of ["--cron", "--systemd"]) {
      const r = await netmon(["schedule", "-c", config, "-s", `${dir}/state`, "--remove", kind, "--into", into], {
        dirs: [dir],
      });
      assertEquals(r.code, 74, r.stderr);
      match(r.stderr, /^netmon: Cannot look at \/\S+: File name too long[^\n]*\n$/);
    }
  }));

Deno.test("schedule --remove --force removes a regular file another user owns, as schedule --force replaces it", () =>
  withTempDir(async (dir) => {
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, example("nftables.toml"));
    const into = `${dir}/etc`;
    await Deno.mkdir(into);
    await Deno.writeTextFile(`${into}/netmon`, "someone else's\n");
    // Owned by nobody (netmon's safe reader refuses a file of another user's).
    await Deno.chown(`${into}/netmon`, 65534, 65534);
    const run = (...args: string[]) =>
      netmon(["schedule", "-c", config, "-s", `${dir}/state`, ...args, "--cron", "--into", into], { dirs: [dir] });
    // Without --force it is read, and refused as another user's.
    const refused = await run("--remove");
    match(refused.stderr, /belongs to uid 65534, not to this user/);
    ok(Deno.statSync(`${into}/netmon`).isFile, "a refusal removes nothing");
    const forced = await run("--remove", "--force");
    assertEquals([forced.code, forced.stdout, forced.stderr], [0, `removed ${into}/netmon\n`, ""]);
  }));

netnsTest(
  "schedule --remove under netmon-admin: an enabled timer or start at boot is refused before anything goes, with the line to run",
  async () => {
    const UNITS = UNIT_PATHS;
    const wants = "/etc/systemd/system/timers.target.wants";
    const boot = "/etc/systemd/system/multi-user.target.wants";
    const r = await sandbox([
      { write: CONFIG, text: example("nftables.toml") },
      { netmon: ["schedule", "--cron"] },
      { netmon: ["schedule", "--systemd"] },
      // Enabled as systemctl enables them; the report's link dangling (its unit already gone) is enabled still.
      { symlink: `${wants}/netmon.timer`, target: "/etc/systemd/system/netmon.timer" },
      { symlink: `${wants}/netmon-graph.timer`, target: "/etc/systemd/system/netmon-graph.timer" },
      { netmon: ["schedule", "--remove", "--cron", "--systemd", "--dry-run"] },
      { netmon: ["schedule", "--remove", "--cron", "--systemd"] },
      { remove: `${wants}/netmon-graph.timer` },
      { netmon: ["schedule", "--remove", "--systemd", "--force"] },
      { run: ["ls", "/etc/cron.d", "/etc/systemd/system"], keep: true },
      { remove: `${wants}/netmon.timer` },
      // The start at boot, enabled for multi-user.target, alone.
      { symlink: `${boot}/netmon-start.service`, target: "/etc/systemd/system/netmon-start.service" },
      { netmon: ["schedule", "--remove", "--systemd"] },
      { remove: `${boot}/netmon-start.service` },
      { netmon: ["schedule", "--remove", "--cron", "--systemd"] },
      { run: ["sh", "-c", "ls -A /etc/cron.d /etc/systemd/system | grep netmon || true"], keep: true },
    ]);
    const [, , dry, both, one, before, start, removed, after] = r as StepResult[];
    // A dry run says what the removal would remove, and what refuses it now, with the status the removal would have.
    assertEquals([dry?.code, dry?.stdout, dry?.stderr], [
      73,
      `would remove /etc/cron.d/netmon, ${UNITS.join(", ")}; then: systemctl daemon-reload (--dry-run: nothing ` +
      "removed; refused now, see below)\n",
      `netmon: netmon.timer and netmon-graph.timer are still enabled (${wants}): run 'systemctl disable --now ` +
      "netmon.timer netmon-graph.timer' first, then remove\n",
    ]);
    assertEquals([both?.code, both?.stdout, both?.stderr], [
      73,
      "",
      `netmon: netmon.timer and netmon-graph.timer are still enabled (${wants}): run 'systemctl disable --now ` +
      "netmon.timer netmon-graph.timer' first, then remove again\n",
    ]);
    assertEquals([one?.code, one?.stderr], [
      73,
      `netmon: netmon.timer is still enabled (${wants}): run 'systemctl disable --now netmon.timer' first, then ` +
      "remove again\n",
    ]);
    assertEquals([start?.code, start?.stderr], [
      73,
      `netmon: netmon-start.service is still enabled (${boot}): run 'systemctl disable --now netmon-start.service' ` +
      "first, then remove again\n",
    ]);
    for (const name of ["netmon", ...UNITS.map((u) => u.slice(u.lastIndexOf("/") + 1))]) {
      ok(before?.stdout.split("\n").includes(name), `${name} is still there: ${before?.stdout}`);
    }
    // netmon-admin's permissions are enough to remove them all.
    assertEquals([removed?.code, removed?.stderr], [0, ""]);
    assertEquals(removed?.stdout, `removed /etc/cron.d/netmon, ${UNITS.join(", ")}; now: systemctl daemon-reload\n`);
    assertEquals(after?.stdout, "");
  },
);
