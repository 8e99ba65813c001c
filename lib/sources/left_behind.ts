/**
 * What a config's start under its other firewall source (iptables or
 * nftables) installed that is still there: after a switch of source done in
 * the wrong order (the config edited before `stop`), or by a `start` alone,
 * the old source's rules or table count on, unseen by the new source. The
 * state directory's record keeps it (`Installed.left`, lib/state/installed.ts)
 * while it is there, so that `start`, `stop`, `status` and `doctor` go on
 * naming it, with the command that removes it, however many starts come
 * after.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { noSuchObject, runCommand, type Runner } from "../host/run.ts";
import type { Advice } from "../host/invocation.ts";
import { configIdentity, type InstalledFor, installedFor, type Leftover } from "../state/installed.ts";
import { stateFiles } from "../state/files.ts";
import { NetmonError } from "../host/errors.ts";
import { firstThree } from "./source.ts";

/**
 * The other source's leftover that `record` (this config's, or undefined)
 * names, by what `config`'s source is: an nftables table under iptables, an
 * iptables chain under nftables; from the record's own place (the last start
 * was under the other source) or its `left` line. Only what is still there
 * (`run` looks, with the config's binaries); undefined otherwise.
 */
export async function leftBehind(
  config: Config,
  record: InstalledFor | undefined,
  run: Runner,
): Promise<Leftover | undefined> {
  if (!record) return undefined;
  const columns = [...record.former];
  let left: Leftover | undefined;
  if (config.source === "iptables") {
    left = record.formerTable !== undefined ? { table: record.formerTable, columns } : record.left;
    if (left?.table === undefined) return undefined;
    return await tableThere(config, left.table, run) ? left : undefined;
  }
  if (config.source === "nftables") {
    left = record.formerChain !== undefined ? { chain: record.formerChain, columns } : record.left;
    if (left?.chain === undefined) return undefined;
    return await chainThere(config, left.chain, run) ? left : undefined;
  }
  return undefined;
}

/**
 * Whether table inet `name` exists; taken as there when nft fails otherwise
 * or cannot be run (at worst it is said once more, and never removed).
 */
async function tableThere(config: Config, name: string, run: Runner): Promise<boolean> {
  try {
    await run(config.binaries.nft, ["list", "table", "inet", name]);
    return true;
  } catch (err) {
    return !noSuchObject(err);
  }
}

/** Whether chain `name` exists in either family's filter table, as far as their save programs can be run. */
async function chainThere(config: Config, name: string, run: Runner): Promise<boolean> {
  for (const save of [config.binaries.iptablesSave, config.binaries.ip6tablesSave]) {
    try {
      const { stdout } = await run(save, ["-t", "filter"]);
      if (stdout.split("\n").some((l) => l.startsWith(`:${name} `))) return true;
    } catch {
      // Not readable here (no IPv6, a program missing or not permitted): the other family may say.
    }
  }
  return false;
}

/** `a, b, c and 2 more`. */
function shown(columns: readonly string[]): string {
  return columns.length === 0 ? "" : ` (meter${columns.length === 1 ? "" : "s"} ${firstThree(columns)})`;
}

/** What removes the leftover: `nft delete table inet T`, or netmon's stop under the other source. */
export function leftFix(left: Leftover): Advice {
  const table = left.table;
  return table !== undefined
    ? () => `nft delete table inet ${table}`
    : (netmon) => `'${netmon("stop")}' with source = "iptables" in the config`;
}

/**
 * The leftover said: what it is, that it counts on, and the command that
 * removes it ({@linkcode leftFix}). `lead` ("leave ", for start and stop)
 * goes first.
 */
export function leftNote(left: Leftover, lead = ""): Advice {
  const fix = leftFix(left);
  if (left.table !== undefined) {
    return (netmon) =>
      `${lead}table inet ${left.table}, which this config's start under source = "nftables" installed${
        shown(left.columns)
      }: it counts on; delete it with '${fix(netmon)}'`;
  }
  return (netmon) =>
    `${lead}the iptables rules this config's start under source = "iptables" installed (chain ${left.chain}${
      shown(left.columns).replace(/^ \(/, ", ").replace(/\)$/, "")
    }): they count on; remove them with ${fix(netmon)}`;
}

/**
 * {@linkcode leftBehind} of config file `config` in state directory `dir`
 * (for status and doctor): undefined, as if none, where the directory or its
 * record cannot be told, read or believed (they say so elsewhere, or start
 * does).
 */
export async function leftIn(
  config: Config,
  dir: () => string,
  run: Runner = runCommand,
): Promise<Leftover | undefined> {
  if (config.file === undefined) return undefined;
  try {
    return await leftBehind(config, installedFor(stateFiles(dir()), configIdentity(config.file)), run);
  } catch (err) {
    if (err instanceof NetmonError) return undefined;
    throw err;
  }
}
