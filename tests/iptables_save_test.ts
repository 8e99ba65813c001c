import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { parseIptablesSave, quoteArg, splitArgs } from "../lib/sources/iptables_save.ts";

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
