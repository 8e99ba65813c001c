/**
 * A meter removed from the config and put back WITHOUT `netmon start` (no
 * reset line): its counter kept counting in the kernel meanwhile, and every
 * reader bills it from its own last value in the log. The report, `netmon
 * summary` (the usage engine) and the Prometheus running totals must agree,
 * against real nftables counters in namespaces the test makes and deletes.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { netmon, netnsTest, nftCounters, nftOnly, sendUdp, withPair, withTempDir, writeConfig } from "./helpers.ts";

/** The report's value of `label` on its line `title` (`Last Total`, `New Usage`), exactly (all are under 1024 B). */
function valueOf(stdout: string, title: string, label: string): string {
  const line = stdout.split("\n").find((l) => l.startsWith(`${title} - `)) ?? "";
  return new RegExp(` ${label}: (\\S+)`).exec(line)?.[1] ?? `(no ${label} in ${stdout})`;
}

/** to1's running total in the textfile `prom` (-1 when missing). */
async function totalOf(prom: string): Promise<bigint> {
  const text = await Deno.readTextFile(prom);
  return BigInt(/^netmon_traffic_bytes_total\{column="to1",[^}]*\} (\d+)$/m.exec(text)?.[1] ?? -1);
}

netnsTest(
  "[rejoin] a meter removed and put back without start: the report, the summary and the running totals bill what " +
    "its counter counted while away, once",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const prom = `${dir}/netmon.prom`;
        const b4 = '[[meter]]\nname = "b4"\nfrom = "192.0.2.2"\n';
        const to1 = '[[meter]]\nname = "to1"\nto = "192.0.2.1"\n';
        const tail = `[prometheus]\ntextfile = "${prom}"\n`;
        // One config file, edited: its meters with to1 (m2) and without (m1).
        const m2 = `source = "nftables"\n${b4}${to1}${tail}`, m1 = `source = "nftables"\n${b4}${tail}`;
        const config = await writeConfig(dir, m2);
        const o = nftOnly(p.a, [dir]);
        const report = async (text: string) => {
          await writeConfig(dir, text);
          const r = await netmon(["report", "-c", config, "-s", dir], o);
          assertEquals([r.code, r.stderr], [0, ""]);
          return r.stdout;
        };
        assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
        await report(m2);
        const at = (await nftCounters(p.a)).get("to1") as bigint;
        let sent = 0;
        sent += await sendUdp(p.b, "192.0.2.1", 5, 72);
        const second = await report(m2);
        sent += await sendUdp(p.b, "192.0.2.1", 5, 72); // while to1 is out of the config
        const third = await report(m1);
        ok(!third.includes("to1"), third);
        sent += await sendUdp(p.b, "192.0.2.1", 5, 72);
        const fourth = await report(m2);
        const counted = ((await nftCounters(p.a)).get("to1") as bigint) - at;
        assertEquals(counted, BigInt(sent), "the nft counter counted all three rounds");
        const billed = BigInt(valueOf(second, "New Usage", "to1")) + BigInt(valueOf(fourth, "New Usage", "to1"));

        const s = await netmon(["summary", "-c", config, "-s", dir, "--by", "year", "--csv"], o);
        assertEquals([s.code, s.stderr], [0, ""]);
        const [head, ...rows] = s.stdout.trimEnd().split("\n").map((l) => l.split(","));
        const row = rows.filter((r) => r[2] === "to1");
        assertEquals(row.length, 1, s.stdout);
        const summary = BigInt(row[0]![head!.indexOf("total_bytes")]!);

        assertEquals(
          { report: billed, summary, totals: await totalOf(prom) },
          { report: counted, summary: counted, totals: counted },
        );
        // Rebuilt from the log (the file gone): the same.
        await Deno.remove(`${dir}/netmon.totals`);
        const fifth = await report(m2);
        assertEquals(
          valueOf(fifth, "New Usage", "to1"),
          String(((await nftCounters(p.a)).get("to1") as bigint) - at - counted),
        );
        assertEquals((await totalOf(prom)) - BigInt(valueOf(fifth, "New Usage", "to1")), counted);
        // Its last value, which the usage line counts from; no reset.
        assertEquals(valueOf(fourth, "Last Total", "to1"), valueOf(second, "New Total", "to1"), fourth);
        ok(!fourth.includes("RESET"), fourth);
      })
    ),
);
