/**
 * The exact Deno permissions a netmon run needs for a given config: worked
 * out from the config's own fields, so a config with a state directory
 * elsewhere, a mail server or a store outside the state directory gets the
 * flags it needs and nothing more. `netmon schedule` writes them into the run
 * lines it installs (the report, the nightly graph, the start at boot), and `doctor` checks an installed line against them: one
 * computation for both, and for the line a refusal prints ({@linkcode taskNeeds}). Pure: a host name is resolved by the
 * caller.
 *
 * @module
 */

import { type Config, DEFAULT_CONFIG_PATH, installsRules } from "./config.ts";
import { DB_PASSWORD_ENV, parseStoreUrl } from "./fleet.ts";
import { SMTP_PASSWORD_ENV } from "./mail.ts";
import { ruleFamilies } from "./meters.ts";
import { STAT } from "../host/dir_trust.ts";

/** A kind of Deno permission, as in `--allow-KIND`. */
export type PermissionKind = "read" | "write" | "run" | "net" | "env" | "sys";

/** The kinds in the order flags are written. */
export const PERMISSION_KINDS: readonly PermissionKind[] = ["read", "write", "run", "net", "env", "sys"];

/** One thing a run needs, and why. */
export interface Need {
  /** Which `--allow-KIND`. */
  kind: PermissionKind;
  /** What is allowed: a path, a `host:port`, a variable, a system call name. */
  value: string;
  /** Why, in a few words (shown by `schedule`, named by `doctor`). */
  why: string;
}

/** What a run is for: the report every 5 minutes, the nightly graph, or the start that puts the rules back at boot. */
export type Role = "report" | "graph" | "start";

/** What the permissions follow. */
export interface PermissionInputs {
  /** The validated config. */
  config: Config;
  /** The config file in effect; undefined when there is none (the built-in default). */
  configFile?: string | undefined;
  /** The state directory in effect. */
  stateDir: string;
  /** The run line passes `-c` (so NETMON_CONFIG is not read). */
  explicitConfig: boolean;
  /** The run line passes `-s` (so NETMON_STATE_DIR, and for the default the user id, are not read). */
  explicitStateDir: boolean;
  /** The run line runs as root (the default state directory is then /var/lib/netmon, found without HOME). */
  asRoot?: boolean;
  /** mail.server's addresses, when it is a host name (resolved by the caller, as nodemailer will; without them only the name's lookup is needed). */
  mailAddresses?: readonly string[];
  /** graph: the files it writes (data, picture). */
  graphOutputs?: readonly string[];
}

/** True when `text` is an IPv4 or IPv6 address rather than a host name. */
export function isAddress(text: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) || text.includes(":");
}

/** `host:port` as `--allow-net` takes it (an IPv6 address in brackets). */
export function netTarget(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * Files and directories the report writes, each from a config field: the state
 * directory (log, last file, lock, mail spool) and every output kept elsewhere.
 * A new output adds one line here.
 */
export function reportWrites(config: Config, stateDir: string): Need[] {
  const writes: Need[] = [{ kind: "write", value: stateDir, why: "the state directory: log, last file, lock, spool" }];
  if (config.sqlite?.startsWith("/")) {
    writes.push({ kind: "write", value: config.sqlite, why: "the SQLite store" });
  }
  return writes;
}

/**
 * The iptables programs for each address family the config's meters' rules use: its save, reading the `read`
 * (counters or rules), and with `restore` its restore, installing the rules.
 */
function iptablesPrograms(config: Config, read: "counters" | "rules", restore: boolean): Need[] {
  const b = config.binaries;
  const families = new Set(config.meters.flatMap((m) => ruleFamilies(m)));
  const programs = [
    [4, "iptables IPv4", b.iptablesSave, b.iptablesRestore],
    [6, "ip6tables IPv6", b.ip6tablesSave, b.ip6tablesRestore],
  ] as const;
  return programs.filter(([family]) => families.has(family)).flatMap(([, what, save, restorer]): Need[] => [
    { kind: "run", value: save, why: `reading the ${what} ${read}` },
    ...(restore ? [{ kind: "run" as const, value: restorer, why: `installing the ${what} rules` }] : []),
  ]);
}

/** The programs the config's source runs to read its counters. */
function readPrograms(config: Config): Need[] {
  const b = config.binaries;
  const why = `reading the ${config.source} counters`;
  switch (config.source) {
    case "iptables":
      return iptablesPrograms(config, "counters", false);
    case "nftables":
      return [{ kind: "run", value: b.nft, why }];
    case "pf":
      return [{ kind: "run", value: b.pfctl, why }];
    case "interface":
      return [{ kind: "run", value: b.ip, why }];
  }
}

/**
 * The programs `start` runs for the config's source: iptables-save and iptables-restore for each family its meters
 * use (a family none uses is looked at only where allowed: lib/sources/iptables.ts), nft; none for pf (its rules are
 * pf.conf's, see pf-conf) or the interface source (no rules).
 */
function changePrograms(config: Config): Need[] {
  const b = config.binaries;
  switch (config.source) {
    case "iptables":
      return iptablesPrograms(config, "rules", true);
    case "nftables":
      return [{ kind: "run", value: b.nft, why: "reading and installing the nftables table" }];
    case "pf":
    case "interface":
      return [];
  }
}

/** What finding the config file and the state directory reads (the environment, the user id, the default file). */
function locating(i: PermissionInputs): Need[] {
  const needs: Need[] = [];
  if (!i.explicitConfig) {
    needs.push({ kind: "env", value: "NETMON_CONFIG", why: "no -c: the config may come from NETMON_CONFIG" });
    if (i.configFile === undefined) {
      needs.push({ kind: "read", value: DEFAULT_CONFIG_PATH, why: "no config: seeing that the default is absent" });
    }
  }
  if (i.configFile !== undefined) needs.push({ kind: "read", value: i.configFile, why: "the config file" });
  if (!i.explicitStateDir) {
    needs.push({ kind: "env", value: "NETMON_STATE_DIR", why: "no -s: the state directory may come from it" });
    if (i.config.stateDir === undefined) {
      needs.push({ kind: "sys", value: "uid", why: "no -s nor state_dir: the default depends on the user" });
      if (i.asRoot === false) {
        needs.push({ kind: "env", value: "XDG_STATE_HOME", why: "the default state directory of a user" });
        needs.push({ kind: "env", value: "HOME", why: "the default state directory of a user" });
      }
    }
  }
  return needs;
}

/** What mailing the report needs: the server's addresses and port, the password, the files it reads. */
function mailing(i: PermissionInputs): Need[] {
  const mail = i.config.mail;
  if (!mail) return [];
  const needs: Need[] = [];
  if (mail.transport === "sendmail") {
    needs.push({ kind: "run", value: mail.sendmail, why: "handing the report to the local mail transfer agent" });
  } else if (isAddress(mail.server)) {
    needs.push({ kind: "net", value: netTarget(mail.server, mail.port), why: "the mail server" });
  } else {
    needs.push({ kind: "net", value: mail.server, why: "looking up the mail server's name (getaddrinfo)" });
    // Without its addresses (the caller could not look the name up) only the lookup is named.
    for (const a of i.mailAddresses ?? []) {
      needs.push({ kind: "net", value: netTarget(a, mail.port), why: `the mail server (${mail.server})` });
    }
  }
  if (mail.user !== undefined && mail.passwordFile === undefined) {
    needs.push({ kind: "env", value: SMTP_PASSWORD_ENV, why: "the SMTP password" });
  }
  if (mail.passwordFile !== undefined) {
    needs.push({ kind: "read", value: mail.passwordFile, why: "the SMTP password file" });
  }
  if (mail.caFile !== undefined) needs.push({ kind: "read", value: mail.caFile, why: "the mail server's CA" });
  for (const path of mail.attach) needs.push({ kind: "read", value: path, why: "a file attached to the report" });
  // No --allow-sys=hostname: netmon always names itself to the server (mail.helo, by default the From domain),
  // and only without a name does nodemailer ask the system for one.
  return needs;
}

/**
 * What the fleet outputs need: the Prometheus textfile's directory (read and
 * written: a temporary file beside the target, renamed over it after the
 * target is checked to be a regular file), and for the PostgreSQL store its
 * address as in the URL (the client connects to the name given), the
 * password file or NETMON_DB_PASSWORD (netmon's own client reads no other
 * variable), the CA file, and the host name when the config does not name
 * this machine (`host`).
 */
function fleetOutputs(config: Config): Need[] {
  const needs: Need[] = [];
  const textfile = config.fleet.textfile;
  if (textfile !== undefined) {
    needs.push({ kind: "read", value: dirOf(textfile), why: "the Prometheus textfile's directory" });
    needs.push({ kind: "write", value: dirOf(textfile), why: "the Prometheus textfile's directory" });
  }
  return [...needs, ...storeNeeds(config)];
}

/** What connecting to the PostgreSQL store needs (the report, summary --store, import, doctor): see fleetOutputs. */
function storeNeeds(config: Config): Need[] {
  const needs: Need[] = [];
  const pg = config.fleet.postgres;
  if (pg !== undefined) {
    const url = parseStoreUrl(pg.url);
    needs.push({ kind: "net", value: netTarget(url.host, url.port), why: "the PostgreSQL store" });
    if (pg.passwordFile !== undefined) {
      needs.push({ kind: "read", value: pg.passwordFile, why: "the store's password file" });
    } else needs.push({ kind: "env", value: DB_PASSWORD_ENV, why: "the store's password" });
    if (pg.caFile !== undefined) needs.push({ kind: "read", value: pg.caFile, why: "the store's CA" });
    if (config.fleet.host === undefined) {
      needs.push({ kind: "sys", value: "hostname", why: "no host in the config: the store names this machine by it" });
    }
  }
  return needs;
}

/** The directory part of an absolute path. */
function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

/** True when `path` is `dir` or inside it. */
export function pathCovers(dir: string, path: string): boolean {
  const d = dir.replace(/\/+$/, "");
  return path === dir || path === d || path.startsWith(`${d}/`);
}

/** Needs without repeats, and without a path another need of the same kind already covers. */
function minimal(needs: Need[]): Need[] {
  const out: Need[] = [];
  for (const n of needs) {
    const paths = n.kind === "read" || n.kind === "write";
    const covered = out.some((o) =>
      o.kind === n.kind && (o.value === n.value || (paths && pathCovers(o.value, n.value)))
    );
    if (covered) continue;
    // A wider path replaces the narrower ones already listed.
    for (let k = out.length - 1; k >= 0; k--) {
      const o = out[k] as Need;
      if (paths && o.kind === n.kind && pathCovers(n.value, o.value)) out.splice(k, 1);
    }
    out.push(n);
  }
  return out;
}

/**
 * Everything a run of `role` needs for this config, each with why: the
 * config file, the state directory, exactly the source's programs (for
 * `start`, those that read and change the firewall), the mail
 * server's addresses and port, the Prometheus textfile's directory, the
 * PostgreSQL store's address and password, exactly the environment
 * variables and system information it reads.
 *
 * @example
 * ```ts
 * const needs = permissionNeeds("report", {
 *   config: parseConfig('source = "nftables"\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n', "/etc/netmon/netmon.toml"),
 *   configFile: "/etc/netmon/netmon.toml", stateDir: "/var/lib/netmon", explicitConfig: true, explicitStateDir: true,
 * });
 * permissionFlags(needs); // ["--allow-read=/etc/netmon/netmon.toml,/var/lib/netmon", "--allow-write=/var/lib/netmon", ...]
 * ```
 */
export function permissionNeeds(role: Role, i: PermissionInputs): Need[] {
  const needs = locating(i);
  // lib/host/dir_trust.ts, on every run: who can write the state directory and those above it. Without these the
  // run goes on, but says it could not check: a warning on every run is no way to run.
  needs.push(
    { kind: "run", value: STAT, why: "warning when other users can write the state directory or above it" },
    { kind: "sys", value: "uid", why: "whose the state directory should be (the same warning)" },
  );
  if (role === "report") {
    needs.push({ kind: "read", value: i.stateDir, why: "the state directory" });
    const writes = reportWrites(i.config, i.stateDir);
    // Everything written is read back too (the log's last line, the store's last sample).
    needs.push(...writes.map((w) => ({ ...w, kind: "read" as const })), ...writes);
    if (i.config.sqlite?.startsWith("/")) {
      // Looked at before SQLite opens them, so that a link planted there is refused: SQLite's own journal files.
      for (const suffix of ["-journal", "-wal", "-shm"]) {
        needs.push({ kind: "read", value: `${i.config.sqlite}${suffix}`, why: "the SQLite store's journal files" });
      }
    }
    needs.push(...readPrograms(i.config), ...mailing(i), ...fleetOutputs(i.config));
    needs.push({ kind: "sys", value: "osUptime", why: "telling a reboot from a counter reset" });
  } else if (role === "start") {
    // The record of the rules installed, the lock, and the record of rules made afresh for the next report.
    needs.push(
      { kind: "read", value: i.stateDir, why: "the state directory: record of installed rules, lock" },
      { kind: "write", value: i.stateDir, why: "the state directory: record of installed rules, lock" },
      ...changePrograms(i.config),
    );
  } else {
    const outputs = i.graphOutputs ?? [];
    needs.push({ kind: "read", value: `${i.stateDir.replace(/\/+$/, "")}/netmon.log`, why: "the log" });
    needs.push(...graphOutputNeeds(outputs));
    if (outputs.some((o) => /\.(png|svg)$/.test(o))) {
      needs.push({ kind: "run", value: i.config.binaries.gnuplot, why: "drawing the picture" });
    }
  }
  return minimal(needs);
}

/** A command run by hand, as far as what it needs goes (the options that change it). */
export interface Task {
  /** netmon's command (report, start, stop, status, summary, check, doctor, import), or `graph` for graph.ts. */
  command: string;
  /** report --no-mail: nothing mailed. */
  noMail?: boolean;
  /** start, stop --dry-run: nothing changed or written. */
  dryRun?: boolean;
  /** summary --store: the PostgreSQL store read, not the log. */
  store?: boolean;
  /** graph: the files it writes (data, picture, script; --html's index.html). */
  graphOutputs?: readonly string[];
  /** graph: the LOG named; else the state directory's. */
  log?: string;
}

/**
 * Everything a command run by hand needs, for a refusal to print one line
 * that runs it to the end (lib/cli/permission_line.ts): for the config in
 * `i` when it was read, else (`config` undefined) what its command line
 * names alone (the config file, the state directory: read, and written by
 * report, start, stop, import and doctor's probe; graph's outputs). The
 * report, start and graph are {@linkcode permissionNeeds}'s; stop is start's;
 * status reads the state directory and the counters; summary and check read
 * the state directory, `summary --store` the store instead; doctor looks at
 * what the report uses (the state directory written to see that it can be,
 * the mail server, the store, the textfile's directory), reading only.
 * A command not modelled (schedule…) needs the config alone.
 */
export function taskNeeds(task: Task, i: Omit<PermissionInputs, "config"> & { config: Config | undefined }): Need[] {
  const c = i.config;
  const needs: Need[] = i.configFile === undefined
    ? []
    : [{ kind: "read", value: i.configFile, why: "the config file" }];
  const state = (write: boolean): Need[] => [
    { kind: "read", value: i.stateDir, why: "the state directory" },
    ...(write ? [{ kind: "write" as const, value: i.stateDir, why: "the state directory" }] : []),
  ];
  const at = (config: Config): PermissionInputs => ({ ...i, config });
  switch (task.command) {
    case "report":
      if (!c) return [...needs, ...state(true)];
      return permissionNeeds("report", at(task.noMail ? withoutMail(c) : c));
    case "start":
    case "stop":
      if (c && !installsRules(c.source)) return needs;
      if (!c) return [...needs, ...state(!task.dryRun)];
      return permissionNeeds("start", at(c)).filter((n) => !(task.dryRun && n.kind === "write"));
    case "status":
      return [...needs, ...state(false), ...(c ? readPrograms(c) : [])];
    case "summary":
      if (!task.store) return [...needs, ...state(false)];
      return c ? minimal([...needs, ...storeNeeds(c)]) : needs;
    case "check":
      return [...needs, ...state(false)];
    case "import":
      return [...needs, ...state(true), ...(c ? storeNeeds(c) : [])];
    case "doctor":
      return c
        ? minimal([...needs, ...state(true), ...mailing(at(c)), ...fleetOutputs(c).filter((n) => n.kind !== "write")])
        : [...needs, ...state(true)];
    case "graph": {
      // The log's directory (a LOG named, else the state directory): its zone record beside it is read too.
      const log = task.log === undefined ? i.stateDir : dirOf(task.log);
      const outputs = { graphOutputs: task.graphOutputs ?? [] };
      const graph = c
        ? permissionNeeds("graph", { ...at(c), stateDir: log, ...outputs })
        : graphOutputNeeds(outputs.graphOutputs);
      return minimal([...needs, { kind: "read", value: log, why: "the log and its zone record" }, ...graph]);
    }
    default:
      return needs;
  }
}

/** `config` with no [mail]. */
function withoutMail(config: Config): Config {
  const { mail: _, ...rest } = config;
  return rest;
}

/** graph's outputs' directories, read and written: each output is written beside itself and renamed into place. */
function graphOutputNeeds(outputs: readonly string[]): Need[] {
  return [
    ...outputs.map((o): Need => ({ kind: "read", value: dirOf(o), why: "an output's directory" })),
    ...outputs.map((o): Need => ({ kind: "write", value: dirOf(o), why: "an output's directory" })),
  ];
}

/** The `--allow-KIND=a,b` flags for `needs`, in a fixed order; a kind nothing needs gets no flag. */
export function permissionFlags(needs: readonly Need[]): string[] {
  return PERMISSION_KINDS.flatMap((kind) => {
    const values = needs.filter((n) => n.kind === kind).map((n) => n.value);
    return values.length > 0 ? [`--allow-${kind}=${values.join(",")}`] : [];
  });
}

/** What a run line grants, kind by kind: `true` for everything of that kind, else the values listed. */
export type Granted = Partial<Record<PermissionKind, true | string[]>>;

/** True when `granted` allows `need`, by Deno's rules (a path allows what is under it; a host, any port). */
export function grants(granted: Granted, need: Need): boolean {
  const g = granted[need.kind];
  if (g === true) return true;
  if (!g) return false;
  switch (need.kind) {
    case "read":
    case "write":
      return g.some((p) => pathCovers(p, need.value));
    case "run":
      return g.some((p) => p === need.value || (!p.includes("/") && need.value.endsWith(`/${p}`)));
    case "net": {
      const host = need.value.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
      return g.some((v) => v === need.value || v === host || v === `[${host}]`);
    }
    default:
      return g.includes(need.value);
  }
}

/**
 * What the Deno flags of a run line grant: `--allow-KIND[=LIST]`, `-A`, and
 * a permission set (`-P=NAME`, from `sets`), a flag of a kind replacing the
 * set's list, as Deno does. Returns undefined for a set not in `sets`.
 */
export function grantedBy(
  flags: readonly string[],
  sets: Record<string, Record<string, unknown>>,
): Granted | undefined {
  const granted: Granted = {};
  const explicit: Granted = {};
  for (const f of flags) {
    if (f === "-A" || f === "--allow-all") {
      for (const k of PERMISSION_KINDS) explicit[k] = true;
      continue;
    }
    const set = /^(?:-P|--permission-set)(?:=(.*))?$/.exec(f);
    if (set) {
      const entry = sets[set[1] ?? "default"];
      if (!entry) return undefined;
      for (const k of PERMISSION_KINDS) {
        const v = entry[k];
        if (v === true) granted[k] = true;
        else if (Array.isArray(v)) granted[k] = v.map(String);
      }
      continue;
    }
    const allow = /^--allow-(read|write|run|net|env|sys)(?:=(.*))?$/.exec(f);
    if (allow) {
      const kind = allow[1] as PermissionKind;
      explicit[kind] = allow[2] === undefined ? true : allow[2].split(",").filter((v) => v !== "");
    }
  }
  return { ...granted, ...explicit };
}
