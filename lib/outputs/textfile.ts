/**
 * The Prometheus textfile as a report output (`[prometheus] textfile`), for
 * node_exporter's textfile collector: its text (pure: data in, text out),
 * writing it atomically, and the output that keeps `netmon.totals` in step
 * with the log and rewrites the file after every report.
 *
 * A report builds the file from the sample's counters, each column's
 * running total being its counter plus its offset
 * (lib/usage/running_totals.ts), which `netmon.totals` keeps
 * (lib/state/totals_file.ts: prepared before the log append, committed after
 * it, like `netmon.last`), taking the columns by position and encoding the
 * lines as they are made. Once the sample is logged the file is replaced
 * through lib/host/files.ts's AtomicFile (a hidden temporary `.NAME.RANDOM.tmp`
 * beside it, which the collector ignores as it reads only `*.prom`, created
 * exclusively, renamed over the target). A side output: a textfile that
 * cannot be written is a warning and exit 74 after the report (77 naming the
 * Deno flag when a permission is missing); the sample is never lost for it.
 *
 * With customers, their billing cycles are shown too (netmon_cycle_usage_bytes,
 * netmon_quota_bytes, netmon_cycle_start_timestamp_seconds), from the cycle
 * tally the alerts output keeps (see textfile_cycles.ts): `cycles` gives them.
 *
 * Each metric family appears once, `# HELP` and `# TYPE` first, then its
 * series; label values are escaped (backslash, double quote, newline) as the
 * format requires; byte counts are written as exact decimal integers from
 * bigints (Prometheus keeps float64, exact to 2^53: 8 PB, and the relative
 * error above that is 1e-16).
 *
 * The raw counter is `netmon_raw_bytes`, not `netmon_counter_bytes` as issue
 * 22 first named it: `promtool check metrics` rejects a gauge whose name
 * contains `_counter_` ("metric name should not include type 'counter'").
 *
 * @module
 */

import { denoPermissionError, EX, fileError, NetmonError } from "../host/errors.ts";
import { AtomicFile } from "../host/files.ts";
import type { Meter } from "../config/meters.ts";
import { meterColumns } from "../config/meters.ts";
import type { StateFiles } from "../state/files.ts";
import type { Sample } from "../state/log_format.ts";
import type { Recorded } from "../state/record.ts";
import { prepareTotals } from "../state/totals_file.ts";
import { resolveWall, stampToNaive } from "../usage/local_time.ts";
import { type Offsets, RESET_LABELS } from "../usage/running_totals.ts";
import type { SampleOutput } from "./output.ts";

/** One log column's figures. */
export interface ColumnFigures {
  /** The log column (a meter name, or a pf label). */
  column: string;
  /** The meter the column belongs to, where the config knows it. */
  meter?: string;
  /** `in`, `out` (or whatever the config says), where known. */
  direction?: string;
  /** `ipv4`, `ipv6`, where known. */
  family?: string;
  /** The reset-corrected running total (never goes down). */
  total: bigint;
  /** The raw counter as read. */
  counter: bigint;
}

/** How many resets a column has seen for one reason. */
export interface ResetFigure {
  /** The log column. */
  column: string;
  /** Why it counted as a reset: a label of lib/usage/running_totals.ts `resetLabel` (e.g. `counter_went_down`, `reboot`). */
  reason: string;
  /** Resets so far (a counter). */
  count: bigint;
}

/** A customer's usage in one direction: `in`, `out`, or `both` (columns that count the two together). */
export interface DirectionUsage {
  /** `in`, `out` or `both`. */
  direction: "in" | "out" | "both";
  /** Bytes so far in the current cycle. */
  bytes: bigint;
}

/** One customer's current billing cycle. */
export interface CycleFigure {
  /** The customer's name. */
  customer: string;
  /** When the current cycle started, Unix seconds. */
  cycleStart: number;
  /** Its usage so far in the cycle, in each direction it has columns of; summed, its total. */
  usage: readonly DirectionUsage[];
  /** Its quota per cycle and what counts against it (`in`, `out`, or `total`: all its columns), if one is set. */
  quota?: { bytes: bigint; count: "in" | "out" | "total" };
}

/** Everything the textfile shows after one report. */
export interface TextfileInput {
  /** Per column, in log order. */
  columns: readonly ColumnFigures[];
  /** Reset counts per column and reason; a column with none may be left out. */
  resets: readonly ResetFigure[];
  /** The sample's time, Unix seconds. */
  lastSampleSeconds: number;
  /** How long the report took, seconds. */
  reportDurationSeconds: number;
  /** Customers' current billing cycles, when the config has customers. */
  cycles?: readonly CycleFigure[];
}

/** True when `text` has a character a label value must escape (a search, not a regex: one costs 0.2 ms to compile). */
function needsEscape(text: string): boolean {
  return text.includes("\\") || text.includes('"') || text.includes("\n");
}

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  // Three values a column, 10,000 columns a report, and almost none has anything to escape.
  if (!needsEscape(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** A column's labels after its `column` label, escaped: `,meter="…",direction="…",family="…"`, those it has. */
function labelsText(labels: ColumnLabels): string {
  const label = (name: string, value: string | undefined) =>
    value === undefined ? "" : `,${name}="${escapeLabelValue(value)}"`;
  return label("meter", labels.meter) + label("direction", labels.direction) + label("family", labels.family);
}

/** One series line; `labels` already escaped and comma-joined. */
function series(name: string, labels: string, value: string): string {
  return `${name}${labels === "" ? "" : `{${labels}}`} ${value}\n`;
}

/** A family's HELP and TYPE lines (no help text here has a backslash or a newline to escape). */
function header(name: string, type: "counter" | "gauge", help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

/** A family: HELP and TYPE, then its series (`lines`, joined); nothing when it has none. */
function family(name: string, type: "counter" | "gauge", help: string, lines: string): string {
  return lines === "" ? "" : header(name, type, help) + lines;
}

const TRAFFIC = header(
  "netmon_traffic_bytes_total",
  "counter",
  "Bytes counted in the column since its first sample, corrected for counter resets (never goes down).",
);
const RAW = header(
  "netmon_raw_bytes",
  "gauge",
  "The column's raw firewall or interface byte counter as read (goes to zero on a reset).",
);
const RESETS = header(
  "netmon_resets_total",
  "counter",
  "Counter resets seen in the column, by reason: counter_went_down, reboot, interface_recreated, counter_recreated, rules_recreated, packets_went_down.",
);
const LAST_SAMPLE = header(
  "netmon_last_sample_timestamp_seconds",
  "gauge",
  "When the last sample was taken (Unix time).",
);
const DURATION = header("netmon_report_duration_seconds", "gauge", "How long the last report took.");

function seconds(what: string, v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`Cannot write ${what}: ${v} is not a finite number`);
  return String(v);
}

/** `v` as text; `what` and `of` name it when it is negative. */
function count(v: bigint, what: string, of = ""): string {
  if (v < 0n) throw new RangeError(`Cannot write ${what}${of}: ${v} is negative`);
  return v.toString();
}

function unique(what: string, keys: string[]): void {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) throw new RangeError(`Cannot write the textfile: ${what} ${k} appears twice`);
    seen.add(k);
  }
}

/** The textfile's columns, taken by position: no object is made per column of ten thousand. */
interface Columns {
  /** Their names, in order. */
  names: readonly string[];
  /** The text of the other labels of the `i`th (see {@linkcode labelsText}). */
  labels(i: number): string;
  /** Their running totals. */
  totals: readonly bigint[];
  /** Their raw counters. */
  counters: readonly bigint[];
}

/** `v`, refused when negative; `what` and `of` name it. */
function natural(v: bigint, what: string, of = ""): bigint {
  if (v < 0n) throw new RangeError(`Cannot write ${what}${of}: ${v} is negative`);
  return v;
}

/** Columns a piece of the text has: about 20 KB of it. */
const PIECE = 256;

/**
 * The whole textfile, given to `emit` a piece at a time: the columns'
 * families (`resetLines` their resets), the sample's time and the run's
 * duration, then the customers' cycles.
 *
 * Ten thousand columns are written every report. Each piece is a list of
 * parts (constant text, names, the counts themselves) joined once, which
 * makes its text in one go, the counts turned into digits on the way; the
 * caller encodes it into a buffer it reuses and writes it. Made a line at a
 * time and held whole, the text would be 20,000 strings for young-generation
 * collections to copy, then a megabyte of fresh memory to encode into (both
 * cost 10-20 ms a report here).
 */
function exposition(
  columns: Columns,
  resetLines: string,
  lastSampleSeconds: number,
  reportDurationSeconds: number,
  cycles: readonly CycleFigure[],
  emit: (piece: string) => void,
): void {
  const { names } = columns;
  // Names needing no escape (a meter's never do) are not looked at one by one.
  const escaped = needsEscape(names.join("")) ? names.map(escapeLabelValue) : names;
  for (let start = 0; start < names.length; start += PIECE) {
    const parts: (string | bigint)[] = [start === 0 ? TRAFFIC : ""];
    for (let i = start; i < Math.min(start + PIECE, names.length); i++) {
      const name = escaped[i] as string;
      const total = natural(columns.totals[i] as bigint, names[i] as string, " total");
      parts.push('netmon_traffic_bytes_total{column="', name, '"', columns.labels(i), "} ", total, "\n");
    }
    emit(parts.join(""));
  }
  for (let start = 0; start < names.length; start += PIECE) {
    const parts: (string | bigint)[] = [start === 0 ? RAW : ""];
    for (let i = start; i < Math.min(start + PIECE, names.length); i++) {
      parts.push(
        'netmon_raw_bytes{column="',
        escaped[i] as string,
        '"} ',
        natural(columns.counters[i] as bigint, names[i] as string),
        "\n",
      );
    }
    emit(parts.join(""));
  }
  emit(
    (resetLines === "" ? "" : RESETS + resetLines) +
      `${LAST_SAMPLE}netmon_last_sample_timestamp_seconds ${seconds("the sample time", lastSampleSeconds)}\n` +
      `${DURATION}netmon_report_duration_seconds ${seconds("the report duration", reportDurationSeconds)}\n` +
      (cycles.length === 0 ? "" : cycleFamilies(cycles)),
  );
}

/** The customers' families: usage in the current cycle by direction, quota, the cycle's start. */
function cycleFamilies(cycles: readonly CycleFigure[]): string {
  unique("customer", cycles.map((c) => JSON.stringify(c.customer)));
  unique("direction", cycles.flatMap((c) => c.usage.map((u) => JSON.stringify([c.customer, u.direction]))));
  const customer = (c: CycleFigure) => `customer="${escapeLabelValue(c.customer)}"`;
  const lines = <T>(xs: readonly T[], line: (x: T) => string) => xs.map(line).join("");
  return family(
    "netmon_cycle_usage_bytes",
    "gauge",
    "Bytes the customer used so far in its current billing cycle, by direction " +
      "(in, out; both: columns that count the two together). Summed over direction: its total.",
    lines(cycles, (c) =>
      lines(c.usage, (u) =>
        series(
          "netmon_cycle_usage_bytes",
          `${customer(c)},direction="${u.direction}"`,
          count(u.bytes, c.customer, " usage"),
        ))),
  ) +
    family(
      "netmon_quota_bytes",
      "gauge",
      "The customer's quota per billing cycle; count is what counts against it: in, out, or total (all its columns).",
      lines(
        cycles,
        (c) =>
          c.quota === undefined ? "" : series(
            "netmon_quota_bytes",
            `${customer(c)},count="${c.quota.count}"`,
            count(c.quota.bytes, c.customer, " quota"),
          ),
      ),
    ) +
    family(
      "netmon_cycle_start_timestamp_seconds",
      "gauge",
      "When the customer's current billing cycle started (Unix time).",
      lines(cycles, (c) =>
        series(
          "netmon_cycle_start_timestamp_seconds",
          customer(c),
          seconds(`${c.customer} cycle start`, c.cycleStart),
        )),
    );
}

/** A reset line: `column`'s resets for `reason`. */
function resetLine(column: string, reason: string, n: bigint): string {
  return series(
    "netmon_resets_total",
    `column="${escapeLabelValue(column)}",reason="${escapeLabelValue(reason)}"`,
    count(n, column, " resets"),
  );
}

/**
 * The textfile for one report's figures.
 *
 * @example
 * ```ts
 * formatTextfile({
 *   columns: [{ column: "proxy", total: 1500n, counter: 500n }],
 *   resets: [{ column: "proxy", reason: "counter_went_down", count: 1n }],
 *   lastSampleSeconds: 1267088400,
 *   reportDurationSeconds: 0.021,
 * });
 * // # HELP netmon_traffic_bytes_total …\n# TYPE netmon_traffic_bytes_total counter\n
 * // netmon_traffic_bytes_total{column="proxy"} 1500\n…
 * ```
 */
export function formatTextfile(input: TextfileInput): string {
  const c = input.columns;
  unique("column", c.map((f) => JSON.stringify(f.column)));
  unique("reset", input.resets.map((r) => JSON.stringify([r.column, r.reason])));
  let text = "";
  exposition(
    {
      names: c.map((f) => f.column),
      labels: (i) => labelsText(c[i]!),
      totals: c.map((f) => f.total),
      counters: c.map((f) => f.counter),
    },
    input.resets.map((r) => resetLine(r.column, r.reason, r.count)).join(""),
    input.lastSampleSeconds,
    input.reportDurationSeconds,
    input.cycles ?? [],
    (piece) => (text += piece),
  );
  return text;
}

/** The labels the config knows for a column. */
export type ColumnLabels = Pick<ColumnFigures, "meter" | "direction" | "family">;

/**
 * The meter, direction and family labels of every configured column (none
 * for the interface source's), in config order: the order of a firewall
 * source's sample, so that a report takes them by position, not by name.
 */
export function columnLabels(meters: readonly Meter[]): [string, ColumnLabels][] {
  const out: [string, ColumnLabels][] = [];
  for (const m of meters) {
    const family = m.families.length === 1 ? `ipv${m.families[0]}` : undefined;
    // The common meter (10,000 of them are set up every report): one column, its name; no direction.
    if (!m.directions && !m.split.family) {
      out.push([m.name, family ? { meter: m.name, family } : { meter: m.name }]);
      continue;
    }
    for (const c of meterColumns(m)) {
      const l: ColumnLabels = { meter: m.name };
      if (c.direction) l.direction = c.direction;
      const v = m.split.family ? /-v([46])$/.exec(c.name) : null;
      if (v) l.family = `ipv${v[1]}`;
      else if (family) l.family = family;
      out.push([c.name, l]);
    }
  }
  return out;
}

/**
 * The text of every configured column's labels after its `column` label, in
 * config order (see {@linkcode columnLabels}), for {@linkcode sampleTextfile}:
 * made once, when the output is set up (while the counters are read), not
 * column by column as the file is written.
 *
 * @example
 * ```ts
 * labelTexts(config.meters); // [["proxy", ',meter="proxy",family="ipv4"'], …]
 * ```
 */
export function labelTexts(meters: readonly Meter[]): [string, string][] {
  return columnLabels(meters).map(([column, labels]) => [column, labelsText(labels)]);
}

/**
 * The textfile after `sample`, whose running totals are its
 * counters plus `offsets` (those after it): every column of the sample in its
 * order, with the labels the config knows (`labels`, from
 * {@linkcode labelTexts}), its reset counts by reason where it has any
 * (the known reasons in their order, then others by name), and the sample's
 * time, given to `emit` a piece at a time (see {@linkcode writeTextfile}). A
 * column no longer read is left out: it has no raw counter, and its total no
 * longer grows.
 *
 * @example
 * ```ts
 * const sample = { timestamp: "2024/03/01-10:05:00", counters: new Map([["proxy", 500n]]) };
 * const offsets = { stamp: sample.timestamp, columns: ["proxy"], offsets: [1000n], resets: [new Map()] };
 * let text = "";
 * sampleTextfile(sample, offsets, [], 0.02, [], (piece) => (text += piece));
 * text; // …netmon_traffic_bytes_total{column="proxy"} 1500\n…
 * ```
 */
export function sampleTextfile(
  sample: Sample,
  offsets: Offsets,
  labels: readonly (readonly [string, string])[],
  reportDurationSeconds: number,
  cycles: readonly CycleFigure[],
  emit: (piece: string) => void,
): void {
  const names = [...sample.counters.keys()];
  const counters = [...sample.counters.values()];
  const totals = new Array<bigint>(names.length);
  let resetLines = "";
  // Offsets as lib/usage/running_totals.ts advances them have the sample's columns first, in its order: taken by
  // position (others by name).
  let at: Map<string, number> | undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    let k: number | undefined = i;
    if (offsets.columns[i] !== name) {
      k = (at ??= new Map(offsets.columns.map((c, j) => [c, j]))).get(name);
      if (k === undefined) {
        throw new RangeError(`Cannot write the textfile: column ${JSON.stringify(name)} has no offset`);
      }
    }
    totals[i] = (counters[i] as bigint) + (offsets.offsets[k] as bigint);
    const counts = offsets.resets[k] as ReadonlyMap<string, bigint>;
    if (counts.size === 0) continue;
    const others = [...counts.keys()].filter((r) => !RESET_LABELS.includes(r)).sort();
    for (const reason of [...RESET_LABELS, ...others]) {
      const n = counts.get(reason);
      if (n !== undefined && n > 0n) resetLines += resetLine(name, reason, n);
    }
  }
  // A firewall source's sample has the config's columns in its order: labels too are taken by position.
  let byName: Map<string, string> | undefined;
  exposition(
    {
      names,
      labels: (i) => (labels[i]?.[0] === names[i] ? labels[i]?.[1] : (byName ??= new Map(labels)).get(names[i]!)) ?? "",
      totals,
      counters,
    },
    resetLines,
    Math.floor(resolveWall(stampToNaive(sample.timestamp)).epoch / 1000),
    reportDurationSeconds,
    cycles,
    emit,
  );
}

const encoder = new TextEncoder();

/**
 * Replaces `path` with `text`, or the text `write` gives a piece at a time,
 * mode `mode` (default 0644: node_exporter runs as its own user,
 * `prometheus` on Debian, and must read it). Each piece is encoded into one
 * buffer, reused, and written (a megabyte of fresh memory to encode a large
 * file into costs more than the rest of its writing). Refuses a target that
 * exists and is not a regular file (or a link to one). Throws a NetmonError:
 * 73 when the directory is missing, 77 when permission is denied, 74
 * otherwise.
 */
export function writeTextfile(
  path: string,
  text: string | ((emit: (piece: string) => void) => void),
  mode = 0o644,
): void {
  try {
    if (!Deno.statSync(path).isFile) {
      throw new NetmonError(`Cannot write ${path}: it exists and is not a regular file`, EX.CANTCREAT);
    }
  } catch (err) {
    if (err instanceof NetmonError) throw err;
    if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "write", path);
  }
  // Not synced: node_exporter sees the old file or the new one either way, and every report rewrites it.
  const file = new AtomicFile(path, mode, "Prometheus textfile", { durable: false });
  let buffer = new Uint8Array(0);
  const emit = (piece: string) => {
    // A UTF-16 unit is at most 3 bytes of UTF-8. (Sized by the pieces: fresh memory costs its page faults.)
    if (3 * piece.length > buffer.length) buffer = new Uint8Array(3 * piece.length);
    file.write(buffer.subarray(0, encoder.encodeInto(piece, buffer).written));
  };
  try {
    if (typeof text === "string") emit(text);
    else text(emit);
  } catch (err) {
    file.abandon();
    throw err;
  }
  file.commit();
}

/** A failure of this output as the report's one line: a warning, exit 74 (or 77 naming the Deno flag). */
function textfileError(err: unknown, path: string): NetmonError {
  const denied = denoPermissionError(err) ??
    (err instanceof NetmonError && err.exitCode === EX.NOPERM ? err : undefined);
  if (denied) return denied;
  const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new NetmonError(
    `warning: Prometheus textfile ${path} not written: ${why} (the sample is logged; the next report writes it)`,
    EX.IOERR,
    { cause: err },
  );
}

/** What the textfile output is given besides its path. */
export interface TextfileOptions {
  /** Seconds since the run started (for netmon_report_duration_seconds); default performance.now(). */
  clock?: () => number;
  /**
   * The customers' current cycles as of the recorded sample (undefined when
   * they are not known for it: the cycle metrics are then left out).
   */
  cycles?: (r: Recorded) => readonly CycleFigure[] | undefined;
}

/** The textfile output for `path`. */
export function textfileOutput(
  path: string,
  files: StateFiles,
  meters: readonly Meter[],
  opts: TextfileOptions = {},
): SampleOutput {
  const clock = opts.clock ?? (() => performance.now() / 1000);
  const labels = labelTexts(meters);
  let offsets: Offsets | undefined;
  let failure: unknown;
  return {
    name: "Prometheus textfile",
    async beforeAppend(step) {
      try {
        const prepared = await prepareTotals(
          files.dir,
          files.log,
          step.previous,
          step.sample,
          step.warnings,
          step.resets,
        );
        offsets = prepared.offsets;
        return [{
          commit() {
            try {
              prepared.file.commit();
            } catch (err) {
              failure ??= err;
            }
          },
          abandon: () => prepared.file.abandon(),
        }];
      } catch (err) {
        failure = err;
        return [];
      }
    },
    recorded(r) {
      try {
        if (failure !== undefined) throw failure;
        if (offsets === undefined) throw new Error("the running totals were not computed");
        const figures = offsets;
        const cycles = opts.cycles?.(r) ?? [];
        writeTextfile(path, (emit) => sampleTextfile(r.sample, figures, labels, clock(), cycles, emit));
      } catch (err) {
        throw textfileError(err, path);
      }
    },
  };
}
