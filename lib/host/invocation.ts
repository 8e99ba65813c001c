/**
 * How the user runs netmon, for the commands a message tells them to run:
 * from its sources with `deno task netmon …` (deno.json's task), or as the
 * compiled binary `netmon …` (`deno task compile`, installed as netmon).
 *
 * @module
 */

import { NetmonError } from "./errors.ts";
import { shellWord } from "./shell_word.ts";

/** netmon's own directory (deno.json, netmon.ts, graph.ts). */
export const ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** True in a binary built by `deno compile`, whose modules live under a `deno-compile-` root. */
export const COMPILED: boolean = /\/deno-compile-/.test(import.meta.url);

/** The config and state directory a run was given (`-c`, `-s`), for the commands it tells the user to run. */
export interface RunWith {
  /** The config file named with `-c`. */
  config?: string | undefined;
  /** The state directory named with `-s`. */
  stateDir?: string | undefined;
}

/**
 * What a run given `-c`/`-s` (`options`, as parsed) names in the commands it
 * prints: each made absolute, as `deno task` runs in netmon's directory.
 *
 * @example
 * ```ts
 * runWith({ config: "n.toml" }); // { config: `${Deno.cwd()}/n.toml`, stateDir: undefined }
 * ```
 */
export function runWith(options: { config?: string | undefined; stateDir?: string | undefined }): RunWith {
  const absolute = (p: string | undefined) => {
    if (p === undefined || p.startsWith("/")) return p;
    try {
      return `${Deno.cwd()}/${p}`;
    } catch {
      return p; // Deno refusing to tell the current directory: the path as given (it works from there)
    }
  };
  return { config: absolute(options.config), stateDir: absolute(options.stateDir) };
}

/**
 * The netmon command `words` as the user can run it: `deno task netmon
 * schedule --cron` from the sources, `netmon start` from a compiled binary
 * (schedule works from the sources only: a binary's permissions are fixed),
 * on the config and state directory this run was `given`, so that it acts on
 * what this run looked at rather than on the default.
 *
 * @example
 * ```ts
 * netmonCommand("start"); // "deno task netmon start" (from the sources)
 * netmonCommand("start", { config: "/srv/n.toml" }); // "deno task netmon start -c /srv/n.toml"
 * ```
 */
export function netmonCommand(words: string, given: RunWith = {}): string {
  const on = [
    ...(given.config === undefined ? [] : ["-c", shellWord(given.config)]),
    ...(given.stateDir === undefined ? [] : ["-s", shellWord(given.stateDir)]),
  ].map((w) => ` ${w}`).join("");
  return COMPILED && !/^schedule\b/.test(words) ? `netmon ${words}${on}` : `deno task netmon ${words}${on}`;
}

/**
 * Words for the user that name netmon commands (`start`), said where the run
 * is not known (a counter source): `netmon` names one (`"start"`) as the user
 * of the run they are said to runs it, see {@linkcode advise}.
 */
export type Advice = (netmon: (words: string) => string) => string;

/**
 * `text` as said to the user of a run `given` -c/-s: each netmon command it
 * names as {@linkcode netmonCommand} does, so that it acts on what the run
 * looked at rather than on the default config.
 *
 * @example
 * ```ts
 * advise((netmon) => `run '${netmon("start")}'`, { config: "/srv/n.toml" }); // "run 'deno task netmon start -c /srv/n.toml'"
 * ```
 */
export function advise(text: string | Advice, given: RunWith = {}): string {
  return typeof text === "string" ? text : text((words) => netmonCommand(words, given));
}

/**
 * A failure whose fix is a netmon command, found where the command line is
 * not known (a counter source): the command line says it to the user with
 * {@linkcode advise}, naming the command with the run's -c and -s. Its own
 * message names the command without them.
 */
export class AdvisedError extends NetmonError {
  /** The message, as said to a run. */
  readonly advice: Advice;
  constructor(advice: Advice, exitCode: number) {
    super(advise(advice), exitCode);
    this.name = "AdvisedError";
    this.advice = advice;
  }
}

/**
 * `e` as said to the user of a run given `options`' -c/-s: an {@linkcode AdvisedError}'s message names its command
 * so ({@linkcode runWith} is worked out only for one).
 */
export function adviseError<E>(
  e: E,
  options: { config?: string | undefined; stateDir?: string | undefined },
): E | NetmonError {
  return e instanceof AdvisedError ? new NetmonError(advise(e.advice, runWith(options)), e.exitCode, { cause: e }) : e;
}
