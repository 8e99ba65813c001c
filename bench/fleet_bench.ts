/**
 * Benchmark: a fleet into one PostgreSQL on this machine (a throwaway
 * cluster, Debian's postgresql, default settings but max_connections).
 *
 * - Fleet round: HOSTS hosts (default 100) each store one 200-column sample
 *   at once, as their cron runs would: connect, create-if-missing, newest
 *   stamp, one insert transaction, disconnect. Printed: time per round and
 *   rows per second; and the same rounds over connections kept open
 *   (the insert alone), to show what connecting costs.
 * - One report: the 200-column insert of one run (with its newest-stamp
 *   check) on an open connection, and with connect and disconnect, beside
 *   the SQLite store's insert of the same rows (the baseline) in the same
 *   run. (The store before netmon's own client ran on npm:postgres, which
 *   this tree's deno.json no longer maps, so it cannot run in this process:
 *   `bench/fleet_whole_bench.ts --base COMMIT` compares whole reports.)
 *
 * Run: deno run --frozen -A bench/fleet_bench.ts [ROUNDS] [HOSTS]
 */
// deno-lint-ignore-file no-console
import { PostgresStore, storeSample, type TimedSample } from "../lib/outputs/postgres.ts";
import { SqliteStore } from "../lib/outputs/sqlite.ts";
import { startPostgresCluster } from "../tests/postgres_cluster.ts";

const rounds = Number(Deno.args[0] ?? 10);
const hosts = Number(Deno.args[1] ?? 100);
const COLUMNS = 200;

function sample(round: number, host: number): TimedSample {
  const counters = new Map<string, bigint>();
  for (let c = 0; c < COLUMNS; c++) {
    counters.set(`customer${c}-${c % 2 ? "out" : "in"}`, BigInt(round * 1e9 + host * 1e6 + c));
  }
  return { epoch: 1_700_000_000 + round * 300, sample: { timestamp: `r${round}`, counters } };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { median: q(0.5), p90: q(0.9), min: s[0]! };
};
const f = (ms: number) => `${ms.toFixed(1)} ms`;

await using cluster = await startPostgresCluster({ settings: { max_connections: hosts + 20 } });
const opts = (host: string) => ({ url: cluster.url, host, password: cluster.password });
console.log(
  `PostgreSQL ${
    (await cluster.psql("SHOW server_version")).trim()
  } on 127.0.0.1, ${navigator.hardwareConcurrency} CPUs; ${hosts} hosts x ${COLUMNS} columns, ${rounds} rounds`,
);

// Warm up: the client module, the table, prepared statements.
{
  const s = await PostgresStore.open(opts("warmup"));
  await storeSample(s, () => [], undefined, sample(0, 0));
  await s.close();
}

// Fleet rounds, each host a cron run: connect, check, insert, disconnect.
const roundMs: number[] = [];
for (let r = 1; r <= rounds; r++) {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: hosts }, async (_, h) => {
    const s = await PostgresStore.open(opts(`host${h}`));
    try {
      await storeSample(s, () => [], r > 1 ? sample(r - 1, h).epoch : undefined, sample(r, h));
    } finally {
      await s.close();
    }
  }));
  roundMs.push(performance.now() - t0);
}
const expected = rounds * hosts * COLUMNS;
const stored = Number(await cluster.psql("SELECT count(*) FROM stats WHERE host LIKE 'host%'"));
if (stored !== expected) throw new Error(`stored ${stored} rows, expected ${expected}`);

// The same rounds over connections kept open.
const open = await Promise.all(Array.from({ length: hosts }, (_, h) => PostgresStore.open(opts(`keep${h}`))));
const keptMs: number[] = [];
for (let r = 1; r <= rounds; r++) {
  const t0 = performance.now();
  await Promise.all(open.map((s, h) => s.insert([sample(r, h)])));
  keptMs.push(performance.now() - t0);
}
await Promise.all(open.map((s) => s.close()));

// One report's 200 columns: on an open connection, with connect/disconnect, and SQLite's insert.
const one = await PostgresStore.open(opts("single"));
const warmOpen: number[] = [];
for (let r = 1; r <= 50; r++) {
  const t0 = performance.now();
  await storeSample(one, () => [], r > 1 ? sample(r - 1, 0).epoch : undefined, sample(r, 0));
  warmOpen.push(performance.now() - t0);
}
await one.close();
type Store = Pick<typeof import("../lib/outputs/postgres.ts"), "PostgresStore" | "storeSample">;
/** One report's store step with connect and close, through `impl`'s store as host `host`: its ms. */
async function coldReport(impl: Store, host: string, r: number): Promise<number> {
  const t0 = performance.now();
  const s = await impl.PostgresStore.open(opts(host));
  await impl.storeSample(s, () => [], sample(r - 1, 0).epoch, sample(r, 0));
  await s.close();
  return performance.now() - t0;
}
const current: Store = { PostgresStore, storeSample };
const cold: number[] = [];
await coldReport(current, "single", 50);
for (let r = 51; r <= 100; r++) cold.push(await coldReport(current, "single", r));
const dir = await Deno.makeTempDir({ prefix: "netmon-fleet-bench-" });
const sqlite: number[] = [];
try {
  const db = SqliteStore.open(`${dir}/stats.db`);
  for (let r = 1; r <= 50; r++) {
    const t0 = performance.now();
    db.insert([sample(r, 0)]);
    sqlite.push(performance.now() - t0);
  }
  db.close();
} finally {
  await Deno.remove(dir, { recursive: true });
}

const rr = stats(roundMs);
const kr = stats(keptMs);
const rowsPerRound = hosts * COLUMNS;
console.log(
  `fleet round, a connection per run:  median ${f(rr.median)}, p90 ${f(rr.p90)}  -> ${
    (rowsPerRound / (rr.median / 1000)).toFixed(0)
  } rows/s`,
);
console.log(
  `fleet round, connections kept open: median ${f(kr.median)}, p90 ${f(kr.p90)}  -> ${
    (rowsPerRound / (kr.median / 1000)).toFixed(0)
  } rows/s`,
);
for (
  const [name, xs] of [
    ["one report (200 rows), open connection", warmOpen],
    ["one report, connect + insert + close  ", cold],
    ["baseline: SQLite store insert (200)   ", sqlite],
  ] as const
) {
  const s = stats(xs);
  console.log(`${name}: median ${f(s.median)}, p90 ${f(s.p90)}, min ${f(s.min)}`);
}
