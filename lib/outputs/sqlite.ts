/**
 * The optional SQLite store (`store = "sqlite:FILE"`), through Deno's built-in
 * `node:sqlite`: every sample also goes into a table shaped like the 2004
 * article's,
 *
 *     stats(stamp INTEGER, type TEXT, packets INTEGER, bytes INTEGER,
 *           PRIMARY KEY (stamp, type))
 *
 * one row per column per sample: `stamp` the sample's Unix time, `type` the
 * log column (a pf label), `bytes` the cumulative counter as logged and
 * `packets` where the source counts them (else NULL). Of two samples in one
 * second the store keeps the later, as the PostgreSQL store does (see
 * store_rows.ts); a row already there with the same bytes is not written
 * again, and a row without packets (the log keeps none) leaves the stored
 * packets as they are.
 *
 * The log stays the source of truth. The store is written after the log,
 * under the same lock, and catches up from the log whenever it is behind
 * (a run that failed to write it, a store added later), so after a completed
 * run every logged sample is in it. SQLite's INTEGER is signed: counters of
 * 2^63 and above (23 years at 100 Gbit/s) are stored as their 64-bit two's
 * complement, negative, as nft's JSON prints them; add 2^64 to read them.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { EX, NetmonError } from "../host/errors.ts";
import { getUid } from "../host/env.ts";
import type { Hint } from "../usage/zone.ts";
import type { Recorded } from "../state/record.ts";
import { recordedSeconds, stampSeconds } from "../state/log_timed.ts";
import { logZone } from "../state/zone_record.ts";
import type { Sample } from "../state/log_format.ts";
import { forEachLogSample } from "../state/log_reader.ts";
import { dirOf, lstatOrUndefined, SafeFile } from "../host/safe_open.ts";
import { infoOf, othersWrite, REFUSED } from "../host/dir_trust.ts";
import { shellWord } from "../host/shell_word.ts";
import { lastOfEachSecond, type StoreCounts } from "./store_rows.ts";

const TWO63 = 1n << 63n;
const TWO64 = 1n << 64n;

/** A counter as SQLite's signed INTEGER holds it. */
export function toSigned(v: bigint): bigint {
  return v >= TWO63 ? v - TWO64 : v;
}

/** A stored INTEGER back to the counter. */
export function fromSigned(v: bigint): bigint {
  return v < 0n ? v + TWO64 : v;
}

function storeError(err: unknown, path: string): NetmonError {
  if (err instanceof NetmonError && err.exitCode === EX.NOPERM) return err;
  if (err instanceof NetmonError) {
    // A store netmon refuses to open (a link, a FIFO, a directory): the sample is logged all the same.
    const said = err.message.replace(`${path}: the SQLite store `, "").replace(/^SQLite store \S+: /, "");
    return new NetmonError(`SQLite store ${path}: ${said} (the log has the sample; the next run catches up)`, EX.IOERR);
  }
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof Deno.errors.NotCapable || /NotCapable|Requires (read|write) access/.test(msg)) {
    // node:sqlite's refusal names no flag: name it, as every other refusal does.
    const kind = /Requires (read|write) access/.exec(msg)?.[1];
    const said = kind ? `Deno denied ${kind} access: run it with --allow-${kind}=${path}` : msg;
    return new NetmonError(`SQLite store ${path}: ${said}`, EX.NOPERM);
  }
  return new NetmonError(`SQLite store ${path}: ${msg} (the log has the sample; the next run catches up)`, EX.IOERR);
}

/** An open store. */
export class SqliteStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #max: StatementSync;
  readonly #packets: StatementSync;

  private constructor(readonly path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA busy_timeout = 30000");
    this.#db.exec(
      "CREATE TABLE IF NOT EXISTS stats (stamp INTEGER, type TEXT, packets INTEGER, bytes INTEGER, PRIMARY KEY (stamp, type))",
    );
    // A row there already is rewritten only by a different one (a later sample of its second): `changes` then
    // says whether the row was written. Its packets stay where the new row has none: the log keeps bytes only,
    // so a catch-up, an import and a report's previous sample (see storeSample) know no packets.
    this.#insert = this.#db.prepare(
      "INSERT INTO stats (stamp, type, packets, bytes) VALUES (?, ?, ?, ?) ON CONFLICT (stamp, type) DO UPDATE " +
        "SET packets = coalesce(excluded.packets, stats.packets), bytes = excluded.bytes " +
        "WHERE stats.bytes IS NOT excluded.bytes " +
        "OR (excluded.packets IS NOT NULL AND stats.packets IS NOT excluded.packets)",
    );
    this.#max = this.#db.prepare("SELECT max(stamp) AS stamp FROM stats");
    this.#packets = this.#db.prepare("SELECT packets FROM stats WHERE type = ? ORDER BY stamp DESC LIMIT 1");
    this.#max.setReadBigInts(true);
    this.#packets.setReadBigInts(true);
  }

  /**
   * Opens (creating if need be, mode 0640) the store at `path`. SQLite opens
   * files by name, following links, so the store and its journal, WAL and
   * shared-memory files are first checked through safe_open (a regular file
   * of this user, or missing: a link planted there would have root create a
   * database anywhere), and the store is checked again once open. SQLite
   * opens the journal again by name on every transaction, where no check can
   * be between: a directory another user can write is refused first (the
   * report and import have refused it, and those above, already:
   * lib/config/trust.ts; this is for any other caller).
   */
  static open(path: string): SqliteStore {
    refuseLooseDirectory(path);
    try {
      const made = SafeFile.must(path, { what: "SQLite store", write: true, create: 0o640 });
      const want = made.statSync();
      made.close();
      for (const suffix of ["-journal", "-wal", "-shm"]) {
        SafeFile.open(`${path}${suffix}`, { what: "SQLite store's journal", write: true })?.close();
      }
      const store = new SqliteStore(path);
      const now = lstatOrUndefined(path);
      if (!now || now.ino !== want.ino || now.dev !== want.dev) {
        store.close();
        throw new NetmonError(
          `SQLite store ${path}: it changed while netmon opened it (another user tampering?)`,
          EX.CANTCREAT,
        );
      }
      return store;
    } catch (err) {
      throw storeError(err, path);
    }
  }

  /** The newest stamp stored, if any. */
  lastStamp(): number | undefined {
    const row = this.#max.get() as { stamp: bigint | null } | undefined;
    return row?.stamp === null || row?.stamp === undefined ? undefined : Number(row.stamp);
  }

  /** The newest packet count stored for `type`, or 0. */
  lastPackets(type: string): bigint {
    const row = this.#packets.get(type) as { packets: bigint | null } | undefined;
    return row?.packets ?? 0n;
  }

  /**
   * Stores samples (in log order) in one transaction, all or none: of
   * samples sharing a second, the last's rows (see store_rows.ts).
   */
  insert(samples: readonly { epoch: number; sample: Sample }[]): StoreCounts {
    const { samples: kept, superseded } = lastOfEachSecond(samples);
    const n: StoreCounts = { samples: samples.length, rows: superseded, stored: 0, present: 0, superseded, resets: 0 };
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        for (const { epoch, sample } of kept) {
          for (const [type, bytes] of sample.counters) {
            const packets = sample.packets?.get(type);
            const r = this.#insert.run(epoch, type, packets === undefined ? null : toSigned(packets), toSigned(bytes));
            n.rows++;
            if (Number(r.changes) > 0) n.stored++;
            else n.present++;
          }
        }
        this.#db.exec("COMMIT");
      } catch (err) {
        // SQLite has rolled back already after some errors (a full disk): the error to say is the first.
        try {
          this.#db.exec("ROLLBACK");
        } catch { /* no transaction left to roll back */ }
        throw err;
      }
    } catch (err) {
      throw storeError(err, this.path);
    }
    return n;
  }

  /** Every row, oldest first, as stored counters (for tests and checks). */
  rows(): { stamp: number; type: string; packets: bigint | null; bytes: bigint }[] {
    const q = this.#db.prepare("SELECT stamp, type, packets, bytes FROM stats ORDER BY stamp, rowid");
    q.setReadBigInts(true);
    return (q.all() as { stamp: bigint; type: string; packets: bigint | null; bytes: bigint }[]).map((r) => ({
      stamp: Number(r.stamp),
      type: r.type,
      packets: r.packets === null ? null : fromSigned(r.packets),
      bytes: fromSigned(r.bytes),
    }));
  }

  close(): void {
    this.#db.close();
  }
}

/**
 * Reads every sample of a log, with its Unix time, in order; `named`: a log
 * the user named, read through a link (see forEachLogSample).
 */
export async function logSamples(
  path: string,
  each: (epoch: number, sample: Sample) => void,
  named = false,
): Promise<number> {
  let hint: Hint | undefined;
  let count = 0;
  try {
    const zone = logZone(path, named);
    await forEachLogSample(
      path,
      (sample) => {
        const e = stampSeconds(zone, sample.timestamp, hint);
        hint = e.hint;
        each(e.epoch, sample);
        count++;
      },
      undefined,
      { follow: named },
    );
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new NetmonError(`${path}: no such log`, EX.NOINPUT);
    throw err;
  }
  return count;
}

/** Loads a whole log into the store in one transaction; says what it read and stored. */
export async function importLog(store: SqliteStore, log: string, named = false): Promise<StoreCounts> {
  const batch: { epoch: number; sample: Sample }[] = [];
  await logSamples(log, (epoch, sample) => batch.push({ epoch, sample }), named);
  return store.insert(batch);
}

/**
 * Stores the just-recorded sample `r`, first catching up from the log when
 * the store lacks the sample before it. The sample before (as netmon.last
 * has it: bytes, no packets) is stored again with it, in the same
 * transaction: the store may hold an earlier sample of its second (two runs
 * in one second, the later one's write failed) and would keep that for
 * good, since its newest second is the previous sample's and nothing seems
 * missing. Where the store holds the previous sample already, nothing is
 * written for it.
 */
export async function storeSample(
  store: SqliteStore,
  log: string,
  r: Pick<Recorded, "previous" | "sample" | "epoch" | "zone" | "intervalPackets">,
): Promise<void> {
  const { sample, intervalPackets } = r;
  const previous = r.previous?.sample;
  const { epoch, previous: prev } = recordedSeconds(r);
  if (intervalPackets) {
    sample.packets = new Map([...intervalPackets].map(([t, p]) => [t, store.lastPackets(t) + p]));
  }
  const last = store.lastStamp();
  const behind = prev !== undefined && (last === undefined || last < prev);
  // Behind: the whole log first, the newest stored second included (its later sample may be missing too).
  if (behind) await importLog(store, log);
  const again = previous && prev !== undefined && !behind ? [{ epoch: prev, sample: previous }] : [];
  store.insert([...again, { epoch, sample }]);
}

/**
 * Refuses (exit 77) a store whose directory a group or other users can write,
 * sticky or not, or another user owns (see {@linkcode SqliteStore.open}).
 * Where Deno may not look at the directory, lib/config/trust.ts's check (by
 * `stat`) is all there is.
 */
function refuseLooseDirectory(path: string): void {
  const dir = dirOf(path);
  let s: Deno.FileInfo;
  try {
    s = Deno.statSync(dir); // the directory a link leads to: lib/config/trust.ts looks at the links on the way
  } catch {
    return; // missing (SQLite says so) or not ours to look at
  }
  const uid = getUid();
  if (uid === null) return;
  const mode = (s.mode ?? 0) & 0o7777;
  if (othersWrite(infoOf(dir, s), uid, { stickyCounts: true }).length > 0) {
    const owner = uid === 0 ? "root:root" : `${uid}`;
    throw new NetmonError(
      `SQLite store ${path}: its directory ${dir} is writable or owned by another user (mode ${
        mode.toString(8).padStart(4, "0")
      }, uid ${s.uid}): another user could plant a journal SQLite rolls forged rows back from, or a FIFO it blocks ` +
        `on (${REFUSED}: chown ${owner} ${shellWord(dir)} && chmod go-w ${shellWord(dir)})`,
      EX.NOPERM,
    );
  }
}
