/**
 * Where the state directory is, the names of the files in it, and what
 * lib/host/dir_trust.ts checks of it, with the fix that moves it to root's.
 *
 * @module
 */

import { EX, fileError, NetmonError } from "../host/errors.ts";
import { withExactMode } from "../host/safe_open.ts";
import { type Checked, ownedByOther } from "../host/dir_trust.ts";
import { shellWord } from "../host/shell_word.ts";
import { getEnv, getUid } from "../host/env.ts";

/** Root's state directory, the default for root, where a state kept in a user's directory goes. */
export const ROOT_STATE_DIR = "/var/lib/netmon";

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

/**
 * The state directory's files replaced (a temporary written beside one, then renamed over it) only with the state
 * lock held: a temporary of one that a run finds with the lock held is a killed run's. (netmon.status is replaced
 * after the lock is let go; netmon.cycles, netmon.sent and the config cache tidy their own.)
 */
export const REPLACED_UNDER_LOCK: ReadonlySet<string> = new Set([
  "netmon.last",
  "netmon.totals",
  "netmon.installed",
  "netmon.zone",
]);

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
 * Resolves the state directory: flag, env, config, then {@linkcode ROOT_STATE_DIR} for
 * root and `$XDG_STATE_HOME/netmon` or `~/.local/state/netmon` for others.
 */
export function resolveStateDir(i: StateDirInputs): string {
  const chosen = i.flag ?? i.env ?? i.config;
  if (chosen !== undefined && chosen !== "") return chosen;
  if (i.uid() === 0) return ROOT_STATE_DIR;
  const xdg = i.xdgStateHome();
  if (xdg) return `${xdg}/netmon`;
  const home = i.home();
  if (!home) {
    throw new NetmonError("No state directory: set --state-dir, NETMON_STATE_DIR or HOME", EX.CONFIG);
  }
  return `${home}/.local/state/netmon`;
}

/**
 * The state directory as far as `--state-dir`, `NETMON_STATE_DIR` and the
 * user's default tell it, before the config is read (the config may name
 * another); undefined when they cannot tell (no HOME), or when telling would
 * need a permission this run lacks: it reads only what Deno grants without
 * asking, so a run from a terminal is never prompted for it. `configured`:
 * the config's `state_dir`, where the config was read (a refusal's line).
 */
export function stateDirBeforeConfig(flag: string | undefined, configured?: string): string | undefined {
  const may = (d: Deno.PermissionDescriptor) => Deno.permissions.querySync(d).state === "granted";
  const env = (name: string) => {
    if (!may({ name: "env", variable: name })) throw new Error(`not granted: ${name}`);
    return getEnv(name);
  };
  try {
    return resolveStateDir({
      flag,
      env: flag === undefined ? env("NETMON_STATE_DIR") : undefined,
      config: configured,
      uid: () => {
        if (!may({ name: "sys", kind: "uid" })) throw new Error("not granted: uid");
        return getUid();
      },
      xdgStateHome: () => env("XDG_STATE_HOME"),
      home: () => env("HOME"),
    });
  } catch {
    return undefined;
  }
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

/** The state directory: what is planted there is refused (safe_open.ts); the first run makes it. */
export const STATE_DIR: Checked = {
  what: "state directory",
  threat: "plant links or FIFOs",
  meanwhile: "netmon refuses them, but fix it",
  mayBeMissing: true,
  ownedFix: moveStateFix, // a user's directory is theirs, not to be handed to root
};

/**
 * The state directory of a run as root: refused when another user can write
 * it (not sticky) or put another in its place. There root would remove,
 * rename and write by name in whatever directory is there at the instant
 * (the spool: settling, tidying, delivering), which no check of a file can
 * make safe. A sticky one (like /tmp) is only warned of: its files are
 * root's, and no other user can rename or remove them.
 */
export const STATE_DIR_AS_ROOT: Checked = { ...STATE_DIR, refuse: "unless sticky" };

/** How the state directory of a run as user `uid` is checked: {@linkcode STATE_DIR_AS_ROOT} for root. */
export function stateDirChecked(uid: number | null): Checked {
  return uid === 0 ? STATE_DIR_AS_ROOT : STATE_DIR;
}

/**
 * The fix for root's state directory `dir` in a directory user `owner` owns
 * (their home, the bin directory the 2010 network_monitor.py kept its files in):
 * not to hand that user's directory to root, but to move the state to
 * {@linkcode ROOT_STATE_DIR}, by a whole command the next run accepts: the
 * files and the spool moved and made root's (moved files keep the user as
 * owner, and their umask's group write, and other users' read: the modes of
 * the state directory, 0750, and its files, 0640, are made); a relative
 * SQLite store named otherwise is said. The command overwrites nothing: its
 * `mkdir` (no -p) stops it before anything is moved where
 * {@linkcode ROOT_STATE_DIR} is there already, as it is after the quick start,
 * and then says what to do. undefined where that is not the fix: not root,
 * `owner` root (or not known), or the state directory is root's own already.
 */
export function moveStateFix(dir: string, uid: number, owner: number | null): string | undefined {
  const to = ROOT_STATE_DIR;
  if (uid !== 0 || !ownedByOther(owner, uid) || dir === to || dir.startsWith(`${to}/`)) return undefined;
  const spool = shellWord(`${dir}/spool`);
  return `keep the state in a directory of root's, not a user's: mkdir -m 0750 ${to} && mv ${
    shellWord(dir)
  }/netmon.* ` +
    `${to}/ && { [ ! -e ${spool} ] || mv ${spool} ${to}/; } && chown -R root:root ${to} && chmod -R g-w,o= ${to}, ` +
    `then drop state_dir from the config and --state-dir, or set them to ${to} (a relative SQLite store not named ` +
    `netmon.*: move it there too, or give store an absolute path; where ${to} is there already, mkdir stops it ` +
    `before anything is moved: rename it (mv ${to} ${to}.old) and run it again, or merge the two by hand)`;
}
