/**
 * A small strict command-line parser: long and short options, `--opt=value`,
 * grouped short booleans, repeated options, `--` to end options. Kept instead
 * of `node:util`'s `parseArgs` because loading that costs about 6 ms on every
 * run (measured against an empty `deno run`).
 *
 * @module
 */

import { UsageError } from "../host/errors.ts";

/** One option the command line may carry. */
export interface OptionSpec {
  /** Long name, without `--`. */
  name: string;
  /** One-letter short name, without `-`. */
  short?: string;
  /** A flag, or an option taking a value. */
  type: "boolean" | "string";
  /** May be given more than once (values collect in an array). */
  multiple?: boolean;
}

/** What was parsed. */
export interface ParsedArgs {
  /** Option values by long name: `true` for flags, strings (or arrays) for the rest. */
  values: Record<string, string | boolean | string[]>;
  /** Arguments that are not options, in order. */
  positionals: string[];
}

/**
 * Parses `args` against `specs`; throws UsageError for an unknown option or
 * a missing value.
 *
 * @example
 * ```ts
 * parseCommandArgs(["report", "-c", "x.toml"], [{ name: "config", short: "c", type: "string" }]);
 * // { values: { config: "x.toml" }, positionals: ["report"] }
 * ```
 */
export function parseCommandArgs(args: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const values: ParsedArgs["values"] = {};
  const positionals: string[] = [];
  const set = (spec: OptionSpec, value: string | true) => {
    if (spec.multiple && typeof value === "string") {
      const list = values[spec.name];
      values[spec.name] = Array.isArray(list) ? [...list, value] : [value];
    } else values[spec.name] = value;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const spec = specs.find((s) => s.name === name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
      if (spec.type === "boolean") {
        if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
        set(spec, true);
      } else if (eq >= 0) set(spec, arg.slice(eq + 1));
      else {
        const value = args[i + 1];
        if (value === undefined || (value.startsWith("-") && value !== "-")) {
          throw new UsageError(`option --${name} needs a value`);
        }
        set(spec, value);
        i++;
      }
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      for (let k = 1; k < arg.length; k++) {
        const spec = specs.find((s) => s.short === arg[k]);
        if (!spec) throw new UsageError(`unknown option -${arg[k]}`);
        if (spec.type === "boolean") {
          set(spec, true);
          continue;
        }
        const rest = arg.slice(k + 1);
        const value = rest !== "" ? rest : args[i + 1];
        if (value === undefined || (rest === "" && value.startsWith("-") && value !== "-")) {
          throw new UsageError(`option --${spec.name} needs a value`);
        }
        if (rest === "") i++;
        set(spec, value);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { values, positionals };
}
