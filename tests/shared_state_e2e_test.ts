/**
 * Two configs pointed at one state directory, end to end in namespaces the
 * tests create and delete: their reports would write one log under two
 * headers in turn, and each would bill the other's columns as new. `start`
 * of the second config refuses, naming the first, unless `--replace` says
 * the first is gone; `stop` of one config leaves the other's record.
 */
import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import { netmon, netmonRuleTargets, netnsTest, withPair, withTempDir, withTwoConfigs, writeConfig } from "./helpers.ts";
import { readInstalled } from "../lib/state/installed.ts";
import { stateFiles } from "../lib/state/files.ts";

/** Config A: what b's proxy address (198.51.100.10) sends, in netmon's default chain. */
const A = '[[meter]]\nname = "a-proxy"\nfrom = "198.51.100.10"\n';
/** Config B: what b's other address (192.0.2.2) sends, in a chain of its own. */
const B = 'chain = "NETMON_B"\n[[meter]]\nname = "b-web"\nfrom = "192.0.2.2"\n';

netnsTest(
  "[iptables] a second config's start refuses a state directory another config uses; --replace takes it over",
  () =>
    withTwoConfigs(A, B, async ({ p, dir, a, b, o }) => {
      const shared = `${dir}/state`;
      assertEquals((await netmon(["start", "-c", a, "-s", shared], o)).code, 0);
      assertEquals((await netmon(["report", "-c", a, "-s", shared], o)).code, 0);

      const refused = await netmon(["start", "-c", b, "-s", shared], o);
      assertEquals([refused.code, refused.stdout], [78, ""], JSON.stringify(refused));
      assertEquals(refused.stderr.split("\n").length, 2, `one line: ${refused.stderr}`);
      match(refused.stderr, new RegExp(`state directory ${shared} is used by ${a.replaceAll(".", "\\.")}`));
      match(refused.stderr, /give this config its own state_dir/);
      // The start that takes the directory over acts on this config and directory, as run.
      ok(
        refused.stderr.includes(`run 'deno task netmon start --replace -c ${b} -s ${shared}' with this config`),
        refused.stderr,
      );
      assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED"], "nothing installed");
      assertEquals(readInstalled(stateFiles(shared))?.config, a, "the record still names A");
      const dry = await netmon(["start", "--dry-run", "-c", b, "-s", shared], o);
      assertEquals([dry.code, dry.stderr], [78, refused.stderr], "a dry run says what start would do: refuse");

      // Its own state directory: B meters beside A.
      assertEquals((await netmon(["start", "-c", b, "-s", `${dir}/sb`], o)).code, 0);
      assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED", "b-web -> NETMON_B"]);
      // B's stop, pointed at A's directory by mistake, removes B's rules but not A's record.
      assertEquals((await netmon(["stop", "-c", b, "-s", shared], o)).code, 0);
      assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED"]);
      assertEquals(readInstalled(stateFiles(shared))?.config, a, "B's stop left A's record");

      // A is gone (say, renamed to B): --replace takes the directory over.
      const replaced = await netmon(["start", "--replace", "-c", b, "-s", shared], o);
      assertEquals([replaced.code, replaced.stderr], [0, ""]);
      assertEquals(readInstalled(stateFiles(shared))?.config, b);
      ok((await netmon(["start", "-c", b, "-s", shared], o)).code === 0, "B's own directory now");
      assertEquals((await netmon(["start", "-c", a, "-s", shared], o)).code, 78, "A is refused in turn");
    }),
);

netnsTest(
  "[iptables] a report of another config in a state directory is refused before anything is written there",
  () =>
    withTwoConfigs(A, B, async ({ dir, a, b, o }) => {
      const shared = `${dir}/state`;
      assertEquals((await netmon(["start", "-c", a, "-s", shared], o)).code, 0);
      assertEquals((await netmon(["report", "-c", a, "-s", shared], o)).code, 0);
      // B meters from its own directory, and is then pointed at A's by mistake.
      assertEquals((await netmon(["start", "-c", b, "-s", `${dir}/sb`], o)).code, 0);
      const before = await Promise.all(
        ["netmon.log", "netmon.last", "netmon.status"].map((f) => Deno.readTextFile(`${shared}/${f}`)),
      );
      const r = await netmon(["report", "-c", b, "-s", shared], o);
      assertEquals([r.code, r.stdout], [78, ""], JSON.stringify(r));
      assertEquals(r.stderr.split("\n").length, 2, `one line: ${r.stderr}`);
      match(
        r.stderr,
        new RegExp(`^netmon: report: state directory ${shared} is used by ${a.replaceAll(".", "\\.")} `),
      );
      match(r.stderr, /give this config its own state_dir/);
      ok(r.stderr.includes(`run 'deno task netmon start --replace -c ${b} -s ${shared}' with this config`), r.stderr);
      const after = await Promise.all(
        ["netmon.log", "netmon.last", "netmon.status"].map((f) => Deno.readTextFile(`${shared}/${f}`)),
      );
      assertEquals(after, before, "A's log, last sample and status are as they were");
      assertEquals((await netmon(["report", "-c", a, "-s", shared], o)).code, 0, "A's own reports go on");
    }),
);

netnsTest(
  "[iptables] a config given by a link that a deploy moves is the same config: no refusal after the link moves",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        for (const release of ["rel1", "rel2"]) {
          await Deno.mkdir(`${dir}/${release}`);
          await Deno.writeTextFile(`${dir}/${release}/netmon.toml`, A);
        }
        await Deno.symlink(`${dir}/rel1`, `${dir}/current`);
        const config = `${dir}/current/netmon.toml`;
        const state = `${dir}/state`;
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(["start", "-c", config, "-s", state], o)).code, 0);
        assertEquals((await netmon(["report", "-c", config, "-s", state], o)).code, 0);
        // The next release: the link moves to a copy of the config.
        await Deno.remove(`${dir}/current`);
        await Deno.symlink(`${dir}/rel2`, `${dir}/current`);
        const again = await netmon(["start", "-c", config, "-s", state], o);
        assertEquals([again.code, again.stderr], [0, ""], JSON.stringify(again));
        const r = await netmon(["report", "-c", config, "-s", state], o);
        assertEquals([r.code, r.stderr], [0, ""], JSON.stringify(r));
        assertEquals(readInstalled(stateFiles(state))?.given, config);
        // Another config is still another, whatever link it is given by.
        const b = await writeConfig(dir, B, "b.toml");
        assertEquals((await netmon(["start", "-c", b, "-s", state], o)).code, 78);
      })
    ),
);

netnsTest(
  "[iptables] a state directory other users can write: start does not believe its record of installed rules",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const both = `${A}[[meter]]\nname = "old"\nfrom = "203.0.113.9"\n`;
        const a = await writeConfig(dir, both, "a.toml");
        const state = `${dir}/state`;
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(["start", "-c", a, "-s", state], o)).code, 0);
        // Meter old is taken out of the config; the directory is left open to other users.
        await Deno.writeTextFile(a, A);
        await Deno.chmod(state, 0o777);
        const r = await netmon(["start", "-n", "-c", a, "-s", state], o);
        assertEquals(r.code, 78, `the record is not believed: old is not known as this config's: ${JSON.stringify(r)}`);
        match(r.stderr, new RegExp(`the state directory ${state} can be written by other users`));
        match(r.stderr, /start would remove the rules of meter old/);
        // Closed again, the record is believed: old is this config's to remove.
        await Deno.chmod(state, 0o750);
        const ok2 = await netmon(["start", "-c", a, "-s", state], o);
        assertEquals([ok2.code, ok2.stderr], [0, ""], JSON.stringify(ok2));
        ok(ok2.stdout.includes("remove stale rule of old from INPUT"), ok2.stdout);
        assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED"]);
      })
    ),
);
