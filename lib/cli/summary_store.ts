/**
 * `netmon summary --store`: the summary's views from the PostgreSQL store,
 * for one host or a fleet. One host's samples go through the same
 * summarizers as the log's (95th percentile included); several hosts are
 * each run through the engine and added up bucket by bucket
 * (lib/outputs/postgres_samples.ts `fleetBuckets`), since hosts sample at
 * different instants. The client is loaded only here.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { ConfigError, EX, NetmonError, UsageError } from "../host/errors.ts";
import type { PostgresStore } from "../outputs/postgres.ts";
import { fleetBuckets, hostSamples } from "../outputs/postgres_samples.ts";
import { calendar, type Unit } from "../usage/calendar.ts";
import { type Sample, usageByBucketAsync } from "../usage/engine.ts";
import { FirstSeen } from "../usage/first_seen.ts";
import { OverviewBuilder, type OverviewLine, periodsAt } from "../usage/overview.ts";
import { type Row, rowsOf } from "../usage/rows.ts";
import { dayOrLonger, inSpan, type OverviewPart, OverviewSummarizer, spanIn, Summarizer } from "../usage/summary.ts";
import { printOverview, printRows, type SummaryPlan, summaryPlan, type SummaryRequest } from "./summary_views.ts";

/**
 * Prints the summary `req` asks for from the configured store, of `hosts`
 * (every host in the store when empty). A ConfigError without a
 * PostgreSQL store; a UsageError for a host with no samples there.
 */
export async function summaryFromStore(req: SummaryRequest, config: Config, hosts: readonly string[]): Promise<void> {
  if (!config.fleet.postgres) {
    throw new ConfigError(
      `${config.file ?? "config"}: summary --store needs a PostgreSQL store: store = "postgresql://USER@HOST:PORT/DB"`,
    );
  }
  const { openConfiguredStore } = await import("../outputs/postgres_output.ts");
  // Read only: a reporting user may have SELECT alone, and a store made before the resets table has none.
  const store = await openConfiguredStore(config, "openToRead");
  try {
    const stored = await store.hosts();
    for (const h of hosts) {
      if (!stored.includes(h)) {
        throw new UsageError(
          `--host ${h}: no samples of that host in the store (there are: ${stored.join(", ") || "none"})`,
        );
      }
    }
    const chosen = hosts.length > 0 ? [...hosts] : stored;
    if (chosen.length === 0) {
      throw new NetmonError(`${config.fleet.postgres.url}: no samples in the store yet`, EX.NOINPUT);
    }
    // A customer's column on a host not chosen (its meters summed over hosts) is its zero for these hosts: matched
    // against every host's columns, so that only a name no host has is a config error.
    const elsewhere = hosts.length > 0 ? await store.columns() : [];
    const where = `the store (${chosen.join(", ")}${elsewhere.length > 0 ? ", and the other hosts'" : ""})`;
    const plan = summaryPlan(req, config, await store.columns(chosen), where, undefined, elsewhere);
    if (chosen.length === 1) await oneHost(req, plan, store, chosen[0] as string);
    else await fleet(req, plan, store, chosen);
  } finally {
    await store.close();
  }
}

/** One host: its samples through the log's summarizers, as `netmon summary` on its log. */
async function oneHost(req: SummaryRequest, plan: SummaryPlan, store: PostgresStore, host: string): Promise<void> {
  const { passes, only, from, to } = plan;
  // The columns the host's samples have back after leaving: buckets are held back only while one is away.
  const returning = await store.returning(host);
  if (req.view === "overview") {
    const ov = new OverviewSummarizer(passes, Date.now(), { only, from, to, returning });
    for await (const s of hostSamples(store, host)) ov.push(s);
    printOverview(req, ov.result());
    return;
  }
  const unit = req.unit as Unit;
  const summarizer = new Summarizer(passes, { unit, p95: dayOrLonger(unit), from, to, only, returning });
  const rows: Row[] = [];
  for await (const s of hostSamples(store, host)) rows.push(...summarizer.push(s));
  rows.push(...summarizer.finish(Date.now()));
  printRows(req, plan, rows);
}

/** Each host's samples, noting the last instant of all of them and in `seen` the first of each column. */
async function* noting(
  samples: AsyncIterable<Sample>,
  span: { last: number },
  seen: FirstSeen,
): AsyncGenerator<Sample> {
  for await (const s of samples) {
    if (s.epoch > span.last) span.last = s.epoch;
    seen.note(s);
    yield s;
  }
}

/** Several hosts: per pass, each host's buckets added up, then rows or the overview as for one log. */
async function fleet(req: SummaryRequest, plan: SummaryPlan, store: PostgresStore, hosts: string[]): Promise<void> {
  const { passes, only, from, to } = plan;
  // Per host, the columns its samples have back after leaving: its engine holds buckets back only while one is away.
  const returning = await Promise.all(hosts.map((h) => store.returning(h)));
  if (req.view === "overview") {
    const parts: { part: OverviewPart; lines: OverviewLine[] }[] = [];
    for (const pass of passes) {
      const { now, ...span } = spanIn(pass.zone, { from, to }, Date.now());
      const builder = new OverviewBuilder(periodsAt(now, pass.zone, pass.billing.cycleDay), pass.customers, {
        columns: pass.columns,
        only,
      });
      const cal = calendar("day", pass.zone);
      // One per host: each host's samples are in time order (so noting is one comparison), the hosts' are not.
      const seen = hosts.map(() => new FirstSeen(span.to));
      const seenSpans = hosts.map(() => ({ last: -Infinity }));
      const perHost = hosts.map((h, k) =>
        usageByBucketAsync(noting(hostSamples(store, h), seenSpans[k]!, seen[k] as FirstSeen), cal, {
          now,
          returning: returning[k],
        })
      );
      for await (const day of fleetBuckets(perHost)) if (inSpan(day.bucket.start, span)) builder.add(day);
      const fleetSeen = new FirstSeen();
      for (const s of seen) fleetSeen.add(s);
      // A meter added mid-cycle (on any host) is estimated from its column's first sample; one removed (from the
      // newest sample of every host) at what it counted.
      const first = (columns: readonly string[]) => Math.max(fleetSeen.of(columns), span.from);
      // A column's time ends at the last sample of the hosts that have it (one that stopped sampling is counted up
      // to its own last, as its log would), a column no host has at the last of all.
      const lastOfHost = seenSpans.map((s) => Math.min(s.last, span.to));
      const lastOfAll = Math.max(...lastOfHost);
      const last = (columns: readonly string[]) => {
        let at = -Infinity;
        seen.forEach((s, k) => {
          if (columns.some((c) => s.saw(c))) at = Math.max(at, lastOfHost[k]!);
        });
        return at === -Infinity ? lastOfAll : at;
      };
      const removed = (c: string) => fleetSeen.removed(c);
      parts.push({ part: { pass, builder, now }, lines: builder.result(first, last, now, removed) });
    }
    printOverview(req, parts);
    return;
  }
  const unit = req.unit as Unit;
  const present = Date.now();
  const rows: { row: Row; pass: number }[] = [];
  for (const [k, pass] of passes.entries()) {
    const cal = calendar(unit, pass.zone, pass.billing.cycleDay);
    const span = spanIn(pass.zone, { from, to }, Infinity);
    // Each host's bucket in progress up to its own last sample: one that stopped sampling lowers no other host's.
    const perHost = hosts.map((h, j) =>
      usageByBucketAsync(hostSamples(store, h), cal, { now: present, returning: returning[j] })
    );
    for await (const b of fleetBuckets(perHost)) {
      if (!inSpan(b.bucket.start, span)) continue;
      const options = { customers: pass.customers, customersOnly: !pass.columns, ...(only ? { only } : {}) };
      for (const row of rowsOf(b, options)) {
        row.zone = pass.zone;
        rows.push({ row, pass: k });
      }
    }
  }
  // As the log's summary gives them: by bucket end, the passes in order (sort is stable).
  rows.sort((a, b) => a.row.end - b.row.end || a.pass - b.pass);
  printRows(req, plan, rows.map((r) => r.row));
}
