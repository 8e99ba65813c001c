/**
 * The bad input catalogue: config, log and last files, command line and
 * environment. Each case runs the real CLI on a state directory holding a
 * good log and last file, and must give one clear line naming what and
 * where, the right sysexits status, and leave every existing file as it was.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { must, NETMON, netmon, netnsTest, run, withPair, withTempDir } from "./helpers.ts";

const GOOD_CONFIG = 'source = "interface"\ninterfaces = ["lo"]\n';
const HEADER = "# netmon meters:\tlo:rx\tlo:tx\n";
const GOOD_LOG = `${HEADER}2026/11/20-10:00:00\t100\t200\n2026/11/20-10:05:00\t150\t260\n`;
const GOOD_LAST = `${HEADER}2026/11/20-10:05:00\t150\t260\t2026/11/20-10:00:00\n`;

interface Case {
  /** What is wrong. */
  name: string;
  /** Config text (default: a good one). */
  config?: string;
  /** Replaces the log's text. */
  log?: string;
  /** Replaces the last file's text; null deletes it (the log is then read whole). */
  last?: string | null;
  /** Arguments; CONFIG and STATE are replaced by the paths. */
  args?: string[];
  env?: Record<string, string>;
  /** Run with every Deno permission, to reach netmon's own check behind Deno's. */
  allowAll?: true;
  /** Expected exit status. */
  code: number;
  /** The one line on stderr (without "netmon: "). */
  line: RegExp;
}

const cfg = (extra: string) => `source = "iptables"\n[[meter]]\nname = "a"\n${extra}`;

const CASES: Case[] = [
  // Config: exit 78, naming the file and the key.
  { name: "TOML syntax", config: 'source = "interface\n', code: 78, line: /^CONFIG:1:\d+: invalid TOML: / },
  { name: "unknown key", config: 'sourc = "interface"\n', code: 78, line: /^CONFIG: sourc: unknown key/ },
  {
    name: "unknown meter key",
    config: cfg('form = "192.0.2.1"\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.form: unknown key/,
  },
  { name: "wrong type", config: 'wait = "10"\n', code: 78, line: /^CONFIG: wait: "10" must be a whole number/ },
  {
    name: "name not a string",
    config: "[[meter]]\nname = 5\n",
    code: 78,
    line: /^CONFIG: meter\[1\]\.name: must be a string, not 5$/,
  },
  { name: "meter not a table", config: "meter = 3\n", code: 78, line: /^CONFIG: meter: must be an array of tables/ },
  {
    name: "bad address",
    config: cfg('from = "192.0.2.300"\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.from: "192\.0\.2\.300" is not an IPv4 or IPv6/,
  },
  {
    name: "overlong address",
    config: cfg(`from = "${"1".repeat(70)}"\n`),
    code: 78,
    line: /^CONFIG: meter\[1\]\.from: ".*" is too long for an address/,
  },
  {
    name: "bad CIDR prefix",
    config: cfg('to = "192.0.2.0/33"\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.to: .* has a prefix length that is not 0 to 32$/,
  },
  {
    name: "bad IPv6",
    config: cfg('to = "2001:db8:::1"\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.to: "2001:db8:::1" is not an IPv4 or IPv6/,
  },
  {
    name: "octal-looking octet",
    config: cfg('from = "192.0.2.010"\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.from: "192\.0\.2\.010" is not/,
  },
  {
    name: "bad interface",
    config: cfg('in = "eth0 -j DROP"\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.in: "eth0 -j DROP" is not an interface name/,
  },
  {
    name: "overlong interface",
    config: cfg('in = "abcdefghijklmnop"\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.in: .* is not an interface name/,
  },
  {
    name: "duplicate meter",
    config: cfg('[[meter]]\nname = "A"\n'),
    code: 78,
    line: /^CONFIG: meter\[2\]\.name: "A" is already the name of meter\[1\]$/,
  },
  {
    name: "injection in an address",
    config: cfg('from = "192.0.2.1; reboot"\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.from: "192\.0\.2\.1; reboot" is not/,
  },
  {
    name: "$(id) in an address",
    config: cfg('to = "$(id)"\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.to: "\$\(id\)" is not/,
  },
  {
    name: "backticks in a name",
    config: '[[meter]]\nname = "`id`"\n',
    code: 78,
    line: /^CONFIG: meter\[1\]\.name: "`id`" is not a usable meter name/,
  },
  {
    name: "newline in a label",
    config: cfg('label = "a\\nb"\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.label: "a\\nb" contains a control character/,
  },
  {
    name: "newline in the chain",
    config: 'chain = "X\\n-A INPUT -j DROP"\n[[meter]]\nname = "a"\n',
    code: 78,
    line: /^CONFIG: chain: .* contains a control character/,
  },
  {
    name: "$(id) in the chain",
    config: 'chain = "$(id)"\n[[meter]]\nname = "a"\n',
    code: 78,
    line: /^CONFIG: chain: "\$\(id\)" is not a usable chain name/,
  },
  {
    name: "injection in a binary path",
    config: '[binaries]\nip = "/usr/sbin/ip; reboot"\n',
    code: 78,
    line: /^CONFIG: binaries\.ip: "\/usr\/sbin\/ip; reboot" may hold only/,
  },
  {
    name: "backticks in state_dir",
    config: 'state_dir = "/var/lib/`id`"\n',
    code: 78,
    line: /^CONFIG: state_dir: "\/var\/lib\/`id`" may hold only/,
  },
  {
    name: "relative state_dir",
    config: 'state_dir = "state"\n',
    code: 78,
    line: /^CONFIG: state_dir: "state" must be an absolute path/,
  },
  {
    name: "newline in a mail header",
    config:
      '[mail]\nto = "ops@example.org"\nfrom = "n@example.org"\nserver = "127.0.0.1"\nsubject = "x\\nBcc: all@example.org"\n',
    code: 78,
    line: /^CONFIG: mail\.subject: .* contains a control character/,
  },
  {
    name: "$(id) in a mail address",
    config: '[mail]\nto = "$(id)@example.org"\nfrom = "n@example.org"\nserver = "127.0.0.1"\n',
    code: 78,
    line: /^CONFIG: mail\.to: "\$\(id\)@example\.org" is not a mail address/,
  },
  {
    name: "bad hook",
    config: cfg('hook = "nat"\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.hook: "nat" is not one of INPUT, OUTPUT, FORWARD$/,
  },
  {
    name: "unknown source",
    config: 'source = "ipfw"\n',
    code: 78,
    line: /^CONFIG: source: "ipfw" is not a known source/,
  },
  {
    name: "overlapping networks",
    config: cfg('from = ["192.0.2.0/24", "192.0.2.7"]\n'),
    code: 78,
    line: /^CONFIG: meter\[1\]\.from: 192\.0\.2\.0\/24 and 192\.0\.2\.7\/32 overlap/,
  },
  {
    name: "a firewall source with no meters",
    config: 'source = "nftables"\n',
    code: 78,
    line: /^CONFIG: meter: source = "nftables" needs at least one \[\[meter\]\]/,
  },
  // The log and last file: exit 65, naming file:line and the fix.
  {
    name: "last file: a missing column",
    last: `${HEADER}2026/11/20-10:05:00\t150\t2026/11/20-10:00:00\n`,
    code: 65,
    line:
      /^STATE\/netmon\.last:2: expected 4 fields \(timestamp, lo:rx, lo:tx, total start\) but got 3: delete it, and the next report rebuilds it from the log's last line$/,
  },
  {
    name: "last file: garbage bytes",
    last: `${HEADER}2026/11/20-10:05:00\t15\u00000\t260\t2026/11/20-10:00:00\n`,
    code: 65,
    line:
      /^STATE\/netmon\.last:2: line has bytes that are not printable ASCII: delete it, and the next report rebuilds it from the log's last line$/,
  },
  {
    name: "last file: CRLF",
    last: GOOD_LAST.replaceAll("\n", "\r\n"),
    code: 65,
    line: /^STATE\/netmon\.last:\d: line ends in CR \(DOS line ending\): convert the file with dos2unix$/,
  },
  {
    name: "last file: negative counter",
    last: `${HEADER}2026/11/20-10:05:00\t-150\t260\t2026/11/20-10:00:00\n`,
    code: 65,
    line:
      /^STATE\/netmon\.last:2: lo:rx: counter "-150" is negative: delete it, and the next report rebuilds it from the log's last line$/,
  },
  {
    name: "last file: not a number",
    last: `${HEADER}2026/11/20-10:05:00\t1e5\t260\t2026/11/20-10:00:00\n`,
    code: 65,
    line:
      /^STATE\/netmon\.last:2: lo:rx: counter "1e5" is not a whole number: delete it, and the next report rebuilds it from the log's last line$/,
  },
  {
    name: "last file: over 2^64",
    last: `${HEADER}2026/11/20-10:05:00\t18446744073709551616\t260\t2026/11/20-10:00:00\n`,
    code: 65,
    line:
      /^STATE\/netmon\.last:2: lo:rx: counter 18446744073709551616 is larger than 2\^64-1: delete it, and the next report rebuilds it from the log's last line$/,
  },
  {
    name: "last file: bad timestamp",
    last: `${HEADER}2026-11-20 10:05\t150\t260\t2026/11/20-10:00:00\n`,
    code: 65,
    line: /^STATE\/netmon\.last:2: expected 4 fields|^STATE\/netmon\.last:2: .* is not a timestamp/,
  },
  {
    name: "last file: empty",
    last: "",
    code: 65,
    line: /^STATE\/netmon\.last:1: the last file has no data line: delete it to start afresh$/,
  },
  {
    name: "last file: an extra line",
    last: GOOD_LAST + GOOD_LAST.split("\n")[1] + "\n",
    code: 65,
    line:
      /^STATE\/netmon\.last:3: unexpected extra line in the last file: delete it, and the next report rebuilds it from the log's last line$/,
  },
  {
    name: "log: a truncated middle line",
    log: `${HEADER}2026/11/20-10:00:00\t100\n2026/11/20-10:05:00\t150\t260\n`,
    last: null,
    code: 65,
    line:
      /^STATE\/netmon\.log:2: expected 3 fields \(timestamp and lo:rx, lo:tx\) but got 2 \(correct or delete that line\)$/,
  },
  {
    name: "log: garbage bytes",
    log: `${HEADER}2026/11/20-10:00:00\t1\u00ff0\t200\n2026/11/20-10:05:00\t150\t260\n`,
    last: null,
    code: 65,
    line: /^STATE\/netmon\.log:2: line has bytes that are not printable ASCII/,
  },
  {
    name: "log: CRLF",
    log: GOOD_LOG.replaceAll("\n", "\r\n"),
    last: null,
    code: 65,
    line: /^STATE\/netmon\.log:\d: line ends in CR \(DOS line ending\): convert the file with dos2unix/,
  },
  {
    name: "log: negative counter",
    log: `${HEADER}2026/11/20-10:00:00\t100\t200\n2026/11/20-10:05:00\t-1\t260\n`,
    last: null,
    code: 65,
    line: /^STATE\/netmon\.log:3: lo:rx: counter "-1" is negative/,
  },
  {
    name: "log: over 2^64",
    log: `${HEADER}2026/11/20-10:00:00\t100\t99999999999999999999\n`,
    last: null,
    code: 65,
    line: /^STATE\/netmon\.log:2: lo:tx: counter 99999999999999999999 is larger than 2\^64-1/,
  },
  {
    name: "log: a meters header naming a column twice",
    log: "# netmon meters:\tlo:rx\tlo:rx\n2026/11/20-10:00:00\t100\t200\n",
    last: null,
    code: 65,
    line: /^STATE\/netmon\.log:1: the meters header names "lo:rx" twice/,
  },
  {
    // A torn last line after it would be cut off by a good run: not by one that fails.
    name: "log: garbage at its end, then a torn line",
    log: `${GOOD_LOG}this is not a sample\n2026/11/20-10:1`,
    code: 65,
    line: /^STATE\/netmon\.log:4: expected 3 fields/,
  },
  {
    name: "TOML arrays nested 10,000 deep",
    config: `a = ${"[".repeat(10_000)}${"]".repeat(10_000)}\n`,
    code: 78,
    line: /^CONFIG/,
  },
  // The command line: exit 64.
  { name: "unknown command", args: ["reprot"], code: 64, line: /^unknown command "reprot"/ },
  { name: "unknown flag", args: ["report", "--frobnicate"], code: 64, line: /--frobnicate/ },
  { name: "missing value", args: ["report", "--config"], code: 64, line: /--config/ },
  {
    name: "missing state directory value",
    args: ["report", "-c", "CONFIG", "--state-dir"],
    code: 64,
    line: /--state-dir/,
  },
  {
    name: "a flag for another command",
    args: ["status", "--dry-run", "-c", "CONFIG", "-s", "STATE"],
    code: 64,
    line: /^--dry-run only applies to start, stop and schedule/,
  },
  {
    name: "an extra argument",
    args: ["report", "now", "-c", "CONFIG", "-s", "STATE"],
    code: 64,
    line: /^unexpected argument "now"/,
  },
  // The environment.
  {
    name: "binary missing",
    config: `${GOOD_CONFIG}[binaries]\nip = "/nonexistent/ip"\n`,
    allowAll: true,
    code: 69,
    line: /^\/nonexistent\/ip not found: install it or set its path under \[binaries\] in the config$/,
  },
  {
    name: "config file missing",
    args: ["report", "-c", "/nonexistent/netmon.toml", "-s", "STATE"],
    allowAll: true,
    code: 78,
    line: /^\/nonexistent\/netmon\.toml: config file not found/,
  },
  {
    name: "config file a directory",
    args: ["report", "-c", "STATE", "-s", "STATE"],
    code: 66,
    line: /^STATE: the config file is a directory, not a regular file \(name the TOML file with --config/,
  },
  {
    name: "config file a device (read until memory runs out before)",
    args: ["report", "-c", "/dev/zero", "-s", "STATE"],
    allowAll: true,
    code: 66,
    line: /^\/dev\/zero: the config file is a character device, not a regular file/,
  },
  {
    name: "state directory under a file",
    args: ["report", "-c", "CONFIG", "-s", "STATE/netmon.log/sub"],
    code: 73,
    line: /^Cannot create state directory STATE\/netmon\.log\/sub/,
  },
];

/** The state directory's files, but netmon.status: the note of how the last report ended, for `netmon check`. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name !== "netmon.status") files[e.name] = await Deno.readTextFile(`${dir}/${e.name}`);
  }
  return files;
}

Deno.test("the catalogue has at least 40 cases", () => ok(CASES.length >= 40, `${CASES.length}`));

for (const c of CASES) {
  Deno.test(`bad input: ${c.name} -> exit ${c.code}, one line, nothing changed`, () =>
    withTempDir(async (dir) => {
      const state = `${dir}/state`;
      await Deno.mkdir(state);
      await Deno.writeTextFile(`${state}/netmon.log`, c.log ?? GOOD_LOG);
      if (c.last !== null) await Deno.writeTextFile(`${state}/netmon.last`, c.last ?? GOOD_LAST);
      // A state directory in use has its lock file.
      await Deno.writeTextFile(`${state}/netmon.lock`, "");
      const config = `${dir}/netmon.toml`;
      await Deno.writeTextFile(config, c.config ?? GOOD_CONFIG);
      const before = await snapshot(state);
      const args = (c.args ?? ["report", "-c", "CONFIG", "-s", "STATE"]).map((a) =>
        a.replace("CONFIG", config).replace("STATE", state)
      );
      const r = await netmon(args, {
        dirs: [dir],
        ...(c.env ? { env: c.env } : {}),
        ...(c.allowAll ? { permissions: ["--allow-all"] } : {}),
      });
      const lines = r.stderr.split("\n");
      assertEquals([r.code, lines.length, lines[1]], [c.code, 2, ""], r.stderr);
      const line = (lines[0] ?? "").replace(/^netmon: /, "").replaceAll(config, "CONFIG").replaceAll(state, "STATE");
      ok(c.line.test(line), `stderr was ${JSON.stringify(line)}`);
      assertEquals(r.stdout, "", "nothing printed as if it had worked");
      assertEquals(await snapshot(state), before, "the state directory is as it was");
    }));
}

netnsTest(
  "bad input: not root (no CAP_NET_ADMIN) -> exit 77, one line, nothing changed",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        await Deno.writeTextFile(
          `${dir}/netmon.toml`,
          'source = "nftables"\n[[meter]]\nname = "a"\nfrom = "192.0.2.2"\n',
        );
        await Deno.writeTextFile(`${dir}/netmon.log`, "");
        const r = await netmon(["report", "-c", `${dir}/netmon.toml`, "-s", dir], {
          ns: p.a,
          dirs: [dir],
          wrap: ["setpriv", "--bounding-set=-net_admin,-net_raw", "--inh-caps=-all"],
        });
        assertEquals([r.code, r.stderr.split("\n").length], [77, 2], r.stderr);
        ok(/^netmon: nft needs root or CAP_NET_ADMIN/.test(r.stderr), r.stderr);
        assertEquals(await Deno.readTextFile(`${dir}/netmon.log`), "");
      })
    ),
);

Deno.test("a clock before the last sample is recorded with a one-line warning, old lines untouched", () =>
  withTempDir(async (dir) => {
    const state = `${dir}/state`;
    await Deno.mkdir(state);
    const future = `${HEADER}2099/01/01-00:00:00\t1\t2\n`;
    await Deno.writeTextFile(`${state}/netmon.log`, future);
    await Deno.writeTextFile(`${state}/netmon.last`, `${HEADER}2099/01/01-00:00:00\t1\t2\t2099/01/01-00:00:00\n`);
    await Deno.writeTextFile(`${dir}/netmon.toml`, GOOD_CONFIG);
    const r = await netmon(["report", "-c", `${dir}/netmon.toml`, "-s", state], { dirs: [dir] });
    assertEquals(r.code, 0);
    ok(
      /^netmon: warning: the clock \(\S+\) is before the last sample \(2099\/01\/01-00:00:00\): recorded anyway, as a step back; check the system clock \(NTP\)\n$/
        .test(r.stderr),
      r.stderr,
    );
    const log = await Deno.readTextFile(`${state}/netmon.log`);
    ok(log.startsWith(future) && log.split("\n").length === 4, log);
  }));

Deno.test("bad input: a FIFO named as the config -> exit 66 at once (it held the run, and cron's next ones, forever)", () =>
  withTempDir(async (dir) => {
    const fifo = `${dir}/netmon.toml`;
    await must("mkfifo", ["-m", "600", fifo]);
    // coreutils' timeout, so that the old behaviour fails this test instead of hanging it.
    const r = await run("timeout", [
      "20",
      Deno.execPath(),
      "run",
      "-q",
      "-A",
      NETMON,
      "report",
      "-c",
      fifo,
      "-s",
      `${dir}/state`,
    ]);
    assertEquals([r.code, r.stdout], [66, ""], r.stderr);
    assertEquals(
      r.stderr,
      `netmon: ${fifo}: the config file is a FIFO, not a regular file (name the TOML file with --config or NETMON_CONFIG)\n`,
    );
  }));
