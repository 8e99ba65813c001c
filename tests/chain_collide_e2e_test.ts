/**
 * Two iptables configs with their own chains and the same meter name, end to
 * end in namespaces the tests create and delete: a rule's comment
 * (`netmon:NAME`) is the same for both, so what makes a rule a config's is
 * the chain it jumps to (or the chain the config's last start recorded, after
 * a chain change). Each config's start, stop, report and status see only
 * their own rules; stop says what it left alone.
 */
import { deepEqual as assertEquals } from "node:assert/strict";
import {
  addedChains,
  netmon,
  netmonRuleTargets,
  netnsTest,
  sendUdp,
  withPair,
  withTempDir,
  withTwoConfigs,
  writeConfig,
} from "./helpers.ts";

/** Config A: chain METERA, meter web = what b's 192.0.2.2 sends. */
const A = 'chain = "METERA"\n[[meter]]\nname = "web"\nfrom = "192.0.2.2"\n';
/** What start and stop say of a rule of chain METERB, of meter web, without and with a record of this config's chain. */
const LEAVE_B = "leave 1 netmon rule alone that jumps to chain METERB (meter web): another config's";
const NO_RECORD = ", or this config's from before a chain change (this state directory has no record of it): " +
  "then remove them with iptables -D";

/** Config B: chain METERB, a meter of the same name = what b's proxy address 198.51.100.10 sends. */
const B = 'chain = "METERB"\n[[meter]]\nname = "web"\nfrom = "198.51.100.10"\n';

/** The `web` row of `netmon status`: its where, installed and bytes columns. */
function webRow(stdout: string): string {
  const line = stdout.split("\n").find((l) => l.startsWith("web ")) ?? "";
  return line.split(/\s+/).slice(1, 5).join(" ");
}

/** The value of the last sample in a state directory's netmon.log (one column). */
async function lastLogged(state: string): Promise<string> {
  const lines = (await Deno.readTextFile(`${state}/netmon.log`)).trimEnd().split("\n");
  return (lines.at(-1) ?? "").split("\t")[1] ?? "";
}

netnsTest(
  "[iptables] two configs with their own chains and the same meter name: each starts, reports and stops only its own",
  () =>
    withTwoConfigs(A, B, async ({ p, a, b, sa, sb, o }) => {
      const startB = await netmon(["start", "-c", b, "-s", sb], o);
      assertEquals([startB.code, startB.stderr], [0, ""]);
      // A's report before A's start: B's rule of the same name is not A's.
      const early = await netmon(["report", "-c", a, "-s", sa], o);
      assertEquals(
        [early.code, early.stderr],
        [69, `netmon: netmon's rules are not installed for meter web: run 'deno task netmon start -c ${a} -s ${sa}'\n`],
      );
      const startA = await netmon(["start", "-c", a, "-s", sa], o);
      assertEquals([startA.code, startA.stderr], [0, ""]);
      assertEquals(
        startA.stdout,
        "create chain METERA\nadd rule for meter web to INPUT\n" +
          `${LEAVE_B}${NO_RECORD}\n`,
      );
      assertEquals(await netmonRuleTargets(p), ["web -> METERA", "web -> METERB"], "B's rule is still there");
      for (const [config, state] of [[a, sa], [b, sb]] as const) {
        const r = await netmon(["report", "-c", config, "-s", state], o);
        assertEquals([r.code, r.stderr], [0, ""], `first report of ${config}`);
      }
      const toA = await sendUdp(p.b, "192.0.2.1", 10, 100);
      const toB = await sendUdp(p.b, "198.51.100.1", 7, 200);
      for (const [config, state, sent, packets] of [[a, sa, toA, 10], [b, sb, toB, 7]] as const) {
        const r = await netmon(["report", "-c", config, "-s", state], o);
        assertEquals([r.code, r.stderr], [0, ""], `report of ${config}`);
        assertEquals(await lastLogged(state), String(sent), `${config} logs its own rule's count`);
        const s = await netmon(["status", "-c", config, "-s", state], o);
        assertEquals([s.code, s.stderr, webRow(s.stdout)], [0, "", `INPUT yes ${packets} ${sent}`]);
      }
      const again = await netmon(["start", "-c", a, "-s", sa], o);
      assertEquals([again.code, again.stderr], [0, ""]);
      assertEquals(
        again.stdout,
        "all 1 meters' rules are installed: nothing to change\n" +
          `${LEAVE_B}\n`,
      );
      const stopA = await netmon(["stop", "-c", a, "-s", sa], o);
      assertEquals([stopA.code, stopA.stderr], [0, ""]);
      assertEquals(
        stopA.stdout,
        "remove rule of web from INPUT\ndelete chain METERA\n" +
          `${LEAVE_B}\n`,
      );
      assertEquals([await netmonRuleTargets(p), await addedChains(p)], [["web -> METERB"], ["METERB"]]);
      const r = await netmon(["report", "-c", b, "-s", sb], o);
      assertEquals([r.code, r.stderr], [0, ""], "B meters on");
    }),
);

netnsTest(
  "[iptables] stop of a config with no rules installed says so, and what it left alone of other chains",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const a = await writeConfig(dir, A, "a.toml");
        const c = await writeConfig(dir, 'chain = "METERC"\n[[meter]]\nname = "c-web"\nfrom = "192.0.2.2"\n', "c.toml");
        const b = await writeConfig(dir, B, "b.toml");
        const o = { ns: p.a, dirs: [dir] };
        const none = await netmon(["stop", "-c", a, "-s", `${dir}/sa`], o);
        assertEquals([none.code, none.stderr, none.stdout], [
          0,
          "",
          "no netmon rules are installed: nothing to change\n",
        ]);
        for (const [config, state] of [[b, "sb"], [c, "sc"]]) {
          assertEquals((await netmon(["start", "-c", config as string, "-s", `${dir}/${state}`], o)).code, 0);
        }
        const before = await netmonRuleTargets(p);
        const stop = await netmon(["stop", "-c", a, "-s", `${dir}/sa`], o);
        assertEquals([stop.code, stop.stderr], [0, ""]);
        assertEquals(
          stop.stdout,
          "no rules of this config are installed (chain METERA): nothing to change\n" +
            `${LEAVE_B}${NO_RECORD}\n` +
            // c-web is no meter of A's: no word of a chain change.
            "leave 1 netmon rule alone that jumps to chain METERC (meter c-web): another config's\n",
        );
        const dry = await netmon(["stop", "--dry-run", "-c", a, "-s", `${dir}/sa`], o);
        assertEquals([dry.code, dry.stdout], [0, stop.stdout], "a dry run that would change nothing says the same");
        assertEquals(await netmonRuleTargets(p), before);
      })
    ),
);

netnsTest(
  "[iptables] a chain changed in the config: the report says the rules are not installed; start moves them, " +
    "dropped meters too, and deletes the old chain",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const old = '[[meter]]\nname = "old"\nfrom = "198.51.100.10"\n';
        const config = await writeConfig(dir, A + old);
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
        assertEquals((await netmon(["report", "-c", config, "-s", dir], o)).code, 0);
        await writeConfig(dir, A.replace("METERA", "METERN"));
        const r = await netmon(["report", "-c", config, "-s", dir], o);
        assertEquals(
          [r.code, r.stderr],
          [
            69,
            `netmon: netmon's rules are not installed for meter web: run 'deno task netmon start -c ${config} -s ${dir}'\n`,
          ],
        );
        const s = await netmon(["start", "-c", config, "-s", dir], o);
        assertEquals([s.code, s.stderr], [0, ""]);
        assertEquals(
          s.stdout,
          "create chain METERN\nremove stale rule of web from INPUT\nremove stale rule of old from INPUT\n" +
            "add rule for meter web to INPUT\ndelete chain METERA (no longer this config's)\n",
        );
        assertEquals([await netmonRuleTargets(p), await addedChains(p)], [["web -> METERN"], ["METERN"]]);
        const after = await netmon(["report", "-c", config, "-s", dir], o);
        assertEquals([after.code, after.stderr], [0, ""]);
      })
    ),
);

netnsTest(
  "[iptables] a chain changed and a meter dropped with no record of the old chain (installed before netmon kept it): " +
    "start leaves the old rules, says so, and meters on the new chain",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const old = '[[meter]]\nname = "old"\nfrom = "198.51.100.10"\n';
        const config = await writeConfig(dir, A + old);
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
        await Deno.remove(`${dir}/netmon.installed`); // as a netmon from before the record left it
        await writeConfig(dir, A.replace("METERA", "METERN"));
        const s = await netmon(["start", "-c", config, "-s", dir], o);
        assertEquals([s.code, s.stderr], [0, ""]);
        // Another config's rules of the same names would look just the same: netmon cannot tell, so it removes nothing.
        assertEquals(
          s.stdout,
          "create chain METERN\nadd rule for meter web to INPUT\n" +
            `leave 2 netmon rules alone that jump to chain METERA (meters web, old): another config's${NO_RECORD}\n`,
        );
        assertEquals(await netmonRuleTargets(p), ["old -> METERA", "web -> METERA", "web -> METERN"]);
        assertEquals((await netmon(["report", "-c", config, "-s", dir], o)).code, 0);
        const sent = await sendUdp(p.b, "192.0.2.1", 3, 100);
        const r = await netmon(["report", "-c", config, "-s", dir], o);
        assertEquals([r.code, r.stderr, await lastLogged(dir)], [0, "", String(sent)], "counted once, on METERN");
        // With the record now kept, the next start knows its own rules from the old chain's.
        const again = await netmon(["start", "-c", config, "-s", dir], o);
        assertEquals(
          again.stdout,
          "all 1 meters' rules are installed: nothing to change\n" +
            "leave 2 netmon rules alone that jump to chain METERA (meters web, old): another config's\n",
        );
      })
    ),
);
