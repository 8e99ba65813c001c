/**
 * The printed report: the original's three lines, `Last Total`, `New Total`
 * and `New Usage`, generalised to any meters.
 *
 * @module
 */

import type { LastState, Sample } from "../state/log_format.ts";
import { humanReadable } from "../usage/units.ts";
import type { MeterUsage, UsageResult } from "../usage/deltas.ts";

/** The reset marker of the original. */
export const RESET_MARK = "== RESET DETECTED! ==";

/** A meter as the report names it. */
export interface ReportMeter {
  /** Meter name (log column). */
  name: string;
  /** Word shown in the report. */
  label: string;
}

function line(
  title: string,
  timestamp: string,
  meters: readonly ReportMeter[],
  values: (m: string, i: number) => bigint | undefined,
): string {
  const parts = meters.map((m, i) => {
    const v = values(m.name, i);
    return `${m.label}: ${v === undefined ? "-" : humanReadable(v)}`;
  });
  return `${title} - Timestamp: ${timestamp} ${parts.join(" ")}\n`;
}

/**
 * The resets of `usage` by reason, in the meters' order: `counter went down:
 * Proxied, Off Network; reboot: eth0 rx`.
 */
export function describeResets(meters: readonly ReportMeter[], usage: UsageResult): string {
  const byReason = new Map<string, string[]>();
  const reasons = new Map(usage.meters.map((u) => [u.meter, u.reason ?? "counter went down"]));
  const reset = new Set(usage.resets); // not resets.includes per meter: that was quadratic when all 10,000 reset
  for (const m of meters) {
    if (!reset.has(m.name)) continue;
    const reason = reasons.get(m.name) as string;
    const labels = byReason.get(reason);
    if (labels) labels.push(m.label);
    else byReason.set(reason, [m.label]);
  }
  return [...byReason].map(([reason, labels]) => `${reason}: ${labels.join(", ")}`).join("; ");
}

/**
 * The report text. With the original meters (labels "Proxied" and "Off
 * Network") the three lines are byte-for-byte the original's; a fourth line
 * names the meters that were reset and why, when any were.
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
  // The usage is in the sample's order, as the meters are whenever they are the sample's columns: found by
  // position then, by name otherwise (no 10,000-entry Map for the usual report).
  let byMeter: Map<string, MeterUsage> | undefined;
  const usageOf = (m: string, i: number) => {
    const u = usage.meters[i];
    if (u?.meter === m) return u.usage;
    byMeter ??= new Map(usage.meters.map((u) => [u.meter, u]));
    return byMeter.get(m)?.usage ?? 0n;
  };
  // A meter the last sample lacks: its last value in the log, which its usage counts from (a meter put back); one new
  // to the log had no total then: "-" (on a first run, 0, as the original's).
  const lastTotal = (m: string) =>
    previous === undefined ? 0n : previous.sample.counters.get(m) ?? usage.lastLogged?.get(m);
  let text = line("Last Total", lastStamp, meters, lastTotal) +
    line("New Total", sample.timestamp, meters, (m) => sample.counters.get(m) ?? 0n) +
    line("New Usage", sample.timestamp, meters, usageOf);
  if (usage.resets.length > 0) {
    text += `${RESET_MARK} ${describeResets(meters, usage)}; totals now count from ${usage.totalStart}\n`;
  }
  return text;
}
