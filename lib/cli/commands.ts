/**
 * netmon's commands: the one table that parsing, help, shell completion and
doctor's "does this line run the report" read, and the parser of the
command line. Library code: it throws, the entry point prints and exits.
 *
 * @module
 */

import { type OptionSpec, parseCommandArgs } from "./args.ts";
import type { CompletionCommand, CompletionOption } from "./completions.ts";
import { DEFAULT_CONFIG_PATH } from "../config/config.ts";
import { UsageError } from "../host/errors.ts";
import { closest } from "../config/suggest.ts";
import { checksHelp } from "../doctor/finding.ts";

export const VERSION = "0.1.0";

/** The option lines every command's help ends with. */
const COMMON = `  -c, --config FILE     config file (env NETMON_CONFIG; default ${DEFAULT_CONFIG_PATH} if present,
                        otherwise every non-loopback interface is metered)
  -s, --state-dir DIR   where netmon.log and netmon.last live (env NETMON_STATE_DIR; default
                        /var/lib/netmon for root, $XDG_STATE_HOME/netmon or ~/.local/state/netmon)
  -h, --help            this help
  -V, --version         print the version`;

/** Every command, in help order: the one table help, parsing and shell completion read. */
export const COMMAND_INFO: Record<string, CompletionCommand> = {
  report: {
    words: ["report"],
    summary: "read the counters, append to the log, print usage (the default)",
    options: ["no-mail", "mail-test"],
  },
  start: {
    words: ["start", "initiate", "initialise"],
    hidden: ["initialize"],
    summary: "install the meters' firewall rules (idempotent)",
    options: ["dry-run", "replace"],
  },
  stop: {
    words: ["stop", "clear", "flush"],
    summary: "remove netmon's firewall rules and chain",
    options: ["dry-run", "replace"],
  },
  status: { words: ["status"], summary: "show installed rules and their counters now, without logging", options: [] },
  summary: {
    words: ["summary"],
    summary: "usage per day, month, year or billing cycle, top days, 95th percentile (the log, or --store)",
    options: ["by", "top", "from", "to", "meter", "json", "csv", "strict", "store", "host"],
  },
  doctor: {
    words: ["doctor"],
    summary: "check everything netmon depends on and say how to fix what is wrong",
    options: ["json"],
  },
  schedule: {
    words: ["schedule"],
    summary: "the cron or systemd run line with exactly the permissions this config needs",
    options: ["compile", "cron", "systemd", "remove", "force", "dry-run", "into"],
  },
  "pf-conf": {
    words: ["pf-conf"],
    summary: 'print the labelled pf.conf rules for the meters (source = "pf")',
    options: [],
  },
  check: {
    words: ["check"],
    summary: "a monitoring check (Nagios/Icinga plugin): quotas, the last sample's age, the last report",
    options: [],
  },
  import: {
    words: ["import"],
    summary: "load a log into the configured store, SQLite or PostgreSQL",
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

export const OPTIONS: (OptionSpec & CompletionOption)[] = [
  { name: "config", short: "c", type: "string", value: "file", help: "config file" },
  { name: "state-dir", short: "s", type: "string", value: "dir", help: "state directory" },
  { name: "dry-run", short: "n", type: "boolean", help: "print the exact firewall change, change nothing" },
  { name: "replace", type: "boolean", help: "also remove rules of meters another config may have installed" },
  { name: "no-mail", type: "boolean", help: "do not mail this report" },
  { name: "mail-test", type: "boolean", help: "send a test message and print what the server said" },
  { name: "json", type: "boolean", help: "print as JSON" },
  { name: "by", type: "string", help: "one row per hour, day, week, month, year or cycle" },
  { name: "top", type: "string", help: "the N days with most traffic" },
  { name: "from", type: "string", help: "from this date (YYYY-MM-DD [HH:MM], in the billing zone)" },
  { name: "to", type: "string", help: "before this date (YYYY-MM-DD [HH:MM], in the billing zone)" },
  { name: "meter", type: "string", multiple: true, help: "only this column or customer (repeatable)" },
  { name: "csv", type: "boolean", help: "print as CSV" },
  { name: "strict", type: "boolean", help: "a malformed log line is an error" },
  { name: "store", type: "boolean", help: "read the PostgreSQL store (every host's samples), not the log" },
  { name: "host", type: "string", multiple: true, help: "with --store: only this host (repeatable)" },
  { name: "compile", type: "boolean", help: "print the deno compile line with this config's permissions" },
  { name: "cron", type: "boolean", help: "write /etc/cron.d/netmon" },
  { name: "systemd", type: "boolean", help: "write the report's and the nightly graph's systemd units" },
  { name: "remove", type: "boolean", help: "remove the files --cron or --systemd wrote" },
  { name: "force", type: "boolean", help: "replace (or remove) a file netmon did not write" },
  { name: "into", type: "string", value: "dir", help: "write the files into DIR instead (tests, staging)" },
  { name: "help", short: "h", type: "boolean", help: "help" },
  { name: "version", short: "V", type: "boolean", help: "print the version" },
];

/** Options every command takes. */
export const COMMON_OPTIONS = ["config", "state-dir", "help", "version"];

function commandList(): string {
  const rows = Object.values(COMMAND_INFO).map((c) => [
    c.words.join(", ") + (c.argument ? ` [${c.argument.name}]` : ""),
    c.summary,
  ]);
  const width = Math.max(...rows.map(([w]) => (w as string).length)) + 2;
  return rows.map(([w, s]) => `  ${(w as string).padEnd(width)}${s}`).join("\n");
}

export const HELP: Record<string, string> = {
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
A meter whose counter was reset is counted from zero: its usage is its new
value, and a fourth line names the meters and why: counter went down, reboot,
interface re-created, counter re-created (nftables), rules re-created ('netmon
start', or a pf ruleset reload) or packets went down. A reset the counter
cannot show (it has passed its old value) is recorded in the log too.

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
  start: `Usage: netmon start [--dry-run] [--replace] [OPTIONS]   (also: initiate, initialise)

Installs the meters' rules in one transaction per firewall. iptables: one rule
per meter, hook, family and network, tagged 'netmon:COLUMN', jumping to netmon's
chain, through iptables-restore (ip6tables-restore for IPv6). nftables: netmon's
inet table with a named counter per column, through one 'nft -j -f -'. Rules
already installed are kept with their counters, but for an nftables counter
that this config's record does not list and whose rules are not exactly this
config's (or that has none): it is made afresh, its count being another
config's. An untagged iptables rule that is exactly a meter's (as
network_monitor.py made them) is taken over with its counters; other untagged
rules jumping to netmon's chain are named, with the command that removes them.
Stale netmon rules are removed; other rules and tables are never touched. pf:
changes nothing (see pf-conf). Meters whose rules or counters it
makes afresh are recorded in the state directory (use the report's), so the
next report counts them from zero.
The state directory also records which meters this config file installed:
rules of a meter taken out of it are removed; rules of any other meter, and
rules of its own meters that differ from the ones it writes where the record
does not list them (another config's, or installed before netmon kept this
record), make start refuse, changing nothing, unless --replace is given. A
config with its own iptables chain or nftables table meters beside the others
and leaves them alone; a chain that holds rules netmon did not make is refused.
A state directory whose record names another config file makes start refuse
too (the two configs' reports would share one log), unless --replace is given.
Start holds the state directory's lock from reading that record to writing it
(a report or another start waits; exit 75 after 60 s); --dry-run takes none.
A reboot takes the rules away: 'netmon schedule --cron' (an @reboot line) or
--systemd (netmon-start.service) runs start at boot, before the first report.

Options:
  -n, --dry-run         print the exact firewall change, change nothing
      --replace         also remove rules of meters this config did not install
${COMMON}`,
  stop: `Usage: netmon stop [--dry-run] [--replace] [OPTIONS]   (also: clear, flush)

Removes exactly netmon's rules (found by their comment) and its chain, in one
iptables-restore transaction per family, or deletes netmon's nftables table.
The log and last file are kept. As with start, rules of meters this config
neither has nor installed make it refuse, changing nothing, unless --replace is
given; rules that jump to another config's chain are left alone. It holds the
state directory's lock as start does.

Options:
  -n, --dry-run         print the exact firewall change, change nothing
      --replace         also remove rules of meters this config did not install
${COMMON}`,
  check: `Usage: netmon check [OPTIONS]

A monitoring check for Icinga, Nagios, Zabbix or a cron mail, following the
Monitoring Plugins conventions: one line of text, performance data after '|'
('acme'=123B;WARN;CRIT;0;QUOTA for each customer with a quota), and
  exit 0 OK        every quota below its first alert threshold
  exit 1 WARNING   a quota past its first threshold, or the last report failed
  exit 2 CRITICAL  a quota past its last threshold, the last sample older than
                   three intervals, or the last report found rules missing
  exit 3 UNKNOWN   the state or config cannot be read, the state directory is
                   another config's (whose report refuses it), or the report
                   would refuse to run (a config, program or directory another
                   user could change)
Reads only the config and the state directory: never the firewall.

Options:
${COMMON}`,
  schedule: `Usage: netmon schedule [--compile | --cron | --systemd [--force] [--dry-run]] [OPTIONS]
       netmon schedule --remove [--cron] [--systemd] [--force] [--dry-run]

Prints the line that runs the report for the config and state directory in
effect, with exactly the Deno permissions this config needs and no more:
read the config and the state directory, write the state directory (and a
store kept elsewhere), run the source's programs, connect to the mail
server's addresses and port (a host name is looked up now, and the addresses
it resolved to are said: run schedule again when they change), read only the
environment variables and system facts it uses. Deno is named by its
absolute path and netmon by its deno.json, so the line runs from anywhere.
Run schedule again after changing the config's source, programs, paths or
mail server.

For a firewall source (iptables, nftables), --cron also writes an @reboot
line and --systemd netmon-start.service, each running 'netmon start' for the
same config and state directory with exactly the permissions start needs: a
reboot takes the rules away, and every report fails until they are back. The
service runs after nftables.service and netfilter-persistent.service (the
firewall's own rules, loaded at boot) and before netmon.service; cron starts
the @reboot line before the first report, which waits for start's lock.

--remove takes away what --cron or --systemd (or both) wrote, and only that:
a file there that netmon did not write (it marks its own), a link or a
special file is refused (exit 73) unless --force, which removes a link itself,
never what it points to; a file not there is said, not an error. Units still
enabled (the timers, netmon-start.service) are refused before anything is
removed, with the 'systemctl disable --now' line to run first; then:
systemctl daemon-reload. With --dry-run it says what it would remove and
every refusal, and exits 73 when the removal would be refused.

--into DIR puts the cron file (as DIR/netmon) and the units in DIR itself,
both kinds in the one directory, and --remove takes them from there.
systemctl acts on /etc/systemd/system, never on DIR: the systemctl lines are
said to hold once the units are there, and units enabled in DIR (their links
in DIR/timers.target.wants or DIR/multi-user.target.wants) are refused with
those links named, to remove.

Options:
      --compile         print the 'deno compile' line building a binary with these
                        permissions, and the line that runs it
      --cron            write /etc/cron.d/netmon: the report every 5 minutes, the
                        graph each night (and start at boot, see above), each with
                        its own permissions
      --systemd         write netmon.service (hardened) and netmon.timer (every 5
                        minutes), netmon-graph.service and netmon-graph.timer (the
                        graph each night), netmon-start.service (see above) in
                        /etc/systemd/system; then: systemctl daemon-reload &&
                        systemctl enable --now [netmon-start.service] netmon.timer
                        netmon-graph.timer
      --remove          remove the file(s) --cron or --systemd wrote (see above)
      --force           replace (or remove) a file netmon did not write (it marks its own)
  -n, --dry-run         print the file(s) --cron or --systemd would write (or remove),
                        change nothing
      --into DIR        write into (or remove from) DIR instead of /etc/cron.d or
                        /etc/systemd/system (for tests and staging; see above)
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
store the config names: SQLite (store = "sqlite:FILE", in one transaction) or
PostgreSQL (store = "postgresql://…", as this machine's host, in transactions
of 500 samples). The store has one row per second and column: of samples
sharing a second it keeps the last, as reports do. Rows already there the same
are left alone, so importing twice changes nothing. Prints one line: samples
and rows read, rows stored, rows already present, and rows left out for a later
sample of the same second (the log's, at every import), then the resets stored
(the log's reset lines, PostgreSQL), if any. Reports keep the store up to date
by themselves; this is for a store added later.

Options:
${COMMON}`,
  status: `Usage: netmon status [OPTIONS]

Shows each meter's rule (or interface) and its counters now. Logs nothing.

Options:
${COMMON}`,
  doctor: `Usage: netmon doctor [--json] [OPTIONS]

Checks, and says in plain words with the fix for each:
${checksHelp()}
Only reads: the firewall is listed, not changed. Run it as root, as netmon runs.
Exit status 0 when all is well, 1 when any check found a problem.

Options:
      --json            print the findings as JSON: {"ok": BOOL, "checks": [{"check",
                        "verdict": "ok"|"problem"|"skipped", "said", "fix"}]}
${COMMON}`,
  summary: `Usage: netmon summary [--by UNIT | --top N] [--from DATE] [--to DATE] [--meter NAME]...
                      [--json | --csv] [--strict] [--store [--host NAME]...] [OPTIONS]

Answers the billing questions from the log alone (never the firewall), or
with --store from the PostgreSQL store, for a fleet. With no --by or --top, an
overview for every column and customer: today, yesterday, this billing cycle
so far with a linear estimate for the whole cycle, the previous cycle, this
year, and how much of this cycle the samples cover.

Usage per bucket is each counter's growth in it: an interval across a boundary
is shared by time, a counter that went down (or a '# netmon reset:' line) was
reset and counts its new value, the log's first sample is the starting point.
Coverage is the time in intervals no longer than three usual ones. The 95th
percentile (buckets of a day or longer) is of the interval rates weighted by
length: with N equal intervals the ceil(0.95*N)-th smallest, in bit/s; for a
customer split by direction, in and out and the billable larger of the two.
Days, cycles and years start at midnight in the billing zone ([billing]
timezone, per customer if set; default local time); a cycle starts on
cycle_day (in shorter months, the month's last day). --from and --to are in
that zone too (the machine's only where no timezone is set), and each billing
reads them in its own: with customers in several zones, --from 2026-11-01 keeps each one's rows from
midnight of 1 November where it is billed. A time the clocks skip (spring) is
the moment they jumped; one they repeat (autumn) is its first time.

Options:
      --by UNIT         one row per hour, day, week, month, year or cycle
      --top N           the N days with the most traffic, per column and customer
      --from DATE       only buckets starting at or after DATE: YYYY-MM-DD or
                        'YYYY-MM-DD HH:MM', in the billing zone as the rows are
                        labelled, see above (overview: days from then)
      --to DATE         only buckets starting before DATE (exclusive), same syntax
                        and zone (overview: as it was at DATE)
      --meter NAME      only this log column, meter or customer (repeatable)
      --json            one JSON document: {"version": 1, "by", "timezone", "rows": [...]}
      --csv             CSV with the header start,end,name,kind,in_bytes,out_bytes,
                        total_bytes,p95_in_bps,p95_out_bps,p95_bps,coverage,resets
      --strict          a malformed log line is an error (exit 65), not a warning
      --store           read the PostgreSQL store the config names (store =
                        "postgresql://…") instead of the log: each host's samples
                        through the same engine, the hosts added up bucket by
                        bucket. Several hosts: no 95th percentile (their rates are
                        not on one time line), coverage is the least covered
                        host's, a bucket's columns come in name order. Resets the
                        log flags without the counter going down ('# netmon
                        reset:') are not in the store
      --host NAME       with --store: only this host (repeatable; default every host
                        in the store)
${COMMON}`,
  completions: `Usage: netmon completions bash|zsh

Prints a completion script for commands, options and their values.
  bash: netmon completions bash > /etc/bash_completion.d/netmon
  zsh:  netmon completions zsh > "\${fpath[1]}/_netmon"   (then restart zsh)

Options:
${COMMON}`,
};

/** Every accepted command word (help and hidden), lowercased, to its command. */
export const COMMANDS: Record<string, string> = Object.fromEntries(
  Object.entries(COMMAND_INFO).flatMap(([name, c]) => [...c.words, ...(c.hidden ?? [])].map((w) => [w, name])),
);

/** A parsed command line. */
export interface Options {
  command: string;
  topic?: string;
  config?: string;
  stateDir?: string;
  dryRun: boolean;
  /** start, stop: also remove rules of meters this config did not install. */
  replace: boolean;
  noMail: boolean;
  mailTest: boolean;
  json: boolean;
  /** schedule: print the deno compile line. */
  compile: boolean;
  /** schedule: write the cron file. */
  cron: boolean;
  /** schedule: write the systemd units. */
  systemd: boolean;
  /** schedule: remove the files --cron or --systemd wrote. */
  remove: boolean;
  /** schedule: replace (or remove) a file netmon did not write. */
  force: boolean;
  /** schedule: the directory written instead of /etc/cron.d or /etc/systemd/system. */
  into?: string;
  help: boolean;
  version: boolean;
  /** summary: --by UNIT. */
  by?: string;
  /** summary: --top N. */
  top?: string;
  /** summary: --from DATE. */
  from?: string;
  /** summary: --to DATE. */
  to?: string;
  /** summary: --meter NAME, each time given. */
  meter: string[];
  /** summary: --csv. */
  csv: boolean;
  /** summary: --strict. */
  strict: boolean;
  /** summary: --store (read the PostgreSQL store, not the log). */
  store: boolean;
  /** summary: --host NAME, each time given. */
  host: string[];
}

/** Parses the command line; throws UsageError on any mistake. */
export function parseCommandLine(args: string[]): Options {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  const word = positionals[0]?.toLowerCase() ?? (values.help ? "help" : "report");
  const command = COMMANDS[word];
  if (!command) {
    const near = closest(word, Object.keys(COMMANDS));
    throw new UsageError(
      `unknown command ${JSON.stringify(positionals[0])}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ""}`,
    );
  }
  const info = COMMAND_INFO[command] as CompletionCommand;
  const extra = positionals.slice(info.argument ? 2 : 1);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  for (const name of Object.keys(values)) {
    if (COMMON_OPTIONS.includes(name) || info.options.includes(name)) continue;
    const takers = Object.entries(COMMAND_INFO).filter(([, c]) => c.options.includes(name)).map(([n]) => n);
    const list = takers.length > 1 ? `${takers.slice(0, -1).join(", ")} and ${takers.at(-1)}` : takers[0];
    throw new UsageError(`--${name} only applies to ${list}`);
  }
  const opts: Options = {
    command,
    dryRun: values["dry-run"] === true,
    replace: values.replace === true,
    noMail: values["no-mail"] === true,
    mailTest: values["mail-test"] === true,
    json: values.json === true,
    compile: values.compile === true,
    cron: values.cron === true,
    systemd: values.systemd === true,
    remove: values.remove === true,
    force: values.force === true,
    help: values.help === true,
    version: values.version === true,
    meter: Array.isArray(values.meter) ? values.meter : [],
    csv: values.csv === true,
    strict: values.strict === true,
    store: values.store === true,
    host: Array.isArray(values.host) ? values.host : [],
  };
  for (const key of ["by", "top", "from", "to"] as const) {
    const v = values[key];
    if (typeof v === "string") opts[key] = v;
  }
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
  // --remove takes both away at once: there is nothing to choose between.
  if ([opts.compile, opts.cron, opts.systemd].filter((x) => x).length > 1 && !(opts.remove && !opts.compile)) {
    throw new UsageError("--compile, --cron and --systemd: one at a time");
  }
  if (typeof values.into === "string") opts.into = values.into;
  return opts;
}
