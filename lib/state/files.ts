/**
 * Where the state directory is and the names of the files in it.
 *
 * @module
 */

import { EX, fileError, NetmonError } from "../host/errors.ts";
import { withExactMode } from "../host/safe_open.ts";

/** Paths of the files in a state directory. */
export interface StateFiles {
  /** The directory. */
  dir: string;
  /** `netmon.log`: one line per sample, append-only. */
  log: string;
  /** `netmon.last`: the previous sample and the total-start stamp. */
  last: string;
  /** `netmon.lock`: held while a run records its sample. */
  lock: string;
}

/** The files of state directory `dir`. */
export function stateFiles(dir: string): StateFiles {
  const d = dir.replace(/\/+$/, "") || "/";
  return { dir: d, log: `${d}/netmon.log`, last: `${d}/netmon.last`, lock: `${d}/netmon.lock` };
}

/** Where the state directory is, from the first of these that is set. */
export interface StateDirInputs {
  /** `--state-dir`. */
  flag?: string | undefined;
  /** `NETMON_STATE_DIR`. */
  env?: string | undefined;
  /** `state_dir` in the config. */
  config?: string | undefined;
  /** The user id, for the default. */
  uid: () => number | null;
  /** `XDG_STATE_HOME`. */
  xdgStateHome: () => string | undefined;
  /** `HOME`. */
  home: () => string | undefined;
}

/**
 * Resolves the state directory: flag, env, config, then `/var/lib/netmon` for
 * root and `$XDG_STATE_HOME/netmon` or `~/.local/state/netmon` for others.
 */
export function resolveStateDir(i: StateDirInputs): string {
  const chosen = i.flag ?? i.env ?? i.config;
  if (chosen !== undefined && chosen !== "") return chosen;
  if (i.uid() === 0) return "/var/lib/netmon";
  const xdg = i.xdgStateHome();
  if (xdg) return `${xdg}/netmon`;
  const home = i.home();
  if (!home) {
    throw new NetmonError("No state directory: set --state-dir, NETMON_STATE_DIR or HOME", EX.CONFIG);
  }
  return `${home}/.local/state/netmon`;
}

/** Creates the state directory (mode 0750) if it is missing. */
export function ensureStateDir(files: StateFiles): void {
  try {
    withExactMode(0o750, () => Deno.mkdirSync(files.dir, { recursive: true, mode: 0o750 }));
  } catch (err) {
    throw fileError(err, "create state directory", files.dir);
  }
}

/** Mode of the state files: root's, readable by its group (e.g. a web server's, for graphs), no one else. */
export const STATE_MODE = 0o640;
