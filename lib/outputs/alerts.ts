/**
 * Telling people when it matters: a quota's thresholds passed (once per
 * threshold and cycle), the projection passing a quota, a 95th-percentile
 * commit passed, and (with `[mail] send`) a daily digest and each customer's
 * statement when a cycle closes.
 *
 * All of it runs as one report output, with the state lock held once the
 * sample is logged: the cycle tally is brought up to the new sample (from
 * the log when it is not at the previous one), what is due and not in the
 * sent ledger is written to the mail spool, and only then recorded in the
 * ledger. A crash between the two leaves a spooled message that the next run
 * finds by its name (derived from what it is about) instead of spooling it
 * again; a crash before the spool write leaves it due for the next run. So a
 * SIGKILL at any instant neither loses an alert nor sends it twice, but for
 * the one recognisable repeat (same Message-ID) a crash between the server's
 * acceptance and the spool removal can give, as for reports. What is due in
 * one run is spooled, and so delivered, in the order of {@linkcode dueAlerts}.
 *
 * What is mailed is about what closes while netmon mails. The first report
 * that mails notes in the ledger the instant it mails from (`mail from`): its
 * sample's, as a cycle that closed before it was settled without netmon's
 * mail (a log moved in from another machine, `[mail]` added to a setup that
 * ran without it); the sample before's when the ledger was kept before it
 * (without `[mail]`, or by a version without the note, which mailed up to
 * there). A cycle that closed by then gets no alert and no statement, then
 * or later; the cycle in progress gets every alert it is due, thresholds
 * passed before included.
 *
 * With no `[mail]` section nothing can be sent: a threshold passed is said
 * on the report's stderr (one line a run) and recorded in the ledger as a
 * sent one is, so that adding `[mail]` later mails what passes from then on,
 * not a burst of what passed before. `--no-mail` is not that: what is due
 * then goes with the next run that mails (a `--no-mail` run notes `mail
 * from` as the first report that mails would: it only postpones).
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import type { MailConfig } from "../config/mail.ts";
import type { CustomerSpec } from "../config/customers.ts";
import type { Column } from "../config/meters.ts";
import { tidyTemporaries } from "../host/files.ts";
import { reached } from "../host/phases.ts";
import type { StateFiles } from "../state/files.ts";
import { openLog } from "../state/log_reader.ts";
import type { Recorded } from "../state/record.ts";
import {
  mailFrom,
  mailFromKey,
  pruneSent,
  readSent,
  readTally,
  recordSent,
  SENT_KEPT_DAYS,
  sentPath,
  tallyPath,
  writeTally,
} from "../state/tally_file.ts";
import { isWatched, reportColumns, type ReportPlan, reportPlan, type Watched } from "../usage/cycle_customers.ts";
import {
  advanceTally,
  counted,
  countedIn,
  customerClosed,
  customerCycle,
  type CustomerTally,
  cycleProjection,
  type CycleTally,
  p95SoFar,
  type Tally,
  type TallyPlan,
  type TallySample,
  thresholdBytes,
} from "../usage/cycle_tally.ts";
import { linesOfFile, samplesOf } from "../usage/log_samples.ts";
import { naiveStamp, stampToNaive } from "../usage/local_time.ts";
import { logZone } from "../state/zone_record.ts";
import { bytesShareText, percentText, quotaBytes, siRate } from "../usage/units.ts";
import { dayCounted, estimateText } from "../usage/projection.ts";
import { isoWithOffset, latestInstant, localZone, wallOf, type Zone, zoneNamed } from "../usage/zone.ts";
import type { SampleOutput } from "./output.ts";
import { spoolDir, type SpooledMessage, spoolOnce } from "./mail.ts";
import { keyId, messageId } from "./message_id.ts";
import { alertKey, type AlertKind, SentAlerts } from "./alert_keys.ts";
import { type Due, dueDigests } from "./digests.ts";

export type { Due };

/**
 * Brings the tally up to the log's end by reading the whole log (when the cached one cannot be used), its stamps in
 * `zone` (by default read from its record).
 */
export function tallyFromLog(log: string, plan: TallyPlan, zone: Zone = logZone(log)): Tally | undefined {
  const file = openLog(log);
  let tally: Tally | undefined;
  try {
    for (const s of samplesOf(linesOfFile(file, log), log, () => {}, zone)) {
      const counters = new Map<string, bigint>();
      s.columns.forEach((c, i) => counters.set(c, BigInt(s.counters[i] as number | bigint)));
      tally = advanceTally(tally, plan, { epoch: s.epoch, counters, resets: s.resets });
    }
  } finally {
    file.close();
  }
  return tally;
}

/**
 * The tally rebuilt from `log` for the report's plan `at` (of `specs` matched
 * to `columns`, `where` naming the config), with the plan it is for. A plan
 * made with no tally read matched none of the columns only the log has:
 * matched again to the rebuilt tally's, the tally is rebuilt once more if
 * that gives a commit customer other columns (its meter was split or unsplit
 * in the log), so that it is written for the plan the next report makes from
 * it, and rebuilt no more.
 */
export function rebuiltTally(
  log: string,
  at: ReportPlan,
  specs: readonly CustomerSpec[],
  columns: readonly Column[],
  where: string,
  local?: () => Zone,
): { tally: Tally | undefined; at: ReportPlan } {
  let tally = tallyFromLog(log, at.plan, local?.());
  if (tally === undefined) return { tally, at };
  const again = reportPlan(specs, columns, where, tally, local);
  if (again.print !== at.print) tally = tallyFromLog(log, again.plan, local?.());
  return { tally, at: again };
}

function cycleLabel(t: CustomerTally, zone: ReturnType<typeof zoneNamed>): string {
  const day = (epoch: number) => isoWithOffset(zone, epoch).slice(0, 10);
  return `${day(t.start)} .. ${day(t.end - 1)}`;
}

/**
 * The alerts due after `tally`'s sample (its local stamp `stamp`), not yet
 * in `sent` (with no `mail`, when the config has no `[mail]`: their keys
 * and subjects, no message): each quota threshold passed, the projection
 * passing the quota, each commit threshold passed; in each customer's
 * current cycle, and in the cycle that closed before it (a run that closed
 * it may have died before alerting, or the interval across the boundary
 * passed a threshold) unless it closed at or before `from`, the instant mail
 * began (see the module's header). A closed cycle's alerts name the first
 * sample after its close by its stamp in `zone`, the log's.
 *
 * In the order they are to be read in, which is the order they are spooled
 * and delivered in: by customer as the config lists them; for each, the
 * cycle that closed before the current one; in a cycle, the quota's
 * thresholds from the lowest, the projection, then the commit's thresholds
 * from the lowest (`alert_at` is ascending once parsed).
 */
export function dueAlerts(
  tally: Tally,
  watched: readonly Watched[],
  sent: ReadonlySet<string>,
  mail: MailConfig | undefined,
  stamp: string,
  now: Date,
  from = -Infinity,
  zone: () => Zone = localZone,
): Due[] {
  const due: Due[] = [];
  const sentAlerts = new SentAlerts(sent);
  for (let i = 0; i < watched.length; i++) {
    const w = watched[i] as Watched;
    const closed = tally.closed.get(w.billing);
    if (closed && closed.end > from && mayBeDue(w, closed, false)) {
      // As of the sample that closed it, not this run's (a check run late: a commit lowered the morning after).
      const closing = closed.closedBy === undefined ? undefined : naiveStamp(wallOf(zone(), closed.closedBy));
      const t = customerClosed(tally, w) as CustomerTally;
      due.push(...dueFor(w, t, undefined, sentAlerts, mail, closing, now, zone));
    }
    const cycle = tally.cycles.get(w.billing);
    if (cycle && mayBeDue(w, cycle, true)) {
      due.push(...dueFor(w, customerCycle(tally, w) as CustomerTally, tally.epoch, sentAlerts, mail, stamp, now, zone));
    }
  }
  return due;
}

/**
 * Whether anything may be due for `w` in `cycle` (`current`: the cycle so
 * far, not one that closed): its quota's first threshold passed, or a
 * projection or commit to work out. Most customers of a report are below
 * their first threshold: for them this is one sum of their columns.
 */
function mayBeDue(w: Watched, cycle: CycleTally, current: boolean): boolean {
  const quota = w.spec.quota;
  if (w.spec.commit || (current && quota?.alertProjected)) return true;
  return quota !== undefined &&
    countedIn(cycle, w.columns, quota.count) >= thresholdBytes(quota.bytes, quota.alertAt[0] as number);
}

/**
 * What is due for one customer's cycle `t`; `epoch`: the sample it is as of, undefined when the cycle closed;
 * `stamp`: that sample's log stamp, or the first sample's after the close (undefined: not known, a tally file
 * written before it was kept); `local`: the zone of a billing with none, the log's (as the tally's calendars).
 */
function dueFor(
  w: Watched,
  t: CustomerTally,
  epoch: number | undefined,
  sent: SentAlerts,
  mail: MailConfig | undefined,
  stamp: string | undefined,
  now: Date,
  local: () => Zone,
): Due[] {
  const quota = w.spec.quota;
  const commit = w.spec.commit;
  // The common case, with no message to write, is kept cheap: one report checks every customer.
  const used = quota ? counted(t, quota.count) : 0n;
  // None before a day of the cycle is counted: a rate over minutes warns of nothing (lib/usage/projection.ts).
  const projected = quota && epoch !== undefined ? cycleProjection(t, quota.count, epoch) : undefined;
  // The cycle so far, or as it closed (its rates then include the interval across its end); none before a day of the
  // cycle is counted, as for the projection: over ten hourly intervals the 95th percentile is a one-hour burst.
  const p95 = commit && (epoch === undefined || dayCounted(t, t.since ?? t.start, epoch))
    ? p95SoFar(t, w.columns)
    : undefined;
  const quotaDue = quota?.alertAt.filter((pct) => used >= thresholdBytes(quota.bytes, pct)) ?? [];
  const commitDue = p95 === undefined ? [] : commit?.alertAt.filter((pct) => p95 >= commit.bps * pct / 100) ?? [];
  // Too early to project, the cycle is still on course past the quota once what it used is past it.
  const projDue = quota?.alertProjected === true && epoch !== undefined && (projected ?? used) > quota.bytes;
  if (quotaDue.length === 0 && commitDue.length === 0 && !projDue) return [];
  const zone = zoneNamed(w.spec.billing.timeZone, local);
  // Keyed by the cycle's dates, not its start instant: a zone moved keeps them, and sends nothing again.
  const cycle = cycleLabel(t, zone);
  const due: Due[] = [];
  /** The key of an alert that did not go; a key a version before recorded it with is recorded again as now written. */
  const unsent = (kind: AlertKind, pct?: number): string | undefined => {
    const status = sent.status(kind, w.spec.name, cycle, pct);
    const key = alertKey(kind, w.spec.name, cycle, pct);
    if (status === "sent before") due.push({ key });
    return status === "due" ? key : undefined;
  };
  const keyed = (kind: AlertKind, pcts: readonly number[]) =>
    pcts.flatMap((pct) => {
      const key = unsent(kind, pct);
      return key === undefined ? [] : [[pct, key] as const];
    });
  const keys = {
    quota: keyed("quota", quotaDue),
    commit: keyed("commit", commitDue),
    projected: projDue ? unsent("projected") : undefined,
  };
  if (keys.quota.length === 0 && keys.commit.length === 0 && keys.projected === undefined) return due;
  /** The alert of `key`: its message, or with no `[mail]` its subject for stderr. */
  const alert = (key: string, subject: string, lines: string[]): Due => {
    if (!mail) return { key, unmailed: { customer: w.spec.name, subject } };
    return { key, message: alertMessage(mail, w.spec.alertTo ?? mail.to, key, now, subject, lines) };
  };
  const asOf = epoch !== undefined
    ? `As of the sample of ${stamp}`
    : stamp === undefined
    ? "As of the cycle's close"
    : `As of the cycle's close (the sample of ${stamp} is the first after it)`;
  if (quota) {
    // In the units the quota was written in: a "2 MB" quota reads 2.00 MB, not 1.91 MiB.
    const bytes = (b: bigint) => quotaBytes(b, quota.decimal);
    const figures = [
      `Used so far: ${bytes(used)} (${quota.count === "total" ? "in and out" : quota.count}` +
      `${quota.count === "total" && (t.in > 0n || t.out > 0n) ? `: in ${bytes(t.in)}, out ${bytes(t.out)}` : ""})`,
      `Quota: ${bytes(quota.bytes)} per billing cycle`,
      ...(epoch === undefined ? [] : [
        `Projected for the whole cycle: ${estimateText(projected, bytes)}`,
      ]),
      `Billing cycle: ${cycle} (${isoWithOffset(zone, t.start)} to ${isoWithOffset(zone, t.end)})`,
      asOf,
    ];
    const share = bytesShareText(used, quota.bytes);
    for (const [pct, key] of keys.quota) {
      due.push(alert(key, `netmon: ${w.spec.name} passed ${pct}% of its quota (${cycle})`, [
        `${w.spec.name} has passed ${pct}% of its quota in the billing cycle ${cycle}: ${share} used.`,
        "",
        ...figures,
      ]));
    }
    if (keys.projected !== undefined) {
      due.push(alert(keys.projected, `netmon: ${w.spec.name} is on course to pass its quota (${cycle})`, [
        (projected === undefined
          ? `${w.spec.name} has used ${bytes(used)} in the billing cycle ${cycle} already, `
          : `At its rate so far, ${w.spec.name} will use ${bytes(projected)} in the billing cycle ${cycle}, `) +
        `more than its quota of ${bytes(quota.bytes)}.`,
        "",
        ...figures,
      ]));
    }
  }
  if (commit && p95 !== undefined) {
    for (const [pct, key] of keys.commit) {
      due.push(alert(key, `netmon: ${w.spec.name} passed ${pct}% of its commit (${cycle})`, [
        `${w.spec.name}'s 95th percentile ${epoch === undefined ? "over" : "so far in"} the billing cycle ${cycle} ` +
        `is ${siRate(p95)}, ` +
        `${percentText(p95 / commit.bps)} of its commit of ${siRate(commit.bps)}.`,
        "",
        `Billing cycle: ${cycle}`,
        asOf,
      ]));
    }
  }
  return due;
}

/** An alert's message: its Message-ID comes from its key, so a repeat is recognisable as one. */
function alertMessage(
  mail: MailConfig,
  to: readonly string[],
  key: string,
  now: Date,
  subject: string,
  lines: string[],
): SpooledMessage {
  return {
    subject,
    text: lines.join("\n") + "\n",
    date: now.toISOString(),
    messageId: messageId(["netmon", keyId(key)], mail.helo),
    to: [...to],
    attach: false,
  };
}

/**
 * The instant netmon mails from (see the module's header): the ledger's
 * `mail from`, else, at the first report that mails, noted in the ledger
 * (`ledger`, whose keys are `sent`) and added to `sent`: the instant of the
 * tally's sample, or of the sample before (its stamp `previous`, in the log's
 * `zone`) when the ledger was kept before.
 */
function mailingFrom(
  ledger: string,
  sent: Set<string>,
  tally: Tally,
  previous: string | undefined,
  zone: () => Zone,
): number {
  const noted = mailFrom(sent);
  if (noted !== undefined) return noted;
  const from = previous !== undefined && sent.size > 0
    ? Math.min(latestInstant(zone(), stampToNaive(previous), tally.epoch), tally.epoch)
    : tally.epoch;
  const key = mailFromKey(from);
  recordSent(ledger, key);
  sent.add(key);
  return from;
}

/**
 * The first day (`YYYY-MM-DD`) whose ledger keys are kept: none that a check
 * may read again is before it. The checks read keys of the tally's current
 * and closed cycles (whatever their age: after a gap in the samples the
 * closed one is the last the tally saw close), of the statement cycle before
 * the current one (at most 31 days earlier), and of the last week's daily
 * digests; so keys go only when they are about days more than 40 days before
 * every cycle the tally holds, and more than {@linkcode SENT_KEPT_DAYS} before
 * `now` (a clock set back after a run with it ahead finds its keys).
 */
export function sentCutoff(tally: Tally, now: Date): string {
  let first = now.getTime() - SENT_KEPT_DAYS * 86_400_000;
  for (const cycles of [tally.cycles, tally.closed]) {
    for (const c of cycles.values()) first = Math.min(first, c.start - 40 * 86_400_000);
  }
  return new Date(first).toISOString().slice(0, 10);
}

/**
 * The lines saying which thresholds passed with no `[mail]` to send them:
 * one per customer, naming each (their subjects), in the order given;
 * `configFile` names the config to add `[mail]` to.
 */
export function unmailedNotes(
  items: readonly { customer: string; subject: string }[],
  configFile?: string,
): string[] {
  const byCustomer = new Map<string, string[]>();
  for (const { customer, subject } of items) {
    byCustomer.set(customer, [...byCustomer.get(customer) ?? [], subject.replace(/^netmon: /, "")]);
  }
  return [...byCustomer.values()].map((subjects) =>
    `${subjects.join("; ")}: not mailed, ${configFile ?? "the config"} has no [mail] section (recorded as passed: ` +
    `adding [mail] later does not send ${subjects.length === 1 ? "it" : "them"}; 'netmon check' shows where each ` +
    "quota stands)"
  );
}

/**
 * The output that keeps the tally and spools what is due: quota and commit
 * alerts for customers with a quota or commit, and with `[mail] send` the
 * daily digest and cycle statements. Undefined when the config asks for none
 * of it. With no `[mail]`, a threshold passed is given to `say` (by default
 * added to the run's warnings) before it is recorded as passed, so that a run
 * killed in between says it again rather than never.
 */
export function alertsOutput(
  config: Config,
  files: StateFiles,
  mail: MailConfig | undefined,
  say?: (note: string) => void,
): SampleOutput | undefined {
  const digests = mail?.send.some((s) => s !== "report") ?? false;
  const shown = config.fleet.textfile !== undefined && config.customers.length > 0;
  if (!config.customers.some(isWatched) && !digests && !shown) return undefined;
  return {
    name: "alerts",
    recorded(r: Recorded) {
      reached("report: sample logged");
      const columns = reportColumns(config.meters, () => r.sample.counters.keys());
      const where = config.file ?? "config";
      const path = tallyPath(files);
      // Read whatever plan it was made for: the columns it has counted are matched too (a meter split mid-cycle).
      const cached = readTally(path);
      reached("alerts: tally read");
      // A billing with no zone is the log's (read only if a calendar is needed, and once a report).
      const local = r.zone;
      let at = reportPlan(config.customers, columns, where, cached?.tally, local);
      reached("alerts: customers matched");
      const stampOf = cached?.stamp;
      let tally: Tally | undefined;
      if (cached && cached.fingerprint === at.print && r.previous && stampOf === r.previous.sample.timestamp) {
        // Every reset the report saw, those the counter shows and those only their identity shows.
        const sample: TallySample = {
          // The instant of its stamp's second, as the log is read (not one the repeated autumn hour makes ambiguous).
          epoch: Math.floor(r.epoch / 1000) * 1000,
          counters: r.sample.counters,
          resets: r.usage.resets,
        };
        tally = advanceTally(cached.tally, at.plan, sample);
      } else {
        ({ tally, at } = rebuiltTally(files.log, at, config.customers, columns, where, local));
      }
      reached("alerts: tally advanced");
      if (!tally) return;
      tidyTemporaries(files.dir, "netmon.cycles"); // a run killed while writing it
      writeTally(path, tally, at.print, r.sample.timestamp);
      reached("alerts: tally written");
      // With no [mail] at all, a threshold passed is said on stderr and recorded as passed: adding [mail] later
      // does not send a burst of what is past.
      const watched = at.watched;
      if (!mail && config.mail === undefined && watched.length === 0) return;
      const ledger = sentPath(files);
      const sent = readSent(ledger);
      reached("alerts: ledger read");
      // With --no-mail, what is due is left for the next run that mails: the instant mail begins is noted now, as
      // the first run that mails would note it, so that what closes before that run is not taken as settled.
      if (!mail && config.mail !== undefined) {
        mailingFrom(ledger, sent, tally, r.previous?.sample.timestamp, local);
        return;
      }
      // What closed before mail began was settled without it: not mailed now, nor later.
      const from = mail ? mailingFrom(ledger, sent, tally, r.previous?.sample.timestamp, local) : mailFrom(sent);
      const now = new Date();
      const due = dueAlerts(tally, watched, sent, mail, r.sample.timestamp, now, from, local);
      reached("alerts: quotas checked");
      if (digests && mail) due.push(...dueDigests(config, mail, files.log, tally.epoch, sent, now, from, local));
      reached("alerts: digests checked");
      const dir = spoolDir(files.dir);
      if (due.length > 0) {
        tidyTemporaries(dir);
        // The ledger is read every run: what no check will read again goes when something is added (at most daily).
        tidyTemporaries(files.dir, "netmon.sent");
        pruneSent(ledger, sentCutoff(tally, now));
      }
      // Said before they are recorded as passed: a run killed between says them again, never not at all.
      const tell = say ?? ((note: string) => r.warnings.push(note));
      for (const note of unmailedNotes(due.flatMap((d) => d.unmailed ?? []), config.file)) tell(note);
      // Spooled together, so with one date: named in the order they are due in, which is the order they go in.
      const width = String(due.length - 1).length;
      for (const [i, d] of due.entries()) {
        if (d.message) spoolOnce(dir, d.message, keyId(d.key), String(i).padStart(width, "0"));
        recordSent(ledger, d.key);
      }

      reached("alerts: spooled");
    },
  };
}
