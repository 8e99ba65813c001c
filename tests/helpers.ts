/**
 * Test helpers: network namespaces the test makes and deletes itself, traffic
 * between them on documentation addresses only, and netmon run as a
 * subprocess with scoped permissions.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { TEST_BOOT_TIME } from "../lib/host/boot.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** The netmon CLI script the tests run: netmon.ts, or the script NETMON_SCRIPT names. */
export const NETMON = Deno.env.get("NETMON_SCRIPT") ?? `${ROOT}netmon.ts`;
const REPORT_TASK = (JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks.report as string).split(" ");
/** The V8 flags `deno task report` gives netmon (from deno.json), so benchmarks time netmon as it is run. */
export const REPORT_V8_FLAGS: string[] = REPORT_TASK.filter((a) => a.startsWith("--v8-flags="));
/** The script `deno task report` runs, so benchmarks time what cron runs. */
export const REPORT_SCRIPT = `${ROOT}${REPORT_TASK.find((a) => /\.[jt]s$/.test(a))}`;
const decoder = new TextDecoder();

/** What a finished subprocess printed and how it exited. */
export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program directly (no shell) and captures its output. */
export async function run(
  cmd: string,
  args: string[],
  opts: { stdin?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<Result> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs a program and throws unless it exits 0. */
export async function must(cmd: string, args: string[], opts: { stdin?: string } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** `COLUMN -> CHAIN` of each of netmon's iptables rules in namespace `p.a`, sorted: which config's rule is where. */
export async function netmonRuleTargets(p: Pair): Promise<string[]> {
  const text = await must("ip", ["netns", "exec", p.a, "iptables-save", "-t", "filter"]);
  return [...text.matchAll(/--comment "?netmon:([^" ]+)"? -j (\S+)/g)].map((m) => `${m[1]} -> ${m[2]}`).sort();
}

/** The chains of the filter table in namespace `p.a`, but the built-in ones. */
export async function addedChains(p: Pair): Promise<string[]> {
  const text = await must("ip", ["netns", "exec", p.a, "iptables-save", "-t", "filter"]);
  return [...text.matchAll(/^:(\S+)/gm)].map((m) => m[1] as string).filter((c) => !/^[A-Z]+PUT$|^FORWARD$/.test(c));
}

/**
 * Why namespace tests cannot run here (not root, no `ip netns`), or
 * undefined when they can. CI runs as root, so there they always run.
 */
async function netnsUnavailable(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not running as root: network namespaces need root";
  const probe = `nmprobe${Deno.pid}`;
  const r = await run("ip", ["netns", "add", probe]).catch((e) => ({ code: -1, stdout: "", stderr: String(e) }));
  if (r.code !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`;
  await run("ip", ["netns", "del", probe]);
  return undefined;
}

const skipReason = await netnsUnavailable();
if (skipReason) console.log(`netmon tests that need namespaces are IGNORED (not passed): ${skipReason}`);

/**
 * Registers a test that needs root and namespaces. Where they are missing it
 * is reported as ignored, never as passed, and the reason is printed.
 */
export function netnsTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: skipReason !== undefined, fn });
}

let counter = 0;

/** A pair of namespaces joined by a veth: `a` is metered, `b` is its peer. */
export interface Pair {
  a: string;
  b: string;
  /** veth names in a and b. */
  va: string;
  vb: string;
}

/**
 * Creates two namespaces joined by a veth pair, with addresses
 * a = 192.0.2.1/24, 198.51.100.1/24, 2001:db8::1/64 and
 * b = 192.0.2.2/24, 198.51.100.10/24, 2001:db8::2/64, runs `fn`, and deletes
 * them whatever happens. Their names start with `prefix` and then `a` or `b`
 * (e.g. `nm-NAME-` for a branch's tests, so a leftover namespace says whose it is).
 */
export async function withPair(fn: (p: Pair) => Promise<void>, prefix = "nm"): Promise<void> {
  const id = `${Deno.pid % 100000}x${counter++}`;
  const p: Pair = { a: `${prefix}a${id}`, b: `${prefix}b${id}`, va: `va${id}`, vb: `vb${id}` };
  try {
    await must("ip", ["netns", "add", p.a]);
    await must("ip", ["netns", "add", p.b]);
    await must("ip", ["link", "add", p.va, "netns", p.a, "type", "veth", "peer", "name", p.vb, "netns", p.b]);
    for (
      const [ns, dev, addrs] of [[p.a, p.va, ["192.0.2.1/24", "198.51.100.1/24"]], [p.b, p.vb, [
        "192.0.2.2/24",
        "198.51.100.10/24",
      ]]] as const
    ) {
      for (const addr of addrs) await must("ip", ["-n", ns, "addr", "add", addr, "dev", dev]);
      // nodad: the address is usable at once, not after duplicate address detection.
      const v6 = ns === p.a ? "2001:db8::1/64" : "2001:db8::2/64";
      await must("ip", ["-n", ns, "addr", "add", v6, "dev", dev, "nodad"]);
      await must("ip", ["-n", ns, "link", "set", dev, "up"]);
      await must("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
    await fn(p);
  } finally {
    await run("ip", ["netns", "del", p.a]);
    await run("ip", ["netns", "del", p.b]);
  }
}

/** Throws unless `host` is a documentation address: tests send nowhere else. */
function checkDocAddress(host: string): void {
  if (!/^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+$|^2001:db8:/.test(host)) {
    throw new Error(`${host} is not a documentation address: tests send nowhere else`);
  }
}

/** Sends MAX datagrams of SIZE bytes to HOST port 9, EVERY ms apart (0: back to back). */
const SENDER = `
import dgram from "node:dgram";
const [host, every, size, max] = [Deno.args[0], Number(Deno.args[1]), Number(Deno.args[2]), Number(Deno.args[3])];
const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
const buf = new Uint8Array(size);
for (let i = 0; i < max; i++) {
  await new Promise((ok, fail) => s.send(buf, 9, host, (e) => (e ? fail(e) : ok())));
  if (every > 0) await new Promise((ok) => setTimeout(ok, every));
}
s.close();
`;

/** The sender run in namespace `ns`. */
function senderArgs(ns: string, host: string, everyMs: number, size: number, max: number): string[] {
  checkDocAddress(host);
  return [
    "netns",
    "exec",
    ns,
    Deno.execPath(),
    "eval",
    "--ext=ts",
    SENDER,
    host,
    String(everyMs),
    String(size),
    String(max),
  ];
}

/**
 * Sends `count` UDP datagrams of `size` payload bytes from namespace `ns` to
 * `host` (a documentation address in the peer namespace). Nothing listens:
 * each datagram still crosses the peer's INPUT chain. Returns the bytes sent
 * as the firewall counts them: payload plus 28 bytes of IPv4 and UDP headers,
 * or 48 of IPv6 and UDP.
 */
export async function sendUdp(ns: string, host: string, count: number, size: number): Promise<number> {
  await must("ip", senderArgs(ns, host, 0, size, count));
  return count * (size + (host.includes(":") ? 48 : 28));
}

/** Mounts a tmpfs of `size` on `dir` (made if missing) for `fn`, and unmounts it whatever happens (root only). */
export async function withTmpfs(dir: string, size: string, fn: () => Promise<void>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await must("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0750`, "tmpfs", dir]);
  try {
    await fn();
  } finally {
    await run("umount", ["-l", dir]);
  }
}

/** A temporary directory removed after `fn`. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "netmon-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Options for running netmon as a subprocess. */
export interface NetmonRun {
  /** Namespace to run it in. */
  ns?: string;
  /** Directories it may read and write (config and state). */
  dirs?: string[];
  /** Extra environment. */
  env?: Record<string, string>;
  /** A frozen local time, through libfaketime. */
  fakeTime?: string;
  /** Deno permission flags instead of the default scoped set. */
  permissions?: string[];
  /** Programs it may run besides the default binaries (e.g. a config's iptables-legacy). */
  run?: readonly string[];
  /** Programs to run it under before deno (e.g. setpriv to drop capabilities). */
  wrap?: string[];
}

/** The run permissions netmon needs with the default binaries. */
export const RUN_ALLOW = "--allow-run=" + [
  "/usr/sbin/iptables",
  "/usr/sbin/iptables-save",
  "/usr/sbin/iptables-restore",
  "/usr/sbin/ip6tables",
  "/usr/sbin/ip6tables-save",
  "/usr/sbin/ip6tables-restore",
  "/usr/sbin/nft",
  "/usr/sbin/ip",
  "/usr/bin/stat",
].join(",");

/**
 * A compiled netmon to test instead of `deno run netmon.ts` (set by
 * tests/compile_test.ts). Its permissions are baked in, so runs that ask for
 * particular permissions still go through `deno run`.
 */
const NETMON_BIN = Deno.env.get("NETMON_BIN");

/** `deno run` of netmon.ts (or the compiled binary) with `args` and the run's permissions. */
function netmonArgv(args: string[], o: NetmonRun): string[] {
  if (NETMON_BIN && !o.permissions && !o.run) return [NETMON_BIN, ...args];
  const dirs = o.dirs ?? [];
  const perms = o.permissions ?? [
    [RUN_ALLOW, ...(o.run ?? [])].join(","),
    ...(dirs.length ? [`--allow-read=${dirs.join(",")}`, `--allow-write=${dirs.join(",")}`] : []),
    `--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,${TEST_BOOT_TIME}`,
    "--allow-sys=uid,osUptime",
  ];
  return [Deno.execPath(), "run", "-q", "--no-prompt", ...perms, NETMON, ...args];
}

/** netmon's run options in namespace `ns` with only what the nftables source needs, and `dirs`. */
export function nftOnly(ns: string, dirs: string[]): NetmonRun {
  return {
    ns,
    permissions: [
      "--allow-run=/usr/sbin/nft,/usr/bin/stat",
      `--allow-read=${dirs.join(",")}`,
      `--allow-write=${dirs.join(",")}`,
      `--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,${TEST_BOOT_TIME}`,
      "--allow-sys=uid,osUptime",
    ],
  };
}

/** Runs `netmon.ts args` as a subprocess with only the permissions it needs. */
export function netmon(args: string[], o: NetmonRun = {}): Promise<Result> {
  const { argv, env } = netmonCommand(args, o);
  return run(argv[0] as string, argv.slice(1), { env });
}

/** Where Debian's libfaketime is, for this machine's architecture. */
export function libfaketime(): string {
  for (
    const dir of [
      "/usr/lib/faketime",
      ...[...Deno.readDirSync("/usr/lib")].map((e) => `/usr/lib/${e.name}/faketime`),
    ]
  ) {
    try {
      Deno.statSync(`${dir}/libfaketime.so.1`);
      return `${dir}/libfaketime.so.1`;
    } catch { /* not here */ }
  }
  throw new Error("libfaketime.so.1 not found: install the faketime package");
}

/**
 * The environment that runs a program at the frozen time `spec` (faketime's
 * -f format). libfaketime is preloaded directly rather than through the
 * `faketime` wrapper, which forks (a signal would miss the program) and
 * leaves a semaphore behind whenever it is killed.
 */
export function fakeTimeEnv(spec: string): Record<string, string> {
  return { LD_PRELOAD: libfaketime(), FAKETIME: spec, DONT_FAKE_MONOTONIC: "1" };
}

/**
 * Removes the shared memory libfaketime leaves in /dev/shm, named by the
 * process that made it, for processes no longer alive: a process killed, or
 * one that exec'd, never removes its own, and a later process given the same
 * id would then fail to start under faketime.
 */
export function removeFaketimeLeftovers(): void {
  for (const e of Deno.readDirSync("/dev/shm")) {
    const pid = /^(?:faketime_shm_|sem\.faketime_sem_)(\d+)$/.exec(e.name)?.[1];
    if (pid === undefined) continue;
    try {
      Deno.statSync(`/proc/${pid}`);
    } catch {
      Deno.removeSync(`/dev/shm/${e.name}`);
    }
  }
}

/**
 * `argv` run through `env` with the faked-time variables of `vars`, so that
 * only that program (and what it starts) has libfaketime: preloaded into
 * `ip netns exec`, which execs, it would leave shared memory behind.
 */
export function withFakedTime(argv: string[], vars: Record<string, string>): string[] {
  const faked = Object.entries(vars).filter(([k]) => /^(LD_PRELOAD|FAKETIME\w*|DONT_FAKE_MONOTONIC)$/.test(k));
  return faked.length > 0 ? ["env", ...faked.map(([k, v]) => `${k}=${v}`), ...argv] : argv;
}

/**
 * The state directory a `start` or `stop` without `-s` records re-created and
 * installed rules in: the run's first writable directory, never the host's
 * /var/lib/netmon.
 */
function startStateDir(args: string[], o: NetmonRun): Record<string, string> {
  const command = args.find((a) => !a.startsWith("-"))?.toLowerCase() ?? "";
  const words = ["start", "initiate", "initialise", "initialize", "stop", "clear", "flush"];
  if (!words.includes(command)) return {};
  if (args.some((a) => a === "-s" || a.startsWith("--state-dir")) || o.env?.NETMON_STATE_DIR !== undefined) return {};
  const writable = o.dirs?.[0] ??
    o.permissions?.find((f) => f.startsWith("--allow-write="))?.slice("--allow-write=".length).split(",")[0];
  return writable ? { NETMON_STATE_DIR: writable } : {};
}

/** The full command line (namespace, wrappers, faked time, deno) and environment of a netmon run. */
function netmonCommand(args: string[], o: NetmonRun): { argv: string[]; env: Record<string, string> } {
  const vars = {
    // libfaketime moves the wall clock but not the uptime: pin the boot time, or every jump looks like a reboot.
    ...(o.fakeTime ? { ...fakeTimeEnv(o.fakeTime), [TEST_BOOT_TIME]: "0" } : {}),
    ...startStateDir(args, o),
    ...o.env,
  };
  let argv = withFakedTime([...(o.wrap ?? []), ...netmonArgv(args, o)], vars);
  if (o.ns) argv = ["ip", "netns", "exec", o.ns, ...argv];
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
    NO_COLOR: "1",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
    ...Object.fromEntries(Object.entries(vars).filter(([k]) => withFakedTime([], { [k]: "" }).length === 0)),
  };
  return { argv, env };
}

/** The graph CLI script. */
export const GRAPH = `${ROOT}graph.ts`;

/**
 * Runs `graph.ts args` as a subprocess with its permission set from
 * deno.json plus read and write access to `dirs`, in `cwd`, under the
 * programs `wrap` (e.g. timeout).
 */
export function graph(
  args: string[],
  o: { cwd?: string; dirs?: string[]; env?: Record<string, string>; extra?: string[]; wrap?: string[] } = {},
): Promise<Result> {
  // A flag replaces the set's list for its kind, so the set's own paths are repeated.
  const dirs = o.dirs ?? (o.cwd ? [o.cwd] : []);
  const perms = dirs.length
    ? [`--allow-read=/etc/netmon,/var/lib/netmon,${dirs.join(",")}`, `--allow-write=/var/lib/netmon,${dirs.join(",")}`]
    : [];
  perms.push(...(o.extra ?? []));
  const argv = [Deno.execPath(), "run", "-q", "--no-prompt", "-P=graph", ...perms, GRAPH, ...args];
  const [cmd, ...rest] = [...(o.wrap ?? []), ...argv];
  return run(cmd!, rest, {
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      NO_COLOR: "1",
      TZ: "UTC",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
      ...o.env,
    },
    ...(o.cwd ? { cwd: o.cwd } : {}),
  });
}

/** Writes a config file and returns its path. */
export async function writeConfig(dir: string, text: string, name = "netmon.toml"): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  return path;
}

/** What {@linkcode withTwoConfigs} gives a test of two configs on one firewall. */
export interface TwoConfigs {
  /** The namespace pair: the configs meter in `p.a`. */
  p: Pair;
  /** The test's directory. */
  dir: string;
  /** The first config's file (`a.toml`) and the second's (`b.toml`). */
  a: string;
  b: string;
  /** A state directory for each (not made yet). */
  sa: string;
  sb: string;
  /** netmon's run options: in `p.a`, with `dir` readable and writable. */
  o: { ns: string; dirs: string[] };
}

/**
 * Two configs (`aText` as a.toml, `bText` as b.toml) in a fresh directory and
 * namespace pair (names starting with `prefix`, as {@linkcode withPair}), for `fn`.
 */
export function withTwoConfigs(
  aText: string,
  bText: string,
  fn: (t: TwoConfigs) => Promise<void>,
  prefix?: string,
): Promise<void> {
  return withPair((p) =>
    withTempDir(async (dir) => {
      const a = await writeConfig(dir, aText, "a.toml");
      const b = await writeConfig(dir, bText, "b.toml");
      await fn({ p, dir, a, b, sa: `${dir}/sa`, sb: `${dir}/sb`, o: { ns: p.a, dirs: [dir] } });
    }), prefix);
}

/** The original 2010 setup on documentation addresses: the proxy is b's 198.51.100.10. */
export const ORIGINAL_DOC_CONFIG = `source = "iptables"
chain = "DOWNLOADED"

[[meter]]
name = "proxy"
from = "198.51.100.10"

[[meter]]
name = "non-network"
from = "!198.51.100.0/24"
`;

/** The legacy backend's programs, as a config names them under [binaries]. */
export const LEGACY_BINARIES = [
  "/usr/sbin/iptables-legacy",
  "/usr/sbin/iptables-legacy-save",
  "/usr/sbin/iptables-legacy-restore",
] as const;

/** The original setup on documentation addresses, on the legacy iptables backend. */
export const LEGACY_DOC_CONFIG = ORIGINAL_DOC_CONFIG +
  `[binaries]\niptables = "${LEGACY_BINARIES[0]}"\niptables_save = "${LEGACY_BINARIES[1]}"\n` +
  `iptables_restore = "${LEGACY_BINARIES[2]}"\n`;

/** One nftables meter: what b (192.0.2.2) sends. */
export const NFT_ONE_METER_CONFIG = 'source = "nftables"\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n';

/** Byte counters of netmon's rules as `iptables-save -c` (not netmon's reader) shows them, per meter. */
export async function iptablesCounters(ns: string, binary = "iptables-save"): Promise<Map<string, bigint>> {
  const text = await must("ip", ["netns", "exec", ns, binary, "-c", "-t", "filter"]);
  const counters = new Map<string, bigint>();
  for (const line of text.split("\n")) {
    const m = /^\[(\d+):(\d+)\] -A \S+ .*--comment "?netmon:([^" ]+)"?/.exec(line);
    if (m) counters.set(m[3] as string, (counters.get(m[3] as string) ?? 0n) + BigInt(m[2] as string));
  }
  return counters;
}

/** The named counters of an nftables table as `nft list counters` prints them in text (not netmon's JSON reader). */
export async function nftCounters(ns: string, table = "netmon"): Promise<Map<string, bigint>> {
  const text = await must("ip", ["netns", "exec", ns, "nft", "list", "counters", "table", "inet", table]);
  const counters = new Map<string, bigint>();
  for (const m of text.matchAll(/counter (\S+) \{\s+packets \d+ bytes (\d+)/g)) {
    counters.set(m[1] as string, BigInt(m[2] as string));
  }
  return counters;
}

/** Background traffic: a datagram of `size` bytes every `everyMs` from `ns` to `host`, at most `max`. */
export function startTraffic(ns: string, host: string, everyMs: number, size: number, max = 1e9) {
  const child = new Deno.Command("ip", {
    args: senderArgs(ns, host, everyMs, size, max),
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    /** Resolves when it has sent `max` datagrams. */
    done: child.status,
    /** Stops it now. */
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

/** Starts `netmon.ts args` like {@linkcode netmon} but returns the child, to be killed. */
export function spawnNetmon(args: string[], o: NetmonRun = {}): Deno.ChildProcess {
  const { argv, env } = netmonCommand(args, o);
  return new Deno.Command(argv[0] as string, {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    env,
    clearEnv: true,
  }).spawn();
}

/** What a report needs beyond deno.json's `netmon` permission set, by kind. */
export type ExtraPermissions = Partial<Record<"read" | "write" | "net" | "env" | "sys", string[]>>;

/**
 * deno.json's `netmon` permission set (what `deno task report` grants) as
 * flags, its /etc/netmon and /var/lib/netmon replaced by `dir`, plus `extra`.
 */
export function netmonSet(dir: string, extra: ExtraPermissions = {}): string[] {
  const set = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).permissions.netmon as Record<string, string[]>;
  const flags: string[] = [];
  for (const kind of ["read", "write", "net", "run", "env", "sys"] as const) {
    const own = (set[kind] ?? []).map((v) => (v === "/etc/netmon" || v === "/var/lib/netmon" ? dir : v));
    const all = [...new Set([...own, ...((extra as Record<string, string[] | undefined>)[kind] ?? [])])];
    if (all.length) flags.push(`--allow-${kind}=${all.join(",")}`);
  }
  return flags;
}

/** The pids of running processes whose command line is exactly `argv`. */
export function processesRunning(argv: string[]): number[] {
  const want = argv.join("\0") + "\0";
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`) === want) pids.push(+e.name);
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

/**
 * Runs netmon on `dir/netmon.toml` with state in `dir/state`, the interface
 * source's permissions and the mail server's address (127.0.0.1:`port`), and
 * `env` (e.g. the SMTP password): what a mail test needs and no more.
 */
export function netmonMailing(
  dir: string,
  args: string[],
  port: number,
  env: Record<string, string> = {},
): Promise<Result> {
  return netmon(["-c", `${dir}/netmon.toml`, "-s", `${dir}/state`, ...args], {
    permissions: [
      "--allow-run=/usr/sbin/ip,/usr/bin/stat",
      `--allow-read=${dir},/tmp`,
      `--allow-write=${dir}`,
      "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,NETMON_SMTP_PASSWORD",
      "--allow-sys=uid,osUptime",
      `--allow-net=127.0.0.1:${port}`,
    ],
    env,
  });
}

/** The names of the mail spool's files in state directory `state`, sorted; none when there is no spool. */
export function spoolNames(state: string): string[] {
  try {
    return [...Deno.readDirSync(`${state}/spool`)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** Log columns by name alone, as a log without a config names them (no meter of the config writes them). */
export function named(names: readonly string[]): { name: string; label: string }[] {
  return names.map((name) => ({ name, label: name }));
}

/** True when something (a link, a FIFO, anything) is at `path`; links are not followed. */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
