/**
 * The PostgreSQL store read back through the usage engine, against a real
 * throwaway cluster: `netmon import` loads two hosts' logs (days of samples,
 * resets, a counter above 2^53), each host's samples from the store give the
 * engine's figures from its log exactly, and the fleet sum equals the hosts'
 * figures added up.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PostgresStore } from "../lib/outputs/postgres.ts";
import { fleetBuckets, hostSamples } from "../lib/outputs/postgres_samples.ts";
import { formatHeader, formatLogLine } from "../lib/state/log_format.ts";
import { calendar, type Unit } from "../lib/usage/calendar.ts";
import { type BucketUsage, usageByBucket, usageByBucketAsync } from "../lib/usage/engine.ts";
import { formatTimestamp } from "../lib/usage/local_time.ts";
import { linesOfFile, samplesOf } from "../lib/usage/log_samples.ts";
import { localZone } from "../lib/usage/zone.ts";
import { netmon, withTempDir, writeConfig } from "./helpers.ts";
import { postgresUnavailable, startPostgresCluster } from "./postgres_cluster.ts";
import { seededRandom } from "./random.ts";

const unavailable = postgresUnavailable();

/** A log of `n` samples every `everyS` seconds (with jitter) from `start`, resets and a column added midway. */
function syntheticLog(random: () => number, start: number, n: number, everyS: number): string {
  let cols = ["cust1-in", "cust1-out"];
  const counters = new Map<string, bigint>([["cust1-in", 0n], ["cust1-out", 2n ** 60n]]);
  let text = formatHeader(cols);
  let t = start;
  for (let i = 0; i < n; i++) {
    t += (everyS + Math.floor(random() * 30)) * 1000;
    if (i === Math.floor(n / 2)) {
      cols = [...cols, "cust2-in"];
      counters.set("cust2-in", 5n);
      text += formatHeader(cols);
    }
    for (const c of cols) {
      // About one reset in 300 intervals per column.
      const v = random() < 1 / 300
        ? BigInt(Math.floor(random() * 1000))
        : counters.get(c)! + BigInt(Math.floor(random() * 5e6));
      counters.set(c, v);
    }
    text += formatLogLine({
      timestamp: formatTimestamp(new Date(t)),
      counters: new Map(cols.map((c) => [c, counters.get(c)!])),
    });
  }
  return text;
}

/** What a bucket list says, for comparing: per bucket start, per column, usage and resets. */
function figures(buckets: BucketUsage[]): Map<number, Map<string, [bigint, number]>> {
  return new Map(buckets.map((b) => [b.bucket.start, new Map(b.columns.map((c) => [c.name, [c.usage, c.resets]]))]));
}

function logBuckets(path: string, unit: Unit): BucketUsage[] {
  const file = Deno.openSync(path);
  try {
    return [...usageByBucket(
      samplesOf(linesOfFile(file), path, (w, r) => {
        throw new Error(`${w}: ${r}`);
      }),
      calendar(unit, localZone()),
    )];
  } finally {
    file.close();
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

Deno.test({
  name:
    "fleet store: netmon import of two hosts' logs; per host the store gives the log's figures, and the fleet their sum",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgresCluster();
    await withTempDir(async (dir) => {
      const random = seededRandom("fleet store");
      const start = Date.UTC(2024, 2, 28);
      const hosts = {
        h1: syntheticLog(random, start, 3000, 300),
        h2: syntheticLog(random, start + 123_000, 2000, 420),
      };
      await Deno.writeTextFile(`${dir}/pw`, `${cluster.password}\n`, { mode: 0o600 });
      for (const [host, log] of Object.entries(hosts)) {
        await Deno.mkdir(`${dir}/${host}`);
        await Deno.writeTextFile(`${dir}/${host}/netmon.log`, log);
        const config = await writeConfig(
          `${dir}/${host}`,
          `host = "${host}"\nstore = "${cluster.url}"\n[postgresql]\npassword_file = "${dir}/pw"\n`,
        );
        const args = ["import", "-c", config, "-s", `${dir}/${host}`];
        const o = {
          permissions: [
            `--allow-read=${dir}`,
            `--allow-write=${dir}/${host}`,
            `--allow-net=127.0.0.1:${cluster.port}`,
            "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME",
            "--allow-sys=uid",
          ],
        };
        for (let twice = 0; twice < 2; twice++) {
          const r = await netmon(args, o);
          assert.equal(r.code, 0, r.stderr);
          // The first time every row is stored, the second time every row is there already.
          const [stored, present] = twice === 0 ? ["\\1", "0"] : ["0", "\\1"];
          assert.match(
            r.stdout,
            new RegExp(
              `^read \\d+ samples \\((\\d+) rows\\) from .* as host ${host}: ${stored} rows stored, ${present} already ` +
                "present, 0 left out for a later sample of the same second\\n$",
            ),
          );
        }
        // The same log named on the command line through a backup snapshot's hard link: read, all there already.
        await Deno.link(`${dir}/${host}/netmon.log`, `${dir}/${host}/snapshot.log`);
        const named = await netmon(["import", `${dir}/${host}/snapshot.log`, ...args.slice(1)], o);
        assert.equal(named.code, 0, named.stderr);
        assert.match(named.stdout, / as host \w+: 0 rows stored, [1-9]\d* already present, /);
        await Deno.remove(`${dir}/${host}/snapshot.log`);
      }
      const rows = Number(await cluster.psql("SELECT count(*) FROM stats"));
      const logRows = Object.values(hosts).reduce(
        (n, log) => n + log.split("\n").filter((l) => /^\d/.test(l)).reduce((m, l) => m + l.split("\t").length - 1, 0),
        0,
      );
      assert.equal(rows, logRows, "importing twice changed nothing and lost nothing");

      const store = await PostgresStore.open({ url: cluster.url, host: "reader", password: cluster.password });
      try {
        assert.deepEqual(await store.hosts(), ["h1", "h2"]);
        for (const unit of ["day", "hour"] as const) {
          const cal = calendar(unit, localZone());
          const fromLog = Object.keys(hosts).map((h) => logBuckets(`${dir}/${h}/netmon.log`, unit));
          const fromStore = await Promise.all(
            Object.keys(hosts).map((h) => collect(usageByBucketAsync(hostSamples(store, h), cal))),
          );
          for (let i = 0; i < fromLog.length; i++) {
            assert.deepEqual(figures(fromStore[i]!), figures(fromLog[i]!), `${unit}: host ${i + 1}`);
            assert.ok(fromLog[i]!.length > 5, "several buckets");
          }
          // The fleet: the two hosts' figures added up, bucket by bucket and column by column.
          const fleet = figures(
            await collect(fleetBuckets(Object.keys(hosts).map((h) => usageByBucketAsync(hostSamples(store, h), cal)))),
          );
          const sum = new Map<number, Map<string, [bigint, number]>>();
          for (const f of fromLog.map(figures)) {
            for (const [start, cols] of f) {
              const into = sum.get(start) ?? new Map<string, [bigint, number]>();
              sum.set(start, into);
              for (const [name, [u, r]] of cols) {
                const have = into.get(name) ?? [0n, 0];
                into.set(name, [have[0] + u, have[1] + r]);
              }
            }
          }
          assert.deepEqual(fleet, sum, unit);
          const total = [...fleet.values()].reduce((n, cols) => n + (cols.get("cust1-in")?.[0] ?? 0n), 0n);
          assert.ok(total > 0n);
        }
        // A time range reads only its samples.
        const some = await collect(hostSamples(store, "h1", { from: start / 1000, to: start / 1000 + 86_400 }));
        assert.ok(some.length > 100 && some.length < 300, `${some.length} samples in the first day`);
      } finally {
        await store.close();
      }
    });
  },
});
