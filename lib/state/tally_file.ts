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

interface TallyJson {
  version: 1;
  fingerprint: string;
  stamp: string;
  epoch: number;
  counters: Record<string, string>;
  intervals: number[];
  customers: Record<string, CustomerJson>;
  closed?: Record<string, CustomerJson>;
}

type CustomerJson = Omit<CustomerTally, "in" | "out" | "both"> & { in: string; out: string; both: string };

const toJson = (m: Map<string, CustomerTally>): Record<string, CustomerJson> =>
  Object.fromEntries([...m].map(([k, t]) => [k, { ...t, in: String(t.in), out: String(t.out), both: String(t.both) }]));

const fromJson = (r: Record<string, CustomerJson>): Map<string, CustomerTally> =>
  new Map(Object.entries(r).map(([k, t]) => [k, { ...t, in: BigInt(t.in), out: BigInt(t.out), both: BigInt(t.both) }]));

/** The tally as file text, with the fingerprint of the config it was made for and its sample's log stamp. */
export function formatTally(tally: Tally, fingerprint: string, stamp: string): string {
  const json: TallyJson = {
    version: 1,
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

/** Reads the tally for `fingerprint`; undefined when missing, damaged or made for another config (rebuild it). */
export function readTally(path: string, fingerprint: string): CachedTally | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw fileError(err, "read", path);
  }
  try {
    const j = JSON.parse(text) as TallyJson;
    if (j.version !== 1 || j.fingerprint !== fingerprint || typeof j.epoch !== "number") return undefined;
    const tally: Tally = {
      epoch: j.epoch,
      counters: new Map(Object.entries(j.counters).map(([k, v]) => [k, BigInt(v)])),
      intervals: j.intervals,
      customers: fromJson(j.customers),
      closed: fromJson(j.closed ?? {}),
    };
    return { tally, stamp: String(j.stamp) };
  } catch {
    return undefined; // a damaged cache is rebuilt from the log
  }
}

/** Replaces the tally file atomically. */
export function writeTally(path: string, tally: Tally, fingerprint: string, stamp: string): void {
  replaceFile(path, formatTally(tally, fingerprint, stamp), STATE_MODE, "cycle tally");
}

/** The keys in the sent ledger (empty when there is none). */
export function readSent(path: string): Set<string> {
  try {
    const text = Deno.readTextFileSync(path);
    // A last line without its newline was being appended when a run died: it was not recorded.
    const lines = text.split("\n");
    lines.pop();
    return new Set(lines.filter((l) => l !== ""));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return new Set();
    throw fileError(err, "read", path);
  }
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
