/**
 * The commands that look at or change the firewall: `start`, `stop`, `status`, `pf-conf`.
 *
 * @module
 */

import { runCommand } from "../host/run.ts";
import { advise, netmonCommand, type RunWith, runWith } from "../host/invocation.ts";
import { exists, getUid } from "../host/env.ts";
import { err, findConfig, findStateDir, out } from "./context.ts";
import { refuseUntrustedPrograms } from "../config/trust.ts";
import { ensureStateDir, type StateFiles, stateFiles } from "../state/files.ts";
import { withLock } from "../state/lock.ts";
import { recordingStart } from "../state/started.ts";
import {
  type ConfigIdentity,
  configIdentity,
  dropInstalled,
  installedFor,
  recordOf,
  sharedStateError,
  writeInstalled,
} from "../state/installed.ts";
import { columnNames } from "../config/meters.ts";
import { type Config, installsRules } from "../config/config.ts";
import { EX, NetmonError } from "../host/errors.ts";
import { selectSource } from "../sources/select.ts";
import { type CounterSource, foreignAdvice, type MeterStatus, type Plan } from "../sources/source.ts";
import { humanReadable } from "../usage/units.ts";
import { leftBehind, leftIn, leftNote } from "../sources/left_behind.ts";
import type { Leftover } from "../state/installed.ts";
import type { Options } from "./commands.ts";

/** The plan as said to the user of a run `given` -c/-s (the netmon commands its notes name, with them). */
function describePlan(plan: Plan, dryRun: boolean, given: RunWith): string {
  let text = plan.notes.map((n) => `${dryRun && plan.commands.length > 0 ? "would " : ""}${advise(n, given)}\n`)
    .join("");
  if (dryRun) {
    for (const c of plan.commands) {
      text += `would run: ${[c.path, ...c.args].join(" ")}\n`;
      if (c.stdin !== undefined) text += `with input:\n${c.stdin}`;
    }
    if (plan.commands.length > 0) text += "(dry run: nothing was changed)\n";
  }
  return text;
}

/** `meter NAME (WHERE)` or `meters A (WHERE), B (WHERE)`. */
function meterList(entries: string[]): string {
  return `meter${entries.length === 1 ? "" : "s"} ${entries.join(", ")}`;
}

/**
 * The refusal of a plan that removes rules of meters the config does not know
 * ({@linkcode Plan.unknown}), or replaces those of its own meters that differ
 * and that its record does not list ({@linkcode Plan.differing}): another
 * config's, as far as netmon can tell. Names them and the way out: the
 * `--replace` run with the -c and -s this run was `given`.
 */
function unknownRefusal(command: string, config: Config, plan: Plan, given: RunWith): NetmonError {
  const unknown = plan.unknown ?? [];
  const differing = plan.differing ?? [];
  const nft = config.source === "nftables";
  const place = nft ? "table" : "chain";
  const parts: string[] = [];
  if (unknown.length > 0) {
    const what = nft ? `delete the counter${unknown.length === 1 ? "" : "s"} of` : "remove the rules of";
    parts.push(
      `${what} ${meterList(unknown)}, which this config does not have and did not install (another config's?)`,
    );
  }
  if (differing.length > 0) {
    const verb = command === "start" ? "replace the rules" : nft ? "delete the counter and rules" : "remove the rules";
    parts.push(
      `${verb} of ${meterList(differing)}, which differ from this config's and which this state ` +
        `directory's record does not list as its own (another config's with the same ${place} and meter name?)`,
    );
  }
  const own = `give this config its own ${place} = "..." to meter beside`;
  // The --replace acts on what this run looked at: its -c and -s.
  const replace = netmonCommand(`${command} --replace`, given);
  let fix: string;
  if (differing.length === 0) {
    const it = nft && unknown.length === 1 ? "it" : "them";
    fix = `run '${replace}' to ${nft ? "delete" : "remove"} ${it}` +
      (command === "start" ? `, or ${own} ${it}` : "");
  } else if (unknown.length === 0) {
    const edited = "if they are this config's meter from before netmon kept the record (an edited meter), run " +
      `'${replace}' to ${command === "start" ? "replace" : nft ? "delete" : "remove"} them`;
    fix = command === "start" ? `${own} them, or, ${edited}` : edited;
  } else {
    fix = `run '${replace}' to ${command === "start" ? "do so" : nft ? "delete them" : "remove them"}` +
      (command === "start" ? `, or ${own} them` : "");
  }
  return new NetmonError(`${command} would ${parts.join(", and ")}: ${fix}`, EX.CONFIG);
}

/** Where this config's record of installed rules is, and the columns its last start installed. */
interface InstalledRecord {
  /** The state directory's files. */
  files: StateFiles;
  /** The config file as the record names it. */
  identity: ConfigIdentity;
  /** The columns the record says this config file's last start installed. */
  former: Set<string>;
  /** iptables: the chain the record says their rules jump to. */
  formerChain?: string;
  /** nftables: the table the record says holds their counters. */
  formerTable?: string;
  /** The config file the record names, if it is another: the two share this state directory. */
  owner?: string;
  /** What this config's start under the other source installed, by the record. */
  left?: Leftover;
}

/**
 * The record of the rules this config installed, for a firewall source with a
 * config file, in state directory `locked` (when start or stop holds its
 * lock) or the one the options and config name; undefined otherwise, and,
 * said on stderr, when the state directory cannot be told or its record read:
 * then a meter taken out of the config is taken for another config's, which
 * only makes start or stop ask for --replace.
 */
function installedRecord(opts: Options, config: Config, locked: StateFiles | undefined): InstalledRecord | undefined {
  if (!installsRules(config.source) || config.file === undefined) return undefined;
  try {
    const files = locked ?? stateFiles(findStateDir(opts.stateDir, config));
    const identity = configIdentity(config.file);
    return { files, identity, ...installedFor(files, identity) };
  } catch (e) {
    if (!(e instanceof NetmonError)) throw e;
    err(`netmon: warning: ${e.message}: rules of meters taken out of this config will be taken for another's\n`);
    return undefined;
  }
}

/**
 * After a start or stop has run: records which columns this config installed
 * (none after a stop). Failing to record is only warned of: the firewall has
 * changed already, and the next start will at worst ask for --replace.
 */
function recordInstalled(record: InstalledRecord, command: string, config: Config, left?: Leftover): void {
  const { files, identity, owner } = record;
  try {
    // Another config's record stays: that config's rules are still installed (see sharedStateError).
    if (command === "stop") {
      // What the other source's start installed stays named while it is there.
      if (owner === undefined && left) writeInstalled(files, { ...recordOf(identity, []), left });
      else if (owner === undefined) dropInstalled(files);
    } else {
      ensureStateDir(files);
      const record = recordOf(identity, columnNames(config.meters));
      if (config.source === "iptables") record.chain = config.chain;
      else record.table = config.table;
      if (left) record.left = left;
      writeInstalled(files, record);
    }
  } catch (e) {
    if (!(e instanceof NetmonError)) throw e;
    err(`netmon: warning: ${e.message}: the next start may not know this config's rules from another's\n`);
  }
}

/** How long start and stop wait for the state directory's lock before giving up (exit 75), as a report does. */
const LOCK_TIMEOUT_MS = 60_000;

/**
 * The state directory whose lock a start or stop of `config` holds from
 * reading the record of installed rules to writing it, so that two configs'
 * starts into one directory cannot both read "no record" and both install
 * (the record written last winning, the other's rules orphaned), a stop
 * cannot drop the record a start wrote meanwhile, and a report reads its
 * counters wholly before or after the change. start makes the directory
 * (its record goes there), once {@linkcode change} has checked it. undefined
 * where nothing is locked: a dry run (it changes and writes nothing), a
 * source without rules of its own, or a stop whose state directory does not
 * exist (no record there to stop by).
 */
function lockedStateFiles(opts: Options, config: Config): StateFiles | undefined {
  if (opts.dryRun || !installsRules(config.source)) return undefined;
  const files = stateFiles(findStateDir(opts.stateDir, config));
  return opts.command === "start" || exists(files.dir) ? files : undefined;
}

/**
 * `netmon start` and `netmon stop`: plans the firewall change and runs it, or
 * prints it with --dry-run. A plan that would remove rules of meters this
 * config neither has nor installed (per the state directory's record) is
 * refused, changing nothing, unless --replace is given. The state directory's
 * lock is held from reading the record to writing it ({@linkcode lockedStateFiles}).
 */
export async function change(opts: Options): Promise<void> {
  const config = await findConfig(opts.config);
  const locked = lockedStateFiles(opts, config);
  // Before anything is made or run: the state directory checked as a report checks it, with the config's own.
  for (const w of await refuseUntrustedPrograms(config, locked && { dir: locked.dir, uid: getUid() ?? 0 })) {
    err(`netmon: warning: ${w}\n`);
  }
  const source = await selectSource(config, runCommand);
  if (locked && opts.command === "start") ensureStateDir(locked);
  const plan = locked === undefined
    ? await planAndChange(opts, config, source, undefined)
    : await withLock(locked, LOCK_TIMEOUT_MS, () => planAndChange(opts, config, source, locked));
  out(describePlan(plan, opts.dryRun, runWith(opts)));
}

/**
 * Reads the record, plans, refuses or runs the plan, and records what this
 * config installed: all of `change` that `locked`'s lock covers, when given.
 */
async function planAndChange(
  opts: Options,
  config: Config,
  source: CounterSource,
  locked: StateFiles | undefined,
): Promise<Plan> {
  // A stop that found no state directory has no record to go by, nor one to drop.
  const record = locked === undefined && opts.command === "stop" && !opts.dryRun
    ? undefined
    : installedRecord(opts, config, locked);
  if (opts.command === "start" && record?.owner !== undefined && !opts.replace) {
    throw sharedStateError(record.files.dir, record.owner, "start");
  }
  const former = record?.former ?? new Set<string>();
  const { formerChain, formerTable } = record ?? {};
  const plan = opts.command === "start"
    ? await source.planStart(former, formerChain, formerTable)
    : await source.planStop(former, formerChain, formerTable);
  if ((plan.unknown?.length || plan.differing?.length) && !opts.replace) {
    throw unknownRefusal(opts.command, config, plan, runWith(opts));
  }
  // What the config's start under its other source installed, still there: named (the plan names it already where
  // the record's own place is it: the last start was under that source) and kept in the record.
  const left = record?.owner === undefined ? await leftBehind(config, record, runCommand) : undefined;
  if (left && left === record?.left) plan.notes.push(leftNote(left, "leave "));
  if (!opts.dryRun) {
    const run = async () => {
      for (const c of plan.commands) await runCommand(c.path, c.args, c.stdin);
    };
    // Rules made afresh count from zero: the next report must know, whatever their counters say.
    if (plan.recreates?.length && locked) await recordingStart(locked, plan.recreates, run, source.name);
    else await run();
    if (record) recordInstalled(record, opts.command, config, left);
  }
  return plan;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ") + "\n")
    .join("");
}

/**
 * What of status's rows is not installed: `2 meters`, or, where a meter's
 * rows are its several rules (iptables), `16 rules of 7 meters`.
 */
function notInstalled(missing: readonly MeterStatus[]): string {
  const n = (count: number, what: string) => `${count} ${what}${count === 1 ? "" : "s"}`;
  const meters = new Set(missing.map((r) => r.meter)).size;
  const rules = missing.length === meters ? "" : `${n(missing.length, "rule")} of `;
  return `${rules}${n(meters, "meter")} not installed`;
}

/** `netmon status`: each meter's rule and counters now. */
export async function status(opts: Options): Promise<number> {
  const config = await findConfig(opts.config);
  for (const w of await refuseUntrustedPrograms(config)) err(`netmon: warning: ${w}\n`);
  const source = await selectSource(config, runCommand);
  const rows = await source.status();
  // The start it names acts on what status looked at: the same -c and -s.
  const given = runWith(opts);
  for (const w of source.warnings) err(`netmon: warning: ${advise(w, given)}\n`);
  for (const f of source.foreignRules ?? []) err(`netmon: warning: ${foreignAdvice(f, given)}\n`);
  const left = installsRules(config.source)
    ? await leftIn(config, () => findStateDir(opts.stateDir, config))
    : undefined;
  if (left) err(`netmon: warning: ${advise(leftNote(left), given)}\n`);
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
  const missing = rows.filter((r) => !r.installed);
  if (missing.length > 0) text += `${notInstalled(missing)}: run '${netmonCommand("start", given)}'\n`;
  out(text);
  return missing.length > 0 ? EX.UNAVAILABLE : EX.OK;
}

/** `netmon pf-conf`: prints the labelled pf.conf rules. */
export async function pfConfCommand(opts: Options): Promise<number> {
  const config = await findConfig(opts.config);
  // The rules go into pf.conf, loaded as root: from a config no other user can change.
  for (const w of await refuseUntrustedPrograms(config)) err(`netmon: warning: ${w}\n`);
  if (config.source !== "pf") {
    throw new NetmonError(
      `pf-conf: the config's source is ${JSON.stringify(config.source)}; set source = "pf" and its meters`,
      EX.CONFIG,
    );
  }
  const { pfConf } = await import("../sources/pf.ts");
  out(pfConf(config));
  return EX.OK;
}
