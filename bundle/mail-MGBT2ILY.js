import {
  RESET_MARK,
  humanReadable
} from "./chunk-T7UGWWQE.js";
import {
  replaceFile
} from "./chunk-P4776DEG.js";
import {
  ConfigError,
  EX,
  NetmonError,
  fileError
} from "./chunk-F6H2ZAXR.js";

// lib/mail.ts
var ORIGINAL_MAIL_LABELS = {
  proxy: "Proxy",
  "non-network": "Non Network"
};
function mailBody(meters, previous, sample, usage) {
  const byMeter = new Map(usage.meters.map((u) => [
    u.meter,
    u
  ]));
  const original = meters.length === 2 && meters[0]?.name === "proxy" && meters[1]?.name === "non-network";
  let text = "";
  if (usage.resets.length > 0) {
    text += ` ${RESET_MARK} 
`;
    if (!original) {
      const labels = meters.filter((m) => usage.resets.includes(m.name)).map((m) => m.label);
      text += `Counters went down for: ${labels.join(", ")}
`;
    }
  }
  text += `Network usage between: ${previous?.sample.timestamp ?? sample.timestamp} and ${sample.timestamp}
`;
  for (const m of meters) {
    const label = original ? ORIGINAL_MAIL_LABELS[m.name] : m.label;
    text += `
${label} Traffic:
  Usage: ${humanReadable(byMeter.get(m.name)?.usage ?? 0n)}
`;
    text += `  Current Total: ${humanReadable(sample.counters.get(m.name) ?? 0n)}
`;
  }
  return `${text}
Total since: ${usage.totalStart}
`;
}
function spoolDir(stateDir) {
  return `${stateDir}/spool`;
}
function randomHex(bytes) {
  return [
    ...crypto.getRandomValues(new Uint8Array(bytes))
  ].map((b) => b.toString(16).padStart(2, "0")).join("");
}
function reportMessage(mail, stamp, date, text) {
  const digits = stamp.replace(/\D/g, "");
  return {
    subject: mail.subject.replace("%s", stamp),
    text,
    date: date.toISOString(),
    messageId: `<netmon.${digits}.${randomHex(6)}@${mail.helo}>`
  };
}
function spool(dir, message) {
  try {
    Deno.mkdirSync(dir, {
      recursive: true,
      mode: 488
    });
  } catch (err) {
    throw fileError(err, "create spool directory", dir);
  }
  const name = `${message.date.replace(/\D/g, "").slice(0, 17)}-${randomHex(4)}.json`;
  const path = `${dir}/${name}`;
  replaceFile(path, JSON.stringify(message) + "\n");
  return path;
}
function spoolFiles(dir, suffix) {
  try {
    return [
      ...Deno.readDirSync(dir)
    ].filter((e) => e.isFile && e.name.endsWith(suffix)).map((e) => e.name).sort().map((n) => `${dir}/${n}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw fileError(err, "read spool directory", dir);
  }
}
function spooled(dir) {
  return spoolFiles(dir, ".json");
}
function refusedReports(dir) {
  return spoolFiles(dir, ".refused");
}
function smtpPassword(mail, env) {
  if (mail.user === void 0) return void 0;
  if (mail.passwordFile !== void 0) {
    let text;
    try {
      text = Deno.readTextFileSync(mail.passwordFile);
    } catch (err) {
      throw fileError(err, "read mail.password_file", mail.passwordFile);
    }
    const password2 = text.split("\n")[0] ?? "";
    if (password2 === "") throw new ConfigError(`${mail.passwordFile}: mail.password_file is empty`);
    return password2;
  }
  const password = env("NETMON_SMTP_PASSWORD");
  if (password === void 0 || password === "") {
    throw new ConfigError("mail.user is set but there is no password: set mail.password_file or NETMON_SMTP_PASSWORD");
  }
  return password;
}
var NODEMAILER = "nodemailer";
var Mailer = class _Mailer {
  #mail;
  #transport;
  #attachments;
  /** Warnings for stderr (an attachment missing). */
  warnings = [];
  constructor(mail, transport, attachments) {
    this.#mail = mail;
    this.#transport = transport;
    this.#attachments = attachments;
  }
  /** Connects lazily: nothing goes over the network until the first send. */
  static async open(mail, password) {
    const nodemailer = (await import(NODEMAILER)).default;
    let ca;
    if (mail.caFile !== void 0) {
      try {
        ca = Deno.readTextFileSync(mail.caFile);
      } catch (err) {
        throw fileError(err, "read mail.ca_file", mail.caFile);
      }
    }
    const ms = mail.timeout * 1e3;
    const options = mail.transport === "sendmail" ? {
      sendmail: true,
      path: mail.sendmail,
      newline: "unix"
    } : {
      host: mail.server,
      port: mail.port,
      secure: mail.security === "tls",
      requireTLS: mail.security === "starttls",
      ignoreTLS: mail.security === "none",
      // Set, so that nodemailer does not ask the system for the host name.
      name: mail.helo,
      ...mail.user !== void 0 ? {
        auth: {
          user: mail.user,
          pass: password
        }
      } : {},
      tls: {
        minVersion: "TLSv1.2",
        ...ca !== void 0 ? {
          ca
        } : {},
        .../^[\d.]+$|:/.test(mail.server) ? {} : {
          servername: mail.server
        }
      },
      connectionTimeout: ms,
      greetingTimeout: ms,
      socketTimeout: ms,
      dnsTimeout: ms,
      logger: false,
      debug: false
    };
    const mailer = new _Mailer(mail, nodemailer.createTransport(options), []);
    for (const path of mail.attach) {
      try {
        mailer.#attachments.push({
          filename: path.slice(path.lastIndexOf("/") + 1),
          content: Deno.readFileSync(path)
        });
      } catch (err) {
        mailer.warnings.push(`mail.attach: cannot read ${path} (${err.name}); sent without it`);
      }
    }
    return mailer;
  }
  /** Sends one message; resolves to what the server said, or throws a one-line NetmonError. */
  async send(message, attach = true) {
    try {
      const info = await this.#transport.sendMail({
        from: this.#mail.from,
        to: this.#mail.to,
        subject: message.subject,
        text: message.text,
        date: new Date(message.date),
        messageId: message.messageId,
        ...attach && this.#attachments.length > 0 ? {
          attachments: this.#attachments
        } : {},
        disableFileAccess: true,
        disableUrlAccess: true
      });
      return (info.response ?? "accepted").trim();
    } catch (err) {
      throw new NetmonError(this.describe(err), EX.TEMPFAIL, {
        cause: err
      });
    }
  }
  /**
   * Checks the way to the server without sending anything: connects, greets,
   * negotiates TLS and logs in as a send would. Resolves to what happened in
   * plain words, or throws a one-line NetmonError.
   */
  async verify() {
    const mail = this.#mail;
    if (mail.transport === "sendmail") {
      try {
        const info = Deno.statSync(mail.sendmail);
        if (!info.isFile || ((info.mode ?? 0) & 73) === 0) {
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
      throw new NetmonError(this.describe(err), EX.TEMPFAIL, {
        cause: err
      });
    }
    const tls = mail.security === "none" ? "without TLS" : mail.security === "tls" ? "over TLS" : "with STARTTLS";
    return `answered ${tls}${mail.user !== void 0 ? ` and accepted the login as ${mail.user}` : ""}`;
  }
  /** One line saying what went wrong, with what the server said. */
  describe(err) {
    const e = err;
    const where = this.#mail.transport === "sendmail" ? this.#mail.sendmail : `${this.#mail.server}:${this.#mail.port}`;
    const said = e.response ? `: the server said "${e.response.trim()}"` : "";
    const detail = (e.message ?? String(err)).split("\n")[0]?.replace(/^\w+ \w+: /, "");
    const code = /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ECONNRESET/.test(detail ?? "") ? "ECONNECTION" : e.code;
    switch (code) {
      case "ECONNECTION":
        return `mail to ${where} failed: could not connect (${detail})`;
      case "ETIMEDOUT":
        return `mail to ${where} failed: no answer within ${this.#mail.timeout} s (${detail})`;
      case "EAUTH":
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
  close() {
    this.#transport.close();
  }
};
function refusedForGood(err) {
  const failure = err instanceof NetmonError ? err.cause : err;
  return failure?.code === "EMESSAGE" && (failure.responseCode ?? 0) >= 500;
}
async function deliverSpool(dir, mailer) {
  const sent = [];
  const refused = [];
  const files = spooled(dir);
  for (const [i, path] of files.entries()) {
    let message;
    try {
      message = JSON.parse(Deno.readTextFileSync(path));
    } catch (err) {
      if (err instanceof SyntaxError) {
        const aside = `${path}.damaged`;
        Deno.renameSync(path, aside);
        mailer.warnings.push(`${path}: not a spooled report (${err.message}); moved to ${aside}`);
        continue;
      }
      throw fileError(err, "read spooled report", path);
    }
    try {
      sent.push(await mailer.send(message));
    } catch (err) {
      if (refusedForGood(err)) {
        const aside = `${path.slice(0, -".json".length)}.refused`;
        try {
          Deno.renameSync(path, aside);
        } catch (e) {
          throw fileError(e, "move aside refused report", path);
        }
        refused.push(aside);
        mailer.warnings.push(`${err instanceof NetmonError ? err.message : err}; moved to ${aside} (it would be refused again), the reports after it are still sent`);
        continue;
      }
      const left = files.length - i;
      const what = err instanceof NetmonError ? err.message : String(err);
      throw new NetmonError(`${what}; ${left} report(s) kept in ${dir} for the next run`, EX.TEMPFAIL, {
        cause: err
      });
    }
    try {
      Deno.removeSync(path);
    } catch (err) {
      throw fileError(err, "remove sent report", path);
    }
  }
  if (refused.length > 0) {
    throw new NetmonError(`${refused.length} report(s) refused for good by the mail server (see the warning above), kept as ${refused.join(", ")}; ${sent.length} sent`, EX.UNAVAILABLE);
  }
  return {
    sent
  };
}
export {
  Mailer,
  deliverSpool,
  mailBody,
  refusedReports,
  reportMessage,
  smtpPassword,
  spool,
  spoolDir,
  spooled
};
