/**
 * Benchmark: what the fleet outputs add to a report, side by side with the
 * same report step without them and with the outputs of a base commit
 * (before this round's speed work, checked out in a temporary git worktree),
 * all interleaved in one run:
 *
 * - the Prometheus textfile (netmon.totals prepared beside netmon.last, the
 *   textfile rewritten) on a two-column and a 10,000-column report; goals
 *   at most 1 ms and 20 ms more;
 * - the PostgreSQL store (connect, newest stamp, insert, disconnect) on a
 *   200-column report, database on this machine; goal at most 50 ms more.
 *
 * A report pays twice for an output: its step (timed in-process, the
 * modules loaded) and loading its modules, once per run, which the report
 * does only when the output is configured. That load is timed in fresh Deno
 * processes that have first loaded what a report loads anyway (the report
 * command, the record step, a counter source). The sum is printed to show
 * where the time goes, not judged: a report loads the outputs' modules (and
 * the store connects) while it reads the counters, and runs the step in
 * code that is not warm, so the goals are judged on whole report runs by
 * bench/fleet_whole_bench.ts.
 *
 * The counters are given, not read from a firewall: the source's cost is the
 * same with or without an output. But the PostgreSQL store connects while a
 * report reads its counters, so for it each step first runs `ip -json
 * -statistics link show lo`, as the interface source does (a report always
 * waits for such a program): what the connection costs beyond that wait is
 * what the store adds. (The textfile steps leave it out: its spawn varies by
 * more than the 1 ms goal on a shared machine.)
 *
 * Run: deno run --frozen -A bench/fleet_report_bench.ts [ROUNDS]
 */
// deno-lint-ignore-file no-console
import type { SampleOutput } from "../lib/outputs/output.ts";
import type { RecordOptions } from "../lib/state/record.ts";
import type { StateFiles } from "../lib/state/files.ts";
import { defaultConfig } from "../lib/config/config.ts";
import { startPostgresCluster } from "../tests/postgres_cluster.ts";
import { withBaseWorktree } from "./_base.ts";
import process from "node:process";

/** The commit before this round's speed work on the fleet outputs. */
const BASE = "8abf61c";
const ROOT = new URL("..", import.meta.url).pathname;
const rounds = Number(Deno.args[0] ?? 40);
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!;
const f = (ms: number) => `${ms.toFixed(2)} ms`;

/** One tree's modules, the current one's or the base commit's. */
interface Impl {
  root: string;
  recordSample: (files: StateFiles, opts: RecordOptions) => Promise<unknown>;
  stateFiles: (dir: string) => StateFiles;
  textfileOutput: (path: string, files: StateFiles, meters: readonly never[]) => SampleOutput;
  postgresOutput: (config: ReturnType<typeof defaultConfig>, files: StateFiles) => SampleOutput | Promise<SampleOutput>;
}

/**
 * The module of the textfile output in the tree at `root`: `textfile.ts`, or `textfile_output.ts` in a tree from
 * before the textfile's modules were one (the base).
 */
function textfileModule(root: string): string {
  try {
    Deno.statSync(`${root}/lib/outputs/textfile_output.ts`);
    return "lib/outputs/textfile_output.ts";
  } catch {
    return "lib/outputs/textfile.ts";
  }
}

/** Stands for {@linkcode textfileModule} of each tree in a list of modules to load. */
const TEXTFILE = "(textfile output)";

async function impl(root: string): Promise<Impl> {
  const at = (path: string) => import(`file://${root}/${path}`);
  return {
    root,
    recordSample: (await at("lib/state/record.ts")).recordSample,
    stateFiles: (await at("lib/state/files.ts")).stateFiles,
    textfileOutput: (await at(textfileModule(root))).textfileOutput,
    postgresOutput: (await at("lib/outputs/postgres_output.ts")).postgresOutput,
  };
}

let second = 0;
const stampOf = (n: number) => {
  const d = new Date(Date.UTC(2024, 0, 1) + n * 1000);
  const p = (x: number) => String(x).padStart(2, "0");
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}-${p(d.getUTCHours())}:${
    p(d.getUTCMinutes())
  }:${p(d.getUTCSeconds())}`;
};

/**
 * One report's record step of `columns` columns in `dir`, its outputs made by `make` (as a report makes them, once
 * per run) and run as the report runs them: wall and CPU ms.
 */
async function step(
  current: Impl,
  dir: string,
  columns: number,
  make: () => SampleOutput[] | Promise<SampleOutput[]>,
  spawnRead: boolean,
): Promise<{ wall: number; cpu: number }> {
  const n = ++second;
  const counters = new Map<string, bigint>();
  for (let c = 0; c < columns; c++) counters.set(`m${c}`, BigInt(n * 1000 + c));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const outputs = await make();
  await current.recordSample(current.stateFiles(dir), {
    readCounters: async () => {
      if (!spawnRead) return { bytes: counters };
      await new Deno.Command("/usr/sbin/ip", {
        args: ["-json", "-statistics", "link", "show", "lo"],
        stdout: "null",
        stderr: "null",
      }).output();
      return { bytes: counters };
    },
    now: () => stampOf(n),
    besideLast: outputs.some((o) => o.beforeAppend)
      ? async (s) => (await Promise.all(outputs.map((o) => o.beforeAppend?.(s) ?? []))).flat()
      : undefined,
    onRecorded: async (r) => {
      for (const o of outputs) await o.recorded?.(r);
    },
  });
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/**
 * Ms to load `modules` of `root` in a fresh Deno that has first loaded what every report loads, with that tree's
 * deno.json and lock: a module path the tree does not have, or a bare name its deno.json does not map (the base's
 * `postgres`, npm:postgres), is left out.
 */
async function loadOnce(root: string, modules: string[]): Promise<number> {
  const config = `${root.replace(/\/$/, "")}/deno.json`;
  const mapped = JSON.parse(await Deno.readTextFile(config)).imports ?? {};
  const exists = (path: string) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  };
  const has = (m: string) => m === TEXTFILE || (m.includes("/") ? exists(`${root}/${m}`) : m in mapped);
  const url = (m: string) =>
    JSON.stringify(
      m === TEXTFILE ? `file://${root}/${textfileModule(root)}` : m.includes("/") ? `file://${root}/${m}` : m,
    );
  const code = [
    ...["lib/cli/report.ts", "lib/state/record.ts", "lib/sources/select.ts", "lib/sources/interface.ts"].map((m) =>
      `await import(${url(m)});`
    ),
    "const t0 = performance.now();",
    ...modules.filter(has).map((m) => `await import(${url(m)});`),
    "console.log(performance.now() - t0);",
  ].join(" ");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--frozen", `--config=${config}`, code],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return Number(new TextDecoder().decode(out.stdout));
}

/**
 * What loading `modules` adds to a report, for the current tree and the base's: the median of 11 fresh processes
 * each, the two interleaved (single runs vary by several ms on a shared machine).
 */
async function loadCosts(baseRoot: string | undefined, modules: string[]) {
  const current: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < 11; i++) {
    current.push(await loadOnce(ROOT, modules));
    if (baseRoot) base.push(await loadOnce(baseRoot, modules));
  }
  return { current: quantile(current, 0.5), base: baseRoot ? quantile(base, 0.5) : undefined };
}

/**
 * Times the record step without outputs, with the current outputs and with the base's (`make` builds them for a
 * state directory), interleaved in rotating order; prints medians, what each adds, and the goal's verdict on the
 * current step plus `load` (the current modules' load; `baseLoad` the base's).
 */
async function compare(
  name: string,
  columns: number,
  impls: { current: Impl; base: Impl | undefined },
  make: (i: Impl, dir: string) => SampleOutput[] | Promise<SampleOutput[]>,
  goalMs: number,
  load: { current: number; base: number | undefined },
  n = rounds,
  spawnRead = false,
): Promise<void> {
  const cases: [string, Impl | undefined][] = [["without", undefined], ["current", impls.current]];
  if (impls.base) cases.push(["base", impls.base]);
  const dirs: string[] = [];
  try {
    const runs = await Promise.all(cases.map(async ([label, i]) => {
      const dir = await Deno.makeTempDir({ prefix: "netmon-fleet-bench-" });
      dirs.push(dir);
      return { label, dir, make: () => (i ? make(i, dir) : []), wall: [] as number[], cpu: [] as number[] };
    }));
    for (const r of runs) await step(impls.current, r.dir, columns, r.make, spawnRead); // warm up, first sample
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < runs.length; j++) {
        const r = runs[(k + j) % runs.length]!;
        const t = await step(impls.current, r.dir, columns, r.make, spawnRead);
        r.wall.push(t.wall);
        r.cpu.push(t.cpu);
      }
    }
    const med = (label: string, what: "wall" | "cpu") => quantile(runs.find((r) => r.label === label)![what], 0.5);
    const added = (label: string) => med(label, "wall") - med("without", "wall");
    const part = (label: string) =>
      `${label} ${f(med(label, "wall"))} (CPU ${f(med(label, "cpu"))}` +
      `${label === "without" ? "" : `, +${f(added(label))}`})`;
    console.log(`${name}: median step ${runs.map((r) => part(r.label)).join(" | ")}`);
    const total = added("current") + load.current;
    console.log(
      `  added to a report: step ${f(added("current"))} + loading the output ${f(load.current)} = ${f(total)}` +
        (impls.base && load.base !== undefined
          ? ` (base ${BASE}: ${f(added("base"))} + ${f(load.base)} = ${f(added("base") + load.base)})`
          : "") +
        ` (goal <= ${goalMs} ms: judged on whole reports, bench/fleet_whole_bench.ts)`,
    );
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

async function run(baseRoot: string | undefined): Promise<void> {
  const impls = { current: await impl(ROOT), base: baseRoot ? await impl(baseRoot) : undefined };
  console.log(
    `netmon fleet outputs, ${navigator.hardwareConcurrency} CPUs, load average ${
      Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
    }; ${rounds} rounds each, interleaved; base ${baseRoot ? BASE : "(none: no git worktree)"}`,
  );
  const loads = (modules: string[]) => loadCosts(baseRoot, modules);
  const textfileLoad = await loads([TEXTFILE]);
  const tf = await Deno.makeTempDir({ prefix: "netmon-fleet-bench-tf-" });
  try {
    const textfile = (i: Impl, dir: string) => [i.textfileOutput(`${tf}/${dir.slice(-8)}.prom`, i.stateFiles(dir), [])];
    await compare("textfile, 2 columns", 2, impls, textfile, 1, textfileLoad);
    await compare("textfile, 10,000 columns", 10_000, impls, textfile, 20, textfileLoad, Math.min(rounds, 20));
  } finally {
    await Deno.remove(tf, { recursive: true });
  }
  // The current tree's client is pg_wire.ts (loaded with postgres.ts); the base's is npm:postgres, loaded apart.
  const pgLoad = await loads(["lib/outputs/postgres_output.ts", "lib/outputs/postgres.ts", "postgres"]);
  await using cluster = await startPostgresCluster();
  const config = defaultConfig();
  config.fleet = { host: "bench", postgres: { url: cluster.url } };
  Deno.env.set("NETMON_DB_PASSWORD", cluster.password);
  console.log(`PostgreSQL ${(await cluster.psql("SHOW server_version")).trim()} on 127.0.0.1`);
  // The base's store imports npm:postgres, which this tree's deno.json no longer maps: its step cannot run in this
  // process (its load is timed above with its own deno.json; whole reports: fleet_whole_bench.ts --base).
  await compare(
    "PostgreSQL store, 200 columns (each step runs ip as a counter read)",
    200,
    { current: impls.current, base: undefined },
    async (i, dir) => [await i.postgresOutput(config, i.stateFiles(dir))],
    50,
    pgLoad,
    Math.min(rounds, 20),
    true,
  );
}

if ((await withBaseWorktree(async (base) => (await run(base), true), BASE)) === undefined) await run(undefined);
