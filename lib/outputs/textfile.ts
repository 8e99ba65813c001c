/**
 * The Prometheus textfile as a report output (`[prometheus] textfile`), for
 * node_exporter's textfile collector: its text (data in, text out), writing
 * it atomically, and the output that keeps `netmon.totals` in step with the
 * log (prepared before the log append, renamed after it, like `netmon.last`)
 * and, once the sample is logged, rewrites the textfile from those totals. A
 * side output: a textfile that cannot be written is a warning and exit 74
 * after the report (77 naming the Deno flag when a permission is missing);
 * the sample is never lost for it.
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
 * The file is written through lib/host/files.ts's AtomicFile (a hidden
 * temporary `.NAME.RANDOM.tmp` beside it, which the textfile collector ignores
 * as it reads only `*.prom`, created exclusively, renamed over the target).
 *
 * With customers, their billing cycles are shown too (netmon_cycle_usage_bytes,
 * netmon_quota_bytes, netmon_cycle_start_timestamp_seconds), from the cycle
 * tally the alerts output keeps (see textfile_cycles.ts): `cycles` gives them.
 *
 * @module
 */

import { denoPermissionError, EX, fileError, NetmonError } from "../host/errors.ts";
import { replaceFile } from "../host/files.ts";
import { utf8 } from "../host/utf8.ts";
import type { Meter } from "../config/meters.ts";
import { meterColumns } from "../config/meters.ts";
import type { StateFiles } from "../state/files.ts";
import { prepareTotals } from "../state/totals.ts";
import { resolveWall, stampToNaive } from "../usage/local_time.ts";
import type { Totals } from "../usage/running_totals.ts";
import { RESET_LABELS } from "../usage/running_totals.ts";
import type { Recorded } from "../state/record.ts";
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

const NEEDS_ESCAPE = /[\\"\n]/;

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  // Three values a column, 10,000 columns a report, and almost none has anything to escape: a test is cheaper than a
  // replace calling back.
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** Escapes HELP text: backslash and newline. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

/** `,NAME="VALUE"` (escaped), or nothing for a label the column does not have. */
function optional(name: string, value: string | undefined): string {
  return value === undefined ? "" : `,${name}="${escapeLabelValue(value)}"`;
}

/** One series line; `labels` already escaped and comma-joined. */
function series(name: string, labels: string, value: string): string {
  return `${name}${labels === "" ? "" : `{${labels}}`} ${value}\n`;
}

/** A family: HELP and TYPE, then its series (`lines`, joined); nothing when it has none. */
function family(name: string, type: "counter" | "gauge", help: string, lines: string): string {
  if (lines === "") return "";
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n${lines}`;
}

function seconds(what: string, v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`Cannot write ${what}: ${v} is not a finite number`);
  return String(v);
}

/** `v` as text; `what` and `of` name it when it is negative. */
function count(v: bigint, what: string, of = ""): string {
  if (v < 0n) throw new RangeError(`Cannot write ${what}${of}: ${v} is negative`);
  return v.toString();
}

function twice(what: string, key: string): RangeError {
  return new RangeError(`Cannot write the textfile: ${what} ${key} appears twice`);
}

function unique(what: string, keys: string[]): void {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) throw twice(what, k);
    seen.add(k);
  }
}

/**
 * The textfile for one report.
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
  // Ten thousand columns are written every report: each column's labels are escaped once, and every family's
  // lines are one string.
  const columns = new Set<string>();
  let traffic = "";
  let raw = "";
  for (const c of input.columns) {
    if (columns.has(c.column)) throw twice("column", JSON.stringify(c.column));
    columns.add(c.column);
    const column = `column="${escapeLabelValue(c.column)}"`;
    const all = column + optional("meter", c.meter) + optional("direction", c.direction) +
      optional("family", c.family);
    traffic += series("netmon_traffic_bytes_total", all, count(c.total, c.column, " total"));
    raw += series("netmon_raw_bytes", column, count(c.counter, c.column));
  }
  unique("reset", input.resets.map((r) => JSON.stringify([r.column, r.reason])));
  const cycles = input.cycles ?? [];
  unique("customer", cycles.map((c) => JSON.stringify(c.customer)));
  unique("direction", cycles.flatMap((c) => c.usage.map((u) => JSON.stringify([c.customer, u.direction]))));
  const customer = (c: CycleFigure) => `customer="${escapeLabelValue(c.customer)}"`;
  const lines = <T>(xs: readonly T[], line: (x: T) => string) => xs.map(line).join("");
  return [
    family(
      "netmon_traffic_bytes_total",
      "counter",
      "Bytes counted in the column since its first sample, corrected for counter resets (never goes down).",
      traffic,
    ),
    family(
      "netmon_raw_bytes",
      "gauge",
      "The column's raw firewall or interface byte counter as read (goes to zero on a reset).",
      raw,
    ),
    family(
      "netmon_resets_total",
      "counter",
      "Counter resets seen in the column, by reason: counter_went_down, reboot, interface_recreated, counter_recreated, rules_recreated, packets_went_down.",
      lines(input.resets, (r) =>
        series(
          "netmon_resets_total",
          `column="${escapeLabelValue(r.column)}",reason="${escapeLabelValue(r.reason)}"`,
          count(r.count, r.column, " resets"),
        )),
    ),
    family(
      "netmon_last_sample_timestamp_seconds",
      "gauge",
      "When the last sample was taken (Unix time).",
      series("netmon_last_sample_timestamp_seconds", "", seconds("the sample time", input.lastSampleSeconds)),
    ),
    family(
      "netmon_report_duration_seconds",
      "gauge",
      "How long the last report took.",
      series("netmon_report_duration_seconds", "", seconds("the report duration", input.reportDurationSeconds)),
    ),
    family(
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
    ),
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
    ),
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
    ),
  ].join("");
}

/**
 * Replaces `path` with `text`, mode `mode` (default 0644: node_exporter runs
 * as its own user, `prometheus` on Debian, and must read it). Refuses a
 * target that exists and is not a regular file (or a link to one). Throws a
 * NetmonError: 73 when the directory is missing, 77 when permission is
 * denied, 74 otherwise.
 */
export function writeTextfile(path: string, text: string, mode = 0o644): void {
  try {
    if (!Deno.statSync(path).isFile) {
      throw new NetmonError(`Cannot write ${path}: it exists and is not a regular file`, EX.CANTCREAT);
    }
  } catch (err) {
    if (err instanceof NetmonError) throw err;
    if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "write", path);
  }
  // Not synced: node_exporter sees the old file or the new one either way, and every report rewrites it.
  replaceFile(path, utf8(text), mode, "Prometheus textfile", { durable: false });
}

/** The labels the config knows for a column. */
export type ColumnLabels = Pick<ColumnFigures, "meter" | "direction" | "family">;

/** The meter, direction and family labels of every configured column (none for the interface source's). */
export function columnLabels(meters: readonly Meter[]): Map<string, ColumnLabels> {
  const out = new Map<string, ColumnLabels>();
  for (const m of meters) {
    const family = m.families.length === 1 ? `ipv${m.families[0]}` : undefined;
    // The common meter (10,000 of them are set up every report): one column, its name; no direction.
    if (!m.directions && !m.split.family) {
      out.set(m.name, family ? { meter: m.name, family } : { meter: m.name });
      continue;
    }
    for (const c of meterColumns(m)) {
      const l: ColumnLabels = { meter: m.name };
      if (c.direction) l.direction = c.direction;
      const v = m.split.family ? /-v([46])$/.exec(c.name) : null;
      if (v) l.family = `ipv${v[1]}`;
      else if (family) l.family = family;
      out.set(c.name, l);
    }
  }
  return out;
}

/**
 * The textfile's figures: every column of `totals` (those of the sample
 * first, in its order; then removed columns, kept for their total), their
 * reset counts by reason where any, the sample time and the run's duration.
 */
export function textfileInput(
  totals: Totals,
  labels: ReadonlyMap<string, ColumnLabels>,
  sampleSeconds: number,
  durationSeconds: number,
): TextfileInput {
  const columns: ColumnFigures[] = [];
  const resets: ResetFigure[] = [];
  for (const [column, t] of totals.columns) {
    // A column no longer read has no raw counter: its total stays, the gauge goes.
    if (t.counter === undefined) continue;
    const l = labels.get(column);
    const figures: ColumnFigures = { column, total: t.total, counter: t.counter };
    if (l?.meter !== undefined) figures.meter = l.meter;
    if (l?.direction !== undefined) figures.direction = l.direction;
    if (l?.family !== undefined) figures.family = l.family;
    columns.push(figures);
    if (t.resets.size === 0) continue;
    // The known reasons first, in their order; any other (a hand-written reset line) after, by name.
    const known = RESET_LABELS.filter((r) => t.resets.has(r));
    const others = [...t.resets.keys()].filter((r) => !RESET_LABELS.includes(r)).sort();
    for (const reason of [...known, ...others]) {
      const count = t.resets.get(reason) as bigint;
      if (count > 0n) resets.push({ column, reason, count });
    }
  }
  return { columns, resets, lastSampleSeconds: sampleSeconds, reportDurationSeconds: durationSeconds };
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
  const labels = columnLabels(meters);
  let totals: Totals | undefined;
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
        totals = prepared.totals;
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
        if (totals === undefined) throw new Error("the running totals were not computed");
        const input = textfileInput(
          totals,
          labels,
          Math.floor(resolveWall(stampToNaive(r.sample.timestamp)).epoch / 1000),
          clock(),
        );
        const cycles = opts.cycles?.(r);
        if (cycles) input.cycles = cycles;
        writeTextfile(path, formatTextfile(input));
      } catch (err) {
        throw textfileError(err, path);
      }
    },
  };
}
