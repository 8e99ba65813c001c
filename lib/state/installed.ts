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
 * table, so that after the config's `table` changed the old one is removed.
 *
 * @module
 */

import { removeIfPresent, replaceFile } from "../host/files.ts";
import { readWholeText } from "../host/safe_open.ts";
import { STATE_MODE, type StateFiles } from "./files.ts";

/** What the last start recorded. */
export interface Installed {
  /** The config file it was given, links resolved. */
  config: string;
  /** The log columns whose rules (or counters) it installed. */
  columns: string[];
  /** iptables: the chain those rules jump to; absent in a record written before netmon kept it. */
  chain?: string;
  /** nftables: the table that holds those counters; absent in a record written before netmon kept it. */
  table?: string;
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
  let chain: string | undefined;
  let table: string | undefined;
  const columns: string[] = [];
  for (const line of text.split("\n")) {
    const [key, ...values] = line.split("\t");
    if (key === "config" && values.length === 1) config = values[0];
    else if (key === "chain" && values.length === 1 && values[0] !== "") chain = values[0];
    else if (key === "table" && values.length === 1 && values[0] !== "") table = values[0];
    else if (key === "columns") columns.push(...values.filter((v) => v !== ""));
  }
  if (config === undefined) return undefined;
  const installed: Installed = { config, columns };
  if (chain !== undefined) installed.chain = chain;
  if (table !== undefined) installed.table = table;
  return installed;
}

/**
 * The record's text. Column names hold no tab or newline (the config refuses
 * them); a config path that does is not found again, which only makes the
 * next start ask for `--replace`.
 */
export function formatInstalled(i: Installed): string {
  const chain = i.chain === undefined ? "" : `chain\t${i.chain}\n`;
  const table = i.table === undefined ? "" : `table\t${i.table}\n`;
  return `${HEADER}config\t${i.config}\n${chain}${table}columns${i.columns.map((c) => `\t${c}`).join("")}\n`;
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

/** What the record tells one config file ({@linkcode installedFor}). */
export interface InstalledFor {
  /** The columns this config file's last start installed: none when the record is missing or another config's. */
  former: Set<string>;
  /** iptables: the chain their rules jump to, when this config file's record says. */
  formerChain?: string;
  /** nftables: the table that holds their counters, when this config file's record says. */
  formerTable?: string;
  /** The config file the record names, if there is a record: another one shares this state directory. */
  owner?: string;
}

/** What `files`' record tells config file `config` (its path, links resolved). */
export function installedFor(files: StateFiles, config: string): InstalledFor {
  const record = readInstalled(files);
  if (!record) return { former: new Set() };
  if (record.config !== config) return { former: new Set(), owner: record.config };
  const mine: InstalledFor = { former: new Set(record.columns), owner: record.config };
  if (record.chain !== undefined) mine.formerChain = record.chain;
  if (record.table !== undefined) mine.formerTable = record.table;
  return mine;
}
