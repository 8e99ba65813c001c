/**
 * graph.ts's options: the one list its parser and doctor's look at a
 * scheduled graph line (lib/doctor/run_lines.ts) read.
 *
 * @module
 */

import type { OptionSpec } from "./args.ts";

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
