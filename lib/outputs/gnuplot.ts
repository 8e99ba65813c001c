/**
 * A gnuplot script for the graph data, and rendering it with the real gnuplot
 * so that the picture appears whole or not at all.
 *
 * @module
 */

import { type BytesOutput, CommandError } from "../host/run.ts";
import { replaceFile } from "../host/files.ts";
import { EX, fileError, NetmonError, UsageError } from "../host/errors.ts";
import { type By, TIMEFMT } from "../usage/buckets.ts";

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

/** What the script plots. */
export interface PlotSpec {
  /** The data file, or the data itself (written into the script). */
  data: { path: string } | { inline: string };
  /** Number of data columns after the date. */
  series: number;
  /** Number of data rows: with none, the picture says there is no data yet. */
  rows: number;
  /** How rows were made (for the time format and the labels). */
  by: By;
  /** What a value is, e.g. `MB` or `Mbit/s`. */
  unit: string;
  /** Whether values are average rates rather than totals. */
  rate: boolean;
  /** Where the picture goes; without one the script writes FILE.png beside itself. */
  picture: Picture;
}

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

/** The gnuplot script for `spec`. */
export function gnuplotScript(spec: PlotSpec): string {
  const terminal = spec.picture.kind === "png" ? "pngcairo" : "svg";
  const yLabel = spec.rate ? `${spec.unit}, average ${PER[spec.by]}` : `${spec.unit} ${PER[spec.by]}`;
  const lines = [
    "# netmon traffic graph, written by graph.ts: run it with gnuplot",
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
    "set grid",
    "set key outside right top",
    "set title 'netmon: network usage'",
  ];
  if (spec.rows === 0) {
    // An empty log (a fresh install): a picture that says so, not an error from cron every run.
    lines.push("unset xdata", "set xrange [0:1]", "set yrange [0:1]", "set format x ''");
    lines.push("set label 1 'no data yet' at graph 0.5, graph 0.5 center", "plot NaN notitle");
    return lines.join("\n") + "\n";
  }
  let source: string;
  if ("path" in spec.data) source = gnuplotString(spec.data.path, "-o");
  else {
    lines.push("$netmon << EOD", spec.data.inline.replace(/\n$/, ""), "EOD");
    source = "$netmon";
  }
  lines.push(
    `plot for [i=2:${spec.series + 1}] ${source} using 1:i with linespoints pointsize 0.5 title columnheader(i)`,
  );
  return lines.join("\n") + "\n";
}

/** Runs gnuplot with a script on its standard input; resolves to what it wrote on stdout and stderr. */
export type BytesRunner = (path: string, args: readonly string[], stdin: string) => Promise<BytesOutput>;

/**
 * Renders `script` (which sets no output: gnuplot writes the picture to its
 * standard output) with gnuplot at `gnuplot`, and writes the picture to
 * `final` through the one atomic module: gnuplot, a child Deno's permissions
 * do not confine, never opens a file by name, so nothing planted at any name
 * can be followed, and a web page never sees half a picture.
 */
export async function render(run: BytesRunner, gnuplot: string, script: string, final: string): Promise<void> {
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
  replaceFile(final, picture, GRAPH_MODE, "picture", { named: true });
}

/** Mode of graph outputs, meant for a web server to read whatever the umask. */
export const GRAPH_MODE = 0o644;
