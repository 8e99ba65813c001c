/**
 * The PostgreSQL store for a fleet (`store = "postgresql://USER@HOST:PORT/DB"`):
 * every host's samples in one table shaped like the 2004 article's, with a
 * host column,
 *
 *     stats(host text, stamp bigint, type text, packets numeric(20,0), bytes numeric(20,0),
 *           PRIMARY KEY (host, stamp, type))
 *
 * one row per column per sample: `stamp` the sample's Unix time (seconds, as
 * in the SQLite store), `type` the log column, `bytes` the cumulative counter
 * as logged, `packets` where the source counts them (else NULL). PostgreSQL's
 * `bigint` is signed and stops at 2^63-1, so counters are `numeric(20,0)`:
 * exact for every 64-bit value up to 2^64-1, no two's-complement trick for
 * readers to undo; it costs a few bytes a row more than bigint.
 *
 * Beside it, the resets the log records that the counters cannot show (a
 * `# netmon reset:` line: a counter re-created that had passed its old value
 * by the next sample),
 *
 *     resets(host text, stamp bigint, type text, reason text, PRIMARY KEY (host, stamp, type))
 *
 * one row per such line, keyed as the row of the sample it comes before, and
 * written in the same statement as that row. A table of their own, not a
 * column of stats: stats keeps the article's shape (readers' `SELECT *` are
 * unchanged, and a reset is rare, one row in thousands), and a store made
 * before it gains it by `CREATE TABLE IF NOT EXISTS`, which takes no lock on
 * stats; `ALTER TABLE stats ADD COLUMN` would take stats' exclusive lock,
 * queued behind any summary reading it and holding every host's insert
 * behind it. `summary --store` applies them as the log's summary applies the
 * lines (a store without the table, which it never creates, as having none);
 * `netmon import` of a log already stored adds those missing.
 *
 * A batch sent twice (a run killed after its commit, a catch-up overlapping
 * what is there) must change nothing: a row already there is rewritten only
 * when it differs (`ON CONFLICT … DO UPDATE … WHERE … IS DISTINCT FROM`), so
 * a duplicate costs no rewritten row or dead tuple. That is when a later
 * sample has the same second: two samples in one second keep the later in
 * the store, as in the SQLite store (see store_rows.ts), both in the log.
 *
 * The log stays the source of truth: when the store lacks the previous
 * sample (the database was down, a store added later), the samples after the
 * newest one it holds for this host are loaded first. The client is
 * netmon's own (pg_wire.ts, on Deno's sockets: every npm client loads Node's
 * network layers, which alone cost more than the store's time budget), and
 * this module is imported only when a store is configured, so a report
 * without one starts as fast as before.
 *
 * @module
 */

import { ConfigError, denoPermissionError, EX, NetmonError } from "../host/errors.ts";
import { DB_PASSWORD_ENV, parseStoreUrl, type SslMode, type StoreUrl } from "../config/fleet.ts";
import { PgConnection, type PgValue, textArray } from "./pg_wire.ts";
import { readConfigFile } from "../host/safe_open.ts";
import type { TimedSample } from "../state/log_timed.ts";
import { addCounts, lastOfEachSecond, noCounts, type StoreCounts } from "./store_rows.ts";

export { parseStoreUrl, type SslMode, type StoreUrl, type TimedSample };

/** Where the store is and how to reach it. */
export interface PostgresOptions {
  /** `postgresql://USER@HOST:PORT/DB` (or `postgres://`); a password in it is refused. */
  url: string;
  /** This machine's name in the `host` column (the config's `host`, else the host name). */
  host: string;
  /** From {@linkcode dbPassword}. */
  password?: string | undefined;
  /** Default `verify-full` for a remote server, `disable` for 127.0.0.1, ::1 and localhost. */
  sslmode?: SslMode | undefined;
  /** PEM file of the CA to trust (verify-ca, verify-full); default: the system's. */
  caFile?: string | undefined;
  /** Seconds to wait for the connection (default 10). */
  connectTimeoutSeconds?: number | undefined;
  /** Milliseconds any one statement may take, on the server and on the client (default 30000). */
  statementTimeoutMs?: number | undefined;
  /** Called once the server has the connection request (see PgConnectOptions.onStarted). */
  onStarted?: (() => void) | undefined;
}

/** A sample read back from the store. */
export interface StoredSample {
  /** Resets the log recorded before it: column to reason (none: undefined). */
  resets?: Map<string, string>;
  /** The host that logged it. */
  host: string;
  /** Unix time, seconds. */
  epoch: number;
  /** Bytes per column. */
  counters: Map<string, bigint>;
  /** Packets per column, where stored. */
  packets: Map<string, bigint>;
}

/** Rows per INSERT statement (and columns per lastPackets query): a statement stays within a few MB. */
const BATCH_ROWS = 10_000;

/**
 * This host's ($1) rows given as arrays: stamps $2, columns $3, packets $4, bytes $5, all as text. Five
 * parameters whatever the number of rows (no VALUES list of 5 parameters a row against the protocol's 65535), and
 * an INSERT from a SELECT, which takes the condition of {@linkcode PostgresStore.insertIfFollows}; the server
 * parses it faster than a VALUES list of 200 rows (measured: 13.0 ms against 13.4 on a fresh server process, with
 * the condition; a VALUES list in a SELECT needs a cast a value and took 17.7 ms).
 */
const INSERT_ROWS = `INSERT INTO stats (host, stamp, type, packets, bytes)
  SELECT $1, r.stamp, r.type, r.packets, r.bytes
  FROM unnest($2::bigint[], $3::text[], $4::numeric[], $5::numeric[]) AS r(stamp, type, packets, bytes)`;
/**
 * This host's ($1) resets: stamps $6, columns $7, reasons $8 (see {@linkcode INSERT_ROWS}). A reason there already
 * is rewritten only by a different one.
 */
const INSERT_RESETS = `INSERT INTO resets (host, stamp, type, reason)
  SELECT $1, r.stamp, r.type, r.reason
  FROM unnest($6::bigint[], $7::text[], $8::text[]) AS r(stamp, type, reason)`;
const ON_RESET_CONFLICT = `ON CONFLICT (host, stamp, type) DO UPDATE SET reason = EXCLUDED.reason
  WHERE resets.reason IS DISTINCT FROM EXCLUDED.reason`;
/**
 * A row there already is rewritten only by a different one: a later sample
 * of its second. Its packets stay where the new row has none: the log keeps
 * bytes only, so a catch-up, an import and a report's previous sample (sent
 * again: see {@linkcode storeSample}) know no packets.
 */
const ON_CONFLICT = `ON CONFLICT (host, stamp, type) DO UPDATE
  SET bytes = EXCLUDED.bytes, packets = COALESCE(EXCLUDED.packets, stats.packets)
  WHERE stats.bytes IS DISTINCT FROM EXCLUDED.bytes
    OR (EXCLUDED.packets IS NOT NULL AND stats.packets IS DISTINCT FROM EXCLUDED.packets)`;

/**
 * Samples (one a second: see lastOfEachSecond) as rows in columns: stamps, types, packets (null where none), bytes,
 * as text; then their resets' stamps, types and reasons.
 */
function rowColumns(samples: Iterable<TimedSample>): PgValue[][] {
  const stamps: PgValue[] = [], types: PgValue[] = [], packets: PgValue[] = [], bytes: PgValue[] = [];
  const resetStamps: PgValue[] = [], resetTypes: PgValue[] = [], reasons: PgValue[] = [];
  for (const { epoch, sample } of samples) {
    const stamp = String(epoch);
    for (const [type, value] of sample.counters) {
      const p = sample.packets?.get(type);
      stamps.push(stamp);
      types.push(type);
      packets.push(p === undefined ? null : p.toString());
      bytes.push(value.toString());
    }
    for (const [type, reason] of sample.resets ?? []) {
      if (!sample.counters.has(type)) continue; // as the engine, which applies a reset to a column of the sample
      resetStamps.push(stamp);
      resetTypes.push(type);
      reasons.push(reason);
    }
  }
  return [stamps, types, packets, bytes, resetStamps, resetTypes, reasons];
}

/**
 * The password: `passwordFile`'s first line, else `NETMON_DB_PASSWORD`, else none (trust or peer auth). The file is
 * read as mail.password_file is: a regular file (a link to one followed), at most 64 KiB, never waited on forever.
 */
export async function dbPassword(
  passwordFile: string | undefined,
  env: (name: string) => string | undefined,
): Promise<string | undefined> {
  if (passwordFile !== undefined) {
    const text = await readConfigFile(passwordFile, "postgresql.password_file", 1 << 16);
    const password = (text.split("\n")[0] ?? "").replace(/\r$/, "");
    if (password === "") throw new ConfigError(`${passwordFile}: the store's password_file is empty`);
    return password;
  }
  const password = env(DB_PASSWORD_ENV);
  return password === "" ? undefined : password;
}

const LOCAL = ["127.0.0.1", "::1", "localhost"];

// The wire client's codes for a server that cannot be reached or went away, and the server's own.
const DOWN = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, shutting down)
  "53300", // too_many_connections
  "57014", // query_canceled (statement_timeout)
  "40001", // serialization_failure
  "40P01", // deadlock_detected
]);

/** Whether `err` (a query's, as {@linkcode storeError} made it) is PostgreSQL's undefined_table (42P01). */
function undefinedTable(err: unknown): boolean {
  return ((err as NetmonError).cause as { code?: unknown } | undefined)?.code === "42P01";
}

/**
 * One line for a failure of the store at `where` (user@host:port/db), never
 * holding the password, with the status: 75 when the server is down or slow
 * (the log has the sample, the next run catches up), 77 for a refused login
 * or a Deno permission, 78 for a missing database or an untrusted
 * certificate, 75 otherwise.
 */
export function storeError(err: unknown, where: string, password?: string): NetmonError {
  if (err instanceof NetmonError) return err;
  const denied = denoPermissionError(err);
  if (denied) return denied;
  const e = err as { code?: unknown; message?: unknown; errno?: unknown };
  const code = typeof e?.code === "string" ? e.code : "";
  let msg = (typeof e?.message === "string" ? e.message : String(err)).split("\n")[0] ?? "";
  if (password) msg = msg.split(password).join("***");
  const head = `PostgreSQL store ${where}`;
  const later = "(the log has the sample; the next run catches up)";
  if (code === "28P01" || code === "28000") {
    return new NetmonError(`${head}: login refused: ${msg} (check the user and the password_file)`, EX.NOPERM, {
      cause: err,
    });
  }
  if (code === "3D000") {
    return new NetmonError(`${head}: ${msg}: create it (CREATE DATABASE) or fix the store URL`, EX.CONFIG, {
      cause: err,
    });
  }
  if (code === "AUTH_METHOD") return new NetmonError(`${head}: ${msg}`, EX.CONFIG, { cause: err });
  if (
    code === "NO_TLS" || code === "SSL_CONFIG" ||
    /certificate|self[- ]signed|CERT_|altnames|Hostname\/IP does not match/i.test(msg + code)
  ) {
    return new NetmonError(`${head}: TLS: ${msg} (check ca_file and sslmode)`, EX.CONFIG, { cause: err });
  }
  if (DOWN.has(code) || /timeout|timed out|refused|reset|closed|unreachable/i.test(msg)) {
    return new NetmonError(`${head}: unavailable: ${msg} ${later}`, EX.TEMPFAIL, { cause: err });
  }
  return new NetmonError(`${head}: ${msg}${code ? ` (${code})` : ""} ${later}`, EX.TEMPFAIL, { cause: err });
}

/** The CA certificates to trust for `mode`, from `caFile` (none for disable and require): the only ones trusted. */
async function caCerts(mode: SslMode, caFile: string | undefined): Promise<string[] | undefined> {
  if (caFile === undefined || mode === "disable" || mode === "require") return undefined;
  const pem = await readConfigFile(caFile, "postgresql.ca_file", 1 << 20);
  // An empty or wrong file would trust nothing and fail every handshake with a message about the server's side.
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ConfigError(
      `${caFile}: postgresql.ca_file holds no PEM certificate ("-----BEGIN CERTIFICATE-----"): name the CA's certificate`,
    );
  }
  return [pem];
}

/** `$first, $first+1, …` for `n` values: a list of parameters. */
function placeholders(n: number, first = 1): string {
  return Array.from({ length: n }, (_, i) => `$${first + i}`).join(", ");
}

/** An open connection to the store, for one host's samples. */
export class PostgresStore {
  readonly #conn: PgConnection;
  readonly #where: string;
  readonly #password: string | undefined;
  /** Whether {@linkcode PostgresStore.samples} reads the resets table (not when {@linkcode PostgresStore.openToRead} found none). */
  #resets = true;
  /** This machine's name in the host column. */
  readonly host: string;

  private constructor(conn: PgConnection, where: string, host: string, password: string | undefined) {
    this.#conn = conn;
    this.#where = where;
    this.host = host;
    this.#password = password;
  }

  /**
   * Connects and creates the table if it is missing. Throws a NetmonError
   * (see {@linkcode storeError}).
   */
  static async open(opts: PostgresOptions): Promise<PostgresStore> {
    const store = await PostgresStore.connect(opts);
    try {
      await store.createTable();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /**
   * Connects to read only, creating nothing (`summary --store`, whose user
   * may have SELECT alone): one query for which tables are there. Without
   * stats, a NetmonError (exit 66) saying no samples are stored yet; without
   * resets (a store made before it), the samples are read with no resets.
   */
  static async openToRead(opts: PostgresOptions): Promise<PostgresStore> {
    const store = await PostgresStore.connect(opts);
    try {
      const there = await store.tables();
      if (!there.stats) {
        throw new NetmonError(
          `PostgreSQL store ${store.#where}: no samples stored yet (no table stats: the first report or ` +
            "'netmon import' with this store creates it)",
          EX.NOINPUT,
        );
      }
      store.#resets = there.resets;
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /**
   * Connects and logs in, without a statement: the table is not looked at,
   * so a writer must use {@linkcode PostgresStore.open} or
   * {@linkcode PostgresStore.lastStampOrTable}, which create it if it is
   * missing (a reader: {@linkcode PostgresStore.tables}). A report uses the latter: one round trip, not two, before its
   * sample can go in.
   */
  static async connect(opts: PostgresOptions): Promise<PostgresStore> {
    const url = parseStoreUrl(opts.url);
    if (opts.host === "" || opts.host.length > 255) throw new ConfigError("host: must be 1 to 255 characters");
    const where = `${url.user}@${url.host.includes(":") ? `[${url.host}]` : url.host}:${url.port}/${url.database}`;
    const mode = opts.sslmode ?? (LOCAL.includes(url.host) ? "disable" : "verify-full");
    const ca = await caCerts(mode, opts.caFile);
    try {
      const conn = await PgConnection.connect({
        host: url.host,
        port: url.port,
        user: url.user,
        database: url.database,
        password: opts.password,
        sslmode: mode,
        caCerts: ca,
        connectTimeoutMs: (opts.connectTimeoutSeconds ?? 10) * 1000,
        statementTimeoutMs: opts.statementTimeoutMs ?? 30_000,
        onStarted: opts.onStarted,
      });
      return new PostgresStore(conn, where, opts.host, opts.password);
    } catch (err) {
      throw storeError(err, where, opts.password);
    }
  }

  /** Runs one statement; a NetmonError (see {@linkcode storeError}) on failure. */
  async #query(sql: string, params: readonly PgValue[] = []): Promise<PgValue[][]> {
    try {
      return await this.#conn.query(sql, params);
    } catch (err) {
      throw storeError(err, this.#where, this.#password);
    }
  }

  /** Creates the tables if they are missing (resets: a store made before it gains it). */
  async createTable(retried = false): Promise<void> {
    try {
      await this.#query(`CREATE TABLE IF NOT EXISTS stats (
          host text NOT NULL,
          stamp bigint NOT NULL,
          type text NOT NULL,
          packets numeric(20,0),
          bytes numeric(20,0) NOT NULL,
          PRIMARY KEY (host, stamp, type)
        )`);
      await this.#query(`CREATE TABLE IF NOT EXISTS resets (
          host text NOT NULL,
          stamp bigint NOT NULL,
          type text NOT NULL,
          reason text NOT NULL,
          PRIMARY KEY (host, stamp, type)
        )`);
    } catch (err) {
      // Two hosts creating the table at once: one wins, the other sees it exists (and tries once more: then the
      // table is there).
      if (!retried && /duplicate key|already exists/.test(String((err as NetmonError).cause))) {
        return await this.createTable(true);
      }
      throw err;
    }
  }

  /**
   * {@linkcode PostgresStore.lastStamp}, creating the table when it is
   * missing (then nothing is stored): a store opened with
   * {@linkcode PostgresStore.connect} needs no other statement first (the
   * resets table, missing in a store made before it, is made by the insert
   * that needs it).
   */
  async lastStampOrTable(): Promise<number | undefined> {
    try {
      return await this.lastStamp();
    } catch (err) {
      if (!undefinedTable(err)) throw err;
      await this.createTable();
      return undefined;
    }
  }

  /** Which of the tables are there (as the user's search_path finds them), without creating any. */
  async tables(): Promise<{ stats: boolean; resets: boolean }> {
    const rows = await this.#query("SELECT to_regclass('stats') IS NOT NULL, to_regclass('resets') IS NOT NULL");
    return { stats: rows[0]?.[0] === "t", resets: rows[0]?.[1] === "t" };
  }

  /** The newest stamp stored for this host, if any. */
  async lastStamp(): Promise<number | undefined> {
    const rows = await this.#query("SELECT max(stamp) FROM stats WHERE host = $1", [this.host]);
    const v = rows[0]?.[0];
    return v === null || v === undefined ? undefined : Number(v);
  }

  /**
   * The newest packet count stored for each of this host's columns `types`
   * (0 for a column with none), in one query per 10,000 columns: each
   * column's newest row with packets, found through the primary key from the
   * newest stamp back.
   */
  async lastPackets(types: readonly string[]): Promise<Map<string, bigint>> {
    const out = new Map(types.map((t) => [t, 0n]));
    for (let i = 0; i < types.length; i += BATCH_ROWS) {
      const some = types.slice(i, i + BATCH_ROWS);
      const rows = await this.#query(
        `SELECT t.type, p.packets::text FROM (VALUES ${some.map((_, k) => `($${k + 2})`).join(", ")}) AS t(type)
        CROSS JOIN LATERAL (SELECT packets FROM stats WHERE host = $1 AND type = t.type
          AND packets IS NOT NULL ORDER BY stamp DESC LIMIT 1) AS p`,
        [this.host, ...some],
      );
      for (const [type, packets] of rows) out.set(type as string, BigInt(packets as string));
    }
    return out;
  }

  /**
   * Stores samples (in log order) all or none, in one statement up to 10,000
   * rows (a report's sample), else in one transaction of such batches: of
   * samples sharing a second, the last's rows; rows already there the same
   * are left as they are. Counters go as text, so every value up to 2^64-1
   * stays exact. Says how many rows were written and how many were there.
   */
  async insert(samples: readonly TimedSample[], retried = false): Promise<StoreCounts> {
    const { samples: kept, superseded } = lastOfEachSecond(samples);
    const columns = rowColumns(kept);
    const rows = columns[0]!.length;
    const n: StoreCounts = {
      samples: samples.length,
      rows: rows + superseded,
      stored: 0,
      present: 0,
      superseded,
      resets: 0,
    };
    if (rows === 0) return n;
    const insert = async (from: number, to: number, resets: boolean) => {
      const written = await this.#query(
        `WITH ins AS (${INSERT_ROWS} ${ON_CONFLICT} RETURNING 1),
          res AS (${INSERT_RESETS} ${ON_RESET_CONFLICT} RETURNING 1)
          SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM res)`,
        [
          this.host,
          ...columns.slice(0, 4).map((c) => textArray(c.slice(from, to))),
          // A batch's resets go with its first statement: the transaction holds all or none.
          ...columns.slice(4).map((c) => textArray(resets ? c : [])),
        ],
      );
      n.stored += Number(written[0]?.[0] ?? 0);
      n.resets += Number(written[0]?.[1] ?? 0);
    };
    try {
      await this.#insertRows(rows, insert);
    } catch (err) {
      if (!undefinedTable(err) || retried) throw err; // a store made before the resets table
      await this.createTable();
      return await this.insert(samples, true);
    }
    n.present = rows - n.stored;
    return n;
  }

  /** Runs `insert` over `rows` rows: one statement up to 10,000 rows, else one transaction of such batches. */
  async #insertRows(
    rows: number,
    insert: (from: number, to: number, resets: boolean) => Promise<void>,
  ): Promise<void> {
    // One statement is a transaction of its own: no BEGIN and COMMIT round trips for it.
    if (rows <= BATCH_ROWS) await insert(0, rows, true);
    else {
      await this.#query("BEGIN");
      try {
        for (let r = 0; r < rows; r += BATCH_ROWS) await insert(r, Math.min(rows, r + BATCH_ROWS), r === 0);
        await this.#query("COMMIT");
      } catch (err) {
        await this.#conn.query("ROLLBACK").catch(() => {}); // a broken connection has rolled back already
        throw err;
      }
    }
  }

  /**
   * Stores `now` if the store holds this host's sample before it (stamp
   * `previousEpoch`, or newer; none when undefined), in one statement that
   * asks and inserts, creating the table if it is missing. False when the
   * store lacks that sample: then nothing is stored, and the caller loads
   * what is missing from the log first, so that the store always holds
   * every sample up to its newest (what {@linkcode importSamples} relies on).
   */
  async insertIfFollows(now: TimedSample, previousEpoch: number | undefined, previous?: TimedSample): Promise<boolean> {
    // The previous sample goes again: where the store holds an earlier sample of its second (its own write failed,
    // the database away), the later one replaces it; where it holds it, nothing is written.
    const columns = rowColumns(previous ? lastOfEachSecond([previous, now]).samples : [now]);
    const follows = "$9::bigint IS NULL OR (SELECT stamp FROM last) >= $9";
    const sql = `WITH last AS (SELECT max(stamp) AS stamp FROM stats WHERE host = $1),
      ins AS (${INSERT_ROWS} WHERE ${follows} ${ON_CONFLICT}),
      res AS (${INSERT_RESETS} WHERE ${follows} ${ON_RESET_CONFLICT})
      SELECT ${follows}`;
    const params = [this.host, ...columns.map(textArray), previousEpoch === undefined ? null : String(previousEpoch)];
    let rows: PgValue[][];
    try {
      rows = await this.#query(sql, params);
    } catch (err) {
      if (!undefinedTable(err)) throw err;
      await this.createTable();
      rows = await this.#query(sql, params);
    }
    return rows[0]?.[0] === "t";
  }

  /** The hosts that have samples in the store, in name order. */
  async hosts(): Promise<string[]> {
    const rows = await this.#query("SELECT DISTINCT host FROM stats ORDER BY host");
    return rows.map((r) => r[0] as string);
  }

  /** The columns (`type`) `hosts` have samples of (all hosts when empty), in name order. */
  async columns(hosts: readonly string[] = []): Promise<string[]> {
    const rows = await this.#query(
      `SELECT DISTINCT type FROM stats WHERE ${hosts.length ? `host IN (${placeholders(hosts.length)})` : "TRUE"}
        ORDER BY type`,
      hosts,
    );
    return rows.map((r) => r[0] as string);
  }

  /**
   * The columns (`type`) of `host` missing at some stamp of that host between
   * their first and last (meters removed and added back), in name order: the
   * usage engine holds buckets back only while one of these is away
   * (lib/usage/engine.ts `EngineOptions.returning`), as the log's headers say
   * it for a log. The host's stamps numbered in order: a type with fewer rows
   * than stamps from its first to its last skipped one.
   */
  async returning(host: string): Promise<Set<string>> {
    const rows = await this.#query(
      `WITH st AS (SELECT stamp, row_number() OVER (ORDER BY stamp) AS rn
          FROM (SELECT DISTINCT stamp FROM stats WHERE host = $1) AS d)
        SELECT s.type FROM stats s JOIN st USING (stamp) WHERE s.host = $1
        GROUP BY s.type HAVING max(st.rn) - min(st.rn) + 1 > count(*) ORDER BY s.type`,
      [host],
    );
    return new Set(rows.map((r) => r[0] as string));
  }

  /**
   * Closes the connection: says goodbye to the server (Terminate) and does
   * not wait for it to close its side, as libpq's PQfinish does; that wait
   * is the server process's exit, 15 to 30 ms on a busy machine, for
   * nothing. Call it once nothing is in flight (every query awaited).
   */
  close(): Promise<void> {
    this.#conn.close();
    return Promise.resolve();
  }

  /**
   * Samples of `hosts` (all hosts when empty or undefined) with stamps in
   * [from, to) (Unix seconds; unbounded when undefined), per host in time
   * order, hosts in name order; read through a portal, 2,000 rows at a time,
   * so memory does not grow with the table.
   */
  async *samples(range: { hosts?: readonly string[]; from?: number; to?: number } = {}): AsyncIterable<StoredSample> {
    const hosts = range.hosts && range.hosts.length ? [...range.hosts] : [];
    const from = String(range.from ?? Number.MIN_SAFE_INTEGER);
    const to = String(range.to ?? Number.MAX_SAFE_INTEGER);
    const n = hosts.length;
    // No resets table (a store made before it, read by a user that may not create it): no resets.
    const sql = `SELECT s.host, s.stamp, s.type, s.packets::text, s.bytes::text, ${this.#resets ? "r.reason" : "NULL"}
      FROM stats s ${this.#resets ? "LEFT JOIN resets r USING (host, stamp, type)" : ""}
      WHERE ${n ? `s.host IN (${placeholders(n, 3)})` : "TRUE"} AND s.stamp >= $1 AND s.stamp < $2
      ORDER BY s.host, s.stamp, s.type`;
    let current: StoredSample | undefined;
    try {
      for await (const rows of this.#conn.cursor(sql, [from, to, ...hosts], 2000)) {
        for (const [host, stamp, type, packets, bytes, reason] of rows as string[][]) {
          const epoch = Number(stamp);
          if (!current || current.host !== host || current.epoch !== epoch) {
            if (current) yield current;
            current = { host: host!, epoch, counters: new Map(), packets: new Map() };
          }
          current.counters.set(type!, BigInt(bytes!));
          if (packets !== null) current.packets.set(type!, BigInt(packets!));
          if (reason !== null) (current.resets ??= new Map()).set(type!, reason!);
        }
      }
    } catch (err) {
      throw storeError(err, this.#where, this.#password);
    }
    if (current) yield current;
  }
}

/**
 * Loads samples (e.g. a whole log, oldest first) into the store: those after
 * the newest stamp it holds for this host, in transactions of `chunk`
 * samples or a few more (the samples of one second go in one), so a run
 * killed midway keeps what it committed and the next one goes on from there.
 * With `all`, every sample is sent (rows already there the same are left
 * alone): `netmon import`, after a clock stepped back too. Counts the
 * samples sent.
 */
export async function importSamples(
  store: PostgresStore,
  samples: Iterable<TimedSample> | AsyncIterable<TimedSample>,
  opts: { all?: boolean; chunk?: number } = {},
): Promise<StoreCounts> {
  const after = opts.all ? undefined : await store.lastStamp();
  const chunk = opts.chunk ?? 500;
  let batch: TimedSample[] = [];
  const n = noCounts();
  for await (const s of samples) {
    // From the newest second stored, again: the store may hold an earlier sample of it than the log's last.
    if (after !== undefined && s.epoch < after) continue;
    if (batch.length >= chunk && s.epoch !== batch.at(-1)!.epoch) {
      addCounts(n, await store.insert(batch));
      batch = [];
    }
    batch.push(s);
  }
  return addCounts(n, await store.insert(batch));
}

/**
 * Stores a just-recorded sample, first loading from `logSamples` (the log,
 * oldest first) whatever the store lacks when it does not hold the sample
 * before it (`previousEpoch`). Mirrors the SQLite store's `storeSample`.
 * `previous` (that sample, when known) is sent again with it: the store may
 * hold an earlier sample of its second (see {@linkcode PostgresStore.insertIfFollows}).
 * Asking and storing are one statement ({@linkcode PostgresStore.insertIfFollows}),
 * unless the caller has asked already:
 *
 * `lastStored` is the store's newest stamp for this host when the caller
 * has asked already ({@linkcode PostgresStore.lastStampOrTable}): asked before this run held the state lock, it
 * may be older than the truth if another run of this host stored a sample
 * meanwhile, never newer (stamps only grow), so at worst the catch-up runs
 * for nothing (rows already there are left alone).
 */
export async function storeSample(
  store: PostgresStore,
  logSamples: () => Iterable<TimedSample> | AsyncIterable<TimedSample>,
  previousEpoch: number | undefined,
  now: TimedSample,
  intervalPackets?: Map<string, bigint>,
  lastStored?: { stamp: number | undefined },
  previous?: TimedSample,
): Promise<void> {
  if (intervalPackets) {
    const last = await store.lastPackets([...intervalPackets.keys()]);
    now.sample.packets = new Map([...intervalPackets].map(([t, p]) => [t, (last.get(t) ?? 0n) + p]));
  }
  if (!lastStored) {
    // One statement when the store holds the sample before this one, as it does but after an outage.
    if (await store.insertIfFollows(now, previousEpoch, previous)) return;
  } else if (previousEpoch === undefined || (lastStored.stamp !== undefined && lastStored.stamp >= previousEpoch)) {
    await store.insert([now]);
    return;
  }
  await importSamples(store, logSamples());
  await store.insert([now]);
}
