/**
 * Benchmark: what the fleet outputs add to a WHOLE `netmon report`, the way
 * cron runs it (`deno task report`: the script, its V8 flags, the `netmon`
 * permission set with the state directory for /etc/netmon and
 * /var/lib/netmon, plus exactly what the output needs). A report loads its
 * outputs' modules and starts the store's connection while it reads the
 * counters, so only whole runs say what an output costs:
 *
 * - 2 meters (iptables, the original setup) with and without
 *   `[prometheus] textfile`: goal at most 1 ms more;
 * - 10,000 meters (iptables, installed by `netmon start`) with and without
 *   the textfile: goal at most 20 ms more;
 * - 200 meters (iptables) with and without the PostgreSQL store, a throwaway
 *   cluster in the same namespace (127.0.0.1): goal at most 50 ms more.
 *
 * Each case has its own namespace (iptables-save reads the whole table, so
 * the 10,000 rules must not slow the others) and its own state directories.
 * With and without run in alternating order, many rounds; printed: each
 * one's median, and the median of the per-round differences (with minus
 * without, the two runs next to each other in time), which is what the goal
 * line judges (the machine's speed drifts over minutes; a difference of
 * neighbours does not), with its p25 and p75 and a 95% confidence interval
 * for that median (distribution-free: the order statistics whose ranks a
 * binomial puts around the middle). Two whole runs differ by several ms from
 * round to round (their p25-p75 spread is about 7 ms on this machine), so the
 * 2-meter case, whose goal is 1 ms, runs ten times the rounds: its interval is
 * then about a millisecond wide.
 *
 * Beside the 2-meter case, its floor: the textfile's own file operations
 * (netmon.totals opened, read and parsed, its time checked and set; the
 * textfile written beside its target and renamed over it) with netmon's own
 * functions, timed in this process, where they have run before: what the
 * output costs with no module to load and no code run for the first time.
 *
 * With `--base COMMIT`, the same report with the output as that commit
 * runs it (checked out in a temporary git worktree, its own state
 * directory) joins each round, to show what a change saved.
 *
 * Run as root: deno run --frozen -A bench/fleet_whole_bench.ts [ROUNDS] [--base COMMIT] [textfile | postgres]
 * (`textfile`: only the two textfile cases. ROUNDS, default 40: the 2-meter case runs ten times as many rounds, the
 * 10,000-meter and PostgreSQL cases half as many.)
 */
// deno-lint-ignore-file no-console
import {
  type ExtraPermissions,
  netmonSet,
  ORIGINAL_DOC_CONFIG,
  REPORT_SCRIPT,
  REPORT_V8_FLAGS,
  withPair,
  withTempDir,
} from "../tests/helpers.ts";
import { postgresUnavailable, startPostgresCluster } from "../tests/postgres_cluster.ts";
import { writeTextfile } from "../lib/outputs/textfile.ts";
import { loadTotals, totalsPath } from "../lib/state/totals_file.ts";
import { startIn, withBaseWorktree } from "./_base.ts";

const baseAt = Deno.args.indexOf("--base");
const baseCommit = baseAt >= 0 ? Deno.args[baseAt + 1] : undefined;
const rounds = Number(Deno.args.find((a, i) => /^\d+$/.test(a) && Deno.args[i - 1] !== "--base") ?? 40);
const textfileOnly = Deno.args.includes("textfile");
/** Only the PostgreSQL case (its goal is judged on whole runs too, and needs no textfile case first). */
const postgresOnly = Deno.args.includes("postgres");
/** The base commit's worktree, when one is asked for. */
let baseRoot: string | undefined;
const RANGES = ["192.0.2", "198.51.100", "203.0.113"];
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

/**
 * A 95% confidence interval for the median of `xs`, free of any assumption about their distribution: the values
 * at ranks n/2 -+ 1.96 sqrt(n)/2 (the normal approximation of the binomial count of values below the median).
 */
function medianInterval(xs: number[]): [number, number] {
  const sorted = [...xs].sort((a, b) => a - b);
  const half = 0.98 * Math.sqrt(sorted.length);
  const lo = Math.max(0, Math.floor(sorted.length / 2 - half));
  const hi = Math.min(sorted.length - 1, Math.ceil(sorted.length / 2 + half) - 1);
  return [sorted[lo]!, sorted[hi]!];
}

/**
 * `netmon report` as `deno task report` runs it, in namespace `ns`, state and config in `dir`; `script` is the
 * netmon.ts to run (the base commit's for the base case).
 */
function reportArgv(ns: string, dir: string, extra: ExtraPermissions = {}, script = REPORT_SCRIPT): string[] {
  return [
    "ip",
    "netns",
    "exec",
    ns,
    Deno.execPath(),
    "run",
    "-q",
    "--frozen",
    ...REPORT_V8_FLAGS,
    ...netmonSet(dir, extra),
    script,
    "report",
    "-c",
    `${dir}/netmon.toml`,
    "-s",
    dir,
  ];
}

/** Wall ms of one run; throws (with its stderr) unless it exits 0 and says nothing on stderr. */
async function timed(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0]!, { args: argv.slice(1), stdout: "null", stderr: "piped" }).output();
  const t = performance.now() - t0;
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success || stderr !== "") throw new Error(`${argv.join(" ")} (exit ${out.code}): ${stderr}`);
  return t;
}

/** A state directory holding `config`, for one case. */
async function caseDir(dir: string, name: string, config: string): Promise<string> {
  const d = `${dir}/${name}`;
  await Deno.mkdir(d, { mode: 0o700 });
  await Deno.writeTextFile(`${d}/netmon.toml`, config);
  return d;
}

/**
 * Runs `without`, `with` (and `base`, the same with the base commit's code) in rotating order for `n` rounds
 * (after one warm-up run each, which is also each state directory's first sample), prints the medians and the
 * median of per-round differences against `without`, and the goal's verdict on the current code's.
 */
async function compare(
  name: string,
  without: string[],
  withOutput: string[],
  goalMs: number,
  n: number,
  base?: string[],
) {
  const cases = [without, withOutput, ...(base ? [base] : [])];
  const times: number[][] = cases.map(() => []);
  for (const argv of cases) await timed(argv);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < cases.length; j++) {
      const c = (k + j) % cases.length;
      times[c]!.push(await timed(cases[c]!));
    }
  }
  const diff = (c: number) => times[c]!.map((t, k) => t - times[0]![k]!);
  const sign = (x: number) => `${x >= 0 ? "+" : ""}${ms(x)}`;
  const d = quantile(diff(1), 0.5);
  const [lo, hi] = medianInterval(diff(1));
  console.log(
    `${name}: without ${ms(quantile(times[0]!, 0.5))} | with ${ms(quantile(times[1]!, 0.5))} | per-round difference ` +
      `median ${sign(d)} (p25 ${ms(quantile(diff(1), 0.25))}, p75 ${ms(quantile(diff(1), 0.75))}; 95% interval of ` +
      `the median ${ms(lo)} to ${ms(hi)}), ${n} rounds` +
      (base
        ? ` | base ${baseCommit} with: ${ms(quantile(times[2]!, 0.5))}, ${sign(quantile(diff(2), 0.5))}; with minus ` +
          `base with, per round: ${sign(quantile(times[1]!.map((t, k) => t - times[2]![k]!), 0.5))}`
        : "") +
      ` | goal <= ${goalMs} ms: ${d <= goalMs ? "met" : "MISSED"}`,
  );
}

/** The base case of `name`: the base commit's netmon with `config`, its own state directory; none without --base. */
async function baseArgv(
  ns: string,
  dir: string,
  name: string,
  config: string,
  extra: ExtraPermissions,
): Promise<string[] | undefined> {
  if (!baseRoot) return undefined;
  return reportArgv(ns, await caseDir(dir, `${name}-base`, config), extra, `${baseRoot}/netmon.ts`);
}

/** What the floor line times. */
const FLOOR_WHAT = "median of 400: the textfile's file operations alone, in a process that has run them before: " +
  "netmon.totals read and parsed, its time checked and set, the textfile written and renamed over";

/**
 * The median ms of the textfile's file operations for state directory `dir` and textfile `prom` (both as a report
 * left them), with netmon's own functions, in this process: warmed up first, then timed 400 times.
 */
function fileWorkMs(dir: string, prom: string): number {
  const text = Deno.readTextFileSync(prom);
  const once = () => {
    const t0 = performance.now();
    const loaded = loadTotals(totalsPath(dir));
    if (!loaded?.offsets) throw new Error(`${totalsPath(dir)}: no totals of version 3`);
    const { file } = loaded;
    const mtime = file.file.statSync().mtime!;
    file.file.utimeSync(mtime, mtime);
    file.close();
    writeTextfile(prom, text);
    return performance.now() - t0;
  };
  for (let i = 0; i < 20; i++) once();
  return quantile(Array.from({ length: 400 }, once), 0.5);
}

function metersConfig(meters: number): string {
  let text = 'source = "iptables"\n';
  for (let i = 0; i < meters; i++) {
    text += `[[meter]]\nname = "m${i}"\nfrom = "${RANGES[i % 3]}.${Math.floor(i / 3) % 256}"\n`;
  }
  return text;
}

/** Installs the rules of `config` in `ns` with `netmon start`, its state (what start installed) beside it. */
function start(ns: string, config: string): Promise<void> {
  return startIn(ns, config, config.slice(0, config.lastIndexOf("/")));
}

console.log(
  `netmon fleet outputs on whole reports (${REPORT_SCRIPT}${
    REPORT_V8_FLAGS.length ? ` ${REPORT_V8_FLAGS.join(" ")}` : ""
  }), ${navigator.hardwareConcurrency} CPUs, load average ${
    Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
  }; with and without alternating${baseCommit ? `, and the base ${baseCommit} with` : ""}`,
);

async function run(): Promise<void> {
  await withPair((small) =>
    withPair((big) =>
      withTempDir(async (dir) => {
        if (!postgresOnly) {
          // Two meters, the original setup.
          // The textfile in a directory of its own, as node_exporter's: writing it atomically needs that directory.
          const prom = `${dir}/prom`;
          await Deno.mkdir(prom);
          const tfExtra = { read: [prom], write: [prom] };
          const plain2 = await caseDir(dir, "two", ORIGINAL_DOC_CONFIG);
          const tf2 = await caseDir(
            dir,
            "two-tf",
            `${ORIGINAL_DOC_CONFIG}[prometheus]\ntextfile = "${prom}/two.prom"\n`,
          );
          await start(small.a, `${plain2}/netmon.toml`);
          await compare(
            "textfile, 2 meters",
            reportArgv(small.a, plain2),
            reportArgv(small.a, tf2, tfExtra),
            1,
            10 * rounds,
            await baseArgv(
              small.a,
              dir,
              "two",
              `${ORIGINAL_DOC_CONFIG}[prometheus]\ntextfile = "${prom}/two-base.prom"\n`,
              tfExtra,
            ),
          );

          console.log(`  floor: ${ms(fileWorkMs(tf2, `${prom}/two.prom`))} (${FLOOR_WHAT})`);

          // Ten thousand meters.
          const big10k = metersConfig(10_000);
          const plain10k = await caseDir(dir, "10k", big10k);
          const tf10k = await caseDir(dir, "10k-tf", `${big10k}[prometheus]\ntextfile = "${prom}/10k.prom"\n`);
          await start(big.a, `${plain10k}/netmon.toml`);
          await compare(
            "textfile, 10,000 meters",
            reportArgv(big.a, plain10k),
            reportArgv(big.a, tf10k, tfExtra),
            20,
            Math.max(5, Math.ceil(rounds / 2)),
            await baseArgv(big.a, dir, "10k", `${big10k}[prometheus]\ntextfile = "${prom}/10k-base.prom"\n`, tfExtra),
          );
          const lines = (await Deno.readTextFile(`${prom}/10k.prom`)).split("\n");
          if (lines.filter((l) => l.startsWith("netmon_traffic_bytes_total{")).length !== 10_000) {
            throw new Error(`${prom}/10k.prom does not have 10,000 columns`);
          }
        }
        if (textfileOnly) return;

        // 200 meters, with the PostgreSQL store on this machine (in the namespace: its 127.0.0.1).
        const why = postgresUnavailable();
        if (why) {
          console.log(`PostgreSQL store: skipped (${why})`);
          return;
        }
        await using cluster = await startPostgresCluster({ netns: big.b });
        console.log(`PostgreSQL ${(await cluster.psql("SHOW server_version")).trim()} on 127.0.0.1`);
        const pw = `${dir}/db.pw`;
        await Deno.writeTextFile(pw, `${cluster.password}\n`, { mode: 0o600 });
        const c200 = metersConfig(200);
        const plain200 = await caseDir(dir, "200", c200);
        const pg200 = await caseDir(
          dir,
          "200-pg",
          `host = "bench"\nstore = "${cluster.url}"\n${c200}[postgresql]\npassword_file = "${pw}"\n`,
        );
        await start(big.b, `${plain200}/netmon.toml`);
        const n = Math.max(5, Math.ceil(rounds / 2));
        const pgExtra = { read: [pw], net: [`127.0.0.1:${cluster.port}`] };
        // The base commit's npm:postgres also reads these two, whatever it is given.
        const basePgExtra = { ...pgExtra, env: ["PGAPPNAME", "PGTARGETSESSIONATTRS"] };
        await compare(
          "PostgreSQL store, 200 meters",
          reportArgv(big.b, plain200),
          reportArgv(big.b, pg200, pgExtra),
          50,
          n,
          await baseArgv(
            big.b,
            dir,
            "200",
            `host = "bench-base"\nstore = "${cluster.url}"\n${c200}[postgresql]\npassword_file = "${pw}"\n`,
            basePgExtra,
          ),
        );
        // Every sample is stored, the later of two in one second (the store keys rows by the second).
        const seconds = new Set(
          (await Deno.readTextFile(`${pg200}/netmon.log`)).split("\n").filter((l) => /^\d/.test(l)).map((l) =>
            l.split("\t")[0]
          ),
        );
        const rows = Number(await cluster.psql("SELECT count(*) FROM stats WHERE host = 'bench'")); // not bench-base
        if (rows !== 200 * seconds.size) throw new Error(`the store holds ${rows} rows, not ${200 * seconds.size}`);
      })
    )
  );
}

if (baseCommit) {
  const ran = await withBaseWorktree(async (root) => {
    baseRoot = root;
    await run();
    return true;
  }, baseCommit);
  if (!ran) throw new Error(`--base ${baseCommit}: no worktree of that commit`);
} else {
  await run();
}
