/**
 * Mailed reports that are never lost: each report is written to a spool in
 * the state directory (with the state lock held, right after its sample),
 * then the spool is delivered oldest first, each message removed once the
 * server has accepted it. A server that is down, refuses, or fails TLS or
 * authentication leaves the spool for the next run.
 *
 * nodemailer is loaded only when there is mail to send, so a report without
 * `[mail]` pays nothing for it.
 *
 * @module
 */

import { ConfigError, DenoDenied, denoPermissionError, EX, fileError, NetmonError } from "../host/errors.ts";
import type { LastState, Sample } from "../state/log_format.ts";
import { type MailConfig, missingPassword, SMTP_PASSWORD_ENV } from "../config/mail.ts";
import { describeResets, type ReportMeter, RESET_MARK } from "./report_text.ts";
import { replaceFile } from "../host/files.ts";
import { checkDir, readConfigFile, readWholeBounded, readWholeText, withExactMode } from "../host/safe_open.ts";
import { runCommand, TimedOut } from "../host/run.ts";
import { STATE_MODE } from "../state/files.ts";
import { formatLogLine } from "../state/log_format.ts";
import { humanReadable } from "../usage/units.ts";
import type { UsageResult } from "../usage/deltas.ts";
import { messageId } from "./message_id.ts";

/** A report waiting in the spool: everything but the addresses, which come from the config at delivery. */
export interface SpooledMessage {
  /** Subject line. */
  subject: string;
  /** Plain-text body. */
  text: string;
  /** When the report was made (ISO 8601): the Date header, the same on every attempt. */
  date: string;
  /** Message-ID, the same on every attempt. */
  messageId: string;
  /** Recipients, when not `[mail] to` (a customer's alert_to or statement_to). */
  to?: string[];
  /** False: without `[mail] attach` (alerts, digests). */
  attach?: boolean;
  /** Files made for this message (a statement's CSV). */
  attachments?: { filename: string; content: string }[];
  /** The sample's log line (without LF): which logged sample this report is of. */
  sample?: string;
}

/**
 * The mail words of the original's two meters in their blocks (its report said Proxied and Off Network). The
 * original mail had no line naming the reset meters (only the marker): netmon's own names them with the report's
 * labels, as the report text's reset line does.
 */
const ORIGINAL_MAIL_LABELS: Readonly<Record<string, string>> = { proxy: "Proxy", "non-network": "Non Network" };

/**
 * The mail body: the original's for its two meters, one block per meter
 * otherwise. Sizes as in the report.
 */
export function mailBody(
  meters: readonly ReportMeter[],
  previous: LastState | undefined,
  sample: Sample,
  usage: UsageResult,
): string {
  const byMeter = new Map(usage.meters.map((u) => [u.meter, u]));
  const original = meters.length === 2 && meters[0]?.name === "proxy" && meters[1]?.name === "non-network";
  let text = "";
  if (usage.resets.length > 0) {
    text += ` ${RESET_MARK} \nReset: ${describeResets(meters, usage)}\n`;
  }
  text += `Network usage between: ${previous?.sample.timestamp ?? sample.timestamp} and ${sample.timestamp}\n`;
  for (const m of meters) {
    const label = original ? ORIGINAL_MAIL_LABELS[m.name] : m.label;
    text += `\n${label} Traffic:\n  Usage: ${humanReadable(byMeter.get(m.name)?.usage ?? 0n)}\n`;
    text += `  Current Total: ${humanReadable(sample.counters.get(m.name) ?? 0n)}\n`;
  }
  return `${text}\nTotal since: ${usage.totalStart}\n`;
}

/** The spool directory of a state directory. */
export function spoolDir(stateDir: string): string {
  return `${stateDir}/spool`;
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A report message for `stamp` (the sample's local timestamp) made at `date`. */
export function reportMessage(mail: MailConfig, stamp: string, date: Date, text: string): SpooledMessage {
  const digits = stamp.replace(/\D/g, "");
  return {
    subject: mail.subject.replace("%s", stamp),
    text,
    date: date.toISOString(),
    messageId: messageId(["netmon", digits, randomHex(6)], mail.helo),
  };
}

/**
 * Makes sure the spool directory is there and netmon's: a directory, not a
 * link, of this user or root (a link planted there would have root delete
 * and mail the files of another directory).
 */
export function ensureSpoolDir(dir: string): void {
  if (checkDir(dir, "spool directory")) return;
  try {
    withExactMode(0o750, () => Deno.mkdirSync(dir, { mode: 0o750 }));
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw fileError(err, "create spool directory", dir);
  }
  checkDir(dir, "spool directory");
}

function spoolName(message: SpooledMessage): string {
  return `${message.date.replace(/\D/g, "").slice(0, 17)}-${randomHex(4)}`;
}

/**
 * Writes `message` into the spool, whole or not at all (written, synced,
 * renamed). Names sort oldest first.
 */
export function spool(dir: string, message: SpooledMessage): string {
  ensureSpoolDir(dir);
  const path = `${dir}/${spoolName(message)}.json`;
  replaceFile(path, JSON.stringify(message) + "\n", STATE_MODE, "spooled report");
  return path;
}

/**
 * Spools `message` unless a message named by `id` is already in the spool
 * (waiting, or refused for good): a run that died after spooling it and
 * before recording it does not spool it twice. `order` (digits, one width
 * for all of them) orders messages of the same date: names sort, and are
 * delivered, by date, then order.
 */
export function spoolOnce(dir: string, message: SpooledMessage, id: string, order = ""): void {
  if (!/^\d*$/.test(order)) throw new RangeError(`A spool order is digits, not ${JSON.stringify(order)}`);
  const tail = `-${id}`;
  const there = [...spooled(dir), ...refusedReports(dir)].some((p) =>
    p.replace(/\.(json|refused)$/, "").endsWith(tail)
  );
  if (there) return;
  ensureSpoolDir(dir);
  const path = `${dir}/${message.date.replace(/\D/g, "").slice(0, 17)}${order && `-${order}`}${tail}.json`;
  replaceFile(path, JSON.stringify(message) + "\n", STATE_MODE, "spooled message");
}

/** A report spooled as pending: {@linkcode PendingReport.commit} makes it deliverable. */
export interface PendingReport {
  /** Its path while pending. */
  path: string;
  /** Renames it to `.json`: it is delivered from now on. */
  commit(): void;
  /** Removes it: its sample was never logged. */
  abandon(): void;
}

/**
 * Writes the report of `sample` into the spool as `*.pending`, before its
 * sample is logged: a run killed after the log line then leaves the report
 * behind, and the next run delivers it ({@linkcode settlePending}). A spool
 * that cannot be written (full disk, no inodes) fails the run before the log
 * changes.
 */
export function spoolPending(dir: string, message: SpooledMessage, sample: Sample): PendingReport {
  ensureSpoolDir(dir);
  const base = `${dir}/${spoolName(message)}`;
  const path = `${base}.pending`;
  const body = { ...message, sample: formatLogLine(sample).slice(0, -1) };
  replaceFile(path, JSON.stringify(body) + "\n", STATE_MODE, "spooled report");
  return {
    path,
    commit() {
      try {
        Deno.renameSync(path, `${base}.json`);
      } catch (err) {
        throw fileError(err, "spool report", path);
      }
    },
    abandon() {
      try {
        Deno.removeSync(path);
      } catch { /* the next run removes it */ }
    },
  };
}

/**
 * Settles reports a killed run left pending: one whose sample is the log's
 * last (`logged`) was logged, so it is delivered; any other never was, and is
 * removed. Called with the state lock held, before this run's own report.
 */
export function settlePending(dir: string, logged: Sample | undefined): string[] {
  const settled: string[] = [];
  if (!checkDir(dir, "spool directory")) return settled;
  const line = logged ? formatLogLine(logged).slice(0, -1) : undefined;
  for (const path of spoolFiles(dir, ".pending")) {
    let message: SpooledMessage | undefined;
    try {
      message = JSON.parse(readWholeText(path, { what: "spooled report", write: true }, MAX_SPOOLED) ?? "null");
    } catch { /* torn or not netmon's: removed below */ }
    try {
      if (message && line !== undefined && message.sample === line) {
        Deno.renameSync(path, `${path.slice(0, -".pending".length)}.json`);
        settled.push(path);
      } else Deno.removeSync(path);
    } catch (err) {
      throw fileError(err, "settle spooled report", path);
    }
  }
  return settled;
}

/** The largest spooled report read back (a report is a few KB; 10,000 meters make about 1 MB). */
const MAX_SPOOLED = 16 << 20;

/** The spool's regular files (never links: a directory entry's own type) whose names end in `suffix`, oldest first. */
function spoolFiles(dir: string, suffix: string): string[] {
  try {
    if (!checkDir(dir, "spool directory")) return [];
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && e.name.endsWith(suffix))
      .map((e) => e.name)
      .sort()
      .map((n) => `${dir}/${n}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err instanceof NetmonError ? err : fileError(err, "read spool directory", dir);
  }
}

/** The spooled files, oldest first. */
export function spooled(dir: string): string[] {
  return spoolFiles(dir, ".json");
}

/** Reports the server refused for good, moved aside in the spool (`*.refused`), oldest first. */
export function refusedReports(dir: string): string[] {
  return spoolFiles(dir, ".refused");
}

/** The SMTP password: `password_file`'s first line, else `NETMON_SMTP_PASSWORD`. */
export async function smtpPassword(
  mail: MailConfig,
  env: (name: string) => string | undefined,
): Promise<string | undefined> {
  if (mail.user === undefined) return undefined;
  if (mail.passwordFile !== undefined) {
    const text = await readConfigFile(mail.passwordFile, "mail.password_file", 1 << 16);
    const password = text.split("\n")[0] ?? "";
    if (password === "") throw new ConfigError(`${mail.passwordFile}: mail.password_file is empty`);
    return password;
  }
  const missing = missingPassword(mail, env);
  if (missing !== undefined) throw new ConfigError(missing);
  return env(SMTP_PASSWORD_ENV);
}

/** What nodemailer's transport offers us. */
interface Transport {
  sendMail(message: Record<string, unknown>): Promise<{ response?: string; accepted?: unknown[] }>;
  verify(): Promise<unknown>;
  close(): void;
}

/** What a server's refusal or a connection failure looks like from nodemailer. */
interface MailFailure {
  code?: string;
  response?: string;
  responseCode?: number;
  message?: string;
}

/** A file attached to every report. */
interface Attachment {
  filename: string;
  content: Uint8Array;
}

/**
 * nodemailer's specifier, held in a variable on purpose. Deno sets up every
 * npm package that an import names literally when netmon starts, mail or
 * not: about 5 ms of every report (bench/report_bench.ts). Named this way it
 * is resolved, through deno.json's import map and lockfile, only when a report
 * is mailed; `deno compile` is told to include it (the compile task's
 * `--include`).
 */
const NODEMAILER: string = "nodemailer";

/** Sends messages to the configured server; one connection for the whole spool. */
export class Mailer {
  readonly #mail: MailConfig;
  readonly #transport: Transport;
  readonly #attachments: Attachment[];
  /** Warnings for stderr (an attachment missing). */
  readonly warnings: string[] = [];

  private constructor(mail: MailConfig, transport: Transport, attachments: Attachment[]) {
    this.#mail = mail;
    this.#transport = transport;
    this.#attachments = attachments;
  }

  /** Connects lazily: nothing goes over the network until the first send. */
  static async open(mail: MailConfig, password: string | undefined): Promise<Mailer> {
    const nodemailer = (await import(NODEMAILER)).default as {
      createTransport(options: Record<string, unknown>): Transport;
    };
    let ca: string | undefined;
    if (mail.caFile !== undefined) ca = await readConfigFile(mail.caFile, "mail.ca_file", 1 << 20);
    const ms = mail.timeout * 1000;
    const options: Record<string, unknown> = mail.transport === "sendmail"
      // nodemailer only builds the message; netmon runs sendmail itself, with only PATH and LC_ALL.
      ? { streamTransport: true, buffer: true, newline: "unix" }
      : {
        host: mail.server,
        port: mail.port,
        secure: mail.security === "tls",
        requireTLS: mail.security === "starttls",
        ignoreTLS: mail.security === "none",
        // Set, so that nodemailer does not ask the system for the host name.
        name: mail.helo,
        // A server that does not offer AUTH would otherwise be sent the mail without the login the config asks for,
        // silently. Forced, the login is tried anyway and fails (EAUTH), and the mail stays spooled. It goes the
        // way every login goes: over TLS to the verified server unless mail.security is "none".
        ...(mail.user !== undefined ? { auth: { user: mail.user, pass: password }, forceAuth: true } : {}),
        tls: {
          minVersion: "TLSv1.2",
          ...(ca !== undefined ? { ca } : {}),
          ...(/^[\d.]+$|:/.test(mail.server) ? {} : { servername: mail.server }),
        },
        connectionTimeout: ms,
        greetingTimeout: ms,
        socketTimeout: ms,
        dnsTimeout: ms,
        logger: false,
        debug: false,
      };
    const mailer = new Mailer(mail, nodemailer.createTransport(options), []);
    for (const path of mail.attach) {
      // A regular file, not through a link, of this user or root: a user who can write the attachment's
      // directory must not get another file mailed (nor block the run with a FIFO).
      try {
        const content = await readWholeBounded(path, { what: "attachment" }, MAX_ATTACHMENT);
        if (content === undefined) throw new Deno.errors.NotFound(path);
        mailer.#attachments.push({ filename: path.slice(path.lastIndexOf("/") + 1), content });
      } catch (err) {
        const why = err instanceof NetmonError ? err.message : `cannot read ${path} (${(err as Error).name})`;
        mailer.warnings.push(`mail.attach: ${why}; sent without it`);
      }
    }
    return mailer;
  }

  /**
   * Sends one message; resolves to what the server said, or throws a
   * one-line NetmonError. Besides the per-read timeout, the whole delivery of
   * the message (connect, TLS, login, every reply) must end within
   * {@linkcode deliveryDeadline}: a server that trickles replies forever
   * would otherwise hold the report and the spool lock forever.
   */
  async send(message: SpooledMessage, attach = true): Promise<string> {
    // sendmail is killed at the deadline by the runner itself (a race here would leave it running).
    if (this.#mail.transport === "sendmail") return await this.#send(message, attach);
    const seconds = deliveryDeadline(this.#mail);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#transport.close();
        reject(Object.assign(new Error(`no delivery within ${seconds} s overall`), { code: "EDEADLINE" }));
      }, seconds * 1000);
    });
    try {
      return await Promise.race([this.#send(message, attach), deadline]);
    } catch (err) {
      throw err instanceof NetmonError ? err : new NetmonError(this.describe(err), EX.TEMPFAIL, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async #send(message: SpooledMessage, attach: boolean): Promise<string> {
    try {
      const info = await this.#transport.sendMail({
        from: this.#mail.from,
        to: message.to ?? this.#mail.to,
        subject: message.subject,
        text: message.text,
        date: new Date(message.date),
        messageId: message.messageId,
        ...(attachmentsOf(message, attach ? this.#attachments : [])),
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      if (this.#mail.transport === "sendmail") {
        const raw = (info as { message?: Uint8Array }).message ?? new Uint8Array();
        const args = ["-i", "-f", this.#mail.from, ...this.#mail.to];
        // Killed past the delivery's deadline: a hung sendmail would hold the state lock (lib/host/run.ts).
        const ms = deliveryDeadline(this.#mail) * 1000;
        await runCommand(this.#mail.sendmail, args, new TextDecoder().decode(raw), ms);
        return `${this.#mail.sendmail} accepted it`;
      }
      return (info.response ?? "accepted").trim();
    } catch (err) {
      if (err instanceof NetmonError && err.exitCode === EX.NOPERM) throw err;
      if (err instanceof TimedOut) {
        throw new NetmonError(
          `mail to ${err.path} failed: it did not finish within ${err.seconds} s (four times mail.timeout) and was killed`,
          EX.TEMPFAIL,
          { cause: err },
        );
      }
      const denied = netDenied(err, this.#mail.server);
      if (denied) throw denied;
      throw new NetmonError(this.describe(err), EX.TEMPFAIL, { cause: err });
    }
  }

  /**
   * Checks the way to the server without sending anything: connects, greets,
   * negotiates TLS and logs in as a send would. Resolves to what happened in
   * plain words, or throws a one-line NetmonError.
   */
  async verify(): Promise<string> {
    const mail = this.#mail;
    if (mail.transport === "sendmail") {
      try {
        const info = Deno.statSync(mail.sendmail);
        if (!info.isFile || ((info.mode ?? 0) & 0o111) === 0) {
          throw new NetmonError(`${mail.sendmail} is not an executable file`, EX.UNAVAILABLE);
        }
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) {
          throw new NetmonError(`${mail.sendmail} not found: no local mail transfer agent`, EX.UNAVAILABLE);
        }
        throw fileError(err, "look at", mail.sendmail);
      }
      return "is there (doctor does not hand it a message: 'netmon report --mail-test' does)";
    }
    try {
      await this.#transport.verify();
    } catch (err) {
      const denied = netDenied(err, this.#mail.server);
      if (denied) throw denied;
      throw new NetmonError(this.describe(err), EX.TEMPFAIL, { cause: err });
    }
    const tls = mail.security === "none" ? "without TLS" : mail.security === "tls" ? "over TLS" : "with STARTTLS";
    return `answered ${tls}${mail.user !== undefined ? ` and accepted the login as ${mail.user}` : ""}`;
  }

  /** One line saying what went wrong, with what the server said. */
  describe(err: unknown): string {
    const e = err as MailFailure;
    const where = this.#mail.transport === "sendmail" ? this.#mail.sendmail : `${this.#mail.server}:${this.#mail.port}`;
    const said = e.response ? `: the server said "${e.response.trim()}"` : "";
    const detail = (e.message ?? String(err)).split("\n")[0]?.replace(/^\w+ \w+: /, "");
    const code = /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ECONNRESET/.test(detail ?? "") ? "ECONNECTION" : e.code;
    switch (code) {
      case "ECONNECTION":
        return `mail to ${where} failed: could not connect (${detail})`;
      case "ETIMEDOUT":
        return `mail to ${where} failed: no answer within ${this.#mail.timeout} s (${detail})`;
      case "EDEADLINE":
        return `mail to ${where} failed: not delivered within ${deliveryDeadline(this.#mail)} s overall ` +
          `(the server answers, but too slowly; mail.timeout is ${this.#mail.timeout} s per reply)`;
      case "EAUTH":
        if (AUTH_NOT_OFFERED.includes(e.responseCode ?? 0)) {
          return `mail to ${where} failed: the server does not offer AUTH, so the login as ${this.#mail.user} that ` +
            `mail.user asks for cannot be made${e.response ? ` (it said "${e.response.trim()}")` : ""}: netmon does ` +
            "not send without it; remove mail.user if this server needs no login, else check mail.server, mail.port " +
            "and mail.security";
        }
        return `mail to ${where} failed: authentication as ${this.#mail.user} refused${said}`;
      case "ETLS":
        return `mail to ${where} failed: TLS failed (${detail})`;
      case "EENVELOPE":
        return `mail to ${where} failed: recipients or sender refused${said}`;
      case "EMESSAGE":
        return `mail to ${where} failed: message refused${said}`;
      default:
        return `mail to ${where} failed: ${detail}${said}`;
    }
  }

  close(): void {
    this.#transport.close();
  }
}

/** The attachments of `message`: its own, and the config's unless it says otherwise. */
function attachmentsOf(message: SpooledMessage, configured: Attachment[]): { attachments?: Attachment[] } {
  const own = (message.attachments ?? []).map((a) => ({
    filename: a.filename,
    content: new TextEncoder().encode(a.content),
  }));
  const all = [...(message.attach === false ? [] : configured), ...own];
  return all.length > 0 ? { attachments: all } : {};
}

/**
 * Deno refusing the connection (no `--allow-net` for the server) or, for a
 * host name, its lookup (getaddrinfo EPERM, for `server`), however nodemailer
 * wrapped it: a permission to grant (a DenoDenied, exit 77 naming the flag),
 * not a server to wait for.
 */
function netDenied(err: unknown, server: string): NetmonError | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const denied = denoPermissionError(e);
    if (denied) return denied;
    const what = /Requires net access to "?([^",]+)"?/.exec(e.message)?.[1] ??
      (/getaddrinfo EPERM/.test(e.message) ? server : undefined);
    if (what !== undefined) {
      return new DenoDenied({ kind: "net", what, note: "the mail server's address and port" }, { cause: err });
    }
  }
  return undefined;
}

/**
 * The replies to AUTH of a server that does not take it at all: command unknown (500), not implemented (502), not
 * now (503, e.g. "AUTH command used when not advertised"). Wrong credentials are 535.
 */
const AUTH_NOT_OFFERED: readonly number[] = [500, 502, 503];

/** The largest attachment read (a graph picture is a few hundred KB). */
const MAX_ATTACHMENT = 64 << 20;

/** Seconds a message's whole delivery may take: four times mail.timeout (connect, greeting, TLS and login, data). */
export function deliveryDeadline(mail: MailConfig): number {
  return 4 * mail.timeout;
}

/** What a delivery run did. */
export interface Delivery {
  /** Server responses of the messages sent, oldest first. */
  sent: string[];
}

/**
 * True when the server refused this message for good (a 5xx reply to its
 * content): sending it again would be refused again, and every report
 * after it would wait behind it.
 */
function refusedForGood(err: unknown): boolean {
  const failure = (err instanceof NetmonError ? err.cause : err) as MailFailure | undefined;
  return failure?.code === "EMESSAGE" && (failure.responseCode ?? 0) >= 500;
}

/**
 * Delivers the spool oldest first, removing each message once accepted. On
 * the first failure stops and throws (exit 75), leaving that message and
 * the later ones for the next run; except that a message the server refuses
 * for good (5xx to its content) is moved aside as `*.refused`, with a
 * warning, and the later ones are still sent (then exit 69).
 */
export async function deliverSpool(dir: string, mailer: Mailer): Promise<Delivery> {
  const sent: string[] = [];
  const refused: string[] = [];
  const files = spooled(dir);
  for (const [i, path] of files.entries()) {
    let message: SpooledMessage;
    try {
      message = JSON.parse(readWholeText(path, { what: "spooled mail", write: true }, MAX_SPOOLED) ?? "");
    } catch (err) {
      if (err instanceof NetmonError) {
        // Not netmon's (a link, another user's file): left alone, and said.
        mailer.warnings.push(`${err.message}; not sent`);
        continue;
      }
      if (err instanceof SyntaxError) {
        // A file that is not whole was never renamed into place: only damage makes one.
        const aside = `${path}.damaged`;
        Deno.renameSync(path, aside);
        mailer.warnings.push(`${path}: not a spooled mail (${err.message}); moved to ${aside}`);
        continue;
      }
      throw fileError(err, "read spooled mail", path);
    }
    try {
      sent.push(await mailer.send(message));
    } catch (err) {
      if (refusedForGood(err)) {
        const aside = `${path.slice(0, -".json".length)}.refused`;
        try {
          Deno.renameSync(path, aside);
        } catch (e) {
          throw fileError(e, "move aside refused mail", path);
        }
        refused.push(aside);
        mailer.warnings.push(
          `${err instanceof NetmonError ? err.message : err}; moved to ${aside} (it would be refused again), ` +
            "the mails after it are still sent",
        );
        continue;
      }
      const left = files.length - i;
      // A refusal stays one, so that the command line can print the whole run line that gets past it.
      if (err instanceof DenoDenied) throw err.withNote(`${left} mail(s) kept in ${dir} for the next run`);
      const what = err instanceof NetmonError ? err.message : String(err);
      // A permission to grant stays exit 77: waiting will not help.
      const status = err instanceof NetmonError && err.exitCode === EX.NOPERM ? EX.NOPERM : EX.TEMPFAIL;
      throw new NetmonError(`${what}; ${left} mail(s) kept in ${dir} for the next run`, status, {
        cause: err,
      });
    }
    try {
      Deno.removeSync(path);
    } catch (err) {
      throw fileError(err, "remove sent mail", path);
    }
  }
  if (refused.length > 0) {
    throw new NetmonError(
      `${refused.length} mail(s) refused for good by the mail server (see the warning above), kept as ` +
        `${refused.join(", ")}; ${sent.length} sent`,
      EX.UNAVAILABLE,
    );
  }
  return { sent };
}
