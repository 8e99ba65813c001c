/**
 * A real SMTP server (npm:smtp-server, from nodemailer's authors) on
 * 127.0.0.1, started by the test: plain, STARTTLS or implicit TLS with a
 * self-signed certificate made by openssl, AUTH optional or required.
 *
 * @module
 */
import { SMTPServer } from "smtp-server";
import { must } from "./helpers.ts";

/** A message as the server received it. */
export interface Received {
  /** Envelope sender. */
  from: string;
  /** Envelope recipients. */
  to: string[];
  /** The user that authenticated, if any. */
  user?: string;
  /** Whether the session was encrypted when the message came. */
  secure: boolean;
  /** The message as sent (headers and body, CRLF). */
  raw: string;
}

/** How the server behaves. */
export interface ServerOptions {
  /** none: no STARTTLS offered; starttls: offered; tls: implicit TLS from the first byte. */
  tls: "none" | "starttls" | "tls";
  /** Required credentials; without, AUTH is not needed. */
  auth?: { user: string; pass: string };
  /** False: AUTH is not offered at all (not in EHLO, the command unknown), like a relay that takes mail from anyone. */
  offerAuth?: boolean;
  /** A fixed port (to bring a server "back up" where a test expects it). */
  port?: number;
  /** Accept connections but never answer (a hung server). */
  silent?: boolean;
}

/** A running server. */
export interface Server {
  port: number;
  /** PEM of its self-signed certificate (trust it with mail.ca_file). */
  certFile: string;
  /** Messages received so far. */
  messages: Received[];
  /** Every AUTH attempt so far, accepted or not, as the client sent it. */
  logins: { user: string; pass: string }[];
  /** While set, every message is refused at DATA with this reply code (e.g. 451: try later). */
  refuse?: number;
  /** While set, a message whose text `when` picks is refused at DATA with `code` (e.g. 554: never). */
  refuseIf?: { code: number; when: (raw: string) => boolean };
  close(): Promise<void>;
}

let certDir: string | undefined;

/** A self-signed certificate for 127.0.0.1 and localhost, made once per test process. */
async function certificate(): Promise<{ key: string; cert: string; certFile: string }> {
  if (!certDir) {
    const dir = certDir = await Deno.makeTempDir({ prefix: "netmon-smtp-cert-" });
    // Kept for the whole test process (clients are given its path), removed when it ends.
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    await must("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      `${certDir}/key.pem`,
      "-out",
      `${certDir}/cert.pem`,
    ]);
  }
  return {
    key: await Deno.readTextFile(`${certDir}/key.pem`),
    cert: await Deno.readTextFile(`${certDir}/cert.pem`),
    certFile: `${certDir}/cert.pem`,
  };
}

// deno-lint-ignore no-explicit-any
type Any = any;

/** Starts a server on 127.0.0.1 (a free port unless one is given). */
export async function startSmtp(opts: ServerOptions): Promise<Server> {
  const { key, cert, certFile } = await certificate();
  const messages: Received[] = [];
  const logins: { user: string; pass: string }[] = [];
  const sockets = new Set<Deno.Conn>();
  if (opts.silent) {
    // A hung server: accepts, holds the connection, says nothing.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: opts.port ?? 0 });
    (async () => {
      for await (const conn of listener) sockets.add(conn);
    })().catch(() => {});
    return {
      port: (listener.addr as Deno.NetAddr).port,
      certFile,
      messages,
      logins,
      close() {
        for (const s of sockets) s.close();
        listener.close();
        return Promise.resolve();
      },
    };
  }
  const handle: Server = {
    port: 0,
    certFile,
    messages,
    logins,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    secure: opts.tls === "tls",
    key,
    cert,
    logger: false,
    banner: "netmon test server",
    disabledCommands: [...(opts.tls === "none" ? ["STARTTLS"] : []), ...(opts.offerAuth === false ? ["AUTH"] : [])],
    authOptional: opts.auth === undefined,
    allowInsecureAuth: opts.tls === "none",
    onAuth(auth: Any, _session: Any, cb: Any) {
      logins.push({ user: String(auth.username), pass: String(auth.password) });
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) {
        cb(null, { user: auth.username });
      } else cb(Object.assign(new Error("Authentication credentials invalid"), { responseCode: 535 }));
    },
    onData(stream: Any, session: Any, cb: Any) {
      if (handle.refuse) {
        stream.on(
          "end",
          () => cb(Object.assign(new Error("Mailbox busy, try again later"), { responseCode: handle.refuse })),
        );
        stream.resume();
        return;
      }
      const chunks: Uint8Array[] = [];
      stream.on("data", (c: Uint8Array) => chunks.push(c));
      stream.on("end", () => {
        const raw = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
        if (handle.refuseIf?.when(raw)) {
          cb(Object.assign(new Error("Message content rejected"), { responseCode: handle.refuseIf.code }));
          return;
        }
        messages.push({
          from: session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r: Any) => r.address),
          ...(session.user ? { user: session.user } : {}),
          secure: Boolean(session.secure),
          raw,
        });
        cb(null, `queued as N${messages.length}`);
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.on("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve((server.server.address() as { port: number }).port));
  });
  handle.port = port;
  return handle;
}

/** A port on 127.0.0.1 where nothing listens (a server that is down). */
export function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** RFC 5322's atext, one character. */
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
/** A strict msg-id (RFC 5322 3.6.4, no obsolete forms): `<dot-atom-text@dot-atom-text>`, no dot first, last or twice. */
const MSG_ID = new RegExp(`^<${ATEXT}+(?:\\.${ATEXT}+)*@${ATEXT}+(?:\\.${ATEXT}+)*>$`);

/** True when `id` is a valid Message-ID as RFC 5322 writes one. */
export function isMessageId(id: string | undefined): boolean {
  return id !== undefined && MSG_ID.test(id);
}

/** The header block and body of a raw message, headers unfolded and keyed in lower case. */
export function parseMessage(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  const headers = new Map<string, string>();
  for (const line of head.split("\r\n")) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: raw.slice(split + 4) };
}

/** Runs `fn` with a server started with `opts`, closed afterwards whatever happens. */
export async function withSmtp(opts: ServerOptions, fn: (s: Server) => Promise<void>): Promise<void> {
  const server = await startSmtp(opts);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}
