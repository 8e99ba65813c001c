/**
 * What a meter counts: its log columns (with their direction, which
 * customers' in and out come from) and the firewall rules that count it.
 *
 * @module
 */

import { deepEqual as assertEquals } from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import { allColumns, meterRules } from "../lib/config/meters.ts";

Deno.test("address, direction, family and split make the columns and rules a sysadmin expects", () => {
  const c = parseConfig(
    `source = "nftables"
[[meter]]
name = "cust"
address = ["192.0.2.0/28", "2001:db8:1::/48"]
split = ["direction", "family"]
[[meter]]
name = "box"
direction = "both"
[[meter]]
name = "web"
from = "198.51.100.7"
hook = ["input", "FORWARD"]
`,
    "c.toml",
  );
  assertEquals(allColumns(c.meters).map((x) => [x.name, x.label, x.direction]), [
    ["cust-inbound-v4", "cust in IPv4", "in"],
    ["cust-inbound-v6", "cust in IPv6", "in"],
    ["cust-outbound-v4", "cust out IPv4", "out"],
    ["cust-outbound-v6", "cust out IPv6", "out"],
    ["box", "box", undefined],
    ["web", "web", undefined],
  ]);
  const [cust, box, web] = c.meters.map((m) => meterRules(m, false));
  assertEquals(cust!.map((r) => [r.column, r.hook, r.to?.cidrs, r.from?.cidrs]), [
    ["cust-inbound-v4", "INPUT", ["192.0.2.0/28"], undefined],
    ["cust-inbound-v4", "FORWARD", ["192.0.2.0/28"], undefined],
    ["cust-inbound-v6", "INPUT", ["2001:db8:1::/48"], undefined],
    ["cust-inbound-v6", "FORWARD", ["2001:db8:1::/48"], undefined],
    ["cust-outbound-v4", "OUTPUT", undefined, ["192.0.2.0/28"]],
    ["cust-outbound-v4", "FORWARD", undefined, ["192.0.2.0/28"]],
    ["cust-outbound-v6", "OUTPUT", undefined, ["2001:db8:1::/48"]],
    ["cust-outbound-v6", "FORWARD", undefined, ["2001:db8:1::/48"]],
  ]);
  // No address: the machine's own traffic in (INPUT) and out (OUTPUT), both families under nftables.
  assertEquals(box!.map((r) => [r.hook, r.family]), [["INPUT", 4], ["INPUT", 6], ["OUTPUT", 4], ["OUTPUT", 6]]);
  assertEquals(web!.map((r) => [r.hook, r.family]), [["INPUT", 4], ["FORWARD", 4]]);
  // iptables has no sets: a rule per network, and no address means IPv4 only, as the original.
  const ipt = parseConfig(
    '[[meter]]\nname = "a"\nfrom = ["192.0.2.1", "192.0.2.9"]\n[[meter]]\nname = "b"\nin = "eth0"\n',
    "c.toml",
  );
  assertEquals(meterRules(ipt.meters[0]!, true).map((r) => r.from?.cidrs), [["192.0.2.1/32"], ["192.0.2.9/32"]]);
  assertEquals(ipt.meters[1]!.families, [4]);
});

Deno.test("a meter counting one direction, not split, is one column of that direction", () => {
  const c = parseConfig(
    'source = "nftables"\n[[meter]]\nname = "up"\naddress = "192.0.2.0/28"\ndirection = "out"\n' +
      '[[meter]]\nname = "both"\naddress = "198.51.100.0/28"\n',
    "c.toml",
  );
  assertEquals(allColumns(c.meters).map((x) => [x.name, x.direction]), [["up", "out"], ["both", undefined]]);
});
