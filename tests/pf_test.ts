/**
 * The pf source. pfctl cannot run on Linux, so its label output is tested
 * from fixtures: the 2004 article's own output, and lines written from the
 * printf formats pfctl has used since (see tests/fixtures/README.md). The
 * `-z` accumulation and `pf-conf` are tested through the real CLI paths.
 */
import { deepEqual as assertEquals, ok, throws } from "node:assert/strict";
import { parseAddressMatch } from "../lib/config/address.ts";
import type { CommandOutput } from "../lib/host/run.ts";
import { parseConfig } from "../lib/config/config.ts";
import { DataError } from "../lib/host/errors.ts";
import { parsePfLabels, pfConf, PfSource } from "../lib/sources/pf.ts";
import { recordSample } from "../lib/state/record.ts";
import { stateFiles } from "../lib/state/files.ts";
import { netmon, withTempDir, writeConfig } from "./helpers.ts";

const fixture = (name: string) => Deno.readTextFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const bytesOf = (m: Map<string, { bytes: bigint }>) => Object.fromEntries([...m].map(([k, v]) => [k, v.bytes]));

Deno.test("pf labels, 3 numbers (2002-era pfctl, the 2004 article's own output)", () => {
  const known = new Set(["other-inbound", "geekcruises-inbound", "stonehenge-inbound", "stonehenge-outbound"]);
  const m = parsePfLabels(fixture("pf-2004-article-zvsl-3-numbers.txt"), known);
  assertEquals(bytesOf(m), {
    "other-inbound": 0n,
    "geekcruises-inbound": 754775n,
    "stonehenge-inbound": 132237n,
    "stonehenge-outbound": 69223n,
  });
  assertEquals(m.get("stonehenge-outbound"), { evaluations: 421n, packets: 619n, bytes: 69223n, rules: 1 });
});

Deno.test("pf labels, 7 numbers (2007): a label on several lines (a rule expanded from a list) is summed", () => {
  const m = parsePfLabels(
    fixture("pf-2007-vsl-7-numbers.txt"),
    new Set(["geekcruises-inbound", "geekcruises-outbound", "stonehenge-inbound"]),
  );
  assertEquals(m.get("stonehenge-inbound"), { evaluations: 2400n, packets: 910n, bytes: 152237n, rules: 2 });
  assertEquals(m.get("geekcruises-inbound"), { evaluations: 1200n, packets: 5000n, bytes: 2010000n, rules: 1 });
  assertEquals(m.has("ssh"), false, "labels netmon does not meter are skipped");
});

Deno.test("pf labels, 8 numbers (OpenBSD 4.4+, FreeBSD 9+): spaces and numbers in labels, 2^64-1", () => {
  const known = new Set(["acme corp-inbound", "acme corp-outbound", "web 2", "big-inbound"]);
  const m = parsePfLabels(fixture("pf-openbsd-vsl-8-numbers.txt"), known);
  assertEquals(bytesOf(m), {
    "acme corp-inbound": 100000n,
    "acme corp-outbound": 2500n,
    "web 2": 900n,
    "big-inbound": (1n << 64n) - 1n,
  });
  assertEquals(m.get("acme corp-inbound")?.rules, 2);
});

Deno.test("pf labels, several labels on one line (FreeBSD 13+): each label gets the rule's counters", () => {
  const m = parsePfLabels(
    fixture("pf-freebsd13-vsl-several-labels.txt"),
    new Set(["geekcruises-inbound", "geekcruises-outbound", "billing", "redcat-inbound"]),
  );
  assertEquals(bytesOf(m), {
    "geekcruises-inbound": 250000n,
    billing: 259000n,
    "geekcruises-outbound": 9000n,
    "redcat-inbound": 1000n,
  });
});

Deno.test("pf labels: output that is not label counters is refused with the line", () => {
  throws(
    () => parsePfLabels("web 1 2 3 4 5 6 7 8\n", new Set(["web"]), "pfctl -vsl"),
    (e: unknown) => e instanceof DataError && /^pfctl -vsl line 1: in and out packets do not add up/.test(e.message),
  );
});

const ARTICLE = `source = "pf"
pf_zero = true

[[meter]]
name = "other"
direction = "both"
split = "direction"

[[meter]]
name = "geekcruises"
address = ["192.0.2.0/28", "192.0.2.64/27"]
split = "direction"

[[meter]]
name = "webstonehenge"
address = ["198.51.100.163", "2001:db8::163"]
split = "direction"
`;

/** A runner standing in for pfctl (which cannot run on Linux), recording its arguments. */
function pfctl(outputs: string[], calls: string[][]) {
  return (path: string, args: readonly string[]): Promise<CommandOutput> => {
    calls.push([path, ...args]);
    return Promise.resolve({ stdout: outputs.shift() ?? "", stderr: "" });
  };
}

Deno.test("pf -z: each interval is added to the last logged value, so the log stays cumulative", async () => {
  const config = parseConfig(ARTICLE, "pf.toml");
  const lines = (v: number) =>
    [
      "other-inbound",
      "other-outbound",
      "geekcruises-inbound",
      "geekcruises-outbound",
      "webstonehenge-inbound",
      "webstonehenge-outbound",
    ].map((l, i) => `${l} 421 ${v} ${v * (i + 1)}`).join("\n") + "\n";
  const calls: string[][] = [];
  const source = new PfSource(config, pfctl([lines(10), lines(3)], calls));
  const first = await source.read(undefined);
  assertEquals([...first.bytes.values()], [10n, 20n, 30n, 40n, 50n, 60n]);
  const second = await source.read({ timestamp: "2026/11/21-10:00:00", counters: first.bytes });
  assertEquals([...second.bytes.values()], [13n, 26n, 39n, 52n, 65n, 78n]);
  assertEquals(second.intervalPackets?.get("other-inbound"), 3n);
  assertEquals(calls, [["/sbin/pfctl", "-z", "-v", "-s", "labels"], ["/sbin/pfctl", "-z", "-v", "-s", "labels"]]);
  // Without pf_zero the counters are cumulative already and read with -vsl.
  const cumulative = new PfSource(
    parseConfig(ARTICLE.replace("pf_zero = true\n", ""), "pf.toml"),
    pfctl([lines(7)], calls),
  );
  const r = await cumulative.read({ timestamp: "2026/11/21-10:00:00", counters: first.bytes });
  assertEquals([...r.bytes.values()], [7n, 14n, 21n, 28n, 35n, 42n]);
  assertEquals(calls.at(-1), ["/sbin/pfctl", "-v", "-s", "labels"]);
});

Deno.test("pf -z clears nothing when the previous state cannot be read", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    await Deno.writeTextFile(files.log, "2026/11/21-10:00:00\tnot-a-number\n");
    const calls: string[][] = [];
    const source = new PfSource(parseConfig(ARTICLE, "pf.toml"), pfctl(["other-inbound 1 2 3\n"], calls));
    await recordSample(files, { readCounters: (previous) => source.read(previous), now: () => "2026/11/21-10:05:00" })
      .then(
        () => ok(false, "should fail"),
        (e) => assertEquals(e.exitCode, 65),
      );
    assertEquals(calls, [], "pfctl -z never ran, so no interval was cleared unlogged");
  }));

Deno.test("pf: a label missing from pf's rules is one clear line, exit 69", async () => {
  const source = new PfSource(parseConfig(ARTICLE, "pf.toml"), pfctl(["other-inbound 1 2 3\n"], []));
  await source.read(undefined).then(
    () => ok(false, "should fail"),
    (e) => {
      assertEquals(e.exitCode, 69);
      ok(
        /^pf has no rule labelled "other-outbound", "geekcruises-inbound", .*'deno task netmon pf-conf'/.test(
          e.message,
        ),
        e.message,
      );
    },
  );
});

/**
 * Checks pf.conf text against pf.conf(5)'s grammar for what pf-conf writes:
 * `table <name> const { addresses }` (name at most 31 characters), and
 * `pass in|out [on [!] IF] inet|inet6 from HOST to HOST label "…" keep state`
 * with every address valid and of the rule's family, every table defined
 * before use, and labels at most 63 characters.
 */
function checkPfConf(text: string): string[] {
  const problems: string[] = [];
  const tables = new Map<string, string[]>();
  const host = (h: string, fam: 4 | 6, n: number) => {
    const t = /^(! )?<([^>]+)>$/.exec(h);
    if (t) {
      const entries = tables.get(t[2]!);
      if (!entries) problems.push(`line ${n}: table <${t[2]}> used before it is defined`);
      else if (entries.some((e) => (parseAddressMatch(e) as { family: number }).family !== fam)) {
        problems.push(`line ${n}: table <${t[2]}> holds addresses of another family`);
      }
      return;
    }
    if (h === "any") return;
    const a = parseAddressMatch(h.replace(/^! /, "!"));
    if (typeof a === "string" || a.family !== fam) problems.push(`line ${n}: ${h} is not an IPv${fam} host or network`);
  };
  text.split("\n").forEach((line, i) => {
    const n = i + 1;
    if (line === "" || line.startsWith("#")) return;
    const table = /^table <([A-Za-z0-9_.-]{1,31})> const \{ ([^{}]+) \}$/.exec(line);
    if (table) {
      const entries = table[2]!.split(", ");
      for (const e of entries) if (typeof parseAddressMatch(e) === "string") problems.push(`line ${n}: bad ${e}`);
      tables.set(table[1]!, entries);
      return;
    }
    const rule =
      /^pass (in|out)(?: on (?:! )?[A-Za-z0-9_.]{1,15})? (inet6?) from (any|(?:! )?\S+) to (any|(?:! )?\S+) label "([^"\\]{1,63})" keep state$/
        .exec(line);
    if (!rule) {
      problems.push(`line ${n}: not a pf.conf table or pass rule: ${line}`);
      return;
    }
    const fam = rule[2] === "inet" ? 4 : 6;
    host(rule[3]!, fam, n);
    host(rule[4]!, fam, n);
  });
  return problems;
}

Deno.test("pf-conf reproduces the 2004 setup as valid pf.conf: labels are the log's columns", () =>
  withTempDir(async (dir) => {
    const config = await writeConfig(dir, ARTICLE);
    const r = await netmon(["pf-conf", "-c", config], { dirs: [dir] });
    assertEquals([r.code, r.stderr], [0, ""]);
    assertEquals(checkPfConf(r.stdout), []);
    const rules = r.stdout.split("\n").filter((l) => l.startsWith("pass") || l.startsWith("table"));
    assertEquals(rules, [
      "table <netmon-geekcruises-address> const { 192.0.2.0/28, 192.0.2.64/27 }",
      'pass in inet from any to any label "other-inbound" keep state',
      'pass in inet6 from any to any label "other-inbound" keep state',
      'pass out inet from any to any label "other-outbound" keep state',
      'pass out inet6 from any to any label "other-outbound" keep state',
      'pass in inet from any to <netmon-geekcruises-address> label "geekcruises-inbound" keep state',
      'pass out inet from <netmon-geekcruises-address> to any label "geekcruises-outbound" keep state',
      'pass in inet from any to 198.51.100.163/32 label "webstonehenge-inbound" keep state',
      'pass in inet6 from any to 2001:db8::163/128 label "webstonehenge-inbound" keep state',
      'pass out inet from 198.51.100.163/32 to any label "webstonehenge-outbound" keep state',
      'pass out inet6 from 2001:db8::163/128 to any label "webstonehenge-outbound" keep state',
    ]);
    ok(r.stdout.includes("LAST matching rule"), "says where the rules go");
    // The checker itself catches what pf would refuse.
    assertEquals(checkPfConf('pass in inet from any to 2001:db8::1 label "x" keep state').length, 1);
    assertEquals(checkPfConf('pass in inet from any to <t> label "x" keep state').length, 1);
  }));

Deno.test("pf-conf: negated lists become a negated table, interfaces an 'on', long names a short table", () => {
  const text = pfConf(parseConfig(
    `source = "pf"
[[meter]]
name = "not-local"
from = ["!192.0.2.0/24", "!198.51.100.0/24"]
in = "em0"
[[meter]]
name = "${"a".repeat(40)}"
to = ["203.0.113.0/25", "203.0.113.128/25"]
hook = "OUTPUT"
out = "!em1"
`,
    "pf.toml",
  ));
  assertEquals(checkPfConf(text), []);
  ok(text.includes('pass in on em0 inet from ! <netmon-not-local-from> to any label "not-local" keep state'), text);
  ok(text.includes(`pass out on ! em1 inet from any to <netmon-2-to> label "${"a".repeat(40)}" keep state`), text);
});

Deno.test("pf config: FORWARD, + wildcards and labels over 63 characters are refused", () => {
  for (
    const [text, re] of [
      ['[[meter]]\nname = "a"\nhook = "FORWARD"\n', /meter\[1\]\.hook: pf has no FORWARD/],
      ['[[meter]]\nname = "a"\nin = "em+"\n', /meter\[1\]\.in: "em\+": pf has no \+ wildcard/],
      [`[[meter]]\nname = "${"a".repeat(60)}"\ndirection = "both"\nsplit = "direction"\n`, /longer than pf's 63/],
    ] as const
  ) {
    throws(() => parseConfig(`source = "pf"\n${text}`, "pf.toml"), (e: unknown) => re.test((e as Error).message));
  }
});
