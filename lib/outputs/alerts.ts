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
 * acceptance and the spool removal can give, as for reports.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { type CustomerColumns, customerColumns, type CustomerSpec } from "../config/customers.ts";
import { allColumns } from "../config/meters.ts";
import type { MailConfig } from "../config/mail.ts";
import { ConfigError, fileError } from "../host/errors.ts";
import type { StateFiles } from "../state/files.ts";
import type { Recorded } from "../state/record.ts";
import { readSent, readTally, recordSent, sentPath, tallyPath, writeTally } from "../state/tally_file.ts";
import { type Calendar, calendar } from "../usage/calendar.ts";
import {
  advanceTally,
  counted,
  type CustomerTally,
  p95SoFar,
  projection,
  type Tally,
  type TallyCustomer,
  type TallySample,
} from "../usage/cycle_tally.ts";
import { linesOfFile, samplesOf } from "../usage/log_samples.ts";
import { resolveWall, stampToNaive } from "../usage/local_time.ts";
import { iecBytes, siRate } from "../usage/units.ts";
import { isoWithOffset, zoneNamed } from "../usage/zone.ts";
import type { SampleOutput } from "./output.ts";
import { spoolDir, type SpooledMessage, spoolOnce } from "./mail.ts";
import { type Due, dueDigests } from "./digests.ts";
import { tidySpool } from "./spool_tidy.ts";

export type { Due };

/** A customer the tally is kept for, with what the config says of it. */
export interface Watched extends TallyCustomer {
  /** The config's customer. */
  spec: CustomerSpec;
}

/** The customers with a quota or a commit (with `all`, every customer), matched to `columns`. */
export function watchedCustomers(
  specs: readonly CustomerSpec[],
  columns: readonly string[],
  where: string,
  all = false,
): Watched[] {
  const wanted = all ? [...specs] : specs.filter((s) => s.quota !== undefined || s.commit !== undefined);
  if (wanted.length === 0) return [];
  let matched: CustomerColumns[];
  try {
    matched = customerColumns(wanted, columns.map((name) => ({ name, label: name })), where);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  // One calendar per billing, shared by its customers (the tally looks each one's cycle up once).
  const calendars = new Map<string, Calendar>();
  return wanted.map((spec, i) => {
    const billing = `${spec.billing.cycleDay} ${spec.billing.timeZone ?? ""}`;
    let cycles = calendars.get(billing);
    if (!cycles) {
      calendars.set(billing, cycles = calendar("cycle", zoneNamed(spec.billing.timeZone), spec.billing.cycleDay));
    }
    return { spec, columns: matched[i] as CustomerColumns, cycles, rates: spec.commit !== undefined };
  });
}

/**
 * The customers the cycle tally is kept for: those with a quota or a commit,
 * and every customer when the Prometheus textfile shows their cycles. Their
 * columns are the config's meters' (the sample's, `sampled`, for the
 * interface source). The report, `netmon check` and the textfile all take
 * them from here, so they agree on the tally's fingerprint.
 */
export function talliedCustomers(config: Config, sampled: Iterable<string>): Watched[] {
  const columns = config.meters.length > 0 ? allColumns(config.meters).map((c) => c.name) : [...sampled];
  return watchedCustomers(config.customers, columns, config.file ?? "config", config.fleet.textfile !== undefined);
}

/**
 * What the tally was made for, as a short hash: a different config (another
 * customer, column or billing) makes it stale. Two 32-bit FNV-1a hashes of
 * the customers' columns and billing, so the tally file does not carry the
 * whole config.
 */
export function fingerprint(watched: readonly Watched[]): string {
  let a = 0x811c9dc5, b = 0x01000193 ^ watched.length;
  const add = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    a = Math.imul(a ^ 0x1f, 0x01000193); // a separator no name holds
    b = Math.imul(b ^ 0x1f, 0x5bd1e995);
  };
  for (const w of watched) {
    add(w.columns.name);
    for (const cols of [w.columns.in, w.columns.out, w.columns.both]) {
      add(cols.join("\u001e"));
    }
    add(`${w.spec.billing.cycleDay} ${w.spec.billing.timeZone ?? ""} ${w.rates}`);
  }
  return `${(a >>> 0).toString(16).padStart(8, "0")}${(b >>> 0).toString(16).padStart(8, "0")}:${watched.length}`;
}

/** Brings the tally up to the log's end by reading the whole log (when the cached one cannot be used). */
export function tallyFromLog(log: string, watched: readonly Watched[]): Tally | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(log, { read: true });
  } catch (err) {
    throw fileError(err, "read log", log);
  }
  let tally: Tally | undefined;
  try {
    for (const s of samplesOf(linesOfFile(file, log), log, () => {})) {
      const counters = new Map<string, bigint>();
      s.columns.forEach((c, i) => counters.set(c, BigInt(s.counters[i] as number | bigint)));
      tally = advanceTally(tally, watched, { epoch: s.epoch, counters, resets: s.resets });
    }
  } finally {
    file.close();
  }
  return tally;
}

/** A percentage of `whole`, exactly in bytes (thresholds may have decimals). */
function percentOf(whole: bigint, percent: number): bigint {
  return whole * BigInt(Math.round(percent * 1000)) / 100_000n;
}

function cycleLabel(t: CustomerTally, zone: ReturnType<typeof zoneNamed>): string {
  const day = (epoch: number) => isoWithOffset(zone, epoch).slice(0, 10);
  return `${day(t.start)} .. ${day(t.end - 1)}`;
}

/**
 * The alerts due after `tally`'s sample (its local stamp `stamp`), not yet
 * in `sent`: each quota threshold passed, the projection passing the quota,
 * each commit threshold passed; in each customer's current cycle, and in the
 * cycle that closed before it (a run that closed it may have died before
 * alerting, or the interval across the boundary passed a threshold).
 */
export function dueAlerts(
  tally: Tally,
  watched: readonly Watched[],
  sent: ReadonlySet<string>,
  mail: MailConfig,
  stamp: string,
  now: Date,
): Due[] {
  const due: Due[] = [];
  for (const w of watched) {
    const closed = tally.closed.get(w.spec.name);
    if (closed) due.push(...dueFor(w, closed, undefined, sent, mail, stamp, now));
    const t = tally.customers.get(w.spec.name);
    if (t) due.push(...dueFor(w, t, tally.epoch, sent, mail, stamp, now));
  }
  return due;
}

/** What is due for one customer's cycle `t`; `epoch`: the sample it is as of, undefined when the cycle closed. */
function dueFor(
  w: Watched,
  t: CustomerTally,
  epoch: number | undefined,
  sent: ReadonlySet<string>,
  mail: MailConfig,
  stamp: string,
  now: Date,
): Due[] {
  const quota = w.spec.quota;
  const commit = w.spec.commit;
  // The common case, with no message to write, is kept cheap: one report checks every customer.
  const used = quota ? counted(t, quota.count) : 0n;
  const projected = quota && epoch !== undefined ? projection(t, used, epoch) : used;
  const p95 = commit && epoch !== undefined ? p95SoFar(t, w.columns) : undefined;
  const quotaDue = quota?.alertAt.filter((pct) => used >= percentOf(quota.bytes, pct)) ?? [];
  const commitDue = p95 === undefined ? [] : commit?.alertAt.filter((pct) => p95 >= commit.bps * pct / 100) ?? [];
  const projDue = quota?.alertProjected === true && epoch !== undefined && projected > quota.bytes;
  if (quotaDue.length === 0 && commitDue.length === 0 && !projDue) return [];
  const zone = zoneNamed(w.spec.billing.timeZone);
  const base = `${w.spec.name}\t${isoWithOffset(zone, t.start)}`;
  const keys = {
    quota: quotaDue.map((pct) => [pct, `quota\t${base}\t${pct}`] as const).filter(([, k]) => !sent.has(k)),
    commit: commitDue.map((pct) => [pct, `commit\t${base}\t${pct}`] as const).filter(([, k]) => !sent.has(k)),
    projected: projDue && !sent.has(`projected\t${base}`) ? `projected\t${base}` : undefined,
  };
  if (keys.quota.length === 0 && keys.commit.length === 0 && keys.projected === undefined) return [];
  const due: Due[] = [];
  const cycle = cycleLabel(t, zone);
  const to = w.spec.alertTo ?? mail.to;
  const asOf = epoch === undefined
    ? `As of the cycle's close (the sample of ${stamp} is the first after it)`
    : `As of the sample of ${stamp}`;
  if (quota) {
    const figures = [
      `Used so far: ${iecBytes(used)} (${quota.count === "total" ? "in and out" : quota.count}` +
      `${
        quota.count === "total" && (t.in > 0n || t.out > 0n) ? `: in ${iecBytes(t.in)}, out ${iecBytes(t.out)}` : ""
      })`,
      `Quota: ${iecBytes(quota.bytes)} per billing cycle`,
      ...(epoch === undefined ? [] : [`Projected for the whole cycle: ${iecBytes(projected)}`]),
      `Billing cycle: ${cycle} (${isoWithOffset(zone, t.start)} to ${isoWithOffset(zone, t.end)})`,
      asOf,
    ];
    const share = (100 * Number(used) / Number(quota.bytes)).toFixed(1);
    for (const [pct, key] of keys.quota) {
      due.push({
        key,
        message: alertMessage(mail, to, key, now, `netmon: ${w.spec.name} passed ${pct}% of its quota (${cycle})`, [
          `${w.spec.name} has passed ${pct}% of its quota in the billing cycle ${cycle}: ${share}% used.`,
          "",
          ...figures,
        ]),
      });
    }
    if (keys.projected !== undefined) {
      due.push({
        key: keys.projected,
        message: alertMessage(
          mail,
          to,
          keys.projected,
          now,
          `netmon: ${w.spec.name} is on course to pass its quota (${cycle})`,
          [
            `At its rate so far, ${w.spec.name} will use ${iecBytes(projected)} in the billing cycle ${cycle}, ` +
            `more than its quota of ${iecBytes(quota.bytes)}.`,
            "",
            ...figures,
          ],
        ),
      });
    }
  }
  if (commit && p95 !== undefined) {
    for (const [pct, key] of keys.commit) {
      due.push({
        key,
        message: alertMessage(mail, to, key, now, `netmon: ${w.spec.name} passed ${pct}% of its commit (${cycle})`, [
          `${w.spec.name}'s 95th percentile so far in the billing cycle ${cycle} is ${siRate(p95)}, ` +
          `${(100 * p95 / commit.bps).toFixed(1)}% of its commit of ${siRate(commit.bps)}.`,
          "",
          `Billing cycle: ${cycle}`,
          asOf,
        ]),
      });
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
    messageId: `<netmon.${keyId(key)}@${mail.helo}>`,
    to: [...to],
    attach: false,
  };
}

/** A short stable name for a ledger key (FNV-1a, 64 bits, in hex). */
export function keyId(key: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(key)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, "0");
}

/** The epoch of the recorded sample, resolved near the tally's last one (daylight saving's repeated hour). */
function epochOf(stamp: string, near: number | undefined): number {
  const naive = stampToNaive(stamp);
  const hint = near === undefined ? undefined : { epoch: near, offset: -new Date(near).getTimezoneOffset() * 60_000 };
  return resolveWall(naive, hint).epoch;
}

/**
 * The output that keeps the tally and spools what is due: quota and commit
 * alerts for customers with a quota or commit, and with `[mail] send` the
 * daily digest and cycle statements; the tally also feeds the Prometheus
 * textfile's cycle metrics. Undefined when the config asks for none of it.
 */
export function alertsOutput(
  config: Config,
  files: StateFiles,
  mail: MailConfig | undefined,
): SampleOutput | undefined {
  const digests = mail?.send.some((s) => s !== "report") ?? false;
  const shown = config.fleet.textfile !== undefined && config.customers.length > 0;
  if (!config.customers.some((c) => c.quota || c.commit) && !digests && !shown) return undefined;
  return {
    name: "alerts",
    recorded(r: Recorded) {
      const watched = talliedCustomers(config, r.sample.counters.keys());
      const print = fingerprint(watched);
      const path = tallyPath(files);
      const cached = readTally(path, print);
      const stampOf = cached?.stamp;
      let tally: Tally | undefined;
      if (cached && r.previous && stampOf === r.previous.sample.timestamp) {
        // Every reset the report saw, those the counter shows and those only their identity shows.
        const sample: TallySample = {
          epoch: epochOf(r.sample.timestamp, cached.tally.epoch),
          counters: r.sample.counters,
          resets: r.usage.resets,
        };
        tally = advanceTally(cached.tally, watched, sample);
      } else {
        tally = tallyFromLog(files.log, watched);
      }
      if (!tally) return;
      tidySpool(files.dir, "netmon.cycles"); // a run killed while writing it
      writeTally(path, tally, print, r.sample.timestamp);
      if (!mail) return;
      const ledger = sentPath(files);
      const sent = readSent(ledger);
      const now = new Date();
      const due = dueAlerts(tally, watched, sent, mail, r.sample.timestamp, now);
      if (digests) due.push(...dueDigests(config, mail, files.log, tally.epoch, sent, now));
      const dir = spoolDir(files.dir);
      if (due.length > 0) tidySpool(dir);
      for (const d of due) {
        if (d.message) spoolOnce(dir, d.message, keyId(d.key));
        recordSent(ledger, d.key);
      }
    },
  };
}
