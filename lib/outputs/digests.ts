/**
 * Mail that sums up instead of a mail every run (`[mail] send`): `daily`, one
 * digest after each midnight in the billing zone (the day before per
 * customer and column, the cycle so far with its estimate, quota use), and
 * `cycle`, each customer's statement when its billing cycle closes (its
 * dates, in, out, total, 95th percentile, coverage, resets, quota use, as
 * text and as the summary's CSV). A digest or statement missed while the
 * machine was off is sent at the next run, once: the sent ledger says what
 * went. The first digest goes for the day before the run that sends it, not
 * for the week before; a statement only for a cycle that closed after mail
 * began (lib/outputs/alerts.ts), not for one settled before it.
 *
 * Computed from the log with the usage engine: once a day, not every run.
 *
 * @module
 */

import { logZone } from "../state/zone_record.ts";
import type { Config } from "../config/config.ts";
import { type CustomerColumns, customerColumns, type CustomerSpec } from "../config/customers.ts";
import type { MailConfig } from "../config/mail.ts";
import { columnsAsConfigured } from "../config/meters.ts";
import { ConfigError } from "../host/errors.ts";
import { openLog } from "../state/log_reader.ts";
import { type Bucket, type Calendar, calendar } from "../usage/calendar.ts";
import { csvChunks } from "../usage/csv.ts";
import { type BucketUsage, type Sample, usageByBucket } from "../usage/engine.ts";
import { FirstSeen } from "../usage/first_seen.ts";
import { linesOfFile, returnsOf, samplesOf } from "../usage/log_samples.ts";
import { cycleEstimate, estimateText } from "../usage/projection.ts";
import { type Row, rowsOf } from "../usage/rows.ts";
import { formatTable, nameLabel, sharedNames } from "../usage/table.ts";
import { bytesShareText, commitText, iecBytes, percentText, quotaBytes, siRate } from "../usage/units.ts";
import { isoWithOffset, type Zone, zoneNamed } from "../usage/zone.ts";
import type { SpooledMessage } from "./mail.ts";
import { keyId, messageId } from "./message_id.ts";

/** One message that is due, with the ledger key that makes it happen once. */
export interface Due {
  /** Ledger key: what the message is about, unique per customer, cycle and threshold. */
  key: string;
  /** The message; none when there is nothing to say (a day before the log began), so the key is only recorded. */
  message?: SpooledMessage;
  /** An alert's customer and subject when it cannot be mailed (the config has no `[mail]`): said on stderr instead. */
  unmailed?: { customer: string; subject: string };
}

/** How many missed days a late run still sends digests for. */
const MISSED_DAYS = 7;

/** The log's samples (its stamps in `zone`), read again for each pass (a digest's passes are a few a day). */
function logSamples(log: string, zone: Zone): Sample[] {
  const file = openLog(log);
  try {
    return [...samplesOf(linesOfFile(file, log), log, () => {}, zone)];
  } finally {
    file.close();
  }
}

/**
 * The buckets of `cal` from the log as of `now`, by start; held back only while a column the samples have back is
 * away (one removed for good holds none).
 */
function bucketsOf(samples: readonly Sample[], cal: Calendar, now: number, p95: boolean): Map<number, BucketUsage> {
  const returning = returnsOf(samples);
  return new Map([...usageByBucket(samples, cal, { p95, now, returning })].map((b) => [b.bucket.start, b]));
}

/** The customers matched to the log's columns (the summary's roll-up), each the config's meter's or the log's alone. */
function customersOf(config: Config, samples: readonly Sample[]): CustomerColumns[] {
  const columns = columnsAsConfigured([...new Set(samples.flatMap((s) => s.columns))], config.meters);
  try {
    return customerColumns(config.customers, columns, config.file ?? "config");
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

function message(
  mail: MailConfig,
  key: string,
  now: Date,
  subject: string,
  text: string,
  to?: string[],
): SpooledMessage {
  const m: SpooledMessage = {
    subject,
    text,
    date: now.toISOString(),
    // The key as words to read, and its hash: two customers' names may read alike once made atoms ("東京", "大阪").
    messageId: messageId(["netmon", key, keyId(key), String(now.getTime())], mail.helo),
    attach: false,
  };
  if (to) m.to = to;
  return m;
}

function quotaLines(specs: readonly CustomerSpec[], rows: readonly Row[]): string[] {
  const lines: string[] = [];
  for (const s of specs) {
    const row = rows.find((r) => r.kind === "customer" && r.name === s.name);
    if (!s.quota || !row) continue;
    // A column with no direction counts in each (lib/usage/cycle_tally.ts `counted`): in is all but out.
    const used = s.quota.count === "in"
      ? row.totalBytes - (row.outBytes ?? 0n)
      : s.quota.count === "out"
      ? row.totalBytes - (row.inBytes ?? 0n)
      : row.totalBytes;
    const pct = bytesShareText(used, s.quota.bytes);
    // In the units the quota was written in: a "2 MB" quota reads 2.00 MB, not 1.91 MiB.
    const bytes = (b: bigint) => quotaBytes(b, s.quota?.decimal);
    lines.push(`${s.name}: ${bytes(used)} of ${bytes(s.quota.bytes)} (${pct}, counting ${s.quota.count})`);
  }
  return lines;
}

/** The daily digests due at `epoch` (the recorded sample), oldest first; `local`: the log's zone. */
function dueDaily(
  config: Config,
  mail: MailConfig,
  samples: readonly Sample[],
  epoch: number,
  sent: ReadonlySet<string>,
  now: Date,
  local: Zone,
): Due[] {
  const zone = zoneNamed(config.billing.timeZone, local);
  const days = calendar("day", zone);
  const today = days.bucketAt(epoch);
  const lastSent = [...sent].filter((k) => k.startsWith("daily\t")).sort().at(-1)?.slice(6);
  const wanted: Bucket[] = [];
  for (let d = days.bucketAt(today.start - 1); wanted.length < MISSED_DAYS; d = days.bucketAt(d.start - 1)) {
    if (lastSent !== undefined ? d.label <= lastSent : wanted.length === 1) break;
    wanted.unshift(d);
  }
  const first = samples[0]?.epoch;
  const todo = wanted.filter((d) => !sent.has(`daily\t${d.label}`));
  if (todo.length === 0) return [];
  // A day before the log began has nothing to tell: recorded, so the log is not read for it again.
  if (first === undefined || todo.every((d) => first >= d.end)) return todo.map((d) => ({ key: `daily\t${d.label}` }));
  const customers = customersOf(config, samples);
  const byDay = bucketsOf(samples, days, epoch, false);
  const cycles = calendar("cycle", zone, config.billing.cycleDay);
  const byCycle = bucketsOf(samples, cycles, epoch, false);
  // Where each column's samples begin and end: the same for every day, made for the first that shows an estimate.
  let seen: FirstSeen | undefined;
  const firstSeen = () => {
    if (seen) return seen;
    seen = new FirstSeen();
    for (const s of samples) seen.note(s);
    return seen;
  };
  return todo.flatMap((d) => {
    const key = `daily\t${d.label}`;
    const bucket = byDay.get(d.start);
    if (!bucket) return [{ key }];
    const named = config.billing.timeZone !== undefined && config.billing.timeZone !== "local";
    let text = `Network usage on ${d.label} (${named ? zone.name : "local time"}):\n\n`;
    text += formatTable(rowsOf(bucket, { customers }));
    // The cycle the day is of: at a cycle's close its last day's digest shows that cycle, whole, not the new one.
    const cycle = byCycle.get(cycles.bucketAt(d.start).start);
    if (cycle) {
      const cycleRows = rowsOf(cycle, { customers });
      const closed = cycle.bucket.end <= epoch;
      text += closed
        ? `\nBilling cycle ${cycle.bucket.label}, closed:\n\n`
        : `\nBilling cycle ${cycle.bucket.label} so far, and its estimate for the whole cycle:\n\n`;
      text += formatTable(cycleRows);
      // A closed cycle's rows are its whole: no estimate.
      if (!closed) {
        // The summary's and the alerts' estimate: each column's rate since its first sample (a meter added
        // mid-cycle counts from its own), carried to the cycle's end, a removed one's what it counted; a customer's,
        // its columns' summed.
        const seen = firstSeen();
        const columnsOf = (r: Row): readonly string[] => {
          if (r.kind === "column") return [r.name];
          const c = customers.find((c) => c.name === r.name);
          return c ? [...c.in, ...c.out, ...c.both] : [];
        };
        const used = new Map(cycle.columns.map((c) => [c.name, c.usage]));
        const shared = sharedNames(cycleRows); // named as in the table above
        for (const r of cycleRows) {
          const parts = columnsOf(r).map((c) => ({
            bytes: used.get(c) ?? 0n,
            from: seen.of([c]),
            removed: seen.removed(c),
          }));
          const estimate = cycleEstimate(parts, cycle.bucket, epoch, epoch);
          text += `  ${nameLabel(r, shared)}: estimate ${estimateText(estimate, iecBytes)}\n`;
        }
      }
      const quotas = quotaLines(config.customers, cycleRows);
      if (quotas.length > 0) {
        text += `\nQuota use ${closed ? "in that cycle" : "this cycle"}:\n${quotas.map((l) => `  ${l}\n`).join("")}`;
      }
    }
    return [{ key, message: message(mail, key, now, `netmon daily usage - ${d.label}`, text) }];
  });
}

/**
 * The statements due at `epoch`: each customer whose previous billing cycle
 * closed after `from` (when mail began) and was not stated; a billing with
 * no zone in `local`, the log's.
 */
function dueStatements(
  config: Config,
  mail: MailConfig,
  samples: readonly Sample[],
  epoch: number,
  sent: ReadonlySet<string>,
  now: Date,
  from: number,
  local: Zone,
): Due[] {
  const first = samples[0]?.epoch ?? Infinity;
  const due: Due[] = [];
  const matched = customersOf(config, samples);
  const passes = new Map<string, { cal: Calendar; zone: Zone; buckets?: Map<number, BucketUsage> }>();
  config.customers.forEach((spec, i) => {
    const billingKey = JSON.stringify(spec.billing);
    let pass = passes.get(billingKey);
    if (!pass) {
      const zone = zoneNamed(spec.billing.timeZone, local);
      pass = { cal: calendar("cycle", zone, spec.billing.cycleDay), zone };
      passes.set(billingKey, pass);
    }
    const closed = pass.cal.bucketAt(pass.cal.bucketAt(epoch).start - 1);
    const key = `statement\t${spec.name}\t${closed.label}`;
    if (closed.end <= from || sent.has(key)) return; // settled before mail began, or stated
    if (first >= closed.end) {
      due.push({ key }); // the cycle closed before the log began: nothing to state
      return;
    }
    pass.buckets ??= bucketsOf(samples, pass.cal, epoch, true);
    const bucket = pass.buckets.get(closed.start);
    if (!bucket) return;
    const customer = matched[i] as CustomerColumns;
    const rows = rowsOf(bucket, { customers: [customer], customersOnly: true });
    const row = rows[0];
    if (!row) return;
    const csv = [...csvChunks(rows, pass.zone)].join("");
    const lines = [
      `Statement for ${spec.name}, billing cycle ${closed.label}`,
      `(${isoWithOffset(pass.zone, closed.start)} to ${isoWithOffset(pass.zone, closed.end)}, end exclusive)`,
      "",
      ...(row.inBytes !== undefined ? [`In:    ${iecBytes(row.inBytes)} (${row.inBytes} bytes)`] : []),
      ...(row.outBytes !== undefined ? [`Out:   ${iecBytes(row.outBytes)} (${row.outBytes} bytes)`] : []),
      `Total: ${iecBytes(row.totalBytes)} (${row.totalBytes} bytes)`,
      `95th percentile: ${row.p95 === undefined ? "not computed" : siRate(row.p95)}` +
      (row.p95In !== undefined ? ` (in ${siRate(row.p95In)}, out ${siRate(row.p95Out ?? 0)})` : "") +
      (spec.commit ? `; ${commitText(spec.commit.bps, row.p95)}` : ""),
      `Coverage: ${percentText(row.coverage)} of the cycle; resets: ${row.resets}`,
      ...quotaLines([spec], rows).map((l) => `Quota: ${l}`),
      "",
      "The attached CSV is this cycle's row as 'netmon summary --by cycle --csv' gives it.",
    ];
    const m = message(
      mail,
      key,
      now,
      `netmon statement for ${spec.name} - ${closed.label}`,
      lines.join("\n") + "\n",
      spec.statementTo ?? mail.to,
    );
    m.attachments = [{
      filename: `netmon-${spec.name.replace(/[^A-Za-z0-9._-]+/g, "_")}-${closed.label.slice(0, 10)}.csv`,
      content: csv,
    }];
    due.push({ key, message: m });
  });
  return due;
}

/**
 * The digests and statements `[mail] send` asks for that are due at `epoch`
 * and not in `sent`; no statement for a cycle that closed at or before
 * `from`, the instant mail began. A billing with no zone is in the zone of
 * the log's stamps (`local`: by default read from its record when first
 * needed), as the summary's cycles are.
 */
export function dueDigests(
  config: Config,
  mail: MailConfig,
  log: string,
  epoch: number,
  sent: ReadonlySet<string>,
  now: Date,
  from = -Infinity,
  local?: () => Zone,
): Due[] {
  const daily = mail.send.includes("daily");
  const cycle = mail.send.includes("cycle") && config.customers.length > 0;
  if (!daily && !cycle) return [];
  let read: Zone | undefined;
  const logs = () => read ??= (local ?? (() => logZone(log)))();
  // Read the log only when something may be due: once a day, not every run.
  const zone = zoneNamed(config.billing.timeZone, logs);
  const days = calendar("day", zone);
  const yesterday = days.bucketAt(days.bucketAt(epoch).start - 1).label;
  const dailyMaybe = daily && !sent.has(`daily\t${yesterday}`);
  // The cycle that closed last, once per billing (a thousand customers share a few).
  const closedCycles = new Map<string, Bucket>();
  const cycleMaybe = cycle && config.customers.some((spec) => {
    const billing = `${spec.billing.cycleDay} ${spec.billing.timeZone ?? ""}`;
    let closed = closedCycles.get(billing);
    if (closed === undefined) {
      const cal = calendar("cycle", zoneNamed(spec.billing.timeZone, logs), spec.billing.cycleDay);
      closedCycles.set(billing, closed = cal.bucketAt(cal.bucketAt(epoch).start - 1));
    }
    return closed.end > from && !sent.has(`statement\t${spec.name}\t${closed.label}`);
  });
  if (!dailyMaybe && !cycleMaybe) return [];
  const samples = logSamples(log, logs());
  return [
    ...(dailyMaybe ? dueDaily(config, mail, samples, epoch, sent, now, logs()) : []),
    ...(cycleMaybe ? dueStatements(config, mail, samples, epoch, sent, now, from, logs()) : []),
  ];
}
