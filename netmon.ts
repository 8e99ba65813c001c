#!/usr/bin/env -S deno run -q -P=netmon-admin
/**
 * netmon: meters network traffic from firewall and kernel counters, from
 * cron. Parses arguments, loads the config, calls lib/, prints, exits with a
 * sysexits status.
 *
 * @module
 */

import { type OptionSpec, parseCommandArgs } from "./lib/args.ts";
import type { CompletionCommand, CompletionOption } from "./lib/completions.ts";
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

/** The option lines every command's help ends with. */
const COMMON = `  -c, --config FILE     config file (env NETMON_CONFIG; default ${DEFAULT_CONFIG_PATH} if present,
                        otherwise every non-loopback interface is metered)
  -s, --state-dir DIR   where netmon.log and netmon.last live (env NETMON_STATE_DIR; default
                        /var/lib/netmon for root, $XDG_STATE_HOME/netmon or ~/.local/state/netmon)
  -h, --help            this help
  -V, --version         print the version`;

/** Every command, in help order: the one table help, parsing and shell completion read. */
const COMMAND_INFO: Record<string, CompletionCommand> = {
  report: {
    words: ["report"],
    summary: "read the counters, append to the log, print usage (the default)",
    options: ["no-mail", "mail-test"],
  },
  start: {
    words: ["start", "initiate", "initialise"],
    hidden: ["initialize"],
    summary: "install the meters' firewall rules (idempotent)",
    options: ["dry-run"],
  },
  stop: {
    words: ["stop", "clear", "flush"],
    summary: "remove netmon's firewall rules and chain",
    options: ["dry-run"],
  },
  status: { words: ["status"], summary: "show installed rules and their counters now, without logging", options: [] },
  doctor: {
    words: ["doctor"],
    summary: "check everything netmon depends on and say how to fix what is wrong",
    options: ["json"],
  },
  "pf-conf": {
    words: ["pf-conf"],
    summary: 'print the labelled pf.conf rules for the meters (source = "pf")',
    options: [],
  },
  import: {
    words: ["import"],
    summary: 'load a log into the SQLite store (store = "sqlite:FILE")',
    options: [],
    argument: { name: "LOG", complete: "file" },
  },
  completions: {
    words: ["completions"],
    summary: "print shell completion for bash or zsh",
    options: [],
    argument: { name: "SHELL", complete: ["bash", "zsh"] },
  },
  help: {
    words: ["help"],
    summary: "help for a command",
    options: [],
    argument: { name: "COMMAND", complete: "commands" },
  },
};

const OPTIONS: (OptionSpec & CompletionOption)[] = [
  { name: "config", short: "c", type: "string", value: "file", help: "config file" },
  { name: "state-dir", short: "s", type: "string", value: "dir", help: "state directory" },
  { name: "dry-run", short: "n", type: "boolean", help: "print the exact firewall change, change nothing" },
  { name: "no-mail", type: "boolean", help: "do not mail this report" },
  { name: "mail-test", type: "boolean", help: "send a test message and print what the server said" },
  { name: "json", type: "boolean", help: "print the findings as JSON" },
  { name: "help", short: "h", type: "boolean", help: "help" },
  { name: "version", short: "V", type: "boolean", help: "print the version" },
];

/** Options every command takes. */
const COMMON_OPTIONS = ["config", "state-dir", "help", "version"];

function commandList(): string {
  const rows = Object.values(COMMAND_INFO).map((c) => [
    c.words.join(", ") + (c.argument ? ` [${c.argument.name}]` : ""),
    c.summary,
  ]);
  const width = Math.max(...rows.map(([w]) => (w as string).length)) + 2;
  return rows.map(([w, s]) => `  ${(w as string).padEnd(width)}${s}`).join("\n");
}

const HELP: Record<string, string> = {
  main: `Usage: netmon [COMMAND] [OPTIONS]

Meters network traffic from firewall and kernel counters. Run 'report' from cron.

Commands (case-insensitive):
${commandList()}

Options:
${COMMON}

Exit status: 0 ok, 64 usage, 65 bad data, 69 unavailable, 73/74 cannot write,
75 try again later, 77 permission, 78 bad config (doctor: 1 when it finds a problem).`,
  report: `Usage: netmon [report] [--no-mail | --mail-test] [OPTIONS]

Reads every meter's counter with one command (per address family under
iptables), appends one line to netmon.log, replaces netmon.last, and prints
usage since the last run:
  Last Total - Timestamp: … <meter>: …
  New Total - …
  New Usage - …
A counter that went down (rules reloaded, iptables -Z, reboot) is a reset for
that meter: its usage is its new value, and a fourth line says so.

With [mail] in the config the report is also mailed, as the original did. It
goes into the spool in the state directory with its sample, then the spool is
delivered oldest first; if the server is down or refuses for now, the report
stays spooled for the next run and netmon exits 75. A report refused for good
(a 5xx reply to the message) is moved aside as spool/*.refused, the later ones
are still sent, and netmon exits 69.

Options:
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

Options:
  -n, --dry-run         print the exact firewall change, change nothing
${COMMON}`,
  stop: `Usage: netmon stop [--dry-run] [OPTIONS]   (also: clear, flush)

Removes exactly netmon's rules (found by their comment) and its chain, in one
iptables-restore transaction per family, or deletes netmon's nftables table.
The log and last file are kept.

Options:
  -n, --dry-run         print the exact firewall change, change nothing
${COMMON}`,
  "pf-conf": `Usage: netmon pf-conf [OPTIONS]

Prints the pf.conf lines that count the configured meters: a table per list
of networks, and one 'pass' rule per direction and address family labelled
with its log column. On pf the ruleset is yours: add them at the end of the
filter rules in /etc/pf.conf and load it with 'pfctl -f /etc/pf.conf'.

Options:
${COMMON}`,
  import: `Usage: netmon import [LOG] [OPTIONS]

Loads every sample of LOG (default: the state directory's netmon.log) into the
SQLite store the config names (store = "sqlite:FILE"), in one transaction.
Rows already there are replaced, so importing twice changes nothing. Reports
keep the store up to date by themselves; this is for a store added later.

Options:
${COMMON}`,
  status: `Usage: netmon status [OPTIONS]

Shows each meter's rule (or interface) and its counters now. Logs nothing.

Options:
${COMMON}`,
  doctor: `Usage: netmon doctor [--json] [OPTIONS]

Checks, and says in plain words with the fix for each:
  config        the config loads
  binaries      the source's programs exist and run (their versions)
  backend       iptables: which backend it drives (nf_tables or legacy), and
                whether the other backend holds rules too
  rules         netmon's rules (or nftables table) are installed and match the config
  xtables-lock  iptables: whether /run/xtables.lock is held right now
  state-dir     the state directory is writable and not on tmpfs
  log           netmon.log and netmon.last parse
  schedule      cron (/etc/crontab, /etc/cron.d, user crontabs) or an enabled
                systemd timer runs the report, and the last sample is recent
  mail          with [mail], the server answers and accepts the login (nothing
                is sent), and no reports wait in the spool
Only reads: the firewall is listed, not changed. Run it as root, as netmon runs.
Exit status 0 when all is well, 1 when any check found a problem.

Options:
      --json            print the findings as JSON: {"ok": BOOL, "checks": [{"check",
                        "verdict": "ok"|"problem"|"skipped", "said", "fix"}]}
${COMMON}`,
  completions: `Usage: netmon completions bash|zsh

Prints a completion script for commands, options and their values.
  bash: netmon completions bash > /etc/bash_completion.d/netmon
  zsh:  netmon completions zsh > "\${fpath[1]}/_netmon"   (then restart zsh)

Options:
${COMMON}`,
};

/** Every accepted command word (help and hidden), lowercased, to its command. */
const COMMANDS: Record<string, string> = Object.fromEntries(
  Object.entries(COMMAND_INFO).flatMap(([name, c]) => [...c.words, ...(c.hidden ?? [])].map((w) => [w, name])),
);

interface Options {
  command: string;
  topic?: string;
  config?: string;
  stateDir?: string;
  dryRun: boolean;
  noMail: boolean;
  mailTest: boolean;
  json: boolean;
  help: boolean;
  version: boolean;
}

/** Parses the command line; throws UsageError on any mistake. */
export function parseCommandLine(args: string[]): Options {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  const word = positionals[0]?.toLowerCase() ?? (values.help ? "help" : "report");
  const command = COMMANDS[word];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(positionals[0])}`);
  const info = COMMAND_INFO[command] as CompletionCommand;
  const extra = positionals.slice(info.argument ? 2 : 1);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  for (const name of Object.keys(values)) {
    if (COMMON_OPTIONS.includes(name) || info.options.includes(name)) continue;
    const takers = Object.entries(COMMAND_INFO).filter(([, c]) => c.options.includes(name)).map(([n]) => n);
    throw new UsageError(`--${name} only applies to ${takers.join(" and ")}`);
  }
  const opts: Options = {
    command,
    dryRun: values["dry-run"] === true,
    noMail: values["no-mail"] === true,
    mailTest: values["mail-test"] === true,
    json: values.json === true,
    help: values.help === true,
    version: values.version === true,
  };
  const argument = positionals[1];
  if (argument !== undefined) {
    if (command === "help") {
      const topic = COMMANDS[argument.toLowerCase()];
      if (!topic || topic === "help") throw new UsageError(`no help for ${JSON.stringify(argument)}`);
      opts.topic = topic;
    } else if (command === "completions" && !["bash", "zsh"].includes(argument)) {
      throw new UsageError(`no completion for shell ${JSON.stringify(argument)}: bash or zsh`);
    } else opts.topic = argument;
  }
  if (command === "completions" && argument === undefined && !opts.help) {
    throw new UsageError("completions needs a shell: bash or zsh");
  }
  for (const [key, value] of [["config", values.config], ["stateDir", values["state-dir"]]] as const) {
    if (typeof value !== "string") continue;
    if (value === "" || value.startsWith("-")) {
      throw new UsageError(`--${key === "stateDir" ? "state-dir" : key} needs a path`);
    }
    opts[key] = value;
  }
  if (opts.noMail && opts.mailTest) throw new UsageError("--no-mail and --mail-test cannot be used together");
  return opts;
}

async function report(opts: Options): Promise<number> {
  const config = findConfig(opts.config);
  const files = stateFiles(findStateDir(opts.stateDir, config));
  const mail = opts.noMail ? undefined : config.mail;
  if (opts.mailTest) return await mailTest(config);
  // Loaded only when there is mail: a report without it pays nothing for it.
  const mailLib = mail ? await import("./lib/mail.ts") : undefined;
  const source = await selectSource(config, runCommand);
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
  const config = findConfig(opts.config);
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
  const config = findConfig(opts.config);
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
  const config = findConfig(opts.config);
  const source = await selectSource(config, runCommand);
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
  const config = findConfig(opts.config);
  const source = await selectSource(config, runCommand);
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

/** doctor's status when a check found a problem (a verdict, not a failure: sysexits does not apply). */
const DOCTOR_PROBLEM = 1;

async function doctor(opts: Options): Promise<number> {
  const { diagnose, formatFindings } = await import("./lib/doctor.ts");
  let config: Config | NetmonError;
  try {
    config = findConfig(opts.config);
  } catch (err) {
    if (!(err instanceof NetmonError)) throw err;
    config = err;
  }
  const files = config instanceof NetmonError ? undefined : stateFiles(findStateDir(opts.stateDir, config));
  const findings = await diagnose({
    config,
    ...(files ? { files } : {}),
    run: runCommand,
    now: new Date(),
    verifyMail: async (c) => {
      const mail = c.mail as MailConfig;
      const { Mailer, smtpPassword } = await import("./lib/mail.ts");
      const mailer = await Mailer.open(mail, smtpPassword(mail, getEnv));
      try {
        return await mailer.verify();
      } finally {
        mailer.close();
      }
    },
  });
  const healthy = findings.every((f) => f.verdict !== "problem");
  out(opts.json ? JSON.stringify({ ok: healthy, checks: findings }, null, 2) + "\n" : formatFindings(findings));
  return healthy ? EX.OK : DOCTOR_PROBLEM;
}

async function completions(opts: Options): Promise<number> {
  const { bashCompletion, zshCompletion } = await import("./lib/completions.ts");
  const spec = {
    program: "netmon",
    commands: Object.values(COMMAND_INFO),
    common: COMMON_OPTIONS,
    options: OPTIONS,
  };
  out(opts.topic === "zsh" ? zshCompletion(spec) : bashCompletion(spec));
  return EX.OK;
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
      case "doctor":
        return await doctor(opts);
      case "completions":
        return await completions(opts);
      default:
        await change(opts);
        return EX.OK;
    }
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
