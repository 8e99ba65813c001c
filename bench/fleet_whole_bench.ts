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
 * neighbours does not).
 *
 * Run as root: deno run --frozen -A bench/fleet_whole_bench.ts [ROUNDS]
 */
// deno-lint-ignore-file no-console
import { must, ORIGINAL_DOC_CONFIG, REPORT_SCRIPT, REPORT_V8_FLAGS, withPair, withTempDir } from "../tests/helpers.ts";
import { postgresUnavailable, startPostgresCluster } from "../tests/postgres_cluster.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const rounds = Number(Deno.args[0] ?? 40);
const NETMON_SET = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).permissions.netmon as Record<string, string[]>;
const RANGES = ["192.0.2", "198.51.100", "203.0.113"];
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

type Extra = Partial<Record<"read" | "write" | "net" | "env" | "sys", string[]>>;

/** deno.json's `netmon` set as flags, its /etc/netmon and /var/lib/netmon replaced by `dir`, plus `extra`. */
function netmonSet(dir: string, extra: Extra = {}): string[] {
  const flags: string[] = [];
  for (const kind of ["read", "write", "net", "run", "env", "sys"] as const) {
    const own = (NETMON_SET[kind] ?? []).map((v) => (v === "/etc/netmon" || v === "/var/lib/netmon" ? dir : v));
    const all = [...new Set([...own, ...((extra as Record<string, string[] | undefined>)[kind] ?? [])])];
    if (all.length) flags.push(`--allow-${kind}=${all.join(",")}`);
  }
  return flags;
}

/** `netmon report` as `deno task report` runs it, in namespace `ns`, state and config in `dir`. */
function reportArgv(ns: string, dir: string, extra: Extra = {}): string[] {
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
    REPORT_SCRIPT,
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
 * Runs `without` and `with` alternately for `n` rounds (after one warm-up
 * run each, which is also each state directory's first sample), prints the
 * medians and the median of per-round differences, and the goal's verdict.
 */
async function compare(name: string, without: string[], withOutput: string[], goalMs: number, n: number) {
  await timed(without);
  await timed(withOutput);
  const a: number[] = [];
  const b: number[] = [];
  const diff: number[] = [];
  for (let k = 0; k < n; k++) {
    let x: number, y: number;
    if (k % 2 === 0) {
      x = await timed(without);
      y = await timed(withOutput);
    } else {
      y = await timed(withOutput);
      x = await timed(without);
    }
    a.push(x);
    b.push(y);
    diff.push(y - x);
  }
  const d = quantile(diff, 0.5);
  console.log(
    `${name}: without ${ms(quantile(a, 0.5))} | with ${ms(quantile(b, 0.5))} | per-round difference median ` +
      `${d >= 0 ? "+" : ""}${ms(d)} (p25 ${ms(quantile(diff, 0.25))}, p75 ${ms(quantile(diff, 0.75))}), ` +
      `${n} rounds | goal <= ${goalMs} ms: ${d <= goalMs ? "met" : "MISSED"}`,
  );
}

function metersConfig(meters: number): string {
  let text = 'source = "iptables"\n';
  for (let i = 0; i < meters; i++) {
    text += `[[meter]]\nname = "m${i}"\nfrom = "${RANGES[i % 3]}.${Math.floor(i / 3) % 256}"\n`;
  }
  return text;
}

/** Installs the rules of `config` in `ns` with `netmon start`. */
async function start(ns: string, config: string): Promise<void> {
  await must("ip", ["netns", "exec", ns, Deno.execPath(), "run", "-q", "-A", REPORT_SCRIPT, "start", "-c", config]);
}

console.log(
  `netmon fleet outputs on whole reports (${REPORT_SCRIPT}${
    REPORT_V8_FLAGS.length ? ` ${REPORT_V8_FLAGS.join(" ")}` : ""
  }), ${navigator.hardwareConcurrency} CPUs, load average ${
    Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
  }; with and without alternating`,
);

await withPair((small) =>
  withPair((big) =>
    withTempDir(async (dir) => {
      // Two meters, the original setup.
      // The textfile in a directory of its own, as node_exporter's: writing it atomically needs that directory.
      const prom = `${dir}/prom`;
      await Deno.mkdir(prom);
      const tfExtra = { read: [prom], write: [prom] };
      const plain2 = await caseDir(dir, "two", ORIGINAL_DOC_CONFIG);
      const tf2 = await caseDir(dir, "two-tf", `${ORIGINAL_DOC_CONFIG}[prometheus]\ntextfile = "${prom}/two.prom"\n`);
      await start(small.a, `${plain2}/netmon.toml`);
      await compare(
        "textfile, 2 meters",
        reportArgv(small.a, plain2),
        reportArgv(small.a, tf2, tfExtra),
        1,
        rounds,
      );

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
      );
      const lines = (await Deno.readTextFile(`${prom}/10k.prom`)).split("\n");
      if (lines.filter((l) => l.startsWith("netmon_traffic_bytes_total{")).length !== 10_000) {
        throw new Error(`${prom}/10k.prom does not have 10,000 columns`);
      }

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
      await compare(
        "PostgreSQL store, 200 meters",
        reportArgv(big.b, plain200),
        reportArgv(big.b, pg200, {
          read: [pw],
          net: [`127.0.0.1:${cluster.port}`],
          env: ["PGAPPNAME", "PGTARGETSESSIONATTRS"],
        }),
        50,
        n,
      );
      // Every sample is stored, the first of two in one second (the store keys rows by the second).
      const seconds = new Set(
        (await Deno.readTextFile(`${pg200}/netmon.log`)).split("\n").filter((l) => /^\d/.test(l)).map((l) =>
          l.split("\t")[0]
        ),
      );
      const rows = Number(await cluster.psql("SELECT count(*) FROM stats WHERE host = 'bench'"));
      if (rows !== 200 * seconds.size) throw new Error(`the store holds ${rows} rows, not ${200 * seconds.size}`);
    })
  )
);
