/**
 * graph.ts's options: the one list its parser and doctor's look at a
 * scheduled graph line (lib/doctor/run_lines.ts) read, and what they have it
 * write ({@linkcode graphWrites}).
 *
 * @module
 */

import type { OptionSpec, ParsedArgs } from "./args.ts";

/** Where graph.ts writes the data without -o: the original's name, in the directory it runs in. */
export const GRAPH_DATA = "netmon_graph.dat";

/**
 * What a graph.ts run with the options `values` (as parsed with {@linkcode GRAPH_OPTIONS}) writes besides the pages
 * of --html: the data (-o, else ./netmon_graph.dat), --plot's picture and --gnuplot's script, "-" being standard
 * output; nothing when --html comes without -o, --plot or --gnuplot (the pages alone).
 */
export function graphWrites(values: ParsedArgs["values"]): string[] {
  const str = (name: string) => typeof values[name] === "string" ? values[name] as string : undefined;
  const [output, plot, gnuplot] = [str("output"), str("plot"), str("gnuplot")];
  if (str("html") !== undefined && output === undefined && plot === undefined && gnuplot === undefined) return [];
  return [output ?? GRAPH_DATA, plot, gnuplot].filter((o): o is string => o !== undefined);
}

/** Every option graph.ts takes. */
export const GRAPH_OPTIONS: OptionSpec[] = [
  { name: "output", short: "o", type: "string" },
  { name: "by", short: "b", type: "string" },
  { name: "unit", short: "u", type: "string" },
  { name: "rate", short: "r", type: "string" },
  { name: "group", short: "g", type: "string", multiple: true },
  { name: "customers", type: "boolean" },
  { name: "no-other", type: "boolean" },
  { name: "gnuplot", type: "string" },
  { name: "plot", short: "p", type: "string" },
  { name: "size", type: "string" },
  { name: "title", type: "string" },
  { name: "log", type: "boolean" },
  { name: "from", type: "string" },
  { name: "to", type: "string" },
  { name: "html", type: "string" },
  { name: "strict", type: "boolean" },
  { name: "config", short: "c", type: "string" },
  { name: "state-dir", short: "s", type: "string" },
  { name: "help", short: "h", type: "boolean" },
  { name: "version", short: "V", type: "boolean" },
];
