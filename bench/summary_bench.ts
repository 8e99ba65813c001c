/**
 * `netmon summary` on a year of 5-minute samples for 100 customers split by
 * direction (200 columns, about 105,000 lines), beside a mawk program
 * computing the same cycle totals (without percentiles) on the same file, in
 * the same run; the overview's time; and peak memory for one, two and four
 * years side by side.
 *
 * Goals (issue 18): `netmon summary --by cycle --csv` (the 95th percentile of
 * every column and customer) in at most 2x mawk's time; `netmon summary`
 * (the overview) under 1 s; peak memory not growing with the number of lines
 * (a cycle is a month whatever the log's length: one, two and four years
 * should peak alike).
 *
 * Each run is the real command as cron or a billing script would run it
 * (`deno run -P=netmon netmon.ts summary …` plus read access to the bench's
 * directory), timed and its peak RSS read by /usr/bin/time; the median of
 * three runs. The log ends today, so that the overview's periods hold data.
 * Peak memory is also measured under a fixed V8 heap limit: a run that
 * succeeds within the same limit for one, two and four years keeps no more
 * for more lines, whatever the GC's timing does to the unlimited RSS.
 *
 * With `--base COMMIT`, the same commands of that commit (a temporary git
 * worktree) run on the same logs in the same run, their figures beside.
 *
 * Run: deno run -A bench/summary_bench.ts [--base 8abf61c]
 */
// deno-lint-ignore-file no-console

import { withBaseWorktree } from "./_base.ts";

const CUSTOMERS = 100;
const CYCLE_DAY = 15;
const DAY = 86_400_000;
const ROOT = new URL("..", import.meta.url).pathname;

/** Writes `lines` 5-minute samples of 200 columns, a reset now and then. */
async function makeLog(path: string, lines: number): Promise<number> {
  // The last sample is at today's midnight (UTC).
  const START = Math.floor(Date.now() / DAY) * DAY - (lines - 1) * 300_000;
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

/** mawk summing each column's growth per day, resets as the engine counts them: the overview's work. */
const MAWK_DAYS = `BEGIN { FS = "\\t" }
/^#/ { next }
{
  key = substr($1, 1, 10)
  if (!(key in seen)) { seen[key] = 1; order[++n] = key }
  if (started) {
    for (i = 2; i <= NF; i++) { v = $i; dd = v - p[i]; if (dd < 0) dd = v; s[key, i] += dd; p[i] = v }
  } else { for (i = 2; i <= NF; i++) p[i] = $i; started = 1 }
  cols = NF
}
END {
  for (k = 1; k <= n; k++) for (i = 2; i <= cols; i++) printf "%s,%d,%.0f\\n", order[k], i, s[order[k], i]
}`;

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

/** The config: cycles from the 15th in UTC, a customer per split meter. */
function config(): string {
  let text = `[billing]\ncycle_day = ${CYCLE_DAY}\ntimezone = "UTC"\n`;
  for (let k = 0; k < CUSTOMERS; k++) text += `[[customer]]\nname = "customer${k}"\nmeters = ["c${k}"]\n`;
  return text;
}

interface Run {
  seconds: number;
  peakMiB: number;
  stdout: string;
}

/** One run of `argv` under /usr/bin/time: wall seconds, peak RSS, output. */
async function timed(argv: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%e %M", ...argv],
    stdout: "piped",
    stderr: "piped",
    env: { TZ: "UTC", ...env },
  }).output();
  const err = new TextDecoder().decode(out.stderr).trim().split("\n");
  if (out.code !== 0) throw new Error(`${argv.join(" ")} exited ${out.code}: ${err.join("\n")}`);
  const [seconds = "", kib = ""] = (err.at(-1) ?? "").split(" ");
  return { seconds: Number(seconds), peakMiB: Number(kib) / 1024, stdout: new TextDecoder().decode(out.stdout) };
}

/** The median of `runs` (by time), with the largest peak. */
function medianOf(runs: Run[]): Run {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return { ...(sorted[sorted.length >> 1] as Run), peakMiB: Math.max(...runs.map((r) => r.peakMiB)) };
}

/** The median run of three (by time), with the largest peak. */
async function median(argv: string[]): Promise<Run> {
  const runs: Run[] = [];
  for (let i = 0; i < 3; i++) runs.push(await timed(argv));
  return medianOf(runs);
}

/** `netmon summary ARGS` of the tree at `root` on the log in `dir`, with the `netmon` permission set and `dir`. */
function summary(dir: string, args: string[], v8 = "", root = ROOT): string[] {
  return [
    Deno.execPath(),
    "run",
    "-q",
    "--frozen",
    "-P=netmon",
    `--allow-read=/etc/netmon,/var/lib/netmon,${dir}`,
    ...(v8 ? [`--v8-flags=${v8}`] : []),
    `${root}netmon.ts`,
    "summary",
    "-c",
    `${dir}/netmon.toml`,
    "-s",
    dir,
    ...args,
  ];
}

if (Deno.args[0] === "--make") {
  await makeLog(Deno.args[1] as string, Number(Deno.args[2] ?? 365 * 288));
} else {
  const base = await Deno.makeTempDir({ prefix: "netmon-summary-bench-" });
  try {
    const lines = 365 * 288;
    const YEARS = [1, 2, 4];
    const dirs: string[] = [];
    const sizes: number[] = [];
    for (const years of YEARS) {
      const dir = `${base}/${years}y`;
      await Deno.mkdir(dir);
      await Deno.writeTextFile(`${dir}/netmon.toml`, config());
      sizes.push(await makeLog(`${dir}/netmon.log`, years * lines));
      dirs.push(dir);
    }
    const [one] = dirs as [string];
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    console.log(
      `log: ${lines} lines, 200 columns, ${mib(sizes[0] as number)} (${
        YEARS.slice(1).map((y, i) => `${y} years: ${mib(sizes[i + 1] as number)}`).join(", ")
      }); median of 3 runs each`,
    );
    const mawk = await median(["mawk", MAWK, `${one}/netmon.log`]);
    const mawkOverview = await median(["mawk", MAWK_DAYS, `${one}/netmon.log`]);
    // Each view for each length, the same runs under a fixed heap limit (they succeed, and their peaks);
    // with a base commit, its runs alternate with these.
    const limit = "--max-old-space-size=160,--max-semi-space-size=2";
    const views = [
      ["csv", ["--by", "cycle", "--csv"], ""],
      ["csvLimited", ["--by", "cycle", "--csv"], limit],
      ["overview", [], ""],
    ] as const;
    type Figures = Record<(typeof views)[number][0], Run[]>;
    const measure = async (roots: string[]): Promise<Figures[]> => {
      const figures = roots.map((): Figures => ({ csv: [], csvLimited: [], overview: [] }));
      for (const dir of dirs) {
        for (const [view, args, v8] of views) {
          const runs = roots.map((): Run[] => []);
          for (let i = 0; i < 3; i++) {
            for (const [k, root] of roots.entries()) runs[k]?.push(await timed(summary(dir, [...args], v8, root)));
          }
          runs.forEach((rs, k) => figures[k]?.[view].push(medianOf(rs)));
        }
      }
      return figures;
    };
    const baseCommit = Deno.args.includes("--base") ? Deno.args[Deno.args.indexOf("--base") + 1] : undefined;
    const both = baseCommit ? await withBaseWorktree((dir) => measure([ROOT, `${dir}/`]), baseCommit) : undefined;
    const [now, then] = (both ?? await measure([ROOT])) as [Figures, Figures?];
    const rows = (now.csv[0] as Run).stdout.trim().split("\n").length - 1;
    const secs = (r: Run) => `${r.seconds.toFixed(2)} s`;
    const beside = (pick: (m: Figures) => Run) => (then ? ` (base ${baseCommit}: ${secs(pick(then))})` : "");
    console.log(`mawk, cycle totals of 200 columns:        ${secs(mawk)}`);
    console.log(
      `netmon summary --by cycle --csv:          ${secs(now.csv[0] as Run)}, ${
        ((now.csv[0] as Run).seconds / mawk.seconds).toFixed(2)
      }x mawk (goal at most 2x; ${rows} rows, p95 of every column and customer)${beside((m) => m.csv[0] as Run)}`,
    );
    console.log(`mawk, day totals of 200 columns:          ${secs(mawkOverview)}`);
    console.log(
      `netmon summary (overview):                ${secs(now.overview[0] as Run)}, ${
        ((now.overview[0] as Run).seconds / mawkOverview.seconds).toFixed(2)
      }x mawk (goal under 1 s)${beside((m) => m.overview[0] as Run)}`,
    );
    const peaks = (runs: Run[]) => {
      const growth = (runs.at(-1) as Run).peakMiB - (runs[0] as Run).peakMiB;
      return `${runs.map((r, i) => `${r.peakMiB.toFixed(0)} MiB for ${YEARS[i]} y`).join(", ")} (${
        growth >= 0 ? "+" : ""
      }${growth.toFixed(0)} MiB from ${YEARS[0]} to ${YEARS.at(-1)} y)`;
    };
    const same = now.csvLimited.every((r, i) => r.stdout === (now.csv[i] as Run).stdout);
    for (const [label, m] of [["", now], [`base ${baseCommit}: `, then]] as const) {
      if (m === undefined) continue;
      console.log(`${label}peak RSS, cycle CSV:                      ${peaks(m.csv)}; goal: alike`);
      console.log(`${label}peak RSS, cycle CSV, heap limit 160 MiB:  ${peaks(m.csvLimited)}`);
      console.log(
        `${label}peak RSS, overview:                       ${peaks(m.overview)}; in ${m.overview.map(secs).join(", ")}`,
      );
    }
    const sameAsBase = then?.csv.every((r, i) => r.stdout === (now.csv[i] as Run).stdout);
    console.log(
      `cycle CSV under the heap limit: ${same ? "same output" : "OUTPUT DIFFERS"}${
        then ? `; cycle CSV of base ${baseCommit}: ${sameAsBase ? "same output" : "OUTPUT DIFFERS"}` : ""
      }`,
    );
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}
