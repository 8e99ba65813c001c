/**
 * The PostgreSQL store against a real throwaway cluster: two hosts in one
 * database, the database stopped mid-series and caught up from the log,
 * a loader SIGKILLed mid-import, exact 64-bit counters, reading back per host
 * and time range, and errors as one line with the right status and no password.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConfigError, EX, NetmonError } from "../lib/host/errors.ts";
import {
  dbPassword,
  parseStoreUrl,
  PostgresStore,
  type StoredSample,
  storeError,
  storeSample,
  type TimedSample,
} from "../lib/outputs/postgres.ts";
import { type PostgresCluster, postgresUnavailable, startPostgresCluster } from "./postgres_cluster.ts";
import { series } from "./postgres_import_driver.ts";

const unavailable = postgresUnavailable();

Deno.test("postgres: store URL: user, host, port, database; a password or options in it are refused", () => {
  assert.deepEqual(parseStoreUrl("postgresql://netmon@db.example.org:6432/traffic"), {
    user: "netmon",
    host: "db.example.org",
    port: 6432,
    database: "traffic",
  });
  assert.equal(parseStoreUrl("postgres://n@[2001:db8::1]/t").host, "2001:db8::1");
  assert.equal(parseStoreUrl("postgres://n@h/t").port, 5432);
  assert.throws(
    () => parseStoreUrl("postgresql://u:secret@h/t"),
    (e) => e instanceof ConfigError && /holds a password/.test(e.message) && !e.message.includes("secret"),
  );
  assert.throws(() => parseStoreUrl("postgresql://u@h/t?sslmode=disable"), /use sslmode and ca_file in the config/);
  assert.throws(() => parseStoreUrl("postgresql://h/t"), /name user, host and database/);
  assert.throws(() => parseStoreUrl("mysql://u@h/t"), /is not postgresql:/);
});

Deno.test("postgres: the password comes from password_file's first line, else NETMON_DB_PASSWORD", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netmon-pgpw-" });
  try {
    const f = `${dir}/pw`;
    await Deno.writeTextFile(f, "s3cret\nignored\n", { createNew: true, mode: 0o600 });
    assert.equal(await dbPassword(f, () => "env"), "s3cret");
    assert.equal(await dbPassword(undefined, (k) => (k === "NETMON_DB_PASSWORD" ? "env" : undefined)), "env");
    assert.equal(await dbPassword(undefined, () => undefined), undefined);
    await Deno.writeTextFile(`${dir}/empty`, "\n", { createNew: true, mode: 0o600 });
    await assert.rejects(dbPassword(`${dir}/empty`, () => undefined), /password_file is empty/);
    await assert.rejects(dbPassword(dir, () => undefined), /not a regular file|directory/);
    await assert.rejects(dbPassword(`${dir}/missing`, () => undefined), (e) => e instanceof NetmonError);
    // A FIFO in its place is not waited on forever (as mail.password_file): one line, in bounded time.
    await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    const t0 = performance.now();
    await assert.rejects(dbPassword(`${dir}/fifo`, () => undefined), (e) => e instanceof NetmonError);
    assert.ok(performance.now() - t0 < 30_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("postgres: errors map to one line and a status, with the password blanked", () => {
  const where = "netmon@db:5432/traffic";
  const down = storeError(
    Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
    where,
  );
  assert.equal(down.exitCode, EX.TEMPFAIL);
  assert.match(down.message, /^PostgreSQL store netmon@db:5432\/traffic: unavailable: .*next run catches up\)$/);
  const auth = storeError(Object.assign(new Error('password "hunter2" rejected'), { code: "28P01" }), where, "hunter2");
  assert.equal(auth.exitCode, EX.NOPERM);
  assert.ok(!auth.message.includes("hunter2"), auth.message);
  assert.equal(storeError(Object.assign(new Error("x"), { code: "3D000" }), where).exitCode, EX.CONFIG);
  assert.equal(storeError(new Error("self-signed certificate in certificate chain"), where).exitCode, EX.CONFIG);
  assert.ok(!storeError(new Error("a\nb"), where).message.includes("\n"));
});

/** Every row of the table as text lines, sorted, for exact comparison. */
async function dump(c: PostgresCluster): Promise<string[]> {
  const out = await c.psql(
    "SELECT host, stamp, type, coalesce(packets::text, 'NULL'), bytes FROM stats ORDER BY 1, 2, 3",
  );
  return out.split("\n").filter((l) => l !== "").sort();
}

/** What the table must hold for `host`'s log. */
function expected(host: string, log: Iterable<TimedSample>): string[] {
  const out: string[] = [];
  for (const { epoch, sample } of log) {
    for (const [type, bytes] of sample.counters) {
      out.push(`${host}|${epoch}|${type}|${sample.packets?.get(type) ?? "NULL"}|${bytes}`);
    }
  }
  return out;
}

const sorted = (a: string[]) => [...a].sort();

Deno.test({
  name: "postgres: against a real cluster",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using cluster = await startPostgresCluster();
    const opts = (host: string) => ({ url: cluster.url, host, password: cluster.password, statementTimeoutMs: 10_000 });

    await t.step(
      "two hosts write into one table, created if missing; exact to 2^64-1; read back per host",
      async () => {
        const a = await PostgresStore.open(opts("alpha"));
        const b = await PostgresStore.open(opts("beta"));
        try {
          const max = (1n << 64n) - 1n;
          const logA: TimedSample[] = [];
          const logB: TimedSample[] = [];
          for (let i = 0; i < 6; i++) {
            const sa: TimedSample = {
              epoch: 1_000 + i * 300,
              sample: { timestamp: `a${i}`, counters: new Map([["in", max - 10n + BigInt(i)], ["out", BigInt(i)]]) },
            };
            const sb: TimedSample = {
              epoch: 1_000 + i * 300,
              sample: {
                timestamp: `b${i}`,
                counters: new Map([["in", BigInt(i * 7)]]),
                packets: new Map([["in", BigInt(i)]]),
              },
            };
            logA.push(sa);
            logB.push(sb);
            await Promise.all([
              storeSample(a, () => logA, logA.at(-2)?.epoch, sa),
              storeSample(b, () => logB, logB.at(-2)?.epoch, sb),
            ]);
          }
          assert.deepEqual(await dump(cluster), sorted([...expected("alpha", logA), ...expected("beta", logB)]));
          assert.match(
            await cluster.psql(
              "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'stats'::regclass AND attname = 'bytes'",
            ),
            /numeric\(20,0\)/,
          );
          // Read back: one host, a time range, all hosts.
          const got: StoredSample[] = [];
          for await (const s of a.samples({ hosts: ["alpha"], from: 1_300, to: 1_900 })) got.push(s);
          assert.deepEqual(got.map((s) => s.epoch), [1_300, 1_600]);
          assert.equal(got[0]!.counters.get("in"), max - 9n);
          let all = 0;
          const hosts = new Set<string>();
          for await (const s of b.samples()) {
            all++;
            hosts.add(s.host);
            if (s.host === "beta") assert.equal(s.packets.get("in"), BigInt((s.epoch - 1_000) / 300));
          }
          assert.equal(all, 12);
          assert.deepEqual([...hosts], ["alpha", "beta"]);
        } finally {
          await a.close();
          await b.close();
        }
      },
    );

    await t.step(
      "the later of two samples in one second replaces the earlier even when its own write failed (the next report sends it again; so does a catch-up)",
      async () => {
        const store = await PostgresStore.open(opts("later"));
        try {
          const at = (epoch: number, bytes: bigint, packets?: bigint): TimedSample => ({
            epoch,
            sample: {
              timestamp: String(epoch),
              counters: new Map([["a", bytes]]),
              ...(packets === undefined ? {} : { packets: new Map([["a", packets]]) }),
            },
          });
          const rows = async () =>
            (await dump(cluster)).filter((l) => l.startsWith("later|")).map((l) => l.split("|").slice(1).join(" "));
          // Samples 1 and 2 share second 1000; 2's write failed (the database away). The next report, of second 1001,
          // has 2 as its previous sample (as the log and netmon.last have it, without packets).
          await storeSample(store, () => [], undefined, at(1_000, 10n, 1n));
          await storeSample(store, () => [], 1_000, at(1_001, 40n, 4n), undefined, undefined, at(1_000, 25n));
          assert.deepEqual(await rows(), ["1000 a 1 25", "1001 a 4 40"], "sample 2's bytes, sample 1's packets kept");
          // Again the same: nothing changes.
          await storeSample(store, () => [], 1_000, at(1_001, 40n, 4n), undefined, undefined, at(1_000, 25n));
          assert.deepEqual(await rows(), ["1000 a 1 25", "1001 a 4 40"]);
          // A longer outage: 3 (second 1002) stored, 4 (also 1002) and 5 not; 6 catches up from the log, from 1002 on.
          await storeSample(store, () => [], 1_001, at(1_002, 50n));
          const log = [at(1_000, 10n), at(1_000, 25n), at(1_001, 40n), at(1_002, 50n), at(1_002, 55n), at(1_003, 60n)];
          await storeSample(store, () => log, 1_003, at(1_004, 70n), undefined, undefined, at(1_003, 60n));
          assert.deepEqual((await rows()).slice(2), ["1002 a NULL 55", "1003 a NULL 60", "1004 a NULL 70"]);
        } finally {
          await store.close();
        }
      },
    );

    await t.step("pf's interval packets: added to each column's newest stored packets, 0 where none", async () => {
      const store = await PostgresStore.open(opts("pf"));
      try {
        const at = (epoch: number, counters: [string, bigint][]): TimedSample => ({
          epoch,
          sample: { timestamp: String(epoch), counters: new Map(counters) },
        });
        await storeSample(
          store,
          () => [],
          undefined,
          at(1_000, [["a", 10n], ["b", 20n]]),
          new Map([["a", 3n], ["b", 4n]]),
        );
        await storeSample(
          store,
          () => [],
          1_000,
          at(1_300, [["a", 15n], ["b", 25n], ["c", 1n]]),
          new Map([["a", 2n], ["b", 0n], ["c", 7n]]),
        );
        await store.insert([at(1_600, [["a", 16n], ["d", 9n]])]); // a row without packets is skipped over
        await storeSample(store, () => [], 1_600, at(1_900, [["a", 17n], ["d", 10n]]), new Map([["a", 1n], ["d", 5n]]));
        assert.deepEqual(
          await store.lastPackets(["a", "b", "c", "d", "none"]),
          new Map([["a", 6n], ["b", 4n], ["c", 7n], ["d", 5n], ["none", 0n]]),
        );
        assert.deepEqual(await store.lastPackets([]), new Map());
        assert.equal(
          await cluster.psql(
            "SELECT string_agg(stamp || type || '=' || coalesce(packets::text, '-'), ' ' ORDER BY stamp, type) FROM stats WHERE host = 'pf'",
          ),
          "1000a=3 1000b=4 1300a=5 1300b=4 1300c=7 1600a=- 1600d=- 1900a=6 1900d=5\n",
        );
      } finally {
        await store.close();
      }
    });

    await t.step(
      "database stopped mid-series: exit 75, one line, no password; restarted: the store equals the log",
      async () => {
        await cluster.psql("TRUNCATE stats");
        const log: TimedSample[] = [];
        const all = [...series(12, 3, 50_000)];
        let store = await PostgresStore.open(opts("gamma"));
        try {
          for (let i = 0; i < 4; i++) {
            log.push(all[i]!);
            await storeSample(store, () => log, log.at(-2)?.epoch, all[i]!);
          }
          await cluster.stop();
          for (let i = 4; i < 8; i++) {
            log.push(all[i]!); // the run logs its sample, then fails to store it
            const err = await storeSample(store, () => log, log.at(-2)?.epoch, all[i]!).then(() => undefined, (e) => e);
            assert.ok(err instanceof NetmonError, String(err));
            assert.equal(err.exitCode, EX.TEMPFAIL, err.message);
            assert.ok(!err.message.includes("\n") && !err.message.includes(cluster.password), err.message);
            assert.match(err.message, /^PostgreSQL store netmon@127\.0\.0\.1:\d+\/traffic: /);
            await store.close();
            const reopened = await PostgresStore.open(opts("gamma")).then(() => undefined, (e) => e);
            assert.ok(reopened instanceof NetmonError && reopened.exitCode === EX.TEMPFAIL, String(reopened));
          }
          await cluster.start();
          store = await PostgresStore.open(opts("gamma"));
          for (let i = 8; i < 12; i++) {
            log.push(all[i]!);
            await storeSample(store, () => log, log.at(-2)?.epoch, all[i]!);
          }
          assert.deepEqual(await dump(cluster), sorted(expected("gamma", log)));
        } finally {
          await store.close();
        }
      },
    );

    await t.step("a loader SIGKILLed mid-import, then run again: no row lost or doubled", async () => {
      await cluster.psql("TRUNCATE stats");
      // 80,000 rows: the kill lands mid-series however fast this machine loads them (at 400 samples, 8,000 rows, a
      // loader on a quiet machine finished between the poll that saw 1,000 rows and the kill).
      const n = 4_000;
      const columns = 20;
      const driver = new URL("./postgres_import_driver.ts", import.meta.url).pathname;
      const spawn = () =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "--frozen", "-A", driver, cluster.url, "delta", String(n), String(columns)],
          env: { NETMON_DB_PASSWORD: cluster.password, PATH: "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root" },
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).spawn();
      const child = spawn();
      // Wait (bounded) until some transactions are committed, then kill it mid-series.
      const deadline = Date.now() + 60_000;
      let rows = 0;
      while (rows < 1_000) {
        if (Date.now() > deadline) throw new Error(`no rows after 60 s (${rows})`);
        rows = Number(await cluster.psql("SELECT count(*) FROM stats"));
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill("SIGKILL");
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL");
      const partial = Number(await cluster.psql("SELECT count(*) FROM stats"));
      assert.ok(partial > 0 && partial < n * columns, `killed at ${partial} rows`);
      assert.equal(partial % (5 * columns), 0, "whole transactions only");
      const again = await spawn().output();
      assert.equal(again.code, 0, new TextDecoder().decode(again.stderr));
      const [samples] = new TextDecoder().decode(again.stdout).trim().split(" ");
      // What is missing, and the newest stored second again (the store may hold an earlier sample of it): present.
      assert.equal(Number(samples), n - partial / columns + 1, "the second run loads only what is missing");
      assert.deepEqual(await dump(cluster), sorted(expected("delta", series(n, columns))));
    });

    await t.step(
      "as a report opens it: the newest stamp, asked first, creates a missing table; asked stale, the catch-up sends rows again and nothing doubles",
      async () => {
        await cluster.psql("DROP TABLE stats");
        const log = [...series(5, 2, 10_000)];
        const store = await PostgresStore.connect(opts("eps"));
        try {
          assert.equal(await store.lastStampOrTable(), undefined);
          assert.equal(await cluster.psql("SELECT count(*) FROM stats"), "0\n");
          await storeSample(store, () => log.slice(0, 1), undefined, log[0]!, undefined, { stamp: undefined });
          assert.equal(await store.lastStampOrTable(), log[0]!.epoch);
          // The store lacks sample 1 (the database was away): known from the stamp asked first, loaded from the log.
          await storeSample(store, () => log.slice(0, 3), log[1]!.epoch, log[2]!, undefined, { stamp: log[0]!.epoch });
          assert.deepEqual(await dump(cluster), sorted(expected("eps", log.slice(0, 3))));
          // Asked before another run of this host stored sample 3: older than the truth, never newer.
          await store.insert([log[3]!]);
          await storeSample(store, () => log, log[3]!.epoch, log[4]!, undefined, { stamp: log[2]!.epoch });
          assert.deepEqual(await dump(cluster), sorted(expected("eps", log)));
        } finally {
          await store.close();
        }
      },
    );

    await t.step("a wrong password: exit 77, the password not in the message", async () => {
      const err = await PostgresStore.open({ ...opts("x"), password: "wrong-pw-123" }).then(() => undefined, (e) => e);
      assert.ok(err instanceof NetmonError, String(err));
      assert.equal(err.exitCode, EX.NOPERM, err.message);
      assert.ok(!err.message.includes("wrong-pw-123"), err.message);
    });

    await t.step("a missing database: exit 78 naming it", async () => {
      const err = await PostgresStore.open({ ...opts("x"), url: cluster.url.replace(/traffic$/, "nosuchdb") })
        .then(() => undefined, (e) => e);
      assert.ok(err instanceof NetmonError, String(err));
      assert.equal(err.exitCode, EX.CONFIG, err.message);
      assert.match(err.message, /nosuchdb/);
    });
  },
});

Deno.test({
  name:
    "postgres: TLS: verify-full with ca_file connects; without it, or with no certificate in it, refused (78); require connects",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgresCluster({ tls: true });
    const base = { url: cluster.url, host: "tls", password: cluster.password };
    const full = await PostgresStore.open({ ...base, sslmode: "verify-full", caFile: cluster.caFile });
    try {
      await full.insert([{ epoch: 1, sample: { timestamp: "t", counters: new Map([["in", 1n]]) } }]);
      assert.equal(await full.lastStamp(), 1);
      // netmon's connection is encrypted (psql's, over the Unix socket, is not).
      assert.ok(Number(await cluster.psql("SELECT count(*) FROM pg_stat_ssl WHERE ssl")) >= 1);
    } finally {
      await full.close();
    }
    const untrusted = await PostgresStore.open({ ...base, sslmode: "verify-full" }).then(() => undefined, (e) => e);
    assert.ok(untrusted instanceof NetmonError, String(untrusted));
    assert.equal(untrusted.exitCode, EX.CONFIG, untrusted.message);
    assert.match(untrusted.message, /TLS: .*check ca_file and sslmode/);
    // A ca_file that holds no certificate (empty, the key by mistake) says so, before any connection.
    const notPem = `${cluster.caFile}.not-pem`;
    await Deno.writeTextFile(notPem, "-----BEGIN PRIVATE KEY-----\n", { createNew: true, mode: 0o600 });
    for (const sslmode of ["verify-ca", "verify-full"] as const) {
      const bad = await PostgresStore.open({ ...base, sslmode, caFile: notPem }).then(() => undefined, (e) => e);
      assert.ok(bad instanceof NetmonError && bad.exitCode === EX.CONFIG, String(bad));
      assert.match(bad.message, /postgresql\.ca_file holds no PEM certificate/);
    }
    const require = await PostgresStore.open({ ...base, sslmode: "require" });
    try {
      assert.equal(await require.lastStamp(), 1);
    } finally {
      await require.close();
    }
  },
});
