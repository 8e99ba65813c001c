/**
 * The whole `graph.ts --html` (reading the log, the usage engine with the
 * 95th percentile, the pages and CSV files written) for 100 customers split
 * by direction (200 columns) over a year of 5-minute samples (about 105,000
 * lines) up to now, beside a baseline in the same run: `graph.ts --by day -o -`
 * on the same log (one pass, daily totals, no percentile, no pages).
 *
 * Goals (issue 21): the pages written in under 2 s; each page under 500 KB.
 * Each command runs as cron runs it (a fresh process, the `graph` permission
 * set and V8 flags of deno.json), best of three. With `--base COMMIT`, that
 * commit's graph.ts (a temporary git worktree) writes the pages of the same
 * log in the same run, its runs alternating with these, its time beside.
 *
 * Run: deno run -A bench/page_bench.ts [--base 8abf61c]
 */
// deno-lint-ignore-file no-console

import { withBaseWorktree } from "./_base.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TASK = (JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks.graph as string).split(" ");
const V8 = TASK.filter((a) => a.startsWith("--v8-flags="));
const CUSTOMERS = 100;
const LINES = 365 * 288;
const RUNS = 3;

/** Writes `lines` 5-minute samples of 200 columns ending a minute ago (UTC stamps), a reset now and then. */
async function makeLog(path: string, lines: number): Promise<number> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  const enc = new TextEncoder();
  const names = Array.from({ length: CUSTOMERS }, (_, k) => [`c${k}-inbound`, `c${k}-outbound`]).flat();
  const counters = names.map(() => 0);
  // Customer k sends around 10^(2 + k % 6) bytes a second.
  const scale = names.map((_, j) => 300 * 10 ** (2 + (j >> 1) % 6));
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const end = Date.now() - 60_000;
  const start = end - end % 300_000 - (lines - 1) * 300_000;
  let chunk = `# netmon meters:\t${names.join("\t")}\n`;
  let size = 0;
  for (let i = 0; i < lines; i++) {
    const d = new Date(start + i * 300_000).toISOString();
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

/** 100 customers, every third with a quota, cycles from the 15th in Berlin. */
function config(): string {
  let text = 'source = "interface"\n[billing]\ncycle_day = 15\ntimezone = "Europe/Berlin"\n';
  for (let k = 0; k < CUSTOMERS; k++) {
    text += `\n[[customer]]\nname = "customer ${k}"\nmeters = ["c${k}"]\n`;
    if (k % 3 === 0) text += `quota = "${10 * (k + 1)} GiB"\n`;
  }
  return text;
}

/** One run of the graph.ts of the tree at `root` with `args`, with read and write access to `dir`: its wall time. */
async function once(dir: string, args: string[], root = ROOT): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "--no-prompt",
      "-P=graph",
      `--allow-read=/etc/netmon,/var/lib/netmon,${dir}`,
      `--allow-write=/var/lib/netmon,${dir}`,
      ...V8,
      `${root}graph.ts`,
      ...args,
    ],
    env: {
      PATH: "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      TZ: "UTC",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
    },
    clearEnv: true,
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) throw new Error(`graph.ts ${args.join(" ")} exited ${out.code}`);
  return (performance.now() - t0) / 1000;
}

/** Best wall time of `RUNS` runs of graph.ts with `args`, for each tree of `roots`, their runs alternating. */
async function best(dir: string, args: string[], roots = [ROOT]): Promise<number[]> {
  const min = roots.map(() => Infinity);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, root] of roots.entries()) min[k] = Math.min(min[k] as number, await once(dir, args, root));
  }
  return min;
}

const dir = await Deno.makeTempDir({ prefix: "netmon-page-bench-" });
try {
  const log = `${dir}/netmon.log`;
  const size = await makeLog(log, LINES);
  await Deno.writeTextFile(`${dir}/netmon.toml`, config());
  const www = `${dir}/www`;
  const [baseline = NaN] = await best(dir, ["--by", "day", "-o", "-", log]);
  const [html = NaN] = await best(dir, ["-c", `${dir}/netmon.toml`, "--html", www, log]);
  const commit = Deno.args.includes("--base") ? Deno.args[Deno.args.indexOf("--base") + 1] : undefined;
  // The base commit's pages go elsewhere, then the current ones again (the sizes below are theirs).
  const then = commit
    ? await withBaseWorktree(
      (root) => best(dir, ["-c", `${dir}/netmon.toml`, "--html", `${dir}/base`, log], [ROOT, `${root}/`]),
      commit,
    )
    : undefined;
  const pages = [...Deno.readDirSync(www)].filter((e) => e.name.endsWith(".html"))
    .map((e) => ({ name: e.name, bytes: Deno.statSync(`${www}/${e.name}`).size }))
    .sort((a, b) => (a.name === "index.html" ? -1 : b.name === "index.html" ? 1 : a.name.localeCompare(b.name)));
  const csvBytes = [...Deno.readDirSync(www)].filter((e) => e.name.endsWith(".csv"))
    .reduce((n, e) => n + Deno.statSync(`${www}/${e.name}`).size, 0);
  const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;
  console.log(
    `page bench: ${CUSTOMERS} customers split by direction, ${LINES} lines of 5-minute samples (a year), ` +
      `${(size / 2 ** 20).toFixed(0)} MiB; best of ${RUNS} fresh processes`,
  );
  console.log(`  graph.ts --html DIR (the pages)      ${html.toFixed(2)} s (goal under 2 s)`);
  if (then) {
    console.log(
      `  the same, alternating with base ${commit}: ${(then[0] as number).toFixed(2)} s, base ${
        (then[1] as number).toFixed(2)
      } s (${((then[0] as number) / (then[1] as number)).toFixed(2)}x)`,
    );
  }
  console.log(`  baseline: graph.ts --by day -o -     ${baseline.toFixed(2)} s (${(html / baseline).toFixed(2)}x)`);
  console.log(`  pages written ${pages.length}, CSV files ${kb(csvBytes)} in all; each page (goal under 500 KB):`);
  const cells = pages.map((p) => `${p.name.padEnd(18)} ${kb(p.bytes).padStart(9)}`);
  for (let i = 0; i < cells.length; i += 4) console.log(`    ${cells.slice(i, i + 4).join("   ")}`);
  const sizes = pages.map((p) => p.bytes);
  console.log(
    `  largest page ${kb(Math.max(...sizes))}, smallest ${kb(Math.min(...sizes))}; ` +
      `pages of 500 KB or more: ${sizes.filter((s) => s >= 500_000).length} (goal: 0)`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
