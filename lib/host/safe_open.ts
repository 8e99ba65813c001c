/**
 * Opening files as root without following a planted link and without
 * blocking on a planted FIFO: the one way netmon opens its state files, spool
 * entries, attachments and logs.
 *
 * Deno's calls can neither pass `O_NOFOLLOW` nor `O_NONBLOCK`, and under
 * scoped permissions (`--allow-read=DIR`) Deno resolves the path before
 * opening it, so not even node:fs's `O_NOFOLLOW` sees a link (checked with
 * Deno 2.9.6). node:fs is not used either: loading it costs about 45 ms of
 * every run, a third of a report. So every open here is
 *
 * 1. `lstat` the path (never follows): it must be a regular file (a link only
 *    where the caller allows it), owned by the running user (or root, for
 *    reading), with one name (no hard link but for a path the user named);
 * 2. open it read-write, without create or truncate: on Linux opening a FIFO
 *    read-write never blocks, so a FIFO swapped in meanwhile cannot hold the
 *    run, and nothing is changed by the open. Where read-write cannot be had
 *    (Deno's permission does not cover writing it, a read-only file system, a
 *    file this user may not write), it is opened for reading or writing
 *    alone, by its real path, only when nothing can be swapped in: a
 *    read-only file system, or a directory no other user can write (see
 *    {@linkcode othersCanWrite}) on a way no other user can change (see
 *    {@linkcode fixedWay});
 *    otherwise a caller that can wait opens it with a deadline
 *    ({@linkcode SafeFile.openBounded}), and any other refuses it, with the
 *    fix (where Deno does not let netmon look at the directory, a refusal
 *    naming `--allow-read` for it: asked for at once when the file itself
 *    is refused, so that one grant does both);
 * 3. `fstat` what was opened: the same device and inode as step 1, or it is
 *    refused.
 *
 * A missing file is created with `O_CREAT|O_EXCL` (which never follows a
 * link, even a dangling one) and its mode is exact whatever the umask (see
 * {@linkcode withExactMode} and {@linkcode ensureMode}).
 *
 * @module
 */

import { getUid } from "./env.ts";
import { chain, infoOf, knownUnchangeable, othersWrite } from "./dir_trust.ts";
import { DenoDenied, EX, fileError, NetmonError } from "./errors.ts";
import { startTimer } from "./timer.ts";

/** Who may own a file netmon opens. */
export type Owners = "self" | "self-or-root" | "anyone";

/** How to open a file. */
export interface OpenSpec {
  /** What the file is, for messages ("log", "last file"). */
  what: string;
  /** Open for writing (appending when `append`). */
  write?: boolean;
  /** Writes go to the end. */
  append?: boolean;
  /** If missing, create it exclusively with this mode (whatever the umask). */
  create?: number;
  /** Follow a link at the path (only for a path the user named on the command line). */
  follow?: boolean;
  /** Who may own it: default the running user for writing, the running user or root for reading. */
  owners?: Owners;
  /** The fix a refusal of another user's file says, where not "check it, then chown it or remove it". */
  plantedFix?: string;
  /** The fix a refusal of anything but a regular file says, where not "remove it" (the config's: name another). */
  notFileFix?: string;
}

/** The kind of a file as words, from a stat. */
export function kindOf(s: Deno.FileInfo): string {
  if (s.isFile) return "regular file";
  if (s.isDirectory) return "directory";
  if (s.isSymlink) return "symbolic link";
  if (s.isFifo) return "FIFO";
  if (s.isCharDevice) return "character device";
  if (s.isBlockDevice) return "block device";
  if (s.isSocket) return "socket";
  return "special file";
}

let uid: number | null | undefined;
/** The running user's id (null where there is none, e.g. Windows); needs `--allow-sys=uid`. */
export function runningUid(): number | null {
  if (uid === undefined) uid = getUid();
  return uid;
}

/** True when `owner` may own a file under `owners`. */
export function ownerAllowed(owner: number | null, owners: Owners): boolean {
  const me = runningUid();
  if (owners === "anyone" || me === null || owner === null) return true;
  return owner === me || (owners === "self-or-root" && owner === 0);
}

function refuse(path: string, what: string, why: string, spec: OpenSpec, code?: number): NetmonError {
  const status = code ?? (spec.write || spec.create !== undefined ? EX.CANTCREAT : EX.NOINPUT);
  return new NetmonError(`${path}: the ${what} ${why}`, status);
}

/** The code of a system error ("ENOENT"), if it has one. */
function errnoCode(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

/** True when `err` says the path is missing (or a part of it is not a directory). */
function missing(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound || errnoCode(err) === "ENOTDIR";
}

/** True when Deno grants `name` for `path` without asking (so a run in a terminal is never prompted for it). */
export function granted(name: "read" | "write", path: string): boolean {
  return Deno.permissions.querySync({ name, path }).state === "granted";
}

/** Checks an lstat (or stat) result against `spec`; returns the refusal, if any. */
function checkStat(path: string, s: Deno.FileInfo, spec: OpenSpec): NetmonError | undefined {
  if (s.isSymlink) {
    return refuse(path, spec.what, "is a symbolic link: netmon does not follow links here (remove it)", spec);
  }
  if (!s.isFile) {
    const why = spec.notFileFix === undefined ? ": refused (remove it)" : ` (${spec.notFileFix})`;
    return refuse(path, spec.what, `is a ${kindOf(s)}, not a regular file${why}`, spec);
  }
  // A second name for the file: where hard links are not protected (fs.protected_hardlinks=0), a user who can write
  // the directory can link root's /etc/shadow in under netmon's name, and it passes as a file of root's. Refused for
  // reading too (what netmon reads can reach its output, a message or a mail); a path the user named is theirs.
  if (!spec.follow && (s.nlink ?? 1) > 1) {
    return refuse(
      path,
      spec.what,
      `has ${s.nlink} hard links: refused, as it may be another file linked in under netmon's name (remove it; ` +
        `if it is netmon's own, break the link: cp -p ${path} ${path}.new && mv ${path}.new ${path})`,
      spec,
    );
  }
  const owners = spec.owners ?? (spec.write ? "self" : "self-or-root");
  if (!ownerAllowed(s.uid, owners)) {
    return refuse(
      path,
      spec.what,
      `belongs to uid ${s.uid}, not to this user (uid ${runningUid()}): refused, as another user may have planted it ` +
        `(${spec.plantedFix ?? "check it, then chown it or remove it"})`,
      spec,
      EX.NOPERM,
    );
  }
  return undefined;
}

/** The directory `path` is in: `.` for a bare name, `/` for a file at the root. */
export function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : path.slice(0, slash) || "/";
}

/**
 * Whether another user can put anything at a name in `dir` (and so swap a
 * file between a look and an open): "no" when it is a directory no other
 * user can write by {@linkcode othersWrite} (a sticky one, as /tmp is,
 * included: others cannot rename or remove what is not theirs); "unknown"
 * when this run may not look at it (never asked for: a run in a terminal is
 * not prompted).
 */
export function othersCanWrite(dir: string): "yes" | "no" | "unknown" {
  if (!granted("read", dir)) return "unknown";
  let d: Deno.FileInfo;
  try {
    d = Deno.lstatSync(dir);
  } catch {
    return "unknown";
  }
  return !d.isDirectory || othersWrite(infoOf(dir, d), runningUid()).length > 0 ? "yes" : "no";
}

/** What {@linkcode fixedWay} found of a directory's way. */
export interface Way {
  /** Why another user could change it: the first directory or link on it found so ("/srv/u is owned by uid 4242"). */
  changeable?: string;
  /** The first directory on it netmon may not look at (Deno does not grant reading it, or it is not there). */
  unseen?: string;
}

/** What {@linkcode fixedWay} found of each directory this run. */
const ways = new Map<string, Way>();

/**
 * Whether another user can change the way to `dir`, so that a name in it
 * opened, synced or chmodded by name could land on something else (a FIFO
 * that holds the run, a file of root's): `dir` and every directory above
 * it, on the path as given and on its real path, each a directory no other
 * user can write ({@linkcode othersCanWrite}'s rule: a sticky one excused)
 * or owns, and each link on them this user's or root's (whoever owns a
 * link, or can write its directory, can point it elsewhere); the rule of
 * lib/host/dir_trust.ts's checks, whose findings of this run (a report
 * checks its state and textfile directories with `stat` first) are taken as
 * they are, without a look again. Neither `changeable` nor `unseen`: fixed.
 * Kept for the run, as what only root or this user could change, and what
 * Deno lets the run look at does not grow; never prompts (as
 * {@linkcode othersCanWrite}).
 */
export function fixedWay(dir: string): Way {
  let way = ways.get(dir);
  if (way === undefined) {
    way = lookAtWay(dir);
    ways.set(dir, way);
  }
  return way;
}

/** Whether {@linkcode fixedWay} found the way fixed. */
export function isFixed(way: Way): boolean {
  return way.changeable === undefined && way.unseen === undefined;
}

/** {@linkcode fixedWay}, uncached. */
function lookAtWay(dir: string): Way {
  let given = dir;
  if (!given.startsWith("/")) {
    try {
      given = `${Deno.cwd()}/${dir}`;
    } catch {
      return { unseen: dir };
    }
  }
  const chains = [chain(given)];
  if (granted("read", given)) {
    try {
      chains.push(chain(Deno.realPathSync(given)));
    } catch { /* not there: the given way still counts, its missing part unseen */ }
  }
  const way: Way = {};
  const looked = new Set<string>();
  for (const c of chains) {
    for (const d of c) {
      // What dir_trust found unchangeable, the way above it is too.
      if (knownUnchangeable(d)) break;
      if (looked.has(d)) continue;
      looked.add(d);
      let s: Deno.FileInfo | undefined;
      try {
        // Not asked for (a run in a terminal would be prompted).
        if (granted("read", d)) s = Deno.lstatSync(d);
      } catch { /* unseen */ }
      if (s === undefined) {
        way.unseen ??= d;
        continue;
      }
      const who = s.isDirectory || s.isSymlink ? othersWrite(infoOf(d, s), runningUid()) : [`a ${kindOf(s)}`];
      // A link of this user or root is as safe as the directory it is in.
      if (who.length > (s.isSymlink ? 1 : 0)) return { changeable: `${d} is ${who.join(", ")}` };
    }
  }
  return way;
}

/**
 * A promise that rejects with `error()` after `ms`, to race an open that may
 * wait (on a FIFO) against. Its timer (lib/host/timer.ts) never keeps the
 * process alive once the other side has won (AbortSignal.timeout, used
 * before, did, for the whole `ms`), and still fires while something else
 * holds it open.
 */
export function deadline(ms: number, error: () => Error): Promise<never> {
  const late = startTimer(ms).done.then((): never => {
    throw error();
  });
  late.catch(() => {}); // raced; unobserved when the other side wins
  return late;
}

/**
 * Thrown by {@linkcode SafeFile.open} for a file it could only open for
 * reading alone, where a FIFO could be swapped in: a caller that can wait
 * uses {@linkcode SafeFile.openBounded}, which opens it with a deadline.
 */
class NeedsBoundedOpen extends NetmonError {
  constructor(message: string, status: number, readonly stat: Deno.FileInfo) {
    super(message, status);
  }
}

/**
 * Runs `make` (a call that creates a file or directory with `mode`) with the
 * umask narrowed so that it keeps every bit of `mode`, then restores it; the
 * umask is only narrowed by `mode`'s own bits, so nothing created meanwhile
 * is more open than `mode` allows. Deno grants the umask only with the whole
 * `--allow-sys` (2.9.6 refuses `--allow-sys=umask`), so without it `make`
 * runs as it is and {@linkcode ensureMode} mends the mode.
 */
export function withExactMode<T>(mode: number, make: () => T): T {
  if (Deno.permissions.querySync({ name: "sys", kind: "umask" }).state !== "granted") return make();
  const old = Deno.umask();
  if ((old & mode) === 0) return make();
  Deno.umask(old & ~mode);
  try {
    return make();
  } finally {
    Deno.umask(old);
  }
}

/**
 * Makes sure what was just created at `path` (its mode read by `current`,
 * from the descriptor where there is one) has exactly `mode`. A umask that
 * narrowed it is undone by a chmod by name only where no other user can
 * change the way to it ({@linkcode fixedWay}: a chmod follows every link on
 * the way), so that nothing can be swapped in for a link; elsewhere it is an
 * error with the fix.
 */
export function ensureMode(path: string, what: string, mode: number, current: () => number | null): void {
  const got = (current() ?? mode) & 0o7777;
  if (got === mode) return;
  const oct = (m: number) => m.toString(8).padStart(4, "0");
  const way = fixedWay(dirOf(path));
  const why = way.changeable ?? (way.unseen === undefined ? undefined : `netmon may not look at ${way.unseen}`);
  if (why !== undefined) {
    throw new NetmonError(
      `${path}: the ${what} was created with mode ${oct(got)}, not ${oct(mode)}, as the umask narrowed it, and ` +
        `netmon does not chmod by name where another user could change the way to it (${why}): run netmon with ` +
        "umask 022 (or grant it --allow-sys, so that it sets the umask itself)",
      EX.CANTCREAT,
    );
  }
  try {
    Deno.chmodSync(path, mode);
  } catch (err) {
    throw fileError(err, `set the mode of ${what}`, path);
  }
  const now = (current() ?? mode) & 0o7777;
  if (now !== mode) {
    throw new NetmonError(`${path}: the ${what} changed while netmon set its mode: refused`, EX.CANTCREAT);
  }
}

/**
 * Takes from the file open at `path` (`got`: its mode, from the open
 * descriptor's fstat) the permission bits `mode` lacks, never adding one: a
 * state file another program made looser (the 2010 script's 0644 log, which
 * netmon appends to) is brought to netmon's mode. By name, as Deno has no
 * fchmod (and node:fs would cost every run its load), so only where no other
 * user can change the way to it ({@linkcode fixedWay}), where nothing
 * can be swapped in for the file just opened; elsewhere, or where chmod
 * fails, it is left as it is (it works so). Returns whether it had or now has
 * no bit beyond `mode`.
 */
export function tightenMode(path: string, mode: number, got: number | null): boolean {
  if (got === null || (got & 0o777 & ~mode) === 0) return true;
  if (!isFixed(fixedWay(dirOf(path)))) return false;
  try {
    Deno.chmodSync(path, got & 0o7777 & ~(0o777 & ~mode));
    return true;
  } catch {
    return false; // left as it is
  }
}

/** Creates `path` exclusively (never following anything there) with exactly `mode`, for writing. */
function createExclusive(path: string, spec: OpenSpec & { create: number }): Deno.FsFile {
  const file = withExactMode(
    spec.create,
    () => Deno.openSync(path, { write: true, createNew: true, append: spec.append ?? false, mode: spec.create }),
  );
  try {
    ensureMode(path, spec.what, spec.create, () => file.statSync().mode);
  } catch (err) {
    file.close();
    try {
      Deno.removeSync(path);
    } catch { /* it was ours to remove; a leftover is only an unused file */ }
    throw err;
  }
  return file;
}

/**
 * Opens the regular file `s` describes at `path` without blocking (step 2
 * of the module's steps); undefined when it has gone meanwhile. A file it
 * may only read alone where a FIFO could be swapped in is a
 * {@linkcode NeedsBoundedOpen}, which a caller that can wait (`bounded`) opens
 * with a deadline.
 */
function openExisting(path: string, s: Deno.FileInfo, spec: OpenSpec, bounded: boolean): Deno.FsFile | undefined {
  const append = spec.append ?? false;
  const action = `${spec.write ? "write" : "read"} ${spec.what}`;
  let why: string;
  if (granted(spec.write ? "read" : "write", path)) {
    try {
      return Deno.openSync(path, { read: true, write: !append, append });
    } catch (err) {
      if (missing(err)) return undefined;
      if (errnoCode(err) === "EROFS") return openAlone(path, spec, action); // nothing can be swapped in
      if (!(err instanceof Deno.errors.PermissionDenied)) throw fileError(err, action, path);
      why = "this user may not open it for reading and writing";
    }
  } else {
    why = `Deno's permission does not cover ${spec.write ? "reading" : "writing"} it`;
  }
  const real = realPathOr(path);
  const dir = dirOf(real);
  const others = othersCanWrite(dir);
  // Opened by its real path, so only where no other user can change the way to it as given or as it is (a link on
  // either could be swapped for a directory with a FIFO at that name); what Deno hides above its directory is taken
  // on trust (a report may look at /etc/netmon, not /etc).
  const changeable = others === "no" ? wayToFile(path, real, spec.follow ?? false) : undefined;
  if (others === "no" && changeable === undefined && ownerAllowed(s.uid, "self-or-root")) {
    // By the name Deno grants, where it grants the real one by the link's only (the way is fixed: the same file).
    return openAlone(granted(spec.write ? "write" : "read", real) ? real : path, spec, action, path);
  }
  if (others === "unknown" && !granted("read", dir) && (spec.write || !bounded)) {
    // A permission to grant, like any other refusal (exit 77, and the whole run line under a permission set); a
    // caller that can wait need not look: it reads with a deadline.
    throw dirDenied(path, dir, spec);
  }
  const where = others === "yes"
    ? `other users can write ${dir} (fix: chmod go-w ${dir})`
    : changeable !== undefined
    ? `another user could change the way to it (${changeable}; fix: name a path no other user can change)`
    : `netmon may not look at ${dir} to see who can write it (fix: let this user read ${dir}, or let netmon write the ` +
      "file)";
  const message = `${path}: the ${spec.what} cannot be opened safely: netmon opens a file for reading and writing ` +
    `so that a FIFO swapped in cannot block it, but ${why}, and ${where}`;
  throw new NeedsBoundedOpen(message, spec.write ? EX.CANTCREAT : EX.NOINPUT, s);
}

/**
 * Why another user could change the way to the file at `path` (`real`, its
 * real path), by {@linkcode fixedWay} of its directory as given and, where
 * `path` is itself a link (`follow`), that link and its target's directory;
 * undefined when no one could.
 */
function wayToFile(path: string, real: string, follow: boolean): string | undefined {
  const given = fixedWay(dirOf(path)).changeable;
  if (given !== undefined || !follow) return given;
  const link = lstatOrUndefined(path);
  if (!link?.isSymlink) return undefined; // its directory's real path is the one fixedWay looked at
  if (!ownerAllowed(link.uid, "self-or-root")) return `${path} is a symbolic link owned by uid ${link.uid}`;
  return fixedWay(dirOf(real)).changeable;
}

/**
 * Deno refusing to let netmon look at `dir`, which holds the file at `path`
 * that it may only open for reading or writing alone: it looks there at who
 * else can write before such an open (see {@linkcode othersCanWrite}).
 */
function dirDenied(path: string, dir: string, spec: OpenSpec): DenoDenied {
  return new DenoDenied({
    kind: "read",
    what: dir,
    note: `the directory of the ${spec.what} ${path}, where netmon looks at who else can write before it opens a ` +
      `${spec.what} it may not ${spec.write ? "read" : "write"}`,
  });
}

/** `path` with every link on it resolved; `path` itself when that cannot be told (missing, not ours to look at). */
export function realPathOr(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/**
 * Opens `path` for reading or writing alone (where nothing can be swapped in); undefined when it has gone. Errors name
 * it as `name`.
 */
function openAlone(path: string, spec: OpenSpec, action: string, name = path): Deno.FsFile | undefined {
  const append = spec.append ?? false;
  try {
    return Deno.openSync(path, spec.write ? { write: !append, append } : { read: true });
  } catch (err) {
    if (missing(err)) return undefined;
    throw fileError(err, action, name);
  }
}

/**
 * An open file: reads, writes, syncs, truncates and closes, by descriptor.
 */
export class SafeFile {
  #open = true;
  private constructor(readonly file: Deno.FsFile, readonly path: string, readonly what: string) {}

  /**
   * Opens `path` as `spec` says (see the module's steps), or returns undefined
   * when it is missing and `spec.create` is not set. Throws a one-line
   * NetmonError for anything else.
   */
  static open(path: string, spec: OpenSpec): SafeFile | undefined {
    return SafeFile.#openAs(path, spec, false);
  }

  /** {@linkcode SafeFile.open}, for a caller that can wait (`bounded`) or not. */
  static #openAs(path: string, spec: OpenSpec, bounded: boolean): SafeFile | undefined {
    for (let attempt = 0; attempt < 3; attempt++) {
      let s: Deno.FileInfo | undefined;
      let denied: unknown;
      try {
        s = spec.follow ? Deno.statSync(path) : Deno.lstatSync(path);
      } catch (err) {
        // Without read permission a new file can still be made: O_EXCL needs no look first, and Deno then names
        // the write permission that is missing, if it is.
        const unreadable = (err as Error).name === "NotCapable" && spec.create !== undefined;
        if (unreadable) denied = err;
        // A file it may read but not write is opened, by a caller that cannot wait, only after a look at its
        // directory: name that, so that the one grant does both.
        if ((err as Error).name === "NotCapable" && !bounded && !spec.write && spec.create === undefined) {
          const dir = dirOf(path);
          if (!granted("write", path) && !granted("read", dir)) throw dirDenied(path, dir, spec);
        }
        if (!missing(err) && !unreadable) throw fileError(err, `read ${spec.what}`, path);
      }
      if (s === undefined) {
        if (spec.create === undefined) return undefined;
        let file: Deno.FsFile;
        try {
          file = createExclusive(path, { ...spec, create: spec.create });
        } catch (err) {
          // There already, and Deno would not let us look: that is the permission to name, not a race.
          if (err instanceof Deno.errors.AlreadyExists && denied !== undefined) {
            throw fileError(denied, `read ${spec.what}`, path);
          }
          if (err instanceof Deno.errors.AlreadyExists) continue; // made meanwhile: look at it again
          throw fileError(err, `create ${spec.what}`, path);
        }
        return new SafeFile(file, path, spec.what);
      }
      const bad = checkStat(path, s, spec);
      if (bad) throw bad;
      const file = openExisting(path, s, spec, bounded);
      if (!file) continue; // removed meanwhile
      return SafeFile.#same(file, s, path, spec);
    }
    throw refuse(path, spec.what, "keeps changing while netmon opens it (another user is tampering with it?)", spec);
  }

  /**
   * Like {@linkcode SafeFile.open} for reading, for a caller that can wait:
   * a file that could only be opened for reading alone where a FIFO could be
   * swapped in is opened with a deadline of `ms`, so a FIFO cannot hold the
   * run longer (the open left waiting ends with the process).
   */
  static async openBounded(path: string, spec: OpenSpec, ms: number): Promise<SafeFile | undefined> {
    try {
      return SafeFile.#openAs(path, spec, true);
    } catch (err) {
      if (!(err instanceof NeedsBoundedOpen) || spec.write) throw err;
      const seen = err.stat;
      const late = deadline(
        ms,
        () => refuse(path, spec.what, `did not open within ${ms / 1000} s (a FIFO swapped in?): refused`, spec),
      );
      let file: Deno.FsFile;
      try {
        file = await Promise.race([Deno.open(path, { read: true }), late]);
      } catch (e) {
        if (missing(e)) return undefined;
        throw fileError(e, `read ${spec.what}`, path);
      }
      return SafeFile.#same(file, seen, path, spec);
    }
  }

  /** `file`, opened at `path`, as a SafeFile if it is the regular file `s` described (step 3); else refused. */
  static #same(file: Deno.FsFile, s: Deno.FileInfo, path: string, spec: OpenSpec): SafeFile {
    const opened = file.statSync();
    if (opened.dev !== s.dev || opened.ino !== s.ino || !opened.isFile) {
      file.close();
      throw refuse(
        path,
        spec.what,
        "changed while netmon opened it (another user is tampering with it?): refused",
        spec,
      );
    }
    return new SafeFile(file, path, spec.what);
  }

  /** Like {@linkcode SafeFile.open}, but a missing file is Deno's NotFound. */
  static must(path: string, spec: OpenSpec): SafeFile {
    const f = SafeFile.open(path, spec);
    if (!f) throw new Deno.errors.NotFound(`${path}: no such file`);
    return f;
  }

  /** Reads into `p` from the current position; null at the end. */
  readSync(p: Uint8Array): number | null {
    return this.file.readSync(p);
  }

  /** Sets the read position. */
  seekSync(offset: number, whence: Deno.SeekMode = Deno.SeekMode.Start): number {
    return this.file.seekSync(offset, whence);
  }

  /** Writes part of `p`; returns how much. */
  writeSync(p: Uint8Array): number {
    return this.file.writeSync(p);
  }

  /** The file's size, owner and identity now. */
  statSync(): { size: number; uid: number | null; dev: number; ino: number | null; mode: number | null } {
    const s = this.file.statSync();
    return { size: s.size, uid: s.uid, dev: s.dev, ino: s.ino, mode: s.mode };
  }

  /** Cuts the file to `len` bytes. */
  truncateSync(len: number): void {
    this.file.truncateSync(len);
  }

  /** Flushes the data to the disk. */
  syncDataSync(): void {
    this.file.syncDataSync();
  }

  /** Closes the descriptor (again is harmless). */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.file.close();
  }
}

/**
 * Reads `f` (a {@linkcode SafeFile}, or a file the caller opened) to its end
 * and closes it, refusing more than `max` bytes: read to the end whatever
 * size stat gave (0 for a file in /proc or some FUSE), never past the bound.
 */
export function readRest(
  f: { statSync(): { size: number }; readSync(p: Uint8Array): number | null; close(): void },
  path: string,
  spec: Pick<OpenSpec, "what">,
  max: number,
): Uint8Array {
  const tooBig = (size: string) =>
    new NetmonError(
      `${path}: the ${spec.what} is ${size} bytes, more than the ${max} netmon reads: refused`,
      EX.DATAERR,
    );
  try {
    const size = f.statSync().size;
    if (size > max) throw tooBig(`${size}`);
    let buf = new Uint8Array(size + 1); // one more, to see the end (or a file that grew)
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > max) throw tooBig(`over ${max}`);
        const more = new Uint8Array(Math.min(2 * got + 4096, max + 1));
        more.set(buf);
        buf = more;
      }
      const n = f.readSync(buf.subarray(got));
      if (!n) break;
      got += n;
    }
    return buf.subarray(0, got);
  } catch (err) {
    throw fileError(err, `read ${spec.what}`, path);
  } finally {
    f.close();
  }
}

/**
 * Reads the whole regular file at `path` as `spec` says, refusing one larger
 * than `max` bytes; undefined if it is missing.
 */
export function readWhole(path: string, spec: OpenSpec, max: number): Uint8Array | undefined {
  const f = SafeFile.open(path, spec);
  return f && readRest(f, path, spec, max);
}

/** {@linkcode readWhole} as UTF-8 text. */
export function readWholeText(path: string, spec: OpenSpec, max: number): string | undefined {
  const bytes = readWhole(path, spec, max);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

/**
 * {@linkcode readWhole} for a caller that can wait: a file netmon may only
 * read (a secret in /etc/netmon, say) is opened with a deadline of `ms`
 * where a FIFO could be swapped in (see {@linkcode SafeFile.openBounded}).
 */
export async function readWholeBounded(
  path: string,
  spec: OpenSpec,
  max: number,
  ms = 5_000,
): Promise<Uint8Array | undefined> {
  const f = await SafeFile.openBounded(path, spec, ms);
  return f && readRest(f, path, spec, max);
}

/**
 * A file the config names (a secret, a CA certificate; `what` is its key,
 * "mail.ca_file") as UTF-8 text, at most `max` bytes, a link to a regular
 * file followed, never waited on forever ({@linkcode readWholeBounded}).
 * Missing, unreadable or refused, it is one line (a NetmonError).
 */
export async function readConfigFile(path: string, what: string, max: number): Promise<string> {
  try {
    const bytes = await readWholeBounded(path, { what, follow: true }, max);
    if (bytes === undefined) throw new Deno.errors.NotFound(path);
    return new TextDecoder().decode(bytes);
  } catch (err) {
    throw fileError(err, `read ${what}`, path);
  }
}

/**
 * Checks that `path` is a directory netmon may use as root: not a link, a
 * directory, owned by the running user or root. Returns false when missing.
 */
export function checkDir(path: string, what: string): boolean {
  const s = lstatOrUndefined(path, `read ${what}`);
  if (!s) return false;
  const spec: OpenSpec = { what, write: true };
  if (s.isSymlink) {
    throw refuse(path, what, "is a symbolic link: netmon does not follow links here (remove it)", spec);
  }
  if (!s.isDirectory) throw refuse(path, what, `is a ${kindOf(s)}, not a directory: refused`, spec);
  if (!ownerAllowed(s.uid, "self-or-root")) {
    throw refuse(
      path,
      what,
      `belongs to uid ${s.uid}, not to this user (uid ${runningUid()}): refused (chown it)`,
      spec,
      EX.NOPERM,
    );
  }
  return true;
}

/** The lstat of `path`, or undefined when missing; any other failure is netmon's one-line error for `action`. */
export function lstatOrUndefined(path: string, action = "look at"): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (missing(err)) return undefined;
    throw fileError(err, action, path);
  }
}
