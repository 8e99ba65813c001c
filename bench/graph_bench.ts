/**
 * graph.ts on a 1,000,000-line log (about ten years of 5-minute samples, two
 * meters) beside an equivalent mawk program and the original Python script;
 * and its peak memory for 1,000,000 and 4,000,000 lines.
 *
 * Goals (issue 16): `--by day` at most 1x mawk (no slower than the
 * equivalent mawk program in the same run) and faster than the original;
 * peak memory within 10% between the two sizes (the log is streamed).
 *
 * Run: deno run -A bench/graph_bench.ts
 */
// deno-lint-ignore-file no-console

const ROOT = new URL("..", import.meta.url).pathname;
const ORIGINAL = `${ROOT}tests/original/netmon_graph.py`;
const dir = await Deno.makeTempDir({ prefix: "netmon-graph-bench-" });

/** Writes a two-meter log of `lines` 5-minute samples with a reset every 100,000. */
async function makeLog(path: string, lines: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let t = Date.UTC(2016, 0, 1);
  let a = 0;
  let b = 0;
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let chunk = "";
  for (let i = 0; i < lines; i++) {
    a += rand(5_000_000);
    b += rand(50_000_000);
    if (i % 100_000 === 99_999) a = rand(1000);
    const s = new Date(t).toISOString();
    chunk += `${s.slice(0, 4)}/${s.slice(5, 7)}/${s.slice(8, 10)}-${s.slice(11, 19)}\t${a}\t${b}\n`;
    if (chunk.length > 1 << 20) {
      await file.write(enc.encode(chunk));
      chunk = "";
    }
    t += 300_000;
  }
  await file.write(enc.encode(chunk));
  file.close();
}

const MAWK = `BEGIN { FS = "\\t"; OFS = "\\t" }
NF == 3 {
  day = substr($1, 1, 10)
  if (seen) {
    d1 = $2 - p1; if (d1 < 0) d1 = $2
    d2 = $3 - p2; if (d2 < 0) d2 = $3
    s1[day] += d1; s2[day] += d2
  }
  if (!(day in order)) { order[day] = ++n; days[n] = day }
  p1 = $2; p2 = $3; seen = 1
}
END {
  print "Date", "Proxy", "Non-Network"
  for (i = 1; i <= n; i++) printf "%s\\t%.2f\\t%.2f\\n", days[i], s1[days[i]] / 1048576, s2[days[i]] / 1048576
}`;

/** Wall time of one run in ms, and its peak RSS in KiB (through python's getrusage of children). */
async function measure(argv: string[], cwd = dir): Promise<{ ms: number; kib: number }> {
  const wrapper = "import resource,subprocess,sys,time\n" +
    "t=time.monotonic(); r=subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, env={'TZ':'UTC','PATH':'/usr/bin:/bin'})\n" +
    "print((time.monotonic()-t)*1000, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)";
  const out = await new Deno.Command("python3", { args: ["-c", wrapper, ...argv], cwd, stdout: "piped" }).output();
  const [ms, kib, code] = new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}`);
  return { ms: ms as number, kib: kib as number };
}

/**
 * `a` and `b` run alternately, `rounds` times each (this VM's speed drifts over minutes, so two blocks of runs one
 * after the other can differ by more than the programs do): each one's median, and the median of the per-round ratio.
 */
async function interleaved(a: string[], b: string[], rounds = 9): Promise<{ a: number; b: number; ratio: number }> {
  const ta: number[] = [], tb: number[] = [], ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let x: number, y: number;
    // Which goes first alternates too.
    if (i % 2 === 0) {
      x = (await measure(a)).ms;
      y = (await measure(b)).ms;
    } else {
      y = (await measure(b)).ms;
      x = (await measure(a)).ms;
    }
    ta.push(x);
    tb.push(y);
    ratios.push(x / y);
  }
  const mid = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] as number;
  return { a: mid(ta), b: mid(tb), ratio: mid(ratios) };
}

async function median(argv: string[], runs = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await measure(argv)).ms);
  return times.sort((x, y) => x - y)[Math.floor(runs / 2)] as number;
}

const deno = Deno.execPath();
// As the graph task and the shebang run it.
const V8 = "--v8-flags=--max-semi-space-size=2";
const graph = (log: string, ...args: string[]) => [deno, "run", "-q", "-A", V8, `${ROOT}graph.ts`, log, ...args];

try {
  const log1 = `${dir}/1m.log`;
  const log4 = `${dir}/4m.log`;
  await makeLog(log1, 1_000_000);
  await makeLog(log4, 4_000_000);
  await Deno.writeTextFile(`${dir}/day.awk`, MAWK);

  const byDay = await interleaved(graph(log1, "-o", `${dir}/day.dat`), ["mawk", "-f", `${dir}/day.awk`, log1]);
  const [ours, mawk] = [byDay.a, byDay.b];
  const entry = await median(graph(log1, "--by", "entry", "-o", `${dir}/entry.dat`), 3);
  const original = await median(["python3", ORIGINAL, log1], 3);
  console.log(`1,000,000 lines, two meters (${(Deno.statSync(log1).size / 1e6).toFixed(1)} MB), median wall time:`);
  console.log(`  graph.ts --by day      ${ours.toFixed(0).padStart(6)} ms`);
  console.log(
    `  mawk, same buckets     ${mawk.toFixed(0).padStart(6)} ms   graph.ts is ${
      byDay.ratio.toFixed(2)
    }x (goal <= 1x; median of 9 interleaved rounds' ratios)`,
  );
  console.log(`  original Python script ${original.toFixed(0).padStart(6)} ms   (per entry; goal: graph.ts faster)`);
  console.log(`  graph.ts --by entry    ${entry.toFixed(0).padStart(6)} ms`);

  for (const by of ["day", "entry"]) {
    const m1 = await measure(graph(log1, "--by", by, "-o", `${dir}/m.dat`));
    const m4 = await measure(graph(log4, "--by", by, "-o", `${dir}/m.dat`));
    console.log(
      `peak RSS --by ${by.padEnd(5)}: 1,000,000 lines ${(m1.kib / 1024).toFixed(1)} MiB, 4,000,000 lines ${
        (m4.kib / 1024).toFixed(1)
      } MiB (${(100 * (m4.kib / m1.kib - 1)).toFixed(1)}%; goal within 10%)`,
    );
  }
  const loose = (log: string) => [deno, "run", "-q", "-A", `${ROOT}graph.ts`, log, "-o", `${dir}/m.dat`];
  const l1 = await measure(loose(log1));
  const l4 = await measure(loose(log4));
  console.log(
    `(without ${V8}: ${(l1.kib / 1024).toFixed(1)} MiB and ${
      (l4.kib / 1024).toFixed(1)
    } MiB: V8 grows its young generation)`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
