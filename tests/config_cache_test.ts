/**
 * The parsed config kept in the state directory (lib/state/config_cache.ts):
 * a kept document gives exactly the config a parse gives, for every example
 * and for configs using every kind of value; it serves only its own text; it
 * is believed only from a file and directory no other user could have
 * written; and a report whose config changed, or broke, sees the change.
 */
import { deepEqual as assertEquals, equal, ok } from "node:assert/strict";
import { type Config, configOfDocument, parseConfig, parseDocument } from "../lib/config/config.ts";
import { CONFIG_CACHE, documentCache, keepDocument, keptDocument, MIN_CACHED_TEXT } from "../lib/state/config_cache.ts";
import { must, netmon, netnsTest, withPair, withTempDir } from "./helpers.ts";

const root = Deno.uid() === 0;

/** Comment lines that make a config long enough to be kept (a short one is parsed: see MIN_CACHED_TEXT). */
const PADDING = "# netmon config\n".repeat(Math.ceil(MIN_CACHED_TEXT / 16));

/** Runs `fn` in a new directory of mode 0700 (as a state directory is: nobody else can write it), then removes it. */
function inPrivateDir(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "netmon-test-" });
  try {
    Deno.chmodSync(dir, 0o700);
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The config through the cache: kept, read back, validated. */
function throughCache(dir: string, text: string, file: string): Config {
  keepDocument(dir, text, parseDocument(text, file));
  const doc = keptDocument(dir, text);
  ok(doc, `a document kept for ${file} is read back`);
  return configOfDocument(doc, file);
}

/** Configs with every kind of value the config has: strings, numbers, booleans, arrays, tables, arrays of tables. */
const VARIED = [
  `source = "iptables"
wait = 5
[binaries]
iptables = "/usr/sbin/iptables-legacy"
[[meter]]
name = "web"
label = "Web \\"servers\\" é"
address = ["192.0.2.0/28", "2001:db8::/64"]
direction = "both"
hook = ["INPUT", "FORWARD"]
[[meter]]
name = "vpn"
from = "!198.51.100.7"
in = "wg+"
[billing]
cycle_day = 15
timezone = "Europe/Paris"
[[customer]]
name = "acme"
meters = ["web"]
quota = "500 GiB"
count = "out"
alert_at = [80, 100]
alert_projected = true
commit = "100 Mbit/s"
alert_to = ["noc@example.org"]
[mail]
to = ["ops@example.org", "boss@example.org"]
from = "netmon@example.org"
server = "192.0.2.25"
port = 2525
send = ["daily", "cycle"]
[prometheus]
textfile = "/var/lib/prometheus/node-exporter/netmon.prom"
`,
  'source = "interface"\ninterfaces = ["eth0", "wg0"]\nstore = "sqlite:netmon.db"\n',
  'source = "nftables"\ntable = "acct"\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\nfamily = "ipv4"\n',
  'source = "pf"\npf_zero = true\n[[meter]]\nname = "x"\nto = "203.0.113.0/24"\nhook = "OUTPUT"\n',
];

Deno.test("config cache: a kept document makes exactly the config a parse makes (every example, every kind of value)", async () => {
  await withTempDir(async (dir) => {
    Deno.chmodSync(dir, 0o700);
    const texts: [string, string][] = VARIED.map((t, i) => [t, `varied-${i}.toml`]);
    for (const e of Deno.readDirSync(new URL("../examples/", import.meta.url))) {
      if (!e.name.endsWith(".toml")) continue;
      texts.push([await Deno.readTextFile(new URL(`../examples/${e.name}`, import.meta.url)), e.name]);
    }
    ok(texts.length >= 8);
    for (const [text, file] of texts) assertEquals(throughCache(dir, text, file), parseConfig(text, file), file);
    const s = Deno.statSync(`${dir}/${CONFIG_CACHE}`);
    equal((s.mode ?? 0) & 0o777, 0o600, "the entry is private: the config may be");
  });
});

Deno.test("config cache: an entry serves only the text it was parsed from", () => {
  inPrivateDir((dir) => {
    Deno.chmodSync(dir, 0o700);
    const text = VARIED[1] as string;
    keepDocument(dir, text, parseDocument(text, "c.toml"));
    ok(keptDocument(dir, text));
    equal(keptDocument(dir, text.replace("eth0", "eth1")), undefined, "one character changed");
    equal(keptDocument(dir, `${text}\n`), undefined, "a newline added");
    equal(keptDocument(dir, text.slice(0, -1)), undefined, "a character cut");
    // Another parser's, or another layout's, entry is passed over.
    const path = `${dir}/${CONFIG_CACHE}`;
    const entry = JSON.parse(Deno.readTextFileSync(path));
    for (const [key, value] of [["parser", "npm:smol-toml@0.0.1"], ["format", "netmon parsed config 0"]] as const) {
      Deno.writeTextFileSync(path, JSON.stringify({ ...entry, [key]: value }), { mode: 0o600 });
      equal(keptDocument(dir, text), undefined, `another ${key}`);
    }
    // Torn or not a document: passed over, never thrown.
    for (
      const bad of [
        '{"format":',
        "[]",
        JSON.stringify({ ...entry, doc: [1] }),
        JSON.stringify({ ...entry, doc: { a: null } }),
      ]
    ) {
      Deno.writeTextFileSync(path, bad, { mode: 0o600 });
      equal(keptDocument(dir, text), undefined, bad.slice(0, 40));
    }
  });
});

Deno.test("config cache: what JSON cannot give back exactly is not kept", () => {
  inPrivateDir((dir) => {
    Deno.chmodSync(dir, 0o700);
    for (const text of ["a = 1979-05-27T07:32:00Z\n", "a = inf\n", "a = nan\n", "a = -0.0\n", '"__proto__" = 1\n']) {
      keepDocument(dir, text, parseDocument(text, "c.toml"));
      equal(keptDocument(dir, text), undefined, text);
    }
  });
});

Deno.test({
  name: "config cache: an entry another user could have written or swapped is not believed",
  ignore: !root,
  fn: async () => {
    await withTempDir(async (dir) => {
      const text = VARIED[1] as string;
      const path = `${dir}/${CONFIG_CACHE}`;
      const remove = () => {
        try {
          Deno.removeSync(path, { recursive: true });
        } catch { /* not there */ }
      };
      const there = () => {
        try {
          Deno.lstatSync(path);
          return true;
        } catch {
          return false;
        }
      };
      const fresh = () => {
        remove();
        keepDocument(dir, text, parseDocument(text, "c.toml"));
        ok(there());
      };
      Deno.chmodSync(dir, 0o700);
      fresh();
      ok(keptDocument(dir, text), "a private entry in a private directory is believed");
      // The directory writable by others (not sticky): neither read nor written.
      Deno.chmodSync(dir, 0o777);
      equal(keptDocument(dir, text), undefined, "a directory anyone can write");
      remove();
      keepDocument(dir, text, parseDocument(text, "c.toml"));
      equal(there(), false, "nothing is kept there either");
      Deno.chmodSync(dir, 0o755);
      fresh();
      // The entry writable by others, or owned by another user.
      Deno.chmodSync(path, 0o666);
      equal(keptDocument(dir, text), undefined, "an entry anyone can write");
      Deno.chmodSync(path, 0o600);
      Deno.chownSync(path, 65534, 65534);
      equal(keptDocument(dir, text), undefined, "an entry of another user");
      fresh();
      // A link to a good entry, and special files: refused without blocking.
      Deno.renameSync(path, `${dir}/elsewhere`);
      Deno.symlinkSync(`${dir}/elsewhere`, path);
      equal(keptDocument(dir, text), undefined, "a symbolic link");
      remove();
      await must("mkfifo", [path]);
      equal(keptDocument(dir, text), undefined, "a FIFO (and the read did not block)");
      remove();
      Deno.mkdirSync(path);
      equal(keptDocument(dir, text), undefined, "a directory");
    });
  },
});

Deno.test("config cache: kept only for a config whose state directory is the one looked in", () => {
  inPrivateDir((dir) => {
    Deno.chmodSync(dir, 0o700);
    const text = 'source = "interface"\nstate_dir = "/srv/elsewhere"\n' + PADDING;
    const doc = parseDocument(text, "c.toml");
    const config = configOfDocument(doc, "c.toml");
    const elsewhere = documentCache(dir, (c) => c.stateDir === undefined);
    elsewhere.put(text, doc, config);
    elsewhere.keep();
    equal(keptDocument(dir, text), undefined, "a config naming another state directory");
    const here = documentCache(dir, (c) => c.stateDir === "/srv/elsewhere");
    here.put(text, doc, config);
    equal(keptDocument(dir, text), undefined, "not before the run says so");
    here.keep();
    ok(documentCache(dir, () => true).get(text));
    // A short config is parsed, never kept.
    const short = 'source = "interface"\n';
    const cache = documentCache(dir, () => true);
    cache.put(short, parseDocument(short, "c.toml"), configOfDocument(parseDocument(short, "c.toml"), "c.toml"));
    cache.keep();
    keepDocument(dir, short, parseDocument(short, "c.toml")); // kept by hand, it is still not looked up
    equal(documentCache(dir, () => true).get(short), undefined);
  });
});

netnsTest("config cache: a report keeps the parsed config, and sees an edit or a broken config at once", async () => {
  await withPair(async (p) => {
    await withTempDir(async (dir) => {
      const state = `${dir}/state`;
      const config = `${dir}/netmon.toml`;
      const run = () => netmon(["report", "-c", config, "-s", state], { ns: p.a, dirs: [dir] });
      Deno.writeTextFileSync(config, `source = "interface"\ninterfaces = ["${p.va}"]\n${PADDING}`);
      let r = await run();
      equal(r.code, 0, r.stderr);
      r = await run(); // the state directory exists now: the parsed config is kept
      equal(r.code, 0, r.stderr);
      const kept = Deno.statSync(`${state}/${CONFIG_CACHE}`);
      equal((kept.mode ?? 0) & 0o777, 0o600);
      r = await run();
      equal(r.code, 0, r.stderr);
      equal(Deno.statSync(`${state}/${CONFIG_CACHE}`).mtime?.getTime(), kept.mtime?.getTime(), "not rewritten");
      // An edit: the next report meters what the new text says.
      Deno.writeTextFileSync(config, `source = "interface"\ninterfaces = ["${p.va}", "lo"]\n${PADDING}`);
      r = await run();
      equal(r.code, 0, r.stderr);
      const log = Deno.readTextFileSync(`${state}/netmon.log`);
      const header = log.split("\n").filter((l) => l.startsWith("# netmon meters:")).at(-1) ?? "";
      assertEquals(header.split("\t").slice(1).sort(), ["lo:rx", "lo:tx", `${p.va}:rx`, `${p.va}:tx`], log);
      // Broken: the error as ever, and nothing logged.
      Deno.writeTextFileSync(config, `source = "interface"\ninterfaces = ["${p.va}", "lo"]\nwait = "soon"\n${PADDING}`);
      r = await run();
      equal(r.code, 78, r.stderr);
      ok(r.stderr.includes("wait"), r.stderr);
      equal(Deno.readTextFileSync(`${state}/netmon.log`), log);
    });
  });
});
