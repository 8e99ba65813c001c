#!/usr/bin/env -S deno run -q -P=graph --v8-flags=--max-semi-space-size=2
/**
 * graph.ts: netmon's cumulative log as usage per day (or per entry, hour,
 * week, month) for gnuplot, and the picture through gnuplot.
 *
 * V8's young generation is capped at 2 MiB (`--v8-flags`, in the shebang and
 * the `graph` task): left to grow, it takes peak memory up with the log's
 * length although nothing the program keeps does.
 *
 * @module
 */

import { parseCommandArgs } from "./lib/cli/args.ts";
import { GRAPH_DATA, GRAPH_OPTIONS, graphWrites } from "./lib/cli/graph_options.ts";
import { parseDate } from "./lib/cli/dates.ts";
import { err, findConfig, findStateDir, out, reportFailure } from "./lib/cli/context.ts";
import { AtomicFile } from "./lib/host/files.ts";
import { runForBytes } from "./lib/host/run.ts";
import { lstatOrUndefined, SafeFile } from "./lib/host/safe_open.ts";
import { namesBinary, refuseFound } from "./lib/config/trust.ts";
import { type Checked, CONFIG_FILE, PROGRAM } from "./lib/host/dir_trust.ts";
import { getUid } from "./lib/host/env.ts";
import { type Config, defaultConfig } from "./lib/config/config.ts";
import { EX, fileError, NetmonError, UsageError } from "./lib/host/errors.ts";
import {
  type Extent,
  type GapStep,
  GnuplotInput,
  gnuplotScript,
  gnuplotString,
  GRAPH_MODE,
  pictureKind,
  type PlotSpec,
  render,
  SCRIPT_HEAD,
  valueLabel,
} from "./lib/outputs/gnuplot.ts";
import { type By, graphLog, type GraphOptions, type Group, RATES, type ResetMark, UNITS } from "./lib/usage/buckets.ts";
import { stateDirChecked, stateFiles } from "./lib/state/files.ts";
import type { Task } from "./lib/config/permissions.ts";
import { CustomerMatchError } from "./lib/config/customers.ts";
import { allColumns } from "./lib/config/meters.ts";
import { pageFiles, type PagePicture } from "./lib/outputs/page.ts";
import { buildPageData } from "./lib/outputs/page_data.ts";
import { pageDirectory, writePages } from "./lib/outputs/page_write.ts";
import { logColumns, LogReader, samplesOfFile } from "./lib/usage/log_samples.ts";
import { logZone } from "./lib/state/zone_record.ts";

const VERSION = "0.1.0";

const HELP = `Usage: graph.ts [OPTIONS] [LOG]

Turns netmon's cumulative log into usage per day (or per entry, hour, week or
month) as tab-separated data for gnuplot, and can draw the graph with gnuplot.

  LOG                     the log (default: netmon.log in the state directory)
  -o, --output FILE       where the data goes (default ./netmon_graph.dat, as the
                          original; - for standard output); replaced atomically
  -b, --by WHEN           day (the default), hour, week (Monday to Sunday), month,
                          or entry (one row per log line, as the original script)
  -u, --unit UNIT         B, KiB, MiB (the default), GiB or TiB: 1024-based, two
                          decimals; KB, MB, GB, TB (the original's) are the same
  -r, --rate UNIT         average rate over each bucket instead of its total: bit/s,
                          kbit/s, Mbit/s, Gbit/s (1000-based), B/s, KiB/s, MiB/s,
                          GiB/day, GiB/month or TiB/month (1024-based; KB/s and the
                          like are the same; a month is 30 days)
  -g, --group NAME=METER,METER
                          one column NAME summing those meters (repeatable), as a
                          customer roll-up; meters in no group are summed into a
                          column 'other'. A METER is a log column or a meter whose
                          columns it split (acme: acme-inbound, acme-outbound);
                          one matching nothing in the log is an error
      --customers         one column per [[customer]] of the config, as --group
      --no-other          with --group or --customers, leave meters in none out
      --gnuplot FILE      also write a gnuplot script that draws the data into
                          the --plot picture (default: FILE with .png)
  -p, --plot FILE         draw the graph with gnuplot into FILE (.png or .svg),
                          written to a temporary file and renamed into place
      --size WxH          picture size in pixels (default 1024x480)
      --title TEXT        the picture's title (default 'netmon: network usage')
      --log               a log scale for the values, so that small series show
      --from DATE         only rows from DATE on: YYYY-MM-DD or 'YYYY-MM-DD HH:MM',
                          local time, as the log's stamps (not [billing] timezone);
                          a bucket is kept when it starts at or after it
      --to DATE           only rows before DATE (exclusive), same syntax
      --html DIR          write the usage pages into DIR (made 0755 if missing):
                          index.html, an overview of every customer's billing
                          cycle so far, and per customer a page and its cycles
                          as CSV; customers from the config's [[customer]] (else
                          each log column), cycles from [billing]; --title and
                          --log apply, other options only to the data and plot
                          (written too only when -o, --plot or --gnuplot is given,
                          before the pages); the overview shows the --plot picture
                          when it is in DIR
      --strict            a malformed log line is an error (exit 65) instead of a
                          warning naming file:line
  -c, --config FILE       netmon's config, for its state_dir and binaries.gnuplot
  -s, --state-dir DIR     where netmon.log is (env NETMON_STATE_DIR)
  -h, --help              this help
  -V, --version           print the version

How a bucket's usage is counted:
  In local time, as the log's stamps are. A bucket's usage is each counter's
  growth from the bucket's start to its end, the counter being read between
  two samples by linear interpolation: usage between samples either side of
  midnight is shared between the two days in proportion to the time on each
  side, and the buckets add up exactly to the counters' total growth, as a
  bill would. A counter that went down was reset (rules reloaded, iptables -Z,
  reboot), as is one a '# netmon reset:' line names: that meter alone counts
  its new value for the interval. The first sample of each meter is its
  starting point: what it had counted before is in no bucket. The hour
  repeated when daylight saving ends is one bucket, two hours long. A stamp
  earlier than the one before (the clock stepped back) puts its usage in the
  bucket open then. The same rules as 'netmon summary' (one engine).
  Gaps: every bucket from the first sample's to the last's has a row; a bucket
  inside a gap in the log gets its share of the usage across the gap, and a
  bucket with no traffic shows 0. A meter not metered in a bucket (not yet
  added, or removed) has an empty field there, not 0, and the picture a gap;
  a bucket where a meter was reset counts what it counted since the reset
  (what it counted before is unknown), and the picture marks it with a
  circle. An hour skipped by daylight saving has no row.
  --by entry: one row per log line. An original two-column log (no meters
  header) gives the original script's output byte for byte, its rules
  included: the first line counts from zero, and when either counter went
  down both count from zero. Other logs count each meter from zero at its
  first line, with resets per meter, and a meter not in a line has an empty
  field there. A meter reset is circled at its line.
  Columns: the original two meters are 'Proxy' and 'Non-Network' as the
  original wrote them, others are their meter names, in order of first
  appearance (a log whose meters changed has every meter it ever had).

Exit status: 0 ok, 64 usage, 65 bad log line with --strict, 66 no log, 69 gnuplot
missing, 70 gnuplot failed, 73/74 cannot write, 77 permission, 78 bad config.`;

const BY: readonly By[] = ["entry", "hour", "day", "week", "month"];

/** What the command line asks for. */
export interface GraphArgs {
  log?: string;
  output: string;
  options: Omit<GraphOptions, "warn">;
  gnuplot?: string;
  plot?: string;
  /** Directory for the usage pages. */
  html?: string;
  /** What it writes besides the pages ({@linkcode graphWrites}, "-" standard output): none, no data drawn. */
  writes: string[];
  width: number;
  height: number;
  title?: string;
  logScale: boolean;
  /** --customers: the config's customers as columns. */
  customers?: boolean;
  config?: string;
  stateDir?: string;
  help: boolean;
  version: boolean;
}

function oneOf(flag: string, value: string, allowed: readonly string[]): string {
  const found = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw new UsageError(`--${flag} ${value}: must be one of ${allowed.join(", ")}`);
  return found;
}

function parseGroups(specs: string[]): Group[] {
  const groups: Group[] = [];
  const owner = new Map<string, string>();
  for (const spec of specs) {
    const m = /^([^=,\s]+)=([^=\s]+)$/.exec(spec);
    const meters = m?.[2]?.split(",") ?? [];
    if (!m || meters.some((x) => x === "")) {
      throw new UsageError(`--group ${spec}: write it as NAME=METER,METER (e.g. acme=acme-in,acme-out)`);
    }
    const name = m[1] as string;
    if (name === "Date" || name === "other" || groups.some((g) => g.name === name)) {
      throw new UsageError(`--group ${spec}: the column name ${name} is already taken`);
    }
    for (const meter of meters) {
      const before = owner.get(meter);
      if (before !== undefined) throw new UsageError(`--group ${spec}: meter ${meter} is already in group ${before}`);
      owner.set(meter, name);
    }
    groups.push({ name, meters });
  }
  return groups;
}

/** Parses graph.ts's command line; throws UsageError on any mistake. */
export function parseGraphArgs(args: string[]): GraphArgs {
  const { values, positionals } = parseCommandArgs(args, GRAPH_OPTIONS);
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  const str = (name: string) => {
    const v = values[name];
    if (typeof v !== "string") return undefined;
    if (v === "") throw new UsageError(`--${name} needs a value`);
    return v;
  };
  const rate = str("rate");
  const unit = str("unit");
  if (rate !== undefined && unit !== undefined) throw new UsageError("--rate and --unit cannot be used together");
  const size = str("size") ?? "1024x480";
  const sm = /^(\d{2,5})x(\d{2,5})$/.exec(size);
  if (
    !sm || +(sm[1] as string) < 16 || +(sm[2] as string) < 16 || +(sm[1] as string) > 10000 ||
    +(sm[2] as string) > 10000
  ) {
    throw new UsageError(`--size ${size}: write it as WIDTHxHEIGHT in pixels, from 16 to 10000 (e.g. 1024x480)`);
  }
  const parsed: GraphArgs = {
    output: str("output") ?? GRAPH_DATA,
    writes: graphWrites(values),
    options: {
      by: oneOf("by", str("by") ?? "day", BY) as By,
      unit: oneOf("unit", unit ?? "MB", Object.keys(UNITS)),
      rate: rate === undefined ? undefined : oneOf("rate", rate, Object.keys(RATES)),
      groups: parseGroups(Array.isArray(values.group) ? values.group : []),
      other: values["no-other"] !== true,
      strict: values.strict === true,
    },
    width: +(sm[1] as string),
    height: +(sm[2] as string),
    logScale: values.log === true,
    help: values.help === true,
    version: values.version === true,
  };
  const from = str("from");
  const to = str("to");
  if (from !== undefined) parsed.options.from = parseDate("from", from);
  if (to !== undefined) parsed.options.to = parseDate("to", to);
  if (from !== undefined && to !== undefined && (parsed.options.from as number) >= (parsed.options.to as number)) {
    throw new UsageError(`--from ${from} is not before --to ${to}`);
  }
  const title = str("title");
  if (title !== undefined) {
    gnuplotString(title, "--title");
    parsed.title = title;
  }
  if (parsed.options.rate !== undefined && parsed.options.by === "entry") {
    throw new UsageError("--rate needs time buckets: use --by hour, day, week or month");
  }
  if (values.customers === true) {
    if (parsed.options.groups.length > 0) throw new UsageError("--customers and --group cannot be used together");
    parsed.customers = true;
  }
  if (values["no-other"] === true && parsed.options.groups.length === 0 && !parsed.customers) {
    throw new UsageError("--no-other only applies with --group or --customers");
  }
  const log = positionals[0];
  const gnuplot = str("gnuplot");
  const plot = str("plot");
  const config = str("config");
  const stateDir = str("state-dir");
  if (log !== undefined) parsed.log = log;
  if (gnuplot !== undefined) parsed.gnuplot = gnuplot;
  if (plot !== undefined) parsed.plot = plot;
  const html = str("html");
  if (html !== undefined) parsed.html = html;
  if (config !== undefined) parsed.config = config;
  if (stateDir !== undefined) parsed.stateDir = stateDir;
  if (parsed.plot !== undefined) pictureKind(parsed.plot);
  return parsed;
}

/** The span and values of the data rows, gathered from the text as it is written. */
class RowExtent {
  firstSample?: string;
  lastSample?: string;
  #first?: string;
  #last = "";
  #lastRow: number[] = [];
  #minPositive = Infinity;
  #max = 0;
  #header = true;
  #rest = "";
  readonly #runEnds: GapStep[] = [];
  readonly #runStarts: GapStep[] = [];

  add(text: string): void {
    const lines = (this.#rest + text).split("\n");
    this.#rest = lines.pop() as string;
    for (const line of lines) {
      if (this.#header) {
        this.#header = false;
        continue;
      }
      const fields = line.split("\t");
      const date = fields[0] as string;
      // An empty field is a gap (the series not metered in that bucket): NaN, which gnuplot leaves undrawn.
      const values = fields.slice(1).map((f) => (f === "" ? NaN : Number(f)));
      if (this.#first !== undefined) {
        // A step next to a gap, which gnuplot does not draw (a step goes from one point to the next): a bucket's
        // before it, an entry's after it.
        values.forEach((v, s) => {
          const before = this.#lastRow[s] as number;
          if (Number.isNaN(v) === Number.isNaN(before)) return;
          if (Number.isNaN(v)) this.#runEnds.push({ from: this.#last, to: date, series: s, value: before });
          else this.#runStarts.push({ from: this.#last, to: date, series: s, value: v });
        });
      }
      this.#first ??= date;
      this.#last = date;
      this.#lastRow = values;
      for (const v of values) {
        if (v > 0 && v < this.#minPositive) this.#minPositive = v;
        if (v > this.#max) this.#max = v;
      }
    }
  }

  extent(): Extent | undefined {
    if (this.#first === undefined) return undefined;
    const e: Extent = {
      first: this.#first,
      last: this.#last,
      lastRow: this.#lastRow,
      minPositive: this.#minPositive,
      max: this.#max,
      runEnds: this.#runEnds,
      runStarts: this.#runStarts,
    };
    if (this.firstSample !== undefined) e.firstSample = this.firstSample;
    if (this.lastSample !== undefined) e.lastSample = this.lastSample;
    return e;
  }
}

function absolute(path: string): string {
  if (path.startsWith("/")) return path;
  try {
    return `${Deno.cwd()}/${path}`;
  } catch {
    return path; // no read access to the working directory: keep it relative
  }
}

/**
 * Opens the log: a regular file (never a FIFO or device, never blocking),
 * through a link only when the user named the log.
 */
function openLog(path: string, named: boolean): SafeFile {
  let file: SafeFile | undefined;
  try {
    file = SafeFile.open(path, { what: "log", follow: named });
  } catch (e) {
    throw fileError(e, "read", path);
  }
  if (!file) throw new NetmonError(`${path}: no such log (run 'netmon report' first, or name the log)`, EX.NOINPUT);
  return file;
}

/**
 * The picture the pages show: `--plot`'s, when it is in the `--html`
 * directory (so that a relative link finds it) and a regular file there.
 */
function pagePicture(a: GraphArgs & { html: string }): PagePicture | undefined {
  if (a.plot === undefined || !inside(a.plot, a.html, true)) return undefined;
  if (lstatOrUndefined(a.plot, "look at the picture")?.isFile !== true) return undefined;
  const lines = a.customers ? "customer" : a.options.groups.length > 0 ? "group" : "meter";
  return {
    file: a.plot.slice(a.plot.lastIndexOf("/") + 1),
    width: a.width,
    height: a.height,
    alt: `Graph "${a.title ?? "netmon: network usage"}": ${
      valueLabel({ by: a.options.by, unit: a.options.rate ?? a.options.unit, rate: a.options.rate !== undefined })
    }, one line per ${lines}`,
  };
}

/** Writes the usage pages into `a.html`; an empty or missing log gives a "no data yet" page. */
async function htmlPages(a: GraphArgs & { html: string }, config: Config): Promise<void> {
  const logPath = a.log ?? stateFiles(findStateDir(a.stateDir, config)).log;
  let log: SafeFile | undefined;
  try {
    log = openLog(logPath, a.log !== undefined);
  } catch (e) {
    if (!(e instanceof NetmonError && e.exitCode === EX.NOINPUT)) throw e;
  }
  let bad = 0;
  const malformed = (where: string, why: string) => {
    if (a.options.strict) throw new NetmonError(`${where}: ${why} (--strict)`, EX.DATAERR);
    if (++bad <= 20) err(`graph: warning: ${where}: ${why}; line skipped\n`);
  };
  try {
    const zone = logZone(logPath, a.log !== undefined);
    // The headers alone first (a fast search): the engines hold buckets back only for a column that comes back.
    const returning = log ? logColumns(log, logPath).returns : undefined;
    log?.seekSync(0, Deno.SeekMode.Start);
    const build = buildPageData({
      // The pages use each sample as it comes: its counters array can be reused.
      samples: log
        ? samplesOfFile(log, logPath, malformed, new LogReader(logPath, malformed, zone, { reuse: true }))
        : [],
      returning,
      zone,
      customers: config.customers,
      columns: allColumns(config.meters),
      billing: config.billing,
      now: Date.now(),
      title: a.title ?? "netmon: network usage",
      log: a.logScale,
      picture: pagePicture(a),
    });
    if (bad > 20) err(`graph: warning: ${logPath}: ${bad - 20} more malformed lines skipped\n`);
    // Customers are the config's, or with none each column (the log's too: a column gone from the config keeps its page).
    const customers = config.customers.length > 0
      ? config.customers.map((c) => c.name)
      : [...allColumns(config.meters).map((c) => c.name), ...build.data.customers.map((c) => c.name)];
    for (const w of await writePages(a.html, pageFiles(build.data), build.csv, customers)) {
      err(`graph: warning: ${w}\n`);
    }
  } catch (e) {
    if (e instanceof CustomerMatchError) throw new NetmonError(e.message, EX.CONFIG);
    throw e;
  } finally {
    log?.close();
  }
}

async function graph(a: GraphArgs): Promise<void> {
  // With --html, the data is written only when asked for.
  const data = a.writes.length > 0;
  let config: Config = defaultConfig();
  if (a.html !== undefined || a.log === undefined || a.plot !== undefined || a.customers) {
    config = await findConfig(a.config);
  }
  const outputs = graphOutputs(a);
  const stateDir = usedStateDir(a, config, outputs);
  // As root, refused before anything is read or written; else checked while the graph is made (stat runs as a
  // child). The warnings are said at the end, whatever the outcome.
  const trust = stateDirTrust(stateDir, config, a.plot !== undefined);
  if (getUid() === 0) await trust;
  try {
    // The picture first, so that the pages show it only once it is there (as the overview is written last); the
    // pages are written even when it fails, then its error is said.
    let failure: { error: unknown } | undefined;
    // Made (0755) before, as before when the pages came first: the picture and data may go into it.
    if (a.html !== undefined) pageDirectory(a.html);
    try {
      if (data) {
        if (a.customers && config.customers.length === 0) {
          throw new NetmonError(
            `${config.file ?? "the default config"}: --customers: the config has no [[customer]]`,
            EX.CONFIG,
          );
        }
        await draw(a, config, a.log ?? stateFiles(stateDir as string).log);
      }
    } catch (e) {
      if (a.html === undefined) throw e;
      failure = { error: e };
    }
    if (a.html !== undefined) await htmlPages({ ...a, html: a.html }, config);
    if (failure !== undefined) throw failure.error;
  } finally {
    for (const w of await trust) err(`graph: warning: ${w}\n`);
  }
}

/** `path` made absolute, without trailing slashes, and its real path where it exists. */
function namesOf(path: string): string[] {
  const given = absolute(path).replace(/\/+$/, "") || "/";
  try {
    return [given, Deno.realPathSync(given)];
  } catch {
    return [given];
  }
}

/**
 * Whether the file `path` is in directory `dir` (or, unless `directly`, below it), by their names as given or their
 * real paths.
 */
function inside(path: string, dir: string, directly = false): boolean {
  const parent = absolute(path).replace(/\/[^/]*$/, "") || "/";
  const dirs = namesOf(dir);
  return namesOf(parent).some((p) =>
    dirs.some((d) => p === d || (!directly && p.startsWith(d === "/" ? "/" : `${d}/`)))
  );
}

/**
 * The state directory graph.ts uses: the one whose log it reads (no LOG
 * named), or, as root, the one it writes an output into (`--state-dir`,
 * `NETMON_STATE_DIR`, the config's `state_dir` when the config is read, else
 * /var/lib/netmon); undefined when neither.
 */
function usedStateDir(a: GraphArgs, config: Config, outputs: readonly string[]): string | undefined {
  if (a.log === undefined) return findStateDir(a.stateDir, config);
  if (getUid() !== 0) return undefined;
  const dir = findStateDir(a.stateDir, config);
  return outputs.some((o) => inside(o, dir)) ? dir : undefined;
}

/**
 * The state directory `dir` checked as a report checks it
 * (lib/host/dir_trust.ts): as root, one another user can write without its
 * sticky bit, or put another in place of, is refused (exit 77, one line with
 * the fix), since graph.ts too writes and renames by name there (usage.dat
 * and usage.png of the nightly graph `schedule` installs, pages); else its
 * warnings. As root the file of `config` (when read) is checked in the
 * same run of `stat`, as a report checks it: it chooses the state directory
 * and the pages' customers; and, when `plotting`, a `[binaries] gnuplot` it
 * names (lib/config/trust.ts), which --plot runs. (Not as another user:
 * that check ends after the graph is made, and loading the config checked
 * its own owner and mode.)
 */
async function stateDirTrust(dir: string | undefined, config: Config, plotting: boolean): Promise<string[]> {
  const checks: [string, Checked][] = dir === undefined ? [] : [[dir, stateDirChecked(getUid())]];
  if (getUid() === 0) {
    if (config.file !== undefined) checks.push([config.file, CONFIG_FILE]);
    if (plotting && namesBinary(config, "gnuplot")) checks.push([config.binaries.gnuplot, PROGRAM]);
  }
  return await refuseFound(checks);
}

/**
 * Writes the data (-o), and with --gnuplot the script, with --plot the picture: the data goes into the script and
 * into gnuplot's input as it is made (lib/outputs/gnuplot.ts), never read again by name, by gnuplot or by netmon,
 * and is never held whole in memory.
 */
async function draw(a: GraphArgs, config: Config, logPath: string): Promise<void> {
  const log = openLog(logPath, a.log !== undefined);
  const toStdout = a.output === "-";
  const plotting = a.plot !== undefined || a.gnuplot !== undefined;
  let data: AtomicFile | undefined;
  let script: AtomicFile | undefined;
  let input: GnuplotInput | undefined;
  const abandon = () => {
    data?.abandon();
    script?.abandon();
    input?.close();
  };
  let series = 0;
  let rows = -1;
  const rowsSeen = new RowExtent();
  const samples = (first: string, last: string) => {
    rowsSeen.firstSample = first;
    rowsSeen.lastSample = last;
  };
  const resets: ResetMark[] = [];
  try {
    if (!toStdout) data = await AtomicFile.named(a.output, GRAPH_MODE);
    if (a.gnuplot !== undefined) {
      script = await AtomicFile.named(a.gnuplot, GRAPH_MODE);
      script.write(SCRIPT_HEAD);
    }
    if (a.plot !== undefined) input = new GnuplotInput(a.plot);
    const customers = a.customers ? { specs: config.customers, file: config.file ?? "config" } : undefined;
    const warn = (m: string) => err(`graph: warning: ${m}\n`);
    const reset = plotting ? (mark: ResetMark) => void resets.push(mark) : undefined;
    const zone = logZone(logPath, a.log !== undefined);
    const options = { ...a.options, customers, meters: config.meters, warn, samples, reset, zone };
    graphLog(log, logPath, options, (text) => {
      if (series === 0) series = text.slice(0, text.indexOf("\n")).split("\t").length - 1;
      if (plotting) {
        for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) rows++;
        rowsSeen.add(text);
      }
      if (data) data.write(text);
      else out(text);
      script?.write(text);
      input?.write(text);
    });
    data?.commit();
    data = undefined;
  } catch (e) {
    abandon();
    throw e;
  } finally {
    log.close();
  }
  if (!plotting) return;
  try {
    const picture = a.plot ?? `${(a.gnuplot as string).replace(/\.gp$/, "")}.png`;
    const kind = pictureKind(picture);
    const spec = (path: string | undefined): PlotSpec => ({
      series,
      rows,
      by: a.options.by,
      unit: a.options.rate ?? a.options.unit,
      rate: a.options.rate !== undefined,
      picture: { ...(path === undefined ? {} : { path }), kind, width: a.width, height: a.height },
      log: a.logScale,
      resets,
      ...(a.title === undefined ? {} : { title: a.title }),
      ...(rowsSeen.extent() === undefined ? {} : { extent: rowsSeen.extent() as Extent }),
    });
    if (script !== undefined) {
      script.write(gnuplotScript(spec(absolute(picture))));
      script.commit();
      script = undefined;
    }
    if (input !== undefined) {
      if (series === 0) throw new NetmonError("nothing to plot: the log has no columns", EX.DATAERR);
      await render(
        runForBytes,
        config.binaries.gnuplot,
        input.script(gnuplotScript(spec(undefined))),
        a.plot as string,
      );
    }
  } finally {
    abandon();
  }
}

/** What a run with `a` does, for the whole line a refusal prints (lib/cli/permission_line.ts): what it reads and writes. */
function graphTask(a: GraphArgs): Task {
  return { command: "graph", graphOutputs: graphOutputs(a), ...(a.log === undefined ? {} : { log: a.log }) };
}

/** The files a run with `a` writes (the overview page first), standard output left out. */
function graphOutputs(a: GraphArgs): string[] {
  return [...(a.html === undefined ? [] : [`${a.html}/index.html`]), ...a.writes].filter((o) => o !== "-");
}

/** Runs graph.ts with `args`; returns the exit status. */
export function main(args: string[]): Promise<number> {
  return reportFailure("graph", "graph.ts", async (parsed) => {
    const a = parseGraphArgs(args);
    parsed({ config: a.config, stateDir: a.stateDir, task: graphTask(a) });
    if (a.version) out(`graph.ts (netmon) ${VERSION} (deno ${Deno.version.deno})\n`);
    else if (a.help) out(HELP + "\n");
    else await graph(a);
    return EX.OK;
  }, args);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
