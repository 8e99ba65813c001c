/**
 * What netmon refuses to run with, as sshd's StrictModes does, checked
 * before a report (or an import) reads or writes anything: a config file,
 * a program the config names (`mail.sendmail`, a `[binaries]` path other
 * than the default), or a password or CA file it names (`password_file`,
 * `ca_file` of `[mail]` and `[postgresql]`), that another user owns or can
 * write, or could put another in place of; a SQLite store whose directory
 * another user can write (sticky or not); and, as root, a state directory
 * another user can write (unless only by its sticky bit) or put another in
 * place of. What else lib/host/dir_trust.ts finds is warned of, `[mail]
 * attach` among it ({@linkcode ATTACHMENT}).
 *
 * @module
 */

import type { Binaries, Config } from "./config.ts";
import { DEFAULT_BINARIES } from "./config.ts";
import { type Checked, CONFIG_FILE, dirsTrust, PROGRAM, STORE_DIR, TEXTFILE_DIR } from "../host/dir_trust.ts";
import { stateDirChecked } from "../state/files.ts";
import { dirOf } from "../host/safe_open.ts";
import { EX, NetmonError } from "../host/errors.ts";

/** Where the SQLite store is: `config.sqlite`, relative to the state directory `stateDir` unless absolute. */
export function sqlitePath(config: Config, stateDir: string): string | undefined {
  const path = config.sqlite;
  if (path === undefined) return undefined;
  return path.startsWith("/") ? path : `${stateDir}/${path}`;
}

/**
 * A password or CA file the config names (`what`: its key), read as root:
 * refused as the config file is. Whoever can change it, or put a link in
 * its place (netmon follows a link the configured path goes through),
 * chooses what netmon sends as the password, or the server it trusts with
 * the password and the figures (the CA file's is the only CA trusted). A
 * missing one fails when it is read, which says so.
 */
function secretFile(what: string, threat: string): Checked {
  return { ...CONFIG_FILE, what, threat, mayBeMissing: true };
}

/**
 * A file `[mail] attach` names, mailed with every report: only warned of.
 * Whoever can change it chooses a picture beside the figures, which come
 * from the log; the report goes on (a side output, as the textfile), and the
 * file itself is read as state files are (another user's file, a link or a
 * FIFO is left out, with a warning: lib/outputs/mail.ts).
 */
export const ATTACHMENT: Checked = {
  what: "mail.attach file",
  threat: "choose what netmon mails with every report",
  meanwhile: "the report goes on, but fix it",
  // A missing attachment is left out of the mail, which says so.
  mayBeMissing: true,
  file: true,
};

/** What another user could do through a password file: a link to another secret is followed. */
const SENT_AS_PASSWORD = "choose what netmon sends as the password (a link to another secret, say)";

/** What another user could do through a CA file: it is the only CA trusted for the server. */
const TRUSTED_SERVER = "choose the server netmon trusts with the password and the figures";

/** The files the config names that netmon reads: password and CA files (refused), attachments (warned of). */
export function namedFiles(config: Config): [string, Checked][] {
  const files: [string, Checked][] = [];
  for (const [key, section] of [["mail", config.mail], ["postgresql", config.fleet.postgres]] as const) {
    const password = section?.passwordFile, ca = section?.caFile;
    if (password !== undefined) files.push([password, secretFile(`${key}.password_file`, SENT_AS_PASSWORD)]);
    if (ca !== undefined) files.push([ca, secretFile(`${key}.ca_file`, TRUSTED_SERVER)]);
  }
  if (config.mail?.send.includes("report")) { for (const path of config.mail.attach) files.push([path, ATTACHMENT]); }
  return files;
}

/** Whether the config names the program `key` of `[binaries]`: not its default, so checked as a program. */
export function namesBinary(config: Config, key: keyof Binaries): boolean {
  return config.binaries[key] !== DEFAULT_BINARIES[key];
}

/** The programs the config names that netmon may run: sendmail, and `[binaries]` other than the defaults. */
export function namedPrograms(config: Config): string[] {
  const named = (Object.keys(config.binaries) as (keyof Binaries)[])
    .filter((k) => namesBinary(config, k))
    .map((k) => config.binaries[k]);
  if (config.mail?.transport === "sendmail") named.push(config.mail.sendmail);
  return [...new Set(named)];
}

/**
 * Every path a run with `config` and the state directory `stateDir`, as
 * user `uid`, depends on, with how it is checked (what is refused): the state
 * directory, the textfile's and the store's directories, what
 * {@linkcode programChecks} checks, and the files the config names.
 */
export function trustChecks(config: Config, stateDir: string, uid: number): [string, Checked][] {
  const checks: [string, Checked][] = [[stateDir, stateDirChecked(uid)]];
  if (config.fleet.textfile !== undefined) checks.push([dirOf(config.fleet.textfile), TEXTFILE_DIR]);
  const store = sqlitePath(config, stateDir);
  if (store !== undefined) checks.push([dirOf(store), STORE_DIR]);
  return [...checks, ...programChecks(config), ...namedFiles(config)];
}

/**
 * For a command that reads the config as root but records no sample
 * (`start`, `stop`, `status`, `schedule`, `pf-conf`): the config file's way
 * and the programs it names, and, for `start` and `stop`, the state
 * directory `state.dir` they lock and keep their record in, as a report
 * checks it for user `state.uid`, in one run of `stat` (none without any):
 * throws the first refusal, else resolves to the warnings.
 */
export async function refuseUntrustedPrograms(config: Config, state?: { dir: string; uid: number }): Promise<string[]> {
  return await refuseFound(programChecks(config, state));
}

/** What {@linkcode refuseUntrustedPrograms} checks, for a command that checks more in the same run of `stat`. */
export function programChecks(config: Config, state?: { dir: string; uid: number }): [string, Checked][] {
  return [
    ...(state !== undefined ? [[state.dir, stateDirChecked(state.uid)] as [string, Checked]] : []),
    ...(config.file !== undefined ? [[config.file, CONFIG_FILE] as [string, Checked]] : []),
    ...namedPrograms(config).map((p): [string, Checked] => [p, PROGRAM]),
  ];
}

/**
 * Checks {@linkcode trustChecks} in one run of `stat`: throws the first
 * refusal (exit 77, one line with the fix), else resolves to the warnings.
 */
export async function refuseUntrusted(
  config: Config,
  stateDir: string,
  uid: number,
  stat?: (dirs: readonly string[]) => Promise<string>,
): Promise<string[]> {
  return await refuseFound(trustChecks(config, stateDir, uid), stat);
}

/** `checks` in one run of `stat` (none for no checks): throws the first refusal, else resolves to the warnings. */
export async function refuseFound(
  checks: [string, Checked][],
  stat?: (dirs: readonly string[]) => Promise<string>,
): Promise<string[]> {
  const found = await dirsTrust(checks, stat);
  const refusal = found.find((f) => f.refused);
  if (refusal) throw new NetmonError(refusal.line, EX.NOPERM);
  return found.map((f) => f.line);
}
