/**
 * The commands that look at or change the firewall: `start`, `stop`, `status`, `pf-conf`.
 *
 * @module
 */

import { runCommand } from "../host/run.ts";
import { err, findConfig, findStateDir, out } from "./context.ts";
import { stateFiles } from "../state/files.ts";
import { recordingStart } from "../state/started.ts";
import { EX, NetmonError } from "../host/errors.ts";
import { selectSource } from "../sources/select.ts";
import type { Plan } from "../sources/source.ts";
import { humanReadable } from "../usage/units.ts";
import type { Options } from "./commands.ts";

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

/** `netmon start` and `netmon stop`: plans the firewall change and runs it, or prints it with --dry-run. */
export async function change(opts: Options): Promise<void> {
  const config = findConfig(opts.config);
  const source = await selectSource(config, runCommand);
  const plan = opts.command === "start" ? await source.planStart() : await source.planStop();
  if (!opts.dryRun) {
    const run = async () => {
      for (const c of plan.commands) await runCommand(c.path, c.args, c.stdin);
    };
    // Rules made afresh count from zero: the next report must know, whatever their counters say.
    if (plan.recreates?.length) {
      await recordingStart(stateFiles(findStateDir(opts.stateDir, config)), plan.recreates, run);
    } else await run();
  }
  out(describePlan(plan, opts.dryRun));
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ") + "\n")
    .join("");
}

/** `netmon status`: each meter's rule and counters now. */
export async function status(opts: Options): Promise<number> {
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

/** `netmon pf-conf`: prints the labelled pf.conf rules. */
export async function pfConfCommand(opts: Options): Promise<number> {
  const config = findConfig(opts.config);
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
