/**
 * `netmon start --replace` taking over another config's nftables counter of
 * the same meter name in the same table, end to end in namespaces the tests
 * create and delete: the counter is made afresh, so the next report of the
 * config that took it over bills only its own traffic since, never the
 * other config's count.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { must, netmon, netnsTest, nftCounters, sendUdp, withTwoConfigs, writeConfig } from "./helpers.ts";

/** Config A: meter web = what b's 192.0.2.2 sends, in the default table. */
const A = 'source = "nftables"\n[[meter]]\nname = "web"\nfrom = "192.0.2.2"\n';
/** Config B: meter web = what b's 198.51.100.10 sends, first in a table of its own. */
const B = 'source = "nftables"\ntable = "nmownb"\n[[meter]]\nname = "web"\nfrom = "198.51.100.10"\n';

/** The usage a report's stdout gives meter `name` (its `New Usage - ... name: N` line). */
function usageOf(stdout: string, name: string): string | undefined {
  const line = stdout.split("\n").find((l) => l.startsWith("New Usage"));
  return new RegExp(` ${name}: (\\S+)$`).exec(line ?? "")?.[1];
}

netnsTest(
  "[nftables] start --replace takes another config's counter of the same name afresh: the next report bills only " +
    "this config's traffic since",
  () =>
    withTwoConfigs(A, B, async ({ p, dir, a, b, sa, sb, o }) => {
      const reportB = () => netmon(["report", "-c", b, "-s", sb], o);
      // B meters in a table of its own first: its log has a value for web.
      assertEquals((await netmon(["start", "-c", b, "-s", sb], o)).code, 0);
      assertEquals((await reportB()).code, 0);
      const earlierB = await sendUdp(p.b, "198.51.100.1", 2, 100);
      const first = await reportB();
      assertEquals([first.code, usageOf(first.stdout, "web")], [0, String(earlierB)], first.stdout);
      assertEquals((await netmon(["stop", "-c", b, "-s", sb], o)).code, 0);
      // A meters web in the default table, with more traffic than B's log holds.
      assertEquals((await netmon(["start", "-c", a, "-s", sa], o)).code, 0);
      assertEquals((await netmon(["report", "-c", a, "-s", sa], o)).code, 0);
      const toA = await sendUdp(p.b, "192.0.2.1", 5, 150);
      const ra = await netmon(["report", "-c", a, "-s", sa], o);
      assertEquals([ra.code, usageOf(ra.stdout, "web")], [0, String(toA)], ra.stdout);
      // B moves to A's table: asked first, then told to take A's meter over.
      await writeConfig(dir, B.replace('table = "nmownb"\n', ""), "b.toml");
      assertEquals((await netmon(["start", "-c", b, "-s", sb], o)).code, 78);
      assertEquals(await nftCounters(p.a), new Map([["web", BigInt(toA)]]), "nothing changed");
      const replaced = await netmon(["start", "--replace", "-c", b, "-s", sb], o);
      assertEquals([replaced.code, replaced.stderr], [0, ""], replaced.stdout);
      ok(replaced.stdout.includes("make counter web afresh"), replaced.stdout);
      const toB = await sendUdp(p.b, "198.51.100.1", 3, 100);
      await sendUdp(p.b, "192.0.2.1", 4, 100); // A's traffic: no longer metered by web
      const r = await reportB();
      assertEquals([r.code, r.stderr], [0, ""], r.stdout);
      assertEquals(usageOf(r.stdout, "web"), String(toB), `only B's ${toB} bytes since the replace: ${r.stdout}`);
      ok(r.stdout.includes("== RESET DETECTED! == counter re-created: web;"), r.stdout);
      assertEquals(await nftCounters(p.a), new Map([["web", BigInt(toB)]]), `A's ${toA} bytes are not B's`);
      const next = await reportB();
      assertEquals([next.code, usageOf(next.stdout, "web")], [0, "0"], next.stdout);
      ok(!next.stdout.includes("RESET"), next.stdout);
    }),
);

netnsTest(
  "[nftables] a config moved to another config's table with a meter of the same name: start asks for --replace, " +
    "then makes the counter afresh, though the record lists the meter (in its old table)",
  () =>
    withTwoConfigs(A, B, async ({ p, dir, a, b, sa, sb, o }) => {
      const reportB = () => netmon(["report", "-c", b, "-s", sb], o);
      assertEquals((await netmon(["start", "-c", a, "-s", sa], o)).code, 0);
      assertEquals((await netmon(["start", "-c", b, "-s", sb], o)).code, 0);
      assertEquals((await reportB()).code, 0);
      const earlierB = await sendUdp(p.b, "198.51.100.1", 2, 100);
      const toA = await sendUdp(p.b, "192.0.2.1", 5, 150);
      assertEquals((await reportB()).code, 0);
      // B's record lists web, in table nmownb: not A's web in table netmon.
      await writeConfig(dir, B.replace('table = "nmownb"\n', ""), "b.toml");
      const asked = await netmon(["start", "-c", b, "-s", sb], o);
      assertEquals([asked.code, asked.stdout], [78, ""], asked.stderr);
      ok(
        asked.stderr.startsWith("netmon: start would replace the rules of meter web (table inet netmon)"),
        asked.stderr,
      );
      assertEquals(await nftCounters(p.a), new Map([["web", BigInt(toA)]]), "nothing changed");
      assertEquals(await nftCounters(p.a, "nmownb"), new Map([["web", BigInt(earlierB)]]), "nothing changed");
      const replaced = await netmon(["start", "--replace", "-c", b, "-s", sb], o);
      assertEquals([replaced.code, replaced.stderr], [0, ""], replaced.stdout);
      ok(replaced.stdout.includes("make counter web afresh"), replaced.stdout);
      const toB = await sendUdp(p.b, "198.51.100.1", 3, 100);
      const r = await reportB();
      assertEquals([r.code, r.stderr], [0, ""], r.stdout);
      assertEquals(usageOf(r.stdout, "web"), String(toB), `only B's ${toB} bytes since the move: ${r.stdout}`);
    }),
);

netnsTest(
  "[nftables] another config's counter whose rules were deleted by hand: start makes it afresh, unasked, and the " +
    "next report bills only this config's traffic since",
  () =>
    withTwoConfigs(A, B.replace('table = "nmownb"\n', ""), async ({ p, a, b, sa, sb, o }) => {
      const reportB = () => netmon(["report", "-c", b, "-s", sb], o);
      // B meters first, then stops (its record goes, its log stays); A meters in the same table.
      assertEquals((await netmon(["start", "-c", b, "-s", sb], o)).code, 0);
      assertEquals((await reportB()).code, 0);
      await sendUdp(p.b, "198.51.100.1", 2, 100);
      assertEquals((await reportB()).code, 0);
      assertEquals((await netmon(["stop", "-c", b, "-s", sb], o)).code, 0);
      assertEquals((await netmon(["start", "-c", a, "-s", sa], o)).code, 0);
      const toA = await sendUdp(p.b, "192.0.2.1", 5, 150);
      await must("ip", ["netns", "exec", p.a, "nft", "flush", "chain", "inet", "netmon", "input"]);
      assertEquals(await nftCounters(p.a), new Map([["web", BigInt(toA)]]));
      const started = await netmon(["start", "-c", b, "-s", sb], o);
      assertEquals([started.code, started.stderr], [0, ""], started.stdout);
      ok(started.stdout.includes("make counter web afresh"), started.stdout);
      const toB = await sendUdp(p.b, "198.51.100.1", 3, 100);
      const r = await reportB();
      assertEquals([r.code, r.stderr], [0, ""], r.stdout);
      assertEquals(usageOf(r.stdout, "web"), String(toB), `only B's ${toB} bytes, not A's ${toA}: ${r.stdout}`);
    }),
);
