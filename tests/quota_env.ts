/**
 * What the quota, alert, digest and check tests share: the interface source
 * metering a veth in a namespace pair the test makes (exact traffic from the
 * peer), a real SMTP server in the metered namespace (netmon there reaches
 * only that namespace's 127.0.0.1), netmon run there with scoped permissions
 * at a faked time (libfaketime), and mail parsed as a client would (MIME
 * parts, quoted-printable and base64 decoded).
 *
 * @module
 */
import { parseHeader, parseLogLine } from "../lib/state/log_format.ts";
import { netmon, type NetmonRun, type Pair, type Result, spoolNames, withPair, withTempDir } from "./helpers.ts";
import { type NsSmtp, startSmtpIn } from "./smtp_in_netns.ts";
import { parseMessage, type Received } from "./smtp_server.ts";
import { TEST_BOOT_TIME } from "../lib/host/boot.ts";

/** A namespace pair, a temp dir, and a mail server in the metered namespace. */
export interface QuotaEnv {
  p: Pair;
  dir: string;
  smtp: NsSmtp;
  /** The config file's path. */
  config: string;
}

/** Runs `fn` with a fresh {@linkcode QuotaEnv}; `config` gives the config text for the veth and the server's port. */
export async function withQuotaEnv(
  config: (veth: string, port: number) => string,
  fn: (e: QuotaEnv) => Promise<void>,
): Promise<void> {
  await withPair((p) =>
    withTempDir(async (dir) => {
      const smtp = await startSmtpIn(p.a, `${dir}/received.jsonl`);
      try {
        const path = `${dir}/netmon.toml`;
        Deno.writeTextFileSync(path, config(p.va, smtp.port), { createNew: true, mode: 0o600 });
        await fn({ p, dir, smtp, config: path });
      } finally {
        await smtp.stop();
      }
    })
  );
}

/** The config lines of a `[mail]` section mailing the server on `port`. */
export function mailSection(port: number, extra = ""): string {
  return `[mail]\nserver = "127.0.0.1"\nport = ${port}\nsecurity = "none"\nfrom = "netmon@example.org"\n` +
    `to = "ops@example.org"\ntimeout = 5\n${extra}`;
}

/** netmon's run options in the metered namespace at faked time `at` ("YYYY-MM-DD hh:mm:ss" UTC, the clock running from there). */
export function runOpts(e: QuotaEnv, at: string | undefined): NetmonRun {
  return {
    ns: e.p.a,
    permissions: [
      "--allow-run=/usr/sbin/ip,/usr/bin/stat",
      `--allow-read=${e.dir}`,
      `--allow-write=${e.dir}`,
      `--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,NETMON_SMTP_PASSWORD,${TEST_BOOT_TIME}`,
      "--allow-sys=uid,osUptime",
      `--allow-net=127.0.0.1:${e.smtp.port}`,
    ],
    env: { TZ: "UTC" },
    ...(at ? { fakeTime: `@${at}` } : {}),
  };
}

/** `netmon report` (or another command) at faked time `at`. */
export function netmonAt(e: QuotaEnv, at: string | undefined, args: string[] = ["report"]): Promise<Result> {
  return netmon(["-c", e.config, "-s", `${e.dir}/state`, ...args], runOpts(e, at));
}

/** A received message decoded: its headers, its text, and its attachments by file name. */
export interface Mail {
  raw: string;
  headers: Map<string, string>;
  to: string[];
  text: string;
  attachments: Map<string, string>;
}

function decodeQp(text: string): string {
  const bytes: number[] = [];
  const soft = text.replace(/=\r?\n/g, "");
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i] as string;
    if (c === "=" && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...new TextEncoder().encode(c));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function decodeBody(headers: Map<string, string>, body: string): string {
  const enc = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  if (enc === "quoted-printable") return decodeQp(body);
  if (enc === "base64") {
    return new TextDecoder().decode(Uint8Array.from(atob(body.replace(/\s+/g, "")), (c) => c.charCodeAt(0)));
  }
  return body;
}

/** Decodes a raw message as a mail client would: the text part, and each attachment's content. */
export function decodeMail(m: Received): Mail {
  const { headers, body } = parseMessage(m.raw);
  const attachments = new Map<string, string>();
  let text = "";
  const type = headers.get("content-type") ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
  if (type.startsWith("multipart/") && boundary) {
    for (const part of body.split(`--${boundary}`).slice(1)) {
      if (part.startsWith("--")) break;
      const p = parseMessage(part.replace(/^\r\n/, ""));
      const content = decodeBody(p.headers, p.body.replace(/\r\n$/, ""));
      const name = /filename="?([^";]+)"?/.exec(p.headers.get("content-disposition") ?? "")?.[1];
      if (name) attachments.set(name, content);
      else if ((p.headers.get("content-type") ?? "").startsWith("text/plain")) text = content;
    }
  } else text = decodeBody(headers, body);
  return { raw: m.raw, headers, to: m.to, text: text.replaceAll("\r\n", "\n"), attachments };
}

/** The state directory's spool files. */
export function spoolOf(e: QuotaEnv): string[] {
  return spoolNames(`${e.dir}/state`);
}

/** The log's samples: stamp, epoch (the test runs netmon in UTC) and counters. */
export function logSamples(e: QuotaEnv): { stamp: string; epoch: number; counters: Map<string, bigint> }[] {
  let columns: string[] = [];
  const out: { stamp: string; epoch: number; counters: Map<string, bigint> }[] = [];
  for (const line of Deno.readTextFileSync(`${e.dir}/state/netmon.log`).split("\n")) {
    if (line === "") continue;
    const h = parseHeader(line);
    if (h) columns = h;
    if (line.startsWith("#")) continue;
    const s = parseLogLine(line, columns, "netmon.log");
    const [d, t] = s.timestamp.split("-") as [string, string];
    out.push({ stamp: s.timestamp, epoch: Date.parse(`${d.replaceAll("/", "-")}T${t}Z`), counters: s.counters });
  }
  return out;
}
