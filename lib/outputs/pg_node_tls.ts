/**
 * TLS through `node:tls` over a `node:net` socket for the wire client
 * (pg_wire.ts), in the two cases Deno's own TLS cannot serve (loading them
 * costs about 47 ms: this module is imported only then):
 * - `sslmode = "require"`: encrypted, the server's certificate not checked
 *   at all, as libpq does without a root certificate (Deno's TLS always
 *   checks the chain);
 * - verify-ca and verify-full with a CA file: that CA alone is trusted, as
 *   libpq trusts `sslrootcert` alone (Deno's TLS adds it to its built-in
 *   roots); verify-ca checks the chain, verify-full the name too.
 *
 * @module
 */

import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { isIP } from "node:net";
import { seconds, startTimer } from "../host/timer.ts";

/** A Deno connection's shape (pg_wire.ts `PgTransport`), without importing pg_wire: it imports this module. */
type NodeTlsTransport = Pick<Deno.Conn, "read" | "write" | "close">;
/** Waits for `event` on `socket`, rejecting on its error or close, within `ms`. */
function once(socket: Socket, event: string, ms: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    // netmon's one timer (lib/host/timer.ts), as every other wait of the client's.
    const t = startTimer(ms);
    void t.done.then(() => done(Object.assign(new Error(`no answer within ${seconds(ms)} s`), { code: "ETIMEDOUT" })));
    const on = (...args: unknown[]) => done(undefined, args);
    const onError = (err: unknown) => done(err);
    const onClose = () => done(Object.assign(new Error("the server closed the connection"), { code: "ECONNRESET" }));
    const done = (err: unknown, args: unknown[] = []) => {
      t.cancel();
      socket.off(event, on).off("error", onError).off("close", onClose);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(args);
    };
    socket.on(event, on).on("error", onError).on("close", onClose);
  });
}

/** What the server's certificate is checked against: exactly these CAs, and its name or not. */
export interface NodeTlsVerify {
  /** PEM certificates of the CAs trusted, alone. */
  ca: string[];
  /** Whether the certificate must name `host` (verify-full) or only chain to `ca` (verify-ca). */
  checkName: boolean;
}

/**
 * Connects to `host`:`port`, sends `sslRequest`, and on the server's 'S'
 * starts TLS, checking the server's certificate as `verify` says, or not at
 * all without it (`sslmode` names the mode in messages); all within `ms`.
 */
export async function nodeTlsTransport(
  host: string,
  port: number,
  sslRequest: Uint8Array,
  ms: number,
  sslmode = "require",
  verify?: NodeTlsVerify,
): Promise<NodeTlsTransport> {
  const deadline = performance.now() + ms;
  const left = () => Math.max(1, deadline - performance.now());
  const socket = netConnect({ host, port });
  await once(socket, "connect", left());
  socket.write(sslRequest);
  const [answer] = await once(socket, "data", left()) as [Uint8Array];
  socket.pause();
  if (answer.length !== 1 || answer[0] !== 0x53) {
    socket.destroy();
    throw Object.assign(
      new Error(
        answer[0] === 0x4e
          ? `the server does not offer TLS (sslmode = "${sslmode}"): turn ssl on in its postgresql.conf`
          : `unexpected answer to the TLS request`,
      ),
      { code: answer[0] === 0x4e ? "NO_TLS" : "EPROTO" },
    );
  }
  const checks = verify
    ? { rejectUnauthorized: true, ca: verify.ca, ...(verify.checkName ? {} : { checkServerIdentity: () => undefined }) }
    : { rejectUnauthorized: false };
  // `host` is what the name is checked against; `servername` (SNI) only for a name, never an address.
  const tls = tlsConnect({ socket, host, ...checks, ...(isIP(host) ? {} : { servername: host }) });
  await once(tls, "secureConnect", left());
  return socketTransport(tls);
}

/** node:tls's socket as reads and writes of bytes. */
function socketTransport(socket: TLSSocket): NodeTlsTransport {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let failed: unknown;
  let waiting: (() => void) | undefined;
  const wake = () => {
    const w = waiting;
    waiting = undefined;
    w?.();
  };
  socket.on("data", (d: Uint8Array) => {
    chunks.push(d);
    wake();
  });
  socket.on("end", () => {
    ended = true;
    wake();
  });
  socket.on("close", () => {
    ended = true;
    wake();
  });
  socket.on("error", (err) => {
    failed = err;
    wake();
  });
  return {
    async read(p: Uint8Array): Promise<number | null> {
      while (chunks.length === 0) {
        if (failed) throw failed;
        if (ended) return null;
        await new Promise<void>((r) => (waiting = r));
      }
      const c = chunks[0]!;
      const n = Math.min(p.length, c.length);
      p.set(c.subarray(0, n));
      if (n === c.length) chunks.shift();
      else chunks[0] = c.subarray(n);
      return n;
    },
    write(p: Uint8Array): Promise<number> {
      if (failed) return Promise.reject(failed);
      return new Promise((resolve, reject) =>
        socket.write(p.slice(), (err) => (err ? reject(err) : resolve(p.length)))
      );
    },
    close(): void {
      socket.destroy();
      ended = true;
      wake();
    },
  };
}
