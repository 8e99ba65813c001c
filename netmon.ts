#!/usr/bin/env -S deno run -q -P=netmon-admin
/**
 * netmon: meters network traffic from firewall and kernel counters, from
 * cron. Parses arguments, loads the config, calls lib/, prints, exits with a
 * sysexits status.
 *
 * @module
 */

import { type OptionSpec, parseCommandArgs } from "./lib/args.ts";
import { runCommand } from "./lib/command.ts";
import { err, findConfig, findStateDir, out, reportFailure } from "./lib/cli.ts";
import { type Config, DEFAULT_CONFIG_PATH } from "./lib/config.ts";
import { getEnv } from "./lib/env.ts";
import type { Sample } from "./lib/log_format.ts";
import type { MailConfig } from "./lib/mail_config.ts";
import { EX, NetmonError, UsageError } from "./lib/errors.ts";
import { formatReport } from "./lib/report.ts";
import { selectSource } from "./lib/sources/select.ts";
import type { Plan } from "./lib/sources/source.ts";
import { ensureStateDir, recordSample, type StateFiles, stateFiles, withLock } from "./lib/state.ts";
import { allColumns } from "./lib/meters.ts";
import { formatTimestamp } from "./lib/timestamp.ts";
import { humanReadable } from "./lib/units.ts";

const VERSION = "0.1.0";

const COMMON = `Options:
  -c, --config FILE     config file (env NETMON_CONFIG; default ${DEFAULT_CONFIG_PATH} if present,
                        otherwise every non-loopback interface is metered)
  -s, --state-dir DIR   where netmon.log and netmon.last live (env NETMON_STATE_DIR; default
                        /var/lib/netmon for root, $XDG_STATE_HOME/netmon or ~/.local/state/netmon)
  -h, --help            this help
  -V, --version         print the version`;

const HELP: Record<string, string> = {
  main: `Usage: netmon [COMMAND] [OPTIONS]

Meters network traffic from firewall and kernel counters. Run 'report' from cron.

Commands (case-insensitive):
  report                      read the counters, append to the log, print usage (the default)
  start, initiate, initialise install the meters' firewall rules (idempotent)
  stop, clear, flush          remove netmon's firewall rules and chain
  status                      show installed rules and their counters now, without logging
  pf-conf                     print the labelled pf.conf rules for the meters (source = "pf")
  import [LOG]                load a log into the SQLite store (store = "sqlite:FILE")
  help [COMMAND]              help for a command

${COMMON}

Exit status: 0 ok, 64 usage, 65 bad data, 69 unavailable, 73/74 cannot write,
75 try again later, 77 permission, 78 bad config.`,
  report: `Usage: netmon [report] [--no-mail | --mail-test] [OPTIONS]

Reads every meter's counter with one command (per address family under
iptables), appends one line to netmon.log,
replaces netmon.last, and prints usage since the last run:
  Last Total - Timestamp: … <meter>: …
  New Total - …
  New Usage - …
A counter that went down (rules reloaded, iptables -Z, reboot) is a reset for
that meter: its usage is its new value, and a fourth line says so.

With [mail] in the config the report is also mailed, as the original did. It
goes into the spool in the state directory with its sample, then the spool is
delivered oldest first; if the server is down or refuses, the report stays
spooled for the next run and netmon exits 75.

      --no-mail         do not mail this report (reports already spooled stay spooled)
      --mail-test       send a test message and print what the server said; records nothing
${COMMON}`,
  start: `Usage: netmon start [--dry-run] [OPTIONS]   (also: initiate, initialise)

Installs the meters' rules in one transaction per firewall. iptables: one rule
per meter, hook, family and network, tagged 'netmon:COLUMN', jumping to netmon's
chain, through iptables-restore (ip6tables-restore for IPv6). nftables: netmon's
inet table with a named counter per column, through one 'nft -j -f -'. Rules
already installed are kept with their counters; stale netmon rules are removed;
other rules and tables are never touched. pf: changes nothing (see pf-conf).

  -n, --dry-run         print the exact firewall change, change nothing
${COMMON}`,
  stop: `Usage: netmon stop [--dry-run] [OPTIONS]   (also: clear, flush)

Removes exactly netmon's rules (found by their comment) and its chain, in one
iptables-restore transaction per family, or deletes netmon's nftables table.
The log and last file are kept.

  -n, --dry-run         print the exact firewall change, change nothing
${COMMON}`,
  "pf-conf": `Usage: netmon pf-conf [OPTIONS]

Prints the pf.conf lines that count the configured meters: a table per list
of networks, and one 'pass' rule per direction and address family labelled
with its log column. On pf the ruleset is yours: add them at the end of the
filter rules in /etc/pf.conf and load it with 'pfctl -f /etc/pf.conf'.

${COMMON}`,
  import: `Usage: netmon import [LOG] [OPTIONS]

Loads every sample of LOG (default: the state directory's netmon.log) into the
SQLite store the config names (store = "sqlite:FILE"), in one transaction.
Rows already there are replaced, so importing twice changes nothing. Reports
keep the store up to date by themselves; this is for a store added later.

${COMMON}`,
  status: `Usage: netmon status [OPTIONS]

Shows each meter's rule (or interface) and its counters now. Logs nothing.

${COMMON}`,
};

const COMMANDS: Record<string, string> = {
  report: "report",
  start: "start",
  initiate: "start",
  initialise: "start",
  initialize: "start",
  stop: "stop",
  clear: "stop",
  flush: "stop",
  status: "status",
  "pf-conf": "pf-conf",
  import: "import",
  help: "help",
};

interface Options {
  command: string;
  topic?: string;
  config?: string;
  stateDir?: string;
  dryRun: boolean;
  noMail: boolean;
  mailTest: boolean;
  help: boolean;
  version: boolean;
}

const OPTIONS: OptionSpec[] = [
  { name: "config", short: "c", type: "string" },
  { name: "state-dir", short: "s", type: "string" },
  { name: "dry-run", short: "n", type: "boolean" },
  { name: "no-mail", type: "boolean" },
  { name: "mail-test", type: "boolean" },
  { name: "help", short: "h", type: "boolean" },
  { name: "version", short: "V", type: "boolean" },
];

/** Parses the command line; throws UsageError on any mistake. */
export function parseCommandLine(args: string[]): Options {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  const word = positionals[0]?.toLowerCase() ?? (values.help ? "help" : "report");
  const command = COMMANDS[word];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(positionals[0])}`);
  const extra = command === "help" || command === "import" ? positionals.slice(2) : positionals.slice(1);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const opts: Options = {
    command,
    dryRun: values["dry-run"] === true,
    noMail: values["no-mail"] === true,
    mailTest: values["mail-test"] === true,
    help: values.help === true,
    version: values.version === true,
  };
  if (command === "import" && positionals[1] !== undefined) opts.topic = positionals[1];
  if (command === "help" && positionals[1] !== undefined) {
    const topic = COMMANDS[positionals[1].toLowerCase()];
    if (!topic || topic === "help") throw new UsageError(`no help for ${JSON.stringify(positionals[1])}`);
    opts.topic = topic;
  }
  for (const [key, value] of [["config", values.config], ["stateDir", values["state-dir"]]] as const) {
    if (typeof value !== "string") continue;
    if (value === "" || value.startsWith("-")) {
      throw new UsageError(`--${key === "stateDir" ? "state-dir" : key} needs a path`);
    }
    opts[key] = value;
  }
  if (opts.dryRun && command !== "start" && command !== "stop") {
    throw new UsageError("--dry-run only applies to start and stop");
  }
  if ((opts.noMail || opts.mailTest) && command !== "report") {
    throw new UsageError(`--${opts.noMail ? "no-mail" : "mail-test"} only applies to report`);
  }
  if (opts.noMail && opts.mailTest) throw new UsageError("--no-mail and --mail-test cannot be used together");
  return opts;
}

async function report(opts: Options): Promise<number> {
  const config = await findConfig(opts.config);
  const files = stateFiles(findStateDir(opts.stateDir, config));
  const mail = opts.noMail ? undefined : config.mail;
  if (opts.mailTest) return await mailTest(config);
  // Loaded only when there is mail: a report without it pays nothing for it.
  const mailLib = mail ? await import("./lib/mail.ts") : undefined;
  const source = selectSource(config, runCommand);
  // Configured meters' columns carry their label; the interface source's are their names.
  const labels = new Map(allColumns(config.meters).map((c) => [c.name, c.label]));
  const storeLib = config.sqlite ? await import("./lib/store.ts") : undefined;
  let storeFailure: unknown;
  const metersOf = (sample: Sample) =>
    [...sample.counters.keys()].map((name) => ({ name, label: labels.get(name) ?? name }));
  const recorded = await recordSample(files, {
    readCounters: (previous) => source.read(previous),
    now: () => formatTimestamp(new Date()),
    // The report's mail is spooled with its sample, under the same lock: a
    // crash after this cannot lose it.
    onRecorded: (mail || storeLib) && (async (r) => {
      if (mail && mailLib) {
        const { mailBody, reportMessage, spool, spoolDir } = mailLib;
        const body = mailBody(metersOf(r.sample), r.previous, r.sample, r.usage);
        spool(spoolDir(files.dir), reportMessage(mail, r.sample.timestamp, new Date(), body));
      }
      if (storeLib) {
        // A store that cannot be written fails the run after the report; the next run catches it up.
        let db: import("./lib/store.ts").SqliteStore | undefined;
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
function storePath(config: Config, files: StateFiles): string {
  const path = config.sqlite as string;
  return path.startsWith("/") ? path : `${files.dir}/${path}`;
}

async function importCommand(opts: Options): Promise<number> {
  const config = await findConfig(opts.config);
  const files = stateFiles(findStateDir(opts.stateDir, config));
  if (!config.sqlite) {
    throw new NetmonError(
      `${config.file ?? "the default config"}: store: no SQLite store configured (add store = "sqlite:netmon.sqlite")`,
      EX.CONFIG,
    );
  }
  const log = opts.topic ?? files.log;
  const { importLog, SqliteStore } = await import("./lib/store.ts");
  ensureStateDir(files);
  const path = storePath(config, files);
  const db = SqliteStore.open(path);
  try {
    const n = await withLock(files, 60_000, () => importLog(db, log));
    out(`imported ${n.samples} samples (${n.rows} rows) from ${log} into ${path}\n`);
  } finally {
    db.close();
  }
  return EX.OK;
}

async function pfConfCommand(opts: Options): Promise<number> {
  const config = await findConfig(opts.config);
  if (config.source !== "pf") {
    throw new NetmonError(
      `pf-conf: the config's source is ${JSON.stringify(config.source)}; set source = "pf" and its meters`,
      EX.CONFIG,
    );
  }
  const { pfConf } = await import("./lib/sources/pf.ts");
  out(pfConf(config));
  return EX.OK;
}

/** Delivers the spool, one run at a time (others leave their report spooled for it). */
async function deliver(mail: MailConfig, files: StateFiles): Promise<void> {
  const { deliverSpool, Mailer, smtpPassword, spoolDir } = await import("./lib/mail.ts");
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
  const { Mailer, reportMessage, smtpPassword } = await import("./lib/mail.ts");
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

function describePlan(plan: Plan, dryRun: boolean): string {
  let text = plan.notes.map((n) => `${dryRun && plan.commands.length > 0 ? "would " : ""}${n}\n`).join("");
  if (dryRun) {
    for (const c of plan.commands) {
      text += `would run: ${[c.path, ...c.args].join(" ")}\n`;
      if (c.stdin !== undefined) text += `with input:\n${c.stdin}`;
    }
    if (plan.commands.length > 0) text += "(dry run: nothing was changed)\n";
  }
  return text;
}

async function change(opts: Options): Promise<void> {
  const config = await findConfig(opts.config);
  const source = selectSource(config, runCommand);
  const plan = opts.command === "start" ? await source.planStart() : await source.planStop();
  if (!opts.dryRun) {
    for (const c of plan.commands) await runCommand(c.path, c.args, c.stdin);
  }
  out(describePlan(plan, opts.dryRun));
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ") + "\n")
    .join("");
}

async function status(opts: Options): Promise<number> {
  const config = await findConfig(opts.config);
  const source = selectSource(config, runCommand);
  const rows = await source.status();
  for (const w of source.warnings) err(`netmon: warning: ${w}\n`);
  const where = config.source === "iptables"
    ? ` (chain ${config.chain})`
    : config.source === "nftables"
    ? ` (table inet ${config.table})`
    : "";
  let text = `source: ${config.source}${where}${config.file ? `, config ${config.file}` : ""}\n`;
  text += table([
    ["meter", "where", "installed", "packets", "bytes"],
    ...rows.map((r) => [
      r.meter,
      r.where,
      r.installed ? "yes" : "NO",
      r.packets === undefined ? "-" : String(r.packets),
      r.bytes === undefined ? "-" : `${r.bytes} (${humanReadable(r.bytes)})`,
    ]),
  ]);
  const missing = rows.filter((r) => !r.installed).length;
  if (missing > 0) text += `${missing} meter(s) have no rule: run 'netmon start'\n`;
  out(text);
  return missing > 0 ? EX.UNAVAILABLE : EX.OK;
}

/** Runs netmon with `args`; returns the exit status. */
export function main(args: string[]): Promise<number> {
  return reportFailure("netmon", "netmon", async () => {
    const opts = parseCommandLine(args);
    if (opts.version) {
      out(`netmon ${VERSION} (deno ${Deno.version.deno})\n`);
      return EX.OK;
    }
    if (opts.help || opts.command === "help") {
      out(HELP[opts.topic ?? (opts.command === "help" ? "main" : opts.command)] + "\n");
      return EX.OK;
    }
    switch (opts.command) {
      case "report":
        return await report(opts);
      case "status":
        return await status(opts);
      case "pf-conf":
        return await pfConfCommand(opts);
      case "import":
        return await importCommand(opts);
      default:
        await change(opts);
        return EX.OK;
    }
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
