/**
 * graph.ts's pictures do not mislead: each fix checked on the gnuplot script
 * and on what the real gnuplot draws from it (SVG text and paths, PNG pixels).
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { decode } from "fast-png";
import { GNUPLOT_PALETTE, RESET_KEY, timeTicks } from "../lib/outputs/gnuplot.ts";
import { graphLog, type GraphOptions, type ResetMark } from "../lib/usage/buckets.ts";
import type { LogFile } from "../lib/usage/log_samples.ts";
import { graph, withTempDir } from "./helpers.ts";

async function log(dir: string, lines: string[], name = "netmon.log"): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, lines.map((l) => `${l}\n`).join(""));
  return path;
}

/** Runs graph.ts writing data, script and picture; returns the script and the picture's path. */
async function plot(dir: string, args: string[], picture = "g.svg"): Promise<{ script: string; picture: string }> {
  const r = await graph([...args, "-o", `${dir}/g.dat`, "--gnuplot", `${dir}/g.gp`, "--plot", `${dir}/${picture}`], {
    cwd: dir,
  });
  assertEquals({ code: r.code, stderr: r.stderr }, { code: 0, stderr: "" }, args.join(" "));
  return { script: await Deno.readTextFile(`${dir}/g.gp`), picture: `${dir}/${picture}` };
}

/** The tick labels gnuplot drew on the x axis (the rotated texts). */
function xLabels(svg: string): string[] {
  return [...svg.matchAll(/rotate\(30\)"[^>]*>\s*<text>([^<]*)<\/text>/g)].map((m) => m[1] as string);
}

const sec = (iso: string) => Date.parse(`${iso}Z`) / 1000;

/** A day of two meters, one sample an hour, from 00:00 to 18:00 (the day not over). */
const DAY_LOG = [
  "# netmon meters:\tbig\tsmall",
  ...Array.from({ length: 19 }, (_, h) => `2026/01/05-${String(h).padStart(2, "0")}:00:00\t${h * 1e9}\t${h * 1e4}`),
];

Deno.test("one hourly bucket spans its hour, not 14 months; ticks at round times, each label distinct", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, ["# netmon meters:\tm", "2026/01/05-10:00:00\t0", "2026/01/05-10:30:00\t1048576"]);
    const { script, picture } = await plot(dir, ["--by", "hour", path]);
    ok(script.includes(`set xrange [${sec("2026-01-05T10:00")}:${sec("2026-01-05T11:00")}]`), script);
    const labels = xLabels(await Deno.readTextFile(picture));
    assertEquals(labels[0], "01/05 10:00");
    assertEquals(labels.at(-1), "01/05 11:00");
    assertEquals(new Set(labels).size, labels.length);
  });
});

Deno.test("--by entry over a minute: the axis is the entries' span and no label repeats", async () => {
  await withTempDir(async (dir) => {
    const lines = ["# netmon meters:\tm"];
    for (let s = 0; s <= 60; s += 10) lines.push(`2026/01/05-10:00:${String(s % 60).padStart(2, "0")}\t${s * 1000}`);
    lines[7] = "2026/01/05-10:01:00\t60000";
    const path = await log(dir, lines);
    const { script, picture } = await plot(dir, ["--by", "entry", path]);
    ok(script.includes(`set xrange [${sec("2026-01-05T10:00")}:${sec("2026-01-05T10:01")}]`), script);
    ok(script.includes("with fsteps"), "an entry's usage is a step over its interval");
    const labels = xLabels(await Deno.readTextFile(picture));
    ok(labels.length >= 3, labels.join());
    assertEquals(new Set(labels).size, labels.length, labels.join());
    assertEquals(labels[0], "10:00:00");
  });
  // And for any span, the labels are distinct.
  for (const [span, most] of [[45_000, 10], [86_400_000 * 3, 10], [86_400_000 * 400, 12], [3_600_000 * 7, 4]]) {
    const start = Date.UTC(2026, 0, 5, 10, 0, 7);
    const ticks = timeTicks(start, start + (span as number), most as number);
    ok(ticks.length >= 1 && ticks.length <= (most as number));
    assertEquals(new Set(ticks.map((t) => t.label)).size, ticks.length, ticks.map((t) => t.label).join());
    ok(ticks.every((t) => t.at >= start && t.at <= start + (span as number)));
  }
});

Deno.test("buckets are steps; today's bucket is hatched as incomplete and drawn on to its end", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, DAY_LOG);
    const { script, picture } = await plot(dir, ["--by", "day", "--unit", "B", path]);
    ok(script.includes("with steps"));
    ok(script.includes(`set xrange [${sec("2026-01-05T00:00")}:${sec("2026-01-06T00:00")}]`), script);
    ok(script.includes(`set object 1 rect from ${sec("2026-01-05T00:00")}, graph 0 to ${sec("2026-01-06T00:00")}`));
    ok(script.includes("set xlabel 'Date (hatched: incomplete day"));
    ok(script.includes(`set arrow 1 from ${sec("2026-01-05T00:00")}, 18000000000 to ${sec("2026-01-06T00:00")}`));
    const svg = await Deno.readTextFile(picture);
    ok(/fill = 'url\(#gpPat\d+\)'/.test(svg), "the hatch is drawn");
    ok(svg.includes("<text>incomplete</text>"));
    // Cut before the last day with --to: nothing is incomplete any more.
    const lines = [...DAY_LOG, "2026/01/06-06:00:00\t20000000000\t200000"];
    const path2 = await log(dir, lines, "two.log");
    const cut = await plot(dir, ["--by", "day", "--to", "2026-01-06", path2]);
    ok(!cut.script.includes("set object"), cut.script);
    assertEquals((await Deno.readTextFile(`${dir}/g.dat`)).split("\n")[1]?.split("\t")[0], "2026/01/05");
  });
});

Deno.test("a narrow incomplete last bucket keeps its label inside the frame, clear of the key", async () => {
  await withTempDir(async (dir) => {
    // 29 whole days and six hours of the 30th, by day: the hatched last bucket is a thirtieth of the plot's width.
    const lines = ["# netmon meters:\tacme-inbound\tacme-outbound"];
    for (let h = 0; h < 29 * 24 + 6; h++) {
      const t = new Date(Date.UTC(2026, 0, 1) + h * 3_600_000).toISOString();
      lines.push(`${t.slice(0, 10).replaceAll("-", "/")}-${t.slice(11, 19)}\t${h * 1e9}\t${h * 1e8}`);
    }
    const { picture } = await plot(dir, ["--by", "day", await log(dir, lines)]);
    const svg = await Deno.readTextFile(picture);
    // The frame: the border path gnuplot draws around the plot, M left,bottom ... right,top.
    const frame = /d='M([\d.]+),[\d.]+ L[\d.]+,[\d.]+ L([\d.]+),[\d.]+ L[\d.]+,[\d.]+ L[\d.]+,[\d.]+ Z/.exec(svg);
    ok(frame, "the plot's frame is drawn");
    const [left, right] = [Number(frame[1]), Number(frame[2])];
    const labels = [
      ...svg.matchAll(/translate\(([\d.]+),[\d.]+\)"[^>]*text-anchor="(start|end)">\s*<text>incomplete</g),
    ];
    assertEquals(labels.length, 1, "one incomplete bucket, one label");
    // 12-pixel Arial: "incomplete" is about 55 pixels wide.
    const [x, anchor] = [Number(labels[0]?.[1]), labels[0]?.[2]];
    const [from, to] = anchor === "start" ? [x, x + 55] : [x - 55, x];
    ok(from >= left && to <= right, `the label spans ${from}..${to}, the frame ${left}..${right}`);
  });
});

Deno.test("colours: Okabe-Ito, each series its own; past eight, dashes; the PNG has the palette's pixels", async () => {
  await withTempDir(async (dir) => {
    const meters = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const lines = [`# netmon meters:\t${meters.join("\t")}`];
    for (let h = 0; h < 6; h++) {
      lines.push(
        `2026/01/05-${String(h).padStart(2, "0")}:00:00\t${meters.map((_, i) => h * (i + 1) * 2 ** 21).join("\t")}`,
      );
    }
    const path = await log(dir, lines);
    const { script, picture } = await plot(dir, ["--by", "hour", path]);
    GNUPLOT_PALETTE.forEach((c, i) => ok(script.includes(`set style line ${i + 1} lc rgb '${c}' lw 2 dt 1`), c));
    ok(script.includes(`set style line 9 lc rgb '${GNUPLOT_PALETTE[0]}' lw 2 dt 2`));
    const svg = await Deno.readTextFile(picture);
    const plots = svg.split('<g id="gnuplot_plot_').slice(1);
    assertEquals(plots.length, 10);
    const strokes = plots.map((p) => /<path stroke='([^']*)'( stroke-dasharray)?/.exec(p)?.slice(1, 3).join(""));
    assertEquals(new Set(strokes).size, 10, strokes.join(" | "));
    ok(plots.slice(8).every((p) => p.includes("stroke-dasharray")), "series 9 and 10 are dashed");

    // The PNG: pixels of the first colours exactly, and of the hatch.
    const png = await plot(dir, ["--by", "hour", path], "g.png");
    const image = decode(await Deno.readFile(png.picture));
    const seen = new Set<string>();
    for (let i = 0; i < image.data.length; i += image.channels) {
      seen.add(
        [0, 1, 2].map((c) => (image.data[i + c] as number).toString(16).padStart(2, "0")).join("").toUpperCase(),
      );
    }
    for (const c of GNUPLOT_PALETTE.slice(0, 6)) ok(seen.has(c.slice(1)), `${c} is drawn`);
    ok(seen.has("BBBBBB"), "the incomplete hour's hatch is drawn");
  });
});

Deno.test("--log: a log axis whose floor is below the smallest value; zeros sit on the floor", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, DAY_LOG);
    const { script, picture } = await plot(dir, ["--by", "hour", "--unit", "KB", "--log", path]);
    ok(script.includes("set logscale y 10"));
    // small: 10^4 B an hour = 9.77 KB; the floor is 1 KB.
    ok(script.includes("set yrange [1:*]"), script);
    ok(script.includes("using 1:(valid(i) ? (column(i) > 0 ? column(i) : 1) : NaN)"));
    const svg = await Deno.readTextFile(picture);
    for (const t of ["1", "10", "100", "1000"]) {
      ok(svg.includes(`<text> ${t}</text>`), `y tick ${t}`);
    }
    assertEquals((await graph(["--log", "--by", "hour", path, "-o", "-"], { cwd: dir })).code, 0);
  });
});

Deno.test("--title is the picture's title, and stays text", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, DAY_LOG);
    const title = "gw1 `touch pwned` it's & <b>";
    const { script, picture } = await plot(dir, ["--title", title, path]);
    ok(script.includes("set title 'gw1 `touch pwned` it''s & <b>'"));
    ok((await Deno.readTextFile(picture)).includes("<text>gw1 `touch pwned` it's &amp; &lt;b></text>"));
    ok(!(await Deno.stat(`${dir}/pwned`).then(() => true, () => false)), "no command ran");
  });
});

Deno.test("--from/--to keep the buckets starting in the range, --to exclusive; bad dates are one line, exit 64", async () => {
  await withTempDir(async (dir) => {
    const lines = ["# netmon meters:\tm"];
    for (let d = 1; d <= 9; d++) lines.push(`2026/01/0${d}-12:00:00\t${d * 1024 * 1024}`);
    const path = await log(dir, lines);
    const days = async (args: string[]) => {
      const r = await graph([...args, path, "-o", "-"], { cwd: dir });
      assertEquals(r.code, 0, r.stderr);
      return r.stdout.trim().split("\n").slice(1).map((l) => l.split("\t")[0]);
    };
    assertEquals(await days(["--from", "2026-01-03", "--to", "2026-01-05"]), ["2026/01/03", "2026/01/04"]);
    assertEquals(await days(["--from", "2026-01-08 06:00"]), ["2026/01/09"]);
    assertEquals(await days(["--by", "entry", "--from", "2026-01-08 12:00", "--to", "2026-01-09 12:00"]), [
      "2026/01/08-12:00:00",
    ]);
    const { script } = await plot(dir, ["--from", "2026-01-03", "--to", "2026-01-05", path]);
    ok(script.includes(`set xrange [${sec("2026-01-03T00:00")}:${sec("2026-01-05T00:00")}]`), script);
    for (
      const [args, message] of [
        [["--from", "2026-02-30"], "--from 2026-02-30: day 30 is out of range (February 2026 has 28 days)"],
        [["--from", "2026-1-30"], "--from 2026-1-30: write it as YYYY-MM-DD or 'YYYY-MM-DD HH:MM' (local time)"],
        [["--to", "2026-01-05 24:00"], "--to 2026-01-05 24:00: hour 24 is out of range (00 to 23)"],
        [["--to", "2026-01-05 23:60"], "--to 2026-01-05 23:60: minute 60 is out of range (00 to 59)"],
        [["--from", "2026-01-05", "--to", "2026-01-05"], "--from 2026-01-05 is not before --to 2026-01-05"],
        [["--title", "a\tb"], '--title "a\\tb" has a control character and cannot go into a gnuplot script'],
      ] as const
    ) {
      const r = await graph([...args, path, "-o", "-"], { cwd: dir });
      assertEquals({ code: r.code, stderr: r.stderr }, {
        code: 64,
        stderr: `graph: ${message} (see 'graph.ts --help')\n`,
      });
    }
  });
});

/** `text` as a log file in memory. */
function textLog(text: string): LogFile {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return {
    readSync(p) {
      if (at >= bytes.length) return null;
      const n = Math.min(p.length, bytes.length - at);
      p.set(bytes.subarray(at, at + n));
      at += n;
      return n;
    },
    seekSync(offset) {
      return at = offset;
    },
  };
}

/** The graph data of `lines` and the resets it marks, computed in-process in UTC. */
function graphData(lines: string[], options: Partial<GraphOptions> = {}): { data: string; resets: ResetMark[] } {
  const tz = Deno.env.get("TZ");
  Deno.env.set("TZ", "UTC");
  try {
    let data = "";
    const resets: ResetMark[] = [];
    const warnings: string[] = [];
    const opts: GraphOptions = {
      by: "hour",
      unit: "MB",
      groups: [],
      other: true,
      strict: true,
      warn: (m) => warnings.push(m),
      reset: (mark) => resets.push(mark),
      ...options,
    };
    graphLog(textLog(lines.map((l) => `${l}\n`).join("")), "test.log", opts, (t) => data += t);
    assertEquals(warnings, []);
    return { data, resets };
  } finally {
    if (tz === undefined) Deno.env.delete("TZ");
    else Deno.env.set("TZ", tz);
  }
}

const MiB = 1024 * 1024;
/**
 * web and mail, then web and dns: web reset (its counter went down to 0) in the sample of 12:30, mail reset by a
 * reset line at 13:30, then gone; dns added at 14:30.
 */
const GAPS_LOG = [
  "# netmon meters:\tweb\tmail",
  `2026/01/05-10:00:00\t0\t0`,
  `2026/01/05-10:30:00\t${1 * MiB}\t${1 * MiB}`,
  `2026/01/05-11:30:00\t${3 * MiB}\t${2 * MiB}`,
  `2026/01/05-12:30:00\t0\t${3 * MiB}`,
  "# netmon reset:\tmail\treboot",
  `2026/01/05-13:30:00\t${1 * MiB}\t${1 * MiB}`,
  "# netmon meters:\tweb\tdns",
  `2026/01/05-14:30:00\t${2 * MiB}\t0`,
  `2026/01/05-15:30:00\t${3 * MiB}\t${1 * MiB}`,
];

Deno.test("buckets: a meter not metered in a bucket is a gap (an empty field), not 0; resets are told per series", () => {
  const { data, resets } = graphData(GAPS_LOG);
  // web: 1 + half of 2 at 10, the other half and 0 (the reset interval, 11:30-12:30: what it counted since the
  // reset, nothing) at 11, then 1 MiB an hour. mail: 1 + 0.5, 0.5 + 0.5, 0.5 + half of the 1 MiB its reset line
  // counts, the other half; not metered from 13:30 on. dns: metered from 14:30 (its starting point), 1 MiB an hour.
  assertEquals(
    data,
    [
      "Date\tweb\tmail\tdns",
      "2026/01/05-10:00\t2.00\t1.50\t",
      "2026/01/05-11:00\t1.00\t1.00\t",
      "2026/01/05-12:00\t0.50\t1.00\t",
      "2026/01/05-13:00\t1.00\t0.50\t",
      "2026/01/05-14:00\t1.00\t\t0.50",
      "2026/01/05-15:00\t0.50\t\t0.50",
      "",
    ].join("\n"),
  );
  // Each in the bucket its interval ends in, as the summary counts it.
  assertEquals(resets, [
    { date: "2026/01/05-12:00", series: 0, value: "0.50" },
    { date: "2026/01/05-13:00", series: 1, value: "0.50" },
  ]);
  // A group is a gap only where none of its meters is metered; its reset is any of its meters'.
  const grouped = graphData(GAPS_LOG, { groups: [{ name: "mailish", meters: ["mail", "dns"] }], other: false });
  assertEquals(grouped.data.split("\n").map((l) => l.split("\t")[1]), [
    "mailish",
    "1.50",
    "1.00",
    "1.00",
    "0.50",
    "0.50",
    "0.50",
    undefined,
  ]);
  assertEquals(grouped.resets, [{ date: "2026/01/05-13:00", series: 0, value: "0.50" }]);
  // By entry: a reset to 0 is the 0.00 its interval counted since the reset, told as a reset; a meter not in a line
  // is a gap.
  const entries = graphData(GAPS_LOG, { by: "entry" });
  assertEquals(
    entries.data,
    [
      "Date\tweb\tmail\tdns",
      "2026/01/05-10:00:00\t0.00\t0.00\t",
      "2026/01/05-10:30:00\t1.00\t1.00\t",
      "2026/01/05-11:30:00\t2.00\t1.00\t",
      "2026/01/05-12:30:00\t0.00\t1.00\t",
      "2026/01/05-13:30:00\t1.00\t1.00\t",
      "2026/01/05-14:30:00\t1.00\t\t0.00",
      "2026/01/05-15:30:00\t1.00\t\t1.00",
      "",
    ].join("\n"),
  );
  assertEquals(entries.resets, [
    { date: "2026/01/05-12:30:00", series: 0, value: "0.00" },
    { date: "2026/01/05-13:30:00", series: 1, value: "1.00" },
  ]);
  // The original two meters are always metered: no gap, the data as before.
  const original = graphData([
    "2010/02/25-22:00:00\t0\t0",
    "2010/02/26-01:00:00\t3145728\t0",
    "2010/02/26-02:00:00\t5\t9",
  ], {
    by: "day",
    unit: "B",
  });
  assertEquals(original.data, "Date\tProxy\tNon-Network\n2010/02/25\t2097152\t0\n2010/02/26\t1048581\t9\n");
  assertEquals(original.resets, [{ date: "2010/02/26", series: 0, value: "1048581" }]);
});

Deno.test("gnuplot is given gaps as gaps and resets as circles in the series' colour, and draws them", async () => {
  await withTempDir(async (dir) => {
    const path = await log(dir, GAPS_LOG);
    const { script, picture } = await plot(dir, ["--by", "hour", path]);
    // An empty field is NaN to gnuplot, so the line stops there rather than going on across the gap.
    ok(script.includes("using 1:(valid(i) ? column(i) : NaN) with steps"), script);
    // mail's last step before its gap, and the last row's steps, drawn to their bucket's end.
    ok(
      script.includes(
        `set arrow 1 from ${sec("2026-01-05T13:00")}, 0.5 to ${sec("2026-01-05T14:00")}, 0.5 nohead ls 2`,
      ),
    );
    ok(
      script.includes(
        `set arrow 2 from ${sec("2026-01-05T15:00")}, 0.5 to ${sec("2026-01-05T16:00")}, 0.5 nohead ls 1`,
      ),
    );
    ok(!script.includes("nohead ls 2 front\nset arrow 4"), "no step for mail's gap at the end");
    const colour = (s: number) => parseInt((GNUPLOT_PALETTE[s] as string).slice(1), 16);
    ok(
      script.includes(
        `$netmon_resets << EOD\n${sec("2026-01-05T12:30")}\t0.5\t${colour(0)}\n${sec("2026-01-05T13:30")}\t0.5\t${
          colour(1)
        }\nEOD\n`,
      ),
      script,
    );
    ok(script.includes(`title '${RESET_KEY}'`));
    const svg = await Deno.readTextFile(picture);
    const frame = /d='M([\d.]+),[\d.]+ L[\d.]+,[\d.]+ L([\d.]+),[\d.]+ L[\d.]+,[\d.]+ L[\d.]+,[\d.]+ Z/.exec(svg);
    ok(frame, "the plot's frame is drawn");
    const [left, right] = [Number(frame[1]), Number(frame[2])];
    /** x of naive hour `h` of the day, in the SVG (the axis spans 10:00 to 16:00). */
    const x = (h: number) => left + (right - left) * (h - 10) / 6;
    /** The x of every point of series `n`'s line inside the frame. */
    const xs = (n: number) => {
      const part = svg.split(`<g id="gnuplot_plot_${n}"`)[1]?.split("</g>")[0] ?? "";
      const d = /<path stroke='[^']*'\s+d='([^']*)'/.exec(part)?.[1] ?? "";
      return [...d.matchAll(/[ML]([\d.]+),[\d.]+/g)].map((m) => Number(m[1])).filter((v) => v <= right + 0.5);
    };
    // mail's line stops at its gap (14:00); dns's starts at its first bucket (14:00), not as a 0 from 10:00.
    ok(Math.max(...xs(2)) <= x(14) + 0.5, `mail drawn to ${Math.max(...xs(2))}, its gap at ${x(14)}`);
    ok(Math.min(...xs(3)) >= x(14) - 0.5, `dns drawn from ${Math.min(...xs(3))}, its first bucket at ${x(14)}`);
    // The two resets as circles of their series' colours, and the key's in black.
    const circles = [
      ...svg.matchAll(/<use xlink:href='#gpPt5' transform='translate\(([\d.]+),[\d.]+\)[^']*' color='([^']*)'/g),
    ];
    const rgb = (c: string) =>
      `rgb(${[1, 3, 5].map((i) => String(parseInt(c.slice(i, i + 2), 16)).padStart(3)).join(", ")})`;
    const onPlot = circles.filter((m) => Number(m[1]) <= right);
    assertEquals(onPlot.map((m) => m[2]), [rgb(GNUPLOT_PALETTE[0] as string), rgb(GNUPLOT_PALETTE[1] as string)]);
    ok(Math.abs(Number(onPlot[0]?.[1]) - x(12.5)) < 1, "web's reset over its bucket's middle");
    ok(svg.includes(`<text>${RESET_KEY}</text>`), "the key says what a circle is");
    // By entry: dns's first step after its gap (14:30's, over 13:30 to 14:30) drawn; the resets at their lines.
    const entries = await plot(dir, ["--by", "entry", path]);
    ok(
      entries.script.includes(
        `set arrow 1 from ${sec("2026-01-05T13:30")}, 0 to ${sec("2026-01-05T14:30")}, 0 nohead ls 3`,
      ),
    );
    ok(
      entries.script.includes(
        `$netmon_resets << EOD\n${sec("2026-01-05T12:30")}\t0\t${colour(0)}\n${sec("2026-01-05T13:30")}\t1\t${
          colour(1)
        }\nEOD\n`,
      ),
      entries.script,
    );
    // The PNG too, and --log keeps gaps and puts a reset at 0 on the floor.
    await plot(dir, ["--by", "hour", path], "g.png");
    const zero = await log(dir, [
      "# netmon meters:\ta",
      "2026/01/05-10:00:00\t5",
      "2026/01/05-10:20:00\t0",
      "2026/01/05-11:20:00\t0",
      "2026/01/05-12:20:00\t4096",
    ], "zero.log");
    const logged = await plot(dir, ["--by", "hour", "--unit", "KB", "--log", zero]);
    ok(logged.script.includes("using 1:(valid(i) ? (column(i) > 0 ? column(i) : 1) : NaN)"), logged.script);
    ok(logged.script.includes(`$netmon_resets << EOD\n${sec("2026-01-05T10:30")}\t1\t`), logged.script);
  });
});
