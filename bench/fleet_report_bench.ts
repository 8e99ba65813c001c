/**
 * Benchmark: what the fleet outputs add to a report's record step, side by
 * side with the same step without them, interleaved in one run:
 *
 * - the Prometheus textfile (netmon.totals prepared beside netmon.last, the
 *   textfile rewritten) on a two-column and a 10,000-column report; goals
 *   at most 1 ms and 20 ms more;
 * - the PostgreSQL store (connect, newest stamp, insert, disconnect) on a
 *   200-column report, database on this machine; goal at most 50 ms more;
 * - the one-time cost of loading the textfile output's modules and the
 *   PostgreSQL client, each in a fresh Deno (the report loads them lazily,
 *   only when configured).
 *
 * The counters are given, not read from a firewall: the source's cost is
 * the same with or without an output.
 *
 * Run: deno run --frozen -A bench/fleet_report_bench.ts [ROUNDS]
 */
// deno-lint-ignore-file no-console
import { stateFiles } from "../lib/state/files.ts";
import { recordSample } from "../lib/state/record.ts";
import { textfileOutput } from "../lib/outputs/textfile_output.ts";
import { postgresOutput } from "../lib/outputs/postgres_output.ts";
import type { SampleOutput } from "../lib/outputs/output.ts";
import { defaultConfig } from "../lib/config/config.ts";
import { startPostgresCluster } from "../tests/postgres_cluster.ts";
import process from "node:process";

const rounds = Number(Deno.args[0] ?? 40);
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!;
const f = (ms: number) => `${ms.toFixed(2)} ms`;

let second = 0;
const stampOf = (n: number) => {
  const d = new Date(Date.UTC(2024, 0, 1) + n * 1000);
  const p = (x: number) => String(x).padStart(2, "0");
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}-${p(d.getUTCHours())}:${
    p(d.getUTCMinutes())
  }:${p(d.getUTCSeconds())}`;
};

/** CPU ms of this process per step, beside the wall times (a loaded machine stretches wall times, not CPU). */
let cpu: number[] = [];

/** One record step of `columns` columns in `dir`, with `outputs` run as the report runs them; its time in ms. */
async function step(dir: string, columns: number, outputs: SampleOutput[]): Promise<number> {
  const n = ++second;
  const counters = new Map<string, bigint>();
  for (let c = 0; c < columns; c++) counters.set(`m${c}`, BigInt(n * 1000 + c));
  const files = stateFiles(dir);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await recordSample(files, {
    readCounters: () => Promise.resolve({ bytes: counters }),
    now: () => stampOf(n),
    besideLast: outputs.some((o) => o.beforeAppend)
      ? async (s) => (await Promise.all(outputs.map((o) => o.beforeAppend?.(s) ?? []))).flat()
      : undefined,
    onRecorded: async (r) => {
      for (const o of outputs) await o.recorded?.(r);
    },
  });
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  return ms;
}

async function compare(
  name: string,
  columns: number,
  make: (dir: string) => SampleOutput[],
  goalMs: number,
  n = rounds,
): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "netmon-fleet-bench-" });
  const withDir = await Deno.makeTempDir({ prefix: "netmon-fleet-bench-" });
  try {
    const outputs = make(withDir);
    const a: number[] = [];
    const b: number[] = [];
    const ca: number[] = [];
    const cb: number[] = [];
    await step(base, columns, []);
    await step(withDir, columns, outputs);
    for (let i = 0; i < n; i++) {
      const without = async () => {
        cpu = ca;
        a.push(await step(base, columns, []));
      };
      const withOutputs = async () => {
        cpu = cb;
        b.push(await step(withDir, columns, outputs));
      };
      if (i % 2) {
        await without();
        await withOutputs();
      } else {
        await withOutputs();
        await without();
      }
    }
    const added = quantile(b, 0.5) - quantile(a, 0.5);
    console.log(
      `${name.padEnd(38)} without: median ${f(quantile(a, 0.5))} p90 ${f(quantile(a, 0.9))} | with: median ${
        f(quantile(b, 0.5))
      } p90 ${f(quantile(b, 0.9))} | added ${f(added)} (goal <= ${goalMs} ms: ${added <= goalMs ? "met" : "MISSED"})` +
        ` | CPU median ${f(quantile(ca, 0.5))} vs ${f(quantile(cb, 0.5))}`,
    );
  } finally {
    await Deno.remove(base, { recursive: true });
    await Deno.remove(withDir, { recursive: true });
  }
}

/** Time to load `modules` in a fresh Deno, minus an empty one's, median of 7. */
async function loadCost(modules: string[]): Promise<number> {
  const root = new URL("..", import.meta.url).pathname;
  const code = (ms: string[]) =>
    `const t0 = performance.now(); ${
      ms.map((m) => `await import(${JSON.stringify(m.startsWith("npm:") || m === "postgres" ? m : root + m)});`).join(
        " ",
      )
    } console.log(performance.now() - t0);`;
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--frozen", `--config=${root}deno.json`, code(modules)],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    times.push(Number(new TextDecoder().decode(out.stdout)));
  }
  return quantile(times, 0.5);
}

console.log(`netmon fleet outputs, ${navigator.hardwareConcurrency} CPUs, ${rounds} rounds each, interleaved`);
const tf = await Deno.makeTempDir({ prefix: "netmon-fleet-bench-tf-" });
try {
  await compare("textfile, 2 columns", 2, (dir) => [textfileOutput(`${tf}/a.prom`, stateFiles(dir), [])], 1);
  await compare("textfile, 10,000 columns", 10_000, (dir) => [textfileOutput(`${tf}/b.prom`, stateFiles(dir), [])], 20);
} finally {
  await Deno.remove(tf, { recursive: true });
}
console.log(
  `one-time load of the textfile output's modules: ${f(await loadCost(["lib/outputs/textfile_output.ts"]))}`,
);
{
  await using cluster = await startPostgresCluster();
  const config = defaultConfig();
  config.fleet = { host: "bench", postgres: { url: cluster.url } };
  Deno.env.set("NETMON_DB_PASSWORD", cluster.password);
  console.log(`PostgreSQL ${(await cluster.psql("SHOW server_version")).trim()} on 127.0.0.1`);
  await compare("PostgreSQL store, 200 columns", 200, (dir) => [postgresOutput(config, stateFiles(dir))], 50, 20);
  console.log(
    `one-time load of the PostgreSQL output and client: ${
      f(await loadCost(["lib/outputs/postgres_output.ts", "lib/outputs/postgres.ts", "postgres"]))
    }`,
  );
}
