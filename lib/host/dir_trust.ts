/**
 * Whether another user can write or replace a file or directory (the one
 * rule, {@linkcode othersWrite}), and so change what is in the state
 * directory (lib/state/files.ts) or the directory graph.ts writes its pages
 * into: it, or a directory above it up to `/`, writable by (or belonging to)
 * someone else. netmon refuses what such a user could plant (links, FIFOs,
 * other users' files; see safe_open.ts), but says so on every run, with the
 * fix. Such a user could also put another directory in its place between
 * two steps of a run: the page writer then removes no old page (a removal by
 * name would land in whatever directory is there).
 *
 * Some are not only warned of but refused (sshd's StrictModes; see
 * {@linkcode Checked.refuse}): the SQLite store's directory, the config
 * file and the programs it names, and, as root, the state directory unless
 * only its sticky bit lets others write it (lib/config/trust.ts).
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
import { shellWord } from "./shell_word.ts";

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

/** Whether `owner` is another user's: neither root nor `uid` (null, not known: no one's). */
export function ownedByOther(owner: number | null, uid: number | null): boolean {
  return owner !== null && uid !== null && owner !== 0 && owner !== uid;
}

/**
 * Why a user but root and `uid` can write in or replace `d`, as the warnings say it: [] for none. Its sticky bit
 * excuses the write bits (no one can rename what is not theirs) unless `stickyCounts`. A link counts by its owner
 * alone: its mode means nothing (always 0777), and whoever can write the directory it is in can point it elsewhere.
 */
export function othersWrite(
  d: Omit<DirInfo, "path">,
  uid: number | null,
  o: { stickyCounts?: boolean; ownerTrusted?: boolean } = {},
): string[] {
  const link = d.type === "symbolic link";
  const who = link ? ["a symbolic link"] : [];
  if (!o.ownerTrusted && ownedByOther(d.uid, uid)) who.push(`owned by uid ${d.uid}`);
  if (link || ((d.mode & 0o1000) !== 0 && !o.stickyCounts)) return who;
  // The group's write bit counts even for root's group: where a POSIX ACL names a user or group, the group bits are
  // the ACL's mask, and a root:root directory whose ACL lets another user write shows just that (stat shows no ACL).
  const group = d.gid === 0 ? "group 0 (root) or by a user or group a POSIX ACL names" : `group ${d.gid}`;
  if ((d.mode & 0o002) !== 0) who.push("writable by every user");
  else if ((d.mode & 0o020) !== 0) who.push(`writable by ${group}`);
  return who;
}

/** What {@linkcode othersWrite} needs of `s`, as `stat` would say it of `path`. */
export function infoOf(path: string, s: Deno.FileInfo): DirInfo {
  const type = s.isDirectory ? "directory" : s.isSymlink ? "symbolic link" : "regular file";
  return { path, mode: (s.mode ?? 0) & 0o7777, uid: s.uid ?? 0, gid: s.gid ?? 0, type };
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
  /** What another user could do there: "plant links or FIFOs". */
  threat: string;
  /** "netmon refuses them, but fix it": said before the fix's commands. */
  meanwhile: string;
  /** Whether the directory (and so some of those above) may not exist yet, which is then no problem. */
  mayBeMissing: boolean;
  /** What netmon does when it cannot check: "no old page is removed"; none for nothing. */
  uncheckable?: string;
  /**
   * Whether the directory's own owner and mode count, or only what is on the way to it (directories above it, and
   * links, the directory's own name too): what another user may do inside it may not matter, only whether they can
   * put another directory in its place.
   */
  onlyTheWay?: boolean;
  /**
   * Whether a directory above it may belong to another user (not be writable by every user or a group, though):
   * where the worst that user could do by putting another directory in its place is no more than what they may do
   * anyway (see {@linkcode TEXTFILE_DIR}).
   */
  ownersAboveTrusted?: boolean;
  /**
   * Whether a problem is refused rather than warned of: "always", or "unless sticky" (refused, but for the directory
   * itself being writable by others with its sticky bit set, where no one can rename or remove what netmon made).
   */
  refuse?: "always" | "unless sticky";
  /** Whether the path is a file (the config, a program) rather than a directory: "through" it, not "in" it. */
  file?: boolean;
  /** The fix where user `owner` owns `dir` or a directory above it, for a run as `uid`, if not chown and chmod. */
  ownedFix?: (dir: string, uid: number, owner: number) => string | undefined;
}

/** What a refusal says instead of {@linkcode Checked.meanwhile} (the SQLite store's refusal too; doctor reads its fix after it). */
export const REFUSED = "netmon refuses to run until it is fixed";

/**
 * The Prometheus textfile's directory (`[prometheus] textfile`), which root
 * writes `NAME.prom` into by a temporary file and a rename. Whoever can
 * write the directory can put forged figures in place of netmon's between
 * two runs, the billing figures Prometheus keeps: its own owner and mode
 * count, as the state directory's. A directory above it may belong to
 * another user: on Debian, /var/lib/prometheus belongs to `prometheus`, the
 * user node_exporter runs as, which serves what it likes anyway (its
 * node-exporter directory is root's, mode 0755); the most such a user could
 * do on top, by putting another directory in the textfile directory's place,
 * is have root write a file of that `.prom` name, mode 0644, in a directory
 * of their choice. Every user, or a group, able to do that is warned of.
 * Only warned: the textfile is a side output, and its figures are the log's.
 */
export const TEXTFILE_DIR: Checked = {
  what: "Prometheus textfile directory",
  threat: "replace the textfile with forged figures, or make root write it elsewhere,",
  meanwhile: "netmon writes it all the same, but fix it",
  // A missing directory fails the write, which says so.
  mayBeMissing: true,
  ownersAboveTrusted: true,
};

/**
 * The SQLite store's directory: SQLite opens the store's journal by name on
 * every transaction, reading a journal that is there as one to roll back
 * (forged rows) and blocking on a FIFO (with the state lock held). No check
 * of netmon's can be between: refused whenever another user can write it,
 * sticky or not.
 */
export const STORE_DIR: Checked = {
  what: "SQLite store's directory",
  threat: "plant a journal SQLite rolls forged rows back from, or a FIFO it blocks on,",
  meanwhile: "",
  // The state directory (where a relative store is) is made by the first run.
  mayBeMissing: true,
  refuse: "always",
};

/** The config file: whoever can change it chooses the programs root runs (sendmail) and what is billed. */
export const CONFIG_FILE: Checked = {
  what: "config file",
  threat: "choose the programs netmon runs and the figures it bills",
  meanwhile: "",
  mayBeMissing: false,
  refuse: "always",
  file: true,
};

/** A program the config names (`mail.sendmail`, `[binaries]`): netmon runs it, as root from cron. */
export const PROGRAM: Checked = {
  what: "program the config names",
  threat: "run code of their choice as netmon's user",
  meanwhile: "",
  // A missing program fails when it is run, which says so.
  mayBeMissing: true,
  refuse: "always",
  file: true,
};

/**
 * What is wrong with `infos` (what `stat` said of the directory `dir`, by
 * every name in `names`, and the directories and links on the way to it)
 * for user `uid`: one warning per directory another user can write, or
 * link or directory another user owns, with the fix. Pure.
 */
export function trustProblems(
  dir: string,
  infos: readonly DirInfo[],
  uid: number,
  checked: Checked,
  names: readonly string[] = [dir],
): string[] {
  return trustFindings(dir, infos, uid, checked, names).map((f) => f.line);
}

/** A problem {@linkcode trustProblems} found, and whether it is refused ({@linkcode Checked.refuse}). */
export interface TrustFinding {
  /** What, where, the fix. */
  line: string;
  /** Whether netmon refuses to run with it. */
  refused: boolean;
}

/** {@linkcode trustProblems}, each with whether it is refused. */
export function trustFindings(
  dir: string,
  infos: readonly DirInfo[],
  uid: number,
  checked: Checked,
  names: readonly string[] = [dir],
): TrustFinding[] {
  const problems: TrustFinding[] = [];
  const owner = uid === 0 ? "root:root" : `${uid}`;
  const seen = new Set<string>();
  for (const d of infos) {
    if (seen.has(d.path)) continue;
    seen.add(d.path);
    const isDir = names.includes(d.path);
    const link = d.type === "symbolic link";
    if (isDir && !link && checked.onlyTheWay) continue;
    // Sticky excuses a directory above (others cannot rename what is not theirs), not the directory itself.
    const who = othersWrite(d, uid, { stickyCounts: isDir, ownerTrusted: !isDir && !!checked.ownersAboveTrusted });
    // A link of this user or root is as safe as the directory it is in.
    if (who.length === 0 || (link && who.length === 1)) continue;
    const mode = (d.mode & 0o7777).toString(8).padStart(4, "0");
    // chown and chmod would change what a link points to, not the link.
    const fix = link
      ? `name the real directory, or remove the link ${d.path} and make it again as ${uid === 0 ? "root" : owner}`
      : checked.ownedFix?.(dir, uid, d.uid) ?? `chown ${owner} ${shellWord(d.path)} && chmod go-w ${shellWord(d.path)}`;
    // Only a directory's own write bits, with its sticky bit, are what "unless sticky" lets by (a link is two).
    const onlySticky = isDir && !checked.file && (d.mode & 0o1000) !== 0 && (d.mode & 0o022) !== 0 && who.length === 1;
    const refused = checked.refuse === "always" || (checked.refuse === "unless sticky" && !onlySticky);
    const where = isDir ? (checked.file ? "through" : "in") : "above";
    problems.push({
      line: `${d.path} is ${who.join(", ")} (mode ${mode}): another user could ${checked.threat} ` +
        `${where} the ${checked.what} ${dir} (${refused ? REFUSED : checked.meanwhile}: ${fix})`,
      refused,
    });
  }
  return problems;
}

/**
 * The directories, files and links `stat` found that no other user can
 * change, nor anything on the way to them (paths as {@linkcode chain} gives
 * them): found so once, they stay so (only root or this user could change
 * that), so a chmod by name there lands on what netmon made
 * (lib/host/safe_open.ts's `fixedWay`), without running `stat` again.
 */
const unchangeable = new Set<string>();

/** Whether {@linkcode dirsTrust} found, in this run, that no other user can change `path` or the way to it. */
export function knownUnchangeable(path: string): boolean {
  return unchangeable.has(path);
}

/**
 * Notes in {@linkcode unchangeable} every path of `seen` (the way to one checked path, every directory and link on it,
 * by its name as given and its real path) when no other user can change any of them: none they own or can write in
 * (a sticky directory's write bits excused: no one can rename what is not theirs), and no link but this user's or
 * root's. Stricter than the warnings: a trusted owner above ({@linkcode Checked.ownersAboveTrusted}) or the checked
 * directory's own owner ({@linkcode Checked.onlyTheWay}) counts here too.
 */
function noteUnchangeable(seen: readonly DirInfo[], uid: number): void {
  const fixed = seen.every((d) => {
    const who = othersWrite(d, uid);
    return who.length === 0 || (d.type === "symbolic link" && who.length === 1);
  });
  if (fixed) { for (const d of seen) unchangeable.add(d.path); }
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
 * Warnings about directory `dir` (`checked` names it) and the directories
 * above it, both on the path as given and on its real path (a link on the
 * way is followed by every later use of the path: whoever could change it
 * could change the directory); [] when no other user can change any of them.
 * Never fails: what cannot be checked (stat not there, or not saying what it
 * found of every directory) is itself a warning, starting "cannot check".
 */
export function dirTrustWarnings(
  dir: string,
  checked: Checked,
  stat: (dirs: readonly string[]) => Promise<string> = statDirs,
): Promise<string[]> {
  return dirsTrustWarnings([[dir, checked]], stat);
}

/** {@linkcode dirTrustWarnings} of several directories, each `[dir, checked]`, in one run of `stat`. */
export async function dirsTrustWarnings(
  checks: readonly (readonly [string, Checked])[],
  stat: (dirs: readonly string[]) => Promise<string> = statDirs,
): Promise<string[]> {
  return (await dirsTrust(checks, stat)).map((f) => f.line);
}

/**
 * {@linkcode dirsTrustWarnings}, each with whether it is refused. What
 * cannot be checked is never refused: netmon runs without `stat` (or its
 * permission) as it did, saying so.
 */
export async function dirsTrust(
  checks: readonly (readonly [string, Checked])[],
  stat: (dirs: readonly string[]) => Promise<string> = statDirs,
): Promise<TrustFinding[]> {
  const unchecked = (line: string): TrustFinding => ({ line, refused: false });
  if (checks.length === 0) return [];
  const each = checks.map(([dir, checked]) => {
    const given = (dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`).replace(/\/+$/, "") || "/";
    let real = given;
    try {
      real = Deno.realPathSync(dir).replace(/\/+$/, "") || "/";
    } catch { /* not made yet: the directories above it still count */ }
    const chains = real === given ? [chain(given)] : [chain(given), chain(real)];
    const cannot = (why: string) =>
      `cannot check whether other users can write the ${checked.what} ${dir} or above: ${why}` +
      (checked.uncheckable ? ` (${checked.uncheckable})` : "");
    return { checked, given, real, chains, cannot };
  });
  let infos: DirInfo[];
  try {
    infos = parseStat(await stat([...new Set(each.flatMap((e) => e.chains.flat()))]));
  } catch (err) {
    return each.map((e) => unchecked(e.cannot(err instanceof NetmonError ? err.message : String(err))));
  }
  // Every directory must be accounted for (a directory another user renames away while stat runs is not seen):
  // only the innermost may be missing, and only where the directory may not have been made yet.
  const reported = new Set(infos.map((d) => d.path));
  return each.flatMap(({ checked, given, real, chains, cannot }) => {
    for (const c of chains) {
      const first = checked.mayBeMissing ? c.findIndex((p) => reported.has(p)) : 0;
      const unseen = c.slice(Math.max(first, 0)).find((p) => !reported.has(p));
      if (first < 0 || unseen !== undefined) return [unchecked(cannot(`stat did not report ${unseen ?? c.at(-1)}`))];
    }
    const mine = new Set(chains.flat());
    const seen = infos.filter((d) => mine.has(d.path));
    noteUnchangeable(seen, getUid() ?? 0);
    return trustFindings(given, seen, getUid() ?? 0, checked, [given, real]);
  });
}
