/**
 * `netmon.cycles`: the cycle tally (lib/usage/cycle_tally.ts) between runs,
 * and `netmon.sent`: what was alerted, digested or stated, one key a line,
 * and since when netmon mails (its `mail from` line).
 *
 * The tally is a cache: it says which sample it includes and for which
 * billings and customers with a commit (a fingerprint of its plan), and is
 * rebuilt from the log when it is missing, damaged, not at the log's previous
 * sample or made for another plan. It holds each column's usage per billing
 * cycle, so its size follows the columns and billings, not the customers. The sent ledger is not a cache: it is appended
 * to (whole lines, synced) after the message it records is in the spool, so
 * a crash between the two leaves a spooled message the next run finds, never
 * a recorded one that was not spooled.
 *
 * @module
 */

import { appendWhole, replaceFile } from "../host/files.ts";
import { readWholeText } from "../host/safe_open.ts";
import type { CycleRates, CycleTally, Tally } from "../usage/cycle_tally.ts";
import { STATE_MODE, type StateFiles } from "./files.ts";

/** The tally file of a state directory. */
export function tallyPath(files: StateFiles): string {
  return `${files.dir}/netmon.cycles`;
}

/** The sent ledger of a state directory. */
export function sentPath(files: StateFiles): string {
  return `${files.dir}/netmon.sent`;
}

/**
 * A billing's cycle as one array, `[start, end, since, bytes, resets]`, and
 * `firsts` after them when any column first appeared within the cycle
 * (since 0 when none; bytes, resets and firsts by column, bytes as decimal
 * text): arrays are the cheapest JSON to read and write, and this is both,
 * every run.
 */
type CycleRow =
  | [number, number, number, Record<string, string>, Record<string, number>]
  | [number, number, number, Record<string, string>, Record<string, number>, Record<string, number>];

/**
 * The version written. 9: a removed column is listed with the instant of its
 * last sample, where its interval starts should it come back (8 listed it
 * alone, and a column back in the log counted all its time away in the
 * interval of its return). 8: the columns that left the log (in `counters`, not
 * in the last sample: meters removed) are listed, `removed`, so a customer's
 * projection counts what they counted and no more (7 could not tell them
 * from the columns still there). 7: a cycle notes when each column new to the log
 * first appeared in it (its customer's projection counts from there; 6 did
 * not know it for a meter added this cycle). 6: a customer's rates are three
 * numbers per interval, in and out each with its columns of no direction
 * added (5 kept four: in and out without them, and all columns summed, the
 * percentile a customer mixing the two was billed). 5: a customer's rates are
 * NaN (null in the file) for intervals before its columns appeared, and a
 * column that left keeps its last counter; a file of version 4 may hold zero
 * rates for such intervals. A file of an older version is rebuilt from the
 * log as a damaged one is (once, on the first report).
 */
const VERSION = 9;

interface TallyJson {
  version: typeof VERSION;
  fingerprint: string;
  stamp: string;
  epoch: number;
  counters: Record<string, string>;
  /** Columns of `counters` not in the last sample, when any, each with the instant of its last sample. */
  removed?: Record<string, number>;
  intervals: number[];
  cycles: Record<string, CycleRow>;
  closed: Record<string, CycleRow>;
  /** By billing key, the first sample after its closed cycle's end (absent in files written before it was kept). */
  closedBy?: Record<string, number>;
  /** By customer with a commit: `[cycle start, rates]`, a rate none of its columns had as null. */
  rates: Record<string, [number, (number | null)[]]>;
  /** The same for its billing's previous cycle, as it closed. */
  closedRates: Record<string, [number, (number | null)[]]>;
}

const texts = (m: ReadonlyMap<string, bigint>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of m) out[k] = String(v);
  return out;
};

const bigints = (r: Record<string, string>): Map<string, bigint> => {
  const out = new Map<string, bigint>();
  for (const k in r) out.set(k, BigInt(r[k] as string));
  return out;
};

const rateRows = (m: ReadonlyMap<string, CycleRates>): Record<string, [number, number[]]> => {
  const out: Record<string, [number, number[]]> = {};
  for (const [k, r] of m) out[k] = [r.start, r.rates];
  return out;
};

const fromRateRows = (r: Record<string, [number, (number | null)[]]>): Map<string, CycleRates> | undefined => {
  const out = new Map<string, CycleRates>();
  for (const k in r) {
    const [start, list] = r[k] as [number, (number | null)[]];
    if (typeof start !== "number" || !Array.isArray(list)) return undefined;
    // JSON has no NaN: JSON.stringify wrote it as null.
    for (let i = 0; i < list.length; i++) if (list[i] === null) list[i] = NaN;
    out.set(k, { start, rates: list as number[] });
  }
  return out;
};

const toRows = (m: ReadonlyMap<string, CycleTally>): Record<string, CycleRow> => {
  const out: Record<string, CycleRow> = {};
  for (const [k, c] of m) {
    const row: CycleRow = [c.start, c.end, c.since ?? 0, texts(c.bytes), Object.fromEntries(c.resets)];
    if (c.firsts && c.firsts.size > 0) row.push(Object.fromEntries(c.firsts));
    out[k] = row;
  }
  return out;
};

const fromRows = (r: Record<string, CycleRow>): Map<string, CycleTally> => {
  const out = new Map<string, CycleTally>();
  for (const k in r) {
    const [start, end, since, bytes, resets, firsts] = r[k] as CycleRow;
    if (typeof start !== "number" || typeof end !== "number" || typeof resets !== "object") throw new Error("bad row");
    if (firsts !== undefined && (typeof firsts !== "object" || firsts === null)) throw new Error("bad row");
    const c: CycleTally = { start, end, bytes: bigints(bytes), resets: new Map(Object.entries(resets)) };
    if (since) c.since = since;
    if (firsts) c.firsts = new Map(Object.entries(firsts));
    out.set(k, c);
  }
  return out;
};

/** The tally as file text, with the fingerprint of the config it was made for and its sample's log stamp. */
export function formatTally(tally: Tally, fingerprint: string, stamp: string): string {
  const json: TallyJson = {
    version: VERSION,
    fingerprint,
    stamp,
    epoch: tally.epoch,
    counters: texts(tally.counters),
    intervals: tally.intervals,
    cycles: toRows(tally.cycles),
    closed: toRows(tally.closed),
    rates: rateRows(tally.rates),
    closedRates: rateRows(tally.closedRates),
  };
  if (tally.removed && tally.removed.size > 0) json.removed = Object.fromEntries(tally.removed);
  for (const [k, c] of tally.closed) if (c.closedBy !== undefined) (json.closedBy ??= {})[k] = c.closedBy;
  return JSON.stringify(json) + "\n";
}

/** A tally read back, with the log stamp of the sample it includes last. */
export interface CachedTally {
  /** The tally. */
  tally: Tally;
  /** Its last sample's stamp in the log. */
  stamp: string;
  /** The fingerprint of the plan it was made for. */
  fingerprint: string;
}

/** The most a tally or ledger file is read (a thousand customers' tally takes about 75 KB). */
const MAX_STATE_FILE = 64 << 20;

/**
 * Reads the tally, whatever plan it was made for (the caller compares its
 * fingerprint: the columns it has counted are part of a report's plan,
 * lib/usage/cycle_customers.ts `reportPlan`); undefined when missing,
 * damaged or of another version (rebuild it).
 */
export function readTally(path: string): CachedTally | undefined {
  const text = readWholeText(path, { what: "cycle tally" }, MAX_STATE_FILE);
  if (text === undefined) return undefined;
  try {
    const j = JSON.parse(text) as TallyJson;
    // An older version (3 kept no closed cycle's rates, 4 to 8 see VERSION) is rebuilt from the log, as a damaged one is.
    if (j.version !== VERSION || typeof j.fingerprint !== "string" || typeof j.epoch !== "number") return undefined;
    const rates = fromRateRows(j.rates);
    const closedRates = fromRateRows(j.closedRates);
    if (!rates || !closedRates) return undefined;
    const removed = j.removed === undefined ? [] : Object.entries(j.removed);
    if (removed.some(([, at]) => typeof at !== "number")) return undefined;
    const tally: Tally = {
      epoch: j.epoch,
      counters: bigints(j.counters),
      intervals: j.intervals,
      cycles: fromRows(j.cycles),
      closed: fromRows(j.closed),
      rates,
      closedRates,
    };
    if (removed.length > 0) tally.removed = new Map(removed);
    for (const k in j.closedBy) {
      const c = tally.closed.get(k), at = j.closedBy[k];
      if (c && typeof at === "number") c.closedBy = at;
    }
    return { tally, stamp: String(j.stamp), fingerprint: j.fingerprint };
  } catch {
    return undefined; // a damaged cache is rebuilt from the log
  }
}

/**
 * Replaces the tally file atomically (a new file renamed over it), without
 * syncing: it is a cache, checked against the log on every read, so a file
 * a power cut left empty, torn or old is rebuilt, never believed, and a
 * sync would make every run wait for the disk for nothing.
 */
export function writeTally(path: string, tally: Tally, fingerprint: string, stamp: string): void {
  replaceFile(path, formatTally(tally, fingerprint, stamp), STATE_MODE, "cycle tally", { durable: false });
}

/** The keys in the sent ledger (empty when there is none). */
export function readSent(path: string): Set<string> {
  const text = readWholeText(path, { what: "sent ledger" }, MAX_STATE_FILE);
  if (text === undefined) return new Set();
  // A last line without its newline was being appended when a run died: it was not recorded.
  const lines = text.split("\n");
  lines.pop();
  return new Set(lines.filter((l) => l !== ""));
}

/** Records `key` in the sent ledger (after a torn last line, if a run died appending one, on a line of its own). */
export function recordSent(path: string, key: string): void {
  // Through the safe open, which never blocks on a FIFO swapped in since readSent looked at the file.
  appendWhole(path, `${key}\n`, STATE_MODE, "sent ledger", { ownLine: true });
}

/** How the ledger line naming the instant netmon mails from begins (`mail from<TAB>2026-11-30T08:00:00.000Z`). */
const MAIL_FROM = "mail from\t";

/**
 * The ledger key noting that netmon mails from `epoch` on: a cycle that closed
 * by then, and its alerts, were settled without netmon's mail and are not
 * sent (lib/outputs/alerts.ts). Never pruned.
 */
export function mailFromKey(epoch: number): string {
  return `${MAIL_FROM}${new Date(epoch).toISOString()}`;
}

/** The instant the ledger's `mail from` line names (the earliest, were there two), or undefined when it has none. */
export function mailFrom(sent: ReadonlySet<string>): number | undefined {
  let from: number | undefined;
  for (const key of sent) {
    if (!key.startsWith(MAIL_FROM)) continue;
    const epoch = Date.parse(key.slice(MAIL_FROM.length));
    if (!Number.isNaN(epoch) && (from === undefined || epoch < from)) from = epoch;
  }
  return from;
}

/** How long a ledger key is kept: no check looks further back than the cycle that closed last (62 days at most). */
export const SENT_KEPT_DAYS = 100;

/**
 * The day a ledger key is about (`YYYY-MM-DD`: a daily digest's day, a
 * statement's or an alert's cycle start), or undefined for a key of another
 * form or the `mail from` line. Keys are tab-separated, and a customer name
 * holds no tab.
 */
function keyDay(key: string): string | undefined {
  if (key.startsWith(MAIL_FROM)) return undefined; // read by every run that mails, for good
  const fields = key.split("\t");
  const field = fields[0] === "daily" ? fields[1] : fields[2];
  const day = field?.slice(0, 10);
  return day !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(day) ? day : undefined;
}

/**
 * Drops from the ledger the keys about days before `cutoff` (`YYYY-MM-DD`),
 * which no check reads again, so that it stays the size of its last few
 * months however long netmon runs; keys of another form, and the `mail from`
 * line, are kept. Replaces the file atomically and durably (the ledger is
 * what makes a message go once), only when something is dropped. Call with
 * the state lock held.
 */
export function pruneSent(path: string, cutoff: string): number {
  const text = readWholeText(path, { what: "sent ledger" }, MAX_STATE_FILE);
  if (text === undefined) return 0;
  const lines = text.split("\n");
  lines.pop(); // "" after the last newline; else a line a killed run did not finish: not recorded (as readSent)
  const kept = lines.filter((l) => {
    const day = keyDay(l);
    return l !== "" && (day === undefined || day >= cutoff);
  });
  const dropped = lines.length - kept.length;
  if (dropped === 0) return 0;
  replaceFile(path, kept.map((l) => `${l}\n`).join(""), STATE_MODE, "sent ledger");
  return dropped;
}
