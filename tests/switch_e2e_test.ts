/**
 * Switching a config's source (iptables and nftables) and adding a meter, end
 * to end in namespaces the tests create and delete: a counter a `start` made
 * after the last report counts all it counted in the next report, the log
 * says so to every reader (summary agrees with the reports), and what one
 * source's start installed is named, with the command that removes it, by
 * the other source's start, stop and status whichever the order of the
 * switch.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { humanReadable } from "../lib/usage/units.ts";
import { netmon, type NetmonRun, netnsTest, run, sendUdp, withPair, withTempDir, writeConfig } from "./helpers.ts";

/** What b's proxy address (198.51.100.10) sends to a. */
const SALES = '[[meter]]\nname = "sales"\nfrom = "198.51.100.10"\n';
/** What b's other address (192.0.2.2) sends to a: the meter added later. */
const WAN = '[[meter]]\nname = "wan"\nfrom = "192.0.2.2"\n';
const NFT = 'source = "nftables"\n';

/** A report's `New Usage` value of `meter` (its label is its name), or undefined. */
function newUsage(stdout: string, meter: string): string | undefined {
  const line = stdout.split("\n").find((l) => l.startsWith("New Usage"));
  return new RegExp(` ${meter}: (\\S+)`).exec(line ?? "")?.[1];
}

/** `netmon report`, which must succeed without a word on stderr. */
async function report(config: string, dir: string, o: NetmonRun): Promise<string> {
  const r = await netmon(["report", "-c", config, "-s", dir], o);
  assertEquals([r.code, r.stderr], [0, ""], "report");
  return r.stdout;
}

/** Each column's bytes over the whole log, as `netmon summary` counts them. */
async function summaryTotals(config: string, dir: string, o: NetmonRun): Promise<Map<string, bigint>> {
  const s = await netmon(["summary", "-c", config, "-s", dir, "--by", "year", "--csv"], o);
  assertEquals([s.code, s.stderr], [0, ""], "summary");
  const totals = new Map<string, bigint>();
  for (const row of s.stdout.trim().split("\n").slice(1)) {
    const f = row.split(",");
    if (f[3] === "column") totals.set(f[2] as string, (totals.get(f[2] as string) ?? 0n) + BigInt(f[6] as string));
  }
  return totals;
}

async function start(args: string[], config: string, dir: string, o: NetmonRun) {
  const s = await netmon([...args, "-c", config, "-s", dir], o);
  assertEquals([s.code, s.stderr], [0, ""], args.join(" "));
  return s.stdout;
}

netnsTest(
  "[iptables -> nftables] stop, switch, start: the new counter's whole count is the next report's usage",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, SALES);
        const o = { ns: p.a, dirs: [dir] };
        await start(["start"], config, dir, o);
        await report(config, dir, o);
        const before = await sendUdp(p.b, "198.51.100.1", 20, 100 - 28);
        assertEquals(newUsage(await report(config, dir, o), "sales"), humanReadable(BigInt(before)));
        await start(["stop"], config, dir, o);
        await writeConfig(dir, NFT + SALES);
        await start(["start"], config, dir, o);
        // More than the iptables counter held: no counter went down.
        const after = await sendUdp(p.b, "198.51.100.1", 50, 100 - 28);
        const r = await report(config, dir, o);
        assertEquals(newUsage(r, "sales"), humanReadable(BigInt(after)), r);
        ok(r.includes("== RESET DETECTED! == rules re-created: sales;"), r);
        const log = await Deno.readTextFile(`${dir}/netmon.log`);
        ok(log.includes("# netmon reset:\tsales\trules re-created\n"), log);
        assertEquals(await summaryTotals(config, dir, o), new Map([["sales", BigInt(before + after)]]));
      })
    ),
);

for (const source of ["iptables", "nftables"]) {
  netnsTest(
    `[${source}] a meter added later: its first report counts what it counted since start made it, as summary does`,
    () =>
      withPair((p) =>
        withTempDir(async (dir) => {
          const head = source === "nftables" ? NFT : "";
          const config = await writeConfig(dir, head + SALES);
          const o = { ns: p.a, dirs: [dir] };
          await start(["start"], config, dir, o);
          await report(config, dir, o);
          const sales1 = await sendUdp(p.b, "198.51.100.1", 10, 100 - 28);
          await report(config, dir, o);
          await writeConfig(dir, head + SALES + WAN);
          await start(["start"], config, dir, o);
          const wan = await sendUdp(p.b, "192.0.2.1", 30, 100 - 28);
          const sales2 = await sendUdp(p.b, "198.51.100.1", 5, 100 - 28);
          const r = await report(config, dir, o);
          assertEquals(
            [newUsage(r, "sales"), newUsage(r, "wan")],
            [humanReadable(BigInt(sales2)), humanReadable(BigInt(wan))],
            r,
          );
          // The meter was not metered at the last report: no total then.
          ok(/^Last Total - Timestamp: \S+ sales: \S+ wan: -$/m.test(r), r);
          const log = await Deno.readTextFile(`${dir}/netmon.log`);
          ok(log.includes("# netmon reset:\twan\trules re-created\n"), log);
          const more = await sendUdp(p.b, "192.0.2.1", 4, 100 - 28);
          const r2 = await report(config, dir, o);
          assertEquals(newUsage(r2, "wan"), humanReadable(BigInt(more)), r2);
          assertEquals(
            await summaryTotals(config, dir, o),
            new Map([["sales", BigInt(sales1 + sales2)], ["wan", BigInt(wan + more)]]),
          );
        })
      ),
  );
}

netnsTest(
  "[iptables] a meter that netmon did not make: it starts at its first value in the report as in summary",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, SALES);
        const o = { ns: p.a, dirs: [dir] };
        await start(["start"], config, dir, o);
        await report(config, dir, o);
        await writeConfig(dir, SALES + WAN);
        await start(["start"], config, dir, o);
        await sendUdp(p.b, "192.0.2.1", 30, 100 - 28);
        // The record of that start gone (as after a report of another config's, or by hand): netmon does not know.
        await Deno.remove(`${dir}/netmon.started`);
        const r = await report(config, dir, o);
        assertEquals(newUsage(r, "wan"), "0", r);
        const more = await sendUdp(p.b, "192.0.2.1", 4, 100 - 28);
        assertEquals(newUsage(await report(config, dir, o), "wan"), humanReadable(BigInt(more)));
        assertEquals(await summaryTotals(config, dir, o), new Map([["sales", 0n], ["wan", BigInt(more)]]));
      })
    ),
);

netnsTest(
  "[nftables -> iptables] config edited before stop: start, status and doctor go on naming the table left behind",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, NFT + SALES);
        const o = { ns: p.a, dirs: [dir] };
        await start(["start"], config, dir, o);
        await report(config, dir, o);
        await writeConfig(dir, SALES);
        const stop = await start(["stop"], config, dir, o);
        ok(stop.includes("leave table inet netmon, which this config's last start installed (meter sales)"), stop);
        const said = 'table inet netmon, which this config\'s start under source = "nftables" installed (meter ' +
          "sales): it counts on; delete it with 'nft delete table inet netmon'";
        for (const run of [1, 2]) {
          const s = await start(["start"], config, dir, o);
          ok(s.endsWith(`leave ${said}\n`), `start ${run}: ${s}`);
        }
        const status = await netmon(["status", "-c", config, "-s", dir], o);
        assertEquals([status.code, status.stderr], [0, `netmon: warning: ${said}\n`], status.stdout);
        const doctor = await netmon(["doctor", "--json", "-c", config, "-s", dir], o);
        const checks =
          (JSON.parse(doctor.stdout) as { checks: { check: string; verdict: string; said: string; fix?: string }[] })
            .checks;
        const rules = checks.find((c) => c.check === "rules");
        assertEquals([rules?.verdict, rules?.said, rules?.fix], ["problem", said, "nft delete table inet netmon"]);
        // Deleted as said: no more word of it.
        await run("ip", ["netns", "exec", p.a, "nft", "delete", "table", "inet", "netmon"]);
        const s = await start(["start"], config, dir, o);
        ok(!s.includes("table inet netmon"), s);
        ok(!(await Deno.readTextFile(`${dir}/netmon.installed`)).includes("left"));
        const quiet = await netmon(["status", "-c", config, "-s", dir], o);
        assertEquals([quiet.code, quiet.stderr], [0, ""]);
      })
    ),
);

netnsTest(
  "[iptables -> nftables] config edited before stop: every later start names the iptables rules left behind",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, SALES);
        const o = { ns: p.a, dirs: [dir] };
        await start(["start"], config, dir, o);
        await writeConfig(dir, NFT + SALES);
        await start(["stop"], config, dir, o);
        for (const run of [1, 2]) {
          const s = await start(["start"], config, dir, o);
          ok(
            s.includes(
              "the iptables rules this config's last start installed (chain DOWNLOADED, meter sales)",
            ) || s.includes(
              'leave the iptables rules this config\'s start under source = "iptables" installed (chain DOWNLOADED, ' +
                `meter sales): they count on; remove them with 'deno task netmon stop -c ${config} -s ${dir}' with ` +
                'source = "iptables" in the config\n',
            ),
            `start ${run}: ${s}`,
          );
        }
        const status = await netmon(["status", "-c", config, "-s", dir], o);
        ok(status.stderr.includes("chain DOWNLOADED"), status.stderr);
      })
    ),
);
