/**
 * Faults: netmon killed at random instants, runs piling up, a full disk and
 * a read-only state directory, counters misbehaving. Real nft and iptables in
 * namespaces the tests make and delete; real tmpfs mounts.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { parseHeader, parseLast, parseLogLine } from "../lib/state/log_format.ts";
import { humanReadable } from "../lib/usage/units.ts";
import { seededRandom } from "./random.ts";
import {
  fakeTimeEnv,
  graph,
  must,
  netmon,
  netnsTest,
  NFT_ONE_METER_CONFIG,
  nftOnly,
  type Pair,
  removeFaketimeLeftovers,
  sendUdp,
  spawnNetmon,
  startTraffic,
  withPair,
  withTempDir,
  withTmpfs,
  writeConfig,
} from "./helpers.ts";

const NFT_CONFIG =
  'source = "nftables"\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n[[meter]]\nname = "b6"\nfrom = "2001:db8::2"\n';

const nftOpts = (p: Pair, dirs: string[]) => nftOnly(p.a, dirs);

/** How many sample lines a log has now. */
function sampleLines(path: string): number {
  return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
}

/** Every line of the log parsed, or a thrown error naming the bad line. */
function parseLog(text: string): { stamp: string; counters: Map<string, bigint>; line: string }[] {
  let columns: readonly string[] = ["proxy", "non-network"];
  const out: { stamp: string; counters: Map<string, bigint>; line: string }[] = [];
  ok(text === "" || text.endsWith("\n"), "the log ends with a whole line");
  text.split("\n").slice(0, -1).forEach((line, i) => {
    const h = parseHeader(line);
    if (h) columns = h;
    else {
      const s = parseLogLine(line, columns, `netmon.log:${i + 1}`);
      out.push({ stamp: s.timestamp, counters: s.counters, line });
    }
  });
  return out;
}

netnsTest(
  "[faults] SIGKILL at random instants over 300 runs: no sample lost or doubled, files always parse",
  () =>
    withNftStarted(NFT_CONFIG, async ({ p, dir, config, o }) => {
      // Traffic all along, so the samples' counters move.
      const traffic = startTraffic(p.b, "192.0.2.1", 2, 60);
      try {
        const args = ["report", "-c", config, "-s", `${dir}/state`];
        // Each run its own second, in the past: every sample line is unique, so "exactly once" is exact.
        const base = Math.floor(Date.now() / 1000) - 400;
        // libfaketime preloaded into deno itself: the faketime wrapper forks, and a SIGKILL would miss the run.
        const at = (i: number) => ({
          ...o,
          env: { ...fakeTimeEnv(`@${base + i}`), FAKETIME_FMT: "%s" },
        });
        const durations: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          assertEquals((await netmon(args, at(i - 3))).code, 0);
          durations.push(performance.now() - t0);
        }
        let span = 1.3 * durations.sort((a, b) => a - b)[1]!;
        const completed: string[] = [];
        let killed = 0;
        let completedBefore = 0;
        const random = seededRandom("SIGKILL instants");
        for (let i = 0; i < 300; i++) {
          // The machine may slow down or speed up meanwhile (other tests, other work): every 30 runs the span follows,
          // so that most kills still land inside a run and some runs still complete.
          if (i > 0 && i % 30 === 0) {
            const recent = completed.length - completedBefore;
            if (recent < 5) span *= 1.5;
            else if (recent > 15) span /= 1.5;
            completedBefore = completed.length;
          }
          const child = spawnNetmon(args, at(i));
          const delay = random() * span;
          const timer = setTimeout(() => {
            try {
              child.kill("SIGKILL");
            } catch { /* it finished */ }
          }, delay);
          const out = await child.output();
          clearTimeout(timer);
          if (out.success) {
            // Runs are one after another, so the log's last line is this run's sample.
            const log = await Deno.readTextFile(`${dir}/state/netmon.log`);
            completed.push(log.trimEnd().split("\n").at(-1)!);
          } else if (out.signal === "SIGKILL") killed++;
          else throw new Error(`run ${i} failed: ${new TextDecoder().decode(out.stderr)}`);
        }
        ok(
          killed >= 100 && completed.length >= 20,
          `killed ${killed}, completed ${completed.length}: kills spread over runs`,
        );
        ok(
          sampleLines(`${dir}/state/netmon.log`) < 3 + 300,
          "some killed runs never logged: the kills reached netmon",
        );
        // One more run, completed: it repairs whatever the last kill left.
        const final = await netmon(args, o);
        assertEquals(final.code, 0);
        const text = await Deno.readTextFile(`${dir}/state/netmon.log`);
        const samples = parseLog(text);
        const lines = samples.map((s) => s.line);
        for (const c of completed) assertEquals(lines.filter((l) => l === c).length, 1, `completed sample ${c}`);
        for (let i = 1; i < samples.length; i++) {
          ok(samples[i]!.stamp > samples[i - 1]!.stamp, `sample ${i} is new, not a repeat, and in order`);
          ok(samples[i]!.counters.get("b")! >= samples[i - 1]!.counters.get("b")!, "counters never go back");
        }
        // The last file agrees with the log's last line, and the final report's usage is the last step.
        const last = parseLast(await Deno.readTextFile(`${dir}/state/netmon.last`), "netmon.last");
        const [prev, now] = samples.slice(-2);
        assertEquals([last.sample.timestamp, last.sample.counters], [now!.stamp, now!.counters]);
        const usage = now!.counters.get("b")! - prev!.counters.get("b")!;
        ok(final.stdout.split("\n")[2]!.includes(` b: ${humanReadable(usage)} `), final.stdout);
        ok(final.stdout.startsWith(`Last Total - Timestamp: ${prev!.stamp} `), final.stdout);
        // deno-lint-ignore no-console
        console.log(`    ${killed} runs killed, ${completed.length} completed, ${samples.length} samples logged`);
      } finally {
        await traffic.stop();
        removeFaketimeLeftovers();
      }
    }),
);

netnsTest(
  "[faults] 30 reports at once: 30 whole lines in order, and the usages add up to the counter's change",
  () =>
    withNftStarted(NFT_CONFIG, async ({ p, dir, config, o }) => {
      const args = ["report", "-c", config, "-s", `${dir}/state`];
      assertEquals((await netmon(args, o)).code, 0);
      // At most 30 datagrams of 1 byte (29 counted) in all: every total stays under 1024, printed exactly.
      const traffic = startTraffic(p.b, "192.0.2.1", 40, 1, 30);
      const runs = await Promise.all(Array.from({ length: 30 }, () => netmon(args, o)));
      await traffic.done;
      for (const r of runs) assertEquals([r.code, r.stderr], [0, ""]);
      const samples = parseLog(await Deno.readTextFile(`${dir}/state/netmon.log`));
      assertEquals(samples.length, 31);
      for (let i = 1; i < samples.length; i++) ok(samples[i]!.stamp >= samples[i - 1]!.stamp, "in order");
      const b = (line: string | undefined) => BigInt(/ b: (\d+) /.exec(line ?? "")?.[1] ?? "x");
      const reported = runs.map((r) => r.stdout.split("\n")).map((l) => ({
        last: b(l[0]),
        now: b(l[1]),
        use: b(l[2]),
      }));
      for (const r of reported) assertEquals(r.use, r.now - r.last);
      const first = samples[0]!.counters.get("b")!, end = samples.at(-1)!.counters.get("b")!;
      assertEquals(reported.reduce((sum, r) => sum + r.use, 0n), end - first, "no interval counted twice or missed");
      // Each run started from the sample the one before it logged.
      assertEquals(
        reported.map((r) => r.last).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
        samples.slice(0, -1).map((s) => s.counters.get("b")!),
      );
    }),
);

/**
 * A test body: nftables meters started in a fresh namespace pair, the state
 * directory on a tmpfs of `size`; `fn` gets the report arguments.
 */
function onTmpfs(
  size: string,
  fn: (p: Pair, args: string[], state: string, o: ReturnType<typeof nftOpts>) => Promise<void>,
): () => Promise<void> {
  return () =>
    withNftStarted(NFT_CONFIG, async ({ p, dir, config, o }) => {
      const state = `${dir}/state`;
      await withTmpfs(state, size, () => fn(p, ["report", "-c", config, "-s", state], state, o));
    });
}

/** What a test started on: the namespaces, its directory, the config written there, netmon's options. */
interface Started {
  p: Pair;
  dir: string;
  config: string;
  o: ReturnType<typeof nftOpts>;
}

/** A fresh namespace pair and directory with `configText` written and its nftables meters started, for `fn`. */
function withNftStarted(configText: string, fn: (s: Started) => Promise<void>): Promise<void> {
  return withPair((p) =>
    withTempDir(async (dir) => {
      const config = await writeConfig(dir, configText);
      const o = nftOpts(p, [dir]);
      assertEquals((await netmon(["start", "-c", config], o)).code, 0);
      await fn({ p, dir, config, o });
    })
  );
}

netnsTest(
  "[faults] a full disk: one clear line, exit 73 or 74, the log and last file as they were",
  onTmpfs("64k", async (p, args, state, o) => {
    for (let i = 0; i < 2; i++) assertEquals((await netmon(args, o)).code, 0);
    const log = await Deno.readTextFile(`${state}/netmon.log`);
    const last = await Deno.readTextFile(`${state}/netmon.last`);
    // Fill every free block.
    const filler = await Deno.open(`${state}/filler`, { write: true, create: true });
    try {
      const block = new Uint8Array(4096);
      for (;;) await filler.write(block);
    } catch (e) {
      ok(/No space left/.test(String(e)), String(e));
    } finally {
      filler.close();
    }
    await sendUdp(p.b, "192.0.2.1", 3, 100);
    for (let i = 0; i < 3; i++) {
      const r = await netmon(args, o);
      ok(r.code === 73 || r.code === 74, `exit ${r.code}: ${r.stderr}`);
      assertEquals(r.stderr.split("\n").length, 2, "one line");
      ok(/^netmon: Cannot .*netmon\.(log|last).*No space left on device/.test(r.stderr), r.stderr);
      assertEquals(await Deno.readTextFile(`${state}/netmon.log`), log, "the log is as it was");
      assertEquals(await Deno.readTextFile(`${state}/netmon.last`), last, "the last file is as it was");
    }
    await Deno.remove(`${state}/filler`);
    const r = await netmon(args, o);
    assertEquals([r.code, r.stderr], [0, ""]);
    const samples = parseLog(await Deno.readTextFile(`${state}/netmon.log`));
    assertEquals(samples.length, 3);
    ok(
      samples[2]!.counters.get("b")! - samples[1]!.counters.get("b")! >= 384n,
      "the traffic in the full-disk time is counted",
    );
  }),
);

netnsTest(
  "[faults] a read-only state directory: one clear line, exit 73 or 74, files untouched",
  onTmpfs("1m", async (_p, args, state, o) => {
    assertEquals((await netmon(args, o)).code, 0);
    const before = await Deno.readTextFile(`${state}/netmon.log`) +
      await Deno.readTextFile(`${state}/netmon.last`);
    await must("mount", ["-o", "remount,ro", state]);
    const r = await netmon(args, o);
    ok(r.code === 73 || r.code === 74, `exit ${r.code}: ${r.stderr}`);
    assertEquals(r.stderr.split("\n").length, 2, "one line");
    ok(/^netmon: Cannot .*Read-only file system/.test(r.stderr), r.stderr);
    const after = await Deno.readTextFile(`${state}/netmon.log`) +
      await Deno.readTextFile(`${state}/netmon.last`);
    assertEquals(after, before);
    await must("mount", ["-o", "remount,rw", state]);
    assertEquals((await netmon(args, o)).code, 0);
  }),
);

/** The New Usage line's value for `label`, exactly (values under 1024 print as whole bytes). */
function usageOf(stdout: string, label: string): string {
  const line = stdout.split("\n")[2] ?? "";
  return new RegExp(` ${label}: (\\S+)`).exec(line)?.[1] ?? `(no ${label} in ${JSON.stringify(line)})`;
}

netnsTest(
  "[faults] iptables rules removed and re-added: a reset for each meter, never negative usage",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(
          dir,
          '[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n[[meter]]\nname = "c"\nfrom = "198.51.100.10"\n',
        );
        const o = { ns: p.a, dirs: [dir] };
        const args = ["report", "-c", config, "-s", dir];
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        await sendUdp(p.b, "192.0.2.1", 20, 500);
        await sendUdp(p.b, "198.51.100.1", 20, 500);
        assertEquals((await netmon(args, o)).code, 0);
        assertEquals((await netmon(["stop", "-c", config], o)).code, 0);
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        const small = await sendUdp(p.b, "192.0.2.1", 2, 100);
        const r = await netmon(args, o);
        assertEquals([r.code, r.stderr], [0, ""]);
        assertEquals([usageOf(r.stdout, "b"), usageOf(r.stdout, "c")], [String(small), "0"]);
        ok(/^== RESET DETECTED! == rules re-created: b, c;/m.test(r.stdout), r.stdout);
      })
    ),
);

netnsTest(
  "[faults] one meter's counter going down is a reset for it alone, not for the other",
  () =>
    withNftStarted(NFT_CONFIG, async ({ p, dir, config, o }) => {
      const args = ["report", "-c", config, "-s", dir];
      await sendUdp(p.b, "192.0.2.1", 5, 100);
      await sendUdp(p.b, "2001:db8::1", 5, 100);
      assertEquals((await netmon(args, o)).code, 0);
      await must("ip", ["netns", "exec", p.a, "nft", "reset", "counter", "inet", "netmon", "b"]);
      const v4 = await sendUdp(p.b, "192.0.2.1", 2, 100);
      const r = await netmon(args, o);
      assertEquals([r.code, r.stderr], [0, ""]);
      ok(/^== RESET DETECTED! == counter went down: b;/m.test(r.stdout), r.stdout);
      assertEquals(usageOf(r.stdout, "b"), String(v4));
      ok(/^\d+$/.test(usageOf(r.stdout, "b6")), "b6 is no reset: its usage is its growth (neighbour discovery only)");
    }),
);

netnsTest(
  "[faults] a reboot (the namespace deleted and made again): counters from zero are a reset, totals exact",
  async () => {
    await withTempDir(async (dir) => {
      const config = await writeConfig(dir, NFT_CONFIG);
      const args = ["report", "-c", config, "-s", dir];
      let before = 0;
      await withPair(async (p) => {
        const o = nftOpts(p, [dir]);
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        before = await sendUdp(p.b, "192.0.2.1", 30, 400);
        assertEquals((await netmon(args, o)).code, 0);
      });
      // The same machine after a reboot: new namespaces, empty firewall, same state directory.
      await withPair(async (p) => {
        const o = nftOpts(p, [dir]);
        const down = await netmon(args, o);
        assertEquals([down.code, down.stderr], [
          69,
          `netmon: table inet netmon is not installed: run 'deno task netmon start -c ${config} -s ${dir}'\n`,
        ]);
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        const after = await sendUdp(p.b, "192.0.2.1", 3, 100);
        const r = await netmon(args, o);
        assertEquals([r.code, r.stderr], [0, ""]);
        ok(/^== RESET DETECTED! == counter went down: b\b/m.test(r.stdout), r.stdout);
        assertEquals(usageOf(r.stdout, "b"), String(after));
        const samples = parseLog(await Deno.readTextFile(`${dir}/netmon.log`));
        assertEquals(samples.map((s) => s.counters.get("b")), [BigInt(before), BigInt(after)]);
        const last = parseLast(await Deno.readTextFile(`${dir}/netmon.last`), "netmon.last");
        assertEquals(last.totalStart, samples[1]!.stamp, "totals count from the reset");
      });
    });
  },
);

netnsTest(
  "[faults] the clock across the autumn DST change and stepping back: no crash, no negative usage, days right",
  () =>
    withNftStarted(NFT_ONE_METER_CONFIG, async ({ p, dir, config, o }) => {
      const env = { TZ: "Europe/London", FAKETIME_FMT: "%s", DONT_FAKE_MONOTONIC: "1" };
      const report = (epoch: number) =>
        netmon(["report", "-c", config, "-s", dir], { ...o, env, fakeTime: `@${epoch}` });
      const bst0130 = 1792888200; // 2026-10-25 01:30 BST; an hour later the clocks go back to 01:00 GMT
      const steps = [
        [bst0130 - 3600, 0], // 00:30 BST
        [bst0130, 10], // 01:30 BST
        [bst0130 + 3600 - 1200, 20], // 01:10 GMT: later, though the wall clock reads earlier
        [bst0130 + 3600 - 1500, 5], // 01:05 GMT: the clock stepped back five minutes
        [bst0130 + 3600 + 10.5 * 3600, 7], // 12:00 GMT
      ] as const;
      let total = 0;
      const stamps: string[] = [];
      for (const [epoch, datagrams] of steps) {
        const sent = datagrams ? await sendUdp(p.b, "192.0.2.1", datagrams, 100) : 0;
        total += sent;
        const r = await report(epoch);
        assertEquals([r.code, r.stderr], [0, ""]);
        if (stamps.length > 0) assertEquals(usageOf(r.stdout, "b"), humanReadable(BigInt(sent)));
        ok(!/RESET/.test(r.stdout), "a clock change is not a counter reset");
        stamps.push(/New Total - Timestamp: (\S+)/.exec(r.stdout)![1]!);
      }
      assertEquals(stamps, [
        "2026/10/25-00:30:00",
        "2026/10/25-01:30:00",
        "2026/10/25-01:10:00",
        "2026/10/25-01:05:00",
        "2026/10/25-12:00:00",
      ]);
      // The 25-hour day holds every byte; no hour is negative.
      const day = await graph(["--by", "day", "--unit", "B", "-o", "-", `${dir}/netmon.log`], {
        cwd: dir,
        env: { TZ: "Europe/London" },
      });
      assertEquals([day.code, day.stderr, day.stdout], [0, "", `Date\tb\n2026/10/25\t${total}\n`]);
      const hours = await graph(["--by", "hour", "--unit", "B", "-o", "-", `${dir}/netmon.log`], {
        cwd: dir,
        env: { TZ: "Europe/London" },
      });
      assertEquals(hours.code, 0);
      const values = hours.stdout.trimEnd().split("\n").slice(1).map((l) => Number(l.split("\t").at(-1)));
      ok(values.every((v) => v >= 0), hours.stdout);
      assertEquals(values.reduce((a, b) => a + b, 0), total);
    }),
);
