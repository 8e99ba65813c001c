/**
 * Writing files so that a reader sees the old content or the new, never half:
 * the one home of netmon's atomic replace and whole append, used by the state
 * files, the graph outputs and every later output.
 *
 * A replacement is written to a hidden temporary file beside its target,
 * created exclusively (so nothing planted at that name is followed or
 * reused), with its mode set on the descriptor (never through the path),
 * synced, checked to be still the file written, then renamed over the target
 * and the directory synced. What is already at the target decides the rest:
 * see {@linkcode TargetOptions}. Opening goes through `safe_open.ts`.
 *
 * @module
 */

import { EX, fileError, NetmonError } from "./errors.ts";
import {
  deadline,
  dirOf,
  fixedWay,
  granted,
  kindOf,
  lstatOrUndefined,
  ownerAllowed,
  realPathOr,
  SafeFile,
  tightenMode,
} from "./safe_open.ts";

const encoder = new TextEncoder();

/** A file's replacement, ready to be renamed into place (an AtomicFile, or a wrapper that reports instead of throwing). */
export type Replacement = Pick<AtomicFile, "commit" | "abandon">;

/** How long a FIFO the user named as an output is waited on for a process to read it. */
export const FIFO_WAIT_MS = 10_000;

/** Writes all of `data` (a single write may take only part of it). */
export function writeAll(file: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += file.writeSync(data.subarray(done));
}

/** A hidden temporary name beside `path` (same directory, so a rename replaces it atomically), unique to this call. */
export function tempBeside(path: string): string {
  const slash = path.lastIndexOf("/");
  const suffix = [...crypto.getRandomValues(new Uint8Array(6))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${suffix}.tmp`;
}

/**
 * Removes the temporary files (see {@linkcode tempBeside}) that killed runs
 * left in `dir` (with `of`, only those of that file, e.g. `netmon.cycles`, or
 * of the files whose names `of` accepts, given the temporary's path too);
 * returns how many. Call only with the lock held under which every such file
 * there is written (the state lock for the state directory and the spool):
 * any found then belongs to a run that died between writing it and renaming
 * it into place.
 */
export function tidyTemporaries(dir: string, of?: string | ((target: string, path: string) => boolean)): number {
  let removed = 0;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw fileError(err, "read directory", dir);
  }
  for (const e of entries) {
    const target = /^\.(.+)\.[0-9a-f]+\.tmp$/.exec(e.name)?.[1];
    if (!e.isFile || target === undefined) continue;
    if (typeof of === "string" ? target !== of : of !== undefined && !of(target, `${dir}/${e.name}`)) continue;
    try {
      Deno.removeSync(`${dir}/${e.name}`);
      removed++;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "remove leftover", `${dir}/${e.name}`);
    }
  }
  return removed;
}

/**
 * Whether the temporary file at `path` was last written over an hour ago: a killed run's, where it may be written
 * outside the lock that {@linkcode tidyTemporaries} is called under (no run takes an hour to write a file).
 */
export function leftLongAgo(path: string): boolean {
  const mtime = lstatOrUndefined(path)?.mtime;
  return mtime !== null && mtime !== undefined && Date.now() - mtime.getTime() > 3_600_000;
}

/**
 * Syncs directory `dir`, so a rename in it survives a crash; a directory
 * that cannot be synced only weakens durability. Deno opens it for reading
 * alone (it has neither `O_DIRECTORY` nor `O_NONBLOCK`): had another user
 * put a FIFO in its place meanwhile, the open would wait for ever. So it is
 * left unsynced where another user can change the way to it, as given or as
 * it is ({@linkcode fixedWay}: a link on the given path swapped for a FIFO
 * too), and, for an output the user named (`named`), where netmon may not
 * look; netmon's own files are in the state directory, whose way a run as
 * root refuses before it writes anything when another user could replace
 * it (lib/config/trust.ts), and /etc. It is opened by its real path, and
 * only if that is a directory.
 */
function syncDir(dir: string, named: boolean): void {
  const way = fixedWay(dir);
  if (way.changeable !== undefined || (way.unseen !== undefined && named) || !granted("read", dir)) return;
  // By the name Deno grants, where it grants the real one by the link's only (the way is fixed: the same directory).
  const real = realPathOr(dir);
  const name = granted("read", real) ? real : dir;
  try {
    if (!lstatOrUndefined(name)?.isDirectory) return;
    const d = Deno.openSync(name, { read: true });
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch { /* see above */ }
}

/** How {@linkcode AtomicFile} treats what is at the target path already. */
export interface TargetOptions {
  /**
   * The user named this path on the command line (an output such as
   * `graph.ts -o FILE`): a link there owned by the running user or root is
   * followed and its target replaced (a link owned by anyone else is
   * refused), and a device, FIFO or terminal is written in place. Without
   * it (netmon's own files) a link there is replaced, never followed, and
   * anything but a regular file is refused.
   */
  named?: boolean;
  /**
   * False: nothing is synced. Still atomic for readers and a killed process,
   * but after a power loss the file may be the old one or empty: for files
   * rebuilt from the log when they do not match it (netmon.totals, the
   * textfile, the cycle tally).
   */
  durable?: boolean;
}

/**
 * Opens the FIFO at `path` for writing, waiting at most {@linkcode FIFO_WAIT_MS}
 * for a process to read it (an open for writing waits for one). For
 * {@linkcode AtomicFile.named}.
 */
async function openFifo(path: string, what: string): Promise<Deno.FsFile> {
  const timeout = deadline(
    FIFO_WAIT_MS,
    () =>
      new NetmonError(
        `Cannot write${what} ${path}: it is a FIFO no process read within ${FIFO_WAIT_MS / 1000} s`,
        EX.CANTCREAT,
      ),
  );
  try {
    return await Promise.race([Deno.open(path, { write: true }), timeout]);
  } catch (err) {
    throw fileError(err, `write${what}`, path);
  }
}

/**
 * Opens the device or terminal at `path` (lstat `s`) for writing in place,
 * without creating, or uses `fifo` (opened by {@linkcode AtomicFile.named});
 * refused unless it is the file `s` describes.
 */
function openInPlace(path: string, s: Deno.FileInfo, what: string, fifo: Deno.FsFile | undefined): Deno.FsFile {
  let file: Deno.FsFile;
  if (s.isFifo) {
    if (!fifo) {
      throw new NetmonError(
        `Cannot write${what} ${path}: it is a FIFO, which netmon writes only as an output named on the command line`,
        EX.CANTCREAT,
      );
    }
    file = fifo;
  } else {
    try {
      file = Deno.openSync(path, { write: true });
    } catch (err) {
      throw fileError(err, `write${what}`, path);
    }
  }
  const o = file.statSync();
  if (o.dev !== s.dev || o.ino !== s.ino || o.isFile || o.isDirectory) {
    file.close();
    throw new NetmonError(`Cannot write${what} ${path}: it changed while netmon opened it`, EX.CANTCREAT);
  }
  return file;
}

/**
 * A replacement of `final` being written: {@linkcode AtomicFile.commit}
 * renames it into place, {@linkcode AtomicFile.abandon} removes it. A
 * target that is a device, FIFO or terminal the user named is written in
 * place instead (renaming over `/dev/null` would replace the device).
 *
 * @example
 * ```ts
 * const f = new AtomicFile("/var/lib/netmon/usage.dat", 0o644);
 * f.write("Date\tProxy\n");
 * f.commit();
 * ```
 */
export class AtomicFile {
  /** The temporary file's path (the target itself when written in place). */
  readonly tmp: string;
  readonly #file: SafeFile | Deno.FsFile;
  readonly #final: string;
  readonly #what: string;
  readonly #inPlace: boolean;
  readonly #durable: boolean;
  /** The target was named by the user (see {@linkcode TargetOptions.named}). */
  readonly #named: boolean;
  /** Whether the data written so far is synced (by {@linkcode AtomicFile.sync}): the commit need not sync it again. */
  #synced = false;
  #open = true;

  /**
   * Like the constructor, for a target the user named (`opts.named`): a FIFO
   * there is waited on for a reader, at most {@linkcode FIFO_WAIT_MS}.
   */
  static async named(final: string, mode: number, what = "", opts: TargetOptions = {}): Promise<AtomicFile> {
    const named = { ...opts, named: true };
    let s: Deno.FileInfo | undefined;
    let target: Deno.FileInfo | undefined;
    try {
      s = lstatOrUndefined(final);
      target = s?.isSymlink ? AtomicFile.followNamed(final, s, what).stat : s;
    } catch (e) {
      // No read permission for the path: the constructor names the write permission Deno will refuse too.
      if (!(e instanceof NetmonError && /^Deno denied read access/.test(e.message))) throw e;
    }
    if (!target?.isFifo) return new AtomicFile(final, mode, what, named);
    const path = s?.isSymlink ? Deno.realPathSync(final) : final;
    return new AtomicFile(final, mode, what, named, await openFifo(path, what ? ` ${what}` : ""));
  }

  /**
   * Where a replacement of `final`, a path the user named that is the link `s`, goes: its target (refusing another
   * user's link), with the target's lstat. What {@linkcode AtomicFile.named} and the constructor follow; what else
   * must go where the replacement goes (gnuplot's input, beside the picture) asks it.
   */
  static followNamed(final: string, s: Deno.FileInfo, what = ""): { target: string; stat: Deno.FileInfo | undefined } {
    const target = AtomicFile.#follow(final, s, what ? ` ${what}` : "");
    return { target, stat: lstatOrUndefined(target) };
  }

  /** The target of the link `s` at `final` the user named, refusing another user's link. */
  static #follow(final: string, s: Deno.FileInfo, what: string): string {
    if (!ownerAllowed(s.uid, "self-or-root")) {
      throw new NetmonError(
        `Cannot write${what} ${final}: it is a symbolic link owned by uid ${s.uid}, not by this user or ` +
          "root: netmon does not write through another user's link (remove it, or name its target)",
        EX.CANTCREAT,
      );
    }
    try {
      return Deno.realPathSync(final);
    } catch (e) {
      throw fileError(e, `follow the link${what}`, final);
    }
  }

  /**
   * Creates the temporary file exclusively, with `mode` whatever the umask;
   * `what` names the file in errors. A FIFO the user named is written through
   * `fifo`, opened by {@linkcode AtomicFile.named}.
   */
  constructor(final: string, mode: number, what = "", opts: TargetOptions = {}, fifo?: Deno.FsFile) {
    this.#what = what ? ` ${what}` : "";
    this.#durable = opts.durable ?? true;
    this.#named = opts.named ?? false;
    let target = final;
    let s: Deno.FileInfo | undefined;
    try {
      s = lstatOrUndefined(final);
    } catch (e) {
      // No read permission for the path: Deno will refuse the write too, and that is the flag to name.
      if (!(e instanceof NetmonError && /^Deno denied read access/.test(e.message))) throw e;
    }
    if (s?.isSymlink && opts.named) ({ target, stat: s } = AtomicFile.followNamed(final, s, what));
    this.#final = target;
    if (s && !s.isFile && !s.isSymlink) {
      if (!opts.named || s.isDirectory) {
        throw new NetmonError(
          `Cannot write${this.#what} ${final}: it is a ${kindOf(s)}, not a regular file (remove it)`,
          EX.CANTCREAT,
        );
      }
      this.#file = openInPlace(target, s, this.#what, fifo);
      this.#inPlace = true;
      this.tmp = target;
      return;
    }
    this.#inPlace = false;
    this.tmp = tempBeside(target);
    try {
      this.#file = SafeFile.open(this.tmp, { what: what || "file", write: true, create: mode }) as SafeFile;
    } catch (e) {
      // Name the file the user knows, not its temporary name.
      throw fileError(e instanceof NetmonError && e.cause ? e.cause : e, `create${this.#what}`, final);
    }
  }

  /** Appends `text` to the replacement. */
  write(text: string | Uint8Array): void {
    this.#synced = false;
    try {
      writeAll(this.#file, typeof text === "string" ? encoder.encode(text) : text);
    } catch (e) {
      this.abandon();
      throw fileError(e, `write${this.#what}`, this.#final);
    }
  }

  /** Syncs the replacement's data: after this a full disk can no longer fail the commit. */
  sync(): void {
    if (this.#inPlace || !this.#durable) return;
    try {
      (this.#file as SafeFile).syncDataSync();
      this.#synced = true;
    } catch (e) {
      this.abandon();
      throw fileError(e, `write${this.#what}`, this.#final);
    }
  }

  /** Renames the replacement over the target and syncs the directory. */
  commit(): void {
    if (this.#inPlace) {
      this.#close();
      return;
    }
    try {
      const file = this.#file as SafeFile;
      if (this.#durable && !this.#synced) file.syncDataSync();
      // Another user who can write the directory may have swapped the temporary name meanwhile.
      const now = lstatOrUndefined(this.tmp);
      const mine = file.statSync();
      if (!now || now.ino !== mine.ino || now.dev !== mine.dev) {
        throw new NetmonError(
          `Cannot write${this.#what} ${this.#final}: its temporary file ${this.tmp} was replaced by someone else`,
          EX.CANTCREAT,
        );
      }
      this.#close();
      Deno.renameSync(this.tmp, this.#final);
    } catch (e) {
      this.abandon();
      throw e instanceof NetmonError ? e : fileError(e, `write${this.#what}`, this.#final);
    }
    if (this.#durable) syncDir(dirOf(this.#final), this.#named);
  }

  /** Removes the replacement; the target stays as it was. */
  abandon(): void {
    this.#close();
    if (!this.#inPlace) this.#discard();
  }

  #close(): void {
    if (!this.#open) return;
    this.#open = false;
    try {
      this.#file.close();
    } catch { /* closed */ }
  }

  #discard(): void {
    try {
      Deno.removeSync(this.tmp);
    } catch { /* gone, or never made */ }
  }
}

/** Removes `path` (a link itself, never what it points to); nothing when it is already gone. */
export function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "remove", path);
  }
}

/** Replaces `path` with `text` atomically, the new file having `mode`. */
export function replaceFile(
  path: string,
  text: string | Uint8Array,
  mode: number,
  what = "",
  opts: TargetOptions = {},
): void {
  const f = new AtomicFile(path, mode, what, opts);
  f.write(text);
  f.commit();
}

/** {@linkcode replaceFile} for a target the user named: see {@linkcode AtomicFile.named}. */
export async function replaceNamedFile(
  path: string,
  text: string | Uint8Array,
  mode: number,
  what = "",
): Promise<void> {
  const f = await AtomicFile.named(path, mode, what);
  f.write(text);
  f.commit();
}

/**
 * Whether the open `file` of `size` bytes ends with a newline; false when it
 * cannot be read back (opened for writing alone), so that a line appended
 * after it goes on its own (an empty line before it is harmless to readers).
 */
function endsWithNewline(file: SafeFile, size: number): boolean {
  try {
    const last = new Uint8Array(1);
    file.seekSync(size - 1);
    return file.readSync(last) === 1 && last[0] === 10;
  } catch {
    return false;
  }
}

/**
 * Appends `text` to `path` whole or not at all (a failed write is cut off
 * again), creating it with `mode`. With `ownLine`, `text` starts on a line of
 * its own even after a last line a killed run left without its newline.
 */
export function appendWhole(
  path: string,
  text: string,
  mode: number,
  what = "",
  opts: { ownLine?: boolean } = {},
): void {
  const noun = what ? ` ${what}` : "";
  const file = SafeFile.must(path, { what: what || "file", write: true, append: true, create: mode });
  let size = 0;
  try {
    const s = file.statSync();
    size = s.size;
    tightenMode(path, mode, s.mode); // no call unless looser than `mode`
    if (opts.ownLine && size > 0 && !endsWithNewline(file, size)) text = `\n${text}`;
    writeAll(file, encoder.encode(text));
    file.syncDataSync();
  } catch (err) {
    // Leave no partial line behind (e.g. the disk filled up mid-write).
    try {
      file.truncateSync(size);
    } catch { /* a reader cuts a torn line off anyway */ }
    throw fileError(err, `append to${noun}`, path);
  } finally {
    file.close();
  }
}
