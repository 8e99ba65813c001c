/**
 * Opening files as root without following a planted link and without
 * blocking on a planted FIFO: the one way netmon opens its state files, spool
 * entries, attachments and logs.
 *
 * Neither `Deno.openSync` nor node:fs's `O_NOFOLLOW` can be relied on to
 * refuse a link: under scoped permissions (`--allow-read=DIR`) Deno resolves
 * the path before opening it, so `O_NOFOLLOW` never sees the link (checked
 * with Deno 2.9.6). So every open here is
 *
 * 1. `lstat` the path (never follows): it must be a regular file (a link only
 *    where the caller allows it), owned by the running user (or root, for
 *    reading);
 * 2. open it through node:fs with `O_NONBLOCK` and without `O_CREAT` or
 *    `O_TRUNC`, so that a FIFO or device swapped in meanwhile neither blocks
 *    nor is changed by the open;
 * 3. `fstat` what was opened: the same device and inode as step 1, or it is
 *    refused.
 *
 * A missing file is created with `O_CREAT|O_EXCL` (which never follows a
 * link, even a dangling one) and its mode set on the descriptor (`fchmod`),
 * so the umask cannot change it and no path is looked up again.
 *
 * @module
 */

import fs from "node:fs";
import { getUid } from "./env.ts";
import { EX, fileError, NetmonError } from "./errors.ts";

const C = fs.constants;

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
}

/** The kind of a file as words, from a stat. */
export function kindOf(
  s: {
    isFile(): boolean;
    isDirectory(): boolean;
    isSymbolicLink(): boolean;
    isFIFO(): boolean;
    isCharacterDevice(): boolean;
    isBlockDevice(): boolean;
    isSocket(): boolean;
  },
): string {
  if (s.isFile()) return "regular file";
  if (s.isDirectory()) return "directory";
  if (s.isSymbolicLink()) return "symbolic link";
  if (s.isFIFO()) return "FIFO";
  if (s.isCharacterDevice()) return "character device";
  if (s.isBlockDevice()) return "block device";
  if (s.isSocket()) return "socket";
  return "special file";
}

let uid: number | null | undefined;
/** The running user's id (null where there is none, e.g. Windows); needs `--allow-sys=uid`. */
export function runningUid(): number | null {
  if (uid === undefined) uid = getUid();
  return uid;
}

/** True when `owner` may own a file under `owners`. */
export function ownerAllowed(owner: number, owners: Owners): boolean {
  const me = runningUid();
  if (owners === "anyone" || me === null) return true;
  return owner === me || (owners === "self-or-root" && owner === 0);
}

function refuse(path: string, what: string, why: string, spec: OpenSpec, code?: number): NetmonError {
  const status = code ?? (spec.write || spec.create !== undefined ? EX.CANTCREAT : EX.NOINPUT);
  return new NetmonError(`${path}: the ${what} ${why}`, status);
}

function errnoCode(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

/** Turns a node:fs error into netmon's one-line error, keeping Deno's permission refusals as they are. */
function nodeError(err: unknown, action: string, path: string): NetmonError {
  const code = errnoCode(err);
  const map: Record<string, () => Error> = {
    ENOENT: () => new Deno.errors.NotFound(String(err)),
    EACCES: () => new Deno.errors.PermissionDenied(String(err)),
    EPERM: () => new Deno.errors.PermissionDenied(String(err)),
  };
  let mapped = code && map[code] ? map[code]() : err;
  // node:fs says "EROFS: read-only file system, open '…'": keep the words, as Deno's own errors read.
  const said = /^E[A-Z]+: ([^,]+)/.exec((err as Error)?.message ?? "")?.[1];
  if (mapped === err && said) mapped = new Error(`${said[0]?.toUpperCase()}${said.slice(1)} (${code})`);
  return fileError(mapped, action, path);
}

/** Checks an lstat (or stat) result against `spec`; returns the refusal, if any. */
function checkStat(path: string, s: fs.Stats, spec: OpenSpec): NetmonError | undefined {
  if (s.isSymbolicLink()) {
    return refuse(path, spec.what, "is a symbolic link: netmon does not follow links here (remove it)", spec);
  }
  if (!s.isFile()) {
    return refuse(path, spec.what, `is a ${kindOf(s)}, not a regular file: refused (remove it)`, spec);
  }
  const owners = spec.owners ?? (spec.write ? "self" : "self-or-root");
  if (!ownerAllowed(s.uid, owners)) {
    return refuse(
      path,
      spec.what,
      `belongs to uid ${s.uid}, not to this user (uid ${runningUid()}): refused, as another user may have planted it ` +
        `(check it, then chown it or remove it)`,
      spec,
      EX.NOPERM,
    );
  }
  return undefined;
}

/**
 * An open file, by descriptor: reads from a position it keeps (so it can be
 * read twice), writes, syncs, truncates and closes.
 */
export class SafeFile {
  #pos = 0;
  #open = true;
  private constructor(readonly fd: number, readonly path: string, readonly what: string) {}

  /**
   * Opens `path` as `spec` says (see the module's steps), or returns undefined
   * when it is missing and `spec.create` is not set. Throws a one-line
   * NetmonError for anything else.
   */
  static open(path: string, spec: OpenSpec): SafeFile | undefined {
    for (let attempt = 0; attempt < 3; attempt++) {
      let s: fs.Stats | undefined;
      let denied: unknown;
      try {
        s = spec.follow ? fs.statSync(path) : fs.lstatSync(path);
      } catch (err) {
        // Without read permission a new file can still be made: O_EXCL needs no look first, and Deno then names
        // the write permission that is missing, if it is.
        const unreadable = (err as Error).name === "NotCapable" && spec.create !== undefined;
        if (unreadable) denied = err;
        if (errnoCode(err) !== "ENOENT" && !(err instanceof Deno.errors.NotFound) && !unreadable) {
          throw nodeError(err, `read ${spec.what}`, path);
        }
      }
      if (s === undefined) {
        if (spec.create === undefined) return undefined;
        // Write-only: a file made here is only written (and so needs no read permission).
        const flags = C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_WRONLY | (spec.append ? C.O_APPEND : 0);
        let fd: number;
        try {
          fd = fs.openSync(path, flags, spec.create);
        } catch (err) {
          // There already, and Deno would not let us look: that is the permission to name, not a race.
          if (errnoCode(err) === "EEXIST" && denied !== undefined) throw nodeError(denied, `read ${spec.what}`, path);
          if (errnoCode(err) === "EEXIST") continue; // made meanwhile: look at it again
          throw nodeError(err, `create ${spec.what}`, path);
        }
        try {
          fs.fchmodSync(fd, spec.create);
        } catch (err) {
          fs.closeSync(fd);
          throw nodeError(err, `create ${spec.what}`, path);
        }
        return new SafeFile(fd, path, spec.what);
      }
      const bad = checkStat(path, s, spec);
      if (bad) throw bad;
      const flags = C.O_NONBLOCK | (spec.follow ? 0 : C.O_NOFOLLOW) |
        (spec.write ? (spec.append ? C.O_APPEND | C.O_WRONLY : C.O_RDWR) : C.O_RDONLY);
      let fd: number;
      try {
        fd = fs.openSync(path, flags);
      } catch (err) {
        if (errnoCode(err) === "ENOENT") continue; // removed meanwhile
        throw nodeError(err, `${spec.write ? "write" : "read"} ${spec.what}`, path);
      }
      const opened = fs.fstatSync(fd);
      if (opened.dev !== s.dev || opened.ino !== s.ino || !opened.isFile()) {
        fs.closeSync(fd);
        throw refuse(
          path,
          spec.what,
          "changed while netmon opened it (another user is tampering with it?): refused",
          spec,
        );
      }
      return new SafeFile(fd, path, spec.what);
    }
    throw refuse(path, spec.what, "keeps changing while netmon opens it (another user is tampering with it?)", spec);
  }

  /** Like {@linkcode SafeFile.open}, but a missing file is Deno's NotFound. */
  static must(path: string, spec: OpenSpec): SafeFile {
    const f = SafeFile.open(path, spec);
    if (!f) throw new Deno.errors.NotFound(`${path}: no such file`);
    return f;
  }

  /** Reads into `p` from the current position; null at the end. */
  readSync(p: Uint8Array): number | null {
    if (p.length === 0) return 0;
    const n = fs.readSync(this.fd, p, 0, p.length, this.#pos);
    this.#pos += n;
    return n === 0 ? null : n;
  }

  /** Sets the read position (only from the start). */
  seekSync(offset: number, _whence?: Deno.SeekMode): number {
    this.#pos = offset;
    return offset;
  }

  /** Writes part of `p`; returns how much. */
  writeSync(p: Uint8Array): number {
    return fs.writeSync(this.fd, p);
  }

  /** The file's size and owner now. */
  statSync(): { size: number; uid: number; dev: number; ino: number } {
    const s = fs.fstatSync(this.fd);
    return { size: s.size, uid: s.uid, dev: s.dev, ino: s.ino };
  }

  /** Cuts the file to `len` bytes. */
  truncateSync(len: number): void {
    fs.ftruncateSync(this.fd, len);
  }

  /** Flushes the data to the disk. */
  syncDataSync(): void {
    fs.fdatasyncSync(this.fd);
  }

  /** Closes the descriptor (again is harmless). */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    fs.closeSync(this.fd);
  }
}

/**
 * Reads the whole regular file at `path` as `spec` says, refusing one larger
 * than `max` bytes; undefined if it is missing.
 */
export function readWhole(path: string, spec: OpenSpec, max: number): Uint8Array | undefined {
  const f = SafeFile.open(path, spec);
  if (!f) return undefined;
  try {
    const size = f.statSync().size;
    if (size > max) {
      throw new NetmonError(
        `${path}: the ${spec.what} is ${size} bytes, more than the ${max} netmon reads: refused`,
        EX.DATAERR,
      );
    }
    const buf = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const n = f.readSync(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    return buf.subarray(0, got);
  } catch (err) {
    throw err instanceof NetmonError ? err : nodeError(err, `read ${spec.what}`, path);
  } finally {
    f.close();
  }
}

/** {@linkcode readWhole} as UTF-8 text. */
export function readWholeText(path: string, spec: OpenSpec, max: number): string | undefined {
  const bytes = readWhole(path, spec, max);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

/**
 * Checks that `path` is a directory netmon may use as root: not a link, a
 * directory, owned by the running user or root. Returns false when missing.
 */
export function checkDir(path: string, what: string): boolean {
  let s: fs.Stats;
  try {
    s = fs.lstatSync(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || err instanceof Deno.errors.NotFound) return false;
    throw nodeError(err, `read ${what}`, path);
  }
  const spec: OpenSpec = { what, write: true };
  if (s.isSymbolicLink()) {
    throw refuse(path, what, "is a symbolic link: netmon does not follow links here (remove it)", spec);
  }
  if (!s.isDirectory()) throw refuse(path, what, `is a ${kindOf(s)}, not a directory: refused`, spec);
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

/** The lstat of `path` through node:fs, or undefined when missing. */
export function lstatOrUndefined(path: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR" || err instanceof Deno.errors.NotFound) {
      return undefined;
    }
    throw nodeError(err, "look at", path);
  }
}

/** Turns an error from node:fs on `path` into netmon's one-line error. */
export { nodeError };
