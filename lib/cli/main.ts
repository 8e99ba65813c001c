/**
 * netmon's command line: parse, then hand each command to its module. Only the entry point (netmon.ts) exits.
 *
 * @module
 */

import { out, reportFailure } from "./context.ts";
import { EX } from "../host/errors.ts";
import {
  COMMAND_INFO,
  COMMANDS,
  COMMON_OPTIONS,
  HELP,
  OPTIONS,
  type Options,
  parseCommandLine,
  VERSION,
} from "./commands.ts";

/** `netmon completions bash|zsh`. */
export async function completions(opts: Options): Promise<number> {
  const { bashCompletion, zshCompletion } = await import("./completions.ts");
  const spec = {
    program: "netmon",
    commands: Object.values(COMMAND_INFO),
    common: COMMON_OPTIONS,
    options: OPTIONS,
  };
  out(opts.topic === "zsh" ? zshCompletion(spec) : bashCompletion(spec));
  return EX.OK;
}

/**
 * The help a usage mistake points at: the named command's own (where its
 * options are), else netmon's; the command is the first word naming one.
 */
function helpFor(args: readonly string[]): string {
  const command = args.filter((a) => !a.startsWith("-")).map((a) => COMMANDS[a.toLowerCase()]).find((c) => c);
  return command && command !== "help" ? `netmon ${command}` : "netmon";
}

/** Runs netmon with `args`; returns the exit status. */
export function main(args: string[]): Promise<number> {
  return reportFailure("netmon", helpFor(args), async (parsed) => {
    const opts = parseCommandLine(args);
    parsed({
      config: opts.config,
      stateDir: opts.stateDir,
      task: { command: opts.command, noMail: opts.noMail, dryRun: opts.dryRun, store: opts.store },
    });
    if (opts.version) {
      out(`netmon ${VERSION} (deno ${Deno.version.deno})\n`);
      return EX.OK;
    }
    if (opts.help || opts.command === "help") {
      out(HELP[opts.topic ?? (opts.command === "help" ? "main" : opts.command)] + "\n");
      return EX.OK;
    }
    // Each command's module is loaded when it runs: a report loads no doctor, help and --version load neither.
    switch (opts.command) {
      case "report":
        return await (await import("./report.ts")).report(opts);
      case "status":
        return await (await import("./firewall.ts")).status(opts);
      case "pf-conf":
        return await (await import("./firewall.ts")).pfConfCommand(opts);
      case "import":
        return await (await import("./import.ts")).importCommand(opts);
      case "check":
        return await (await import("./check.ts")).check(opts, args);
      case "doctor":
        return await (await import("./doctor.ts")).doctor(opts, args);
      case "summary": {
        const { summary } = await import("./summary.ts");
        return await summary(opts);
      }
      case "completions":
        return await completions(opts);
      case "schedule":
        if (opts.remove) return await (await import("./unschedule.ts")).unschedule(opts);
        return await (await import("./schedule.ts")).schedule(opts);
      default:
        await (await import("./firewall.ts")).change(opts);
        return EX.OK;
    }
  }, args);
}
