/**
 * What a doctor check found: the one shape every check returns, and the one
 * list of checks, in the order doctor runs them, that its help is made from.
 *
 * @module
 */

/** Every check doctor runs, in order, with what it looks at (doctor's help, lines of at most 62 characters). */
export const CHECKS = [
  {
    name: "config",
    help: ["the config loads; no other user can change it, the programs", "it names or the SQLite store's directory"],
  },
  { name: "binaries", help: ["the source's programs exist and run (their versions)"] },
  {
    name: "backend",
    only: "iptables",
    help: ["iptables: which backend it drives (nf_tables or legacy), and", "whether the other backend holds rules too"],
  },
  { name: "rules", help: ["netmon's rules (or nftables table) are installed and match the config"] },
  { name: "xtables-lock", only: "iptables", help: ["iptables: whether /run/xtables.lock is held right now"] },
  {
    name: "state-dir",
    help: ["the state directory is writable and not on tmpfs, and no other", "user can change it"],
  },
  { name: "log", help: ["netmon.log and netmon.last parse"] },
  {
    name: "schedule",
    help: [
      "a cron line (/etc/crontab, /etc/cron.d, user crontabs) or an",
      "enabled systemd timer runs this config's report (same config",
      "and state directory), its program exists, its permissions",
      "cover what the config needs, a cron daemon is installed for",
      "cron lines, and the last sample is recent;",
      "the same of a line or timer drawing its nightly graph; for",
      "iptables and nftables, an @reboot line or enabled service runs",
      "its 'netmon start' at boot (a reboot takes the rules away)",
    ],
  },
  {
    name: "original",
    help: [
      "no cron line still runs the 2010 network_monitor.py, nor its",
      "netmon_graph.py on another log than netmon's",
    ],
  },
  {
    name: "mail",
    help: [
      "with [mail], the server answers and accepts the login (nothing",
      "is sent), and no mails wait in the spool",
    ],
  },
  {
    name: "textfile",
    only: "[prometheus]",
    help: [
      "with [prometheus], its directory exists, no other user can write",
      "it, and the file is a regular file of the log's last sample",
    ],
  },
  { name: "last-report", help: ["the last report ended well (netmon.status)"] },
  {
    name: "store",
    only: "PostgreSQL store",
    help: [
      "with a PostgreSQL store, the server answers, accepts the login",
      "(the password as the report gets it) and has the table stats;",
      "nothing is written",
    ],
  },
] as const;

/** The name of a check. */
export type CheckName = typeof CHECKS[number]["name"];

/** What one check found. */
export interface Finding {
  /** Short name of the check, e.g. `rules`. */
  check: CheckName;
  /** `ok`, `problem`, or `skipped` when an earlier problem makes it meaningless. */
  verdict: "ok" | "problem" | "skipped";
  /** What was found, in plain words. */
  said: string;
  /** What to do about a problem. */
  fix?: string;
}

/** The checks as doctor's help lists them: each name, then what it looks at. */
export function checksHelp(): string {
  const width = Math.max(...CHECKS.map((c) => c.name.length)) + 2;
  return CHECKS.map((c) => c.help.map((line, i) => `  ${(i === 0 ? c.name : "").padEnd(width)}${line}`).join("\n"))
    .join("\n");
}
