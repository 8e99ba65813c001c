/**
 * Benchmark: what 1,000 customers with quotas add to a report (issue 20: at
 * most 20 ms). Two state directories on the same counters (the interface
 * source on a veth in namespaces this makes), one config with `[mail]` and no
 * customers, one with the same `[mail]` and 1,000 customers with quotas;
 * reports of both run interleaved, side by side, as `deno task report` runs
 * netmon. Both logs start with a day of five-minute samples, so the quota
 * check runs as in production: the tally read, advanced by one sample,
 * checked against every threshold and written back.
 *
 * In the same rounds each case also runs once through bench/_report_phases.ts
 * (the same report, in-process, as netmon.ts runs it), which says when the
 * run reached each of its phases (lib/host/phases.ts): the time each phase
 * takes is printed per case, and what the quotas add to each.
 *
 * Run as root: deno run -A bench/quota_bench.ts [ROUNDS]
 */
// deno-lint-ignore-file no-console
import { REPORT_SCRIPT, REPORT_V8_FLAGS, withPair, withTempDir } from "../tests/helpers.ts";
import { deadPort } from "../tests/smtp_server.ts";

const rounds = Number(Deno.args[0] ?? 30);
const CUSTOMERS = 1000;

/** Runs `argv` with only `env`; its wall ms and stderr (a failure throws with it). */
async function run(argv: string[], env: Record<string, string>): Promise<{ ms: number; stderr: string }> {
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdout: "null",
    stderr: "piped",
    env,
    clearEnv: true,
  }).output();
  const ms = performance.now() - t0;
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${argv.join(" ")}: ${stderr}`);
  return { ms, stderr };
}

const time = async (argv: string[], env: Record<string, string>) => (await run(argv, env)).ms;

/** The phases of one report run through bench/_report_phases.ts: ms each took, by the name of the point ending it. */
async function phases(argv: string[], env: Record<string, string>): Promise<Map<string, number>> {
  const { stderr } = await run(argv, env);
  const line = stderr.trimEnd().split("\n").at(-1) ?? "";
  if (!line.startsWith("phases ")) throw new Error(`${PHASES_SCRIPT} printed no phases: ${stderr}`);
  const points = JSON.parse(line.slice(7)) as [string, number][];
  // A point's phase is the time since the point before it (the first: since the process started).
  return new Map(points.map(([name, t], i) => [name, t - (i === 0 ? 0 : points[i - 1]![1])]));
}

const PHASES_SCRIPT = new URL("./_report_phases.ts", import.meta.url).pathname;

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!;

/** A day of five-minute samples before now, as the log's start. */
function dayOfLog(columns: string[]): string {
  const now = Date.now();
  let text = `# netmon meters: ${columns.join(" ")}\n`;
  for (let i = 288; i > 0; i--) {
    const d = new Date(now - i * 300_000);
    const p = (n: number) => String(n).padStart(2, "0");
    const stamp = `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}-` +
      `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
    text += `${stamp}\t${columns.map((_, j) => (288 - i) * 1000 * (j + 1)).join("\t")}\n`;
  }
  return text;
}

await withPair((p) =>
  withTempDir(async (dir) => {
    const mail = `[mail]\nserver = "127.0.0.1"\nport = ${deadPort()}\nfrom = "netmon@example.org"\n` +
      `to = "ops@example.org"\nsend = "cycle"\n`;
    const base = `source = "interface"\ninterfaces = ["${p.va}"]\n[billing]\ntimezone = "UTC"\n`;
    let customers = "";
    for (let i = 0; i < CUSTOMERS; i++) {
      customers += `[[customer]]\nname = "c${i}"\nmeters = ["${p.va}"]\nquota = "${1 + i} PiB"\nalert_at = [80, 100]\n`;
    }
    // The middle case has the same customers without quotas: the config's size alone, not the quota check.
    const cases: Record<string, string> = {
      "no customers": base + mail,
      [`${CUSTOMERS} customers, no quotas`]: base + customers.replace(/quota = .*\nalert_at = .*\n/g, "") + mail,
      [`${CUSTOMERS} customers with quotas`]: base + customers + mail,
    };
    const argv: Record<string, string[]> = {};
    for (const [i, [name, text]] of Object.entries(cases).entries()) {
      const d = `${dir}/${i}`;
      Deno.mkdirSync(`${d}/state`, { recursive: true });
      Deno.writeTextFileSync(`${d}/netmon.toml`, text);
      Deno.writeTextFileSync(`${d}/state/netmon.log`, dayOfLog([`${p.va}:rx`, `${p.va}:tx`]));
      argv[name] = [
        "ip",
        "netns",
        "exec",
        p.a,
        Deno.execPath(),
        "run",
        "-q",
        "--frozen",
        "-P=netmon",
        ...REPORT_V8_FLAGS,
        `--allow-read=${d}`,
        `--allow-write=${d}`,
        REPORT_SCRIPT,
        "report",
        "-c",
        `${d}/netmon.toml`,
        "-s",
        `${d}/state`,
      ];
    }
    const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root", TZ: "UTC" };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(argv).map((k) => [k, []]));
    const split: Record<string, Map<string, number>[]> = Object.fromEntries(Object.keys(argv).map((k) => [k, []]));
    const inProcess = (a: string[]) => a.map((x) => x === REPORT_SCRIPT ? PHASES_SCRIPT : x);
    for (const a of Object.values(argv)) {
      await time(a, env); // warm caches; the tally is built from the log here
      await phases(inProcess(a), env);
    }
    const order = Object.entries(argv);
    for (let i = 0; i < rounds; i++) {
      for (const [name, a] of [...order.slice(i % 3), ...order.slice(0, i % 3)]) {
        samples[name]!.push(await time(a, env));
        split[name]!.push(await phases(inProcess(a), env));
      }
    }
    const names = Object.keys(samples);
    console.log(`report wall time, ${rounds} interleaved rounds (ms):`);
    console.log(`${"case".padEnd(34)} ${"median".padStart(8)} ${"p25".padStart(8)} ${"p75".padStart(8)}`);
    for (const n of names) {
      const xs = samples[n]!;
      console.log(
        `${n.padEnd(34)} ${quantile(xs, 0.5).toFixed(1).padStart(8)} ${quantile(xs, 0.25).toFixed(1).padStart(8)} ${
          quantile(xs, 0.75).toFixed(1).padStart(8)
        }`,
      );
    }
    // Per round, the differences: the cases ran back to back, so the machine's load moves them alike.
    const diff = (a: number, b: number) =>
      quantile(samples[names[b]!]!.map((x, i) => x - samples[names[a]!]![i]!), 0.5).toFixed(1);
    console.log(`added by ${CUSTOMERS} customers in the config (parsing them): ${diff(0, 1)} ms`);
    console.log(`added by the quota check (their quotas): ${diff(1, 2)} ms (goal: at most 20 ms)`);
    console.log(`added by both: ${diff(0, 2)} ms`);
    console.log(`tally file: ${Deno.statSync(`${dir}/2/state/netmon.cycles`).size} bytes`);
    // Where the time goes: each phase's median per case, and the median of its per-round difference with quotas.
    const phaseNames = [...new Set(Object.values(split).flatMap((runs) => runs.flatMap((m) => [...m.keys()])))];
    const took = (n: number, phase: string) => split[names[n]!]!.map((m) => m.get(phase) ?? 0);
    const cell = (x: number) => x.toFixed(1).padStart(12);
    console.log(`\nthe same reports in phases (bench/_report_phases.ts), median ms, ${rounds} rounds:`);
    console.log(
      `${"phase (ends when the run reached)".padEnd(34)}${"no customers".padStart(12)}${"no quotas".padStart(12)}` +
        `${"quotas".padStart(12)}${"quotas add".padStart(12)}`,
    );
    for (const phase of phaseNames) {
      const adds = quantile(took(2, phase).map((x, i) => x - took(1, phase)[i]!), 0.5);
      console.log(
        `${phase.padEnd(34)}${cell(quantile(took(0, phase), 0.5))}${cell(quantile(took(1, phase), 0.5))}` +
          `${cell(quantile(took(2, phase), 0.5))}${cell(adds)}`,
      );
    }
  })
);
