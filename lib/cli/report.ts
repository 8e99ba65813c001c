/**
 * `netmon report`: record a sample, print the report, mail it through the spool, store it.
 *
 * @module
 */

import { runCommand } from "../host/run.ts";
import { err, findConfig, findStateDir, out } from "./context.ts";
import type { Config } from "../config/config.ts";
import { getEnv } from "../host/env.ts";
import type { Sample } from "../state/log_format.ts";
import type { MailConfig } from "../config/mail.ts";
import { EX, NetmonError } from "../host/errors.ts";
import { formatReport } from "../outputs/report_text.ts";
import { selectSource } from "../sources/select.ts";
import { type StateFiles, stateFiles } from "../state/files.ts";
import { withLock } from "../state/lock.ts";
import { recordSample } from "../state/record.ts";
import { allColumns } from "../config/meters.ts";
import { formatTimestamp } from "../usage/local_time.ts";
import { stateDirWarnings } from "../host/dir_trust.ts";
import type { Options } from "./commands.ts";

/** `netmon report`: records a sample, prints the report, spools and delivers its mail, stores it. */
export async function report(opts: Options): Promise<number> {
  const config = findConfig(opts.config);
  const files = stateFiles(findStateDir(opts.stateDir, config));
  const mail = opts.noMail ? undefined : config.mail;
  if (opts.mailTest) return await mailTest(config);
  // Loaded only when there is mail: a report without it pays nothing for it.
  const mailLib = mail ? await import("../outputs/mail.ts") : undefined;
  const source = await selectSource(config, runCommand);
  // Configured meters' columns carry their label; the interface source's are their names.
  const labels = new Map(allColumns(config.meters).map((c) => [c.name, c.label]));
  const storeLib = config.sqlite ? await import("../outputs/sqlite.ts") : undefined;
  const metersOf = (sample: Sample) =>
    [...sample.counters.keys()].map((name) => ({ name, label: labels.get(name) ?? name }));
  // Checked while the run goes on (stat runs as a child), said at its end, whatever the outcome.
  const trust = stateDirWarnings(files.dir);
  try {
    return await recordAndReport(config, files, mail, mailLib, storeLib, source, metersOf);
  } finally {
    for (const w of await trust) err(`netmon: warning: ${w}\n`);
  }
}

async function recordAndReport(
  config: Config,
  files: StateFiles,
  mail: MailConfig | undefined,
  mailLib: typeof import("../outputs/mail.ts") | undefined,
  storeLib: typeof import("../outputs/sqlite.ts") | undefined,
  source: Awaited<ReturnType<typeof selectSource>>,
  metersOf: (sample: Sample) => { name: string; label: string }[],
): Promise<number> {
  let storeFailure: unknown;
  const recorded = await recordSample(files, {
    readCounters: (previous) => source.read(previous),
    now: () => formatTimestamp(new Date()),
    // The report's mail is spooled as pending before its sample is logged,
    // under the same lock, and made deliverable once the sample is in the log:
    // a run killed at any instant leaves either both or neither, and the next
    // run settles a report left pending (see spoolPending).
    onPrepare: mail && mailLib && ((r) => {
      const { mailBody, reportMessage, settlePending, spoolDir, spoolPending } = mailLib;
      settlePending(spoolDir(files.dir), r.previous?.sample);
      const body = mailBody(metersOf(r.sample), r.previous, r.sample, r.usage);
      return spoolPending(spoolDir(files.dir), reportMessage(mail, r.sample.timestamp, new Date(), body), r.sample);
    }),
    onRecorded: storeLib && (async (r) => {
      if (storeLib) {
        // A store that cannot be written fails the run after the report; the next run catches it up.
        let db: import("../outputs/sqlite.ts").SqliteStore | undefined;
        try {
          db = storeLib.SqliteStore.open(storePath(config, files));
          await storeLib.storeSample(db, files.log, r.previous?.sample, r.sample, r.intervalPackets);
        } catch (e) {
          storeFailure = e;
        } finally {
          db?.close();
        }
      }
    }),
  });
  for (const w of [...recorded.warnings, ...source.warnings]) err(`netmon: warning: ${w}\n`);
  out(formatReport(metersOf(recorded.sample), recorded.previous, recorded.sample, recorded.usage));
  if (mail) await deliver(mail, files);
  if (storeFailure) throw storeFailure;
  return EX.OK;
}

/** Where the config's SQLite store is: an absolute path, or relative to the state directory. */
export function storePath(config: Config, files: StateFiles): string {
  const path = config.sqlite as string;
  return path.startsWith("/") ? path : `${files.dir}/${path}`;
}

/** Delivers the spool, one run at a time (others leave their report spooled for it). */
async function deliver(mail: MailConfig, files: StateFiles): Promise<void> {
  const { deliverSpool, Mailer, smtpPassword, spoolDir } = await import("../outputs/mail.ts");
  const dir = spoolDir(files.dir);
  await withLock({ ...files, lock: `${dir}.lock` }, 60_000, async () => {
    const mailer = await Mailer.open(mail, smtpPassword(mail, getEnv));
    try {
      await deliverSpool(dir, mailer);
    } finally {
      mailer.close();
      for (const w of mailer.warnings) err(`netmon: warning: ${w}\n`);
    }
  });
}

async function mailTest(config: Config): Promise<number> {
  const mail = config.mail;
  if (!mail) throw new NetmonError("--mail-test: the config has no [mail] section", EX.CONFIG);
  const { Mailer, reportMessage, smtpPassword } = await import("../outputs/mail.ts");
  const mailer = await Mailer.open(mail, smtpPassword(mail, getEnv));
  try {
    const now = new Date();
    const stamp = formatTimestamp(now);
    const message = reportMessage(mail, stamp, now, `This is a test message from netmon, sent at ${stamp}.\n`);
    message.subject = `netmon mail test - ${stamp}`;
    const said = await mailer.send(message, false);
    const where = mail.transport === "sendmail" ? mail.sendmail : `${mail.server}:${mail.port}`;
    out(`mail test: ${where} accepted the message for ${mail.to.join(", ")}: ${said}\n`);
    return EX.OK;
  } finally {
    mailer.close();
  }
}
