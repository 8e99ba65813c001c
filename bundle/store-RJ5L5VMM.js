import {
  forEachLogSample,
  resolveWall,
  stampToNaive
} from "./chunk-P4776DEG.js";
import {
  EX,
  NetmonError
} from "./chunk-F6H2ZAXR.js";

// lib/store.ts
import { DatabaseSync } from "node:sqlite";
var TWO63 = 1n << 63n;
var TWO64 = 1n << 64n;
function toSigned(v) {
  return v >= TWO63 ? v - TWO64 : v;
}
function fromSigned(v) {
  return v < 0n ? v + TWO64 : v;
}
function stampEpoch(stamp, hint) {
  const h = resolveWall(stampToNaive(stamp), hint);
  return {
    epoch: Math.floor(h.epoch / 1e3),
    hint: h
  };
}
function storeError(err, path) {
  if (err instanceof NetmonError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof Deno.errors.NotCapable || /NotCapable|Requires (read|write) access/.test(msg)) {
    return new NetmonError(`SQLite store ${path}: ${msg}`, EX.NOPERM);
  }
  return new NetmonError(`SQLite store ${path}: ${msg} (the log has the sample; the next run catches up)`, EX.IOERR);
}
var SqliteStore = class _SqliteStore {
  path;
  #db;
  #insert;
  #max;
  #packets;
  constructor(path) {
    this.path = path;
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA busy_timeout = 30000");
    this.#db.exec("CREATE TABLE IF NOT EXISTS stats (stamp INTEGER, type TEXT, packets INTEGER, bytes INTEGER, PRIMARY KEY (stamp, type))");
    this.#insert = this.#db.prepare("INSERT OR REPLACE INTO stats (stamp, type, packets, bytes) VALUES (?, ?, ?, ?)");
    this.#max = this.#db.prepare("SELECT max(stamp) AS stamp FROM stats");
    this.#packets = this.#db.prepare("SELECT packets FROM stats WHERE type = ? ORDER BY stamp DESC LIMIT 1");
    this.#max.setReadBigInts(true);
    this.#packets.setReadBigInts(true);
  }
  /** Opens (creating if need be, mode 0640) the store at `path`. */
  static open(path) {
    try {
      try {
        Deno.lstatSync(path);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        Deno.writeFileSync(path, new Uint8Array(), {
          mode: 416,
          createNew: true
        });
      }
      return new _SqliteStore(path);
    } catch (err) {
      throw storeError(err, path);
    }
  }
  /** The newest stamp stored, if any. */
  lastStamp() {
    const row = this.#max.get();
    return row?.stamp === null || row?.stamp === void 0 ? void 0 : Number(row.stamp);
  }
  /** The newest packet count stored for `type`, or 0. */
  lastPackets(type) {
    const row = this.#packets.get(type);
    return row?.packets ?? 0n;
  }
  /** Stores samples in one transaction: all or none. */
  insert(rows) {
    let n = 0;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        for (const { epoch, sample } of rows) {
          for (const [type, bytes] of sample.counters) {
            const packets = sample.packets?.get(type);
            this.#insert.run(epoch, type, packets === void 0 ? null : toSigned(packets), toSigned(bytes));
            n++;
          }
        }
        this.#db.exec("COMMIT");
      } catch (err) {
        this.#db.exec("ROLLBACK");
        throw err;
      }
    } catch (err) {
      throw storeError(err, this.path);
    }
    return n;
  }
  /** Every row, oldest first, as stored counters (for tests and checks). */
  rows() {
    const q = this.#db.prepare("SELECT stamp, type, packets, bytes FROM stats ORDER BY stamp, rowid");
    q.setReadBigInts(true);
    return q.all().map((r) => ({
      stamp: Number(r.stamp),
      type: r.type,
      packets: r.packets === null ? null : fromSigned(r.packets),
      bytes: fromSigned(r.bytes)
    }));
  }
  close() {
    this.#db.close();
  }
};
async function logSamples(path, each) {
  let hint;
  let count = 0;
  try {
    await forEachLogSample(path, (sample) => {
      const e = stampEpoch(sample.timestamp, hint);
      hint = e.hint;
      each(e.epoch, sample);
      count++;
    });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new NetmonError(`${path}: no such log`, EX.NOINPUT);
    throw err;
  }
  return count;
}
async function importLog(store, log) {
  const batch = [];
  const samples = await logSamples(log, (epoch, sample) => batch.push({
    epoch,
    sample
  }));
  return {
    samples,
    rows: store.insert(batch)
  };
}
async function storeSample(store, log, previous, sample, intervalPackets) {
  const prev = previous ? stampEpoch(previous.timestamp) : void 0;
  const now = stampEpoch(sample.timestamp, prev?.hint);
  if (intervalPackets) {
    sample.packets = new Map([
      ...intervalPackets
    ].map(([t, p]) => [
      t,
      store.lastPackets(t) + p
    ]));
  }
  const last = store.lastStamp();
  if (prev && (last === void 0 || last < prev.epoch)) await importLog(store, log);
  store.insert([
    {
      epoch: now.epoch,
      sample
    }
  ]);
}
export {
  SqliteStore,
  fromSigned,
  importLog,
  logSamples,
  stampEpoch,
  storeSample,
  toSigned
};
