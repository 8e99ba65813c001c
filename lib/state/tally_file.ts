/**
 * `netmon.cycles`: the cycle tally (lib/usage/cycle_tally.ts) between runs,
 * and `netmon.sent`: what was alerted, digested or stated, one key a line.
 *
 * The tally is a cache: it says which sample it includes and for which
 * customers and billing cycles (a fingerprint of the config), and is rebuilt
 * from the log when it is missing, damaged, not at the log's previous sample
 * or made for another config. The sent ledger is not a cache: it is appended
 * to (whole lines, synced) after the message it records is in the spool, so
 * a crash between the two leaves a spooled message the next run finds, never
 * a recorded one that was not spooled.
 *
 * @module
 */

import { fileError } from "../host/errors.ts";
import { appendWhole, replaceFile } from "../host/files.ts";
import { readWholeText } from "../host/safe_open.ts";
import type { CustomerTally, Tally } from "../usage/cycle_tally.ts";
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
 * A customer's cycle as one array, `[start, end, in, out, both, resets,
 * since, rates]` (since 0 when none, rates only with a commit): a thousand
 * customers are read and written every run, and arrays are the cheapest JSON
 * to parse.
 */
type CustomerRow = [number, number, string, string, string, number, number, number[]?];

interface TallyJson {
  version: 2;
  fingerprint: string;
  stamp: string;
  epoch: number;
  counters: Record<string, string>;
  intervals: number[];
  customers: Record<string, CustomerRow>;
  closed: Record<string, CustomerRow>;
}

const toJson = (m: Map<string, CustomerTally>): Record<string, CustomerRow> => {
  const out: Record<string, CustomerRow> = {};
  for (const [k, t] of m) {
    const row: CustomerRow = [t.start, t.end, String(t.in), String(t.out), String(t.both), t.resets, t.since ?? 0];
    if (t.rates) row.push(t.rates);
    out[k] = row;
  }
  return out;
};

const fromJson = (r: Record<string, CustomerRow>): Map<string, CustomerTally> => {
  const out = new Map<string, CustomerTally>();
  for (const k in r) {
    const [start, end, i, o, b, resets, since, rates] = r[k] as CustomerRow;
    if (typeof start !== "number" || typeof end !== "number" || typeof resets !== "number") throw new Error("bad row");
    const t: CustomerTally = { start, end, in: BigInt(i), out: BigInt(o), both: BigInt(b), resets };
    if (since) t.since = since;
    if (rates) t.rates = rates;
    out.set(k, t);
  }
  return out;
};

/** The tally as file text, with the fingerprint of the config it was made for and its sample's log stamp. */
export function formatTally(tally: Tally, fingerprint: string, stamp: string): string {
  const json: TallyJson = {
    version: 2,
    fingerprint,
    stamp,
    epoch: tally.epoch,
    counters: Object.fromEntries([...tally.counters].map(([k, v]) => [k, String(v)])),
    intervals: tally.intervals,
    customers: toJson(tally.customers),
    closed: toJson(tally.closed),
  };
  return JSON.stringify(json) + "\n";
}

/** A tally read back, with the log stamp of the sample it includes last. */
export interface CachedTally {
  /** The tally. */
  tally: Tally;
  /** Its last sample's stamp in the log. */
  stamp: string;
}

/** The most a tally or ledger file is read (a thousand customers' tally takes about 75 KB). */
const MAX_STATE_FILE = 64 << 20;

/** Reads the tally for `fingerprint`; undefined when missing, damaged or made for another config (rebuild it). */
export function readTally(path: string, fingerprint: string): CachedTally | undefined {
  const text = readWholeText(path, { what: "cycle tally" }, MAX_STATE_FILE);
  if (text === undefined) return undefined;
  try {
    const j = JSON.parse(text) as TallyJson;
    if (j.version !== 2 || j.fingerprint !== fingerprint || typeof j.epoch !== "number") return undefined;
    const tally: Tally = {
      epoch: j.epoch,
      counters: new Map(Object.entries(j.counters).map(([k, v]) => [k, BigInt(v)])),
      intervals: j.intervals,
      customers: fromJson(j.customers),
      closed: fromJson(j.closed),
    };
    return { tally, stamp: String(j.stamp) };
  } catch {
    return undefined; // a damaged cache is rebuilt from the log
  }
}

/**
 * Replaces the tally file atomically (a new file renamed over it), without
 * syncing: it is a cache, checked against the log on every read, so a file
 * a power cut left empty, torn or old is rebuilt, never believed; and syncing
 * a thousand customers' file every run would cost more than the rest of the
 * quota check.
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
  let torn = false;
  try {
    const f = Deno.openSync(path, { read: true });
    try {
      const size = f.statSync().size;
      if (size > 0) {
        const last = new Uint8Array(1);
        f.seekSync(size - 1, Deno.SeekMode.Start);
        torn = f.readSync(last) === 1 && last[0] !== 10;
      }
    } finally {
      f.close();
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "read", path);
  }
  appendWhole(path, `${torn ? "\n" : ""}${key}\n`, STATE_MODE, "sent ledger");
}
