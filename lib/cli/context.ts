/**
 * What both command-line programs (netmon.ts and graph.ts) share: finding the
 * config and the state directory the same way, and writing whole output.
 *
 * @module
 */

import { type Config, DEFAULT_CONFIG_PATH, defaultConfig, type DocumentCache, loadConfig } from "../config/config.ts";
import { exists, getEnv, getUid } from "../host/env.ts";
import { DenoDenied, NetmonError, UsageError } from "../host/errors.ts";
import { adviseError } from "../host/invocation.ts";
import { resolveStateDir } from "../state/files.ts";
import type { Given } from "./permission_line.ts";

const encoder = new TextEncoder();

function write(stream: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const data = encoder.encode(text);
  let done = 0;
  while (done < data.length) done += stream.writeSync(data.subarray(done));
}

/** Writes all of `text` to stdout. */
export const out = (text: string): void => write(Deno.stdout, text);
/** Writes all of `text` to stderr. */
export const err = (text: string): void => write(Deno.stderr, text);

/**
 * The config named by `--config`, else `NETMON_CONFIG` (empty: none), else
 * the default file if present, else the built-in every-interface default.
 */
export async function findConfig(flag: string | undefined, cache?: DocumentCache): Promise<Config> {
  const path = flag ?? getEnv("NETMON_CONFIG") ?? (defaultConfigThere() ? DEFAULT_CONFIG_PATH : undefined);
  return path === undefined || path === "" ? defaultConfig() : await loadConfig(path, cache);
}

/**
 * Whether the default config file is there; Deno refusing to look says that
 * it was only looked for, no config being named, and how to name one.
 */
function defaultConfigThere(): boolean {
  try {
    return exists(DEFAULT_CONFIG_PATH);
  } catch (e) {
    if (!(e instanceof DenoDenied)) throw e;
    throw new DenoDenied({
      kind: e.kind,
      what: e.what,
      note: "where netmon looks for a config when none is named",
      instead: "name yours with -c FILE (or NETMON_CONFIG=FILE; empty for none)",
    }, { cause: e.cause });
  }
}

/** The state directory from `--state-dir`, `NETMON_STATE_DIR`, the config, or the default for this user. */
export function findStateDir(flag: string | undefined, config: Config): string {
  return resolveStateDir({
    flag,
    env: flag === undefined ? getEnv("NETMON_STATE_DIR") : undefined,
    config: config.stateDir,
    uid: getUid,
    xdgStateHome: () => getEnv("XDG_STATE_HOME"),
    home: () => getEnv("HOME"),
  });
}

/**
 * Runs a CLI body; a NetmonError becomes its one-line message on stderr
 * (prefixed with `prog`; a usage error ends by pointing at `command --help`;
 * Deno refusing a permission gives the whole line that runs `prog` with
 * `args` and it, lib/cli/permission_line.ts; a netmon command that mends it
 * is named with the run's -c and -s, lib/host/invocation.ts) and its status.
 * `body` tells what its parsed command line gave (the `-c` and `-s` the
 * parser took), for those lines.
 */
export async function reportFailure(
  prog: string,
  command: string,
  body: (parsed: (given: Given) => void) => Promise<number>,
  args: readonly string[] = [],
): Promise<number> {
  let given: Given | undefined;
  try {
    return await body((g) => (given = g));
  } catch (thrown) {
    if (!(thrown instanceof NetmonError)) throw thrown;
    const e = adviseError(thrown, given ?? {});
    const hint = e instanceof UsageError ? ` (see '${command} --help')` : "";
    const message = e instanceof DenoDenied ? await deniedMessage(e, prog, args, given) : e.message;
    for (const line of message.split("\n")) err(`${prog}: ${line}${hint}\n`);
    return e.exitCode;
  }
}

/** A refusal's line, with the whole run line that gets past it where the process can tell it. */
export async function deniedMessage(
  e: DenoDenied,
  prog: string,
  args: readonly string[],
  given?: Given,
): Promise<string> {
  return await (await import("./permission_line.ts")).deniedLine(e, prog, args, given);
}
