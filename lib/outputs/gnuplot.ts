/**
 * A gnuplot script for the graph data, and rendering it with the real gnuplot
 * so that the picture appears whole or not at all.
 *
 * The data is always in the script ({@linkcode SCRIPT_HEAD}), never a file
 * gnuplot opens by name: graph.ts runs as root, and the directory the data
 * file goes into may be another user's, who could put a link to a file only
 * root may read (or a FIFO) in its place once it is there.
 *
 * @module
 */

import { type BytesOutput, CommandError } from "../host/run.ts";
import { AtomicFile, removeIfPresent, replaceNamedFile, tempBeside, writeAll } from "../host/files.ts";
import { EX, fileError, isDenoRefusal, NetmonError, UsageError } from "../host/errors.ts";
import { lstatOrUndefined } from "../host/safe_open.ts";
import { type By, type ResetMark, TIMEFMT, unitName } from "../usage/buckets.ts";

/** A picture to render. */
export interface Picture {
  /** Where gnuplot writes it; without, to its standard output. */
  path?: string;
  /** PNG or SVG. */
  kind: "png" | "svg";
  /** Size in pixels. */
  width: number;
  height: number;
}

/** What the script plots (the data itself comes before it: {@linkcode SCRIPT_HEAD}). */
export interface PlotSpec {
  /** Number of data columns after the date. */
  series: number;
  /** Number of data rows: with none, the picture says there is no data yet. */
  rows: number;
  /** How rows were made (for the time format and the labels). */
  by: By;
  /** What a value is, as `--unit` or `--rate` says it, e.g. `MB` or `Mbit/s` (the axis names it truly: MiB). */
  unit: string;
  /** Whether values are average rates rather than totals. */
  rate: boolean;
  /** Where the picture goes; without one the script writes FILE.png beside itself. */
  picture: Picture;
  /** What the rows span and hold (needed when there are rows). */
  extent?: Extent;
  /** The picture's title (default `netmon: network usage`). */
  title?: string;
  /** A log scale on the y axis. */
  log?: boolean;
  /** The series reset in each row (lib/usage/buckets.ts): marked on the picture. */
  resets?: readonly ResetMark[];
}

/** What the data rows span and hold, gathered as they are written. */
export interface Extent {
  /** Date text of the first and of the last row. */
  first: string;
  last: string;
  /** Stamps of the first and last sample, for buckets: a bucket they do not cover whole is incomplete. */
  firstSample?: string;
  lastSample?: string;
  /** The last row's values, per series. */
  lastRow: number[];
  /** The smallest value above zero (Infinity if none) and the largest, over every series. */
  minPositive: number;
  max: number;
  /**
   * A series' steps next to a gap (an empty field), which gnuplot does not draw (a step goes from one point to the
   * next): a bucket's before a gap, drawn over the bucket; an entry's after one, drawn over its interval.
   */
  runEnds?: readonly GapStep[];
  runStarts?: readonly GapStep[];
}

/** A series' step next to a gap in it. */
export interface GapStep {
  /** Date text of the rows it is between. */
  from: string;
  to: string;
  /** The series (0 for the first column after the date). */
  series: number;
  /** The value it shows. */
  value: number;
}

/** Where resets are marked: open circles in the series' colour, over the step of the row they are in. */
const RESET_POINT = "pt 6 ps 1.5 lw 2";
/** The key's words for the reset mark. */
export const RESET_KEY = "reset (before: unknown)";

/**
 * Okabe & Ito's colour-blind-safe palette (the one netmon's SVG charts use);
 * series past it repeat the colours with dashes.
 */
export const GNUPLOT_PALETTE: readonly string[] = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#CC79A7",
  "#56B4E9",
  "#D55E00",
  "#000000",
  "#F0E442",
];

/** The picture kind a path's extension asks for. */
export function pictureKind(path: string): "png" | "svg" {
  const ext = path.toLowerCase().match(/\.(png|svg)$/)?.[1];
  if (ext !== "png" && ext !== "svg") throw new UsageError(`--plot ${path}: the file must end in .png or .svg`);
  return ext;
}

/**
 * `text` as a gnuplot single-quoted string: nothing in it is interpreted (no
 * backquote command substitution, no escapes), a quote is doubled. Control
 * characters cannot be written safely and are refused.
 */
export function gnuplotString(text: string, what: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(text)) {
    throw new UsageError(`${what} ${JSON.stringify(text)} has a control character and cannot go into a gnuplot script`);
  }
  return `'${text.replaceAll("'", "''")}'`;
}

const X_FORMAT: Readonly<Record<By, string>> = {
  entry: "%m/%d %H:%M",
  hour: "%m/%d %H:%M",
  day: "%Y/%m/%d",
  week: "%Y/%m/%d",
  month: "%Y/%m",
};

const PER: Readonly<Record<By, string>> = {
  entry: "per log entry",
  hour: "per hour",
  day: "per day",
  week: "per week",
  month: "per month",
};

/** Naive milliseconds (wall-clock fields read as UTC) of a row's date text or a log stamp. */
export function naiveOf(text: string): number {
  const m = /^(\d{4})\/(\d\d)(?:\/(\d\d)(?:-(\d\d):(\d\d)(?::(\d\d))?)?)?$/.exec(text);
  if (!m) throw new RangeError(`Cannot read the date ${JSON.stringify(text)}`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +(m[3] ?? 1), +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
}

/** The end (naive ms) of the bucket starting at naive `start`. */
export function bucketEnd(start: number, by: By): number {
  const d = new Date(start);
  switch (by) {
    case "entry":
      return start;
    case "hour":
      return start + 3_600_000;
    case "day":
      return start + 86_400_000;
    case "week":
      return start + 7 * 86_400_000;
    case "month":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
}

const p2 = (n: number) => String(n).padStart(2, "0");

/** Naive ms in a strftime-like format (only %Y %m %d %H %M %S). */
function strf(naive: number, format: string): string {
  const d = new Date(naive);
  const f: Record<string, string> = {
    Y: String(d.getUTCFullYear()),
    m: p2(d.getUTCMonth() + 1),
    d: p2(d.getUTCDate()),
    H: p2(d.getUTCHours()),
    M: p2(d.getUTCMinutes()),
    S: p2(d.getUTCSeconds()),
  };
  return format.replace(/%([YmdHMS])/g, (_, c: string) => f[c] as string);
}

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Tick steps: fixed lengths, or months. */
const STEPS: { ms?: number; months?: number; format: string }[] = [
  ...[1, 2, 5, 10, 15, 30].map((n) => ({ ms: n * SEC, format: "%H:%M:%S" })),
  ...[1, 2, 5, 10, 15, 30].map((n) => ({ ms: n * MIN, format: "%m/%d %H:%M" })),
  ...[1, 2, 3, 6, 12].map((n) => ({ ms: n * HOUR, format: "%m/%d %H:%M" })),
  ...[1, 2, 7, 14].map((n) => ({ ms: n * DAY, format: "%Y/%m/%d" })),
  ...[1, 2, 3, 6].map((n) => ({ months: n, format: "%Y/%m" })),
  ...[12, 24, 60, 120, 240].map((n) => ({ months: n, format: "%Y" })),
];

/**
 * Ticks for the span `start`..`end` (naive ms), at most `most` of them, at
 * round times, each label distinct (the step is never finer than what the
 * label shows).
 */
export function timeTicks(start: number, end: number, most: number): { at: number; label: string }[] {
  for (const step of STEPS) {
    const ticks: number[] = [];
    if (step.ms !== undefined) {
      // Weeks start on Monday: the naive epoch, 1970-01-01, was a Thursday.
      const offset = step.ms === 7 * DAY || step.ms === 14 * DAY ? 4 * DAY : 0;
      for (let t = Math.ceil((start - offset) / step.ms) * step.ms + offset; t <= end; t += step.ms) {
        ticks.push(t);
        if (ticks.length > most) break;
      }
    } else {
      const months = step.months as number;
      const s = new Date(start);
      let m = s.getUTCFullYear() * 12 + s.getUTCMonth();
      if (Date.UTC(Math.floor(m / 12), m % 12, 1) < start) m++;
      m = Math.ceil(m / months) * months;
      for (let t = Date.UTC(Math.floor(m / 12), m % 12, 1); t <= end; t = Date.UTC(Math.floor(m / 12), m % 12, 1)) {
        ticks.push(t);
        if (ticks.length > most) break;
        m += months;
      }
    }
    if (ticks.length <= most) return ticks.map((at) => ({ at, label: strf(at, step.format) }));
  }
  return [{ at: start, label: strf(start, "%Y") }];
}

/**
 * What the values are, as the y axis says it: `MiB per day`, `Mbit/s, average per hour`.
 *
 * @example
 * ```ts
 * valueLabel({ by: "day", unit: "MB", rate: false }); // "MiB per day"
 * ```
 */
export function valueLabel(spec: Pick<PlotSpec, "by" | "unit" | "rate">): string {
  // The values are 1024-based where the option says KB, MB...: named truly (MiB).
  const unit = unitName(spec.unit);
  return spec.rate ? `${unit}, average ${PER[spec.by]}` : `${unit} ${PER[spec.by]}`;
}

/**
 * The start of every script: the data follows it as it is written (its lines, header first, each ending in LF),
 * then {@linkcode gnuplotScript}. The data comes first, as a datablock, so that it can be written as it is made,
 * before what the script says about it is known.
 */
export const SCRIPT_HEAD = "# netmon traffic graph, written by graph.ts: run it with gnuplot\n$netmon << EOD\n";

/** The gnuplot script for `spec`, after {@linkcode SCRIPT_HEAD} and the data: the datablock's end, then the plot. */
export function gnuplotScript(spec: PlotSpec): string {
  const terminal = spec.picture.kind === "png" ? "pngcairo" : "svg";
  const yLabel = valueLabel(spec);
  const lines = [
    "EOD",
    `set terminal ${terminal} size ${spec.picture.width},${spec.picture.height} noenhanced`,
    ...(spec.picture.path === undefined ? [] : [`set output ${gnuplotString(spec.picture.path, "--plot")}`]),
    "set datafile separator tab",
    "set xdata time",
    `set timefmt '${TIMEFMT[spec.by]}'`,
    `set format x '${X_FORMAT[spec.by]}'`,
    "set xtics rotate by -30",
    `set xlabel '${spec.by === "entry" || spec.by === "hour" ? "Time" : "Date"}'`,
    `set ylabel '${yLabel}'`,
    "set yrange [0:*]",
    // Room above the highest step, so that it does not run along the frame.
    "set offsets 0, 0, graph 0.05, 0",
    "set grid",
    "set key outside right top",
    `set title ${gnuplotString(spec.title ?? "netmon: network usage", "--title")}`,
  ];
  if (spec.rows === 0) {
    // An empty log (a fresh install): a picture that says so, not an error from cron every run.
    lines.push("unset xdata", "set xrange [0:1]", "set yrange [0:1]", "set format x ''");
    lines.push("set label 1 'no data yet' at graph 0.5, graph 0.5 center", "plot NaN notitle");
    return lines.join("\n") + "\n";
  }
  // Colour-blind-safe colours; past the palette, the colours again with dashes.
  for (let s = 0; s < spec.series; s++) {
    const colour = GNUPLOT_PALETTE[s % GNUPLOT_PALETTE.length];
    lines.push(`set style line ${s + 1} lc rgb '${colour}' lw 2 dt ${Math.floor(s / GNUPLOT_PALETTE.length) % 5 + 1}`);
  }
  const ext = spec.extent;
  // An empty field (a series not metered in that bucket) is NaN, so that the line stops there: gnuplot would
  // otherwise skip the row and draw the step before it on across the gap, as if it were known.
  let y = "(valid(i) ? column(i) : NaN)";
  /** A value's height: a zero on the floor of a log scale. */
  let height = (v: number) => String(v);
  if (spec.log) {
    // Zero has no place on a log scale: it is drawn on the axis's floor, below every value.
    const floor = Number.isFinite(ext?.minPositive) ? 10 ** Math.floor(Math.log10(ext?.minPositive as number)) : 1;
    const top = (ext?.max ?? 0) > floor ? "*" : String(floor * 10);
    lines.push("set logscale y 10", `set yrange [${floor}:${top}]`);
    y = `(valid(i) ? (column(i) > 0 ? column(i) : ${floor}) : NaN)`;
    height = (v: number) => String(v > 0 ? v : floor);
  }
  const marks: string[] = [];
  if (ext !== undefined) {
    // Positions in seconds, as gnuplot keeps times (its times are wall-clock, as the rows' dates).
    const at = (naive: number) => String(naive / 1000);
    let start = naiveOf(ext.first);
    const lastStart = naiveOf(ext.last);
    let end = spec.by === "entry" ? lastStart : bucketEnd(lastStart, spec.by);
    if (end === start) [start, end] = [start - 30 * SEC, end + 30 * SEC]; // one log entry: a minute around it
    // The axis spans exactly the data: no padding, no autoscaling to round dates.
    lines.push(`set xrange [${at(start)}:${at(end)}]`);
    const ticks = timeTicks(start, end, Math.max(2, Math.floor(spec.picture.width / 100)));
    lines.push(`set xtics rotate by -30 (${ticks.map((t) => `'${t.label}' ${at(t.at)}`).join(", ")})`);
    if (spec.by !== "entry") {
      // Buckets the samples do not cover whole (the current day, the first day of the log) are marked incomplete.
      const partial: [number, number][] = [];
      const firstSample = ext.firstSample === undefined ? undefined : naiveOf(ext.firstSample);
      const lastSample = ext.lastSample === undefined ? undefined : naiveOf(ext.lastSample);
      if (firstSample !== undefined && firstSample > start) partial.push([start, bucketEnd(start, spec.by)]);
      if (lastSample !== undefined && lastSample < end && !(partial.length > 0 && lastStart === start)) {
        partial.push([lastStart, end]);
      }
      partial.forEach(([a, b], k) => {
        // The label stays inside the plot: from the start of the first bucket, and up to the end of the last one
        // (written from its start, a narrow last bucket's label ran out of the frame into the key).
        const last = a === lastStart && b === end;
        const place = last ? `${at(b)}, graph 1 right offset -0.3,-0.8` : `${at(a)}, graph 1 left offset 0.3,-0.8`;
        lines.push(
          `set object ${k + 1} rect from ${at(a)}, graph 0 to ${
            at(b)
          }, graph 1 behind fc rgb '#bbbbbb' fs transparent pattern 4 noborder`,
          `set label ${k + 2} 'incomplete' at ${place} tc rgb '#444444'`,
        );
      });
      if (partial.length > 0) {
        lines.push(
          `set xlabel '${
            spec.by === "hour" ? "Time" : "Date"
          } (hatched: incomplete ${spec.by}, not over or not fully sampled)'`,
        );
      }
    }
    // Steps gnuplot does not draw, drawn here: a bucket's before a gap, and the last bucket's, on to its end (a step
    // goes from one point to the next, and there is none); an entry's after a gap (one goes from the point before).
    const steps: { from: number; to: number; series: number; value: number }[] = spec.by === "entry"
      ? (ext.runStarts ?? []).map((r) => ({ ...r, from: naiveOf(r.from), to: naiveOf(r.to) }))
      : [
        ...(ext.runEnds ?? []).map((r) => ({ ...r, from: naiveOf(r.from), to: naiveOf(r.to) })),
        ...ext.lastRow.map((value, series) => ({ from: lastStart, to: end, series, value })),
      ];
    let arrow = 0;
    for (const { from, to, series, value } of steps) {
      if (Number.isNaN(value)) continue;
      lines.push(
        `set arrow ${++arrow} from ${at(from)}, ${height(value)} to ${at(to)}, ${height(value)} nohead ls ${
          series + 1
        } front`,
      );
    }
    // A reset: a circle on the step of its row, in the series' colour: at a bucket's middle, at an entry's time.
    for (const r of spec.resets ?? []) {
      const start = naiveOf(r.date);
      const colour = parseInt((GNUPLOT_PALETTE[r.series % GNUPLOT_PALETTE.length] as string).slice(1), 16);
      marks.push(`${at((start + bucketEnd(start, spec.by)) / 2)}\t${height(Number(r.value))}\t${colour}`);
    }
  }
  // A total per period is a step over the period, not a line between points:
  // a bucket's row is its start, an entry's row is the end of its interval.
  const style = spec.by === "entry" ? "fsteps" : "steps";
  let plot = `plot for [i=2:${spec.series + 1}] $netmon using 1:${y} with ${style} ls (i-1) title columnheader(i)`;
  if (marks.length > 0) {
    // Positions in seconds (the ($1) reads them as numbers, not by the time format); the key's circle in black.
    lines.push("$netmon_resets << EOD", ...marks, "EOD");
    plot += `, $netmon_resets using ($1):2:3 with points ${RESET_POINT} lc rgb variable notitle`;
    plot += `, NaN with points ${RESET_POINT} lc rgb '#000000' title '${RESET_KEY}'`;
  }
  lines.push(plot);
  return lines.join("\n") + "\n";
}

/** Runs gnuplot with a script on its standard input; resolves to what it wrote on stdout and stderr. */
export type BytesRunner = (
  path: string,
  args: readonly string[],
  stdin: string | Iterable<Uint8Array>,
) => Promise<BytesOutput>;

/**
 * Where the picture's own temporary file goes, as AtomicFile.named (lib/host/files.ts) decides: beside `picture`,
 * or beside the target of a link of this user's or root's there (the target is replaced); undefined when the picture
 * is written in place (a device, FIFO or terminal). What AtomicFile refuses (another user's link, a directory, a link
 * it cannot follow) it refuses once the picture is drawn: meanwhile the spool goes beside the name as given.
 */
function spoolBeside(picture: string): string | undefined {
  try {
    const s = lstatOrUndefined(picture);
    const { target, stat } = s?.isSymlink ? AtomicFile.followNamed(picture, s) : { target: picture, stat: s };
    return stat && !stat.isFile && !stat.isSymlink && !stat.isDirectory ? undefined : target;
  } catch {
    return picture;
  }
}

/**
 * gnuplot's standard input, the data in it, kept out of memory: {@linkcode SCRIPT_HEAD} and the data are written,
 * as they are made, to a file created exclusively (0600) where the picture's own temporary file goes (see
 * {@linkcode spoolBeside}), or, for a picture written in place (a device, FIFO or terminal), in a directory of its
 * own (0700) in the temporary directory ($TMPDIR, else /tmp), and unlinked at once, then read back through the
 * descriptor, never by name: memory stays flat whatever the data's size, and a link or FIFO put at its name changes
 * nothing.
 */
export class GnuplotInput {
  readonly #file: Deno.FsFile;
  /** The picture, which messages name (the user knows it, not the temporary name). */
  readonly #picture: string;

  constructor(picture: string) {
    this.#picture = picture;
    const beside = spoolBeside(picture);
    let dir: string | undefined;
    if (beside === undefined) {
      try {
        dir = Deno.makeTempDirSync({ prefix: "netmon-gnuplot-" });
      } catch (e) {
        if (!isDenoRefusal(e)) throw fileError(e, "create gnuplot's input in the temporary directory for", picture);
        throw new NetmonError(
          `Deno denied write access to the temporary directory ($TMPDIR, else /tmp), where gnuplot's input goes ` +
            `while ${picture} (a device, FIFO or terminal, written in place) is drawn: run it with ` +
            "--allow-write=that directory (or a permission set from deno.json)",
          EX.NOPERM,
          { cause: e },
        );
      }
    }
    // In a directory of its own no other user can write, or beside the picture's target under a random name.
    const spool = dir === undefined ? tempBeside(beside as string) : `${dir}/input`;
    try {
      // O_CREAT|O_EXCL: never an existing file, link or FIFO.
      this.#file = Deno.openSync(spool, { read: true, write: true, createNew: true, mode: 0o600 });
    } catch (e) {
      if (dir === undefined) throw fileError(e, "create gnuplot's input beside", beside as string);
      removeIfPresent(dir);
      throw fileError(e, "create gnuplot's input in", dir);
    }
    try {
      // Gone from its name already (another user who can write the directory): nothing to remove.
      removeIfPresent(spool);
      if (dir !== undefined) removeIfPresent(dir);
      this.write(SCRIPT_HEAD);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Appends `text` (the data, as it is made). */
  write(text: string): void {
    try {
      writeAll(this.#file, encoder.encode(text));
    } catch (e) {
      throw fileError(e, "write gnuplot's input for", this.#picture);
    }
  }

  /** The whole input, `tail` (the script after the data) appended, to be read back in chunks as gnuplot takes them. */
  script(tail: string): Iterable<Uint8Array> {
    this.write(tail);
    try {
      this.#file.seekSync(0, Deno.SeekMode.Start);
    } catch (e) {
      throw fileError(e, "read gnuplot's input for", this.#picture);
    }
    const file = this.#file;
    const picture = this.#picture;
    return (function* () {
      for (;;) {
        const chunk = new Uint8Array(1 << 16);
        let n: number | null;
        try {
          n = file.readSync(chunk);
        } catch (e) {
          // Stops gnuplot (lib/host/run.ts), and is the run's error, not gnuplot's.
          throw fileError(e, "read gnuplot's input for", picture);
        }
        if (n === null) return;
        yield chunk.subarray(0, n);
      }
    })();
  }

  /** Closes the descriptor (again is harmless): the file, unlinked, goes with it. */
  close(): void {
    try {
      this.#file.close();
    } catch { /* closed */ }
  }
}

const encoder = new TextEncoder();

/**
 * Renders `script` (which sets no output: gnuplot writes the picture to its
 * standard output, and has its data in it) with gnuplot at `gnuplot`, and
 * writes the picture to `final` through the one atomic module: gnuplot, a
 * child Deno's permissions do not confine, never opens a file by name, so
 * nothing planted at any name can be followed, and a web page never sees
 * half a picture.
 */
export async function render(
  run: BytesRunner,
  gnuplot: string,
  script: string | Iterable<Uint8Array>,
  final: string,
): Promise<void> {
  let picture: Uint8Array;
  try {
    const { stdout, stderr } = await run(gnuplot, [], script);
    const said = stderr.split("\n").find((l) => /error|warning/i.test(l));
    if (stdout.length === 0) {
      throw new NetmonError(`gnuplot wrote an empty picture${said ? `: ${said.trim()}` : ""}`, EX.SOFTWARE);
    }
    picture = stdout;
  } catch (err) {
    if (err instanceof CommandError) {
      const said = err.stderr.split("\n").map((l) => l.trim()).filter((l) => !/^\^?$/.test(l)).slice(-2).join(" / ");
      throw new NetmonError(`gnuplot failed (exit ${err.code}): ${said}`, EX.SOFTWARE);
    }
    if (err instanceof NetmonError) throw err;
    throw fileError(err, "render", final);
  }
  await replaceNamedFile(final, picture, GRAPH_MODE, "picture");
}

/** Mode of graph outputs, meant for a web server to read whatever the umask. */
export const GRAPH_MODE = 0o644;
