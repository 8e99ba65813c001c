/**
 * `netmon schedule`: the line that runs this config's report, with exactly
 * the permissions lib/config/permissions.ts works out for it, printed, as a
 * `deno compile` line, or installed with the nightly graph's line as
 * /etc/cron.d/netmon or as systemd units (a service and a timer each); for a
 * firewall source (iptables, nftables) also `netmon start` at boot (an
 * `@reboot` line, or netmon-start.service), since a reboot takes the rules
 * away and every report fails until they are back. Files
 * are written atomically (lib/host/files.ts) and carry a marker line, so
 * netmon replaces what it wrote and nothing else.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import denoJson from "../../deno.json" with { type: "json" };
import { type Config, installsRules } from "../config/config.ts";
import { isAddress, type Need, permissionFlags, permissionNeeds } from "../config/permissions.ts";
import { deniedAccess, DenoDenied, EX, fileError, NetmonError, UsageError } from "../host/errors.ts";
import { replaceFile } from "../host/files.ts";
import { cronDaemonInstalled, noCronDaemon, noCronDaemonFix } from "../host/cron_daemon.ts";
import { COMPILED, ROOT } from "../host/invocation.ts";
import { shellWord } from "../host/shell_word.ts";
import { dirOf, readWholeText, realPathOr } from "../host/safe_open.ts";
import { ROOT_STATE_DIR } from "../state/files.ts";
import { err, findConfig, findStateDir, out } from "./context.ts";
import { programChecks, refuseFound } from "../config/trust.ts";
import type { Checked } from "../host/dir_trust.ts";
import type { Options } from "./commands.ts";

/** The first line of every file netmon schedule writes: how it knows a file is its own. */
export const MARKER = "# Written by 'netmon schedule': run it again to change this file (edits here are replaced).";

/** Where --cron and --systemd write. */
export const CRON_FILE = "/etc/cron.d/netmon";
/** Where --systemd writes its units. */
export const UNIT_DIR = "/etc/systemd/system";
/**
 * The units --systemd writes: the report's every 5 minutes, the graph's each night (as the cron file's lines), and,
 * for a firewall source, the start at boot.
 */
export const UNITS = {
  service: "netmon.service",
  timer: "netmon.timer",
  graphService: "netmon-graph.service",
  graphTimer: "netmon-graph.timer",
  startService: "netmon-start.service",
} as const;

/**
 * Why the systemctl lines (enable, disable, daemon-reload) do not hold for `into`, the directory --into names, when
 * it is not UNIT_DIR: systemctl acts on the units where systemd looks, not on a staging directory; undefined without
 * --into, or with UNIT_DIR itself.
 */
export function elsewhereThanSystemd(into: string | undefined): string | undefined {
  if (into === undefined || (into.replace(/\/+$/, "") || "/") === UNIT_DIR) return undefined;
  return `${into} is not ${UNIT_DIR}, where systemctl enables, disables and reloads netmon's units`;
}

/** The target netmon-start.service is enabled for (its link in `${UNIT_DIR}/${BOOT_TARGET}.wants/`). */
export const BOOT_TARGET = "multi-user.target";

/**
 * A directory schedule writes its cron file or units into, or removes them
 * from (--into's, else /etc/cron.d and /etc/systemd/system), checked as the
 * page directory is: only what is on the way to it counts (directories above,
 * links, its own name a link), since files are written into it by a
 * temporary name and a rename, and removed by a name without a slash. A user
 * who could put another directory in its place would choose where root
 * writes a cron file or units, or which root removes: refused.
 */
export const SCHEDULE_DIR: Checked = {
  what: "schedule directory",
  threat: "choose where root writes or removes its cron file and units (putting another directory in place of one),",
  meanwhile: "",
  // A missing one fails the write, which says so; a removal finds nothing there.
  mayBeMissing: true,
  onlyTheWay: true,
  refuse: "always",
};

/** A file netmon schedule writes and --remove takes away: the cron file (no `unit`), or a unit by its key in UNITS. */
export interface ScheduleFile {
  path: string;
  unit?: keyof typeof UNITS;
}

/** The schedule files `opts` names (--cron, --systemd, in --into or where cron and systemd look), in UNITS' order. */
export function scheduleFiles(opts: Pick<Options, "cron" | "systemd" | "into">): ScheduleFile[] {
  const files: ScheduleFile[] = [];
  if (opts.cron) files.push({ path: opts.into !== undefined ? `${opts.into}/netmon` : CRON_FILE });
  if (opts.systemd) {
    for (const unit of Object.keys(UNITS) as (keyof typeof UNITS)[]) {
      files.push({ path: `${opts.into ?? UNIT_DIR}/${UNITS[unit]}`, unit });
    }
  }
  return files;
}

/** The directories `opts` (--cron, --systemd, --into) writes schedule files into or removes them from, checked. */
export function scheduleDirChecks(opts: Options): [string, Checked][] {
  return [...new Set(scheduleFiles(opts).map((f) => dirOf(f.path)))].map((d) => [d, SCHEDULE_DIR]);
}

/** Whether the regular file at `path` is one netmon schedule wrote (starts with its marker): read as state files are. */
export function isScheduleFile(path: string): boolean | undefined {
  return readWholeText(path, { what: "schedule file" }, 1 << 20)?.startsWith(MARKER);
}

/** The V8 flag the graph runs with (deno.json's graph task): a bounded young generation keeps memory flat. */
const GRAPH_V8 = "--v8-flags=--max-semi-space-size=2";
/** nodemailer as deno.json pins it, for `deno compile --include`. */
const NODEMAILER = (denoJson.imports as Record<string, string>).nodemailer as string;

/** Everything the lines are made from. */
export interface ScheduleInputs {
  /** The validated config. */
  config: Config;
  /** The config file, absolute; undefined for none. */
  configFile?: string | undefined;
  /** The state directory, absolute. */
  stateDir: string;
  /** mail.server's addresses when it is a host name. */
  mailAddresses?: string[];
  /** Deno, by absolute path. */
  deno: string;
  /** netmon's directory. */
  root: string;
  /**
   * The config file or state directory (as given, no trailing slash) that is or runs through a link, and the real
   * path: Deno checks a scoped permission on the path a link leads to, so the lines grant both.
   */
  links?: ReadonlyMap<string, string>;
}

/**
 * The report's, the nightly graph's and the boot start's command lines (argument arrays) and what their permissions
 * are for.
 */
export interface Schedule {
  report: string[];
  reportNeeds: Need[];
  graph: string[];
  graphNeeds: Need[];
  /** `netmon start` at boot: undefined for a source without rules of netmon's (pf, interface). */
  start: string[] | undefined;
  startNeeds: Need[];
  /** The `deno compile` line for a report binary with the report's permissions, and the binary's run line. */
  compile: string[];
  compiled: string[];
}

/** `needs`, each read or write of a path at or under a linked one followed by the same need of its real path. */
function throughLinks(needs: Need[], links: ReadonlyMap<string, string> | undefined): Need[] {
  if (!links || links.size === 0) return needs;
  return needs.flatMap((n) => {
    if (n.kind !== "read" && n.kind !== "write") return [n];
    for (const [given, real] of links) {
      if (n.value === given || n.value.startsWith(`${given}/`)) {
        return [n, { ...n, value: real + n.value.slice(given.length) }];
      }
    }
    return [n];
  });
}

/**
 * Which of `paths` are, or run through, a link, with their real paths; a
 * path not there yet (the state directory the first report makes) or not
 * ours to look at is left out, and granted as named.
 */
function linkedPaths(paths: readonly (string | undefined)[]): Map<string, string> {
  const links = new Map<string, string>();
  for (const given of paths) {
    if (given === undefined) continue;
    const path = given.replace(/\/+$/, "") || "/";
    const real = realPathOr(path);
    if (real !== path) links.set(path, real);
  }
  return links;
}

/** The lines for `i`, each with exactly the permissions its run needs. */
export function scheduleLines(i: ScheduleInputs): Schedule {
  const where = { config: i.config, configFile: i.configFile, stateDir: i.stateDir, explicitStateDir: true };
  const configArgs = i.configFile !== undefined ? ["-c", i.configFile] : [];
  const reportNeeds = throughLinks(
    permissionNeeds("report", {
      ...where,
      explicitConfig: i.configFile !== undefined,
      ...(i.mailAddresses ? { mailAddresses: i.mailAddresses } : {}),
    }),
    i.links,
  );
  const dir = i.stateDir.replace(/\/+$/, "") || "/";
  const outputs = [`${dir}/usage.dat`, `${dir}/usage.png`];
  const graphNeeds = throughLinks(
    permissionNeeds("graph", { ...where, explicitConfig: i.configFile !== undefined, graphOutputs: outputs }),
    i.links,
  );
  const boots = installsRules(i.config.source);
  const startNeeds = boots
    ? throughLinks(permissionNeeds("start", { ...where, explicitConfig: i.configFile !== undefined }), i.links)
    : [];
  const deno = [i.deno, "run", "-q", "--frozen", "--no-prompt", "--config", `${i.root}/deno.json`];
  const reportArgs = ["report", ...configArgs, "-s", i.stateDir];
  const start = boots
    ? [...deno, ...permissionFlags(startNeeds), `${i.root}/netmon.ts`, "start", ...configArgs, "-s", i.stateDir]
    : undefined;
  const binary = `${i.root}/dist/netmon-report`;
  return {
    report: [...deno, ...permissionFlags(reportNeeds), `${i.root}/netmon.ts`, ...reportArgs],
    reportNeeds,
    graph: [
      ...deno,
      GRAPH_V8,
      ...permissionFlags(graphNeeds),
      `${i.root}/graph.ts`,
      ...configArgs,
      "-s",
      i.stateDir,
      "-o",
      outputs[0] as string,
      "--plot",
      outputs[1] as string,
    ],
    graphNeeds,
    start,
    startNeeds,
    compile: [
      i.deno,
      "compile",
      "-q",
      "--frozen",
      "--no-prompt",
      "--config",
      `${i.root}/deno.json`,
      ...permissionFlags(reportNeeds),
      ...(i.config.mail ? ["--include", NODEMAILER] : []),
      "-o",
      binary,
      `${i.root}/netmon.ts`,
    ],
    compiled: [binary, ...reportArgs],
  };
}

export { shellWord };

/** A command line for a crontab: sh words, and `%` (a newline to cron) escaped. */
export function cronCommand(argv: readonly string[]): string {
  return argv.map(shellWord).join(" ").replaceAll("%", "\\%");
}

/** A command line for ExecStart: systemd reads sh-like quotes, and `%` starts a specifier. */
export function unitCommand(argv: readonly string[]): string {
  return specifierFree(argv.map(shellWord).join(" "));
}

/** `text` for a unit's setting that systemd expands specifiers in (ExecStart=, Description=): each `%` doubled. */
function specifierFree(text: string): string {
  return text.replaceAll("%", "%%");
}

/** `# --allow-…  why` lines saying what each permission is for. */
function explain(needs: readonly Need[]): string {
  return needs.map((n) => `#   --allow-${n.kind}=${n.value}: ${n.why}\n`).join("");
}

/** The comment lines heading every output: which config and state directory, and what a host name resolved to. */
function heading(i: ScheduleInputs): string {
  let text = `# netmon report for ${i.configFile ?? "no config file (every interface)"}, state in ${i.stateDir}\n`;
  const mail = i.config.mail;
  if (mail && i.mailAddresses) {
    text += `# mail.server ${mail.server} resolved to ${i.mailAddresses.join(", ")}: ` +
      `run 'netmon schedule' again if that changes\n`;
  }
  if (mail?.user !== undefined && mail.passwordFile === undefined) {
    text += "# mail.user without mail.password_file: the run reads NETMON_SMTP_PASSWORD, which cron and systemd do " +
      "not set; a password_file (mode 0600) keeps the password out of world-readable files\n";
  }
  return text;
}

/**
 * The text of /etc/cron.d/netmon: for a firewall source, also the `@reboot` line putting the rules back, which cron
 * starts when it starts, before the jobs of its first minute (wherever the line is in the file: last, so that the
 * report's and the graph's lines keep their line numbers); a report that comes while that start holds the state
 * directory's lock waits for it (up to 60 s), and counts from the rules it installed.
 */
export function cronFile(i: ScheduleInputs, s: Schedule): string {
  const boot = s.start === undefined ? "" : [
    "# At boot, 'netmon start' puts the meters' rules back (a reboot takes them away, and reports fail without them);",
    "# cron starts it before the first report, which waits for start's lock on the state directory.",
    `@reboot root ${cronCommand(s.start)} >/dev/null`,
    "",
  ].join("\n");
  return `${MARKER}
${
    heading(i)
  }# The report every 5 minutes (its output goes to /dev/null: errors still reach MAILTO), the graph each night.
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
MAILTO=root

*/5 * * * * root ${cronCommand(s.report)} >/dev/null
10 0 * * * root ${cronCommand(s.graph)}
${boot}`;
}

/** The texts of the units, each named in {@linkcode UNITS}; the start at boot only for a firewall source. */
export type UnitTexts = Record<Exclude<keyof typeof UNITS, "startService">, string> & { startService?: string };

/** The paths a unit makes writable for `needs`' writes (a SQLite store's directory, for the journals SQLite names). */
function writablePaths(needs: readonly Need[], sqlite: string | undefined): string[] {
  // SQLite makes its journal files beside the store, under names it chooses: the unit opens the store's directory.
  const store = sqlite?.startsWith("/") ? sqlite : undefined;
  return [
    ...new Set(
      needs.filter((n) => n.kind === "write").map((n) =>
        store !== undefined && (n.value === store || n.value.startsWith(`${store}-`))
          ? store.slice(0, store.lastIndexOf("/")) || "/"
          : n.value
      ),
    ),
  ];
}

/**
 * The hardening both services share, after their capabilities: the file system read-only but for `writes`, no
 * devices, no kernel tunables, only the address `families` named.
 */
function hardening(i: ScheduleInputs, writes: readonly string[], families: string, what: string): string {
  const state = i.stateDir === ROOT_STATE_DIR ? "StateDirectory=netmon\nStateDirectoryMode=0750\n" : "";
  return `NoNewPrivileges=yes
# The whole file system read-only but for what ${what} writes.
ProtectSystem=strict
${state}ReadWritePaths=${writes.map((w) => unitCommand([w])).join(" ")}
# Read-only, not hidden: deno run reads its module cache (DENO_DIR, by default ~/.cache/deno).
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=${families}
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
UMask=0027
# No MemoryDenyWriteExecute: the JavaScript engine compiles code at run time.
`;
}

/**
 * The texts of netmon.service and netmon.timer (the report every 5 minutes,
 * hardened as examples/netmon.service), and of netmon-graph.service and
 * netmon-graph.timer (the cron file's nightly graph line, with the same
 * hardening but no capability and no network), and for a firewall source
 * netmon-start.service ({@linkcode startUnit}).
 */
export function unitFiles(i: ScheduleInputs, s: Schedule): UnitTexts {
  const rules = s.start === undefined
    ? "'netmon start' (the rules) is not run here."
    : `${UNITS.startService} puts the rules back at boot, before it.`;
  const service = `${MARKER}
${heading(i)}# netmon.service: one netmon report, started by netmon.timer. ${rules}
[Unit]
Description=netmon traffic report (firewall and kernel counters to ${specifierFree(i.stateDir)})
Documentation=https://github.com/netmon/netmon#readme
After=network-online.target nftables.service netfilter-persistent.service

[Service]
Type=oneshot
ExecStart=${unitCommand(s.report)}
# Reading counters needs CAP_NET_ADMIN (iptables, nft) and CAP_NET_RAW (legacy iptables' socket); nothing else.
User=root
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW
${hardening(i, writablePaths(s.reportNeeds, i.config.sqlite), "AF_UNIX AF_NETLINK AF_INET AF_INET6", "the report")}\
TimeoutStartSec=2min
`;
  const timer = `${MARKER}
# netmon.timer: netmon's report every 5 minutes.
# Persistent: a run missed while the machine was off happens at boot, so no interval goes unlogged.
[Unit]
Description=netmon traffic report every 5 minutes

[Timer]
OnCalendar=*:0/5
AccuracySec=1s
Persistent=true
Unit=${UNITS.service}

[Install]
WantedBy=timers.target
`;
  const graphService = `${MARKER}
# netmon graph for ${i.configFile ?? "no config file (every interface)"}, state in ${i.stateDir}
# netmon-graph.service: the nightly graph of the log (usage.dat and usage.png), started by netmon-graph.timer.
[Unit]
Description=netmon nightly graph (${specifierFree(i.stateDir)}/usage.dat and usage.png)
Documentation=https://github.com/netmon/netmon#readme

[Service]
Type=oneshot
ExecStart=${unitCommand(s.graph)}
# Reading the log and drawing with gnuplot needs no capability, and no network.
User=root
CapabilityBoundingSet=
${hardening(i, writablePaths(s.graphNeeds, undefined), "AF_UNIX", "the graph")}\
TimeoutStartSec=30min
`;
  const graphTimer = `${MARKER}
# netmon-graph.timer: netmon's graph each night at 00:10, as the cron file's line.
# Persistent: a night missed while the machine was off is drawn at boot.
[Unit]
Description=netmon nightly graph

[Timer]
OnCalendar=*-*-* 00:10:00
Persistent=true
Unit=${UNITS.graphService}

[Install]
WantedBy=timers.target
`;
  const units: UnitTexts = { service, timer, graphService, graphTimer };
  if (s.start !== undefined) units.startService = startUnit(i, s.start, s.startNeeds);
  return units;
}

/** Where legacy iptables-restore locks (and makes the file if missing), as every legacy iptables program does. */
const XTABLES_LOCK = "/run/xtables.lock";

/**
 * The text of netmon-start.service: `netmon start` once at boot, after the firewall services that load the rules at
 * boot on Debian (nftables.service runs /etc/nftables.conf, whose usual `flush ruleset` would take netmon's table
 * away again; netfilter-persistent.service restores saved iptables rules) and before netmon.service: a report the
 * timer starts while this start is queued or running (its catch-up at boot, or its first 5 minutes) waits for it, and
 * runs on the rules put back (the service, not netmon.timer, is what must wait: ordering the timer would hold up
 * timers.target for no more). Hardened as the report's
 * service, with what start writes writable: its state directory. For iptables, /run/xtables.lock is made first (by
 * systemd itself, `+`): legacy iptables-restore locks it and cannot make it on the file system, read-only to the
 * service (a lock needs no write access to the file once it is there).
 */
function startUnit(i: ScheduleInputs, start: string[], needs: Need[]): string {
  const lock = i.config.source === "iptables"
    ? `# Legacy iptables-restore locks ${XTABLES_LOCK} and cannot make it on the read-only file system: made first.
ExecStartPre=+/usr/bin/touch ${XTABLES_LOCK}
`
    : "";
  return `${MARKER}
# netmon start for ${i.configFile ?? "no config file"}, state in ${i.stateDir}
# ${UNITS.startService}: 'netmon start' at boot (a reboot takes the meters' rules away, and reports fail without them),
# after the firewall's own rules are loaded and before the first report.
[Unit]
Description=netmon meters' rules (netmon start for ${specifierFree(i.configFile ?? "no config file")})
Documentation=https://github.com/netmon/netmon#readme
After=nftables.service netfilter-persistent.service
Before=${UNITS.service}

[Service]
Type=oneshot
RemainAfterExit=yes
${lock}ExecStart=${unitCommand(start)}
# Changing the rules needs CAP_NET_ADMIN (iptables, nft) and CAP_NET_RAW (legacy iptables' socket); nothing else.
User=root
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW
${hardening(i, writablePaths(needs, undefined), "AF_UNIX AF_NETLINK AF_INET AF_INET6", "start")}\
TimeoutStartSec=2min

[Install]
WantedBy=${BOOT_TARGET}
`;
}

/** Where `PrivateTmp=yes` gives the service directories of its own, empty at each start. */
const PRIVATE_TMP = ["/tmp", "/var/tmp"];

/** Whether `path` is at or under /tmp or /var/tmp. */
const inPrivateTmp = (path: string) => PRIVATE_TMP.some((t) => path === t || path.startsWith(`${t}/`));

/**
 * The warning for the services (`services`: each unit written and its needs, e.g. the report's, the graph's, the
 * start at boot's) that read or write under /tmp or /var/tmp (e.g. a trial's config in /tmp): `PrivateTmp=yes` hides
 * those paths from them, so they would find no config, keep the state and draw the graph where nobody looks; and
 * what every ExecStart runs (`runs`: netmon's own checkout, deno), which they would not find at all. It names each
 * service a hidden path concerns, and each path once (a path under one already named is not named again).
 * Undefined when none is there.
 */
export function privateTmpWarning(
  services: readonly { unit: string; needs: readonly Need[] }[],
  runs: readonly { path: string; why: string }[] = [],
): string | undefined {
  const hidden = new Map<string, string>();
  const concerned = new Set<string>();
  for (const { unit, needs } of services) {
    const paths = needs.filter((n) => n.kind === "read" || n.kind === "write").map((n) => ({
      path: n.value,
      why: n.why.split(":")[0] as string,
    }));
    for (const { path, why } of [...paths, ...runs]) {
      if (!inPrivateTmp(path)) continue;
      concerned.add(unit);
      if (!hidden.has(path)) hidden.set(path, why);
    }
  }
  for (const path of hidden.keys()) {
    if ([...hidden.keys()].some((p) => path.startsWith(`${p}/`))) hidden.delete(path);
  }
  if (hidden.size === 0) return undefined;
  const named = [...hidden].map(([path, why]) => `${path} (${why})`).join(", ");
  const units = [...concerned];
  const them = units.length > 1 ? `${units.slice(0, -1).join(", ")} and ${units.at(-1)} run` : `${units[0]} runs`;
  const own = units.length > 1 ? "them (they see an empty /tmp of their own)" : "it (it sees an empty /tmp of its own)";
  return `${them} with PrivateTmp=yes, which hides ${named} from ${own}: move ${
    hidden.size > 1 ? "them" : "it"
  } out of /tmp and /var/tmp, or ` +
    "schedule with --cron";
}

/**
 * mail.server's addresses, looked up as nodemailer will look them up under
 * the run line: the line does not allow the DNS servers, so nodemailer's
 * own resolver fails and it falls back to the system's (getaddrinfo: the
 * hosts file, then DNS), which is what is asked here (Deno.resolveDns would
 * ask only the DNS servers, and miss the hosts file).
 */
async function resolveMailServer(server: string): Promise<string[]> {
  if (Deno.permissions.querySync({ name: "net", host: server }).state !== "granted") {
    throw new NetmonError(
      `looking up mail.server ${server} needs --allow-net=${server}: run schedule with it`,
      EX.NOPERM,
    );
  }
  try {
    const found = await lookup(server, { all: true });
    return [...new Set(found.map((a) => a.address))];
  } catch (err) {
    throw new NetmonError(
      `mail.server ${server} does not resolve (${(err as Error).message}): correct it, or use its address`,
      EX.UNAVAILABLE,
    );
  }
}

/**
 * Writes `text` to `path` atomically, unless a file netmon did not write is
 * there (then only with `force`). The file there is read as state files are
 * (a link or a FIFO is refused, not followed or waited on); a directory the
 * permissions do not cover is one line naming both flags it needs.
 */
function install(path: string, text: string, force: boolean): void {
  try {
    if (!force && isScheduleFile(path) === false) {
      throw new NetmonError(
        `${path} exists and netmon did not write it: move it away, or run again with --force to replace it`,
        EX.CANTCREAT,
      );
    }
    replaceFile(path, text, 0o644, "schedule file");
  } catch (err) {
    throw scheduleFileError(path, err);
  }
}

/**
 * `err`, met writing or removing the schedule file `path` (or looking in `dir`, where the files go, for what is
 * enabled), as one line: Deno's refusal, as it is or as the safe reader turned it into a line naming the file alone,
 * names the directory and both flags (it is read, to see what is there, and written, a temporary file renamed over the
 * file or the file removed); any other error, as lib/host/errors.ts words it.
 */
export function scheduleFileError(path: string, err: unknown, dir = dirOf(path)): NetmonError {
  const denied = deniedAccess(err);
  if (!denied) return fileError(err, "change", path);
  const other = denied.kind === "read" ? "write" : "read";
  return new DenoDenied({
    kind: denied.kind,
    what: dir,
    note: "where the schedule goes",
    also: [{ kind: other, what: dir }],
  }, { cause: err instanceof NetmonError ? err.cause : err });
}

/** `netmon schedule`. */
export async function schedule(opts: Options): Promise<number> {
  if (COMPILED) {
    throw new NetmonError(
      "schedule works from netmon's sources ('deno task netmon schedule'): a compiled binary has the permissions it " +
        "was built with, and 'schedule --compile' prints the line that builds one for this config",
      EX.UNAVAILABLE,
    );
  }
  const alone = opts.dryRun ? "dry-run" : opts.force ? "force" : opts.into !== undefined ? "into" : undefined;
  if (alone && !opts.cron && !opts.systemd) throw new UsageError(`--${alone} goes with --cron or --systemd`);
  if (opts.into !== undefined && !opts.into.startsWith("/")) throw new UsageError("--into needs an absolute directory");
  const config = await findConfig(opts.config);
  // What the report would refuse, refused before its run line (with the programs the config names) is printed or
  // installed; and where it is installed, before anything is written there.
  for (const w of await refuseFound([...programChecks(config), ...scheduleDirChecks(opts)])) {
    err(`netmon: warning: ${w}\n`);
  }
  const stateDir = findStateDir(opts.stateDir, config);
  for (const [what, path] of [["config", config.file], ["state directory", stateDir]] as const) {
    if (path !== undefined && !path.startsWith("/")) {
      throw new UsageError(`the ${what} ${JSON.stringify(path)} must be an absolute path: cron runs elsewhere`);
    }
    // Named in the comments and Description= lines, where a newline would end the line and start one of its own.
    // deno-lint-ignore no-control-regex
    if (path !== undefined && /[\x00-\x1f\x7f]/.test(path)) {
      throw new UsageError(
        `the ${what} ${JSON.stringify(path)} has a control character, which would break the lines that name it: ` +
          "rename it",
      );
    }
  }
  const mail = config.mail;
  const inputs: ScheduleInputs = {
    config,
    configFile: config.file,
    stateDir,
    deno: Deno.execPath(),
    root: ROOT,
    links: linkedPaths([config.file, stateDir]),
  };
  if (mail && mail.transport === "smtp" && !isAddress(mail.server)) {
    inputs.mailAddresses = await resolveMailServer(mail.server);
  }
  const s = scheduleLines(inputs);
  if (opts.compile) {
    out(
      `${heading(inputs)}# Build (again after changing the config's source, programs, paths or mail server):\n` +
        `${s.compile.map(shellWord).join(" ")}\n# Then run it (e.g. from cron) as:\n# ${
          s.compiled.map(shellWord).join(" ")
        }\n`,
    );
    return EX.OK;
  }
  const units = opts.systemd ? unitFiles(inputs, s) : undefined;
  const files = scheduleFiles(opts).flatMap(({ path, unit }): [string, string][] => {
    const text = unit === undefined ? cronFile(inputs, s) : units?.[unit];
    return text === undefined ? [] : [[path, text]];
  });
  if (files.length === 0) {
    out(
      `${heading(inputs)}# Each permission and what it is for:\n${explain(s.reportNeeds)}${
        s.report.map(shellWord).join(" ")
      }\n`,
    );
    return EX.OK;
  }
  // Said once the units are written (or shown): a failed write is one line about that alone.
  const hidden = opts.systemd
    ? privateTmpWarning([
      { unit: UNITS.service, needs: s.reportNeeds },
      { unit: UNITS.graphService, needs: s.graphNeeds },
      ...(s.start === undefined ? [] : [{ unit: UNITS.startService, needs: s.startNeeds }]),
    ], [
      { path: inputs.root, why: "netmon's own files, which ExecStart runs" },
      { path: inputs.deno, why: "the deno ExecStart runs" },
    ])
    : undefined;
  // Nothing runs cron lines without a cron daemon: said when they are shown as when they are written.
  const cronless = opts.cron && cronDaemonInstalled() === false
    ? `${noCronDaemon("these lines")}: ${noCronDaemonFix(opts)}`
    : undefined;
  if (opts.dryRun) {
    for (const [path, text] of files) out(`==> ${path} (not written: --dry-run) <==\n${text}`);
    for (const w of [hidden, cronless]) if (w !== undefined) err(`netmon: warning: ${w}\n`);
    return EX.OK;
  }
  for (const [path, text] of files) install(path, text, opts.force);
  if (hidden !== undefined) err(`netmon: warning: ${hidden}\n`);
  const enable = `systemctl daemon-reload && systemctl enable --now ${
    s.start === undefined ? "" : `${UNITS.startService} `
  }${UNITS.timer} ${UNITS.graphTimer}`;
  const elsewhere = elsewhereThanSystemd(opts.into);
  const next = !opts.systemd
    ? ""
    : elsewhere === undefined
    ? `; now: ${enable}`
    : `; ${elsewhere}: once they are there, ${enable}`;
  out(`wrote ${files.map(([p]) => p).join(", ")}${next}\n`);
  if (cronless !== undefined) err(`netmon: warning: ${cronless}\n`);
  return EX.OK;
}
