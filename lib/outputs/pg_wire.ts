/**
 * netmon's own PostgreSQL client: the frontend/backend protocol 3.0 on
 * Deno's own APIs (`Deno.connect`, `Deno.startTls`, `crypto.subtle`), just
 * what the store needs: a login (trust, cleartext password, SCRAM-SHA-256),
 * TLS, parameterized statements in the extended protocol with text values,
 * rows as text, a large result read in chunks, every wait bounded.
 *
 * Why a home-made client: issue 22 allows a PostgreSQL store at most 50 ms
 * on a whole `netmon report` (200 columns, database on the same machine).
 * Measured on this project's 2-CPU machine with Deno 2.9.6: loading
 * `npm:postgres` costs 62-69 ms, `npm:pgwire`'s npm entry 53-63 ms, and
 * merely importing `node:net`, `node:tls` and `node:crypto`, which every npm
 * client goes through, about 47 ms: an npm client spends nearly the whole
 * goal before it sends a byte, and the server's own start of a process for
 * the connection (30-40 ms here) comes on top. The one client with a Deno
 * build on Deno's own sockets (pgwire's `mod.js`) is not exported by its
 * package and cannot be imported.
 * This module and its SCRAM helper load in 4-5 ms, the whole store module
 * (postgres.ts) with them in 5-8 ms: medians of two series of 10 fresh
 * processes, `performance.now()` around a dynamic import (5.1 and 7.9 ms;
 * `npm:postgres` the same way in the same minutes: 75 and 98 ms).
 *
 * What it does not do: MD5 password logins (`crypto.subtle` has no MD5; such
 * a login is refused with one line saying to use scram-sha-256, PostgreSQL's
 * default since 14), Kerberos/GSSAPI/SSPI, channel binding, binary formats,
 * COPY, notifications, cancel requests (the server's `statement_timeout`
 * ends a slow statement; a server that stops answering is left after the
 * read bound).
 *
 * Two cases go through `node:tls` instead (pg_node_tls.ts, loaded only
 * then): `sslmode = "require"` (encrypt, verify nothing), which Deno's TLS
 * cannot do, and a CA file given for verify-ca or verify-full. libpq then
 * trusts that CA alone, and so must netmon: Deno's TLS adds `caCerts` to its
 * built-in roots, so verify-ca (no name check) would take a certificate any
 * public CA issued for any name, while `node:tls` given `ca` trusts exactly
 * those. verify-full without a CA file checks against the built-in roots on
 * Deno's TLS (libpq's `sslrootcert=system`); verify-ca without one is
 * refused, as in libpq.
 *
 * @module
 */

import { seconds, startTimer, type Timer } from "../host/timer.ts";
import { ScramError, scramLogin } from "./pg_scram.ts";

/** How the connection is encrypted and checked, as libpq's `sslmode`. */
export type PgSslMode = "disable" | "require" | "verify-ca" | "verify-full";

/** Where to connect and how. */
export interface PgConnectOptions {
  /** An IP address or a host name. */
  host: string;
  port: number;
  user: string;
  database: string;
  /** For a cleartext or SCRAM-SHA-256 login; none for trust. */
  password?: string | undefined;
  /** Default `disable`. */
  sslmode?: PgSslMode | undefined;
  /** PEM CA certificates to trust, alone (verify-ca needs them; verify-full without them trusts the runtime's roots). */
  caCerts?: string[] | undefined;
  /** Milliseconds for connecting, TLS and the login together (default 10000). */
  connectTimeoutMs?: number | undefined;
  /** The server's `statement_timeout` and `lock_timeout`, milliseconds (default 30000). */
  statementTimeoutMs?: number | undefined;
  /** Milliseconds to wait for any one read or write once connected (default the statement timeout + 5000). */
  readTimeoutMs?: number | undefined;
  /** `application_name` (default `netmon`). */
  applicationName?: string | undefined;
  /** Called once the startup message is sent: the server is at work on the connection, the login is to come. */
  onStarted?: (() => void) | undefined;
}

/**
 * A failure: the server's ErrorResponse (`code` its SQLSTATE, `message` its
 * primary message) or the client's own, with a code of its own: ECONNREFUSED,
 * ECONNRESET, EPIPE, ETIMEDOUT, ENOTFOUND, CONNECT_TIMEOUT,
 * CONNECTION_CLOSED, NO_TLS, AUTH_METHOD, or 28000 for a failed SCRAM check.
 */
export class PgError extends Error {
  override name = "PgError";
  /** SQLSTATE or the client's code. */
  readonly code: string;
  /** The server's severity (ERROR, FATAL, PANIC), when it is the server's. */
  readonly severity: string | undefined;

  constructor(message: string, code: string, opts: { severity?: string; cause?: unknown } = {}) {
    super(message.split("\n")[0] ?? "", opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.severity = opts.severity;
  }
}

/** A value sent as text; null is SQL NULL. */
export type PgValue = string | null;
/** A row as text, column by column; null is SQL NULL. */
export type PgRow = PgValue[];

/** The bytes read and written: a Deno connection, or node:tls's socket adapted to its shape (pg_node_tls.ts). */
export type PgTransport = Pick<Deno.Conn, "read" | "write" | "close">;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PROTOCOL_3_0 = 196608;
const SSL_REQUEST = 80877103;

/** Builds protocol messages into one growing buffer. */
class Writer {
  #buf = new Uint8Array(4096);
  #view = new DataView(this.#buf.buffer);
  #pos = 0;
  #start = -1;

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const bigger = new Uint8Array(Math.max(this.#buf.length * 2, this.#pos + n));
    bigger.set(this.#buf.subarray(0, this.#pos));
    this.#buf = bigger;
    this.#view = new DataView(bigger.buffer);
  }

  /** Starts a message: its type byte (none for startup messages) and a length to fill in. */
  begin(type?: string): this {
    this.#room(5);
    if (type !== undefined) this.#buf[this.#pos++] = type.charCodeAt(0);
    this.#start = this.#pos;
    this.#pos += 4;
    return this;
  }

  int32(n: number): this {
    this.#room(4);
    this.#view.setInt32(this.#pos, n);
    this.#pos += 4;
    return this;
  }

  int16(n: number): this {
    this.#room(2);
    this.#view.setInt16(this.#pos, n);
    this.#pos += 2;
    return this;
  }

  /** A string with its terminating zero byte. */
  cstr(s: string): this {
    this.#room(s.length * 3 + 1);
    this.#pos += encoder.encodeInto(s, this.#buf.subarray(this.#pos)).written;
    this.#buf[this.#pos++] = 0;
    return this;
  }

  /** A value with its length (-1 for NULL). */
  value(v: PgValue): this {
    if (v === null) return this.int32(-1);
    this.#room(v.length * 3 + 4);
    const written = encoder.encodeInto(v, this.#buf.subarray(this.#pos + 4)).written;
    this.#view.setInt32(this.#pos, written);
    this.#pos += 4 + written;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#room(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  /** Fills in the length of the message begun last. */
  end(): this {
    this.#view.setInt32(this.#start, this.#pos - this.#start);
    return this;
  }

  /** The messages built, and a fresh start. */
  take(): Uint8Array {
    const out = this.#buf.slice(0, this.#pos);
    this.#pos = 0;
    return out;
  }
}

/** A server message: its type byte and body (valid until the next read). */
interface Message {
  type: number;
  body: Uint8Array;
}

const T = (c: string) => c.charCodeAt(0);
const AUTH = T("R");
const ERROR = T("E");
const NOTICE = T("N");
const READY = T("Z");
const DATA_ROW = T("D");
const COMMAND_COMPLETE = T("C");
const PORTAL_SUSPENDED = T("s");
const PARAMETER_STATUS = T("S");
const BACKEND_KEY = T("K");
const NEGOTIATE_VERSION = T("v");
const IN_STATEMENT = new Set(["1", "2", "3", "C", "n", "I", "T", "N", "A"].map(T));

/** The fields of an ErrorResponse or NoticeResponse body, by field type. */
function errorFields(body: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const type = String.fromCharCode(body[i] as number);
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    out.set(type, decoder.decode(body.subarray(i + 1, end)));
    i = end + 1;
  }
  return out;
}

/** The server's error as a PgError: SQLSTATE, severity, its primary message on one line. */
export function serverError(body: Uint8Array): PgError {
  const f = errorFields(body);
  const severity = f.get("V") ?? f.get("S");
  return new PgError(f.get("M") ?? "error without a message", f.get("C") ?? "XX000", {
    ...(severity === undefined ? {} : { severity }),
  });
}

/** A network failure as a PgError with a code storeError knows (Deno's error classes; Node's codes from node:tls). */
function networkError(err: unknown, where: string): unknown {
  if (err instanceof PgError || err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return err;
  }
  const message = `${where}: ${err instanceof Error ? err.message : String(err)}`;
  const nodeCode = (err as { code?: unknown })?.code;
  if (typeof nodeCode === "string" && /^[A-Z_]+$/.test(nodeCode)) return new PgError(message, nodeCode, { cause: err });
  const code = err instanceof Deno.errors.ConnectionRefused
    ? "ECONNREFUSED"
    : err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.ConnectionAborted
    ? "ECONNRESET"
    : err instanceof Deno.errors.BrokenPipe
    ? "EPIPE"
    : err instanceof Deno.errors.TimedOut
    ? "ETIMEDOUT"
    : err instanceof Deno.errors.UnexpectedEof || err instanceof Deno.errors.BadResource ||
        err instanceof Deno.errors.Interrupted || err instanceof Deno.errors.NotConnected
    ? "CONNECTION_CLOSED"
    : /lookup address|Name or service not known|No address associated|Temporary failure in name/i.test(message)
    ? "ENOTFOUND"
    : /certificate|handshake|tls/i.test(message)
    ? "TLS"
    : "ECONNRESET";
  return new PgError(message, code, { cause: err });
}

/**
 * Bounds a connection's waits, each read or write, one at a time: a timer
 * (lib/host/timer.ts: cheap to set, never keeps the process alive) per wait,
 * cancelled when the wait is over.
 */
class Watchdog {
  #timer: Timer | undefined;
  readonly #expire: () => void;

  constructor(expire: () => void) {
    this.#expire = expire;
  }

  /** A wait of at most `ms` begins. */
  start(ms: number): void {
    this.#timer?.cancel();
    const timer = startTimer(ms);
    this.#timer = timer;
    void timer.done.then(() => {
      if (this.#timer === timer) this.#expire();
    });
  }

  /** The wait is over. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}

/**
 * One connection to a PostgreSQL server. Statements run one at a time (a
 * second waits for the first; a {@linkcode PgConnection.cursor} holds the
 * connection until it is read to the end or closed). After a network
 * failure or a timeout the connection is closed and every later call fails
 * with the same error.
 */
export class PgConnection {
  readonly #transport: PgTransport;
  readonly #readTimeoutMs: number;
  #buf = new Uint8Array(16384);
  #start = 0;
  #end = 0;
  #broken: PgError | undefined;
  #closed = false;
  #queue: Promise<unknown> = Promise.resolve();
  #timedOut = false;
  readonly #watchdog = new Watchdog(() => {
    this.#timedOut = true;
    this.#drop();
  });
  /** Run-time parameters the server reported (server_version, …). */
  readonly parameters = new Map<string, string>();

  private constructor(transport: PgTransport, readTimeoutMs: number) {
    this.#transport = transport;
    this.#readTimeoutMs = readTimeoutMs;
  }

  /**
   * Connects, negotiates TLS as `sslmode` says, and logs in; all within the
   * connect timeout. Throws a PgError (or Deno's permission error).
   *
   * @example
   * ```ts
   * const c = await PgConnection.connect({ host: "127.0.0.1", port: 5432, user: "netmon", database: "traffic" });
   * const rows = await c.query("SELECT max(stamp) FROM stats WHERE host = $1", ["edge1"]);
   * c.close();
   * ```
   */
  static async connect(opts: PgConnectOptions): Promise<PgConnection> {
    const connectMs = opts.connectTimeoutMs ?? 10_000;
    const statementMs = opts.statementTimeoutMs ?? 30_000;
    const deadline = performance.now() + connectMs;
    const left = () => Math.max(1, deadline - performance.now());
    const where = `${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${opts.port}`;
    const mode = opts.sslmode ?? "disable";
    let transport: PgTransport;
    if (mode === "verify-ca" && !opts.caCerts?.length) {
      throw new PgError(
        `${where}: sslmode = "verify-ca" needs the CA's certificate (ca_file): without it any certificate a public ` +
          `CA issued, for any name, would pass; give ca_file, or use verify-full`,
        "SSL_CONFIG",
      );
    }
    if (mode === "require" || (mode !== "disable" && opts.caCerts?.length)) {
      let tls: typeof import("./pg_node_tls.ts");
      try {
        tls = await import("./pg_node_tls.ts");
      } catch (err) {
        throw new PgError(`cannot load node:tls for sslmode = "${mode}": ${err}`, "TLS", { cause: err });
      }
      const verify = mode === "require" ? undefined : { ca: opts.caCerts!, checkName: mode === "verify-full" };
      transport = await tls.nodeTlsTransport(opts.host, opts.port, sslRequest(), connectMs, mode, verify).catch(
        (err) => {
          throw networkError(err, where);
        },
      );
    } else {
      let conn: Deno.TcpConn;
      const limit = new AbortController();
      const connecting = startTimer(connectMs);
      void connecting.done.then(() => limit.abort());
      try {
        conn = await Deno.connect({ hostname: opts.host, port: opts.port, signal: limit.signal });
      } catch (err) {
        if (limit.signal.aborted) {
          throw new PgError(`${where}: no connection within ${seconds(connectMs)} s`, "CONNECT_TIMEOUT");
        }
        throw networkError(err, where);
      } finally {
        connecting.cancel();
      }
      transport = conn;
      if (mode !== "disable") {
        try {
          transport = await startTls(conn, opts, left());
        } catch (err) {
          try {
            conn.close(); // unless Deno.startTls took it over
          } catch { /* closed with the TLS connection */ }
          throw err instanceof PgError ? err : networkError(err, `${where}: TLS`);
        }
      }
    }
    const c = new PgConnection(transport, opts.readTimeoutMs ?? statementMs + 5000);
    try {
      await c.#startup(opts, statementMs, left);
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  /** The startup message and the login, reads bounded by what is left of the connect timeout. */
  async #startup(opts: PgConnectOptions, statementMs: number, left: () => number): Promise<void> {
    const w = new Writer().begin().int32(PROTOCOL_3_0);
    const params: [string, string][] = [
      ["user", opts.user],
      ["database", opts.database],
      ["application_name", opts.applicationName ?? "netmon"],
      ["client_encoding", "UTF8"],
      ["statement_timeout", String(statementMs)],
      ["lock_timeout", String(statementMs)],
    ];
    for (const [k, v] of params) w.cstr(k).cstr(v);
    w.bytes(new Uint8Array([0])).end();
    await this.#write(w.take(), left());
    opts.onStarted?.();
    let scram: ReturnType<typeof scramLogin> | undefined;
    let scramDone = false;
    for (;;) {
      const m = await this.#message(left());
      if (m.type === ERROR) throw serverError(m.body);
      if (m.type === NOTICE || m.type === NEGOTIATE_VERSION) continue;
      if (m.type === PARAMETER_STATUS) {
        const [k, v] = cstrings(m.body);
        if (k !== undefined) this.parameters.set(k, v ?? "");
        continue;
      }
      if (m.type === BACKEND_KEY) continue;
      if (m.type === READY) return;
      if (m.type !== AUTH) throw this.#protocolError(m, "during the login");
      const view = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
      const kind = view.getInt32(0);
      if (kind === 0) {
        // A server that skips SCRAM's last step would log us in without proving it knows the password.
        if (scram && !scramDone) throw new PgError("the server ended the SCRAM login early", "28000");
        continue;
      }
      const password = opts.password;
      const needPassword = () => {
        if (password === undefined) {
          throw new PgError("the server asks for a password and none is given", "28P01");
        }
        return password;
      };
      if (kind === 3) { // cleartext password
        await this.#write(new Writer().begin("p").cstr(needPassword()).end().take(), left());
      } else if (kind === 5) {
        throw new PgError(
          "the server asks for an MD5 password login, which netmon does not do: use scram-sha-256 " +
            "(password_encryption = scram-sha-256, set the password again, scram-sha-256 in pg_hba.conf; " +
            "PostgreSQL's default since 14)",
          "AUTH_METHOD",
        );
      } else if (kind === 10) { // SASL: the mechanisms offered
        const mechanisms = cstrings(m.body.subarray(4));
        if (!mechanisms.includes("SCRAM-SHA-256")) {
          throw new PgError(
            `the server offers only SASL ${mechanisms.join(", ")}: netmon does SCRAM-SHA-256`,
            "AUTH_METHOD",
          );
        }
        scram = scramLogin(needPassword());
        const first = encoder.encode(scram.clientFirst);
        await this.#write(
          new Writer().begin("p").cstr("SCRAM-SHA-256").int32(first.length).bytes(first).end().take(),
          left(),
        );
      } else if (kind === 11 && scram) { // SASLContinue
        const final = await scram.clientFinal(decoder.decode(m.body.subarray(4))).catch((err) => {
          throw new PgError(String(err instanceof ScramError ? err.message : err), "28000");
        });
        await this.#write(new Writer().begin("p").bytes(encoder.encode(final)).end().take(), left());
      } else if (kind === 12 && scram) { // SASLFinal
        try {
          scram.verify(decoder.decode(m.body.subarray(4)));
        } catch (err) {
          throw new PgError(String(err instanceof ScramError ? err.message : err), "28000");
        }
        scramDone = true;
      } else {
        const names: Record<number, string> = { 2: "Kerberos V5", 7: "GSSAPI", 9: "SSPI", 10: "SASL" };
        throw new PgError(
          `the server asks for ${names[kind] ?? `authentication method ${kind}`}, which netmon does not do: ` +
            "use scram-sha-256 (or trust) in pg_hba.conf for netmon's user",
          "AUTH_METHOD",
        );
      }
    }
  }

  /**
   * Runs one statement with `params` ($1, $2, … as text; null is NULL) and
   * returns its rows as text. A server error is thrown after the server is
   * ready again, so the connection stays usable.
   */
  query(sql: string, params: readonly PgValue[] = []): Promise<PgRow[]> {
    return this.#exclusive(async () => {
      const w = new Writer();
      parseBindExecute(w, sql, params, 0);
      w.begin("S").end();
      await this.#write(w.take());
      const rows: PgRow[] = [];
      let error: PgError | undefined;
      for (;;) {
        const m = await this.#message(undefined, error);
        if (m.type === DATA_ROW) rows.push(dataRow(m.body));
        else if (m.type === ERROR) error ??= serverError(m.body);
        else if (m.type === READY) break;
        else this.#background(m);
      }
      if (error) throw error;
      return rows;
    });
  }

  /**
   * Runs a SELECT and yields its rows `chunk` at a time, through a portal
   * the server runs `chunk` rows at a time, so neither side holds the whole
   * result. The connection is held until the last chunk is read or the
   * iteration is left (a `break` closes the portal).
   */
  async *cursor(sql: string, params: readonly PgValue[], chunk: number): AsyncGenerator<PgRow[]> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const previous = this.#queue;
    this.#queue = previous.then(() => held);
    await previous.catch(() => {});
    let synced = false;
    let error: PgError | undefined;
    try {
      this.#check();
      const w = new Writer();
      parseBindExecute(w, sql, params, chunk);
      w.begin("H").end(); // Flush: the rows so far, the portal kept open
      await this.#write(w.take());
      for (;;) {
        const rows: PgRow[] = [];
        let more = false;
        for (;;) {
          const m = await this.#message(undefined, error);
          if (m.type === DATA_ROW) rows.push(dataRow(m.body));
          else if (m.type === PORTAL_SUSPENDED) {
            more = true;
            break;
          } else if (m.type === COMMAND_COMPLETE) break;
          else if (m.type === ERROR) {
            error = serverError(m.body);
            break;
          } else this.#background(m);
        }
        if (error) break;
        if (rows.length > 0) yield rows;
        if (!more) break;
        await this.#write(new Writer().begin("E").cstr("").int32(chunk).end().begin("H").end().take());
      }
      // Sync ends the implicit transaction (and the portal); after an error the server waits for it.
      await this.#write(new Writer().begin("S").end().take());
      synced = true;
      for (;;) {
        const m = await this.#message(undefined, error);
        if (m.type === READY) break;
        if (m.type === ERROR) error ??= serverError(m.body);
        else this.#background(m);
      }
      if (error) throw error;
    } finally {
      // Left early (a break, or the consumer's own error): end the portal and wait for the server to be ready.
      if (!synced && !this.#broken && !this.#closed) {
        try {
          await this.#write(new Writer().begin("S").end().take());
          for (;;) if ((await this.#message()).type === READY) break;
        } catch { /* the connection is closed by now; later calls say why */ }
      }
      release();
    }
  }

  /** Says goodbye (Terminate) and closes the socket, without waiting for the server to close its side. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#broken) {
      // The 5-byte Terminate fits any socket buffer: the write completes at once or not at all.
      this.#transport.write(new Uint8Array([T("X"), 0, 0, 0, 4])).catch(() => {}).finally(() => this.#drop());
    } else this.#drop();
  }

  #drop(): void {
    try {
      this.#transport.close();
    } catch { /* closed already */ }
  }

  /** Runs `fn` when every earlier statement is done. */
  #exclusive<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.#queue.catch(() => {}).then(() => {
      this.#check();
      return fn();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  #check(): void {
    if (this.#broken) throw this.#broken;
    if (this.#closed) throw new PgError("the connection is closed", "CONNECTION_CLOSED");
  }

  /** A broken connection: closed, and `err` for every later call. */
  #fail(err: PgError): PgError {
    this.#broken ??= err;
    this.#closed = true;
    this.#drop();
    return err;
  }

  /**
   * A message a statement may bring besides its rows and its end: the
   * acknowledgements (ParseComplete, BindComplete, CommandComplete, NoData,
   * EmptyQueryResponse, RowDescription) and what may come at any time
   * (notices, parameter changes, notifications). Anything else is out of place.
   */
  #background(m: Message): void {
    if (m.type === PARAMETER_STATUS) {
      const [k, v] = cstrings(m.body);
      if (k !== undefined) this.parameters.set(k, v ?? "");
    } else if (!IN_STATEMENT.has(m.type)) throw this.#protocolError(m, "in a statement");
  }

  #protocolError(m: Message, when: string): PgError {
    return this.#fail(
      new PgError(`unexpected message '${String.fromCharCode(m.type)}' from the server ${when}`, "08P01"),
    );
  }

  async #write(bytes: Uint8Array, ms = this.#readTimeoutMs): Promise<void> {
    this.#check();
    this.#watchdog.start(ms);
    try {
      for (let off = 0; off < bytes.length;) off += await this.#transport.write(bytes.subarray(off));
    } catch (err) {
      if (this.#timedOut) throw this.#fail(new PgError(`the server took no data for ${seconds(ms)} s`, "ETIMEDOUT"));
      throw this.#fail(networkError(err, "write") as PgError);
    } finally {
      this.#watchdog.stop();
    }
  }

  /**
   * The next message, reading as needed, each read bounded by `ms`. When the
   * server closes the connection, `pending` (an error it sent first) is
   * thrown if there is one.
   */
  async #message(ms = this.#readTimeoutMs, pending?: PgError): Promise<Message> {
    for (;;) {
      const have = this.#end - this.#start;
      if (have >= 5) {
        const b = this.#buf;
        const s = this.#start;
        const len = ((b[s + 1]! << 24) | (b[s + 2]! << 16) | (b[s + 3]! << 8) | b[s + 4]!) >>> 0;
        if (len < 4 || len > 1 << 30) {
          throw this.#fail(new PgError(`malformed message from the server (length ${len})`, "08P01"));
        }
        if (have >= len + 1) {
          this.#start += len + 1;
          return { type: b[s]!, body: b.subarray(s + 5, s + 1 + len) };
        }
        if (len + 1 > this.#buf.length) this.#grow(len + 1);
      }
      await this.#fill(ms, pending);
    }
  }

  #grow(need: number): void {
    const bigger = new Uint8Array(Math.max(need, this.#buf.length * 2));
    bigger.set(this.#buf.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buf = bigger;
  }

  /** Reads more bytes, within `ms`. */
  async #fill(ms: number, pending?: PgError): Promise<void> {
    this.#check();
    if (this.#start > 0) {
      // Keep the unread part at the front; messages handed out before are done with by now.
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) this.#grow(this.#buf.length * 2);
    this.#watchdog.start(ms);
    let n: number | null;
    try {
      n = await this.#transport.read(this.#buf.subarray(this.#end));
    } catch (err) {
      if (this.#timedOut) {
        throw this.#fail(new PgError(`no answer from the server within ${seconds(ms)} s`, "ETIMEDOUT"));
      }
      throw this.#fail(pending ?? (networkError(err, "read") as PgError));
    } finally {
      this.#watchdog.stop();
    }
    if (n === null) {
      if (this.#timedOut) {
        throw this.#fail(new PgError(`no answer from the server within ${seconds(ms)} s`, "ETIMEDOUT"));
      }
      throw this.#fail(pending ?? new PgError("the server closed the connection", "CONNECTION_CLOSED"));
    }
    this.#end += n;
  }
}

/**
 * Values as one PostgreSQL array in text form (`{"a","b",NULL}`), to send as
 * a single parameter (`$1::text[]`, `$2::numeric[]`): every element quoted,
 * `"` and `\` escaped, null as NULL.
 *
 * @example
 * ```ts
 * textArray(["a", null, 'say "hi"']); // '{"a",NULL,"say \"hi\""}'
 * ```
 */
export function textArray(values: readonly PgValue[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    out += v === null || v === undefined ? "NULL" : `"${v.replace(/["\\]/g, "\\$&")}"`;
  }
  return `${out}}`;
}

/** The SSLRequest message. */
export function sslRequest(): Uint8Array {
  return new Writer().begin().int32(SSL_REQUEST).end().take();
}

/** Asks for TLS and starts it with Deno's TLS, for verify-full against the runtime's roots (no CA file). */
async function startTls(conn: Deno.TcpConn, opts: PgConnectOptions, ms: number): Promise<Deno.TlsConn> {
  const where = `${opts.host}:${opts.port}`;
  let timedOut = false;
  let tls: Deno.TlsConn | undefined;
  const limit = startTimer(ms);
  void limit.done.then(() => {
    timedOut = true;
    try {
      (tls ?? conn).close();
    } catch { /* closed already */ }
  });
  try {
    const req = sslRequest();
    for (let off = 0; off < req.length;) off += await conn.write(req.subarray(off));
    // One byte exactly: anything the server sent after it would be unencrypted bytes taken as the TLS stream's.
    const answer = new Uint8Array(1);
    const n = await conn.read(answer);
    if (n !== 1) {
      throw new PgError(`${where}: the server closed the connection at the TLS request`, "CONNECTION_CLOSED");
    }
    if (answer[0] !== T("S")) {
      throw new PgError(
        `${where}: the server does not offer TLS (sslmode = "${opts.sslmode}"): turn ssl on in its postgresql.conf, ` +
          `or set sslmode = "disable" for a server on this machine`,
        "NO_TLS",
      );
    }
    tls = await Deno.startTls(conn, { hostname: opts.host });
    await tls.handshake();
    return tls;
  } catch (err) {
    try {
      tls?.close();
    } catch { /* closed already */ }
    if (timedOut) throw new PgError(`${where}: no TLS connection within ${seconds(ms)} s`, "CONNECT_TIMEOUT");
    throw err;
  } finally {
    limit.cancel();
  }
}

/** Parse (unnamed statement), Bind (unnamed portal, text values, text results), Execute (`maxRows`, 0 = all). */
function parseBindExecute(w: Writer, sql: string, params: readonly PgValue[], maxRows: number): void {
  if (params.length > 65535) throw new RangeError(`${params.length} parameters in one statement: at most 65535`);
  w.begin("P").cstr("").cstr(sql).int16(0).end();
  w.begin("B").cstr("").cstr("").int16(0).int16(params.length);
  for (const p of params) w.value(p);
  w.int16(0).end();
  w.begin("E").cstr("").int32(maxRows).end();
}

/** A DataRow's values as text. */
function dataRow(body: Uint8Array): PgRow {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const n = view.getInt16(0);
  const row: PgRow = new Array(n);
  let off = 2;
  for (let i = 0; i < n; i++) {
    const len = view.getInt32(off);
    off += 4;
    if (len < 0) row[i] = null;
    else {
      row[i] = decoder.decode(body.subarray(off, off + len));
      off += len;
    }
  }
  return row;
}

/** The zero-terminated strings of a body. */
function cstrings(body: Uint8Array): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < body.length) {
    const end = body.indexOf(0, i);
    if (end < 0 || end === i) break;
    out.push(decoder.decode(body.subarray(i, end)));
    i = end + 1;
  }
  return out;
}
