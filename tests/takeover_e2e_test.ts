/**
 * Another config's meter of the same name on the same iptables chain or
 * nftables table, end to end in namespaces the tests create and delete:
 * `start` must not replace its rules, or feed its counter this config's
 * traffic, unasked. And what a changed nftables table (or source) leaves.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import {
  must,
  netmon,
  netnsTest,
  nftCounters,
  type Pair,
  sendUdp,
  withPair,
  withTempDir,
  withTwoConfigs,
  writeConfig,
} from "./helpers.ts";
import { readInstalled } from "../lib/state/installed.ts";
import { stateFiles } from "../lib/state/files.ts";

/** The filter table of a's namespace as `iptables-save` (or ip6tables-save) prints it, without its comment lines. */
async function ruleset(p: Pair, save = "iptables-save"): Promise<string> {
  const text = await must("ip", ["netns", "exec", p.a, save, "-t", "filter"]);
  return text.split("\n").filter((l) => !l.startsWith("#")).join("\n");
}

/** netmon's iptables rules in a's namespace, as `-A HOOK ... -j CHAIN` lines, sorted. */
async function netmonRules(p: Pair): Promise<string[]> {
  return (await ruleset(p)).split("\n").filter((l) => l.includes("netmon:")).sort();
}

/** The inet tables in a's namespace. */
async function nftTables(p: Pair): Promise<string[]> {
  const text = await must("ip", ["netns", "exec", p.a, "nft", "list", "tables", "inet"]);
  return [...text.matchAll(/^table inet (\S+)/gm)].map((m) => m[1] as string).sort();
}

/** Config A: default chain, meter web = what b's 192.0.2.2 sends. */
const A = '[[meter]]\nname = "web"\nfrom = "192.0.2.2"\n';
/** Config B: a copy of A's file with another state directory and another network: the same chain and meter name. */
const B = '[[meter]]\nname = "web"\nfrom = "198.51.100.10"\n';
const WEB_A = '-A INPUT -s 192.0.2.2/32 -m comment --comment "netmon:web" -j DOWNLOADED';
const WEB_B = '-A INPUT -s 198.51.100.10/32 -m comment --comment "netmon:web" -j DOWNLOADED';

netnsTest(
  "[iptables] two configs on one chain with one meter name: start refuses to replace the other's rule unless " +
    "--replace; an edit of a meter this config's record lists goes unasked",
  () =>
    withTwoConfigs(A, B, async ({ p, dir, a, b, sa, sb, o }) => {
      assertEquals((await netmon(["start", "-c", a, "-s", sa], o)).code, 0);
      assertEquals((await netmon(["report", "-c", a, "-s", sa], o)).code, 0);
      const refusal = "netmon: start would replace the rules of meter web (INPUT), which differ from this config's " +
        "and which this state directory's record does not list as its own (another config's with the same chain " +
        'and meter name?): give this config its own chain = "..." to meter beside them, or, if they are this ' +
        "config's meter from before netmon kept the record (an edited meter), run " +
        `'deno task netmon start --replace -c ${b} -s ${sb}' to replace them\n`;
      for (const args of [["start"], ["start", "--dry-run"]]) {
        const s = await netmon([...args, "-c", b, "-s", sb], o);
        assertEquals([s.code, s.stdout, s.stderr], [78, "", refusal], `${args.join(" ")}: ${JSON.stringify(s)}`);
      }
      assertEquals(await netmonRules(p), [WEB_A], "nothing changed");
      const stop = await netmon(["stop", "-c", b, "-s", sb], o);
      assertEquals([stop.code, stop.stdout], [78, ""], JSON.stringify(stop));
      ok(
        stop.stderr.startsWith("netmon: stop would remove the rules of meter web (INPUT), which differ"),
        stop.stderr,
      );
      assertEquals(await netmonRules(p), [WEB_A], "nothing changed");
      const toA = await sendUdp(p.b, "192.0.2.1", 10, 100);
      const r = await netmon(["report", "-c", a, "-s", sa], o);
      assertEquals([r.code, r.stderr], [0, ""], "A meters on");
      const log = (await Deno.readTextFile(`${sa}/netmon.log`)).trimEnd().split("\n");
      assertEquals(log.at(-1)?.split("\t")[1], String(toA));
      // --replace takes the meter over; then B's record lists it, and an edit of it goes unasked.
      const replaced = await netmon(["start", "--replace", "-c", b, "-s", sb], o);
      assertEquals([replaced.code, replaced.stderr], [0, ""]);
      assertEquals(await netmonRules(p), [WEB_B]);
      await writeConfig(dir, B.replace("198.51.100.10", "203.0.113.7"), "b.toml");
      const edited = await netmon(["start", "-c", b, "-s", sb], o);
      assertEquals([edited.code, edited.stderr], [0, ""]);
      assertEquals(await netmonRules(p), [WEB_B.replace("198.51.100.10", "203.0.113.7")]);
      // The same edit with no record (installed by a netmon from before the record): asked once.
      await Deno.remove(`${sb}/netmon.installed`);
      await writeConfig(dir, B, "b.toml");
      const upgrade = await netmon(["start", "-c", b, "-s", sb], o);
      assertEquals([upgrade.code, upgrade.stderr], [78, refusal]);
      assertEquals((await netmon(["start", "--replace", "-c", b, "-s", sb], o)).code, 0);
      assertEquals(await netmonRules(p), [WEB_B]);
      // An unchanged meter with no record is this config's as ever: nothing to ask.
      await Deno.remove(`${sb}/netmon.installed`);
      const same = await netmon(["start", "-c", b, "-s", sb], o);
      assertEquals([same.code, same.stderr, same.stdout], [
        0,
        "",
        "all 1 meters' rules are installed: nothing to change\n",
      ]);
    }),
);

const NFT_A = `source = "nftables"\n${A}`;
const NFT_B = `source = "nftables"\n${B}`;

netnsTest(
  "[nftables] two configs on one table with one meter name: start refuses to feed the other's counter unless " +
    "--replace; the record keeps the table",
  () =>
    withTwoConfigs(NFT_A, NFT_B, async ({ p, dir, a, b, sa, sb, o }) => {
      assertEquals((await netmon(["start", "-c", a, "-s", sa], o)).code, 0);
      const refusal = "netmon: start would replace the rules of meter web (table inet netmon), which differ from " +
        "this config's and which this state directory's record does not list as its own (another config's with the " +
        'same table and meter name?): give this config its own table = "..." to meter beside them, or, if they ' +
        "are this config's meter from before netmon kept the record (an edited meter), run " +
        `'deno task netmon start --replace -c ${b} -s ${sb}' to replace them\n`;
      const s = await netmon(["start", "-c", b, "-s", sb], o);
      assertEquals([s.code, s.stdout, s.stderr], [78, "", refusal]);
      const stop = await netmon(["stop", "-c", b, "-s", sb], o);
      assertEquals([stop.code, stop.stdout], [78, ""], JSON.stringify(stop));
      ok(stop.stderr.startsWith("netmon: stop would delete the counter and rules of meter web (table inet netmon)"));
      const toB = await sendUdp(p.b, "198.51.100.1", 7, 200);
      const toA = await sendUdp(p.b, "192.0.2.1", 10, 100);
      assertEquals(await nftCounters(p.a), new Map([["web", BigInt(toA)]]), `A's counter, not B's ${toB} bytes`);
      const replaced = await netmon(["start", "--replace", "-c", b, "-s", sb], o);
      assertEquals([replaced.code, replaced.stderr], [0, ""]);
      assertEquals(readInstalled(stateFiles(sb))?.table, "netmon");
      await writeConfig(dir, NFT_B.replace("198.51.100.10", "203.0.113.7"), "b.toml");
      const edited = await netmon(["start", "-c", b, "-s", sb], o);
      assertEquals([edited.code, edited.stderr], [0, ""], "an edit of B's own meter goes unasked");
      assertEquals(readInstalled(stateFiles(sa))?.table, "netmon");
    }),
);

netnsTest(
  "[nftables] a table changed in the config: start deletes the config's old table, stop too",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, `table = "nmold"\n${NFT_A}`);
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
        await writeConfig(dir, `table = "nmnew"\n${NFT_A}`);
        const s = await netmon(["start", "-c", config, "-s", dir], o);
        assertEquals([s.code, s.stderr], [0, ""]);
        assertEquals(
          s.stdout,
          "create table inet nmnew\nadd counter web\nwrite 1 rule in chain input\n" +
            "delete table inet nmold (no longer this config's)\n",
        );
        assertEquals(await nftTables(p), ["nmnew"]);
        assertEquals(readInstalled(stateFiles(dir))?.table, "nmnew");
        // Changed again and stopped before a start: stop deletes the table the last start installed.
        await writeConfig(dir, `table = "nmthird"\n${NFT_A}`);
        const stop = await netmon(["stop", "-c", config, "-s", dir], o);
        assertEquals([stop.code, stop.stderr], [0, ""]);
        assertEquals(
          stop.stdout,
          "delete table inet nmnew (no longer this config's) with its 1 counter(s) and 1 rule(s)\n",
        );
        assertEquals(await nftTables(p), []);
      })
    ),
);

netnsTest(
  "[iptables] a source changed from iptables to nftables and back: start says what it leaves of the old rules",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, A);
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
        await writeConfig(dir, NFT_A);
        const s = await netmon(["start", "-c", config, "-s", dir], o);
        assertEquals([s.code, s.stderr], [0, ""]);
        ok(
          s.stdout.endsWith(
            "leave the iptables rules this config's last start installed (chain DOWNLOADED, meter web): they count on; " +
              `remove them with 'deno task netmon stop -c ${config} -s ${dir}' with source = "iptables" in the config, or iptables -D\n`,
          ),
          s.stdout,
        );
        assertEquals(await netmonRules(p), [WEB_A]);
        // And back: the iptables rules are still there, the table is left, and said so.
        await writeConfig(dir, A);
        const back = await netmon(["start", "-c", config, "-s", dir], o);
        assertEquals([back.code, back.stderr], [0, ""]);
        assertEquals(
          back.stdout,
          "all 1 meters' rules are installed: nothing to change\n" +
            "leave table inet netmon, which this config's last start installed (meter web): it counts on; delete it " +
            `with 'deno task netmon stop -c ${config} -s ${dir}' with source = "nftables" in the config, or nft delete table inet netmon\n`,
        );
        assertEquals(await nftTables(p), ["netmon"]);
      })
    ),
);

netnsTest(
  "[iptables] what start leaves alone: another config's rules, with a word on a chain change only for this config's " +
    "meters; netmon-tagged rules made by hand (no jump, or to ACCEPT) said to be so",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const o = { ns: p.a, dirs: [dir] };
        const a = await writeConfig(dir, `chain = "METERA"\n${A}`, "a.toml");
        const b = await writeConfig(dir, `chain = "METERB"\n${B}`, "b.toml");
        const c = await writeConfig(dir, `chain = "METERC"\n${B.replace("web", "c-web")}`, "c.toml");
        for (const [config, state] of [[b, "sb"], [c, "sc"]]) {
          assertEquals((await netmon(["start", "-c", config as string, "-s", `${dir}/${state}`], o)).code, 0);
        }
        const hand = ["-A", "INPUT", "-s", "203.0.113.9", "-m", "comment", "--comment", "netmon:hand"];
        await must("ip", ["netns", "exec", p.a, "iptables", ...hand, "-j", "ACCEPT"]);
        await must("ip", [
          "netns",
          "exec",
          p.a,
          "iptables",
          "-A",
          "INPUT",
          "-m",
          "comment",
          "--comment",
          "netmon:nojump",
        ]);
        const byHand = "made by hand, not by netmon (its rules jump to a config's chain)";
        const s = await netmon(["start", "-c", a, "-s", `${dir}/sa`], o);
        assertEquals([s.code, s.stderr], [0, ""]);
        assertEquals(
          s.stdout,
          "create chain METERA\nadd rule for meter web to INPUT\n" +
            `leave 1 netmon rule alone that jumps nowhere (meter nojump): ${byHand}\n` +
            `leave 1 netmon rule alone that jumps to ACCEPT (meter hand): ${byHand}\n` +
            "leave 1 netmon rule alone that jumps to chain METERB (meter web): another config's, or this config's " +
            "from before a chain change (this state directory has no record of it): then remove them with " +
            "iptables -D\n" +
            "leave 1 netmon rule alone that jumps to chain METERC (meter c-web): another config's\n",
        );
      })
    ),
);
