/**
 * What a cron or systemd line really runs: its program, the netmon command
 * and options (parsed by the command table), the config file and state
 * directory it works on, and the Deno permissions it grants. Pure: text in,
 * data out; doctor's schedule check reads the files and compares.
 *
 * @module
 */

import { parseCommandLine } from "../cli/commands.ts";
import { parseCommandArgs } from "../cli/args.ts";
import { GRAPH_OPTIONS, graphWrites } from "../cli/graph_options.ts";
import { type Granted, grantedBy } from "../config/permissions.ts";
import type { Options } from "../cli/commands.ts";

/** A scheduled command as found: where, as whom, with which environment. */
export interface Entry {
  /** `cron FILE:LINE` or `systemd UNIT`. */
  where: string;
  /** The command line. */
  command: string;
  /** Variables set for it (crontab assignments, systemd Environment=). */
  env: Record<string, string>;
  /** The user it runs as. */
  user: string;
  /** systemd: whether its timer (or, run at boot, its service) is enabled. */
  enabled?: boolean;
  /** Run once at boot, not on a schedule: a cron `@reboot` line, or a service a target wants (its `WantedBy=`). */
  atBoot?: boolean;
}

/** A line that runs netmon (or, with {@linkcode GraphOptions}, its graph), parsed. */
export interface RunLine<O = Options> {
  /** The program as written (absolute, or a name found through PATH). */
  program: string;
  /** How netmon is started: `deno run`, `deno task`, or a compiled binary. */
  kind: "deno-run" | "deno-task" | "binary";
  /** The directory it changes to first (`cd DIR && …`). */
  cwd?: string;
  /** Deno's flags (for a task, those of the task's command in deno.json). */
  denoFlags: string[];
  /** netmon's own arguments. */
  args: string[];
  /** The parsed netmon command line, or why it does not parse. */
  opts: O | string;
  /** Variables set on the line itself or for it. */
  env: Record<string, string>;
}

/** Words of one shell command line, split at `;`, `&&`, `||` and `|` into simple commands; quotes honoured. */
export function shellCommands(line: string): string[][] {
  const commands: string[][] = [[]];
  let word: string | undefined;
  const end = () => {
    if (word !== undefined) commands.at(-1)?.push(word);
    word = undefined;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "'") {
      const close = line.indexOf("'", i + 1);
      word = (word ?? "") + line.slice(i + 1, close < 0 ? line.length : close);
      i = close < 0 ? line.length : close;
    } else if (c === '"') {
      let j = i + 1;
      let text = "";
      for (; j < line.length && line[j] !== '"'; j++) text += line[j] === "\\" ? line[++j] ?? "" : line[j];
      word = (word ?? "") + text;
      i = j;
    } else if (c === "\\") word = (word ?? "") + (line[++i] ?? "");
    else if (/\s/.test(c)) end();
    else if (c === ";" || c === "&" || c === "|") {
      end();
      if (line[i + 1] === c) i++;
      if ((commands.at(-1)?.length ?? 0) > 0) commands.push([]);
    } else if ((c === ">" || c === "<") || (/\d/.test(c) && word === undefined && /^\d+[<>]/.test(line.slice(i)))) {
      // A redirection and its target are no one's argument.
      end();
      const m = /^\d*[<>]+&?\s*(\S+)?/.exec(line.slice(i)) as RegExpExecArray;
      i += m[0].length - 1;
    } else word = (word ?? "") + c;
  }
  end();
  return commands.filter((c) => c.length > 0);
}

/** deno run options that take their value as the next word. */
const SEPARATE_VALUE = new Set(["--config", "-c", "--lock", "--import-map", "--cert", "--location", "--seed", "--ext"]);
const NETMON_SCRIPT = /(^|\/)netmon(\.ts|\.js)?$/;
/** graph.ts, or the binary the compile task builds of it. */
const GRAPH_SCRIPT = /(^|\/)(graph\.(ts|js)|netmon-graph)$/;

/**
 * Parses a scheduled command: the netmon it runs and how, or undefined when
 * it runs no netmon. `tasks` are netmon's deno.json tasks (for `deno task`).
 */
export function parseRunLine(command: string, tasks: Record<string, string>): RunLine | undefined {
  const found = findRun(command, tasks, NETMON_SCRIPT);
  return found && { ...found, opts: parse(found.args) };
}

/** What graph.ts's command line says of where it reads and writes (the rest is not doctor's business). */
export interface GraphOptions {
  config?: string;
  stateDir?: string;
  /** The files -o, --plot, --gnuplot have it write (graphWrites: ./netmon_graph.dat without -o, unless --html alone). */
  outputs: string[];
  /** --html DIR. */
  html?: string;
  /** The log named (LOG), if any: else netmon.log in the state directory. */
  log?: string;
  /** --help or --version: it draws nothing. */
  informational: boolean;
}

/** Parses a scheduled command that runs graph.ts (or the netmon-graph binary), or undefined when it runs none. */
export function parseGraphLine(command: string, tasks: Record<string, string>): RunLine<GraphOptions> | undefined {
  const found = findRun(command, tasks, GRAPH_SCRIPT);
  if (!found) return undefined;
  let opts: GraphOptions | string;
  try {
    const { values, positionals } = parseCommandArgs(found.args, GRAPH_OPTIONS);
    const str = (name: string) => typeof values[name] === "string" ? values[name] as string : undefined;
    const html = str("html");
    const outputs = graphWrites(values).filter((o) => o !== "-");
    opts = {
      ...(str("config") !== undefined ? { config: str("config") as string } : {}),
      ...(str("state-dir") !== undefined ? { stateDir: str("state-dir") as string } : {}),
      outputs,
      ...(html !== undefined ? { html } : {}),
      ...(positionals[0] !== undefined ? { log: positionals[0] } : {}),
      informational: values.help === true || values.version === true,
    };
  } catch (err) {
    opts = (err as Error).message;
  }
  return { ...found, opts };
}

/** The first simple command of `command` that runs `script` (by deno run, deno task or as a binary), unparsed. */
function findRun(
  command: string,
  tasks: Record<string, string>,
  script: RegExp,
): Omit<RunLine, "opts"> | undefined {
  let cwd: string | undefined;
  for (const words of shellCommands(command)) {
    if (words[0] === "cd" && words[1] !== undefined) {
      cwd = words[1];
      continue;
    }
    const env: Record<string, string> = {};
    let at = 0;
    if (words[0] === "env") at++;
    for (; at < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[at] as string); at++) {
      const w = words[at] as string;
      env[w.slice(0, w.indexOf("="))] = w.slice(w.indexOf("=") + 1);
    }
    const program = words[at];
    if (program === undefined) continue;
    const rest = words.slice(at + 1);
    const base = { program, env, ...(cwd !== undefined ? { cwd } : {}) };
    if (/(^|\/)deno$/.test(program) && rest[0] === "task") {
      const name = rest.slice(1).find((w) => !w.startsWith("-"));
      const task = name === undefined ? undefined : tasks[name];
      if (name === undefined || task === undefined) continue;
      const taskWords = task.split(" ");
      const at = taskWords.findIndex((w) => script.test(w));
      if (at < 0) continue;
      const args = [...taskWords.slice(at + 1), ...rest.slice(rest.indexOf(name) + 1)];
      return { ...base, kind: "deno-task", denoFlags: taskWords.slice(2, at), args };
    }
    if (/(^|\/)deno$/.test(program) && rest[0] === "run") {
      const flags: string[] = [];
      let i = 1;
      for (; i < rest.length && (rest[i] as string).startsWith("-"); i++) {
        flags.push(rest[i] as string);
        if (SEPARATE_VALUE.has(rest[i] as string) && rest[i + 1] !== undefined) flags.push(rest[++i] as string);
      }
      if (!script.test(rest[i] ?? "")) continue;
      return { ...base, kind: "deno-run", denoFlags: flags, args: rest.slice(i + 1) };
    }
    if (script.test(program)) return { ...base, kind: "binary", denoFlags: [], args: rest };
  }
  return undefined;
}

function parse(args: string[]): Options | string {
  try {
    return parseCommandLine(args);
  } catch (err) {
    return (err as Error).message;
  }
}

/** True when the parsed line runs the report (not help, a version, a mail test or another command). */
export function isReport(line: RunLine): boolean {
  const o = line.opts;
  return typeof o !== "string" && o.command === "report" && !o.help && !o.version && !o.mailTest;
}

/** What a line's command is, in words: `netmon pf-conf`, or why its arguments do not parse. */
export function describeCommand(line: RunLine): string {
  const o = line.opts;
  if (typeof o === "string") return `netmon with arguments it refuses (${o})`;
  if (o.help || o.command === "help") return "netmon's help";
  if (o.version) return "netmon --version";
  if (o.mailTest) return "netmon --mail-test";
  return `netmon ${o.command}`;
}

/** The Deno permissions a `deno run` or `deno task` line grants (undefined: a set not in `sets`, or a binary). */
export function lineGrants(line: RunLine<unknown>, sets: Record<string, Record<string, unknown>>): Granted | undefined {
  if (line.kind === "binary") return undefined;
  return grantedBy(line.denoFlags, sets);
}

/** `path` made absolute against `cwd` (a cron job starts in the user's home: unknown, so left relative). */
export function absoluteFrom(path: string, cwd: string | undefined): string {
  if (path.startsWith("/") || cwd === undefined) return path;
  return `${cwd.replace(/\/+$/, "")}/${path}`;
}

/** The 2010 scripts netmon replaces: the meter and its graph. */
export const ORIGINAL_SCRIPTS = ["network_monitor.py", "netmon_graph.py"] as const;

/** A line that runs one of the 2010 scripts. */
export interface OriginalLine {
  /** Which script. */
  script: typeof ORIGINAL_SCRIPTS[number];
  /** Its arguments (network_monitor.py's command; netmon_graph.py's log). */
  args: string[];
  /** The directory it changes to first (`cd DIR && …`). */
  cwd?: string;
}

/**
 * Parses a scheduled command that runs network_monitor.py or netmon_graph.py
 * (by path, by name through PATH, or through `python`/`env python`), or
 * undefined when it runs neither.
 */
export function parseOriginalLine(command: string): OriginalLine | undefined {
  let cwd: string | undefined;
  for (const words of shellCommands(command)) {
    if (words[0] === "cd" && words[1] !== undefined) {
      cwd = words[1];
      continue;
    }
    let at = 0;
    const skip = () => {
      while (at < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[at] as string)) at++;
    };
    if (/(^|\/)env$/.test(words[0] ?? "")) at++;
    skip();
    if (/(^|\/)env$/.test(words[at] ?? "")) {
      at++;
      skip();
    }
    // An interpreter and its options: the script is the first word after them.
    if (/(^|\/)python[\d.]*$/.test(words[at] ?? "")) {
      at++;
      while (at < words.length && (words[at] as string).startsWith("-")) at++;
    }
    const name = (words[at] ?? "").slice((words[at] ?? "").lastIndexOf("/") + 1);
    const script = ORIGINAL_SCRIPTS.find((s) => s === name);
    if (script) return { script, args: words.slice(at + 1), ...(cwd !== undefined ? { cwd } : {}) };
  }
  return undefined;
}
