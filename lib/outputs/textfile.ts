/**
 * The Prometheus text exposition of a report, for node_exporter's textfile
 * collector: data in, text out (the caller writes the file atomically).
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
