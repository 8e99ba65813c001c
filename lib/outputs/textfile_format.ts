/**
 * The Prometheus textfile of given figures, data in, text out, for tests and
 * tools: a report makes its own from its counters and offsets
 * (lib/outputs/textfile.ts `sampleTextfile`), through the same writer.
 *
 * @module
 */

import { type ColumnLabels, escapeLabelValue, exposition, resetLine, restText, unique } from "./textfile.ts";
import { cycleFamilies, type CycleFigure } from "./textfile_cycles.ts";

/** One log column's figures. */
export interface ColumnFigures extends ColumnLabels {
  /** The log column (a meter name, or a pf label). */
  column: string;
  /** The reset-corrected running total (never goes down). */
  total: bigint;
  /** The raw counter as read. */
  counter: bigint;
}

/** How many resets a column has seen for one reason. */
export interface ResetFigure {
  /** The log column. */
  column: string;
  /** Why it counted as a reset: a label of lib/usage/offsets.ts `resetLabel` (e.g. `counter_went_down`, `reboot`). */
  reason: string;
  /** Resets so far (a counter). */
  count: bigint;
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
      meters: c.map((f) => f.meter === undefined ? undefined : escapeLabelValue(f.meter)),
      rest: c.map(restText),
      totals: c.map((f) => f.total),
      counters: c.map((f) => f.counter),
    },
    input.resets.map((r) => resetLine(r.column, r.reason, r.count)).join(""),
    input.lastSampleSeconds,
    input.reportDurationSeconds,
    input.cycles ? cycleFamilies(input.cycles) : "",
    (piece) => (text += piece),
  );
  return text;
}
