/**
 * The usage engine on a year of 5-minute samples for 100 customers split by
 * direction (200 columns, about 105,000 lines), beside a mawk program
 * computing the same cycle totals (without percentiles) on the same file, in
 * the same run; the overview's time; and peak memory for one and two years.
 *
 * Goals (issue 18): the cycle CSV with the 95th percentile of every column
 * and customer in at most 2x mawk's time; the overview under 1 s; peak memory
 * not growing with the number of lines.
 *
 * Run: deno run -A bench/summary_bench.ts
 * (it runs itself as `… summary_bench.ts --job KIND LOG` to measure each job
 * in a fresh process, peak memory read from /proc/self/status.)
 */
// deno-lint-ignore-file no-console

import { calendar } from "../lib/usage/calendar.ts";
import { resolveCustomers } from "../lib/usage/customers.ts";
import { csvChunks } from "../lib/usage/csv.ts";
import { UsageEngine } from "../lib/usage/engine.ts";
import { linesOfFile, samplesOf } from "../lib/usage/log_samples.ts";
import { formatOverview, OverviewBuilder, periodsAt } from "../lib/usage/overview.ts";
import { rowsOf } from "../lib/usage/rows.ts";
import { ianaZone } from "../lib/usage/zone.ts";

const CUSTOMERS = 100;
const CYCLE_DAY = 15;
const START = Date.UTC(2025, 0, 1);

/** Peak resident memory of this process, MiB. */
function peakMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Runs one job on `path` in this process and prints `seconds peakMiB bytes-of-output`. */
function job(kind: string, path: string, now: number): void {
  const zone = ianaZone("UTC");
  const t0 = performance.now();
  const file = Deno.openSync(path);
  const samples = samplesOf(linesOfFile(file), path, (where, why) => console.error(`${where}: ${why}`), zone);
  let bytes = 0;
  const out = (text: string) => (bytes += text.length);
  if (kind === "csv") {
    const engine = new UsageEngine(calendar("cycle", zone, CYCLE_DAY), { p95: true });
    const specs = Array.from({ length: CUSTOMERS }, (_, k) => ({ name: `c${k}`, meters: [`c${k}`] }));
    let customers: ReturnType<typeof resolveCustomers> | undefined;
    const rows = function* () {
      const emit = function* (buckets: ReturnType<UsageEngine["push"]>) {
        for (const b of buckets) {
          customers ??= resolveCustomers(specs, engine.columns);
          yield* rowsOf(b, { customers });
        }
      };
      for (const s of samples) yield* emit(engine.push(s));
      yield* emit(engine.finish());
    };
    for (const chunk of csvChunks(rows(), zone)) out(chunk);
  } else {
    // Now is the last sample's instant, as when run from cron.
    const periods = periodsAt(now, zone, CYCLE_DAY);
    const engine = new UsageEngine(calendar("day", zone));
    let ov: OverviewBuilder | undefined;
    const add = (days: ReturnType<UsageEngine["push"]>) => {
      for (const d of days) {
        ov ??= new OverviewBuilder(
          periods,
          resolveCustomers(
            Array.from({ length: CUSTOMERS }, (_, k) => ({ name: `c${k}`, meters: [`c${k}`] })),
            engine.columns,
          ),
        );
        ov.add(d);
      }
    };
    for (const s of samples) add(engine.push(s));
    add(engine.finish());
    if (ov) out(formatOverview(ov.result(engine.firstEpoch, engine.lastEpoch, now), periods));
  }
  file.close();
  console.log(`${((performance.now() - t0) / 1000).toFixed(3)} ${peakMiB().toFixed(1)} ${bytes}`);
}

/** Writes `lines` 5-minute samples of 200 columns, a reset now and then. */
async function makeLog(path: string, lines: number): Promise<number> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  const enc = new TextEncoder();
  const names = Array.from({ length: CUSTOMERS }, (_, k) => [`c${k}-inbound`, `c${k}-outbound`]).flat();
  const counters = names.map(() => 0);
  // Customer k sends around 10^(2 + k % 6) bytes a second.
  const scale = names.map((_, j) => 300 * 10 ** (2 + (j >> 1) % 6));
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let chunk = `# netmon meters:\t${names.join("\t")}\n`;
  let size = 0;
  for (let i = 0; i < lines; i++) {
    const d = new Date(START + i * 300_000).toISOString();
    chunk += `${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}-${d.slice(11, 19)}`;
    for (let j = 0; j < counters.length; j++) {
      counters[j] = rand() < 1e-5
        ? 0
        : (counters[j] as number) + Math.floor(rand() * rand() * 2 * (scale[j] as number));
      chunk += "\t" + counters[j];
    }
    chunk += "\n";
    if (chunk.length > 1 << 20) {
      size += chunk.length;
      await file.write(enc.encode(chunk));
      chunk = "";
    }
  }
  size += chunk.length;
  await file.write(enc.encode(chunk));
  file.close();
  return size;
}

/** mawk summing each column's growth per billing cycle (cycle day 15, UTC), resets as the engine counts them. */
const MAWK = `BEGIN { FS = "\\t" }
/^#/ { next }
{
  y = substr($1, 1, 4) + 0; m = substr($1, 6, 2) + 0; d = substr($1, 9, 2) + 0
  if (d < ${CYCLE_DAY}) { m--; if (m == 0) { m = 12; y-- } }
  key = sprintf("%04d-%02d", y, m)
  if (!(key in seen)) { seen[key] = 1; order[++n] = key }
  if (started) {
    for (i = 2; i <= NF; i++) { v = $i; dd = v - p[i]; if (dd < 0) dd = v; s[key, i] += dd; p[i] = v }
  } else { for (i = 2; i <= NF; i++) p[i] = $i; started = 1 }
  cols = NF
}
END {
  for (k = 1; k <= n; k++) for (i = 2; i <= cols; i++) printf "%s,%d,%.0f\\n", order[k], i, s[order[k], i]
}`;

async function timed(cmd: string, args: string[]): Promise<{ seconds: number; stdout: string }> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).output();
  if (out.code !== 0) throw new Error(`${cmd} exited ${out.code}`);
  return { seconds: (performance.now() - t0) / 1000, stdout: new TextDecoder().decode(out.stdout) };
}

async function runJob(
  kind: string,
  path: string,
  lines: number,
): Promise<{ wall: number; seconds: number; peak: number }> {
  const now = String(START + (lines - 1) * 300_000);
  const r = await timed(Deno.execPath(), [
    "run",
    "-A",
    "--frozen",
    new URL(import.meta.url).pathname,
    "--job",
    kind,
    path,
    now,
  ]);
  const [seconds = "", peak = ""] = r.stdout.trim().split(" ");
  return { wall: r.seconds, seconds: Number(seconds), peak: Number(peak) };
}

if (Deno.args[0] === "--make") {
  await makeLog(Deno.args[1] as string, Number(Deno.args[2] ?? 365 * 288));
} else if (Deno.args[0] === "--job") {
  job(Deno.args[1] as string, Deno.args[2] as string, Number(Deno.args[3]));
} else {
  const dir = await Deno.makeTempDir({ prefix: "netmon-summary-bench-" });
  try {
    const lines = 365 * 288;
    const one = `${dir}/year.log`;
    const two = `${dir}/two-years.log`;
    const size1 = await makeLog(one, lines);
    const size2 = await makeLog(two, 2 * lines);
    console.log(
      `log: ${lines} lines, 200 columns, ${(size1 / 2 ** 20).toFixed(0)} MiB (two years: ${
        (size2 / 2 ** 20).toFixed(0)
      } MiB)`,
    );
    const mawk = await timed("mawk", [MAWK, one]);
    const csv = await runJob("csv", one, lines);
    const overview = await runJob("overview", one, lines);
    const csv2 = await runJob("csv", two, 2 * lines);
    const overview2 = await runJob("overview", two, 2 * lines);
    console.log(`mawk cycle totals:               ${mawk.seconds.toFixed(2)} s`);
    console.log(
      `cycle CSV with p95 (engine):     ${csv.wall.toFixed(2)} s wall (${csv.seconds.toFixed(2)} s in the job), ` +
        `${(csv.wall / mawk.seconds).toFixed(2)}x mawk (goal at most 2x)`,
    );
    console.log(
      `overview:                        ${overview.wall.toFixed(2)} s wall (${
        overview.seconds.toFixed(2)
      } s in the job; goal under 1 s)`,
    );
    console.log(
      `peak memory, cycle CSV:          ${csv.peak.toFixed(0)} MiB for 1 year, ${csv2.peak.toFixed(0)} MiB for 2 years`,
    );
    console.log(
      `peak memory, overview:           ${overview.peak.toFixed(0)} MiB for 1 year, ${
        overview2.peak.toFixed(0)
      } MiB for 2 years`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
