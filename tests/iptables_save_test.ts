import { deepEqual as assertEquals, throws } from "node:assert/strict";
import {
  type CountedLine,
  forEachCountedRule,
  parseIptablesSave,
  quoteArg,
  splitArgs,
} from "../lib/sources/iptables_save.ts";

const fixture = (name: string) => Deno.readTextFileSync(new URL(`./fixtures/${name}`, import.meta.url));

Deno.test("iptables-save (nf_tables): chains, rules, comments, targets", () => {
  const [filter] = parseIptablesSave(fixture("netmon-iptables-1.8.9-nft-save.txt"));
  assertEquals(filter!.name, "filter");
  assertEquals(filter!.chains, ["INPUT", "FORWARD", "OUTPUT", "DOCKER-ISOLATION-STAGE-1", "DOWNLOADED"]);
  assertEquals(filter!.rules.map((r) => [r.chain, r.target, r.comment]), [
    ["INPUT", "DOWNLOADED", "netmon:proxy"],
    ["INPUT", "DOWNLOADED", "netmon:non-network"],
    ["INPUT", "ACCEPT", "ssh in"],
    ["FORWARD", "DOCKER-ISOLATION-STAGE-1", undefined],
    ["FORWARD", "DOCKER-ISOLATION-STAGE-1", undefined],
    ["OUTPUT", "DOWNLOADED", "netmon:web-out"],
  ]);
  assertEquals(
    filter!.rules[1]!.spec,
    '! -s 198.51.100.0/24 -i cv1 -m comment --comment "netmon:non-network" -j DOWNLOADED',
  );
});

Deno.test("iptables-save -c: counters before each rule", () => {
  const [filter] = parseIptablesSave(fixture("netmon-iptables-1.8.9-nft-save-c.txt"));
  assertEquals(filter!.rules[0]!.counters, { packets: 1000n, bytes: 1228000n });
  assertEquals(filter!.rules[0]!.spec, '-s 192.0.2.2/32 -m comment --comment "netmon:proxy" -j DOWNLOADED');
});

Deno.test("iptables-legacy-save parses the same", () => {
  const [filter] = parseIptablesSave(fixture("netmon-iptables-1.8.9-legacy-save.txt"));
  assertEquals(filter!.rules.map((r) => r.comment), ["netmon:proxy", "netmon:non-network", undefined]);
});

Deno.test("quoting round-trips through iptables-restore's rules", () => {
  for (const s of ['say "hi"', "back\\slash", "plain", "a  b"]) {
    assertEquals(splitArgs(`--comment ${quoteArg(s)} -j X`, "t"), ["--comment", s, "-j", "X"]);
  }
  throws(() => splitArgs('--comment "open', "here"), /here: unterminated quote/);
});

const counted = (text: string, where = "t") => {
  const rules: CountedLine[] = [];
  forEachCountedRule(text, where, (r) => rules.push(r));
  return rules;
};

Deno.test("the counter read: every rule's exact text and counters, from iptables-save -c (nf_tables)", () => {
  assertEquals(
    counted(fixture("netmon-iptables-1.8.9-nft-save-c.txt")).map((r) => [r.key, r.packets, r.bytes, r.line]),
    [
      ['INPUT -s 192.0.2.2/32 -m comment --comment "netmon:proxy" -j DOWNLOADED', 1000n, 1228000n, 8],
      ['INPUT ! -s 198.51.100.0/24 -i cv1 -m comment --comment "netmon:non-network" -j DOWNLOADED', 1000n, 1228000n, 9],
      ['INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh in" -j ACCEPT', 0n, 0n, 10],
      ["FORWARD -j DOCKER-ISOLATION-STAGE-1", 0n, 0n, 11],
      ["FORWARD -p udp -g DOCKER-ISOLATION-STAGE-1", 0n, 0n, 12],
      ['OUTPUT ! -d 192.0.2.0/24 -o cv1 -m comment --comment "netmon:web-out" -j DOWNLOADED', 0n, 0n, 13],
    ],
  );
});

Deno.test("the counter read on legacy iptables and on ip6tables", () => {
  const legacy = counted(fixture("netmon-iptables-1.8.9-legacy-save-c.txt"));
  assertEquals(legacy.map((r) => [r.key.split(" ")[0], r.bytes]), [["INPUT", 0n], ["INPUT", 38400n], ["INPUT", 0n]]);
  const v6 = counted(fixture("netmon-ip6tables-1.8.9-nft-save-c.txt"));
  assertEquals(v6.map((r) => [r.key, r.packets, r.bytes]), [
    ['INPUT -s 2001:db8::2/128 -m comment --comment "netmon:peer6" -j DOWNLOADED', 201n, 109672n],
    ['INPUT ! -s 2001:db8::/32 -m comment --comment "netmon:not-doc" -j DOWNLOADED', 0n, 0n],
    ['OUTPUT -d 2001:db8::2/128 -o va780x0 -m comment --comment "netmon:out6" -j DOWNLOADED', 7n, 3648n],
  ]);
});

Deno.test("the counter read: counters near 2^64 stay exact", () => {
  const [r] = counted("*filter\n[18446744073709551615:18446744073709551614] -A INPUT -j X\nCOMMIT\n");
  assertEquals([r?.key, r?.packets, r?.bytes], ["INPUT -j X", 2n ** 64n - 1n, 2n ** 64n - 2n]);
});

Deno.test("the counter read refuses a rule without counters, with where it was", () => {
  const noCounters = fixture("netmon-iptables-1.8.9-nft-save.txt");
  throws(
    () => counted(noCounters, "iptables-save -c"),
    /^DataError: iptables-save -c line 8: expected "\[packets:bytes\] -A CHAIN …"/,
  );
  for (const bad of ["[1:x] -A INPUT -j X", "[1:2]-A INPUT", "[12] -A INPUT -j X", "[1:2] -I INPUT -j X"]) {
    throws(() => counted(`*filter\n${bad}\n`), /t line 2: expected/, bad);
  }
});
