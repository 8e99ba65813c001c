/**
 * Resets the counter cannot show, against the real components in namespaces
 * the tests make and delete: a veth deleted and made again, an nftables table
 * deleted and made again, iptables rules re-created by `netmon start` (both
 * backends), a reboot (the boot time moved, through the test seam and through
 * the real uptime with the wall clock moved), and netmon killed at random
 * instants all through such steps.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { seededRandom } from "./random.ts";
import {
  fakeTimeEnv,
  graph,
  iptablesCounters,
  must,
  netmon,
  type NetmonRun,
  netnsTest,
  NFT_ONE_METER_CONFIG,
  nftOnly,
  type Pair,
  removeFaketimeLeftovers,
  sendUdp,
  spawnNetmon,
  withPair,
  withTempDir,
  writeConfig,
} from "./helpers.ts";
import { humanReadable } from "../lib/usage/units.ts";

/** The log's lines, and its reset lines as [column, reason] before each sample, one entry per sample. */
function logResets(log: string): { samples: string[][]; resets: [string, string][][] } {
  const samples: string[][] = [];
  const resets: [string, string][][] = [];
  let pending: [string, string][] = [];
  for (const line of log.split("\n")) {
    if (line.startsWith("# netmon reset:\t")) {
      const [, column, reason] = line.split("\t");
      pending.push([column!, reason!]);
    } else if (line !== "" && !line.startsWith("#")) {
      samples.push(line.split("\t"));
      resets.push(pending);
      pending = [];
    }
  }
  return { samples, resets };
}

/** The `--by entry --unit B` rows of the log in `dir`, as column name to value per row. */
async function entryRows(dir: string): Promise<Map<string, bigint>[]> {
  const r = await graph(["--by", "entry", "--unit", "B", "-o", "-", `${dir}/netmon.log`], { cwd: dir });
  assertEquals([r.code, r.stderr], [0, ""]);
  const [head, ...rows] = r.stdout.trimEnd().split("\n");
  const names = head!.split("\t").slice(1);
  return rows.map((row) => new Map(row.split("\t").slice(1).map((v, i) => [names[i]!, BigInt(v)])));
}

/** The report's New Usage value for `label`, exactly (values under 1024 print as whole bytes). */
function usageOf(stdout: string, label: string): string {
  return new RegExp(` ${label}: (\\S+)`).exec(stdout.split("\n")[2] ?? "")?.[1] ?? `(no ${label} in ${stdout})`;
}

/** Deletes the pair's veth and makes it again with the same names and addresses. */
async function remakeVeth(p: Pair): Promise<void> {
  await must("ip", ["-n", p.a, "link", "del", p.va]);
  await must("ip", ["link", "add", p.va, "netns", p.a, "type", "veth", "peer", "name", p.vb, "netns", p.b]);
  for (
    const [ns, dev, v4, v6] of [[p.a, p.va, "192.0.2.1/24", "2001:db8::1/64"], [
      p.b,
      p.vb,
      "192.0.2.2/24",
      "2001:db8::2/64",
    ]]
  ) {
    await must("ip", ["-n", ns!, "addr", "add", v4!, "dev", dev!]);
    await must("ip", ["-n", ns!, "addr", "add", v6!, "dev", dev!, "nodad"]);
    await must("ip", ["-n", ns!, "link", "set", dev!, "up"]);
  }
}

netnsTest(
  "[resets] interface re-created with more traffic than before: a reset, logged, and graph counts the new counter",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, `source = "interface"\ninterfaces = ["${p.va}"]\n`);
        const o = { ns: p.a, dirs: [dir] };
        const args = ["report", "-c", config, "-s", dir];
        assertEquals((await netmon(args, o)).code, 0);
        await sendUdp(p.b, "192.0.2.1", 100, 1000);
        assertEquals((await netmon(args, o)).code, 0);
        const before = BigInt(logResets(await Deno.readTextFile(`${dir}/netmon.log`)).samples.at(-1)![1]!);
        await remakeVeth(p);
        await sendUdp(p.b, "192.0.2.1", 200, 1000);
        const r = await netmon(args, o);
        assertEquals([r.code, r.stderr], [0, ""]);
        const log = logResets(await Deno.readTextFile(`${dir}/netmon.log`));
        const after = BigInt(log.samples.at(-1)![1]!);
        ok(after > before, `the new counter ${after} passed the old ${before}: the counter alone cannot show it`);
        ok(new RegExp(`^== RESET DETECTED! == interface re-created: ${p.va}:rx`, "m").test(r.stdout), r.stdout);
        assertEquals(usageOf(r.stdout, `${p.va}:rx`), humanReadable(after));
        assertEquals(log.resets.at(-1)![0], [`${p.va}:rx`, "interface re-created"]);
        assertEquals(log.resets.slice(0, -1).flat(), [], "no reset before");
        const rows = await entryRows(dir);
        assertEquals(rows.at(-1)!.get(`${p.va}:rx`), after, "graph: the interval's usage is the new counter");
        assertEquals(rows.at(-2)!.get(`${p.va}:rx`), before - BigInt(log.samples[0]![1]!));
      })
    ),
);

netnsTest(
  "[resets] nftables table deleted, netmon start, more traffic than before: counter re-created",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, NFT_ONE_METER_CONFIG);
        const o = nftOnly(p.a, [dir]);
        const args = ["report", "-c", config, "-s", dir];
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        await sendUdp(p.b, "192.0.2.1", 20, 500);
        assertEquals((await netmon(args, o)).code, 0);
        await must("ip", ["netns", "exec", p.a, "nft", "delete", "table", "inet", "netmon"]);
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        const sent = await sendUdp(p.b, "192.0.2.1", 40, 500);
        const r = await netmon(args, o);
        assertEquals([r.code, r.stderr], [0, ""]);
        ok(/^== RESET DETECTED! == counter re-created: b; totals now count from /m.test(r.stdout), r.stdout);
        assertEquals(usageOf(r.stdout, "b"), humanReadable(BigInt(sent)));
        const log = logResets(await Deno.readTextFile(`${dir}/netmon.log`));
        assertEquals(log.resets, [[], [["b", "counter re-created"]]]);
        assertEquals((await entryRows(dir)).map((r) => r.get("b")), [20n * 528n, BigInt(sent)]);
      })
    ),
);

netnsTest(
  "[resets] iptables stop and start with no report between, then the source switched to nftables and started: the " +
    "report's reset is the nftables start's, with no reset line for a counter that went down",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const meter = '[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n';
        const config = await writeConfig(dir, meter);
        const o = { ns: p.a, dirs: [dir] };
        const args = ["report", "-c", config, "-s", dir];
        assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
        await sendUdp(p.b, "192.0.2.1", 20, 500);
        assertEquals((await netmon(args, o)).code, 0);
        assertEquals((await netmon(["stop", "-c", config, "-s", dir], o)).code, 0);
        assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
        await writeConfig(dir, `source = "nftables"\n${meter}`);
        const nft = await netmon(["start", "-c", config, "-s", dir], o);
        assertEquals([nft.code, nft.stderr], [0, ""]);
        await sendUdp(p.b, "192.0.2.1", 5, 500);
        const r = await netmon(args, o);
        assertEquals([r.code, r.stderr], [0, ""]);
        // The nftables start's own record (it made the counter); the iptables start's is not for this reading.
        ok(/^== RESET DETECTED! == rules re-created: b; totals now count from /m.test(r.stdout), r.stdout);
        // A counter that went down shows itself in the log: no reset line.
        assertEquals(logResets(await Deno.readTextFile(`${dir}/netmon.log`)).resets.at(-1), []);
        assertEquals(await Deno.stat(`${dir}/netmon.started`).then(() => "kept", () => "consumed"), "consumed");
        await netmon(["stop", "-c", config, "-s", dir], o);
      })
    ),
);

for (const backend of ["nft", "legacy"] as const) {
  const suffix = backend === "nft" ? "" : "-legacy";
  const bins = ["iptables", "iptables-save", "iptables-restore"].map((b) =>
    `/usr/sbin/${b.replace("iptables", `iptables${suffix}`)}`
  );
  /** The config's `[binaries]` for this backend. */
  const binaries = `[binaries]\niptables = "${bins[0]}"\niptables_save = "${bins[1]}"\niptables_restore = "${
    bins[2]
  }"\n`;
  /** netmon run in `ns` with exactly what this backend's report and start need, and `dir`. */
  const runIn = (ns: string, dir: string): NetmonRun => ({
    ns,
    permissions: [
      `--allow-run=${[...bins, "/usr/bin/stat"].join(",")}`,
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME",
      "--allow-sys=uid,osUptime",
    ],
  });
  netnsTest(
    `[resets] [${backend}] netmon stop, netmon start, more traffic than before: rules re-created`,
    () =>
      withPair((p) =>
        withTempDir(async (dir) => {
          const config = await writeConfig(
            dir,
            binaries +
              `[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n[[meter]]\nname = "quiet"\nfrom = "203.0.113.9"\n`,
          );
          const o = runIn(p.a, dir);
          const args = ["report", "-c", config, "-s", dir];
          assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
          await sendUdp(p.b, "192.0.2.1", 20, 500);
          assertEquals((await netmon(args, o)).code, 0);
          assertEquals((await netmon(["stop", "-c", config, "-s", dir], o)).code, 0);
          const start = await netmon(["start", "-c", config, "-s", dir], o);
          assertEquals([start.code, start.stderr], [0, ""]);
          const sent = await sendUdp(p.b, "192.0.2.1", 40, 500);
          const r = await netmon(args, o);
          assertEquals([r.code, r.stderr], [0, ""]);
          ok(/^== RESET DETECTED! == rules re-created: b, quiet; totals/m.test(r.stdout), r.stdout);
          assertEquals(usageOf(r.stdout, "b"), humanReadable(BigInt(sent)));
          const log = logResets(await Deno.readTextFile(`${dir}/netmon.log`));
          assertEquals(log.resets.at(-1), [["b", "rules re-created"], ["quiet", "rules re-created"]]);
          assertEquals((await entryRows(dir)).at(-1)!.get("b"), BigInt(sent));
          // Consumed: the next report is plain growth.
          const more = await sendUdp(p.b, "192.0.2.1", 3, 100);
          const next = await netmon(args, o);
          assertEquals([next.code, next.stdout.includes("RESET")], [0, false]);
          assertEquals(usageOf(next.stdout, "b"), String(more));
          // A start with nothing to change records nothing.
          assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
          const none = await netmon(args, o);
          assertEquals([none.code, none.stdout.includes("RESET")], [0, false]);
        })
      ),
  );

  netnsTest(
    `[resets] [${backend}] one of a column's rules deleted by hand, netmon start: the column's rules re-created, never billed twice`,
    () =>
      withPair((p) =>
        withTempDir(async (dir) => {
          // An address meter: one column fed by rules in INPUT, OUTPUT and FORWARD (the new-user walkthrough's acme).
          const config = await writeConfig(
            dir,
            binaries +
              `[[meter]]\nname = "acme"\naddress = "192.0.2.1"\n`,
          );
          const o = runIn(p.a, dir);
          const args = ["report", "-c", config, "-s", dir];
          /** Bytes counted by acme's rules in `hook`, or in all hooks, as the kernel has them now. */
          const kernel = async (hook?: string) => {
            const text = await must("ip", ["netns", "exec", p.a, bins[1]!, "-c", "-t", "filter"]);
            let sum = 0n;
            for (const m of text.matchAll(/^\[\d+:(\d+)\] -A (\S+) .*netmon:acme/gm)) {
              if (!hook || m[2] === hook) sum += BigInt(m[1]!);
            }
            return sum;
          };
          /** Both ways: b to a crosses a's INPUT, a to b (and a's ICMP replies) its OUTPUT. */
          const traffic = async (n: number) => {
            await sendUdp(p.b, "192.0.2.1", 3 * n, 500);
            await sendUdp(p.a, "192.0.2.2", n, 300);
          };
          assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
          assertEquals((await netmon(args, o)).code, 0);
          let counted = await kernel();
          const billed: bigint[] = [];
          await traffic(20);
          const first = await netmon(args, o);
          assertEquals([first.code, first.stderr], [0, ""]);
          billed.push(await kernel() - counted);
          assertEquals((await entryRows(dir)).at(-1)!.get("acme"), billed.at(-1));
          for (const hook of ["OUTPUT", "INPUT"]) {
            const other = hook === "OUTPUT" ? "INPUT" : "OUTPUT";
            const untouched = await kernel(other);
            ok(untouched > 0n && (await kernel(hook)) > 0n, `both hooks counted: ${await kernel()}`);
            // As the walkthrough: the rule's number from iptables -L, deleted by number.
            const listed = await must("ip", ["netns", "exec", p.a, bins[0]!, "-L", hook, "--line-numbers", "-n"]);
            const n = /^(\d+) .*netmon:acme/m.exec(listed)?.[1];
            ok(n, listed);
            await must("ip", ["netns", "exec", p.a, bins[0]!, "-D", hook, n]);
            const start = await netmon(["start", "-c", config, "-s", dir], o);
            assertEquals([start.code, start.stderr], [0, ""]);
            ok(start.stdout.includes(`add rule for meter acme to ${hook}\n`), start.stdout);
            // No traffic since the last report: nothing to bill, least of all the untouched rules' old counts again.
            const r = await netmon(args, o);
            assertEquals([r.code, r.stderr], [0, ""]);
            assertEquals(usageOf(r.stdout, "acme"), "0", `${hook} deleted, ${other}'s ${untouched} kept:\n${r.stdout}`);
            ok(/^== RESET DETECTED! == rules re-created: acme; totals/m.test(r.stdout), r.stdout);
            assertEquals((await entryRows(dir)).at(-1)!.get("acme"), 0n);
            billed.push(0n);
            // Counted from the re-creation on.
            counted = await kernel();
            assertEquals(counted, 0n, "every rule of acme counts from zero");
            await traffic(5);
            const next = await netmon(args, o);
            assertEquals([next.code, next.stderr, next.stdout.includes("RESET")], [0, "", false], next.stdout);
            billed.push(await kernel() - counted);
            assertEquals((await entryRows(dir)).at(-1)!.get("acme"), billed.at(-1));
          }
          // Over all reports: exactly what the rules counted, each byte billed once.
          const rows = await entryRows(dir);
          assertEquals(rows.slice(-billed.length).map((r) => r.get("acme")), billed);
        })
      ),
  );

  netnsTest(
    `[resets] [${backend}] a column losing a rule (an extra copy, a network dropped from the config): re-created, never billed twice`,
    () =>
      withPair((p) =>
        withTempDir(async (dir) => {
          const config = await writeConfig(
            dir,
            `${binaries}[[meter]]\nname = "acme"\naddress = ["192.0.2.1", "198.51.100.1"]\n`,
          );
          const o = runIn(p.a, dir);
          const args = ["report", "-c", config, "-s", dir];
          const ipt = (...a: string[]) => must("ip", ["netns", "exec", p.a, bins[0]!, ...a]);
          /** acme's bytes as netmon counts them: the first rule of each text (a copy after it is not counted). */
          const kernel = async () => {
            const text = await must("ip", ["netns", "exec", p.a, bins[1]!, "-c", "-t", "filter"]);
            const seen = new Set<string>();
            let sum = 0n;
            for (const m of text.matchAll(/^\[\d+:(\d+)\] (-A .*netmon:acme.*)$/gm)) {
              if (!seen.has(m[2]!)) sum += BigInt(m[1]!);
              seen.add(m[2]!);
            }
            return sum;
          };
          const traffic = async () => {
            await sendUdp(p.b, "192.0.2.1", 30, 500);
            await sendUdp(p.b, "198.51.100.1", 20, 400);
            await sendUdp(p.a, "192.0.2.2", 10, 300);
          };
          const billed: bigint[] = [];
          /** A report after traffic: it bills what the rules counted since `from`, and no reset. */
          const grown = async (from: bigint, warning = "") => {
            const r = await netmon(args, o);
            assertEquals([r.code, r.stderr, r.stdout.includes("RESET")], [0, warning, false], r.stdout);
            billed.push(await kernel() - from);
            assertEquals((await entryRows(dir)).at(-1)!.get("acme"), billed.at(-1));
          };
          /** A report right after a start that changed acme's rules: 0 billed, a reset for re-created rules. */
          const recreated = async () => {
            const r = await netmon(args, o);
            assertEquals([r.code, r.stderr], [0, ""]);
            assertEquals(usageOf(r.stdout, "acme"), "0", r.stdout);
            ok(/^== RESET DETECTED! == rules re-created: acme; totals/m.test(r.stdout), r.stdout);
            assertEquals(await kernel(), 0n, "every rule of acme counts from zero");
            billed.push(0n);
          };
          assertEquals((await netmon(["start", "-c", config, "-s", dir], o)).code, 0);
          assertEquals((await netmon(args, o)).code, 0);
          await traffic();
          await grown(0n);
          // A start killed after its record and before its commands: the record names acme, whose rules are not
          // as start writes them (one too many), so it is not applied: acme just grew.
          await ipt(
            "-A",
            "INPUT",
            "-d",
            "192.0.2.1/32",
            "-m",
            "comment",
            "--comment",
            "netmon:acme",
            "-j",
            "DOWNLOADED",
          );
          await Deno.writeTextFile(`${dir}/netmon.started`, "# by hand\n00112233445566ff\tacme\n", { mode: 0o640 });
          let from = await kernel();
          await traffic();
          await grown(
            from,
            `netmon: warning: acme has 1 extra rule(s) in INPUT, not counted: run 'deno task netmon start -c ${config} -s ${dir}' to repair\n`,
          );
          // The real start removes the copy: acme loses a rule, so all of its rules are made afresh.
          const repair = await netmon(["start", "-c", config, "-s", dir], o);
          assertEquals([repair.code, repair.stderr], [0, ""]);
          ok(repair.stdout.includes("remove stale rule of acme from INPUT\n"), repair.stdout);
          await recreated();
          await traffic();
          await grown(0n);
          // One network fewer in the config. A report before start would count acme without the dropped network's
          // rules, which are in its last value: it refuses, one line per rule, and logs nothing.
          await Deno.writeTextFile(config, `${binaries}[[meter]]\nname = "acme"\naddress = "192.0.2.1"\n`);
          const logBefore = await Deno.readTextFile(`${dir}/netmon.log`);
          await traffic();
          const early = await netmon(args, o);
          assertEquals([early.code, early.stdout], [69, ""], early.stderr);
          const lines = early.stderr.trimEnd().split("\n");
          ok(
            lines.length >= 1 && lines.every((l) =>
              /^netmon: meter acme: an installed rule in (INPUT|OUTPUT|FORWARD) is no longer in the config: run '/.test(
                l,
              ) &&
              l.includes(`run 'deno task netmon start -c ${config} -s ${dir}' to update the rules`)
            ),
            early.stderr,
          );
          assertEquals(await Deno.readTextFile(`${dir}/netmon.log`), logBefore, "nothing logged");
          const narrowed = await netmon(["start", "-c", config, "-s", dir], o);
          assertEquals([narrowed.code, narrowed.stderr], [0, ""]);
          ok(narrowed.stdout.includes("remove stale rule of acme from INPUT\n"), narrowed.stdout);
          await recreated();
          from = await kernel();
          await traffic();
          await grown(from);
          const rows = await entryRows(dir);
          assertEquals(rows.slice(-billed.length).map((r) => r.get("acme")), billed);
        })
      ),
  );
}

netnsTest(
  "[resets] reboot: the boot time moved past the last sample (test seam), every meter reset with reason reboot",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, `source = "interface"\ninterfaces = ["${p.va}"]\n`);
        const args = ["report", "-c", config, "-s", dir];
        const at = (boot: number) => ({ ns: p.a, dirs: [dir], env: { NETMON_TEST_BOOT_TIME: String(boot) } });
        const boot = Math.floor(Date.now() / 1000) - 3600;
        await sendUdp(p.b, "192.0.2.1", 10, 100);
        assertEquals((await netmon(args, at(boot))).code, 0);
        assertEquals((await netmon(args, at(boot))).stdout.includes("RESET"), false);
        const r = await netmon(args, at(Math.floor(Date.now() / 1000) + 60));
        assertEquals([r.code, r.stderr], [0, ""]);
        ok(new RegExp(`^== RESET DETECTED! == reboot: ${p.va}:rx, ${p.va}:tx;`, "m").test(r.stdout), r.stdout);
        assertEquals(logResets(await Deno.readTextFile(`${dir}/netmon.log`)).resets.at(-1)!.map(([, why]) => why), [
          "reboot",
          "reboot",
        ]);
      })
    ),
);

netnsTest(
  "[resets] reboot through the real Deno.osUptime: the wall clock moved past the uptime is one, a run later is not",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, `source = "interface"\ninterfaces = ["${p.va}"]\n`);
        const args = ["report", "-c", config, "-s", dir];
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(args, o)).code, 0);
        const again = await netmon(args, o);
        assertEquals([again.code, again.stdout.includes("RESET")], [0, false], "the real boot time did not move");
        const ident = await Deno.readTextFile(`${dir}/netmon.ident`);
        const [boot, at] = /^boot\t(\d+)\t(\d+)$/m.exec(ident)!.slice(1).map(Number);
        const uptime = Number((await Deno.readTextFile("/proc/uptime")).split(" ")[0]);
        ok(Math.abs(at! - boot! - uptime) <= 5, `recorded uptime ${at! - boot!} is the kernel's ${uptime}`);
        // Moved forward by less than the uptime: a clock step, not a reboot (where the machine has been up a while).
        if (uptime > 30) {
          const step = await netmon(args, { ...o, env: fakeTimeEnv(`+${Math.floor(uptime / 3)}s`) });
          removeFaketimeLeftovers();
          assertEquals([step.code, step.stdout.includes("RESET")], [0, false], step.stdout);
        }
        // The wall clock a day past the uptime: the machine booted after the previous sample.
        const moved = await netmon(args, { ...o, env: fakeTimeEnv(`+${Math.ceil(uptime) + 86400}s`) });
        removeFaketimeLeftovers();
        assertEquals(moved.code, 0, moved.stderr);
        ok(/^== RESET DETECTED! == reboot: /m.test(moved.stdout), moved.stdout);
      })
    ),
);

netnsTest(
  "[resets] SIGKILL at random instants through reports, stops, starts and reboots: no reset false, missed or doubled",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, '[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n');
        let boot = Math.floor(Date.now() / 1000) - 3600;
        const o = () => ({ ns: p.a, dirs: [dir], env: { NETMON_TEST_BOOT_TIME: String(boot) } });
        const report = ["report", "-c", config, "-s", dir];
        const random = seededRandom("reset SIGKILL sweep");
        const durations: number[] = [];
        for (const args of [["start", "-c", config, "-s", dir], report, report, report]) {
          const t0 = performance.now();
          const r = await netmon(args, o());
          assertEquals([r.code, r.stderr], [0, ""]);
          durations.push(performance.now() - t0);
        }
        // Kills land over the whole run, but mostly in its second half, where it reads, decides and writes: of the
        // quickest report's length (the start's, slower, or a report slowed by a busy machine would let most runs
        // finish before their kill).
        const quickest = Math.min(...durations.slice(1));
        let kills = 0;
        /** Runs netmon, killing it at a random instant more often than not, until a run completes. */
        const untilDone = async (args: string[]) => {
          for (;;) {
            const child = spawnNetmon(args, o());
            const timer = random() < 0.75
              ? setTimeout(() => {
                try {
                  child.kill("SIGKILL");
                } catch { /* it finished */ }
              }, quickest * (random() < 0.2 ? random() : 0.5 + 0.7 * random()))
              : undefined;
            const out = await child.output();
            clearTimeout(timer);
            if (out.success) return;
            if (out.signal !== "SIGKILL") {
              throw new Error(`netmon ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
            }
            kills++;
          }
        };
        const samplesNow = async () => logResets(await Deno.readTextFile(`${dir}/netmon.log`)).samples.length;
        const rounds: { action: string; sent: bigint; end: number }[] = [];
        let end = await samplesNow();
        for (let round = 0; round < 24; round++) {
          const roll = random();
          const action = round % 8 === 5 ? "reboot" : roll < 0.35 ? "restart" : "none";
          let sent = 0n;
          if (action !== "none") {
            const old = (await iptablesCounters(p.a)).get("b") ?? 0n;
            await untilDone(["stop", "-c", config, "-s", dir]);
            if (action === "reboot") {
              // The machine comes back up after the last sample: the boot time moves past it.
              boot = Math.ceil(Date.now() / 1000) + 6;
              await new Promise((r) => setTimeout(r, (boot + 1) * 1000 - Date.now()));
            }
            await untilDone(["start", "-c", config, "-s", dir]);
            // More than the old counter held: the counter alone cannot show this reset.
            sent = BigInt(await sendUdp(p.b, "192.0.2.1", Number(old / 528n) + 2, 500));
          } else if (random() < 0.7) sent = BigInt(await sendUdp(p.b, "192.0.2.1", 1 + Math.floor(random() * 4), 500));
          await untilDone(report);
          end = await samplesNow();
          rounds.push({ action, sent, end });
        }
        const log = logResets(await Deno.readTextFile(`${dir}/netmon.log`));
        const rows = await entryRows(dir);
        assertEquals(rows.length, log.samples.length);
        let from = 3;
        for (const [k, r] of rounds.entries()) {
          const used = rows.slice(from, r.end).reduce((sum, row) => sum + row.get("b")!, 0n);
          const resets = log.resets.slice(from, r.end).flat();
          const want = r.action === "none" ? [] : [["b", r.action === "reboot" ? "reboot" : "rules re-created"]];
          assertEquals(resets, want, `round ${k} (${r.action}): its reset logged once, with its reason`);
          assertEquals(used, r.sent, `round ${k} (${r.action}): usage is exactly what was sent`);
          from = r.end;
        }
        ok(kills >= 10, `only ${kills} runs killed`);
        ok(rounds.some((r) => r.action === "restart"), "some rules were re-created");
        // deno-lint-ignore no-console
        console.log(
          `    ${kills} runs killed over ${rounds.length} rounds; ${log.samples.length} samples logged, ` +
            `${log.samples.length - 3 - rounds.length} of them by runs killed after logging`,
        );
      })
    ),
);
