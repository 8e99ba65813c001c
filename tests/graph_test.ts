/**
 * graph.ts end to end, as a subprocess with its own permission set: golden
 * data files worked out by hand, the original graph script itself for
 * `--by entry`, and the real gnuplot for pictures.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { graph, must, run, withTempDir } from "./helpers.ts";

const ORIGINAL_GRAPH = new URL("./original/netmon_graph.py", import.meta.url).pathname;

/** Writes `lines` (each gets an LF) as `name` in `dir`; returns the path. */
async function log(dir: string, lines: string[], name = "netmon.log"): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, lines.map((l) => `${l}\n`).join(""));
  return path;
}

/** Runs graph.ts to stdout and asserts it succeeded with no warnings. */
async function dat(dir: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await graph([...args, "-o", "-"], { cwd: dir, env });
  assertEquals({ code: r.code, stderr: r.stderr }, { code: 0, stderr: "" });
  return r.stdout;
}

const table = (rows: string[][]) => rows.map((r) => r.join("\t") + "\n").join("");

/** The original two-column log: a midnight crossing, a reset of one counter, a two-day gap. */
const ORIGINAL_LOG = [
  "2010/02/25-22:00:00\t0\t0",
  "2010/02/25-23:00:00\t1048576\t2097152",
  "2010/02/26-01:00:00\t3145728\t2097152",
  "2010/02/26-12:00:00\t524288\t4194304",
  "2010/02/28-12:00:00\t524288\t7340032",
];

Deno.test("--by day on the original log: midnight shared by time, one meter's reset, a gap spread", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, ORIGINAL_LOG);
    // Proxy: 1 MiB on the 25th, then 2 MiB across midnight (1 + 1), then a
    // reset counting 0.5 MiB. Non-Network: 2 MiB, then 2 MiB on the 26th,
    // then 3 MiB over 48 hours: 12 h on the 26th, 24 h on the 27th, 12 h on the 28th.
    assertEquals(
      await dat(dir, [path]),
      table([
        ["Date", "Proxy", "Non-Network"],
        ["2010/02/25", "2.00", "2.00"],
        ["2010/02/26", "1.50", "2.75"],
        ["2010/02/27", "0.00", "1.50"],
        ["2010/02/28", "0.00", "0.75"],
      ]),
    );
  });
});

Deno.test("--by entry on the original log is the original script's output, its reset rule included", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, ORIGINAL_LOG);
    // Worked out from the original's rules: the first line counts from zero,
    // and when either counter goes down both count from zero.
    const expected = table([
      ["Date", "Proxy", "Non-Network"],
      ["2010/02/25-22:00:00", "0.00", "0.00"],
      ["2010/02/25-23:00:00", "1.00", "2.00"],
      ["2010/02/26-01:00:00", "2.00", "0.00"],
      ["2010/02/26-12:00:00", "0.50", "4.00"],
      ["2010/02/28-12:00:00", "0.00", "3.00"],
    ]);
    assertEquals(await dat(dir, ["--by", "entry", path]), expected);
    // And the default output file, as the original wrote it, equals the original's.
    const r = await graph(["--by", "entry", path], { cwd: dir });
    assertEquals(r.code, 0, r.stderr);
    const ours = await Deno.readTextFile(`${dir}/netmon_graph.dat`);
    assertEquals(ours, expected);
    assertEquals((await run("python3", [ORIGINAL_GRAPH, path], { cwd: dir })).code, 0);
    assertEquals(await Deno.readTextFile(`${dir}/netmon_graph.dat`), expected);
  });
});

/** A small seeded generator, so a failing log can be reproduced. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("--by entry equals the original script byte for byte on random logs with resets and 64-bit counters", async () => {
  await withTempDir(async (dir) => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const rand = prng(seed);
      const big = (bits: number) => BigInt(Math.floor(rand() * 2 ** 32)) << BigInt(bits - 32);
      let p = 0n;
      let n = 0n;
      const lines: string[] = [];
      const start = Date.UTC(2010, 1, 25);
      for (let i = 0; i < 400; i++) {
        const r = rand();
        // Mostly growth; sometimes one counter or both reset; some near 2^64.
        if (r < 0.05) p = BigInt(Math.floor(rand() * 5000));
        else if (r < 0.1) n = BigInt(Math.floor(rand() * 5000));
        else if (r < 0.12) [p, n] = [0n, 0n];
        else if (r < 0.14) p = (1n << 64n) - 1n - BigInt(Math.floor(rand() * 1e6));
        else {
          p += BigInt(Math.floor(rand() * 3e9));
          n += seed % 2 ? big(40) : BigInt(Math.floor(rand() * 1e6));
        }
        if (p >= 1n << 64n) p = 0n;
        if (n >= 1n << 64n) n = 0n;
        const d = new Date(start + i * 300_000).toISOString();
        const stamp = `${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}-${d.slice(11, 19)}`;
        lines.push(`${stamp}\t${p}\t${n}`);
      }
      const path = await log(dir, lines, `seed${seed}.log`);
      assertEquals((await run("python3", [ORIGINAL_GRAPH, path], { cwd: dir })).code, 0);
      const theirs = await Deno.readTextFile(`${dir}/netmon_graph.dat`);
      assertEquals(await dat(dir, ["--by", "entry", path]), theirs, `seed ${seed}`);
    }
  });
});

/** A multi-meter log whose meters change midway. */
const CHANGING_LOG = [
  "# netmon meters:\tweb\tmail",
  "2026/01/05-10:00:00\t0\t0",
  "2026/01/05-10:30:00\t1024\t2048",
  "2026/01/05-11:30:00\t3072\t2048",
  "# netmon meters:\tweb\tdns",
  "2026/01/05-11:45:00\t4096\t100",
  "2026/01/05-12:15:00\t1024\t1124",
];

Deno.test("a multi-meter log whose meters change: one column per meter ever seen, resets per meter", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, CHANGING_LOG);
    // web: 1024 in hour 10, then 2048 across 10:30-11:30 (1024 each side),
    // 1024 at 11:45, then a reset counting 1024 across 12:00 (512 each side).
    // mail: 2048 in hour 10, none in hour 11, not metered in hour 12 (an empty field, not 0). dns: not metered in
    // hour 10, starts at 11:45, then 1024 across 12:00.
    assertEquals(
      await dat(dir, ["--by", "hour", "--unit", "KB", path]),
      table([
        ["Date", "web", "mail", "dns"],
        ["2026/01/05-10:00", "2.00", "2.00", ""],
        ["2026/01/05-11:00", "2.50", "0.00", "0.50"],
        ["2026/01/05-12:00", "0.50", "", "0.50"],
      ]),
    );
    // Per entry: each meter from zero on its first line, a meter not in a line is a gap (an empty field, not 0).
    assertEquals(
      await dat(dir, ["--by", "entry", "--unit", "KB", path]),
      table([
        ["Date", "web", "mail", "dns"],
        ["2026/01/05-10:00:00", "0.00", "0.00", ""],
        ["2026/01/05-10:30:00", "1.00", "2.00", ""],
        ["2026/01/05-11:30:00", "2.00", "0.00", ""],
        ["2026/01/05-11:45:00", "1.00", "", "0.10"],
        ["2026/01/05-12:15:00", "1.00", "", "1.00"],
      ]),
    );
  });
});

Deno.test("--group rolls meters up, the rest go to 'other' unless --no-other", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, CHANGING_LOG);
    assertEquals(
      await dat(dir, ["--unit", "B", "--group", "all=web,mail", path]),
      table([["Date", "all", "other"], ["2026/01/05", "7168", "1024"]]),
    );
    assertEquals(
      await dat(dir, ["--unit", "B", "-g", "all=web,mail", "--no-other", path]),
      table([["Date", "all"], ["2026/01/05", "7168"]]),
    );
    assertEquals(
      await dat(dir, ["--unit", "B", "-g", "w=web", "-g", "rest=mail,dns", path]),
      table([["Date", "w", "rest"], ["2026/01/05", "5120", "3072"]]),
    );
  });
});

Deno.test("--rate gives the average over the time each bucket covers", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, CHANGING_LOG);
    // Hour 10: 2048 B over 3600 s = 4.55 bit/s; hour 12 is covered for 15 minutes only.
    assertEquals(
      await dat(dir, ["--by", "hour", "--rate", "bit/s", path]),
      table([
        ["Date", "web", "mail", "dns"],
        ["2026/01/05-10:00", "4.55", "4.55", ""],
        ["2026/01/05-11:00", "5.69", "0.00", "1.14"],
        ["2026/01/05-12:00", "4.55", "", "4.55"],
      ]),
    );
  });
});

Deno.test("daylight saving in local time: the skipped hour has no row, the repeated hour holds two", async () => {
  await withTempDir(async (dir) => {
    const tz = { TZ: "Europe/London" };
    // Spring: 01:00 GMT jumps to 02:00 BST. 00:30 to 02:30 is one real hour.
    const spring = await log(dir, [
      "# netmon meters:\tm",
      "2026/03/29-00:30:00\t0",
      "2026/03/29-02:30:00\t3600",
      "2026/03/29-03:00:00\t5400",
    ], "spring.log");
    assertEquals(
      await dat(dir, ["--by", "hour", "--unit", "B", spring], tz),
      table([["Date", "m"], ["2026/03/29-00:00", "1800"], ["2026/03/29-02:00", "3600"], ["2026/03/29-03:00", "0"]]),
    );
    assertEquals(await dat(dir, ["--unit", "B", spring], tz), table([["Date", "m"], ["2026/03/29", "5400"]]));
    // Autumn: 02:00 BST goes back to 01:00 GMT; the log's stamps go 01:30, 01:10.
    const autumn = await log(dir, [
      "# netmon meters:\tm",
      "2026/10/25-00:30:00\t0",
      "2026/10/25-01:30:00\t3600",
      "2026/10/25-01:10:00\t4800",
      "2026/10/25-02:10:00\t8400",
    ], "autumn.log");
    assertEquals(
      await dat(dir, ["--by", "hour", "--unit", "B", autumn], tz),
      table([["Date", "m"], ["2026/10/25-00:00", "1800"], ["2026/10/25-01:00", "6000"], [
        "2026/10/25-02:00",
        "600",
      ]]),
    );
    // The repeated hour lasted two real hours: 6000 B in 7200 s.
    assertEquals(
      await dat(dir, ["--by", "hour", "--rate", "B/s", autumn], tz),
      table([["Date", "m"], ["2026/10/25-00:00", "1.00"], ["2026/10/25-01:00", "0.83"], [
        "2026/10/25-02:00",
        "1.00",
      ]]),
    );
    // A day is midnight to midnight, 23 or 25 hours long: a sample each side
    // of the short day's midnight shares by real time.
    const short = await log(dir, [
      "# netmon meters:\tm",
      "2026/03/28-12:00:00\t0",
      "2026/03/30-12:00:00\t4700",
    ], "short.log");
    // 12 h, then 23 h, then 12 h: 4700 * 12/47 = 1200, 2300, 1200.
    assertEquals(
      await dat(dir, ["--unit", "B", short], tz),
      table([["Date", "m"], ["2026/03/28", "1200"], ["2026/03/29", "2300"], ["2026/03/30", "1200"]]),
    );
  });
});

Deno.test("a clock stepped back: no negative usage, every byte in a bucket", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, [
      "# netmon meters:\tm",
      "2026/01/10-12:00:00\t0",
      "2026/01/10-18:00:00\t1000",
      "2026/01/09-09:00:00\t1500",
      "2026/01/09-10:00:00\t1600",
      "2026/01/11-10:00:00\t2600",
    ]);
    // The usage engine's rule (lib/usage/engine.ts): an interval that goes
    // back in time stays in the bucket open then, the 10th (500, then 100);
    // a streaming engine never reopens the 9th, which it has not even begun.
    // The last 1000 runs from the open bucket's start to the 11th 10:00, 34
    // hours: 24 h on the 10th (705), 10 h on the 11th (295).
    assertEquals(
      await dat(dir, ["--unit", "B", path]),
      table([["Date", "m"], ["2026/01/10", "2305"], ["2026/01/11", "295"]]),
    );
  });
});

Deno.test("weeks run Monday to Sunday, months are calendar months, every bucket has a row", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, [
      "# netmon meters:\tm",
      "2026/01/30-00:00:00\t0",
      "2026/01/31-00:00:00\t1024",
      "2026/02/01-00:00:00\t2048",
      "2026/03/01-00:00:00\t2048",
      "2026/03/02-00:00:00\t3072",
    ]);
    assertEquals(
      await dat(dir, ["--by", "month", "--unit", "KB", path]),
      table([["Date", "m"], ["2026/01", "2.00"], ["2026/02", "0.00"], ["2026/03", "1.00"]]),
    );
    // 2026/01/26 and 2026/02/23 are Mondays, 2026/03/01 a Sunday; the weeks between have no traffic.
    const weeks = await dat(dir, ["--by", "week", "--unit", "KB", path]);
    assertEquals(
      weeks,
      table([
        ["Date", "m"],
        ["2026/01/26", "2.00"],
        ["2026/02/02", "0.00"],
        ["2026/02/09", "0.00"],
        ["2026/02/16", "0.00"],
        ["2026/02/23", "1.00"],
        ["2026/03/02", "0.00"],
      ]),
    );
  });
});

Deno.test("counters up to 2^64-1 are exact, in bytes and in rounded units", async () => {
  await withTempDir(async (dir) => {
    const max = (1n << 64n) - 1n;
    const path = await log(dir, [
      "# netmon meters:\ta\tb",
      `2026/01/01-00:00:00\t0\t${max - 10n}`,
      `2026/01/01-12:00:00\t${max}\t${max}`,
      `2026/01/02-12:00:00\t${max - 1n}\t5`,
    ]);
    // a: 2^64-1 on the 1st, then a reset to 2^64-2 over 24 h split 12/12.
    const half = (max - 1n) / 2n;
    assertEquals(
      await dat(dir, ["--unit", "B", path]),
      table([["Date", "a", "b"], ["2026/01/01", String(max + half), "12"], [
        "2026/01/02",
        String(max - 1n - half),
        "3",
      ]]),
    );
    // 2^64 - 1 bytes is 16 EiB = 17592186044416 MiB less a hair: rounds up to .00.
    const entry = await dat(dir, ["--by", "entry", path]);
    assertEquals(entry.split("\n")[2], "2026/01/01-12:00:00\t17592186044416.00\t0.00");
  });
});

Deno.test("malformed lines are skipped with file:line and why; --strict makes the first an error", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, [
      "2010/02/25-22:00:00\t0\t0",
      "2010/02/25-22:05:00\t100\t200\r",
      "2010/02/25-22:10:00\t100",
      "2010/02/25-22:15:00\t-5\t200",
      "2010/02/25-22:20:00\t18446744073709551616\t200",
      "2010/02/30-22:25:00\t100\t200",
      "2010/02/25-22:30:00\tabc\t200",
      "2010/02/25-22:35:00\t1\xff\t200",
      "",
      "# a comment",
      "2010/02/25-22:40:00 1048576   2097152",
    ]);
    const r = await graph([path, "-o", "-"], { cwd: dir });
    assertEquals(r.code, 0);
    assertEquals(r.stdout, table([["Date", "Proxy", "Non-Network"], ["2010/02/25", "1.00", "2.00"]]));
    assertEquals(r.stderr.trim().split("\n"), [
      `graph: warning: ${path}:2: line ends in CR (DOS line ending); line skipped`,
      `graph: warning: ${path}:3: expected 3 fields but got 2; line skipped`,
      `graph: warning: ${path}:4: counter "-5" is negative; line skipped`,
      `graph: warning: ${path}:5: counter 18446744073709551616 is larger than 2^64-1; line skipped`,
      `graph: warning: ${path}:6: "2010/02/30-22:25:00" is not a timestamp YYYY/MM/DD-HH:MM:SS; line skipped`,
      `graph: warning: ${path}:7: counter "abc" is not a whole number; line skipped`,
      `graph: warning: ${path}:8: line has bytes that are not printable ASCII; line skipped`,
    ]);
    const strict = await graph([path, "--strict", "-o", `${dir}/out.dat`], { cwd: dir });
    assertEquals(strict.code, 65);
    assertEquals(strict.stderr, `graph: ${path}:2: line ends in CR (DOS line ending) (--strict)\n`);
    // Nothing half-written is left behind.
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["netmon.log"]);
  });
});

Deno.test("many malformed lines: twenty warnings then a count", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, Array.from({ length: 50 }, (_, i) => `garbage line ${i}`));
    const r = await graph([path, "-o", "-"], { cwd: dir });
    assertEquals(r.code, 0);
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 21);
    assertEquals(lines[20], `graph: warning: ${path}: 30 more malformed lines skipped`);
  });
});

Deno.test("an empty log gives just the header; the default log is the state directory's", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/netmon.log`, "");
    assertEquals(await dat(dir, ["-s", dir]), "Date\tProxy\tNon-Network\n");
    assertEquals(await dat(dir, ["--by", "entry", `${dir}/netmon.log`]), "Date\tProxy\tNon-Network\n");
    const env = { NETMON_STATE_DIR: dir };
    assertEquals(await dat(dir, [], env), "Date\tProxy\tNon-Network\n");
    // A fresh install's cron job draws a picture that says so, rather than failing every run.
    const r = await graph(["-s", dir, "--plot", `${dir}/empty.png`, "--size", "300x200"], { cwd: dir });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(pngSize(await Deno.readFile(`${dir}/empty.png`)), [300, 200]);
  });
});

Deno.test("graph.ts errors: one line and a sysexits status", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, ORIGINAL_LOG);
    const cases: [string[], number, string][] = [
      [["--by", "fortnight", path], 64, "graph: --by fortnight: must be one of entry, hour, day, week, month"],
      [["--unit", "XB", path], 64, "graph: --unit XB: must be one of B, KiB, MiB, GiB, TiB, KB, MB, GB, TB"],
      [
        ["--by", "entry", "--rate", "bit/s", path],
        64,
        "graph: --rate needs time buckets: use --by hour, day, week or month",
      ],
      [["--rate", "bit/s", "--unit", "MB", path], 64, "graph: --rate and --unit cannot be used together"],
      [["-g", "acme", path], 64, "graph: --group acme: write it as NAME=METER,METER (e.g. acme=acme-in,acme-out)"],
      [["-g", "a=x", "-g", "b=x", path], 64, "graph: --group b=x: meter x is already in group a"],
      [["--plot", "x.gif", path], 64, "graph: --plot x.gif: the file must end in .png or .svg"],
      [
        ["--size", "5x5", path],
        64,
        "graph: --size 5x5: write it as WIDTHxHEIGHT in pixels, from 16 to 10000 (e.g. 1024x480)",
      ],
      [["--frobnicate", path], 64, "graph: unknown option --frobnicate"],
      [
        [`${dir}/missing.log`],
        66,
        `graph: ${dir}/missing.log: no such log (run 'netmon report' first, or name the log)`,
      ],
      [
        [path, "-o", `${dir}/no/such/dir/out.dat`],
        73,
        `graph: Cannot create ${dir}/no/such/dir/out.dat: a parent directory does not exist`,
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = await graph(args, { cwd: dir });
      // A usage error ends by pointing at --help, on the same line.
      const line = code === 64 ? `${message} (see 'graph.ts --help')` : message;
      assertEquals({ code: r.code, stderr: r.stderr }, { code, stderr: `${line}\n` }, args.join(" "));
    }
  });
});

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(bytes: Uint8Array): [number, number] {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assertEquals([...bytes.subarray(0, 8)], signature, "PNG signature");
  assertEquals(new TextDecoder().decode(bytes.subarray(12, 16)), "IHDR");
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return [view.getUint32(16), view.getUint32(20)];
}

Deno.test("real gnuplot draws a PNG of the asked size and an SVG with one plot per series", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, CHANGING_LOG);
    const r = await graph([path, "--by", "hour", "-o", `${dir}/g.dat`, "--plot", `${dir}/g.png`, "--size", "640x320"], {
      cwd: dir,
    });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(pngSize(await Deno.readFile(`${dir}/g.png`)), [640, 320]);
    const svg = await graph([path, "-o", "-", "--plot", `${dir}/g.svg`, "--gnuplot", `${dir}/g.gp`], { cwd: dir });
    assertEquals(svg.code, 0, svg.stderr);
    const text = await Deno.readTextFile(`${dir}/g.svg`);
    // gnuplot's SVG has a group per plot: its legend entry and its line; after the series, web's reset and its key.
    const plots = text.split('<g id="gnuplot_plot_').slice(1).map((p) => p.slice(0, p.indexOf("</svg>")));
    assertEquals(plots.length, 5);
    plots.slice(0, 3).forEach((section, i) => {
      ok(section.includes(`<text>${["web", "mail", "dns"][i]}</text>`), `series ${i + 1} is named in the legend`);
      ok(/<path [^>]*d='M[^']* L/.test(section), `series ${i + 1} is drawn as a path`);
    });
    // Only the finished files: no temporary left behind.
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "g.dat",
      "g.gp",
      "g.png",
      "g.svg",
      "netmon.log",
    ]);
    // The script written by --gnuplot is self-contained: gnuplot renders it alone.
    await Deno.remove(`${dir}/g.svg`);
    const alone = await run("gnuplot", [`${dir}/g.gp`], { cwd: "/" });
    assertEquals(alone.code, 0, alone.stderr);
    ok((await Deno.readTextFile(`${dir}/g.svg`)).includes("gnuplot_plot_3"));
  });
});

Deno.test("--gnuplot alone writes a self-contained script, the data in it, that plots into FILE.png", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, ORIGINAL_LOG);
    const r = await graph([path, "--gnuplot", "usage.gp"], { cwd: dir });
    assertEquals(r.code, 0, r.stderr);
    const script = await Deno.readTextFile(`${dir}/usage.gp`);
    const data = await Deno.readTextFile(`${dir}/netmon_graph.dat`);
    // The data itself, not the data file's name: gnuplot opens no file another user could put a link at.
    ok(script.includes(`$netmon << EOD\n${data}EOD\n`), script);
    ok(script.includes("plot for [i=2:3] $netmon using 1:(valid(i) ? column(i) : NaN)"), script);
    ok(!script.includes("netmon_graph.dat"), script);
    ok(script.includes(`set output '${dir}/usage.png'`), script);
    // The values are of 1024 * 1024 bytes: MiB, though the option (and the original) says MB.
    ok(script.includes("set ylabel 'MiB per day'"), script);
    // The data file gone, or another file's link in its place, changes nothing.
    await Deno.symlink("/etc/passwd", `${dir}/netmon_graph.dat.new`);
    await Deno.rename(`${dir}/netmon_graph.dat.new`, `${dir}/netmon_graph.dat`);
    const alone = await run("gnuplot", [`${dir}/usage.gp`], { cwd: "/" });
    assertEquals(alone.code, 0, alone.stderr);
    assertEquals(pngSize(await Deno.readFile(`${dir}/usage.png`)), [1024, 480]);
  });
});

Deno.test("--plot: a link put in place of the data file as gnuplot starts is not followed (gnuplot opens no file)", async () => {
  await withTempDir(async (dir) => {
    // The attack: a user who owns the output directory waits for the data file to be renamed into place, then puts
    // a link to a file only root may read in its place, before gnuplot reads it. Here a gnuplot wrapper does that
    // swap at that very moment (graph.ts has written the data and started gnuplot), then runs the real gnuplot.
    const www = `${dir}/www`;
    await Deno.mkdir(`${dir}/bin`);
    await Deno.mkdir(www);
    const secret = `${dir}/secret`;
    await Deno.writeTextFile(secret, "Date\tTOPSECRET\n2010/02/25\t4242\n2010/02/26\t4243\n", { mode: 0o600 });
    const wrapper = `${dir}/bin/gnuplot`;
    await Deno.writeTextFile(
      wrapper,
      `#!/bin/sh\nln -s '${secret}' '${www}/usage.tmp' && mv -T '${www}/usage.tmp' '${www}/usage.dat' || exit 99\n` +
        `exec /usr/bin/strace -f -qq -e trace=open,openat,openat2 -o '${dir}/opened' /usr/bin/gnuplot "$@"\n`,
    );
    await Deno.chmod(wrapper, 0o755);
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, `[binaries]\ngnuplot = "${wrapper}"\n`);
    const path = await log(dir, ORIGINAL_LOG);
    const r = await graph([path, "-c", config, "-o", `${www}/usage.dat`, "--plot", `${www}/usage.svg`], {
      cwd: dir,
      extra: [`--allow-run=${wrapper},/usr/bin/stat`],
    });
    assertEquals({ code: r.code, stderr: r.stderr }, { code: 0, stderr: "" });
    ok(Deno.lstatSync(`${www}/usage.dat`).isSymlink, "the wrapper swapped the link in");
    const svg = await Deno.readTextFile(`${www}/usage.svg`);
    ok(!svg.includes("TOPSECRET"), "the secret file's header is not in the picture");
    ok(svg.includes("<text>Proxy</text>") && svg.includes("<text>Non-Network</text>"), "the log's series are");
    // Nor could a FIFO or any other file there hold gnuplot: it opens nothing in the output directory.
    const opened = await Deno.readTextFile(`${dir}/opened`);
    ok(/open/.test(opened), opened);
    ok(!opened.includes(www), opened);
  });
});

Deno.test("--plot gives gnuplot the --gnuplot script, data and all, on its stdin: data many chunks long arrives whole", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/bin`);
    const wrapper = `${dir}/bin/gnuplot`;
    await Deno.writeTextFile(wrapper, `#!/bin/sh\ntee '${dir}/stdin' | /usr/bin/gnuplot "$@"\n`);
    await Deno.chmod(wrapper, 0o755);
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, `[binaries]\ngnuplot = "${wrapper}"\n`);
    // 6,000 entries: about 200 KB of data, several of the chunks gnuplot's input is read back in.
    const lines = ["# netmon meters:\tweb\tmail"];
    for (let i = 0; i < 6000; i++) {
      const t = new Date(Date.UTC(2026, 0, 1) + i * 300_000).toISOString();
      lines.push(`${t.slice(0, 4)}/${t.slice(5, 7)}/${t.slice(8, 10)}-${t.slice(11, 19)}\t${i * 1e6}\t${i * 3e5}`);
    }
    const path = await log(dir, lines);
    const r = await graph(
      [path, "-c", config, "--by", "entry", "-o", "-", "--gnuplot", "g.gp", "--plot", `${dir}/g.svg`],
      { cwd: dir, extra: [`--allow-run=${wrapper},/usr/bin/stat`] },
    );
    assertEquals(r.code, 0, r.stderr);
    ok(r.stdout.length > 2 * 65536, `${r.stdout.length} bytes of data`);
    const script = await Deno.readTextFile(`${dir}/g.gp`);
    ok(script.includes(`$netmon << EOD\n${r.stdout}EOD\n`));
    // The same script but for its output, which is gnuplot's standard output.
    assertEquals(await Deno.readTextFile(`${dir}/stdin`), script.replace(`set output '${dir}/g.svg'\n`, ""));
    ok((await Deno.readTextFile(`${dir}/g.svg`)).includes("<text>mail</text>"));
    // Nothing left beside the picture: gnuplot's input was a file without a name.
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "bin",
      "g.gp",
      "g.svg",
      "netmon.log",
      "netmon.toml",
      "stdin",
    ]);
  });
});

Deno.test("--plot into a FIFO, or through a link, in a directory graph.ts cannot write: gnuplot's input goes where the picture does", async () => {
  await withTempDir(async (dir) => {
    // ro: read-only (a bind mount in a mount namespace of the test's own), holding a FIFO with a reader on it and a
    // link of this user's to a picture in rw. The FIFO is written in place, the link's target replaced beside it:
    // neither needs ro writable, nor may gnuplot's input need it.
    const ro = `${dir}/ro`;
    await Deno.mkdir(ro);
    await Deno.mkdir(`${dir}/rw`);
    await must("mkfifo", ["-m", "600", `${ro}/pic.png`]);
    await Deno.writeTextFile(`${dir}/rw/pic.png`, "yesterday's picture");
    await Deno.symlink(`${dir}/rw/pic.png`, `${ro}/link.png`);
    const path = await log(dir, ORIGINAL_LOG);
    const readOnly = (args: string[], dirs = [dir, "/tmp"]) =>
      graph([path, "-o", "-", ...args], {
        cwd: dir,
        // gnuplot's input for a picture written in place goes to the temporary directory (TMPDIR unset: /tmp).
        dirs,
        wrap: [
          "timeout",
          "-s",
          "KILL",
          "60",
          "unshare",
          "-m",
          "sh",
          "-c",
          'mount --make-rprivate / && mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"',
          ro,
        ],
      });
    const denied = await readOnly(["--plot", `${ro}/pic.png`], [dir]);
    assertEquals(denied.code, 77, denied.stderr);
    ok(denied.stderr.startsWith("graph: Deno denied write access to the temporary directory ($TMPDIR, else /tmp)"));
    const reader = new Deno.Command("timeout", { args: ["60", "cat", `${ro}/pic.png`], stdout: "piped" }).spawn();
    const fifo = await readOnly(["--plot", `${ro}/pic.png`]);
    const picture = (await reader.output()).stdout;
    assertEquals({ code: fifo.code, stderr: fifo.stderr }, { code: 0, stderr: "" });
    assertEquals(pngSize(picture), [1024, 480]);
    const link = await readOnly(["--plot", `${ro}/link.png`]);
    assertEquals({ code: link.code, stderr: link.stderr }, { code: 0, stderr: "" });
    assertEquals(pngSize(await Deno.readFile(`${dir}/rw/pic.png`)), [1024, 480]);
    // Nothing left beside either: gnuplot's input was a file without a name.
    assertEquals([...Deno.readDirSync(`${dir}/rw`)].map((e) => e.name), ["pic.png"]);
    assertEquals([...Deno.readDirSync(ro)].map((e) => e.name).sort(), ["link.png", "pic.png"]);
  });
});

Deno.test("--html with --gnuplot and no -o writes the data to ./netmon_graph.dat too; --html alone, the pages only", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, ORIGINAL_LOG);
    await Deno.writeTextFile(`${dir}/netmon.toml`, 'source = "interface"\n');
    const pages = ["-c", `${dir}/netmon.toml`, "--html", `${dir}/www`, path];
    const alone = await graph(pages, { cwd: dir });
    assertEquals(alone.code, 0, alone.stderr);
    ok(Deno.statSync(`${dir}/www/index.html`).isFile);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["netmon.log", "netmon.toml", "www"]);
    const scripted = await graph([...pages, "--gnuplot", "usage.gp"], { cwd: dir });
    assertEquals(scripted.code, 0, scripted.stderr);
    ok((await Deno.readTextFile(`${dir}/netmon_graph.dat`)).startsWith("Date\t"));
  });
});

Deno.test("the axis names 1024-based units by their IEC names, 1000-based ones as they are; the data does not change", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, ORIGINAL_LOG);
    const label = async (args: string[]) => {
      const r = await graph([path, "-o", "g.dat", "--gnuplot", "g.gp", ...args], { cwd: dir });
      assertEquals(r.code, 0, r.stderr);
      return /^set ylabel '(.*)'$/m.exec(await Deno.readTextFile(`${dir}/g.gp`))?.[1];
    };
    assertEquals(await label(["--unit", "GB"]), "GiB per day");
    assertEquals(await label(["--unit", "KB", "--by", "hour"]), "KiB per hour");
    assertEquals(await label(["--rate", "GB/month"]), "GiB/month, average per day");
    assertEquals(await label(["--rate", "MB/s"]), "MiB/s, average per day");
    assertEquals(await label(["--rate", "Mbit/s"]), "Mbit/s, average per day");
    // The IEC spelling is accepted too, and gives the same data, byte for byte.
    const data = async (unit: string) => {
      assertEquals(await label(["--unit", unit]), "MiB per day");
      return await Deno.readTextFile(`${dir}/g.dat`);
    };
    assertEquals(await data("MiB"), await data("MB"));
  });
});

Deno.test("a quote or a backquote in a path stays text in the gnuplot script", async () => {
  await withTempDir(async (dir) => {
    const odd = `${dir}/it's \`touch pwned\``;
    await Deno.mkdir(odd);
    const path = await log(odd, ORIGINAL_LOG);
    const r = await graph([path, "-o", `${odd}/d.dat`, "--plot", `${odd}/p.png`], { cwd: dir, dirs: [dir] });
    assertEquals(r.code, 0, r.stderr);
    pngSize(await Deno.readFile(`${odd}/p.png`));
    ok(!(await Deno.stat(`${dir}/pwned`).then(() => true, () => false)), "no command ran");
    ok(!(await Deno.stat(`/pwned`).then(() => true, () => false)), "no command ran");
  });
});

Deno.test("gnuplot missing: one line, exit 69, the data file still written", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, ORIGINAL_LOG);
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(config, `[binaries]\ngnuplot = "${dir}/bin/gnuplot"\n`);
    const r = await graph([path, "-c", config, "--plot", `${dir}/p.png`], {
      cwd: dir,
      extra: [`--allow-run=${dir}/bin/gnuplot,/usr/bin/stat`],
    });
    assertEquals(r.code, 69);
    assertEquals(
      r.stderr,
      `graph: ${dir}/bin/gnuplot not found: install it or set its path under [binaries] in the config\n`,
    );
    ok((await Deno.readTextFile(`${dir}/netmon_graph.dat`)).startsWith("Date\tProxy\tNon-Network\n"));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "netmon.log",
      "netmon.toml",
      "netmon_graph.dat",
    ]);
  });
});

Deno.test("--group and --customers match meters as the config does; a name matching nothing is an error, not zeros", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, [
      "# netmon meters:\tacme-inbound\tacme-outbound\tbeta",
      "2026/01/05-10:00:00\t0\t0\t0",
      "2026/01/05-11:00:00\t1024\t2048\t4096",
    ]);
    // The bug of issue 18: these columns do not exist; it used to print a column of zeros and exit 0.
    const r = await graph(["--unit", "B", "-g", "acme=acme-in,acme-out", path, "-o", "-"], { cwd: dir });
    assertEquals({ code: r.code, stdout: r.stdout, stderr: r.stderr }, {
      code: 64,
      stdout: "",
      stderr: `graph: --group acme=acme-in,acme-out: acme-in matches no meter or column (columns of ${path}: ` +
        "acme-inbound, acme-outbound, beta) (see 'graph.ts --help')\n",
    });
    // The split meter's name stands for both its columns.
    assertEquals(
      await dat(dir, ["--unit", "B", "-g", "acme=acme", path]),
      table([["Date", "acme", "other"], ["2026/01/05", "3072", "4096"]]),
    );
    const config = `${dir}/netmon.toml`;
    await Deno.writeTextFile(
      config,
      '[[customer]]\nname = "acme"\nmeters = ["acme"]\n[[customer]]\nname = "b"\nmeters = ["beta"]\n',
    );
    assertEquals(
      await dat(dir, ["--unit", "B", "--customers", "-c", config, path]),
      table([["Date", "acme", "b"], ["2026/01/05", "3072", "4096"]]),
    );
    await Deno.writeTextFile(config, '[[customer]]\nname = "acme"\nmeters = ["acme-in"]\n');
    const bad = await graph(["--customers", "-c", config, path, "-o", "-"], { cwd: dir });
    assertEquals({ code: bad.code, stdout: bad.stdout }, { code: 78, stdout: "" });
    assertEquals(
      bad.stderr,
      `graph: ${config}: customer[1].meters[1]: "acme-in" matches no meter or column (columns of ${path}: ` +
        "acme-inbound, acme-outbound, beta)\n",
    );
  });
});

Deno.test("graph under its permission set with the default output: the hint names the directory, and works", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, ORIGINAL_LOG);
    const root = new URL("..", import.meta.url).pathname;
    // As the README's `deno task graph` runs it, with the log's directory readable but no write to the current one.
    const graphIn = (...extra: string[]) =>
      run(Deno.execPath(), [
        "run",
        "-q",
        "--frozen",
        "--config",
        `${root}deno.json`,
        "-P=graph",
        `--allow-read=${dir}`,
        ...extra,
        `${root}graph.ts`,
        path,
      ], { cwd: dir, env: { PATH: "/usr/bin:/bin" } });
    const denied = await graphIn();
    // The set with a read flag of one's own: the whole line, keeping that flag (the current directory) as `.`.
    assertEquals(denied.code, 77, denied.stderr);
    ok(
      denied.stderr.startsWith("graph: Deno denied write access to .: this run's permissions (the graph set"),
      denied.stderr,
    );
    const line = /: run it as: (deno run .*)\n$/.exec(denied.stderr)?.[1] ?? "";
    ok(line.includes(" -P=graph --allow-read=/etc/netmon,/var/lib/netmon,. --allow-write=/var/lib/netmon,. "), line);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["netmon.log"]);
    const env = {
      PATH: `${Deno.execPath().replace(/\/[^/]*$/, "")}:/usr/bin:/bin`,
      HOME: Deno.env.get("HOME") ?? "/root",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
    };
    const printed = await run("sh", ["-c", line], { cwd: dir, env });
    assertEquals([printed.code, printed.stderr], [0, ""], line);
    await Deno.remove(`${dir}/netmon_graph.dat`);
    const allowed = await graphIn("--allow-write=.");
    assertEquals([allowed.code, allowed.stderr], [0, ""]);
    ok(Deno.statSync(`${dir}/netmon_graph.dat`).isFile);
  });
});
