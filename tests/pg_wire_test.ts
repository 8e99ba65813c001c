/**
 * netmon's PostgreSQL wire client (lib/outputs/pg_wire.ts) against a real
 * throwaway cluster: each login method, the server's errors with their
 * SQLSTATE, NULLs and 64-bit numerics as text, a batch over the protocol's
 * parameter limit, a result read in chunks, a server that stops answering
 * or ends the connection mid-statement, and each sslmode. SCRAM's
 * arithmetic is checked against RFC 7677's example first.
 *
 * @module
 */

import assert from "node:assert/strict";
import { EX, NetmonError } from "../lib/host/errors.ts";
import { scramLogin } from "../lib/outputs/pg_scram.ts";
import { PgConnection, type PgConnectOptions, PgError, type PgRow, textArray } from "../lib/outputs/pg_wire.ts";
import { PostgresStore, storeError, type TimedSample } from "../lib/outputs/postgres.ts";
import { type PostgresCluster, postgresUnavailable, startPostgresCluster } from "./postgres_cluster.ts";

const unavailable = postgresUnavailable();

Deno.test("pg wire: SCRAM-SHA-256 gives RFC 7677's proof and checks the server's signature", async () => {
  const login = scramLogin("pencil", "rOprNGfwEbeRWgbNEkqO", "user");
  assert.equal(login.clientFirst, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  assert.equal(
    await login.clientFinal(serverFirst),
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  login.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  assert.throws(() => login.verify("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), /did not prove/);
  assert.throws(() => login.verify("e=invalid-proof"), /ended the SCRAM exchange: invalid-proof/);
  // A server nonce that does not extend the client's is refused before anything is derived.
  await assert.rejects(scramLogin("pencil", "abc").clientFinal("r=xyz,s=AAAA,i=4096"), /nonce/);
  await assert.rejects(scramLogin("pencil", "abc").clientFinal("r=abcdef,s=AAAA,i=0"), /iteration count/);
});

/** Puts `lines` first in the cluster's pg_hba.conf (first match wins) and reloads it. */
async function hbaFirst(cluster: PostgresCluster, lines: string[]): Promise<void> {
  const path = `${cluster.dir}/data/pg_hba.conf`;
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, `${lines.join("\n")}\n${text}`);
  await cluster.psql("SELECT pg_reload_conf()");
}

/** What `connect` throws. */
async function connectError(opts: PgConnectOptions): Promise<PgError> {
  const err = await PgConnection.connect(opts).then((c) => (c.close(), undefined), (e) => e);
  assert.ok(err instanceof PgError, String(err));
  return err;
}

Deno.test({
  name: "pg wire: against a real cluster",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using cluster = await startPostgresCluster({ tls: true });
    const base: PgConnectOptions = {
      host: "127.0.0.1",
      port: cluster.port,
      user: cluster.user,
      database: cluster.database,
      password: cluster.password,
    };
    await cluster.psql(
      "CREATE USER trusty; CREATE USER clear PASSWORD 'clear-pw'; SET password_encryption = 'md5'; " +
        "CREATE USER oldmd5 PASSWORD 'md5-pw'",
    );
    await hbaFirst(cluster, [
      "host all trusty 127.0.0.1/32 trust",
      "host all clear 127.0.0.1/32 password",
      "host all oldmd5 127.0.0.1/32 md5",
    ]);

    await t.step(
      "logins: trust, cleartext password, SCRAM-SHA-256; MD5 refused with one line; none given",
      async () => {
        for (
          const [user, password] of [["trusty", undefined], ["clear", "clear-pw"], [cluster.user, cluster.password]]
        ) {
          const c = await PgConnection.connect({ ...base, user: user!, password });
          try {
            assert.deepEqual(await c.query("SELECT current_user, current_setting('application_name')"), [[
              user,
              "netmon",
            ]]);
            assert.deepEqual(await c.query("SHOW statement_timeout"), [["30s"]]);
          } finally {
            c.close();
          }
        }
        const md5 = await connectError({ ...base, user: "oldmd5", password: "md5-pw" });
        assert.equal(md5.code, "AUTH_METHOD");
        assert.match(md5.message, /MD5 .* use scram-sha-256 .*PostgreSQL's default since 14/);
        const asStore = storeError(md5, "oldmd5@127.0.0.1/traffic", "md5-pw");
        assert.equal(asStore.exitCode, EX.CONFIG);
        assert.ok(!asStore.message.includes("\n") && !asStore.message.includes("md5-pw"), asStore.message);
        const none = await connectError({ ...base, password: undefined });
        assert.equal(none.code, "28P01");
        assert.match(none.message, /asks for a password and none is given/);
        const wrong = await connectError({ ...base, password: "not-the-password" });
        assert.equal(wrong.code, "28P01");
        assert.match(wrong.message, /password authentication failed for user "netmon"/);
        const wrongClear = await connectError({ ...base, user: "clear", password: "nope" });
        assert.equal(wrongClear.code, "28P01");
      },
    );

    const c = await PgConnection.connect({ ...base, statementTimeoutMs: 2000 });
    try {
      await t.step("server errors carry their SQLSTATE, one line each; the connection stays usable", async () => {
        for (
          const [sql, code] of [
            ["SELECT * FROM no_such_table", "42P01"],
            ["SELEC 1", "42601"],
            ["SELECT 1/0", "22012"],
            ["SELECT pg_sleep(5)", "57014"], // statement_timeout, 2 s
          ]
        ) {
          const err = await c.query(sql!).then(() => undefined, (e) => e);
          assert.ok(err instanceof PgError, `${sql}: ${err}`);
          assert.equal(err.code, code, `${sql}: ${err.message}`);
          assert.ok(err.message !== "" && !err.message.includes("\n"), err.message);
          assert.deepEqual(await c.query("SELECT 1"), [["1"]]);
        }
        assert.equal(storeError(new PgError("canceling statement", "57014"), "w").exitCode, EX.TEMPFAIL);
      });

      await t.step("NULLs both ways; numeric(20,0) exact to 2^64-1 as text; many parameters", async () => {
        const max = ((1n << 64n) - 1n).toString();
        assert.deepEqual(
          await c.query("SELECT $1::numeric(20,0), $2::text, NULL, $3::numeric(20,0) + 0, ''", [max, null, "0"]),
          [[max, null, null, "0", ""]],
        );
        assert.equal(max, "18446744073709551615");
        // Arrays in text form: whatever a column name holds comes back as sent.
        const tricky = ['a"b', "back\\slash", "comma,brace}{", " spaced ", "", "NULL", "ünï", null];
        assert.deepEqual(
          (await c.query("SELECT unnest($1::text[])", [textArray(tricky)])).map((r) => r[0]),
          tricky,
        );
        assert.deepEqual(await c.query("SELECT cardinality($1::numeric[])", [textArray([])]), [["0"]]);
        // Text with every byte class: UTF-8 both ways.
        assert.deepEqual(await c.query("SELECT $1::text || '✓'", ["ünï\tcode"]), [["ünï\tcode✓"]]);
        const n = 65535;
        const params = Array.from({ length: n }, (_, i) => String(i));
        const values = params.map((_, i) => `($${i + 1})`).join(", ");
        const sum = await c.query(`SELECT sum(x::int), count(*) FROM (VALUES ${values}) AS v(x)`, params);
        assert.deepEqual(sum, [[String((n * (n - 1)) / 2), String(n)]]);
        await assert.rejects(c.query("SELECT 1", [...params, "x"]), /65536 parameters in one statement: at most 65535/);
        assert.deepEqual(await c.query("SELECT 1"), [["1"]]);
      });

      await t.step("a result read in chunks; left early or failing midway, the connection stays usable", async () => {
        const chunks: number[] = [];
        let last: PgRow | undefined;
        for await (const rows of c.cursor("SELECT i, NULL FROM generate_series(1, $1::int) i", ["5000"], 2000)) {
          chunks.push(rows.length);
          last = rows.at(-1);
        }
        assert.deepEqual(chunks, [2000, 2000, 1000]);
        assert.deepEqual(last, ["5000", null]);
        for await (const rows of c.cursor("SELECT i FROM generate_series(1, 10000) i", [], 100)) {
          assert.equal(rows.length, 100);
          break; // the portal is closed
        }
        assert.deepEqual(await c.query("SELECT 2"), [["2"]]);
        const seen: number[] = [];
        const err = await (async () => {
          for await (const rows of c.cursor("SELECT 1 / (3000 - i) FROM generate_series(1, 5000) i", [], 1000)) {
            seen.push(rows.length);
          }
        })().then(() => undefined, (e) => e);
        assert.ok(err instanceof PgError && err.code === "22012", String(err));
        assert.deepEqual(seen, [1000, 1000]);
        assert.deepEqual(await c.query("SELECT 3"), [["3"]]);
        // Statements asked for while a cursor holds the connection wait for it.
        const order: string[] = [];
        const reading = (async () => {
          for await (const _ of c.cursor("SELECT i FROM generate_series(1, 3000) i", [], 1000)) order.push("chunk");
        })();
        const q = c.query("SELECT 4").then((r) => order.push(`query ${r[0]![0]}`));
        await Promise.all([reading, q]);
        assert.deepEqual(order, ["chunk", "chunk", "chunk", "query 4"]);
      });
    } finally {
      c.close();
    }

    await t.step("the store: over 10,000 rows go in one transaction of several statements, exactly", async () => {
      const store = await PostgresStore.open({ url: cluster.url, host: "big", password: cluster.password });
      try {
        const samples: TimedSample[] = [];
        const columns = 2_200; // x 6 samples = 13,200 rows: two statements
        for (let s = 0; s < 6; s++) {
          const counters = new Map<string, bigint>();
          for (let k = 0; k < columns; k++) counters.set(`c${k}`, (1n << 64n) - 1n - BigInt(s * columns + k));
          samples.push({ epoch: 1_000 + s, sample: { timestamp: `t${s}`, counters } });
        }
        assert.equal((await store.insert(samples)).stored, 13_200);
        // Again: nothing doubles, nothing is written.
        assert.deepEqual(await store.insert(samples), {
          samples: 6,
          rows: 13_200,
          stored: 0,
          present: 13_200,
          superseded: 0,
          resets: 0,
        });
        assert.equal(
          await cluster.psql("SELECT count(*), min(bytes), max(bytes) FROM stats WHERE host = 'big'"),
          "13200|18446744073709538416|18446744073709551615\n",
        );
        let read = 0;
        for await (const s of store.samples({ hosts: ["big"] })) {
          assert.equal(s.counters.size, columns);
          assert.equal(s.counters.get("c0"), (1n << 64n) - 1n - BigInt((s.epoch - 1_000) * columns));
          read++;
        }
        assert.equal(read, 6);
      } finally {
        await store.close();
      }
    });

    await t.step(
      "the store's sample goes in with the check that the previous one is there, in one statement",
      async () => {
        await cluster.psql("DROP TABLE IF EXISTS stats");
        const store = await PostgresStore.connect({ url: cluster.url, host: "seq", password: cluster.password });
        try {
          const at = (epoch: number): TimedSample => ({
            epoch,
            sample: { timestamp: String(epoch), counters: new Map([["in", BigInt(epoch)], ["out", 1n]]) },
          });
          assert.equal(await store.insertIfFollows(at(100), undefined), true, "the first sample; the table created");
          assert.equal(await store.insertIfFollows(at(200), 100), true);
          assert.equal(await store.insertIfFollows(at(400), 300), false, "sample 300 is missing: nothing stored");
          assert.equal(await store.insertIfFollows(at(400), 150), true, "a newer one than asked for is there");
          assert.equal(await store.insertIfFollows(at(400), 150), true, "again: nothing doubles");
          assert.equal(
            await cluster.psql("SELECT string_agg(stamp || type || bytes, ' ' ORDER BY stamp, type) FROM stats"),
            "100in100 100out1 200in200 200out1 400in400 400out1\n",
          );
          const other = await PostgresStore.connect({ url: cluster.url, host: "other", password: cluster.password });
          try {
            assert.equal(await other.insertIfFollows(at(500), 400), false, "another host's samples do not count");
          } finally {
            await other.close();
          }
        } finally {
          await store.close();
        }
      },
    );

    await t.step("a server that stops answering mid-statement: the read is bounded, exit 75", async () => {
      const stuck = await PgConnection.connect({ ...base, readTimeoutMs: 1000 });
      const [[pid]] = (await stuck.query("SELECT pg_backend_pid()")) as [[string]];
      Deno.kill(Number(pid), "SIGSTOP");
      try {
        const t0 = performance.now();
        const err = await stuck.query("SELECT 1").then(() => undefined, (e) => e);
        const took = performance.now() - t0;
        assert.ok(err instanceof PgError && err.code === "ETIMEDOUT", String(err));
        assert.ok(took >= 900 && took < 5000, `gave up after ${took} ms`);
        const asStore = storeError(err, "w");
        assert.equal(asStore.exitCode, EX.TEMPFAIL);
        assert.match(asStore.message, /unavailable: no answer from the server within 1 s \(the log has the sample/);
        // Broken for good: later calls fail at once with the same error.
        assert.equal(await stuck.query("SELECT 1").then(() => undefined, (e) => e), err);
      } finally {
        Deno.kill(Number(pid), "SIGCONT");
        stuck.close();
      }
    });

    await t.step("the server ends the connection mid-statement: its FATAL error, exit 75", async () => {
      const victim = await PgConnection.connect(base);
      const [[pid]] = (await victim.query("SELECT pg_backend_pid()")) as [[string]];
      const sleeping = victim.query("SELECT pg_sleep(30)").then(() => undefined, (e) => e);
      await new Promise((r) => setTimeout(r, 200));
      await cluster.psql(`SELECT pg_terminate_backend(${pid})`);
      const err = await sleeping;
      assert.ok(err instanceof PgError, String(err));
      assert.equal(err.code, "57P01", err.message);
      assert.equal(storeError(err, "w").exitCode, EX.TEMPFAIL);
      victim.close();
    });

    await t.step("a listener that never answers: the login is bounded by the connect timeout", async () => {
      const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const held: Deno.Conn[] = [];
      const accepting = (async () => {
        for await (const conn of silent) held.push(conn);
      })();
      try {
        const t0 = performance.now();
        const err = await connectError({ ...base, port: (silent.addr as Deno.NetAddr).port, connectTimeoutMs: 800 });
        assert.equal(err.code, "ETIMEDOUT", err.message);
        assert.ok(performance.now() - t0 < 5000);
        assert.equal(storeError(err, "w").exitCode, EX.TEMPFAIL);
      } finally {
        silent.close();
        for (const conn of held) conn.close();
        await accepting.catch(() => {});
      }
    });

    await t.step("close says goodbye without waiting: the server's process goes", async () => {
      const conn = await PgConnection.connect(base);
      const [[pid]] = (await conn.query("SELECT pg_backend_pid()")) as [[string]];
      conn.close();
      const gone = async () =>
        (await cluster.psql(`SELECT count(*) FROM pg_stat_activity WHERE pid = ${pid}`)).trim() === "0";
      const deadline = Date.now() + 10_000;
      while (!(await gone())) {
        assert.ok(Date.now() < deadline, "the server process is still there after 10 s");
        await new Promise((r) => setTimeout(r, 50));
      }
      await assert.rejects(conn.query("SELECT 1"), /the connection is closed/);
    });

    await t.step("a closed connection holds no timer: a script that used it ends at once", async () => {
      const wire = new URL("../lib/outputs/pg_wire.ts", import.meta.url).href;
      const code = `import { PgConnection } from ${JSON.stringify(wire)};
        const c = await PgConnection.connect(JSON.parse(Deno.env.get("OPTS")));
        await c.query("SELECT pg_sleep(0.05)");
        c.close();`;
      const t0 = performance.now();
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--frozen", code],
        env: { OPTS: JSON.stringify(base), PATH: "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root" },
        clearEnv: true,
        stderr: "piped",
      }).output();
      const took = performance.now() - t0;
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
      // The connect bound is 10 s, the read bound 35 s: a timer left listening would hold the script that long.
      assert.ok(took < 5000, `the script took ${took} ms`);
    });

    await t.step("sslmode: disable, require, verify-ca (chain only), verify-full (chain and name)", async () => {
      const ca = [await Deno.readTextFile(cluster.caFile!)];
      const encrypted = async (opts: PgConnectOptions) => {
        const conn = await PgConnection.connect(opts);
        try {
          const [[ssl]] = (await conn.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) as [[string]];
          return ssl;
        } finally {
          conn.close();
        }
      };
      assert.equal(await encrypted({ ...base, sslmode: "disable" }), "f");
      assert.equal(await encrypted({ ...base, sslmode: "require" }), "t");
      assert.equal(await encrypted({ ...base, sslmode: "verify-full", caCerts: ca }), "t");
      // The certificate names 127.0.0.1, not "localhost": verify-ca takes it, verify-full does not.
      const byName = { ...base, host: "localhost" };
      assert.equal(await encrypted({ ...byName, sslmode: "verify-ca", caCerts: ca }), "t");
      const name = await connectError({ ...byName, sslmode: "verify-full", caCerts: ca });
      assert.match(name.message, /certificate/);
      assert.equal(storeError(name, "w").exitCode, EX.CONFIG);
      // verify-ca without a CA of its own is refused before connecting (it would trust any public CA, for any name).
      const chain = await connectError({ ...base, sslmode: "verify-ca" });
      assert.match(chain.message, /"verify-ca" needs the CA's certificate \(ca_file\)/);
      assert.equal(storeError(chain, "w").exitCode, EX.CONFIG);
    });

    await t.step(
      "a CA file is the only CA trusted: a CA among the runtime's roots does not make a certificate pass",
      async () => {
        // The server's CA joins the runtime's trusted roots (DENO_CERT) in a fresh process whose ca_file is another CA:
        // libpq trusts sslrootcert alone, and so must netmon, or verify-ca takes any public CA's certificate for any name.
        const dir = await Deno.makeTempDir({ prefix: "netmon-ca-" });
        try {
          const other = `${dir}/other-ca.crt`;
          const made = await new Deno.Command("openssl", {
            args: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
              .concat(["-subj", "/CN=another CA", "-keyout", `${dir}/other-ca.key`, "-out", other]),
            stdout: "null",
            stderr: "piped",
          }).output();
          assert.ok(made.success, new TextDecoder().decode(made.stderr));
          const wire = new URL("../lib/outputs/pg_wire.ts", import.meta.url).href;
          const code = `import { PgConnection } from ${JSON.stringify(wire)};
          try {
            const c = await PgConnection.connect(JSON.parse(Deno.env.get("OPTS")));
            const [[ssl]] = await c.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
            c.close();
            console.log("connected, ssl " + ssl);
          } catch (e) {
            console.log("refused: " + e.message);
          }`;
          const attempt = async (opts: PgConnectOptions) => {
            const r = await new Deno.Command(Deno.execPath(), {
              args: ["eval", "--frozen", code],
              env: {
                OPTS: JSON.stringify(opts),
                DENO_CERT: cluster.caFile!,
                PATH: "/usr/bin:/bin",
                HOME: Deno.env.get("HOME") ?? "/root",
              },
              clearEnv: true,
              stdout: "piped",
              stderr: "piped",
            }).output();
            assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
            return new TextDecoder().decode(r.stdout).trim();
          };
          // The server's CA is trusted as a runtime root: verify-full without a CA file takes the server.
          assert.equal(await attempt({ ...base, sslmode: "verify-full" }), "connected, ssl t");
          // With another CA as ca_file, neither mode does.
          const otherCa = [await Deno.readTextFile(other)];
          for (const sslmode of ["verify-ca", "verify-full"] as const) {
            assert.match(await attempt({ ...base, sslmode, caCerts: otherCa }), /^refused: .*certificate/, sslmode);
          }
          // And the server's own CA as ca_file still does, both modes, in that process too.
          const own = [await Deno.readTextFile(cluster.caFile!)];
          for (const sslmode of ["verify-ca", "verify-full"] as const) {
            assert.equal(await attempt({ ...base, sslmode, caCerts: own }), "connected, ssl t", sslmode);
          }
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    );
  },
});

Deno.test({
  name: "pg wire: a server without TLS refuses every sslmode but disable, in one line, exit 78",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgresCluster();
    const base = {
      host: "127.0.0.1",
      port: cluster.port,
      user: cluster.user,
      database: cluster.database,
      password: cluster.password,
    };
    for (const sslmode of ["require", "verify-ca", "verify-full"] as const) {
      // The server says no before any certificate is looked at: verify-ca's CA (it needs one) is never read.
      const caCerts = sslmode === "verify-ca" ? ["never read"] : undefined;
      const err = await connectError({ ...base, sslmode, ...(caCerts ? { caCerts } : {}) });
      assert.equal(err.code, "NO_TLS", err.message);
      assert.match(err.message, /does not offer TLS/);
      const asStore = storeError(err, "w");
      assert.ok(asStore instanceof NetmonError && asStore.exitCode === EX.CONFIG, asStore.message);
    }
    const plain = await PgConnection.connect({ ...base, sslmode: "disable" });
    assert.deepEqual(await plain.query("SELECT 1"), [["1"]]);
    plain.close();
  },
});
