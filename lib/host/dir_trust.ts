/**
 * Whether another user can change what is in the state directory (or the
 * directory graph.ts writes its pages into): it, or a directory above it up
 * to `/`, writable by (or belonging to) someone else. netmon refuses what
 * such a user could plant (links, FIFOs, other users' files; see
 * safe_open.ts), but says so on every run, with the fix. Such a user could
 * also put another directory in its place between two steps of a run: the
 * page writer then removes no old page (a removal by name would land in
 * whatever directory is there).
 *
 * The directories above the state directory are outside netmon's Deno read
 * permission, so they are looked at with `stat` (GNU coreutils), run with
 * an argument array and an empty environment (`--allow-run=/usr/bin/stat`,
 * in every permission set).
 *
 * @module
 */

import { getUid } from "./env.ts";
import { runBounded } from "./run.ts";
import { NetmonError } from "./errors.ts";

/** The program that reads the directories' owners and modes. */
export const STAT = "/usr/bin/stat";

/** One directory as `stat` saw it. */
export interface DirInfo {
  /** Its path. */
  path: string;
  /** Permission bits, with set-id and sticky bits. */
  mode: number;
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
  /** File type in stat's words ("directory", "symbolic link"). */
  type: string;
}

/** `dir` and every directory above it, innermost first. */
export function chain(dir: string): string[] {
  const parts = dir.split("/").filter((p) => p !== "" && p !== ".");
  const out: string[] = [];
  for (let i = parts.length; i > 0; i--) out.push("/" + parts.slice(0, i).join("/"));
  out.push("/");
  return out;
}

/** Which directory is checked, as the warnings name it, and what netmon does about a problem until it is fixed. */
export interface Checked {
  /** "state directory", "page directory". */
  what: string;
  /** "netmon refuses them, but fix it": said before the fix's commands. */
  meanwhile: string;
}

/** The state directory: what is planted there is refused (safe_open.ts). */
export const STATE_DIR: Checked = { what: "state directory", meanwhile: "netmon refuses them, but fix it" };

/**
 * What is wrong with `infos` (the directory `dir` first, then its parents)
 * for user `uid`: one warning per directory another user can write, with
 * the fix. Pure: takes what `stat` said.
 */
export function trustProblems(dir: string, infos: readonly DirInfo[], uid: number, checked = STATE_DIR): string[] {
  const problems: string[] = [];
  const owner = uid === 0 ? "root:root" : `${uid}`;
  for (const d of infos) {
    const isDir = d.path === dir;
    const sticky = (d.mode & 0o1000) !== 0 && !isDir;
    const who: string[] = [];
    if (d.type === "symbolic link") who.push("a symbolic link");
    if (d.uid !== 0 && d.uid !== uid) who.push(`owned by uid ${d.uid}`);
    // The group's write bit counts even for root's group: where a POSIX ACL names a user or group, the group bits
    // are the ACL's mask, and a root:root directory whose ACL lets another user write shows just that (stat shows
    // no ACL).
    const group = d.gid === 0 ? "group 0 (root) or by a user or group a POSIX ACL names" : `group ${d.gid}`;
    if ((d.mode & 0o002) !== 0 && !sticky) who.push("writable by every user");
    else if ((d.mode & 0o020) !== 0 && !sticky) who.push(`writable by ${group}`);
    if (who.length === 0) continue;
    const mode = (d.mode & 0o7777).toString(8).padStart(4, "0");
    problems.push(
      `${d.path} is ${who.join(", ")} (mode ${mode}): another user could plant links or FIFOs ` +
        `${isDir ? "in" : "above"} the ${checked.what} ${dir} (${checked.meanwhile}: ` +
        `chown ${owner} ${d.path} && chmod go-w ${d.path})`,
    );
  }
  return problems;
}

/** Parses `stat -c '%f %u %g %F|%n'` output. */
export function parseStat(text: string): DirInfo[] {
  const out: DirInfo[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+) (\d+) (\d+) ([^|]+)\|(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      mode: parseInt(m[1] as string, 16) & 0o7777,
      uid: +(m[2] as string),
      gid: +(m[3] as string),
      type: m[4] as string,
      path: m[5] as string,
    });
  }
  return out;
}

/** Runs `stat` on `dirs`: what it printed on stdout, even when some are missing (exit 1). */
async function statDirs(dirs: readonly string[]): Promise<string> {
  const out = await runBounded(STAT, ["-c", "%f %u %g %F|%n", "--", ...dirs], {
    whenMissing: "install GNU coreutils (its path is fixed: netmon's permission sets allow only this one)",
  });
  return new TextDecoder().decode(out.stdout);
}

/**
 * Warnings, for stderr, about the state directory `dir` and the directories
 * above it. Never fails: what cannot be checked is itself a warning.
 */
export function stateDirWarnings(
  dir: string,
  stat: (dirs: readonly string[]) => Promise<string> = statDirs,
): Promise<string[]> {
  return dirTrustWarnings(dir, STATE_DIR, stat);
}

/**
 * Warnings about directory `dir` (`checked` names it) and the directories
 * above it; [] when no other user can write any of them. Never fails: what
 * cannot be checked is itself a warning (starting "cannot check").
 */
export async function dirTrustWarnings(
  dir: string,
  checked: Checked,
  stat: (dirs: readonly string[]) => Promise<string> = statDirs,
): Promise<string[]> {
  let real = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
  try {
    real = Deno.realPathSync(dir);
  } catch { /* not made yet: the directories above it still count */ }
  real = real.replace(/\/+$/, "") || "/";
  try {
    const infos = parseStat(await stat(chain(real)));
    return trustProblems(real, infos, getUid() ?? 0, checked);
  } catch (err) {
    const why = err instanceof NetmonError ? err.message : String(err);
    return [`cannot check whether other users can write the ${checked.what} ${dir} or above: ${why}`];
  }
}
