/**
 * The mid-cycle meter that the projection tests share: November 2025 (a
 * 30-day cycle, UTC), hourly samples from the 1st to the 26th at 00:00 (day
 * 25); `base` at 1 B/s throughout; `late`, a meter added to the config on day
 * 20 (the 21st), in the log from then on. Before it, late's traffic is
 * unknown, not zero, so its cycle is projected from its first sample. And
 * the log of a meter removed for three hours, then put back.
 */
import type { Sample } from "../lib/usage/engine.ts";

/** The first sample, the first with `late`, and the last. */
export const LATE = { start: Date.UTC(2025, 10, 1), added: Date.UTC(2025, 10, 21), now: Date.UTC(2025, 10, 26) };

const GiB = 1n << 30n;
const HOUR_MS = 3_600_000;

/** The samples as the usage engine reads them, `late` at 1 GiB an hour (120 GiB in its 5 days: projected 240). */
export function lateMeterSamples(): Sample[] {
  const before = ["base"], after = ["base", "late"];
  const out: Sample[] = [];
  for (let t = LATE.start; t <= LATE.now; t += HOUR_MS) {
    const base = (t - LATE.start) / 1000;
    out.push(
      t < LATE.added
        ? { epoch: t, columns: before, counters: [base] }
        : { epoch: t, columns: after, counters: [base, BigInt((t - LATE.added) / HOUR_MS) * GiB] },
    );
  }
  return out;
}

/** The samples as the cycle tally reads them, `late` carrying 10 GiB in its 5 days (projected 20). */
export function lateMeterCounters(): { epoch: number; counters: Map<string, bigint> }[] {
  const out: { epoch: number; counters: Map<string, bigint> }[] = [];
  for (let t = LATE.start; t <= LATE.now; t += HOUR_MS) {
    const counters = new Map([["base", BigInt((t - LATE.start) / 1000)]]);
    if (t >= LATE.added) counters.set("late", 10n * GiB * BigInt(t - LATE.added) / BigInt(5 * 86_400_000));
    out.push({ epoch: t, counters });
  }
  return out;
}

/**
 * The billing walkthrough's log, UTC: meters a and r at 1 B/s, r taken out of the config at 23:00 on 31 October and
 * put back at 02:00 (no reset line): its 10,800 B of those three hours are 1 h in October and 2 h in November.
 */
export const AWAY_THREE_HOURS: readonly string[] = [
  "# netmon meters:\ta\tr",
  "2026/10/31-22:00:00\t0\t0",
  "2026/10/31-23:00:00\t3600\t3600",
  "# netmon meters:\ta",
  "2026/11/01-00:00:00\t7200",
  "2026/11/01-01:00:00\t10800",
  "# netmon meters:\ta\tr",
  "2026/11/01-02:00:00\t14400\t14400",
  "2026/11/01-03:00:00\t18000\t18000",
];
