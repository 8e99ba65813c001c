import { deepEqual as assertEquals } from "node:assert/strict";
import { listedAddress, parseAddressMatch } from "../lib/config/address.ts";

Deno.test("IPv4 addresses and CIDRs become iptables-save's canonical text", () => {
  assertEquals(parseAddressMatch("192.168.1.10"), { negated: false, family: 4, cidr: "192.168.1.10/32" });
  assertEquals(parseAddressMatch("!192.168.1.0/24"), { negated: true, family: 4, cidr: "192.168.1.0/24" });
  assertEquals(
    parseAddressMatch("192.168.1.77/24"),
    "has host bits set under its /24: did you mean the network 192.168.1.0/24, or the one address 192.168.1.77?",
  );
  assertEquals(parseAddressMatch("0.0.0.0/0"), { negated: false, family: 4, cidr: "0.0.0.0/0" });
});

Deno.test("IPv6 addresses are parsed and printed per RFC 5952", () => {
  assertEquals(parseAddressMatch("2001:DB8:0:0:0:0:0:1"), { negated: false, family: 6, cidr: "2001:db8::1/128" });
  assertEquals(parseAddressMatch("2001:db8::/32"), { negated: false, family: 6, cidr: "2001:db8::/32" });
  assertEquals(parseAddressMatch("!2001:db8:1:2::/64"), { negated: true, family: 6, cidr: "2001:db8:1:2::/64" });
  assertEquals(
    parseAddressMatch("!2001:db8:1:2::5/64"),
    "has host bits set under its /64: did you mean the network !2001:db8:1:2::/64, or the one address !2001:db8:1:2::5?",
  );
  assertEquals(parseAddressMatch("::ffff:192.0.2.1"), { negated: false, family: 6, cidr: "::ffff:c000:201/128" });
});

Deno.test("anything that is not an address is refused with a reason", () => {
  for (
    const bad of [
      "",
      "192.168.1",
      "192.168.1.256",
      "192.168.01.1",
      "192.168.1.0/33",
      "192.168.1.0/-1",
      "192.0.2.1; reboot",
      "$(id)",
      "`id`",
      "192.0.2.1\n-j ACCEPT",
      " 192.0.2.1",
      "1:2:3:4:5:6:7:8:9",
      "2001:db8::/129",
      "2001:db8:::1",
      "x".repeat(100),
    ]
  ) {
    const r = parseAddressMatch(bad);
    if (typeof r !== "string") throw new Error(`${JSON.stringify(bad)} was accepted as ${JSON.stringify(r)}`);
  }
});

Deno.test("listedAddress gives what iptables -L -n prints", () => {
  const m = (t: string) => {
    const r = parseAddressMatch(t);
    if (typeof r === "string") throw new Error(r);
    return r;
  };
  assertEquals(listedAddress(m("192.168.1.10")), "192.168.1.10");
  assertEquals(listedAddress(m("!192.168.1.0/24")), "!192.168.1.0/24");
  assertEquals(listedAddress(m("2001:db8::1")), "2001:db8::1");
});
