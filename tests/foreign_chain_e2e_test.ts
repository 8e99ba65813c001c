/**
 * A config's chain that holds rules netmon did not make, end to end in
 * namespaces the tests create and delete: netmon's rules jump to the chain to
 * count, so the traffic they meter would meet those rules (a DROP there would
 * drop it). `start` refuses it, changing nothing.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { must, netmon, netnsTest, type Pair, withPair, withTempDir, writeConfig } from "./helpers.ts";

/** The filter table of a's namespace as `iptables-save` (or ip6tables-save) prints it, without its comment lines. */
async function ruleset(p: Pair, save = "iptables-save"): Promise<string> {
  const text = await must("ip", ["netns", "exec", p.a, save, "-t", "filter"]);
  return text.split("\n").filter((l) => !l.startsWith("#")).join("\n");
}

netnsTest(
  "[iptables] start refuses a chain that holds rules netmon did not make, in iptables and ip6tables; an empty one is used",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const o = { ns: p.a, dirs: [dir] };
        const families = [["iptables", "iptables-save", "192.0.2.2"], ["ip6tables", "ip6tables-save", "2001:db8::2"]];
        for (const [tool, save, from] of families as [string, string, string][]) {
          const config = await writeConfig(dir, `chain = "FOO"\n[[meter]]\nname = "web"\nfrom = "${from}"\n`);
          await must("ip", ["netns", "exec", p.a, tool, "-N", "FOO"]);
          await must("ip", ["netns", "exec", p.a, tool, "-A", "FOO", "-p", "udp", "--dport", "9", "-j", "DROP"]);
          const before = await ruleset(p, save);
          for (const args of [["start"], ["start", "--dry-run"], ["start", "--replace"]]) {
            const s = await netmon([...args, "-c", config, "-s", `${dir}/s`], o);
            assertEquals([s.code, s.stdout], [78, ""], JSON.stringify(s));
            assertEquals(
              s.stderr,
              `netmon: chain FOO${tool === "ip6tables" ? " in ip6tables" : ""} holds 1 rule netmon did not make ` +
                "(-A FOO -p udp -m udp --dport 9 -j DROP): netmon's rules jump to the config's chain to count, so the " +
                'traffic they meter would meet it; set chain = "..." in the config to a chain that is empty or does not ' +
                "exist (netmon's own)\n",
            );
            assertEquals(await ruleset(p, save), before, `${args.join(" ")}: nothing changed`);
          }
          // Emptied, the chain is as netmon's own would be: start uses it.
          await must("ip", ["netns", "exec", p.a, tool, "-F", "FOO"]);
          const s = await netmon(["start", "-c", config, "-s", `${dir}/s`], o);
          assertEquals([s.code, s.stderr], [0, ""]);
          ok((await ruleset(p, save)).includes('--comment "netmon:web" -j FOO'));
          assertEquals((await netmon(["stop", "-c", config, "-s", `${dir}/s`], o)).code, 0);
        }
      })
    ),
);
