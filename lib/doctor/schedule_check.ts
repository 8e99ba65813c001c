/**
 * doctor's schedule check: finds the cron line or systemd timer that runs
 * THIS config's report (same config file, same state directory), checks that
 * its program exists and that its Deno permissions cover what the config
 * needs (the computation `netmon schedule` uses), and that the last sample
 * is recent. Lines running another config, another state directory or
 * another netmon command are named for what they are. Where a line or timer
 * draws this state directory's graph (the nightly one `netmon schedule`
 * installs with the report), the same of it: enabled, its program there, its
 * permissions enough. For a firewall source (iptables, nftables), the same
 * of the `netmon start` run at boot (a cron `@reboot` line, or a service a
 * target wants, as `netmon schedule` installs): without one, the rules are
 * gone after a reboot and every report fails until someone runs start. And the original's
 * check: no cron line still runs the 2010 network_monitor.py (or its
 * netmon_graph.py on a log that is not netmon's) after the switch.
 *
 * Cron tables and units are read as cron and systemd take them, through
 * lib/host/safe_open.ts: regular files only (a FIFO never blocks doctor), at
 * most TABLE_MAX bytes, a link followed only where cron or systemd follows
 * it.
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { type Config, DEFAULT_CONFIG_PATH, installsRules } from "../config/config.ts";
import { netmonCommand, type RunWith } from "../host/invocation.ts";
import { grants, type Need, permissionNeeds } from "../config/permissions.ts";
import {
  absoluteFrom,
  describeCommand,
  type Entry,
  isReport,
  lineGrants,
  parseGraphLine,
  parseOriginalLine,
  parseRunLine,
  type RunLine,
} from "./run_lines.ts";
import type { Finding } from "./finding.ts";
import { type Owners, readWholeBounded } from "../host/safe_open.ts";
import { shellWord } from "../host/shell_word.ts";
import { noCronDaemon, noCronDaemonFix } from "../host/cron_daemon.ts";

/** Cron tables: system-wide files with a user field, then per-user directories without one. */
export const CRON_FILES = ["/etc/crontab"];
/** Directories of system cron tables (with a user field). */
export const CRON_DIRS = ["/etc/cron.d"];
/** Directories of per-user crontabs (Debian's, then Red Hat's). */
export const USER_CRON_DIRS = ["/var/spool/cron/crontabs", "/var/spool/cron"];
/** Where an administrator's systemd units live. */
export const SYSTEMD_DIR = "/etc/systemd/system";
/** A sample older than this means nothing is running the report. */
export const STALE_MS = 2 * 3600_000;

const TASKS = denoJson.tasks as Record<string, string>;
const SETS = denoJson.permissions as Record<string, Record<string, unknown>>;
/** The fix for a schedule that is missing or wrong, on the config and state directory doctor was `given`. */
const fixFor = (given: RunWith | undefined) =>
  `run '${netmonCommand("schedule --cron", given)}' (or --systemd): it writes the line with exactly the ` +
  "permissions this config needs";

/**
 * Whether root may be told to install the missing program of `entry` where it says: a line of a system table
 * (/etc/crontab, /etc/cron.d), of a unit, or of root's crontab. Another user's crontab runs as that user, which
 * root's binary there would not change, and its text is that user's to choose (a path printed into a command for
 * root to paste).
 */
function rootsEntry(entry: Entry): boolean {
  return entry.user === "root" || !USER_CRON_DIRS.some((d) => entry.where.startsWith(`cron ${d}/`));
}

/** The fix for `line` of `entry` running a program that is not there: install the compiled `built` there, or `fix`. */
function missingFix(entry: Entry, line: RunLine<unknown>, built: string, fix: string): string {
  return line.kind === "binary" && rootsEntry(entry)
    ? `install it (deno task compile && install -m 0755 ${built} ${shellWord(line.program)}), or ${fix}`
    : fix;
}

/** At most this much of a cron table or unit is read (Debian's own are a few KiB). */
export const TABLE_MAX = 1 << 20;

/**
 * The entries of `dir` that may be tables (regular files or links), sorted; in a cron directory (`cron`) not those
 * both Debian's cron and cronie skip: hidden, `#…`, `…~` (an editor's backup).
 */
function readDir(dir: string, cron = false): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.isFile || e.isSymlink)
      .filter((e) => !cron || !/^[.#]|~$/.test(e.name)).map((e) => `${dir}/${e.name}`).sort();
  } catch {
    return [];
  }
}

/**
 * The text of a cron table or systemd unit as cron or systemd would take it, or undefined where it would not (or
 * doctor may not read it): a regular file of at most TABLE_MAX bytes owned as `owners` says, never waited on for
 * more than 5 s (a FIFO swapped in). A link at `path` is followed only as `links` says: Debian's cron follows one
 * in /etc/crontab and /etc/cron.d only when root owns the link ("may also be symlinks, provided that both the
 * symlink and the file it points to are owned by root", cron(8)), never one in the spool (opened O_NOFOLLOW);
 * systemd follows those in /etc/systemd/system.
 */
async function readTable(path: string, links: "never" | "root's" | "any", owners: Owners): Promise<string | undefined> {
  let s: Deno.FileInfo;
  try {
    s = Deno.lstatSync(path);
  } catch {
    return undefined;
  }
  if (s.isSymlink && (links === "never" || (links === "root's" && s.uid !== 0))) return undefined;
  const what = path.startsWith(SYSTEMD_DIR) ? "systemd unit" : "cron table";
  try {
    const bytes = await readWholeBounded(path, { what, follow: s.isSymlink, owners }, TABLE_MAX);
    return bytes && new TextDecoder().decode(bytes);
  } catch {
    return undefined;
  }
}

/** Every cron line, with the variables the table set before it and the user it runs as. */
export async function cronLines(): Promise<Entry[]> {
  const found: Entry[] = [];
  const scan = async (path: string, userField: boolean) => {
    // A system table (with a user field) is root's, a link to it root's too; a user's is the user's (or root's).
    const text = await readTable(path, userField ? "root's" : "never", userField ? "self-or-root" : "anyone");
    if (text === undefined) return;
    const env: Record<string, string> = {};
    text.split("\n").forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      const assign = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
      if (assign) {
        env[assign[1] as string] = (assign[2] as string).replace(/^(["'])(.*)\1$/, "$2");
        return;
      }
      const user = userField
        ? line.split(/\s+/)[line.startsWith("@") ? 1 : 5] ?? ""
        : path.slice(path.lastIndexOf("/") + 1);
      // The command is the rest of the line, quotes kept; cron turns an unescaped % into a newline, the start of
      // the command's input.
      const command = line.replace(line.startsWith("@") ? /^\S+\s+/ : /^(\S+\s+){5}/, "")
        .replace(userField ? /^\S+\s+/ : /^/, "").replace(/(^|[^\\])%.*$/, "$1").replaceAll("\\%", "%");
      const atBoot = /^@reboot\s/.test(line) ? { atBoot: true } : {};
      found.push({ where: `cron ${path}:${i + 1}`, command, env: { ...env }, user, ...atBoot });
    });
  };
  for (const f of CRON_FILES) await scan(f, true);
  for (const d of CRON_DIRS) for (const f of readDir(d, true)) await scan(f, true);
  for (const d of USER_CRON_DIRS) for (const f of readDir(d, true)) await scan(f, false);
  return found;
}

/** Whether `name`'s link is in `${SYSTEMD_DIR}/TARGET.wants/` for one of `targets`: enabled (dangling or not). */
function wanted(name: string, targets: readonly string[]): boolean {
  return targets.some((target) => {
    try {
      Deno.lstatSync(`${SYSTEMD_DIR}/${target}.wants/${name}`);
      return true;
    } catch {
      return false;
    }
  });
}

/** A service's ExecStart lines as entries, with its environment and user. */
function serviceEntries(name: string, service: string, enabled: boolean, atBoot: boolean): Entry[] {
  const env: Record<string, string> = {};
  for (const m of service.matchAll(/^\s*Environment\s*=\s*(.*)$/gm)) {
    for (const a of (m[1] ?? "").matchAll(/"?([A-Za-z_][A-Za-z0-9_]*)=([^"\s]*)"?/g)) {
      env[a[1] as string] = a[2] ?? "";
    }
  }
  const user = /^\s*User\s*=\s*(\S+)/m.exec(service)?.[1] ?? "root";
  return [...service.matchAll(/^\s*ExecStart\s*=\s*[-@:+!]*(.*)$/gm)].map((m) => ({
    where: `systemd ${name}`,
    command: (m[1] ?? "").replaceAll("%%", "%"),
    env,
    user,
    enabled,
    ...(atBoot ? { atBoot } : {}),
  }));
}

/**
 * Every timer in /etc/systemd/system with its service's ExecStart lines, environment, user, and whether enabled; and
 * every service there a target wants (`WantedBy=`: started at boot, as netmon-start.service), whether enabled or not.
 */
export async function timerLines(): Promise<Entry[]> {
  const found: Entry[] = [];
  for (const path of readDir(SYSTEMD_DIR)) {
    const name = path.slice(SYSTEMD_DIR.length + 1);
    if (name.endsWith(".service")) {
      const service = await readTable(path, "any", "self-or-root") ?? "";
      const targets = [...service.matchAll(/^\s*WantedBy\s*=\s*(.*)$/gm)].flatMap((m) => (m[1] ?? "").split(/\s+/))
        .filter((t) => t !== "");
      if (targets.length > 0) found.push(...serviceEntries(name, service, wanted(name, targets), true));
      continue;
    }
    if (!name.endsWith(".timer")) continue;
    const text = await readTable(path, "any", "self-or-root") ?? "";
    const unit = /^\s*Unit\s*=\s*(\S+)/m.exec(text)?.[1] ?? name.replace(/\.timer$/, ".service");
    const service = await readTable(`${SYSTEMD_DIR}/${unit}`, "any", "self-or-root") ?? "";
    found.push(...serviceEntries(name, service, wanted(name, ["timers.target"]), false));
  }
  return found;
}

/** What doctor knows of the config it checks. */
export interface ScheduleContext {
  config: Config;
  /** The config file in effect (undefined: none). */
  configFile?: string | undefined;
  /** The state directory in effect. */
  stateDir: string;
  /** The last sample's instant (ms), if any. */
  lastAt?: number | undefined;
  now: Date;
  /** The config and state directory doctor was given (`-c`, `-s`), for the fix's command. */
  given?: RunWith;
  /** Whether a cron daemon is installed (lib/host/cron_daemon.ts; undefined: not known). */
  cronDaemon?: boolean | undefined;
}

/** The config file a line works on (undefined: none), as netmon would find it. */
function lineConfig(
  line: RunLine<unknown>,
  opts: { config?: string },
  entryEnv: Record<string, string>,
): string | undefined {
  if (opts.config !== undefined) return absoluteFrom(opts.config, line.cwd);
  const env = line.env.NETMON_CONFIG ?? entryEnv.NETMON_CONFIG;
  if (env !== undefined) return env === "" ? undefined : absoluteFrom(env, line.cwd);
  try {
    Deno.statSync(DEFAULT_CONFIG_PATH);
    return DEFAULT_CONFIG_PATH;
  } catch {
    return undefined;
  }
}

/** The state directory a line works on (`config` its config), as netmon (and graph.ts) would find it. */
function lineStateDir(line: RunLine<unknown>, opts: { stateDir?: string }, entry: Entry, config: Config): string {
  const state = opts.stateDir !== undefined
    ? absoluteFrom(opts.stateDir, line.cwd)
    : line.env.NETMON_STATE_DIR ?? entry.env.NETMON_STATE_DIR ?? config.stateDir ??
      (entry.user === "root" ? "/var/lib/netmon" : `~${entry.user}/.local/state/netmon`);
  return state.replace(/\/+$/, "");
}

/** Whether the line's program is there: "yes", "no", or why doctor cannot tell. */
function programThere(line: RunLine<unknown>, entry: Entry): "yes" | "no" | string {
  const candidates = line.program.includes("/") ? [absoluteFrom(line.program, line.cwd)] : (entry.env.PATH ??
    (entry.where.startsWith("cron") ? "/usr/bin:/bin" : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"))
    .split(":").map((d) => `${d}/${line.program}`);
  for (const path of candidates) {
    if (path === Deno.execPath()) return "yes";
    try {
      Deno.statSync(path);
      return "yes";
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) continue;
      return `doctor may not look at ${path}: run it with ${shellWord(`--allow-read=${path}`)}`;
    }
  }
  return "no";
}

const flagOf = (n: Need) => `--allow-${n.kind}=${n.value} (${n.why})`;

/** A schedule problem: what is wrong (`said`) and its `fix` (by default, schedule again). */
const problem = (ctx: ScheduleContext, said: string, fix = fixFor(ctx.given)) => ({
  problem: { check: "schedule" as const, verdict: "problem" as const, said, fix },
});

/**
 * How a line of `entry` running `line` (its `opts`) works elsewhere than doctor's config and state directory, in
 * words (`of CONFIG`, `with state directory DIR`); undefined when it works on them.
 */
function elsewhere(
  ctx: ScheduleContext,
  entry: Entry,
  line: RunLine<unknown>,
  opts: { config?: string; stateDir?: string },
): string | undefined {
  const config = lineConfig(line, opts, entry.env);
  if (config !== ctx.configFile) return `of ${config ?? "no config file"}`;
  const state = lineStateDir(line, opts, entry, ctx.config);
  return state === ctx.stateDir.replace(/\/+$/, "") ? undefined : `with state directory ${state}`;
}

/** One line running this config's command, found in `entry`, with its options. */
interface Ours {
  entry: Entry;
  line: RunLine<unknown>;
  opts: { config?: string; stateDir?: string };
}

/** What a kind of line runs, in the words its problems use. */
interface LineKind {
  /** The command whose permissions it needs. */
  command: "report" | "graph" | "start";
  /** What it does (`runs the report`), after where it is. */
  does: string;
  /** What a missing program means (`the report never runs`). */
  never: string;
  /** How often Deno refuses a line without its permissions (`every run`). */
  refused: string;
  /** The compiled binary that runs it (`dist/netmon`). */
  built: string;
  /** The command that enables a unit that is not (`systemctl enable --now`). */
  enable: string;
  /** Said of a line whose permissions doctor cannot check (undefined: nothing). */
  unchecked?: (o: Ours) => string;
  /** What it writes beside itself, for its permissions. */
  writes?: (o: Ours) => string[];
}

/**
 * The steps the report's, the graph's and the boot start's checks share, on `ours` (the lines running this config's
 * command, at least one): one enabled, each enabled one's program there and its permissions enough for what
 * `kind` runs. A problem, or the enabled ones and notes for the ok finding.
 */
function checkOurs(
  ctx: ScheduleContext,
  ours: Ours[],
  kind: LineKind,
): { problem: Finding } | { enabled: Ours[]; notes: string[] } {
  const enabled = ours.filter((o) => o.entry.enabled !== false);
  if (enabled.length === 0) {
    const unit = ours[0]?.entry.where.replace(/^systemd /, "");
    return problem(ctx, `${unit} ${kind.does} but is not enabled`, `${kind.enable} ${unit}`);
  }
  const notes: string[] = [];
  for (const o of enabled) {
    const { entry, line, opts } = o;
    const there = programThere(line, entry);
    if (there === "no") {
      return problem(
        ctx,
        `${entry.where} runs ${line.program}, which does not exist: ${kind.never}`,
        missingFix(entry, line, kind.built, fixFor(ctx.given)),
      );
    }
    if (there !== "yes") notes.push(there);
    const granted = lineGrants(line, SETS);
    if (granted === undefined) {
      const note = kind.unchecked?.(o);
      if (note !== undefined) notes.push(note);
      continue;
    }
    const needs = permissionNeeds(kind.command, {
      config: ctx.config,
      configFile: ctx.configFile,
      stateDir: ctx.stateDir,
      explicitConfig: opts.config !== undefined,
      explicitStateDir: opts.stateDir !== undefined,
      asRoot: entry.user === "root",
      ...(kind.writes ? { graphOutputs: kind.writes(o) } : {}),
    });
    const missing = needs.filter((n) => !grants(granted, n));
    if (missing.length > 0) {
      return problem(
        ctx,
        `${entry.where} ${kind.does} without ${missing.map(flagOf).join(", ")}: Deno refuses it ${kind.refused}`,
      );
    }
  }
  return { enabled, notes };
}

/** The schedule finding, from the cron lines and timers found (`entries`: {@linkcode cronLines}, {@linkcode timerLines}). */
export function checkSchedule(ctx: ScheduleContext, entries: Entry[]): Finding {
  // What runs once at boot is no schedule: among it, only the start at boot is looked for (checkBootStart).
  const scheduled = entries.filter((e) => !e.atBoot);
  const lines = scheduled.flatMap((e) => {
    const line = parseRunLine(e.command, TASKS);
    return line ? [{ entry: e, line }] : [];
  });
  const reports = lines.filter((l) => isReport(l.line));
  const others = lines.filter((l) => !isReport(l.line)).map((l) => `${l.entry.where} runs ${describeCommand(l.line)}`);
  const here = `${ctx.configFile ?? "no config file"} with state directory ${ctx.stateDir}`;
  const mismatches: string[] = [];
  const ours = reports.flatMap(({ entry, line }): Ours[] => {
    const opts = line.opts as { config?: string; stateDir?: string };
    const other = elsewhere(ctx, entry, line, opts);
    if (other !== undefined) mismatches.push(`${entry.where} runs the report ${other}`);
    return other === undefined ? [{ entry, line, opts }] : [];
  });
  if (ours.length === 0) {
    // (A timer that runs this config's report but is not enabled is ours: checkOurs says so.)
    const found = [...mismatches, ...others];
    return {
      check: "schedule",
      verdict: "problem",
      said: found.length === 0
        ? "nothing runs 'netmon report' on a schedule: no cron entry and no systemd timer mentions it"
        : `nothing runs the report of ${here}: ${found.join("; ")}`,
      fix: fixFor(ctx.given),
    };
  }
  const report = checkOurs(ctx, ours, {
    command: "report",
    does: "runs the report",
    never: "the report never runs",
    refused: "every run",
    built: "dist/netmon",
    enable: "systemctl enable --now",
    unchecked: ({ entry, line }) =>
      line.kind === "binary"
        ? `${line.program} is a compiled binary: its permissions were fixed when it was built ('${
          netmonCommand("schedule --compile", ctx.given)
        }' prints the build line for this config)`
        : `${entry.where} uses a permission set this deno.json does not have: its permissions were not checked`,
  });
  if ("problem" in report) return report.problem;
  const { enabled, notes } = report;
  const where = enabled.map(placeOf);
  if (ctx.cronDaemon === false && enabled.every((o) => o.entry.where.startsWith("cron "))) {
    return problem(
      ctx,
      `${where.join(", ")} should run the report, but ${noCronDaemon("it")}`,
      noCronDaemonFix(ctx.given),
    ).problem;
  }
  if (ctx.lastAt !== undefined && ctx.now.getTime() - ctx.lastAt > STALE_MS) {
    const hours = Math.floor((ctx.now.getTime() - ctx.lastAt) / 3600_000);
    return {
      check: "schedule",
      verdict: "problem",
      said: `${where.join(", ")} should run the report, but the last sample is ${hours} hours old`,
      fix: "check that cron (or systemd) is running and what the job prints: 'journalctl -u netmon' or the cron mail",
    };
  }
  const graph = checkGraph(ctx, scheduled);
  if ("problem" in graph) return graph.problem;
  notes.push(...graph.notes);
  const drawn = graph.where.length > 0 ? `; the nightly graph from ${graph.where.join(", ")}` : "";
  const boot = checkBootStart(ctx, entries);
  if ("problem" in boot) return boot.problem;
  notes.push(...boot.notes);
  const started = boot.where.length > 0 ? `; the rules put back at boot from ${boot.where.join(", ")}` : "";
  return {
    check: "schedule",
    verdict: "ok",
    said: `the report runs from ${where.join(", ")}${drawn}${started}${
      notes.length > 0 ? ` (${notes.join("; ")})` : ""
    }`,
  };
}

/** Where an entry runs, for an ok finding: a timer says it is enabled. */
const placeOf = (o: { entry: Entry }) => o.entry.where + (o.entry.enabled ? " (enabled)" : "");

/**
 * The graph's part of the schedule check: the cron lines and timers (`entries`) that graph THIS config's log,
 * checked as the report's are (an enabled one, its program there, its permissions enough for what it reads and
 * writes); none is no problem (a schedule need not draw). A problem, or where the graph runs and notes for the ok
 * finding.
 */
function checkGraph(
  ctx: ScheduleContext,
  entries: Entry[],
): { problem: Finding } | { where: string[]; notes: string[] } {
  const log = `${ctx.stateDir.replace(/\/+$/, "")}/netmon.log`;
  const ours = entries.flatMap((entry) => {
    const line = parseGraphLine(entry.command, TASKS);
    if (!line || typeof line.opts === "string" || line.opts.informational) return [];
    const opts = line.opts;
    if (lineConfig(line, opts, entry.env) !== ctx.configFile) return [];
    const reads = opts.log !== undefined
      ? absoluteFrom(opts.log, line.cwd)
      : `${lineStateDir(line, opts, entry, ctx.config)}/netmon.log`;
    return reads === log ? [{ entry, line, opts }] : [];
  });
  if (ours.length === 0) return { where: [], notes: [] };
  const graph = checkOurs(ctx, ours, {
    command: "graph",
    does: "draws the nightly graph",
    never: "the graph is never drawn",
    refused: "every night",
    built: "dist/netmon-graph",
    enable: "systemctl enable --now",
    // What it writes, each beside itself (relative to a cron job's unknown directory: not checked).
    writes: ({ line }) => {
      const opts = line.opts as { outputs: string[]; html?: string };
      return [...opts.outputs, ...(opts.html !== undefined ? [`${opts.html}/index.html`] : [])]
        .map((o) => absoluteFrom(o, line.cwd)).filter((o) => o.startsWith("/"));
    },
  });
  return "problem" in graph ? graph : { where: graph.enabled.map(placeOf), notes: graph.notes };
}

/**
 * The boot's part of the schedule check, for a firewall source (iptables, nftables): the `@reboot` cron lines and
 * the services a target wants (`entries` run at boot) that run `netmon start` for THIS config and state directory,
 * an enabled one with its program there and its permissions enough, as the report's. None is a problem: a reboot
 * takes the rules away (nftables.conf's `flush ruleset`, iptables' empty tables), and every report fails until
 * someone runs start. A problem, or where the start runs and notes (nothing for another source).
 */
function checkBootStart(
  ctx: ScheduleContext,
  entries: Entry[],
): { problem: Finding } | { where: string[]; notes: string[] } {
  if (!installsRules(ctx.config.source)) return { where: [], notes: [] };
  const ours = entries.flatMap((entry): Ours[] => {
    const line = entry.atBoot ? parseRunLine(entry.command, TASKS) : undefined;
    const opts = line?.opts;
    if (!line || opts === undefined || typeof opts === "string") return [];
    if (opts.command !== "start" || opts.help || opts.dryRun) return [];
    return elsewhere(ctx, entry, line, opts) === undefined ? [{ entry, line, opts }] : [];
  });
  if (ours.length === 0) {
    // The advice of old was to start netmon from the firewall's own boot script: doctor cannot see into that.
    return problem(
      ctx,
      "nothing runs this config's 'netmon start' at boot: a reboot takes the rules away, and every report fails " +
        "until someone runs it",
      `run '${netmonCommand("schedule --cron", ctx.given)}' (or --systemd): it writes an @reboot line (or ` +
        "netmon-start.service, ordered after the firewall's own rules) with exactly the permissions start needs; a " +
        "'netmon start' in the firewall's own boot script is invisible to doctor, so move it to netmon's own",
    );
  }
  const boot = checkOurs(ctx, ours, {
    command: "start",
    does: "runs 'netmon start' at boot",
    never: "the rules are not put back at boot",
    refused: "at every boot",
    built: "dist/netmon",
    enable: "systemctl enable",
  });
  return "problem" in boot ? boot : { where: boot.enabled.map(placeOf), notes: boot.notes };
}

/** The cron line `where` (`cron FILE:LINE`) in words, with how to edit it where that is crontab -e (a user's). */
function lineOf(where: string): string {
  const m = /^cron (.*):(\d+)$/.exec(where);
  if (!m) return where;
  const [, file = "", line] = m;
  const dir = USER_CRON_DIRS.find((d) => file.startsWith(`${d}/`));
  if (dir === undefined) return `line ${line} of ${file}`;
  const user = file.slice(dir.length + 1);
  return `line ${line} of ${user}'s crontab ('crontab -u ${user} -e')`;
}

/**
 * The original's finding, from the cron lines found (`entries`, {@linkcode cronLines}): a line still running
 * network_monitor.py, the 2010 script netmon replaces, is a problem whatever it runs (its report keeps its own
 * netmon.log and netmon.last, so two meters count into two logs; its start puts its own rules back beside
 * netmon's), and so is one running netmon_graph.py on another log than netmon's `log` (it graphs the script's old
 * log, or fails each night once that is moved). netmon_graph.py on netmon's log is as the README says it may be.
 */
export function checkOriginal(entries: Entry[], log: string | undefined): Finding {
  const said: string[] = [];
  const fixes: string[] = [];
  const graphs: string[] = [];
  for (const entry of entries) {
    const line = parseOriginalLine(entry.command);
    if (!line) continue;
    if (line.script === "netmon_graph.py") {
      const reads = line.args[0] === undefined ? undefined : absoluteFrom(line.args[0], line.cwd);
      if (log === undefined || reads === log) {
        graphs.push(`${entry.where} runs netmon_graph.py on netmon's log`);
        continue;
      }
      said.push(
        `${entry.where} runs netmon_graph.py on ${reads ?? "no log"}, not on netmon's log ${log}: it graphs the ` +
          "2010 script's log, which netmon does not write",
      );
      fixes.push(
        `make ${lineOf(entry.where)} read ${log}, or delete it ('netmon schedule --cron' writes netmon's own ` +
          "nightly graph line)",
      );
      continue;
    }
    const command = (line.args[0] ?? "report").toUpperCase();
    const effect = command === "REPORT"
      ? ": it keeps writing its own netmon.log and netmon.last, so two meters count into two logs"
      : ["START", "INITIATE", "INITIALISE"].includes(command)
      ? ": it puts its own two rules back beside netmon's"
      : "";
    said.push(
      `${entry.where} still runs network_monitor.py${line.args.length > 0 ? ` ${line.args.join(" ")}` : ""}, the ` +
        `2010 script netmon replaces${effect}`,
    );
    fixes.push(`delete ${lineOf(entry.where)}`);
  }
  if (said.length > 0) return { check: "original", verdict: "problem", said: said.join("; "), fix: fixes.join("; ") };
  return {
    check: "original",
    verdict: "ok",
    said: graphs.length > 0
      ? `${graphs.join(", ")}; no cron line runs network_monitor.py`
      : "no cron line runs network_monitor.py or netmon_graph.py",
  };
}
