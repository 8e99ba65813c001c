/**
 * `netmon report`: record a sample, print the report, mail it through the spool, store it.
 *
 * @module
 */

import { runCommand } from "../host/run.ts";
import { tidyTemporaries } from "../host/files.ts";
import { err, findConfig, findStateDir, out } from "./context.ts";
import { documentCache, type PendingDocumentCache } from "../state/config_cache.ts";
import type { Config } from "../config/config.ts";
import { getEnv, getUid } from "../host/env.ts";
import type { Sample } from "../state/log_format.ts";
import { type MailConfig, missingPassword } from "../config/mail.ts";
import { ConfigError, EX, NetmonError } from "../host/errors.ts";
import { formatReport, type ReportMeter } from "../outputs/report_text.ts";
import { selectSource } from "../sources/select.ts";
import { stateDirBeforeConfig, type StateFiles, stateFiles } from "../state/files.ts";
import { withLock } from "../state/lock.ts";
import { writeStatus } from "../state/status.ts";
import { type Prepared, type Recorded, recordSample } from "../state/record.ts";
import { allColumns, type Column, meterAsColumns } from "../config/meters.ts";
import { formatTimestamp } from "../usage/local_time.ts";
import { StampZone } from "../state/zone_record.ts";
import { refuseUntrusted, sqlitePath } from "../config/trust.ts";
import { refuseOtherConfigs, SharedStateError } from "../state/installed.ts";
import type { Options } from "./commands.ts";
import { runOutputs, type SampleOutput } from "../outputs/output.ts";
import { reached } from "../host/phases.ts";
import { advise, adviseError, type RunWith, runWith } from "../host/invocation.ts";

/** `netmon report`: records a sample, prints the report, and hands the sample to every output the config names. */
export async function report(opts: Options): Promise<number> {
  const cache = configCache(opts);
  const config = await findConfig(opts.config, cache);
  const stateGiven = opts.stateDir !== undefined || config.stateDir !== undefined ||
    getEnv("NETMON_STATE_DIR") !== undefined;
  const root = rootNeeded(config, stateGiven, getUid);
  if (root) throw new NetmonError(root, EX.NOPERM);
  const files = stateFiles(findStateDir(opts.stateDir, config));
  // Before anything is read or written there, or run: what netmon refuses to run with (lib/config/trust.ts). The
  // firewall keeps counting meanwhile: the run after the fix counts it all.
  const trust = await refuseUntrusted(config, files.dir, getUid() ?? 0);
  if (opts.mailTest) return await mailTest(config);
  // How it ended goes to netmon.status, for `netmon check` (a report that found rules missing logs nothing else),
  // the netmon command that mends it named with this run's -c and -s, in both.
  const given = runWith(opts);
  try {
    const code = await recordAndReport(config, files, opts, cache, trust, given);
    writeStatus(files, code, "ok");
    return code;
  } catch (thrown) {
    const e = adviseError(thrown, given);
    // Not in another config's state directory (SharedStateError): its status is that config's.
    const theirs = thrown instanceof SharedStateError;
    if (e instanceof NetmonError && !(e.exitCode === EX.CANTCREAT || e.exitCode === EX.NOPERM || theirs)) {
      writeStatus(files, e.exitCode, e.message);
    }
    throw e;
  }
}

/**
 * The config's parsed TOML kept in the state directory (lib/state/config_cache.ts), which a report, run every few
 * minutes, looks in before parsing its config; undefined when the state directory cannot be told before the config.
 */
function configCache(opts: Options): PendingDocumentCache | undefined {
  const early = stateDirBeforeConfig(opts.stateDir);
  if (early === undefined) return undefined;
  const dir = stateFiles(early).dir;
  return documentCache(dir, (config) => stateFiles(findStateDir(opts.stateDir, config)).dir === dir);
}

async function recordAndReport(
  config: Config,
  files: StateFiles,
  opts: Options,
  cache: PendingDocumentCache | undefined,
  trust: readonly string[],
  given: RunWith,
): Promise<number> {
  // The store's connection is the slowest thing a report sets up (the server starts a process for it, then the
  // login): begun first, and waited for until the server has the request, it is ready when the sample is logged.
  const store = config.fleet.postgres
    ? await (await import("../outputs/postgres_output.ts")).postgresOutput(config, files, { closeAtExit: true })
    : undefined;
  const source = await selectSource(config, runCommand);
  const meters = reportMeters(config);
  // The outputs' modules load while the counters are read: see recordWithOutputs.
  const outputs = reportOutputs(config, files, opts, meters.of, store).then((list) =>
    // The parsed config is kept under the lock once the sample is logged: a report that fails leaves none.
    cache ? [...list, { name: "parsed config", recorded: () => cache.keep() }] : list
  );
  outputs.catch(() => {}); // awaited in recordWithOutputs
  // What the trust check warned of (the state directory's, the textfile directory's) is said at the run's end,
  // whatever the outcome.
  try {
    // Refused under the lock, before the counters are read, in a state directory another config's start took.
    const claim = () => refuseOtherConfigs(files, config.file);
    return await recordWithOutputs(files, source, outputs, meters, () => meters.prepare(), claim, given);
  } finally {
    for (const w of trust) err(`netmon: warning: ${w}\n`);
  }
}

/**
 * Records a sample with `outputs`, which may still be loading: every step
 * that needs them waits for them, and a source that clears its counters on
 * reading (pf -z) waits for them before it reads, so an output that cannot
 * be set up fails the run with the counters intact. Others read meanwhile,
 * and their counters stay in the kernel for the next run if it fails.
 */
async function recordWithOutputs(
  files: StateFiles,
  source: Awaited<ReturnType<typeof selectSource>>,
  outputs: Promise<SampleOutput[]>,
  meters: ReportMeters,
  whileReading: () => void,
  claim: () => void,
  /** The run's -c and -s, for the netmon commands its warnings name. */
  given: RunWith,
): Promise<number> {
  let failure: unknown;
  const stampZone = new StampZone(files);
  const recorded = await recordSample(files, {
    // The zone record is read and checked here too, before the counters: a bad one fails the run with them intact.
    claim: () => {
      claim();
      stampZone.read();
    },
    readCounters: (previous) => {
      const ready = Promise.all([previous, outputs]).then(([p]) => p);
      ready.catch(() => {}); // a source need not wait for it
      const reading = source.read(ready);
      whileReading(); // what can be done while the source's program runs
      return reading;
    },
    now: () => {
      const epoch = Date.now();
      return { timestamp: formatTimestamp(new Date(epoch)), epoch };
    },
    // The record as read above, with this sample's zone once noted: not read again.
    logZone: () => stampZone.zone(),
    // What must not be lost with the sample (the mailed report) is made before it is logged, kept once it is; the
    // zone of its stamp is recorded before it too, so that no stamp is ever read in another zone.
    onPrepare: async (r) => {
      stampZone.note(r.epoch, r.warnings, r.previous?.sample.timestamp);
      return preparedAll(await outputs, r);
    },
    besideLast: async (step) => (await Promise.all((await outputs).map((o) => o.beforeAppend?.(step) ?? []))).flat(),
    // Under the same lock as the sample: a crash after this cannot lose what they wrote (a spooled mail).
    onRecorded: async (r) => {
      reached("report: outputs loaded");
      failure = await runOutputs(await outputs, (o) => o.recorded?.(r));
    },
  });
  for (const w of [...recorded.warnings, ...source.warnings]) err(`netmon: warning: ${advise(w, given)}\n`);
  out(formatReport(meters.of(recorded.sample), recorded.previous, recorded.sample, recorded.usage));
  const later = await runOutputs(await outputs, (o) => o.after?.());
  if (failure ?? later) throw failure ?? later;
  return EX.OK;
}

/** The meters a report shows for a sample (see {@linkcode reportMeters}). */
interface ReportMeters {
  /** Works out the configured columns now (else on the first `of`). */
  prepare(): void;
  /** The sample's columns, in its order, with their labels. */
  of(sample: Sample): readonly ReportMeter[];
}

/**
 * The meters a report shows: a sample's columns with the labels the config
 * gives them (the interface source's columns are their names). A firewall
 * source's sample has exactly the configured columns in config order, and
 * gets them as they are (the meters themselves, when each is one column): at
 * 10,000 meters, no second list and no lookups.
 * Working them out (prepare) is left until the counters' read has started,
 * so that it runs while the source's program does.
 */
function reportMeters(config: Config): ReportMeters {
  let columns: readonly Column[] | undefined;
  let labels: Map<string, string> | undefined;
  const prepare = () => columns ??= meterAsColumns(config.meters) ?? allColumns(config.meters);
  return {
    prepare,
    of(sample) {
      const configured = prepare();
      const names = [...sample.counters.keys()];
      if (names.length === configured.length && names.every((n, i) => n === configured[i]?.name)) return configured;
      labels ??= new Map(configured.map((c) => [c.name, c.label]));
      return names.map((name) => ({ name, label: labels?.get(name) ?? name }));
    },
  };
}

/** Every output's `prepare`, as one: committed or abandoned together. */
async function preparedAll(outputs: readonly SampleOutput[], r: Recorded): Promise<Prepared> {
  const made: Prepared[] = [];
  try {
    for (const o of outputs) {
      const p = await o.prepare?.(r);
      if (p) made.push(p);
    }
  } catch (e) {
    for (const p of made) p.abandon();
    throw e;
  }
  return {
    commit: () => made.forEach((p) => p.commit()),
    abandon: () => made.forEach((p) => p.abandon()),
  };
}

/**
 * The outputs this config names, each loaded only when named: a report
 * without mail or a store pays nothing for them.
 */
async function reportOutputs(
  config: Config,
  files: StateFiles,
  opts: Options,
  metersOf: (sample: Sample) => readonly ReportMeter[],
  store: SampleOutput | undefined,
): Promise<SampleOutput[]> {
  const outputs: SampleOutput[] = [];
  const mail = opts.noMail ? undefined : config.mail;
  if (mail && mail.send.includes("report")) {
    const { mailBody, reportMessage, settlePending, spoolDir, spoolPending } = await import("../outputs/mail.ts");
    outputs.push({
      name: "mail",
      // The report is spooled as pending before its sample is logged, under the same lock, and made deliverable
      // once the sample is in the log: a run killed at any instant leaves both or neither, and the next run settles
      // a report left pending (see spoolPending).
      prepare(r) {
        const dir = spoolDir(files.dir);
        tidyTemporaries(dir); // what killed runs left half-written
        settlePending(dir, r.previous?.sample);
        const body = mailBody(metersOf(r.sample), r.previous, r.sample, r.usage);
        return spoolPending(dir, reportMessage(mail, r.sample.timestamp, new Date(), body), r.sample);
      },
    });
  }
  const textfile = config.fleet.textfile;
  // The cycle tally serves quotas, commits, digests, and the textfile's per-customer cycle metrics.
  const cyclesShown = textfile !== undefined && config.customers.length > 0;
  if (config.customers.some((c) => c.quota || c.commit) || mail?.send.some((s) => s !== "report") || cyclesShown) {
    // A threshold passed with no [mail] is said at once, before it is recorded as passed (see alertsOutput).
    const say = (note: string) => err(`netmon: warning: ${note}\n`);
    const alerts = (await import("../outputs/alerts.ts")).alertsOutput(config, files, mail, say);
    if (alerts) outputs.push(alerts);
  }
  const sqlite = sqlitePath(config, files.dir);
  if (sqlite !== undefined) {
    const { SqliteStore, storeSample } = await import("../outputs/sqlite.ts");
    outputs.push({
      name: "store",
      // A store that cannot be written fails the run after the report; the next run catches it up.
      async recorded(r) {
        const db = SqliteStore.open(sqlite);
        try {
          await storeSample(db, files.log, r);
        } finally {
          db.close();
        }
      },
    });
  }
  if (textfile) {
    const { textfileOutput } = await import("../outputs/textfile.ts");
    // Read from the tally the alerts output (pushed above, so run before) has just brought up to the sample.
    const recorded = cyclesShown ? (await import("../outputs/textfile_cycles.ts")).recordedCycles : undefined;
    const cycles = recorded && ((r: Recorded) => recorded(config, files, r));
    outputs.push(textfileOutput(textfile, files, config.meters, cycles ? { cycles } : {}));
  }
  if (store) outputs.push(store);
  // Whatever went into the spool (reports, alerts, digests), and whatever an earlier run left there.
  if (mail) outputs.push({ name: "mail delivery", after: () => deliver(mail, files, config.file) });
  return outputs;
}

/**
 * Why this run cannot work, when a firewall source is read by a user who is
 * not root and no state directory is given: said first, since otherwise the
 * first complaint would be about a state directory under the user's home.
 */
export function rootNeeded(config: Config, stateDirGiven: boolean, uid: () => number | null): string | undefined {
  if (config.source === "interface" || stateDirGiven || uid() === 0) return undefined;
  return `netmon report reads the ${config.source} counters, which needs root (or CAP_NET_ADMIN): run it as root`;
}

/** Delivers the spool, one run at a time (others leave their report spooled for it). */
/**
 * Sends what the spool holds. A password that is missing (mail.user set, no password_file, nothing in the run's
 * environment) fails only this: mail is a side output, so the sample is logged first and the mail waits in the
 * spool; the line names the config file and how many mails wait.
 */
async function deliver(mail: MailConfig, files: StateFiles, configFile: string | undefined): Promise<void> {
  const { deliverSpool, Mailer, smtpPassword, spoolDir, spooled } = await import("../outputs/mail.ts");
  const dir = spoolDir(files.dir);
  // With send = "daily" or "cycle", most runs spool nothing: then the mail client is not even loaded.
  const waiting = spooled(dir).length;
  if (waiting === 0) return;
  const missing = missingPassword(mail, getEnv);
  if (missing !== undefined) {
    throw new ConfigError(
      `${configFile === undefined ? "" : `${configFile}: `}${missing}; ${waiting} mail(s) kept in ${dir} for the ` +
        "next run",
    );
  }
  await withLock({ ...files, lock: `${dir}.lock` }, 60_000, async () => {
    const mailer = await Mailer.open(mail, await smtpPassword(mail, getEnv));
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
  const mailer = await Mailer.open(mail, await smtpPassword(mail, getEnv));
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
