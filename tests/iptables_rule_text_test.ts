import { equal } from "node:assert/strict";
import { isRuleText, ruleSpec } from "../lib/sources/iptables.ts";
import type { MeterRule } from "../lib/config/meters.ts";
import { seededRandom } from "./random.ts";

/** A random rule of every shape `ruleSpec` writes: each match present or not, negated or not. */
function randomRule(random: () => number): MeterRule {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const maybe = () => random() < 0.5;
  const column = pick(["m0", "web", "a.b@c+d-e_f", "x-inbound", 'odd"name', "back\\slash", "m"]);
  const rule: MeterRule = { column, meter: column, hook: pick(["INPUT", "OUTPUT", "FORWARD"] as const), family: 4 };
  const net = () => ({ negated: maybe(), cidrs: [pick(["192.0.2.0/24", "198.51.100.7/32", "2001:db8::/32"])] });
  const iface = () => ({ negated: maybe(), name: pick(["eth0", "wg+", "br-lan"]) });
  if (maybe()) rule.from = net();
  if (maybe()) rule.to = net();
  if (maybe()) rule.in = iface();
  if (maybe()) rule.out = iface();
  return rule;
}

Deno.test("isRuleText accepts exactly the text ruleSpec writes: every shape, and every one-character change refused", () => {
  const random = seededRandom("rule text");
  const chars = ' !"-\\abcdsio0123456789./:+@_ADEINOPTUWX';
  let checked = 0;
  for (let n = 0; n < 2000; n++) {
    const rule = randomRule(random);
    const chain = random() < 0.5 ? "DOWNLOADED" : "NETMON_B";
    const text = `${rule.hook} ${ruleSpec(rule, chain)}`;
    equal(isRuleText(text, rule, chain), true, text);
    equal(isRuleText(text, rule, chain === "DOWNLOADED" ? "NETMON_B" : "DOWNLOADED"), false, `other chain: ${text}`);
    // Deleted, replaced or inserted at a random place, or cut short, or extended: accepted only if still the text.
    for (let k = 0; k < 10; k++) {
      const at = Math.floor(random() * (text.length + 1));
      const c = chars[Math.floor(random() * chars.length)] as string;
      const changed = [
        text.slice(0, at) + text.slice(at + 1),
        text.slice(0, at) + c + text.slice(at + 1),
        text.slice(0, at) + c + text.slice(at),
        text.slice(0, at),
      ][k % 4] as string;
      equal(
        isRuleText(changed, rule, chain),
        changed === text,
        `${JSON.stringify(changed)} for ${JSON.stringify(text)}`,
      );
      checked++;
    }
  }
  equal(checked, 20000);
});
