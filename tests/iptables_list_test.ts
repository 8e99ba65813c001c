import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { parseIptablesList } from "../lib/sources/iptables_list.ts";

const fixture = (name: string) => Deno.readTextFileSync(new URL(`./fixtures/${name}`, import.meta.url));

Deno.test("netmon's own rules on iptables 1.8.9 (nf_tables): exact counters, comments, negation", () => {
  const chains = parseIptablesList(fixture("netmon-iptables-1.8.9-nft-L-n-x-v.txt"));
  assertEquals(chains.map((c) => c.name), ["INPUT", "FORWARD", "OUTPUT", "DOCKER-ISOLATION-STAGE-1", "DOWNLOADED"]);
  const input = chains[0]!;
  assertEquals(input.policy, "ACCEPT");
  assertEquals(input.rules.map((r) => [r.target, r.bytes, r.packets, r.source, r.in, r.comments]), [
    ["DOWNLOADED", 1228000n, 1000n, "192.0.2.2", "*", ["netmon:proxy"]],
    ["DOWNLOADED", 1228000n, 1000n, "!198.51.100.0/24", "cv1", ["netmon:non-network"]],
    ["ACCEPT", 0n, 0n, "0.0.0.0/0", "*", ["ssh in"]],
  ]);
  assertEquals(input.rules[2]!.prot, "6");
  assertEquals(input.rules[2]!.options, "tcp dpt:22 /* ssh in */");
  const forward = chains[1]!.rules;
  assertEquals(forward.map((r) => [r.target, r.prot, r.options]), [
    ["DOCKER-ISOLATION-STAGE-1", "0", ""],
    ["DOCKER-ISOLATION-STAGE-1", "17", "[goto]"],
  ]);
  const out = chains[2]!.rules[0]!;
  assertEquals([out.out, out.destination, out.comments], ["cv1", "!192.0.2.0/24", ["netmon:web-out"]]);
  assertEquals(chains[4]!.references, 3);
});

Deno.test("line numbers do not shift the columns", () => {
  const chains = parseIptablesList(fixture("netmon-iptables-1.8.9-nft-L-n-x-v-line-numbers.txt"));
  assertEquals(chains[0]!.rules.map((r) => [r.num, r.bytes, r.target, r.comments[0]]), [
    [1, 1228000n, "DOWNLOADED", "netmon:proxy"],
    [2, 1228000n, "DOWNLOADED", "netmon:non-network"],
    [3, 0n, "ACCEPT", "ssh in"],
  ]);
});

Deno.test("iptables-legacy 1.8.9 output parses the same way", () => {
  const chains = parseIptablesList(fixture("netmon-iptables-1.8.9-legacy-L-n-x-v.txt"));
  assertEquals(chains[0]!.rules.map((r) => [r.bytes, r.target, r.source, r.comments]), [
    [38400n, "DOWNLOADED", "192.0.2.2", ["netmon:proxy"]],
    [38400n, "DOWNLOADED", "!198.51.100.0/24", ["netmon:non-network"]],
    [0n, "ACCEPT", "0.0.0.0/0", []],
  ]);
});

Deno.test("without -x, abbreviated counters are marked inexact", () => {
  const chains = parseIptablesList(fixture("netmon-iptables-1.8.9-nft-L-n-v.txt"));
  const proxy = chains[0]!.rules[0]!;
  assertEquals([proxy.exact, proxy.bytes], [false, 1228000n]);
  const centos = parseIptablesList(fixture("jc-centos7.7-iptables-1.4.21-L-n-v.txt"));
  assertEquals([centos[0]!.rules[0]!.bytes, centos[0]!.rules[0]!.exact], [1130000n, false]);
  assertEquals(centos[0]!.rules[1]!.exact, true);
});

Deno.test("iptables 1.4.21 (CentOS 7.7): long targets, negated interfaces, [goto] with a trailing space", () => {
  const chains = parseIptablesList(fixture("jc-centos7.7-iptables-1.4.21-L-n-v.txt"));
  const input = chains.find((c) => c.name === "INPUT")!;
  assertEquals(input.rules[3]!.target, "INPUT_ZONES_SOURCE");
  assertEquals([input.rules[3]!.packets, input.rules[3]!.bytes], [2383n, 204000n]);
  const forward = chains.find((c) => c.name === "FORWARD")!;
  assertEquals([forward.rules[3]!.in, forward.rules[3]!.out], ["docker0", "!docker0"]);
  const gotos = chains.flatMap((c) => c.rules).filter((r) => r.options === "[goto]");
  assertEquals(gotos.length > 0, true);
  assertEquals(chains.find((c) => c.name === "FORWARD")!.policy, "DROP");
});

Deno.test("line numbers without counters (1.4.21), names not numbers", () => {
  const chains = parseIptablesList(fixture("jc-centos7.7-iptables-1.4.21-L-line-numbers.txt"));
  const input = chains[0]!;
  assertEquals(input.rules.map((r) => r.num), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  assertEquals(input.rules[12]!.target, "ACCEPT");
  assertEquals(input.rules[12]!.source, "15.15.15.0/24");
  assertEquals(input.rules[12]!.options, "tcp dpt:ssh ctstate NEW,ESTABLISHED");
  assertEquals(input.rules[0]!.packets, undefined);
});

Deno.test("nat table listing with a negated destination", () => {
  const chains = parseIptablesList(fixture("jc-centos7.7-iptables-1.4.21-t-nat-L.txt"));
  const output = chains.find((c) => c.name === "OUTPUT")!;
  assertEquals(output.rules[1]!.destination, "!loopback/8");
  assertEquals(output.rules[1]!.options, "ADDRTYPE match dst-type LOCAL");
});

Deno.test("iptables 1.6.1 (Ubuntu 18.04)", () => {
  const chains = parseIptablesList(fixture("jc-ubuntu18.04-iptables-1.6.1-L-n-v.txt"));
  assertEquals(chains[0]!.rules[0]!.in, "lo");
  assertEquals(chains[0]!.rules[0]!.bytes, 6034n);
  assertEquals(chains[2]!.rules.length, 9);
});

Deno.test("a rule with no target leaves the target blank", () => {
  const chains = parseIptablesList(fixture("jc-generic-iptables-L-no-target.txt"));
  assertEquals([chains[0]!.rules[0]!.target, chains[0]!.rules[0]!.prot], ["", "udp"]);
});

Deno.test("upstream test expectations 1.8.8 to 1.8.11: blank opt, numeric and named prot, no target", () => {
  const v188 = parseIptablesList(fixture("iptables-upstream-test-v1.8.8-ip6tables-L-v-n.expected.txt"));
  assertEquals(v188[1]!.rules.map((r) => [r.target, r.prot, r.opt, r.in, r.out, r.source]), [
    ["ACCEPT", "all", "", "eth2", "eth3", "feed:babe::1"],
    ["ACCEPT", "all", "", "eth2", "eth3", "feed:babe::4"],
  ]);
  const v4 = parseIptablesList(fixture("iptables-upstream-test-v1.8.8-iptables-L-v-n.expected.txt"));
  assertEquals(v4[1]!.rules[1]!.destination, "10.0.0.5");
  const v189 = parseIptablesList(fixture("iptables-upstream-test-v1.8.9-ip6tables-L-v-n.expected.txt"));
  assertEquals(v189[1]!.rules.map((r) => [r.target, r.prot, r.options]), [
    ["ACCEPT", "0", ""],
    ["ACCEPT", "0", ""],
    ["", "58", "ipv6-icmptype 1 code 0"],
    ["", "0", "dst length:42 rt type:23"],
    ["LOG", "0", "frag id:1337 LOG flags 0 level 4"],
  ]);
  const v1811 = parseIptablesList(fixture("iptables-upstream-test-v1.8.11-ip6tables-L-v-n.expected.txt"));
  assertEquals(v1811[1]!.rules.map((r) => [r.target, r.prot]), [
    ["ACCEPT", "all"],
    ["ACCEPT", "all"],
    ["", "ipv6-icmp"],
    ["", "all"],
    ["LOG", "all"],
  ]);
});

Deno.test("wide counters never shift the fields", () => {
  const text = "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n" +
    "    pkts      bytes target     prot opt in     out     source               destination\n" +
    "18446744073709551615 18446744073709551615 DOWNLOADED  0    --  *      *       192.0.2.2            0.0.0.0/0            /* netmon:proxy */\n";
  const rule = parseIptablesList(text)[0]!.rules[0]!;
  assertEquals([rule.packets, rule.bytes, rule.target, rule.source], [
    18446744073709551615n,
    18446744073709551615n,
    "DOWNLOADED",
    "192.0.2.2",
  ]);
});

Deno.test("garbage is refused with where it was", () => {
  throws(
    () => parseIptablesList("    0 0 ACCEPT all -- * * 0.0.0.0/0 0.0.0.0/0\n"),
    /line 1: rule before any "Chain" line/,
  );
  throws(
    () =>
      parseIptablesList("Chain INPUT (policy ACCEPT)\n pkts bytes target prot opt in out source destination\nx y\n"),
    /line 3: "x" is not a counter/,
  );
});
