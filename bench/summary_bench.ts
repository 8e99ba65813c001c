/**
 * `netmon summary` on a year of 5-minute samples for 100 customers split by
 * direction (200 columns, about 105,000 lines), beside a mawk program
 * computing the same cycle totals (without percentiles) on the same file, in
 * the same run; the overview's time; and peak memory for one and two years.
 *
 * Goals (issue 18): `netmon summary --by cycle --csv` (the 95th percentile of
 * every column and customer) in at most 2x mawk's time; `netmon summary`
 * (the overview) under 1 s; peak memory not growing with the number of lines.
 *
 * Each run is the real command as cron or a billing script would run it
 * (`deno run -P=netmon netmon.ts summary …` plus read access to the bench's
 * directory), timed and its peak RSS read by /usr/bin/time; the median of
 * three runs. The log ends today, so that the overview's periods hold data.
 * Peak memory is also measured under a fixed V8 heap limit: a run that
 * succeeds within the same limit for one and two years keeps no more for
 * more lines, whatever the GC's timing does to the unlimited RSS.
 *
 * Run: deno run -A bench/summary_bench.ts
 */
// deno-lint-ignore-file no-console

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

/** The median run of three (by time), with the largest peak. */
async function median(argv: string[]): Promise<Run> {
  const runs: Run[] = [];
  for (let i = 0; i < 3; i++) runs.push(await timed(argv));
  runs.sort((a, b) => a.seconds - b.seconds);
  return { ...(runs[1] as Run), peakMiB: Math.max(...runs.map((r) => r.peakMiB)) };
}

/** `netmon summary ARGS` on the log in `dir`, with the `netmon` permission set and `dir`. */
function summary(dir: string, args: string[], v8 = ""): string[] {
  return [
    Deno.execPath(),
    "run",
    "-q",
    "--frozen",
    "-P=netmon",
    `--allow-read=/etc/netmon,/var/lib/netmon,${dir}`,
    ...(v8 ? [`--v8-flags=${v8}`] : []),
    `${ROOT}netmon.ts`,
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
    const one = `${base}/one`;
    const two = `${base}/two`;
    for (const dir of [one, two]) {
      await Deno.mkdir(dir);
      await Deno.writeTextFile(`${dir}/netmon.toml`, config());
    }
    const size1 = await makeLog(`${one}/netmon.log`, lines);
    const size2 = await makeLog(`${two}/netmon.log`, 2 * lines);
    console.log(
      `log: ${lines} lines, 200 columns, ${(size1 / 2 ** 20).toFixed(0)} MiB (two years: ${
        (size2 / 2 ** 20).toFixed(0)
      } MiB); median of 3 runs each`,
    );
    const mawk = await median(["mawk", MAWK, `${one}/netmon.log`]);
    const csv = await median(summary(one, ["--by", "cycle", "--csv"]));
    const overview = await median(summary(one, []));
    const mawkOverview = await median(["mawk", MAWK_DAYS, `${one}/netmon.log`]);
    const csv2 = await median(summary(two, ["--by", "cycle", "--csv"]));
    const overview2 = await median(summary(two, []));
    // The same runs under a fixed heap limit: they succeed, and their peaks.
    const limit = "--max-old-space-size=160,--max-semi-space-size=2";
    const csvL = await median(summary(one, ["--by", "cycle", "--csv"], limit));
    const csvL2 = await median(summary(two, ["--by", "cycle", "--csv"], limit));
    const rows = csv.stdout.trim().split("\n").length - 1;
    console.log(`mawk, cycle totals of 200 columns:        ${mawk.seconds.toFixed(2)} s`);
    console.log(
      `netmon summary --by cycle --csv:          ${csv.seconds.toFixed(2)} s, ${
        (csv.seconds / mawk.seconds).toFixed(2)
      }x mawk (goal at most 2x; ${rows} rows, p95 of every column and customer)`,
    );
    console.log(`mawk, day totals of 200 columns:          ${mawkOverview.seconds.toFixed(2)} s`);
    console.log(
      `netmon summary (overview):                ${overview.seconds.toFixed(2)} s, ${
        (overview.seconds / mawkOverview.seconds).toFixed(2)
      }x mawk (goal under 1 s)`,
    );
    console.log(
      `peak RSS, cycle CSV:                      ${csv.peakMiB.toFixed(0)} MiB for 1 year, ${
        csv2.peakMiB.toFixed(0)
      } MiB for 2 years`,
    );
    console.log(
      `peak RSS, cycle CSV, heap limit 160 MiB:  ${csvL.peakMiB.toFixed(0)} MiB for 1 year, ${
        csvL2.peakMiB.toFixed(0)
      } MiB for 2 years (${csvL.stdout === csv.stdout ? "same output" : "OUTPUT DIFFERS"})`,
    );
    console.log(
      `peak RSS, overview:                       ${overview.peakMiB.toFixed(0)} MiB for 1 year, ${
        overview2.peakMiB.toFixed(0)
      } MiB for 2 years (${overview2.seconds.toFixed(2)} s)`,
    );
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}
