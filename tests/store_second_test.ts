/**
 * Two samples in one second (the log's stamps have one-second resolution),
 * in both stores against the real thing (SQLite through node:sqlite, a
 * throwaway PostgreSQL cluster): both keep the later sample's rows, so that
 * `summary --store` gives what `summary` gives from the log; and `netmon
 * import` says in one line what it read, stored, found there already and
 * left out for a later sample of the same second.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseExactJson } from "../lib/host/json.ts";
import { formatHeader, formatLogLine, type Sample } from "../lib/state/log_format.ts";
import { timedLogSamples, type TimedSample } from "../lib/state/log_timed.ts";
import { formatTimestamp, stampToNaive } from "../lib/usage/local_time.ts";
import { localZone, wallToInstant } from "../lib/usage/zone.ts";
import { PostgresStore, storeSample as pgStoreSample } from "../lib/outputs/postgres.ts";
import { importLog, SqliteStore, storeSample as sqliteStoreSample } from "../lib/outputs/sqlite.ts";
import { lastOfEachSecond } from "../lib/outputs/store_rows.ts";
import { DatabaseSync } from "node:sqlite";
import { netmon, withTempDir, writeConfig } from "./helpers.ts";
import { postgresUnavailable, startPostgresCluster } from "./postgres_cluster.ts";
import { seededRandom } from "./random.ts";

const unavailable = postgresUnavailable();

/** `sample` as a report records it after `previous`: taken at its stamp's instant here (the log has no zone record). */
function recorded(previous: Sample | undefined, sample: Sample) {
  const epoch = wallToInstant(localZone(), stampToNaive(sample.timestamp));
  return { previous: previous && { sample: previous, totalStart: previous.timestamp }, sample, epoch, zone: localZone };
}

/** Samples of the test log: shared seconds at three places, the log's last two samples among them. */
const PAIRS = [10, 57, 99];
const SAMPLES = 100;

/**
 * A log of `SAMPLES` samples 5 minutes (and 7 s) apart in UTC, columns `in` and `out`, where the samples `PAIRS`
 * are each followed by another in the same second that counted more; no hour begins between a shared second and
 * the sample before it (see store_rows.ts). The times are fixed, the counters' growth random.
 */
function pairedLog(random: () => number): string {
  const start = Date.UTC(2024, 4, 6, 9, 0, 13);
  const counters = new Map<string, bigint>([["in", 1000n], ["out", 5n]]);
  let text = formatHeader(["in", "out"]);
  const line = (t: number) => {
    for (const [c, v] of counters) counters.set(c, v + BigInt(1 + Math.floor(random() * 4e6)));
    text += formatLogLine({ timestamp: formatTimestamp(new Date(t)), counters: new Map(counters) });
  };
  for (let i = 0; i < SAMPLES; i++) {
    const t = start + i * 307_000;
    line(t);
    if (PAIRS.includes(i)) line(t + 400); // the same second
  }
  return text;
}

/** The rows a store must hold for a log: one per second and column, the LAST sample's of that second. */
async function lastRows(log: string): Promise<string[]> {
  const rows = new Map<string, string>();
  for await (const { epoch, sample } of timedLogSamples(log)) {
    for (const [type, bytes] of sample.counters) rows.set(`${epoch} ${type}`, `${epoch} ${type} ${bytes}`);
  }
  return [...rows.values()].sort();
}

/** A summary's JSON with the 95th percentiles taken out (one row a second cannot give the log's: see store_rows.ts). */
function withoutP95(json: string): unknown {
  const drop = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(drop);
    if (typeof v !== "object" || v === null) return v;
    return Object.fromEntries(Object.entries(v).filter(([k]) => !/p95/.test(k)).map(([k, x]) => [k, drop(x)]));
  };
  return drop(parseExactJson(json));
}

const at = (epoch: number, counters: [string, bigint][], timestamp = "t"): TimedSample => ({
  epoch,
  sample: { timestamp, counters: new Map(counters) } as Sample,
});

/** `netmon import`'s one line, with the figures it must give. */
const importLine = (n: number[], log: string, where: string) =>
  `read ${n[0]} samples (${n[1]} rows) from ${log} into ${where}: ${n[2]} rows stored, ${n[3]} already present, ` +
  `${n[4]} left out for a later sample of the same second\n`;

Deno.test("store second: SQLite keeps a second's later sample, and import says what it stored", async (t) => {
  await withTempDir(async (dir) => {
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, pairedLog(seededRandom("store second")));
    const db = `${dir}/s.sqlite`;
    const config = await writeConfig(dir, `source = "interface"\nstore = "sqlite:${db}"\n`);
    const o = { dirs: [dir], env: { TZ: "UTC" } };
    const rows = () => {
      const store = SqliteStore.open(db);
      try {
        return store.rows().map((r) => `${r.stamp} ${r.type} ${r.bytes}`).sort();
      } finally {
        store.close();
      }
    };

    await t.step("a report's sample in the second of the one before replaces it", async () => {
      const store = SqliteStore.open(`${dir}/live.sqlite`);
      try {
        const a = at(1_700_000_000, [["in", 10n], ["out", 1n]], "2023/11/14-22:13:20");
        const b = at(1_700_000_000, [["in", 25n], ["out", 3n]], "2023/11/14-22:13:20");
        await sqliteStoreSample(store, log, recorded(undefined, a.sample));
        await sqliteStoreSample(store, log, recorded(a.sample, b.sample));
        assert.deepEqual(store.rows().map((r) => [r.type, r.bytes]), [["in", 25n], ["out", 3n]]);
      } finally {
        store.close();
      }
    });

    await t.step("import: every row the later sample's, and the line says so; again, nothing stored", async () => {
      const r = await netmon(["import", log, "-c", config, "-s", dir], o);
      assert.deepEqual([r.code, r.stderr], [0, ""]);
      const n = SAMPLES + PAIRS.length;
      assert.equal(r.stdout, importLine([n, 2 * n, 2 * SAMPLES, 0, 2 * PAIRS.length], log, db));
      assert.deepEqual(rows(), await lastRows(log));
      const again = await netmon(["import", log, "-c", config, "-s", dir], o);
      assert.deepEqual([again.code, again.stderr], [0, ""]);
      assert.equal(again.stdout, importLine([n, 2 * n, 0, 2 * SAMPLES, 2 * PAIRS.length], log, db));
    });

    await t.step(
      "import into a store holding a second's first sample: that row is stored, the rest present",
      async () => {
        const [first] = PAIRS;
        const samples: TimedSample[] = [];
        for await (const s of timedLogSamples(log)) samples.push(s);
        const store = SqliteStore.open(db);
        try {
          // The pair's first sample, as a run that stored it before the second was logged left it.
          store.insert([samples[first!]!]);
        } finally {
          store.close();
        }
        const r = await netmon(["import", log, "-c", config, "-s", dir], o);
        assert.deepEqual([r.code, r.stderr], [0, ""]);
        const n = SAMPLES + PAIRS.length;
        assert.equal(r.stdout, importLine([n, 2 * n, 2, 2 * SAMPLES - 2, 2 * PAIRS.length], log, db));
        assert.deepEqual(rows(), await lastRows(log));
      },
    );
  });
});

Deno.test(
  "store second: SQLite keeps a second's later sample when its own write failed (the store locked): the next report " +
    "sends it again; a catch-up keeps the packets stored",
  async (t) => {
    await withTempDir(async (dir) => {
      const log = `${dir}/netmon.log`;
      const db = `${dir}/s.sqlite`;
      const start = Date.UTC(2024, 4, 6, 9, 0, 13); // no daylight-saving change near it in any zone
      const T = start / 1000;
      /** A sample as the source read it (packets, as nftables counts them), `ms` after `start`. */
      const read = (ms: number, bytes: bigint, packets: bigint): Sample => ({
        timestamp: formatTimestamp(new Date(start + ms)),
        counters: new Map([["in", bytes]]),
        packets: new Map([["in", packets]]),
      });
      /** The sample as the log and netmon.last keep it: no packets. */
      const bare = (s: Sample): Sample => ({ timestamp: s.timestamp, counters: s.counters });
      const logged: Sample[] = [];
      /** Appends the sample to the log, as a report does before it writes the store. */
      const record = async (s: Sample) => {
        logged.push(s);
        await Deno.writeTextFile(log, formatHeader(["in"]) + logged.map(formatLogLine).join(""));
      };
      const store = SqliteStore.open(db);
      const rows = () => store.rows().map((r) => `${r.stamp - T} ${r.type} ${r.packets} ${r.bytes}`);
      try {
        await t.step(
          "the later sample of a second whose write failed replaces the earlier at the next report",
          async () => {
            const s1 = read(0, 10n, 1n);
            await record(s1);
            await sqliteStoreSample(store, log, recorded(undefined, s1));
            // Sample 2, in sample 1's second, cannot be stored: another connection holds the write lock (a real one,
            // held past the store's busy timeout of 30 s).
            const s2 = read(400, 25n, 3n);
            await record(s2);
            const holder = new DatabaseSync(db);
            try {
              holder.exec("BEGIN IMMEDIATE");
              await assert.rejects(
                sqliteStoreSample(store, log, recorded(bare(s1), s2)),
                /^NetmonError: SQLite store .*: database is locked \(the log has the sample; the next run catches up\)$/,
              );
            } finally {
              holder.exec("ROLLBACK");
              holder.close();
            }
            assert.deepEqual(rows(), ["0 in 1 10"], "sample 2 not stored");
            // Sample 3, 5 minutes later: its previous sample is 2, whose second the store holds.
            const s3 = read(300_000, 40n, 4n);
            await record(s3);
            await sqliteStoreSample(store, log, recorded(bare(s2), s3));
            assert.deepEqual(
              rows(),
              ["0 in 1 25", "300 in 4 40"],
              "sample 2's bytes (the log's), sample 1's packets kept",
            );
            // The same report again (a run killed after its commit, run again): nothing changes.
            await sqliteStoreSample(store, log, recorded(bare(s2), s3));
            assert.deepEqual(rows(), ["0 in 1 25", "300 in 4 40"]);
          },
        );

        await t.step(
          "a catch-up from the log: the newest stored second's later sample, the stored packets kept",
          async () => {
            const s4 = read(600_000, 50n, 5n);
            await record(s4);
            await sqliteStoreSample(store, log, recorded(bare(read(300_000, 40n, 4n)), s4));
            // Samples 5 (in 4's second) and 6 are logged, not stored (their writes failed as sample 2's did); 7 finds
            // the store without its previous sample (6) and catches up from the log, which keeps no packets.
            const s5 = read(600_400, 55n, 6n);
            const s6 = read(900_000, 60n, 7n);
            const s7 = read(1_200_000, 70n, 8n);
            for (const s of [s5, s6, s7]) await record(s);
            await sqliteStoreSample(store, log, recorded(bare(s6), s7));
            assert.deepEqual(rows(), ["0 in 1 25", "300 in 4 40", "600 in 5 55", "900 in null 60", "1200 in 8 70"]);
          },
        );

        await t.step("import: the log's rows the store holds the same are present, their packets kept", async () => {
          const before = rows();
          assert.deepEqual(await importLog(store, log), {
            samples: 7,
            rows: 7,
            stored: 0,
            present: 5,
            superseded: 2,
            resets: 0,
          });
          assert.deepEqual(rows(), before);
        });
      } finally {
        store.close();
      }
    });
  },
);

Deno.test({
  name: "store second: PostgreSQL keeps a second's later sample: summary --store is the log's; import says what it did",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using cluster = await startPostgresCluster();
    await withTempDir(async (dir) => {
      const log = `${dir}/netmon.log`;
      await Deno.writeTextFile(log, pairedLog(seededRandom("store second")));
      await Deno.writeTextFile(`${dir}/pw`, `${cluster.password}\n`, { mode: 0o600 });
      const config = await writeConfig(
        dir,
        `host = "h1"\nstore = "${cluster.url}"\n[postgresql]\npassword_file = "${dir}/pw"\n`,
      );
      const permissions = [
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        `--allow-net=127.0.0.1:${cluster.port}`,
        "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,TZ",
        "--allow-sys=uid",
        // The trust check of the config and state directory, which import makes before either store (every set has it).
        "--allow-run=/usr/bin/stat",
      ];
      const o = { permissions, env: { TZ: "UTC" } };
      const where = `${cluster.url} as host h1`;
      const rows = async (host = "h1") =>
        (await cluster.psql(`SELECT stamp || ' ' || type || ' ' || bytes FROM stats WHERE host = '${host}'`))
          .split("\n").filter((l) => l !== "").sort();

      await t.step("a report's sample in the second of the one before replaces it", async () => {
        const store = await PostgresStore.open({ url: cluster.url, host: "live", password: cluster.password });
        try {
          const a = at(1_700_000_000, [["in", 10n], ["out", 1n]]);
          const b = at(1_700_000_000, [["in", 25n], ["out", 3n]]);
          await pgStoreSample(store, () => [], undefined, a);
          await pgStoreSample(store, () => [a], a.epoch, b);
          assert.deepEqual(await rows("live"), ["1700000000 in 25", "1700000000 out 3"]);
          // The same sample again (a run killed after its commit, sent again): nothing changes.
          assert.deepEqual(await store.insert([b]), {
            samples: 1,
            rows: 2,
            stored: 0,
            present: 2,
            superseded: 0,
            resets: 0,
          });
        } finally {
          await store.close();
        }
      });

      await t.step("a catch-up or import of a row stored with packets keeps them: the log has none", async () => {
        const store = await PostgresStore.open({ url: cluster.url, host: "pk", password: cluster.password });
        try {
          const s = at(1_700_000_300, [["in", 40n]]);
          s.sample.packets = new Map([["in", 4n]]);
          await pgStoreSample(store, () => [], undefined, s);
          // The same second as the log has it (catch-up, import): its bytes, no packets.
          const logged = at(1_700_000_300, [["in", 40n]]);
          assert.deepEqual(await store.insert([logged]), {
            samples: 1,
            rows: 1,
            stored: 0,
            present: 1,
            superseded: 0,
            resets: 0,
          });
          assert.equal(await cluster.psql("SELECT packets || ' ' || bytes FROM stats WHERE host = 'pk'"), "4 40\n");
          // A later sample of that second, from the log: its bytes, the stored packets kept.
          assert.deepEqual(await store.insert([at(1_700_000_300, [["in", 45n]])]), {
            samples: 1,
            rows: 1,
            stored: 1,
            present: 0,
            superseded: 0,
            resets: 0,
          });
          assert.equal(await cluster.psql("SELECT packets || ' ' || bytes FROM stats WHERE host = 'pk'"), "4 45\n");
        } finally {
          await store.close();
        }
      });

      await t.step("import: every row the later sample's, and the line says so; again, nothing stored", async () => {
        const r = await netmon(["import", "-c", config, "-s", dir], o);
        assert.deepEqual([r.code, r.stderr], [0, ""]);
        const n = SAMPLES + PAIRS.length;
        assert.equal(r.stdout, importLine([n, 2 * n, 2 * SAMPLES, 0, 2 * PAIRS.length], log, where));
        assert.deepEqual(await rows(), await lastRows(log));
        const again = await netmon(["import", "-c", config, "-s", dir], o);
        assert.deepEqual([again.code, again.stderr], [0, ""]);
        assert.equal(again.stdout, importLine([n, 2 * n, 0, 2 * SAMPLES, 2 * PAIRS.length], log, where));
      });

      await t.step(
        "summary --store gives the log's usage, the shared seconds and the last sample's included",
        async () => {
          for (const view of [["--by", "hour", "--json"], ["--by", "day", "--json"], ["--by", "month", "--json"]]) {
            const fromLog = await netmon(["summary", "-c", config, "-s", dir, ...view], o);
            const fromStore = await netmon(["summary", "-c", config, "--store", "--host", "h1", ...view], o);
            assert.deepEqual([fromLog.code, fromLog.stderr, fromStore.code, fromStore.stderr], [0, "", 0, ""]);
            assert.ok(fromLog.stdout.length > 100, "a real summary");
            assert.deepEqual(withoutP95(fromStore.stdout), withoutP95(fromLog.stdout), view.join(" "));
          }
        },
      );

      await t.step("an import in chunks never splits a second: counts as in one go", async () => {
        await cluster.psql("DELETE FROM stats WHERE host = 'h1'");
        const { importSamples } = await import("../lib/outputs/postgres.ts");
        const store = await PostgresStore.open({ url: cluster.url, host: "h1", password: cluster.password });
        try {
          // Chunks of 11 samples: the pair after sample 10 (the 11th and 12th) would be split.
          const n = await importSamples(store, timedLogSamples(log), { all: true, chunk: 11 });
          const all = SAMPLES + PAIRS.length;
          assert.deepEqual(n, {
            samples: all,
            rows: 2 * all,
            stored: 2 * SAMPLES,
            present: 0,
            superseded: 2 * PAIRS.length,
            resets: 0,
          });
        } finally {
          await store.close();
        }
        assert.deepEqual(await rows(), await lastRows(log));
      });
    });
  },
});

Deno.test("store second: a reset the log records before a second's first sample goes with the row kept", () => {
  const reset = (s: TimedSample, column: string, reason: string) => {
    s.sample.resets = new Map([[column, reason]]);
    return s;
  };
  const samples = [
    at(100, [["in", 5n], ["out", 1n]]),
    // in re-created before the first sample of second 200, out before the second: the later's rows are kept, both
    // resets with them (the log counts in's value, then its growth to the later's: the later's value, as the store).
    reset(at(200, [["in", 7n], ["out", 2n]]), "in", "counter re-created"),
    reset(at(200, [["in", 9n], ["out", 3n]]), "out", "reboot"),
    at(300, [["in", 10n], ["out", 4n]]),
  ];
  const { samples: kept, superseded } = lastOfEachSecond(samples);
  assert.equal(superseded, 2);
  assert.deepEqual(kept.map((s) => [s.epoch, [...s.sample.counters.values()], s.sample.resets]), [
    [100, [5n, 1n], undefined],
    [200, [9n, 3n], new Map([["in", "counter re-created"], ["out", "reboot"]])],
    [300, [10n, 4n], undefined],
  ]);
  // Both with a reset of one column: the later's reason.
  const twice = lastOfEachSecond([reset(at(1, [["in", 1n]]), "in", "reboot"), reset(at(1, [["in", 2n]]), "in", "x")]);
  assert.deepEqual(twice.samples[0]!.sample.resets, new Map([["in", "x"]]));
});
