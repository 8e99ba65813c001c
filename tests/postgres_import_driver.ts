/**
 * Test driver: loads a generated series of samples into a PostgreSQL store
 * through lib/outputs/postgres.ts, in small transactions, so a test can
 * SIGKILL it midway. Run as
 * `deno run -A tests/postgres_import_driver.ts URL HOST SAMPLES COLUMNS`, the
 * password in NETMON_DB_PASSWORD.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { dbPassword, importSamples, PostgresStore, type TimedSample } from "../lib/outputs/postgres.ts";

/** The deterministic series the driver loads: `n` samples 300 s apart, `columns` columns, counters above 2^63. */
export function* series(n: number, columns: number, start = 1_700_000_000): Generator<TimedSample> {
  for (let i = 0; i < n; i++) {
    const counters = new Map<string, bigint>();
    for (let c = 0; c < columns; c++) counters.set(`col${c}`, (1n << 63n) + BigInt(i) * 1_000_003n + BigInt(c));
    yield { epoch: start + i * 300, sample: { timestamp: `s${i}`, counters } };
  }
}

if (import.meta.main) {
  const [url, host, n, columns] = Deno.args;
  const store = await PostgresStore.open({
    url: url!,
    host: host!,
    password: await dbPassword(undefined, Deno.env.get),
  });
  try {
    const r = await importSamples(store, series(Number(n), Number(columns)), { chunk: 5 });
    console.log(`${r.samples} ${r.rows}`);
  } finally {
    await store.close();
  }
}
