/**
 * End to end against the real nft, in namespaces the tests create and
 * delete: a dual-stack inet table, IPv4 and IPv6 traffic, idempotent start,
 * stop that touches no other table, resets, and counters near 2^64.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import {
  must,
  netmon,
  netnsTest,
  nftCounters,
  nftOnly,
  type Pair,
  sendUdp,
  withPair,
  withTempDir,
  writeConfig,
} from "./helpers.ts";

const CONFIG = (p: Pair) =>
  `source = "nftables"

# The 2004 per-customer pair, one definition: a's addresses, in and out.
[[meter]]
name = "cust"
address = ["192.0.2.1", "2001:db8::1"]
split = "direction"

# From b, split into IPv4 and IPv6 columns.
[[meter]]
name = "web"
from = ["192.0.2.2", "2001:db8::2"]
split = "family"

# From b's other IPv4 network and its IPv6 address, one column.
[[meter]]
name = "proxy"
from = ["198.51.100.10", "2001:db8::2"]
in = "${p.va}"
`;

const nft = (p: Pair, ...args: string[]) => must("ip", ["netns", "exec", p.a, "nft", ...args]);

/** netmon in a's namespace with only what the nftables source needs. */
const opts = (p: Pair, dir: string) => nftOnly(p.a, [dir]);

function lastSample(log: string): Map<string, bigint> {
  const lines = log.trimEnd().split("\n");
  const header = lines.filter((l) => l.startsWith("# netmon meters:")).at(-1)!.split("\t").slice(1);
  const values = lines.at(-1)!.split("\t").slice(1);
  return new Map(header.map((h, i) => [h, BigInt(values[i]!)]));
}

netnsTest(
  "[nftables] IPv4 and IPv6 traffic: the log holds exactly what the kernel's counters hold",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, CONFIG(p));
        const o = opts(p, dir);
        const start = await netmon(["start", "-c", config], o);
        assertEquals([start.code, start.stderr], [0, ""]);
        const v4 = await sendUdp(p.b, "192.0.2.1", 40, 300);
        const v6 = await sendUdp(p.b, "2001:db8::1", 30, 200);
        const proxy4 = await sendUdp(p.b, "198.51.100.1", 20, 100);
        const r = await netmon(["report", "-c", config, "-s", dir], o);
        assertEquals([r.code, r.stderr], [0, ""]);
        const logged = lastSample(await Deno.readTextFile(`${dir}/netmon.log`));
        assertEquals([...logged.keys()], ["cust-inbound", "cust-outbound", "web-v4", "web-v6", "proxy"]);
        assertEquals(logged, await nftCounters(p.a), "the log equals the kernel's counters");
        // IPv4 from b's 192.0.2.2 is only the datagrams: exact. IPv6 adds neighbour discovery: at least.
        assertEquals(logged.get("web-v4"), BigInt(v4));
        ok(logged.get("web-v6")! >= BigInt(v6), `web-v6 ${logged.get("web-v6")} < ${v6} sent`);
        ok(logged.get("cust-inbound")! >= BigInt(v4 + v6), `cust-inbound ${logged.get("cust-inbound")} < ${v4 + v6}`);
        assertEquals(logged.get("proxy"), BigInt(proxy4) + logged.get("web-v6")!, "b's 198.51.100.10 plus b's IPv6");
        ok(logged.get("cust-outbound")! > 0n, "a answered with ICMP port unreachable, counted outbound");
        ok(r.stdout.includes(" cust in: ") && r.stdout.includes(" web IPv6: "), r.stdout);
      })
    ),
);

netnsTest(
  "[nftables] start twice: one copy of each rule, counters kept; a changed config keeps the others' values",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, CONFIG(p));
        const o = opts(p, dir);
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        const rulesOnce = await nft(p, "-a", "list", "table", "inet", "netmon");
        await sendUdp(p.b, "192.0.2.1", 10, 100);
        const before = await nftCounters(p.a);
        const again = await netmon(["start", "-c", config], o);
        assertEquals([again.code, again.stdout], [
          0,
          "all 12 of the meters' rules are installed in table inet netmon: nothing to change\n",
        ]);
        const strip = (t: string) => t.replace(/packets \d+ bytes \d+/g, "");
        assertEquals(
          strip(await nft(p, "-a", "list", "table", "inet", "netmon")),
          strip(rulesOnce),
          "same rules, same handles",
        );
        assertEquals(await nftCounters(p.a), before);
        const rules = (await nft(p, "list", "table", "inet", "netmon")).split("\n").filter((l) =>
          l.includes("comment")
        );
        assertEquals(rules.length, 12);
        // Drop the proxy meter from the config and add one: the kept counters keep their values, in one transaction.
        const changed = await writeConfig(
          dir,
          CONFIG(p).split("# From b's other")[0] + '[[meter]]\nname = "fresh"\nto = "2001:db8::1"\n',
        );
        const s = await netmon(["start", "-c", changed], o);
        assertEquals(s.code, 0);
        ok(
          s.stdout.includes("add counter fresh") && s.stdout.includes("delete counter proxy (no meter uses it)"),
          s.stdout,
        );
        ok(s.stdout.includes("keep 4 counters and their values"), s.stdout);
        const after = await nftCounters(p.a);
        assertEquals([...after.keys()].sort(), ["cust-inbound", "cust-outbound", "fresh", "web-v4", "web-v6"]);
        for (const k of ["cust-inbound", "web-v4", "web-v6"]) assertEquals(after.get(k), before.get(k), k);
        assertEquals(after.get("fresh"), 0n);
      })
    ),
);

netnsTest(
  "[nftables] stop deletes netmon's table only; a foreign table of the same name is refused",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, CONFIG(p));
        const o = opts(p, dir);
        await nft(
          p,
          'add table ip other; add counter ip other c; add chain ip other in { type filter hook input priority 0; }; add rule ip other in ip saddr 203.0.113.9 counter name c comment "netmon:cust-inbound lookalike"',
        );
        await nft(
          p,
          "add table inet keep; add chain inet keep out { type filter hook output priority 0; }; add rule inet keep out ip6 daddr 2001:db8::2 counter",
        );
        const foreign = async () =>
          (await nft(p, "list", "ruleset")).split(/(?=^table )/m).filter((t) => !t.startsWith("table inet netmon"))
            .join(
              "",
            );
        const before = await foreign();
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        const dry = await netmon(["stop", "--dry-run", "-c", config], o);
        ok(dry.stdout.includes('{"delete":{"table":{"family":"inet","name":"netmon"}}}'), dry.stdout);
        ok((await nft(p, "list", "tables")).includes("table inet netmon"), "a dry run changes nothing");
        const stop = await netmon(["stop", "-c", config], o);
        assertEquals([stop.code, stop.stderr], [0, ""]);
        ok(!(await nft(p, "list", "tables")).includes("inet netmon"));
        assertEquals(await foreign(), before, "other tables untouched");
        assertEquals(
          (await netmon(["stop", "-c", config], o)).stdout,
          "table inet netmon is not installed: nothing to change\n",
        );
        // A table of that name that netmon did not make is not netmon's to change.
        await nft(p, "add table inet netmon; add chain inet netmon mine { type filter hook input priority 0; }");
        const refused = await netmon(["start", "-c", config], o);
        assertEquals(refused.code, 78);
        ok(
          /table inet netmon holds a chain netmon did not make \(mine\): it is not netmon's; set table = /.test(
            refused.stderr,
          ),
          refused.stderr,
        );
      })
    ),
);

netnsTest(
  "[nftables] nft reset counters and a ruleset reload are resets, never negative usage",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, CONFIG(p));
        const o = opts(p, dir);
        const args = ["report", "-c", config, "-s", dir];
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        await sendUdp(p.b, "192.0.2.1", 30, 500);
        assertEquals((await netmon(args, o)).code, 0);
        await nft(p, "reset", "counters", "table", "inet", "netmon");
        const small = await sendUdp(p.b, "192.0.2.1", 2, 100);
        const r = await netmon(args, o);
        assertEquals([r.code, r.stderr], [0, ""]);
        ok(/^== RESET DETECTED! == counter went down: cust in, cust out, web IPv4;/m.test(r.stdout), r.stdout);
        ok(r.stdout.split("\n")[2]!.includes(` web IPv4: ${small} `), r.stdout);
        // A reload from a saved ruleset puts the counters back to what was saved.
        const saved = `${dir}/saved.nft`;
        await Deno.writeTextFile(saved, "flush ruleset\n" + await nft(p, "list", "ruleset"));
        await sendUdp(p.b, "192.0.2.1", 20, 500);
        assertEquals((await netmon(args, o)).code, 0);
        await nft(p, "-f", saved);
        const reloaded = await netmon(args, o);
        assertEquals(reloaded.code, 0);
        ok(/^== RESET DETECTED! ==/m.test(reloaded.stdout), reloaded.stdout);
        const log = (await Deno.readTextFile(`${dir}/netmon.log`)).trimEnd().split("\n").slice(1);
        assertEquals(log.length, 4);
        ok(!/: -\d/.test(reloaded.stdout), "no negative usage");
        // A reload without netmon's table: report says so and records nothing.
        await nft(p, "flush", "ruleset");
        const gone = await netmon(args, o);
        assertEquals([gone.code, gone.stderr], [
          69,
          `netmon: table inet netmon is not installed: run 'deno task netmon start -c ${config} -s ${dir}'\n`,
        ]);
        assertEquals((await Deno.readTextFile(`${dir}/netmon.log`)).trimEnd().split("\n").length, 5);
      })
    ),
);

netnsTest(
  "[nftables] counters near 2^64 are exact, though nft's JSON prints them negative, and wrapping is a reset",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, 'source = "nftables"\n[[meter]]\nname = "big"\nfrom = "192.0.2.2"\n');
        const o = opts(p, dir);
        const near = (1n << 64n) - 1000n;
        // A counter's value is given only when it is made (start makes one it did not install afresh): the table
        // start made is loaded again with big's value near 2^64, before the first report.
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        const made = await nft(p, "list", "table", "inet", "netmon");
        const near2to64 = made.replace(/(counter big \{\s*packets 0 bytes )0\b/, `$1${near}`);
        ok(near2to64 !== made, made);
        await must("ip", ["netns", "exec", p.a, "nft", "-f", "-"], {
          stdin: `delete table inet netmon\n${near2to64}`,
        });
        ok((await nft(p, "-j", "list", "counters", "table", "inet", "netmon")).includes('"bytes": -1000'));
        const args = ["report", "-c", config, "-s", dir];
        assertEquals((await netmon(args, o)).code, 0);
        const sent = await sendUdp(p.b, "192.0.2.1", 3, 100);
        assertEquals((await netmon(args, o)).code, 0);
        const lines = (await Deno.readTextFile(`${dir}/netmon.log`)).trimEnd().split("\n").slice(1);
        assertEquals(lines.map((l) => l.split("\t")[1]), [String(near), String(near + BigInt(sent))]);
        await sendUdp(p.b, "192.0.2.1", 10, 100);
        const wrapped = await netmon(args, o);
        assertEquals(wrapped.code, 0);
        ok(/^== RESET DETECTED! ==/m.test(wrapped.stdout), wrapped.stdout);
        const kernel = await nftCounters(p.a);
        assertEquals(lastSample(await Deno.readTextFile(`${dir}/netmon.log`)), kernel);
        ok(kernel.get("big")! < 2000n);
      })
    ),
);

netnsTest(
  "[nftables] one of a column's rules deleted by hand, netmon start: the column's counter is kept, nothing billed twice",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        // One column fed by rules in input, output and forward, all counting into one named counter.
        const config = await writeConfig(dir, 'source = "nftables"\n[[meter]]\nname = "acme"\naddress = "192.0.2.1"\n');
        const o = opts(p, dir);
        const args = ["report", "-c", config, "-s", dir];
        const counter = async () => (await nftCounters(p.a)).get("acme") ?? 0n;
        const traffic = async () => {
          await sendUdp(p.b, "192.0.2.1", 30, 500);
          await sendUdp(p.a, "192.0.2.2", 10, 300);
        };
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        assertEquals((await netmon(args, o)).code, 0);
        await traffic();
        assertEquals((await netmon(args, o)).code, 0);
        for (const chain of ["output", "input"]) {
          const before = await counter();
          ok(before > 0n);
          const listed = await nft(p, "-a", "list", "chain", "inet", "netmon", chain);
          const handle = /comment "netmon:acme [^"]*" # handle (\d+)/.exec(listed)?.[1];
          ok(handle, listed);
          await nft(p, "delete", "rule", "inet", "netmon", chain, "handle", handle);
          const start = await netmon(["start", "-c", config], o);
          assertEquals([start.code, start.stderr], [0, ""]);
          ok(start.stdout.includes("keep 1 counter and their values\n"), start.stdout);
          assertEquals(await counter(), before, "the rules feed one named counter, which start keeps");
          const r = await netmon(args, o);
          assertEquals([r.code, r.stderr, r.stdout.includes("RESET")], [0, "", false], r.stdout);
          assertEquals(lastSample(await Deno.readTextFile(`${dir}/netmon.log`)).get("acme"), before);
          ok(r.stdout.endsWith(" acme: 0\n"), r.stdout);
          await traffic();
          const next = await netmon(args, o);
          assertEquals([next.code, next.stdout.includes("RESET")], [0, false], next.stdout);
          ok((await counter()) > before);
          assertEquals(lastSample(await Deno.readTextFile(`${dir}/netmon.log`)).get("acme"), await counter());
        }
      })
    ),
);

Deno.test("parseNftTable maps nft's negative JSON counters back to unsigned 64-bit values", async () => {
  const { parseNftTable } = await import("../lib/sources/nftables.ts");
  const t = parseNftTable(
    '{"nftables": [{"metainfo": {}}, {"counter": {"family": "inet", "name": "a", "table": "netmon", "handle": 1, "packets": 5, "bytes": -1}},' +
      '{"counter": {"family": "ip", "name": "a", "table": "netmon", "handle": 2, "packets": 1, "bytes": 7}},' +
      '{"counter": {"family": "inet", "name": "b", "table": "netmon", "handle": 3, "packets": 9007199254740993, "bytes": 9223372036854775807}}]}',
    "inet",
    "netmon",
  );
  assertEquals(t.counters.get("a"), { packets: 5n, bytes: (1n << 64n) - 1n, handle: 1n });
  assertEquals(t.counters.get("b"), { packets: 9007199254740993n, bytes: (1n << 63n) - 1n, handle: 3n });
  assertEquals(t.counters.size, 2, "the ip family's counter of the same name is another table's");
});
