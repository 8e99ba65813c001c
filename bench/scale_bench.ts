/**
 * Benchmark: 10,000 meters. Times `netmon start` (one iptables-restore
 * transaction), a second `start` (nothing to change), and `netmon report`,
 * in a namespace. Goals: start under 1 s, report under 0.3 s. For scale, it
 * also times a one-iptables-call-per-rule loop over a sample of the rules.
 *
 * Beside the report, in the same rounds, it times what no report can go
 * below: an empty script run the same way (Deno's own start and exit) and
 * iptables-save of the same rules alone (the counter read).
 *
 * It also prints what the reset checks of issue 17 add to that report, goal
 * at most 10 ms: the base commit's report (bench/_base.ts checks it out in a
 * git worktree) timed the same way in the same namespace, then one recorded
 * sample in-process with each, and the checks alone.
 *
 * Run as root: deno run -A bench/scale_bench.ts [METERS]
 */
// deno-lint-ignore-file no-console
import { must, REPORT_SCRIPT, REPORT_V8_FLAGS, withPair, withTempDir, writeConfig } from "../tests/helpers.ts";
import { BASE_COMMIT, compareRecord, timeChecks, withBaseWorktree, withoutIdentityChecks } from "./_base.ts";

const meters = Number(Deno.args[0] ?? 10000);
const RANGES = ["192.0.2", "198.51.100", "203.0.113"];

async function timed(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0]!, { args: argv.slice(1), stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return performance.now() - t0;
}

await withBaseWorktree((base) =>
  withPair((p) =>
    withTempDir(async (dir) => {
      let text = 'source = "iptables"\n';
      for (let i = 0; i < meters; i++) {
        text += `[[meter]]\nname = "m${i}"\nfrom = "${RANGES[i % 3]}.${Math.floor(i / 3) % 256}"\n`;
      }
      const config = await writeConfig(dir, text);
      const inNs = (
        args: string[],
      ) => ["ip", "netns", "exec", p.a, Deno.execPath(), "run", "-q", "-A", ...REPORT_V8_FLAGS, REPORT_SCRIPT, ...args];
      // Its own state directory (start records what it installed there), never the host's.
      const start = await timed(inNs(["start", "-c", config, "-s", dir]));
      const again = await timed(inNs(["start", "-c", config, "-s", dir]));
      const report1 = await timed(inNs(["report", "-c", config, "-s", dir]));
      const baseRun = (args: string[]) => [...inNs(args).slice(0, -args.length - 1), `${base}/netmon.ts`, ...args];
      const baseArgs = ["report", "-c", config, "-s", `${dir}/base`];
      await timed(baseRun(baseArgs));
      // What no report can go below, timed in the same rounds: Deno running an empty script the same way, and the
      // counter read alone (iptables-save of the 10,000 rules), each a whole process as the report is.
      const empty = `${dir}/empty.ts`;
      await Deno.writeTextFile(empty, "");
      const emptyRun = [...inNs([]).slice(0, -1), empty];
      const saveRun = ["ip", "netns", "exec", p.a, "iptables-save", "-c", "-t", "filter"];
      // Interleaved with the base commit's report on the same rules, each with its own state directory.
      const runs: number[] = [];
      const baseRuns: number[] = [];
      const emptyRuns: number[] = [];
      const saveRuns: number[] = [];
      for (let i = 0; i < 9; i++) {
        runs.push(await timed(inNs(["report", "-c", config, "-s", dir])));
        baseRuns.push(await timed(baseRun(baseArgs)));
        emptyRuns.push(await timed(emptyRun));
        saveRuns.push(await timed(saveRun));
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const report2 = median(runs);
      const base2 = median(baseRuns);
      const emptyMs = median(emptyRuns);
      const saveMs = median(saveRuns);
      const rules = (await must("ip", ["netns", "exec", p.a, "iptables-save", "-t", "filter"])).split("\n")
        .filter((l) => l.includes("netmon:")).length;
      const sample = 300;
      const t0 = performance.now();
      for (let i = 0; i < sample; i++) {
        await must("ip", [
          "netns",
          "exec",
          p.a,
          "iptables",
          "-A",
          "FORWARD",
          "-s",
          `203.0.113.${i % 256}`,
          "-j",
          "ACCEPT",
        ]);
      }
      const perRule = (performance.now() - t0) / sample;
      console.log(
        `meters: ${meters}, rules installed: ${rules}; runs ${REPORT_SCRIPT} with ${REPORT_V8_FLAGS.join(" ")}`,
      );
      console.log(`  netmon start (install):         ${start.toFixed(0)} ms (goal < 1000 ms)`);
      console.log(`  netmon start (nothing to do):   ${again.toFixed(0)} ms`);
      console.log(`  netmon report (first run):      ${report1.toFixed(0)} ms`);
      console.log(
        `  netmon report (median of 9):    ${report2.toFixed(0)} ms (goal < 300 ms; ${runs[0]!.toFixed(0)}..${
          runs[8]!.toFixed(0)
        })`,
      );
      console.log(
        `  one iptables call per rule:     ${perRule.toFixed(1)} ms a rule, ${
          (perRule * meters / 1000).toFixed(1)
        } s for ${meters}`,
      );
      console.log(`  base ${BASE_COMMIT} report (median of 9, interleaved): ${base2.toFixed(0)} ms`);
      console.log(
        `  floor, in the same rounds: an empty deno run ${emptyMs.toFixed(0)} ms, iptables-save of the rules alone ${
          saveMs.toFixed(0)
        } ms (${(emptyMs + saveMs).toFixed(0)} ms one after the other; the report's own work beyond both: ${
          (report2 - emptyMs - saveMs).toFixed(0)
        } ms)`,
      );
      const extra = await compareRecord(base, meters, 30);
      const inMemory = await compareRecord(base, meters, 30, "/dev/shm");
      const checks = await timeChecks(meters, 30);
      console.log(
        `against base ${BASE_COMMIT} (every change since, the checks included): whole runs ${
          (report2 - base2).toFixed(0)
        } ms, recording ${extra.toFixed(2)} ms on disk, ${inMemory.toFixed(2)} ms on tmpfs`,
      );
      // The identity checks alone, syncs included: the same code beside itself with only "the counter went down".
      await withoutIdentityChecks(async (same) => {
        const label = "the same without identity checks";
        const disk = await compareRecord(same, meters, 30, undefined, label);
        const shm = await compareRecord(same, meters, 30, "/dev/shm", label);
        console.log(
          `identity checks' cost on a ${meters}-meter report: ${disk.toFixed(2)} ms on disk, ${
            shm.toFixed(2)
          } ms on tmpfs (recorded in-process beside the same code without them), ${
            checks.median.toFixed(2)
          } ms measured alone (goal <= 10 ms)`,
        );
      });
    })
  )
);
