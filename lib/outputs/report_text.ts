/**
 * The printed report: the original's three lines, `Last Total`, `New Total`
 * and `New Usage`, generalised to any meters.
 *
 * @module
 */

import type { LastState, Sample } from "../state/log_format.ts";
import { humanReadable } from "../usage/units.ts";
import type { UsageResult } from "../usage/deltas.ts";

/** The reset marker of the original. */
export const RESET_MARK = "== RESET DETECTED! ==";

/** A meter as the report names it. */
export interface ReportMeter {
  /** Meter name (log column). */
  name: string;
  /** Word shown in the report. */
  label: string;
}

function line(title: string, timestamp: string, meters: readonly ReportMeter[], values: (m: string) => bigint): string {
  const parts = meters.map((m) => `${m.label}: ${humanReadable(values(m.name))}`);
  return `${title} - Timestamp: ${timestamp} ${parts.join(" ")}\n`;
}

/**
 * The report text. With the original meters (labels "Proxied" and "Off
 * Network") the three lines are byte-for-byte the original's; a fourth line
 * names the meters whose counters were reset, when any were.
 *
 * @param previous the last state before this sample; undefined on a first run
 */
export function formatReport(
  meters: readonly ReportMeter[],
  previous: LastState | undefined,
  sample: Sample,
  usage: UsageResult,
): string {
  const lastStamp = previous?.sample.timestamp ?? sample.timestamp;
  const byMeter = new Map(usage.meters.map((u) => [u.meter, u]));
  let text = line("Last Total", lastStamp, meters, (m) => previous?.sample.counters.get(m) ?? 0n) +
    line("New Total", sample.timestamp, meters, (m) => sample.counters.get(m) ?? 0n) +
    line("New Usage", sample.timestamp, meters, (m) => byMeter.get(m)?.usage ?? 0n);
  if (usage.resets.length > 0) {
    const labels = meters.filter((m) => usage.resets.includes(m.name)).map((m) => m.label);
    text += `${RESET_MARK} counters went down for: ${labels.join(", ")}; totals now count from ${usage.totalStart}\n`;
  }
  return text;
}
