/**
 * Which config's `netmon start` last installed which meters' rules
 * (`netmon.installed` in the state directory), so that the next start (or
 * stop) of the same config file can tell a meter taken out of it, whose rules
 * it removes unasked, from another config's meter on the same firewall,
 * whose rules it removes only when told (`--replace`). The firewall's rules
 * carry only a column's name (`netmon:COLUMN`) and the chain they jump to,
 * not the config they came from; two configs that share a state directory
 * are told apart by the config file's path. The record also keeps the
 * iptables chain the rules jumped to, so that after the config's `chain`
 * changed, its old rules are still known as its own (and rules of the same
 * name jumping to any other chain as another config's), and the nftables
 * table, so that after the config's `table` changed the old one is removed,
 * and, after a switch between the two, what the other source's start
 * installed while it is still there (lib/sources/left_behind.ts).
 *
 * @module
 */

import { removeIfPresent, replaceFile } from "../host/files.ts";
import { lstatOrUndefined, othersCanWrite, readWholeText, realPathOr, SafeFile } from "../host/safe_open.ts";
import { CHAIN_NAME } from "../config/config.ts";
import { EX, NetmonError } from "../host/errors.ts";
import { getUid } from "../host/env.ts";
import { AdvisedError } from "../host/invocation.ts";
import { shellWord } from "../host/shell_word.ts";
import { moveStateFix, STATE_MODE, type StateFiles } from "./files.ts";

/** What the last start recorded. */
export interface Installed {
  /** The config file it was given, links resolved. */
  config: string;
  /** The absolute path it was given by, where that is a link (see {@linkcode ConfigIdentity}). */
  given?: string;
  /** The log columns whose rules (or counters) it installed. */
  columns: string[];
  /** iptables: the chain those rules jump to; absent in a record written before netmon kept it. */
  chain?: string;
  /** nftables: the table that holds those counters; absent in a record written before netmon kept it. */
  table?: string;
  /** What this config's start under the other source installed and is still there (a `left` line). */
  left?: Leftover;
}

/** An iptables chain or an nftables table this config's start installed, with its columns. */
export interface Leftover {
  /** iptables: the chain its rules jump to. */
  chain?: string;
  /** nftables: the table. */
  table?: string;
  /** Its columns. */
  columns: string[];
}

/** The record file of a state directory. */
export function installedPath(files: StateFiles): string {
  return `${files.dir}/netmon.installed`;
}

const HEADER = "# netmon start installed the rules of these columns, from this config (lib/state/installed.ts)\n";

/**
 * Parses the record's text; undefined when it names no config.
 *
 * @example
 * ```ts
 * parseInstalled("config\t/etc/netmon.toml\ncolumns\tproxy\tnon-network\n");
 * // { config: "/etc/netmon.toml", columns: ["proxy", "non-network"] }
 * parseInstalled("config\t/etc/netmon.toml\nchain\tDOWNLOADED\ncolumns\tproxy\n");
 * // { config: "/etc/netmon.toml", columns: ["proxy"], chain: "DOWNLOADED" }
 * parseInstalled("config\t/etc/netmon.toml\ntable\tnetmon\ncolumns\tproxy\n");
 * // { config: "/etc/netmon.toml", columns: ["proxy"], table: "netmon" }
 * ```
 */
export function parseInstalled(text: string): Installed | undefined {
  let config: string | undefined;
  let given: string | undefined;
  let chain: string | undefined;
  let table: string | undefined;
  let left: Leftover | undefined;
  const columns: string[] = [];
  for (const line of text.split("\n")) {
    const [key, ...values] = line.split("\t");
    if (key === "config" && values.length === 1) config = values[0];
    else if (key === "given" && values.length === 1 && values[0]?.startsWith("/")) given = values[0];
    // The chain and table go into iptables-restore and nft input: only a name a config could give is taken.
    else if (key === "chain" && values.length === 1 && CHAIN_NAME.test(values[0] ?? "")) chain = values[0];
    else if (key === "table" && values.length === 1 && CHAIN_NAME.test(values[0] ?? "")) table = values[0];
    else if (key === "columns") columns.push(...values.filter((v) => v !== ""));
    else if (key === "left" && (values[0] === "chain" || values[0] === "table") && CHAIN_NAME.test(values[1] ?? "")) {
      left = { [values[0]]: values[1], columns: values.slice(2).filter((v) => v !== "") };
    }
  }
  if (config === undefined) return undefined;
  const record: Installed = { config, columns };
  if (given !== undefined) record.given = given;
  if (chain !== undefined) record.chain = chain;
  if (table !== undefined) record.table = table;
  if (left !== undefined) record.left = left;
  return record;
}

/**
 * The record's text. Column names hold no tab or newline (the config refuses
 * them); a config path that does is not found again, which only makes the
 * next start ask for `--replace`.
 */
export function formatInstalled(i: Installed): string {
  const given = i.given === undefined ? "" : `given\t${i.given}\n`;
  const chain = i.chain === undefined ? "" : `chain\t${i.chain}\n`;
  const table = i.table === undefined ? "" : `table\t${i.table}\n`;
  const l = i.left;
  const left = l === undefined ? "" : `left\t${l.chain === undefined ? `table\t${l.table}` : `chain\t${l.chain}`}` +
    `${l.columns.map((c) => `\t${c}`).join("")}\n`;
  // The left line last: the record's first lines are read alone (otherConfigsRecord).
  return `${HEADER}config\t${i.config}\n${given}${chain}${table}columns${i.columns.map((c) => `\t${c}`).join("")}\n` +
    left;
}

/** Reads the record; undefined when there is none. */
export function readInstalled(files: StateFiles): Installed | undefined {
  const text = readWholeText(installedPath(files), { what: "record of installed rules" }, 64 << 20);
  return text === undefined ? undefined : parseInstalled(text);
}

/** Records that `config`'s start installed `columns`' rules. */
export function writeInstalled(files: StateFiles, installed: Installed): void {
  replaceFile(installedPath(files), formatInstalled(installed), STATE_MODE, "record of installed rules");
}

/** Removes the record (a stop removed every rule it names). */
export function dropInstalled(files: StateFiles): void {
  removeIfPresent(installedPath(files));
}

/**
 * A config file as the record knows it: its path with links resolved (the
 * same file by any link), and the absolute path it was given by when that is
 * a link (a deploy's `current/netmon.toml`, whose target changes with every
 * release). A record of either path is this config's.
 */
export interface ConfigIdentity {
  /** The path, links resolved. */
  real: string;
  /** The absolute path as given, where links make it differ from `real`. */
  given?: string;
}

/** `file`'s {@linkcode ConfigIdentity}. */
export function configIdentity(file: string): ConfigIdentity {
  const real = realPathOr(file);
  return file.startsWith("/") && file !== real ? { real, given: file } : { real };
}

/** Whether `record` names the config file `id` is: by either path of each. */
export function isOwnRecord(record: Pick<Installed, "config" | "given">, id: ConfigIdentity): boolean {
  const names = [id.real, ...id.given === undefined ? [] : [id.given]];
  return names.includes(record.config) || (record.given !== undefined && names.includes(record.given));
}

/** The record's entry for config `id`, its paths as {@linkcode ConfigIdentity} says. */
export function recordOf(id: ConfigIdentity, columns: string[]): Installed {
  return id.given === undefined ? { config: id.real, columns } : { config: id.real, given: id.given, columns };
}

/** What the record tells one config file ({@linkcode installedFor}). */
export interface InstalledFor {
  /** The columns this config file's last start installed: none when the record is missing or another config's. */
  former: Set<string>;
  /** iptables: the chain their rules jump to, when this config file's record says. */
  formerChain?: string;
  /** nftables: the table that holds their counters, when this config file's record says. */
  formerTable?: string;
  /** The config file the record names, if it is another's: the two share this state directory. */
  owner?: string;
  /** What this config file's start under the other source installed, when the record says (Installed.left). */
  left?: Leftover;
}

/**
 * The one rule for believing the record: it decides which rules root removes
 * and which config a state directory is, so one that another user could
 * have put there (or kept, to put back later) is not believed.
 */
function believed(files: StateFiles): boolean {
  return othersCanWrite(files.dir) !== "yes";
}

/**
 * What `files`' record tells config file `id`. A record in a directory other
 * users can write is not believed: a NetmonError (exit 77) says so.
 */
export function installedFor(files: StateFiles, id: ConfigIdentity): InstalledFor {
  if (!believed(files)) {
    const fix = moveStateFix(files.dir, getUid() ?? -1, lstatOrUndefined(files.dir)?.uid ?? null);
    throw new NetmonError(
      `the state directory ${files.dir} can be written by other users, so its record of installed rules is not ` +
        "believed (" + (fix ??
          `make it root's, not writable by group or others: chown root:root ${shellWord(files.dir)} && chmod go-w ${
            shellWord(files.dir)
          }`) +
        ")",
      EX.NOPERM,
    );
  }
  const record = readInstalled(files);
  if (!record) return { former: new Set() };
  if (!isOwnRecord(record, id)) return { former: new Set(), owner: record.config };
  const mine: InstalledFor = { former: new Set(record.columns) };
  if (record.chain !== undefined) mine.formerChain = record.chain;
  if (record.table !== undefined) mine.formerTable = record.table;
  if (record.left !== undefined) mine.left = record.left;
  return mine;
}

/** The record's first lines are at most this long (a header, two paths, a chain): its columns are not read. */
const HEAD_BYTES = 16 << 10;

/**
 * The other config file that `files`' record names, if it names one: the
 * state directory is that config's, and a report of config `id` there would
 * write one log under two headers in turn. Only the record's first lines are
 * read (a report runs this every time; the columns of 10,000 meters are not
 * needed). undefined without a record, where `id` is its config, or where
 * the record is not believed ({@linkcode installedFor}).
 */
export function otherConfigsRecord(files: StateFiles, id: ConfigIdentity): string | undefined {
  if (!believed(files)) return undefined; // the report warns of the directory itself
  const f = SafeFile.open(installedPath(files), { what: "record of installed rules" });
  if (!f) return undefined;
  const head = new Uint8Array(HEAD_BYTES);
  let got = 0;
  try {
    while (got < head.length) {
      const n = f.readSync(head.subarray(got));
      if (!n) break;
      got += n;
    }
  } finally {
    f.close();
  }
  const text = new TextDecoder().decode(head.subarray(0, got));
  // A cut last line is left out: it can only be the columns, or a path longer than any path.
  const record = parseInstalled(got === HEAD_BYTES ? text.slice(0, text.lastIndexOf("\n") + 1) : text);
  return record && !isOwnRecord(record, id) ? record.config : undefined;
}

/**
 * The refusal of a state directory whose record names another config file
 * ({@linkcode sharedStateError}): nothing is written there, a report's
 * `netmon.status` included (it is the other config's).
 */
export class SharedStateError extends AdvisedError {}

/**
 * Refuses (a {@linkcode SharedStateError}) a `command` (a report, or a check
 * of its state) of config file `file` in `files`' state directory when its
 * record names another config file ({@linkcode otherConfigsRecord}). A
 * report calls it with the state lock held: a start of another config,
 * which writes the record under that lock, cannot then come between this
 * look and the sample.
 */
export function refuseOtherConfigs(files: StateFiles, file: string | undefined, command = "report"): void {
  const other = otherConfigsRecord(files, file === undefined ? { real: "" } : configIdentity(file));
  if (other !== undefined) throw sharedStateError(files.dir, other, command);
}

/**
 * The refusal of a command of one config in a state directory whose record
 * names another config file (`owner`), which the two would share: one log
 * under two headers in turn, each billing the other's columns as new. The
 * start that takes it over is named by the command line, with the run's -c
 * and -s (lib/host/invocation.ts).
 */
export function sharedStateError(dir: string, owner: string, command: string): SharedStateError {
  let gone = false;
  try {
    Deno.statSync(owner);
  } catch (err) {
    gone = err instanceof Deno.errors.NotFound; // not allowed to look: not said to be gone
  }
  const exists = !gone;
  return new SharedStateError((netmon) => {
    const replace = `run '${netmon("start --replace")}' with this config to take the directory over ('--dry-run' ` +
      "shows what else it would change)";
    const how = exists
      ? `give this config its own state_dir = "..." (two configs in one state directory write one log under two ` +
        `headers in turn); if this config replaces ${owner}, ${replace}`
      : `if this config is ${owner} renamed, ${replace}; otherwise give it its own state_dir = "..."`;
    return `${command}: state directory ${dir} is used by ${owner}${exists ? "" : ", which no longer exists"} ` +
      `(its start installed its meters from there): ${how}`;
  }, EX.CONFIG);
}
