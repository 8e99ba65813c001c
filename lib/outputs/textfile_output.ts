/**
 * The Prometheus textfile as a report output (`[prometheus] textfile`): keeps
 * `netmon.totals` in step with the log (prepared before the log append,
 * renamed after it, like `netmon.last`) and, once the sample is logged,
 * rewrites the textfile from those totals. A side output: a textfile that
 * cannot be written is a warning and exit 74 after the report (77 naming the
 * Deno flag when a permission is missing); the sample is never lost for it.
 *
 * With customers, their billing cycles are shown too (netmon_cycle_usage_bytes,
 * netmon_quota_bytes, netmon_cycle_start_timestamp_seconds), from the cycle
 * tally the alerts output keeps (see textfile_cycles.ts): `cycles` gives them.
 *
 * @module
 */

import { denoPermissionError, EX, NetmonError } from "../host/errors.ts";
import type { Meter } from "../config/meters.ts";
import { meterColumns } from "../config/meters.ts";
import type { StateFiles } from "../state/files.ts";
import { prepareTotals } from "../state/totals.ts";
import { resolveWall, stampToNaive } from "../usage/local_time.ts";
import type { Totals } from "../usage/running_totals.ts";
import { RESET_LABELS } from "../usage/running_totals.ts";
import {
  type ColumnFigures,
  type CycleFigure,
  formatTextfile,
  type ResetFigure,
  type TextfileInput,
} from "./textfile.ts";
import type { Recorded } from "../state/record.ts";
import { writeTextfile } from "./textfile_write.ts";
import type { SampleOutput } from "./output.ts";

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
