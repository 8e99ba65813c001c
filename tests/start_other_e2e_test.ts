/**
 * Two configs on one firewall, end to end in namespaces the tests create and
 * delete: `start` (and `stop`) of one config never silently removes another
 * config's rules or counters; configs with their own iptables chain or
 * nftables table meter side by side; and a meter taken out of the one config
 * that installed it is still removed by `start` without being asked.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import {
  addedChains,
  iptablesCounters,
  netmon,
  netmonRuleTargets,
  netnsTest,
  nftCounters,
  sendUdp,
  withPair,
  withTempDir,
  withTwoConfigs,
  writeConfig,
} from "./helpers.ts";

/** Config A: what b's proxy address (198.51.100.10) sends. */
const A = '[[meter]]\nname = "a-proxy"\nfrom = "198.51.100.10"\n';
/** Config B: what b's other address (192.0.2.2) sends. */
const B = '[[meter]]\nname = "b-web"\nfrom = "192.0.2.2"\n';

netnsTest(
  "[iptables] a second config's start refuses to remove the first's rules (same chain); --replace removes them",
  () =>
    withTwoConfigs(A, B, async ({ p, a, b, sa, sb, o }) => {
      assertEquals((await netmon(["start", "-c", a, "-s", sa], o)).code, 0);
      assertEquals((await netmon(["report", "-c", a, "-s", sa], o)).code, 0);
      const refused = await netmon(["start", "-c", b, "-s", sb], o);
      assertEquals([refused.code, refused.stdout], [78, ""], JSON.stringify(refused));
      assertEquals(
        refused.stderr,
        "netmon: start would remove the rules of meter a-proxy (INPUT), which this config does not have and " +
          `did not install (another config's?): run 'deno task netmon start --replace -c ${b} -s ${sb}' to remove ` +
          'them, or give this config its own chain = "..." to meter beside them\n',
      );
      assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED"], "nothing changed");
      const dry = await netmon(["start", "--dry-run", "-c", b, "-s", sb], o);
      assertEquals([dry.code, dry.stderr], [78, refused.stderr], "a dry run says what start would do: refuse");
      const sent = await sendUdp(p.b, "198.51.100.1", 10, 100);
      const r = await netmon(["report", "-c", a, "-s", sa], o);
      assertEquals([r.code, r.stderr], [0, ""], "A's metering goes on");
      assertEquals((await iptablesCounters(p.a)).get("a-proxy"), BigInt(sent));
      const replaced = await netmon(["start", "--replace", "-c", b, "-s", sb], o);
      assertEquals([replaced.code, replaced.stderr], [0, ""]);
      ok(replaced.stdout.includes("remove stale rule of a-proxy from INPUT\n"), replaced.stdout);
      assertEquals(await netmonRuleTargets(p), ["b-web -> DOWNLOADED"]);
      // Now B is the config that installed the rules: its start has nothing to change, A's is refused in turn.
      assertEquals((await netmon(["start", "-c", b, "-s", sb], o)).code, 0);
      assertEquals((await netmon(["start", "-c", a, "-s", sa], o)).code, 78);
    }),
);

netnsTest(
  "[iptables] a config with its own chain meters beside another: start and stop leave the other's rules",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const a = await writeConfig(dir, A, "a.toml");
        const c = await writeConfig(dir, `chain = "METERC"\n${B.replace("b-web", "c-web")}`, "c.toml");
        const o = { ns: p.a, dirs: [dir] };
        for (const [config, state] of [[a, "sa"], [c, "sc"], [a, "sa"]]) {
          const s = await netmon(["start", "-c", config as string, "-s", `${dir}/${state}`], o);
          assertEquals([s.code, s.stderr], [0, ""], `start ${config}`);
        }
        assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED", "c-web -> METERC"]);
        const toA = await sendUdp(p.b, "198.51.100.1", 10, 100);
        const toC = await sendUdp(p.b, "192.0.2.1", 7, 200);
        for (const [config, state] of [[a, "sa"], [c, "sc"]]) {
          const r = await netmon(["report", "-c", config as string, "-s", `${dir}/${state}`], o);
          assertEquals([r.code, r.stderr], [0, ""], `report ${config}`);
        }
        assertEquals(await iptablesCounters(p.a), new Map([["a-proxy", BigInt(toA)], ["c-web", BigInt(toC)]]));
        const stop = await netmon(["stop", "-c", c, "-s", `${dir}/sc`], o);
        assertEquals([stop.code, stop.stderr], [0, ""]);
        assertEquals(
          stop.stdout,
          "remove rule of c-web from INPUT\ndelete chain METERC\n" +
            "leave 1 netmon rule alone that jumps to chain DOWNLOADED (meter a-proxy): another config's\n",
          "A's rule is left, and said so",
        );
        assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED"]);
        assertEquals(await addedChains(p), ["DOWNLOADED"]);
        assertEquals((await netmon(["report", "-c", a, "-s", `${dir}/sa`], o)).code, 0);
      })
    ),
);

netnsTest(
  "[iptables] stop of a second config with the same chain refuses to remove the first's rules; --replace does",
  () =>
    withTwoConfigs(A, B, async ({ p, a, b, sa, sb, o }) => {
      assertEquals((await netmon(["start", "-c", a, "-s", sa], o)).code, 0);
      const refused = await netmon(["stop", "-c", b, "-s", sb], o);
      assertEquals([refused.code, refused.stdout], [78, ""], JSON.stringify(refused));
      ok(/^netmon: stop would remove the rules of meter a-proxy \(INPUT\), .*--replace.*\n$/.test(refused.stderr));
      assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED"]);
      const replaced = await netmon(["stop", "--replace", "-c", b, "-s", sb], o);
      assertEquals([replaced.code, replaced.stderr], [0, ""]);
      assertEquals([await netmonRuleTargets(p), await addedChains(p)], [[], []]);
    }),
);

netnsTest(
  "[iptables] a meter taken out of the config that installed it: start removes its rule unasked",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, A + B);
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
        assertEquals((await netmon(["report", "-c", config, "-s", dir], o)).code, 0);
        await writeConfig(dir, A);
        const s = await netmon(["start", "-c", config, "-s", dir], o);
        assertEquals([s.code, s.stderr], [0, ""]);
        assertEquals(s.stdout, "remove stale rule of b-web from INPUT\nkeep 1 installed rule and their counters\n");
        assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED"]);
        assertEquals((await netmon(["report", "-c", config, "-s", dir], o)).code, 0);
        // And stop removes what that config's start installed, whatever the config holds now.
        await writeConfig(dir, B);
        const stop = await netmon(["stop", "-c", config, "-s", dir], o);
        assertEquals([stop.code, stop.stderr], [0, ""]);
        assertEquals(await netmonRuleTargets(p), []);
      })
    ),
);

const NFT_A = `source = "nftables"\n${A}`;
const NFT_B = `source = "nftables"\n${B}`;

netnsTest(
  "[nftables] a second config's start refuses to delete the first's counters (same table); its own table coexists",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const a = await writeConfig(dir, NFT_A, "a.toml");
        const b = await writeConfig(dir, NFT_B, "b.toml");
        const c = await writeConfig(dir, `table = "netmonc"\n${NFT_B.replace("b-web", "c-web")}`, "c.toml");
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(["start", "-c", a, "-s", `${dir}/sa`], o)).code, 0);
        const refused = await netmon(["start", "-c", b, "-s", `${dir}/sb`], o);
        assertEquals([refused.code, refused.stdout], [78, ""], JSON.stringify(refused));
        assertEquals(
          refused.stderr,
          "netmon: start would delete the counter of meter a-proxy (table inet netmon), which this config does not " +
            `have and did not install (another config's?): run 'deno task netmon start --replace -c ${b} -s ${dir}/sb' ` +
            'to delete it, or give this config its own table = "..." to meter beside it\n',
        );
        assertEquals([...(await nftCounters(p.a)).keys()], ["a-proxy"], "nothing changed");
        const stop = await netmon(["stop", "-c", b, "-s", `${dir}/sb`], o);
        assertEquals([stop.code, stop.stdout], [78, ""], "stop would delete the table with A's counter");
        assertEquals((await netmon(["start", "-c", c, "-s", `${dir}/sc`], o)).code, 0);
        const toA = await sendUdp(p.b, "198.51.100.1", 10, 100);
        const toC = await sendUdp(p.b, "192.0.2.1", 7, 200);
        assertEquals(await nftCounters(p.a), new Map([["a-proxy", BigInt(toA)]]));
        assertEquals(await nftCounters(p.a, "netmonc"), new Map([["c-web", BigInt(toC)]]));
        const replaced = await netmon(["start", "--replace", "-c", b, "-s", `${dir}/sb`], o);
        assertEquals([replaced.code, replaced.stderr], [0, ""]);
        ok(replaced.stdout.includes("delete counter a-proxy (no meter uses it)\n"), replaced.stdout);
        assertEquals([...(await nftCounters(p.a)).keys()], ["b-web"]);
        // A meter taken out of the config that installed it goes unasked.
        await writeConfig(dir, NFT_A, "b.toml");
        const edited = await netmon(["start", "-c", b, "-s", `${dir}/sb`], o);
        assertEquals([edited.code, edited.stderr], [0, ""]);
        assertEquals([...(await nftCounters(p.a)).keys()], ["a-proxy"]);
      })
    ),
);

netnsTest(
  "[iptables] a record start cannot read is warned of; start goes on as without one, and asks where it must",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, A + B);
        const o = { ns: p.a, dirs: [dir] };
        await Deno.mkdir(`${dir}/state`);
        await Deno.symlink(`${dir}/elsewhere`, `${dir}/state/netmon.installed`);
        const s = await netmon(["start", "-c", config, "-s", `${dir}/state`], o);
        assertEquals(s.code, 0, s.stderr);
        ok(
          /^netmon: warning: .*netmon\.installed.*: rules of meters taken out of this config will be taken for another's\n/
            .test(s.stderr),
          JSON.stringify(s),
        );
        assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED", "b-web -> DOWNLOADED"]);
        // Without the record, a meter taken out of the config is another config's as far as start can tell.
        await writeConfig(dir, A);
        const refused = await netmon(["start", "-c", config, "-s", `${dir}/state`], o);
        assertEquals(refused.code, 78, refused.stderr);
        ok(refused.stderr.includes("start would remove the rules of meter b-web (INPUT)"), refused.stderr);
      })
    ),
);
