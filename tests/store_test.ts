/**
 * The SQLite store: rows equal the log's samples after real runs (with
 * resets), it catches up after a failed write or when added later, and
 * `netmon import` loads a 100,000-line log.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { fromSigned, SqliteStore, toSigned } from "../lib/outputs/sqlite.ts";
import { stampSeconds } from "../lib/state/log_timed.ts";
import { localZone } from "../lib/usage/zone.ts";
import {
  must,
  netmon,
  netnsTest,
  nftOnly,
  type Pair,
  sendUdp,
  withPair,
  withTempDir,
  withTmpfs,
  writeConfig,
} from "./helpers.ts";

/** The log's samples as rows (stamp, type, bytes), for comparing with the store. */
function logRows(log: string): { stamp: number; type: string; bytes: bigint }[] {
  let columns = ["proxy", "non-network"];
  const rows: { stamp: number; type: string; bytes: bigint }[] = [];
  for (const line of log.split("\n")) {
    if (line.startsWith("# netmon meters:")) columns = line.split("\t").slice(1);
    else if (line !== "") {
      const [stamp, ...values] = line.split("\t");
      const epoch = stampSeconds(localZone(), stamp!).epoch;
      values.forEach((v, i) => rows.push({ stamp: epoch, type: columns[i]!, bytes: BigInt(v) }));
    }
  }
  return rows;
}

function storeRows(path: string) {
  const store = SqliteStore.open(path);
  try {
    return store.rows();
  } finally {
    store.close();
  }
}

const opts = (p: Pair, dir: string) => nftOnly(p.a, [dir]);

netnsTest(
  "[sqlite] after a series of runs with resets, the store's rows are the log's samples, with packets",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(
          dir,
          `source = "nftables"\nstore = "sqlite:netmon.sqlite"\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n` +
            `[[meter]]\nname = "b6"\nfrom = "2001:db8::2"\n`,
        );
        const o = opts(p, dir);
        const report = async () => {
          const r = await netmon(["report", "-c", config, "-s", `${dir}/state`], o);
          assertEquals([r.code, r.stderr], [0, ""]);
          // Two runs in one second would share a stamp, the table's key.
          await new Promise((ok) => setTimeout(ok, 1100));
        };
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        await report();
        await sendUdp(p.b, "192.0.2.1", 10, 100);
        await report();
        await must("ip", ["netns", "exec", p.a, "nft", "reset", "counters", "table", "inet", "netmon"]);
        await sendUdp(p.b, "192.0.2.1", 2, 50);
        await report();
        const log = await Deno.readTextFile(`${dir}/state/netmon.log`);
        const rows = storeRows(`${dir}/state/netmon.sqlite`);
        assertEquals(rows.map(({ stamp, type, bytes }) => ({ stamp, type, bytes })), logRows(log));
        assertEquals(rows.length, 6);
        assertEquals(rows.filter((r) => r.type === "b").map((r) => r.bytes), [0n, 1280n, 156n]);
        assertEquals(rows.filter((r) => r.type === "b").map((r) => r.packets), [0n, 10n, 2n]);
        assertEquals((await Deno.stat(`${dir}/state/netmon.sqlite`)).mode! & 0o777, 0o640);
      })
    ),
);

Deno.test("[sqlite] a store that cannot be written fails the run after the report; the next run catches up", () =>
  withTempDir(async (dir) => {
    const state = `${dir}/state`;
    await Deno.mkdir(state);
    // Two samples logged before the store existed.
    await Deno.writeTextFile(
      `${state}/netmon.log`,
      "2026/11/20-10:00:00\t100\t200\n2026/11/20-10:05:00\t150\t260\n",
    );
    await Deno.writeTextFile(`${state}/netmon.last`, "2026/11/20-10:05:00\t150\t260\t2026/11/20-10:00:00\n");
    await Deno.mkdir(`${state}/busy.sqlite`);
    const config = await writeConfig(
      dir,
      'source = "interface"\nstore = "sqlite:busy.sqlite"\n',
    );
    const o = { dirs: [dir] };
    const failed = await netmon(["report", "-c", config, "-s", state], o);
    assertEquals(failed.code, 74, failed.stderr);
    ok(
      /^netmon: SQLite store .*busy\.sqlite: .*\(the log has the sample; the next run catches up\)\n$/.test(
        failed.stderr,
      ),
      failed.stderr,
    );
    const logged = (await Deno.readTextFile(`${state}/netmon.log`)).trimEnd().split("\n");
    assertEquals(logged.length, 4, "the sample is logged (after a header for the interface columns)");
    ok(failed.stdout.startsWith("Last Total - Timestamp: 2026/11/20-10:05:00"), "the report was printed");
    await Deno.remove(`${state}/busy.sqlite`);
    await new Promise((ok) => setTimeout(ok, 1100));
    const r = await netmon(["report", "-c", config, "-s", state], o);
    assertEquals([r.code, r.stderr], [0, ""]);
    const log = await Deno.readTextFile(`${state}/netmon.log`);
    assertEquals(
      storeRows(`${state}/busy.sqlite`).map(({ stamp, type, bytes }) => ({ stamp, type, bytes })),
      logRows(log),
    );
  }));

Deno.test("[sqlite] import loads a 100,000-line log in one go, exactly, and again changes nothing", () =>
  withTempDir(async (dir) => {
    const lines = ["# netmon meters:\ta\tb\tc"];
    const start = Date.UTC(2020, 0, 1) / 1000;
    const max = (1n << 64n) - 1n;
    for (let i = 0; i < 100_000; i++) {
      const d = new Date((start + i * 300) * 1000);
      const p2 = (n: number) => String(n).padStart(2, "0");
      const stamp = `${d.getUTCFullYear()}/${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())}-${p2(d.getUTCHours())}:${
        p2(d.getUTCMinutes())
      }:${p2(d.getUTCSeconds())}`;
      lines.push(`${stamp}\t${i * 1000}\t${max - BigInt(100_000 - i)}\t${i % 7}`);
    }
    await Deno.writeTextFile(`${dir}/big.log`, lines.join("\n") + "\n");
    const config = await writeConfig(
      dir,
      'source = "interface"\nstore = "sqlite:/STORE"\n'.replace("/STORE", `${dir}/s.db`),
    );
    const o = { dirs: [dir], env: { TZ: "UTC" } };
    const r = await netmon(["import", `${dir}/big.log`, "-c", config, "-s", dir], o);
    assertEquals([r.code, r.stderr], [0, ""]);
    assertEquals(
      r.stdout,
      `read 100000 samples (300000 rows) from ${dir}/big.log into ${dir}/s.db: 300000 rows stored, 0 already present, ` +
        `0 left out for a later sample of the same second\n`,
    );
    const again = await netmon(["import", `${dir}/big.log`, "-c", config, "-s", dir], o);
    assertEquals(again.code, 0);
    const store = SqliteStore.open(`${dir}/s.db`);
    try {
      const rows = store.rows();
      assertEquals(rows.length, 300_000);
      assertEquals(rows[0], { stamp: start, type: "a", packets: null, bytes: 0n });
      assertEquals(rows.at(-2), { stamp: start + 99_999 * 300, type: "b", packets: null, bytes: max - 1n });
      assertEquals(rows.at(-1)?.bytes, BigInt(99_999 % 7));
    } finally {
      store.close();
    }
  }));

Deno.test("[sqlite] import needs a store in the config and a log that parses", () =>
  withTempDir(async (dir) => {
    const none = await writeConfig(dir, 'source = "interface"\n', "none.toml");
    const r = await netmon(["import", "-c", none, "-s", dir], { dirs: [dir] });
    assertEquals([r.code, r.stderr], [
      78,
      `netmon: ${none}: store: no store configured (add store = "sqlite:netmon.sqlite" or "postgresql://USER@HOST:PORT/DB")\n`,
    ]);
    const config = await writeConfig(dir, 'source = "interface"\nstore = "sqlite:s.db"\n');
    await Deno.writeTextFile(`${dir}/netmon.log`, "2026/11/20-10:00:00\t1\t2\n2026/11/20-10:05:00\t1\tx\n");
    const bad = await netmon(["import", "-c", config, "-s", dir], { dirs: [dir] });
    assertEquals(bad.code, 65);
    ok(
      bad.stderr.startsWith(`netmon: ${dir}/netmon.log:2: non-network: counter "x" is not a whole number`),
      bad.stderr,
    );
    assertEquals(storeRows(`${dir}/s.db`), [], "all or nothing: no row of the good line either");
  }));

Deno.test("[sqlite] import LOG: a log the user names is read through hard links (a backup snapshot), not a FIFO", () =>
  withTempDir(async (dir) => {
    const config = await writeConfig(dir, 'source = "interface"\nstore = "sqlite:s.db"\n');
    await Deno.mkdir(`${dir}/daily.0`);
    const text = "2026/11/20-10:00:00\t1\t2\n2026/11/20-10:05:00\t3\t4\n";
    await Deno.writeTextFile(`${dir}/daily.0/netmon.log`, text);
    // cp -al (rsnapshot): the snapshot's log is a second name of the same file.
    await Deno.mkdir(`${dir}/daily.1`);
    await Deno.link(`${dir}/daily.0/netmon.log`, `${dir}/daily.1/netmon.log`);
    assertEquals(Deno.statSync(`${dir}/daily.1/netmon.log`).nlink, 2);
    const o = { dirs: [dir], env: { TZ: "UTC" } };
    const r = await netmon(["import", `${dir}/daily.1/netmon.log`, "-c", config, "-s", `${dir}/state`], o);
    assertEquals([r.code, r.stderr], [0, ""]);
    ok(r.stdout.startsWith(`read 2 samples (4 rows) from ${dir}/daily.1/netmon.log into `), r.stdout);
    assertEquals(storeRows(`${dir}/state/s.db`).length, 4);
    // The state directory's own log is not named by the user: a second name there is still refused.
    await Deno.link(`${dir}/daily.0/netmon.log`, `${dir}/state/netmon.log`);
    const own = await netmon(["import", "-c", config, "-s", `${dir}/state`], o);
    assertEquals(own.code, 66, own.stderr);
    ok(own.stderr.startsWith(`netmon: ${dir}/state/netmon.log: the log has 3 hard links: refused`), own.stderr);
    // A FIFO named is refused at once, never waited on.
    await must("mkfifo", [`${dir}/fifo.log`]);
    const fifo = await netmon(["import", `${dir}/fifo.log`, "-c", config, "-s", `${dir}/state`], o);
    assertEquals([fifo.code, fifo.stderr], [
      66,
      `netmon: ${dir}/fifo.log: the log is a FIFO, not a regular file: refused (remove it)\n`,
    ]);
  }));

Deno.test("[sqlite] counters of 2^63 and above are stored as two's complement and read back exactly", () => {
  for (const v of [0n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n]) {
    const s = toSigned(v);
    ok(s >= -(1n << 63n) && s < 1n << 63n);
    assertEquals(fromSigned(s), v);
  }
});

Deno.test({
  name: "[sqlite] a full disk says so (the store's own error, not the rollback's after it)",
  ignore: Deno.uid() !== 0, // a tmpfs of its own (root), so that a full disk is real and touches nothing else
  fn: () =>
    withTempDir((dir) =>
      withTmpfs(`${dir}/tmpfs`, "256k", () => {
        const path = `${dir}/tmpfs/netmon.sqlite`;
        const store = SqliteStore.open(path);
        try {
          const filler = Deno.openSync(`${dir}/tmpfs/filler`, { write: true, create: true });
          try {
            for (;;) filler.writeSync(new Uint8Array(4096));
          } catch (e) {
            ok(/No space left/.test(String(e)), String(e));
          } finally {
            filler.close();
          }
          const samples = Array.from({ length: 2000 }, (_, i) => ({
            epoch: 1_700_000_000 + i,
            sample: { timestamp: "", counters: new Map([[`column-with-a-long-name-${i}`, BigInt(i)]]) },
          }));
          let said = "";
          try {
            store.insert(samples);
          } catch (e) {
            said = (e as Error).message;
          }
          ok(/full/i.test(said) && !/no transaction/.test(said), said);
          ok(said.includes("the log has the sample; the next run catches up"), said);
        } finally {
          store.close();
        }
        return Promise.resolve();
      })
    ),
});
