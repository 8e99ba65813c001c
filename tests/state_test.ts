import { deepEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { NetmonError } from "../lib/host/errors.ts";
import { readLogTail } from "../lib/state/log_reader.ts";
import { recordSample } from "../lib/state/record.ts";
import { REPLACED_UNDER_LOCK, resolveStateDir, stateFiles } from "../lib/state/files.ts";
import { installedPath } from "../lib/state/installed.ts";
import { totalsPath } from "../lib/state/totals_file.ts";
import { zoneRecordPath } from "../lib/state/zone_record.ts";
import { withTempDir } from "./helpers.ts";

const ORIG = ["proxy", "non-network"];
let tick = 0;
const clock = () =>
  `2026/11/21-10:${String(Math.floor(tick / 60) % 60).padStart(2, "0")}:${String(tick++ % 60).padStart(2, "0")}`;
const counters = (meters: string[], values: bigint[]) => () =>
  Promise.resolve({ bytes: new Map(meters.map((m, i) => [m, values[i]!])) });

Deno.test("first and second run: log lines, last file, usage", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(`${dir}/state`);
    const r1 = await recordSample(files, { readCounters: counters(ORIG, [100n, 200n]), now: clock });
    assertEquals(r1.previous, undefined);
    const r2 = await recordSample(files, { readCounters: counters(ORIG, [150n, 260n]), now: clock });
    assertEquals(r2.usage.meters.map((m) => m.usage), [50n, 60n]);
    assertEquals(r2.usage.totalStart, r1.sample.timestamp);
    const log = await Deno.readTextFile(files.log);
    assertEquals(log, `${r1.sample.timestamp}\t100\t200\n${r2.sample.timestamp}\t150\t260\n`);
    assertEquals(await Deno.readTextFile(files.last), `${r2.sample.timestamp}\t150\t260\t${r1.sample.timestamp}\n`);
    for (const f of [files.log, files.last]) assertEquals((await Deno.stat(f)).mode! & 0o777, 0o640, f);
    // No other user may open the lock: whoever can, can hold it (lock_test.ts).
    assertEquals((await Deno.stat(files.lock)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(files.dir)).mode! & 0o777, 0o750);
  }));

Deno.test("a torn last line (crash mid-append) is cut off; completed samples stay", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const r1 = await recordSample(files, { readCounters: counters(ORIG, [1n, 2n]), now: clock });
    await Deno.writeTextFile(files.log, "2026/11/21-1", { append: true });
    const r2 = await recordSample(files, { readCounters: counters(ORIG, [5n, 5n]), now: clock });
    ok(r2.warnings[0]?.includes("removed 12 bytes of an incomplete last line"), r2.warnings.join());
    assertEquals(r2.usage.meters.map((m) => m.usage), [4n, 3n]);
    assertEquals(await Deno.readTextFile(files.log), `${r1.sample.timestamp}\t1\t2\n${r2.sample.timestamp}\t5\t5\n`);
  }));

Deno.test("a last file behind the log (crash between the two writes) is rebuilt from the log", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    await recordSample(files, { readCounters: counters(ORIG, [10n, 10n]), now: clock });
    // The log got the next sample, the last file did not.
    await Deno.writeTextFile(files.log, "2026/11/21-11:00:00\t30\t40\n", { append: true });
    const r = await recordSample(files, { readCounters: counters(ORIG, [35n, 41n]), now: clock });
    ok(r.warnings[0]?.includes("was behind"), r.warnings.join());
    assertEquals(r.previous?.sample.timestamp, "2026/11/21-11:00:00");
    assertEquals(r.usage.meters.map((m) => m.usage), [5n, 1n]);
    assertEquals((await Deno.readTextFile(files.log)).trimEnd().split("\n").length, 3);
  }));

Deno.test("a last file behind the log by a sample of the same second (a run killed after its append) says so", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const r1 = await recordSample(files, { readCounters: counters(ORIG, [10n, 10n]), now: clock });
    // The next run, in the same second, appended its sample and was killed before it replaced the last file.
    await Deno.writeTextFile(files.log, `${r1.sample.timestamp}\t12\t11\n`, { append: true });
    const r = await recordSample(files, { readCounters: counters(ORIG, [15n, 11n]), now: clock });
    ok(r.warnings[0]?.includes("was behind") && !r.warnings[0].includes("edited"), r.warnings.join());
    assertEquals(r.usage.meters.map((m) => m.usage), [3n, 0n]);
  }));

Deno.test("a last file ahead of the log (its last line cut off by hand) is rebuilt, and said so", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const r1 = await recordSample(files, { readCounters: counters(ORIG, [10n, 10n]), now: clock });
    await recordSample(files, { readCounters: counters(ORIG, [20n, 30n]), now: clock });
    await Deno.writeTextFile(files.log, `${r1.sample.timestamp}\t10\t10\n`);
    const r = await recordSample(files, { readCounters: counters(ORIG, [25n, 31n]), now: clock });
    ok(r.warnings[0]?.includes("did not match the end of") && !r.warnings[0].includes("behind"), r.warnings.join());
    assertEquals(r.previous?.sample.timestamp, r1.sample.timestamp);
    assertEquals(r.usage.meters.map((m) => m.usage), [15n, 21n]);
  }));

Deno.test("a damaged last file: one line saying it can be deleted, and the next report after that rebuilds it", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    await recordSample(files, { readCounters: counters(ORIG, [10n, 10n]), now: clock });
    await Deno.writeTextFile(files.last, "2026/11/21-10:00:00\t10\tten\t2026/11/21-10:00:00\n");
    const damaged = recordSample(files, { readCounters: counters(ORIG, [12n, 12n]), now: clock });
    await rejects(damaged, (e: NetmonError) => {
      assertEquals(e.exitCode, 65);
      ok(
        /netmon\.last:1: .*: delete it, and the next report rebuilds it from the log's last line$/.test(e.message),
        e.message,
      );
      return true;
    });
    await Deno.remove(files.last);
    const r = await recordSample(files, { readCounters: counters(ORIG, [12n, 13n]), now: clock });
    assertEquals(r.usage.meters.map((m) => m.usage), [2n, 3n]);
  }));

Deno.test("a missing last file is rebuilt from the log, under the log's latest header", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    await Deno.writeTextFile(
      files.log,
      "2026/11/20-00:00:00\t1\t2\n# netmon meters:\ta\tb\tc\n2026/11/20-00:05:00\t5\t6\t7\n",
    );
    const r = await recordSample(files, { readCounters: counters(["a", "b", "c"], [6n, 6n, 9n]), now: clock });
    ok(r.warnings[0]?.includes("was missing"), r.warnings.join());
    assertEquals(r.usage.meters.map((m) => m.usage), [1n, 0n, 2n]);
    const lines = (await Deno.readTextFile(files.log)).trimEnd().split("\n");
    assertEquals(lines.length, 4, "no second header for the same meters");
  }));

Deno.test("a rotated log (moved away, or emptied as logrotate's copytruncate does) begins again with the last sample", () =>
  withTempDir(async (dir) => {
    for (const rotate of ["move", "empty"]) {
      const files = stateFiles(`${dir}/${rotate}`);
      const meters = ["a", "b", "c"];
      const r1 = await recordSample(files, { readCounters: counters(meters, [10n, 20n, 30n]), now: clock });
      if (rotate === "move") await Deno.rename(files.log, `${files.log}.1`);
      else await Deno.writeTextFile(files.log, "");
      const r2 = await recordSample(files, { readCounters: counters(meters, [15n, 20n, 31n]), now: clock });
      assertEquals(r2.usage.meters.map((m) => m.usage), [5n, 0n, 1n], rotate);
      // The interval since the last sample is in the new log too: every reader bills it, not only the report.
      const header = "# netmon meters:\ta\tb\tc\n";
      assertEquals(
        await Deno.readTextFile(files.log),
        `${header}${r1.sample.timestamp}\t10\t20\t30\n${r2.sample.timestamp}\t15\t20\t31\n`,
        rotate,
      );
      assertEquals(r2.warnings, [], rotate);
    }
    // The original two meters: no header, as the original's log.
    const files = stateFiles(`${dir}/original`);
    const r1 = await recordSample(files, { readCounters: counters(ORIG, [1n, 2n]), now: clock });
    await Deno.writeTextFile(files.log, "");
    const r2 = await recordSample(files, {
      readCounters: counters(["proxy", "non-network", "x"], [3n, 4n, 5n]),
      now: clock,
    });
    assertEquals(
      await Deno.readTextFile(files.log),
      `${r1.sample.timestamp}\t1\t2\n# netmon meters:\tproxy\tnon-network\tx\n${r2.sample.timestamp}\t3\t4\t5\n`,
    );
  }));

Deno.test("temporary files killed runs left in the state directory are removed by the next, under the lock", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    await recordSample(files, { readCounters: counters(ORIG, [1n, 2n]), now: clock });
    const left = [".netmon.last.0a1b2c.tmp", ".netmon.totals.0a1b2c.tmp", ".netmon.installed.0a1b2c.tmp"];
    for (const name of left) await Deno.writeTextFile(`${dir}/${name}`, "half");
    // netmon.status is written after the lock is let go: a fresh temporary of it may be a run's still writing it.
    const [oldStatus, newStatus] = [".netmon.status.0a1b2c.tmp", ".netmon.status.3d4e5f.tmp"];
    for (const name of [oldStatus, newStatus]) await Deno.writeTextFile(`${dir}/${name}`, "half");
    const hourAgo = new Date(Date.now() - 3_601_000);
    await Deno.utime(`${dir}/${oldStatus}`, hourAgo, hourAgo);
    // graph.ts may be writing its picture here meanwhile (the nightly line's -o and --plot), without the lock.
    const mine = `${dir}/.usage.png.0a1b2c.tmp`;
    await Deno.writeTextFile(mine, "graph.ts's");
    await recordSample(files, { readCounters: counters(ORIG, [3n, 4n]), now: clock });
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".tmp")).sort();
    assertEquals(names, [newStatus, ".usage.png.0a1b2c.tmp"]);
    // The list of files replaced under the lock names each of them as its module does.
    const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
    assertEquals(
      new Set([files.last, totalsPath(dir), installedPath(files), zoneRecordPath(files.log)].map(base)),
      REPLACED_UNDER_LOCK,
    );
  }));

Deno.test("changing meters writes a new header; old lines keep theirs", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    await recordSample(files, { readCounters: counters(ORIG, [1n, 2n]), now: clock });
    await recordSample(files, { readCounters: counters(["proxy", "non-network", "x"], [3n, 4n, 5n]), now: clock });
    await recordSample(files, { readCounters: counters(["x"], [6n]), now: clock });
    const lines = (await Deno.readTextFile(files.log)).trimEnd().split("\n");
    assertEquals(lines.map((l) => l.split("\t").length), [3, 4, 4, 2, 2]);
    assertEquals([lines[1], lines[3]], ["# netmon meters:\tproxy\tnon-network\tx", "# netmon meters:\tx"]);
    assertEquals((await Deno.readTextFile(files.last)).split("\n")[0], "# netmon meters:\tx");
  }));

Deno.test("a failed counter read writes nothing", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    await recordSample(files, { readCounters: counters(ORIG, [1n, 2n]), now: clock });
    const [log, last] = [await Deno.readTextFile(files.log), await Deno.readTextFile(files.last)];
    await rejects(
      recordSample(files, { readCounters: () => Promise.reject(new NetmonError("boom", 69)), now: clock }),
      /boom/,
    );
    assertEquals([await Deno.readTextFile(files.log), await Deno.readTextFile(files.last)], [log, last]);
  }));

Deno.test("the read starts before the previous state is read, and learns of an unreadable one", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    await Deno.writeTextFile(files.last, "garbage\n");
    const events: string[] = [];
    await rejects(
      recordSample(files, {
        readCounters: async (previous) => {
          events.push("read started");
          try {
            await previous;
          } catch (e) {
            events.push(`previous rejected: ${(e as Error).message}`);
            throw e;
          }
          events.push("previous known");
          return { bytes: new Map([["m", 1n]]) };
        },
        now: clock,
      }),
      (e: NetmonError) => e.exitCode === 65,
    );
    assertEquals(events.length, 2, events.join("; "));
    assertEquals(events[0], "read started");
    ok(events[1]?.startsWith(`previous rejected: ${files.last}:1:`), events[1]);
    assertEquals(await Deno.readTextFile(files.last), "garbage\n");
  }));

Deno.test("overlapping runs queue on the lock: whole lines, in order", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    let value = 0n;
    const read = () =>
      new Promise<{ bytes: Map<string, bigint> }>((ok) =>
        setTimeout(() => ok({ bytes: new Map([["m", ++value * 1000n]]) }), 5)
      );
    await Promise.all(Array.from({ length: 8 }, () => recordSample(files, { readCounters: read, now: clock })));
    const lines = (await Deno.readTextFile(files.log)).trimEnd().split("\n").slice(1);
    assertEquals(lines.map((l) => l.split("\t")[1]), Array.from({ length: 8 }, (_, i) => String((i + 1) * 1000)));
  }));

Deno.test("a lock held too long gives up with exit 75 and writes nothing", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const holder = await Deno.open(files.lock, { write: true, create: true });
    await holder.lock(true);
    try {
      await rejects(
        recordSample(files, { readCounters: counters(["m"], [1n]), now: clock, lockTimeoutMs: 300 }),
        (e: unknown) => e instanceof NetmonError && e.exitCode === 75 && /try again later/.test(e.message),
      );
    } finally {
      holder.close();
    }
    assertEquals((await readLogTail(files.log)).size, 0);
  }));

Deno.test("the state directory comes from flag, env, config, then the user's default", () => {
  const base = { uid: () => 1000, xdgStateHome: () => undefined, home: () => "/home/u" };
  assertEquals(resolveStateDir({ ...base, flag: "/f", env: "/e", config: "/c" }), "/f");
  assertEquals(resolveStateDir({ ...base, env: "/e", config: "/c" }), "/e");
  assertEquals(resolveStateDir({ ...base, config: "/c" }), "/c");
  assertEquals(resolveStateDir(base), "/home/u/.local/state/netmon");
  assertEquals(resolveStateDir({ ...base, xdgStateHome: () => "/x" }), "/x/netmon");
  assertEquals(resolveStateDir({ ...base, uid: () => 0 }), "/var/lib/netmon");
});

Deno.test("the log tail is found however long the last line is", () =>
  withTempDir(async (dir) => {
    const line = "2026/11/21-10:00:00" + "\t123456789".repeat(20000);
    await Deno.writeTextFile(`${dir}/log`, `a\n${line}\n`);
    const tail = await readLogTail(`${dir}/log`);
    assertEquals([tail.lastLine?.length, tail.tornAt], [line.length, undefined]);
  }));

Deno.test("the lock's deadline does not keep a process alive once the sample is recorded", () =>
  withTempDir(async (dir) => {
    const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
    const code = `import { recordSample } from ${url("../lib/state/record.ts")};
      import { stateFiles } from ${url("../lib/state/files.ts")};
      await recordSample(stateFiles(${JSON.stringify(dir)}), {
        readCounters: () => Promise.resolve({ bytes: new Map([["m", 1n]]) }),
        now: () => "2026/11/21-10:00:00",
        lockTimeoutMs: 20_000,
      });`;
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--frozen", `--config=${new URL("../deno.json", import.meta.url).pathname}`, code],
      stdout: "null",
      stderr: "piped",
    }).output();
    const took = performance.now() - t0;
    ok(out.success, new TextDecoder().decode(out.stderr));
    ok(took < 10_000, `the process lived ${took.toFixed(0)} ms: a 20 s lock deadline held it`);
    ok((await Deno.readTextFile(`${dir}/netmon.log`)).endsWith("2026/11/21-10:00:00\t1\n"));
  }));
