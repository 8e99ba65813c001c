/**
 * The `[mail]` section of the config: where reports are mailed and how.
 *
 * @module
 */

import { parseAddressMatch } from "./address.ts";
import { pathProblem } from "./paths.ts";
import { unknownKey } from "./suggest.ts";

/** How the connection to the SMTP server is secured. */
export type Security = "none" | "starttls" | "tls";

/** A validated `[mail]` section. */
export interface MailConfig {
  /** Recipients. */
  to: string[];
  /** Sender, also the envelope sender. */
  from: string;
  /** `smtp`, or `sendmail` to hand messages to a local MTA. */
  transport: "smtp" | "sendmail";
  /** SMTP server host name or address. */
  server: string;
  /** SMTP port. */
  port: number;
  /** none (plain), starttls (required), tls (implicit, e.g. port 465). */
  security: Security;
  /** SMTP AUTH user; with it a password from `passwordFile` or `NETMON_SMTP_PASSWORD`. */
  user?: string;
  /** File holding the SMTP password (first line). */
  passwordFile?: string;
  /** PEM file of the CA (or self-signed certificate) to trust for the server. */
  caFile?: string;
  /** Subject; `%s` becomes the report's timestamp. */
  subject: string;
  /** Files attached to every report (e.g. the graph PNG). */
  attach: string[];
  /** The sendmail program for `transport = "sendmail"`. */
  sendmail: string;
  /** Name netmon gives itself in EHLO (default: the From domain). */
  helo: string;
  /** Seconds before a silent server is given up on. */
  timeout: number;
  /**
   * What is mailed: `report` (every report, as the original did: the
   * default), `daily` (one digest a day), `cycle` (each customer's statement
   * when a billing cycle closes). Quota alerts go whatever this says.
   */
  send: Send[];
}

/** What `[mail] send` may name. */
export const SENDS = ["report", "daily", "cycle"] as const;
/** One of {@linkcode SENDS}. */
export type Send = typeof SENDS[number];

/** Where the SMTP password comes from when `[mail] password_file` is not set: the run's environment. */
export const SMTP_PASSWORD_ENV = "NETMON_SMTP_PASSWORD";

/**
 * Why a run that mails cannot log in as `mail.user`: no `password_file`, and
 * nothing in {@linkcode SMTP_PASSWORD_ENV}. Asked at the start of a run, not
 * when the config is parsed: the variable is the run's (cron may be given
 * it), so a config without `password_file` is valid. Undefined when there is
 * nothing to say: no user, a `password_file` (read when mail is sent), or
 * the variable set.
 *
 * @example
 * ```ts
 * const mail = { user: "netmon" } as MailConfig;
 * missingPassword(mail, () => undefined); // 'mail.user "netmon" needs a password and none is given: …'
 * missingPassword(mail, () => "s3cret"); // undefined
 * ```
 */
export function missingPassword(mail: MailConfig, env: (name: string) => string | undefined): string | undefined {
  if (mail.user === undefined || mail.passwordFile !== undefined) return undefined;
  const password = env(SMTP_PASSWORD_ENV);
  if (password !== undefined && password !== "") return undefined;
  return `mail.user ${JSON.stringify(mail.user)} needs a password and none is given: set mail.password_file ` +
    `(a file holding it on its first line, mode 0600) or ${SMTP_PASSWORD_ENV} in the report's environment`;
}

/** The original's subject. */
export const DEFAULT_SUBJECT = "Network Usage Report - %s";

const MAIL_KEYS = [
  "to",
  "from",
  "transport",
  "server",
  "port",
  "security",
  "user",
  "password_file",
  "ca_file",
  "subject",
  "attach",
  "sendmail",
  "helo",
  "timeout",
  "send",
];

/** An address netmon puts in a header: local@domain, nothing that could start another header. */
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const HOST =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

type Bad = (key: string, what: string) => void;
type Str = (key: string, value: unknown) => string | undefined;

function isHost(text: string): boolean {
  if (HOST.test(text)) return true;
  const m = text.includes("/") ? "no CIDR" : parseAddressMatch(text);
  return typeof m !== "string" && !m.negated && m.cidr.endsWith(m.family === 4 ? "/32" : "/128");
}

/** Validates the `[mail]` table; problems go to `bad`, one per key. */
export function parseMail(raw: unknown, bad: Bad, str: Str, show: (v: unknown) => string): MailConfig | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    bad("mail", "must be a table ([mail])");
    return undefined;
  }
  const doc = raw as Record<string, unknown>;
  for (const key of Object.keys(doc)) {
    if (!MAIL_KEYS.includes(key)) bad(`mail.${key}`, unknownKey(key, MAIL_KEYS));
  }
  const list = (key: string): string[] | undefined => {
    const v = doc[key];
    if (v === undefined) return undefined;
    const items = Array.isArray(v) ? v : [v];
    const out: string[] = [];
    items.forEach((item, i) => {
      const s = str(Array.isArray(v) ? `mail.${key}[${i + 1}]` : `mail.${key}`, item);
      if (s !== undefined) out.push(s);
    });
    return out;
  };
  const address = (key: string, text: string) => {
    if (text.startsWith("-") || text.startsWith('"-')) {
      bad(key, `${show(text)} starts with "-": sendmail would read it as an option, and nodemailer refuses it`);
      return false;
    }
    if (!EMAIL.test(text) || text.length > 254) {
      bad(key, `${show(text)} is not a mail address like netmon@example.org`);
      return false;
    }
    return true;
  };

  const to = list("to") ?? [];
  if (doc.to === undefined || (Array.isArray(doc.to) && doc.to.length === 0)) {
    bad("mail.to", "is missing: name at least one recipient");
  }
  to.forEach((t, i) => address(Array.isArray(doc.to) ? `mail.to[${i + 1}]` : "mail.to", t));
  const from = str("mail.from", doc.from);
  if (from === undefined) {
    if (doc.from === undefined) bad("mail.from", "is missing: the sender address, e.g. netmon@example.org");
  } else address("mail.from", from);

  const transport = str("mail.transport", doc.transport) ?? "smtp";
  if (transport !== "smtp" && transport !== "sendmail") {
    bad("mail.transport", `${show(transport)} must be "smtp" or "sendmail"`);
  }
  const server = str("mail.server", doc.server) ?? "localhost";
  if (!isHost(server)) bad("mail.server", `${show(server)} is not a host name or IP address`);
  const securityText = str("mail.security", doc.security);
  let port = 25;
  if (doc.port !== undefined) {
    const p = doc.port;
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535) {
      bad("mail.port", `${show(p)} must be a port number from 1 to 65535`);
    } else port = p;
  }
  let security: Security;
  if (securityText === undefined) {
    // Implicit TLS on its port; plain only to this machine; otherwise TLS is required.
    security = port === 465 ? "tls" : ["localhost", "127.0.0.1", "::1"].includes(server) ? "none" : "starttls";
  } else if (securityText === "none" || securityText === "starttls" || securityText === "tls") {
    security = securityText;
  } else {
    bad("mail.security", `${show(securityText)} must be "none", "starttls" or "tls"`);
    security = "starttls";
  }
  if (doc.port === undefined) port = security === "tls" ? 465 : security === "starttls" ? 587 : 25;

  const mail: MailConfig = {
    to,
    from: from ?? "",
    transport: transport === "sendmail" ? "sendmail" : "smtp",
    server,
    port,
    security,
    subject: DEFAULT_SUBJECT,
    attach: [],
    sendmail: "/usr/sbin/sendmail",
    helo: from?.split("@")[1] ?? "localhost",
    timeout: 30,
    send: ["report"],
  };
  const user = str("mail.user", doc.user);
  if (user !== undefined) {
    if (user === "" || user.length > 256) bad("mail.user", "must be 1 to 256 characters");
    else mail.user = user;
  }
  for (
    const [key, field] of [["password_file", "passwordFile"], ["ca_file", "caFile"], ["sendmail", "sendmail"]] as const
  ) {
    const path = str(`mail.${key}`, doc[key]);
    if (path === undefined) continue;
    const problem = pathProblem(path);
    if (problem) bad(`mail.${key}`, `${show(path)} ${problem}`);
    else mail[field] = path;
  }
  if (mail.passwordFile !== undefined && mail.user === undefined) {
    bad("mail.password_file", "needs mail.user: the password is for SMTP AUTH as that user");
  }
  const subject = str("mail.subject", doc.subject);
  if (subject !== undefined) {
    if (subject.trim() === "" || subject.length > 200) bad("mail.subject", "must be 1 to 200 characters");
    else mail.subject = subject;
  }
  const attach = list("attach") ?? [];
  attach.forEach((path, i) => {
    const problem = pathProblem(path);
    if (problem) bad(Array.isArray(doc.attach) ? `mail.attach[${i + 1}]` : "mail.attach", `${show(path)} ${problem}`);
    else mail.attach.push(path);
  });
  const helo = str("mail.helo", doc.helo);
  if (helo !== undefined) {
    if (!HOST.test(helo)) bad("mail.helo", `${show(helo)} is not a host name`);
    else mail.helo = helo;
  }
  if (doc.timeout !== undefined) {
    const t = doc.timeout;
    if (typeof t !== "number" || !Number.isInteger(t) || t < 1 || t > 600) {
      bad("mail.timeout", `${show(t)} must be a whole number of seconds from 1 to 600`);
    } else mail.timeout = t;
  }
  if (doc.send !== undefined) {
    const words = list("send") ?? [];
    const known = words.filter((w): w is Send => (SENDS as readonly string[]).includes(w));
    words.filter((w) => !known.includes(w as Send)).forEach((w) =>
      bad("mail.send", `${show(w)} is not one of ${SENDS.join(", ")}`)
    );
    if (words.length === 0) bad("mail.send", `names nothing: use one or more of ${SENDS.join(", ")}`);
    else mail.send = [...new Set(known)];
  }
  if (mail.transport === "sendmail" && (doc.server !== undefined || doc.user !== undefined)) {
    bad("mail.transport", `"sendmail" hands mail to the local MTA: server, port and user do not apply`);
  }
  return mail;
}
