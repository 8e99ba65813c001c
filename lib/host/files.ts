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

import fs from "node:fs";
import { EX, fileError, NetmonError } from "./errors.ts";
import { kindOf, lstatOrUndefined, nodeError, ownerAllowed, SafeFile } from "./safe_open.ts";

const encoder = new TextEncoder();

/** Sleeps `ms` milliseconds without the event loop (a full pipe, written in place). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Writes all of `data` (a single write may take only part of it). A
 * non-blocking descriptor that is full (a FIFO or terminal written in place)
 * is waited for, at most 60 s in all.
 */
export function writeAll(file: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let done = 0;
  let waited = 0;
  while (done < data.length) {
    try {
      done += file.writeSync(data.subarray(done));
    } catch (err) {
      if ((err as { code?: string }).code !== "EAGAIN" || waited >= 60_000) throw err;
      pause(10);
      waited += 10;
    }
  }
}

/** A hidden temporary name beside `path` (same directory, so a rename replaces it atomically), unique to this call. */
export function tempBeside(path: string): string {
  const slash = path.lastIndexOf("/");
  const suffix = [...crypto.getRandomValues(new Uint8Array(6))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${suffix}.tmp`;
}

/** Syncs directory `dir`, so a rename in it survives a crash; a directory that cannot be synced only weakens durability. */
function syncDir(dir: string): void {
  try {
    const d = Deno.openSync(dir, { read: true });
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
   * textfile) or made durable by a sync that follows (netmon.ident).
   */
  durable?: boolean;
}

/** Opens a device, FIFO or terminal at `path` (lstat `s`) for writing in place, without blocking or creating. */
function openInPlace(path: string, s: fs.Stats, what: string): number {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as { code?: string }).code === "ENXIO") {
      throw new NetmonError(`Cannot write${what} ${path}: it is a FIFO no process reads`, EX.CANTCREAT);
    }
    throw nodeError(err, `write${what}`, path);
  }
  const o = fs.fstatSync(fd);
  if (o.dev !== s.dev || o.ino !== s.ino || o.isFile() || o.isDirectory()) {
    fs.closeSync(fd);
    throw new NetmonError(`Cannot write${what} ${path}: it changed while netmon opened it`, EX.CANTCREAT);
  }
  return fd;
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
  readonly #file: SafeFile | { fd: number; writeSync(p: Uint8Array): number; close(): void };
  readonly #final: string;
  readonly #what: string;
  readonly #inPlace: boolean;
  readonly #durable: boolean;
  #open = true;

  /** Creates the temporary file exclusively, with `mode` whatever the umask; `what` names the file in errors. */
  constructor(final: string, mode: number, what = "", opts: TargetOptions = {}) {
    this.#what = what ? ` ${what}` : "";
    this.#durable = opts.durable ?? true;
    let target = final;
    let s: fs.Stats | undefined;
    try {
      s = lstatOrUndefined(final);
    } catch (e) {
      // No read permission for the path: Deno will refuse the write too, and that is the flag to name.
      if (!(e instanceof NetmonError && /^Deno denied read access/.test(e.message))) throw e;
    }
    if (s?.isSymbolicLink() && opts.named) {
      if (!ownerAllowed(s.uid, "self-or-root")) {
        throw new NetmonError(
          `Cannot write${this.#what} ${final}: it is a symbolic link owned by uid ${s.uid}, not by this user or ` +
            "root: netmon does not write through another user's link (remove it, or name its target)",
          EX.CANTCREAT,
        );
      }
      try {
        target = Deno.realPathSync(final);
      } catch (e) {
        throw fileError(e, `follow the link${this.#what}`, final);
      }
      s = lstatOrUndefined(target);
    }
    this.#final = target;
    if (s && !s.isFile() && !s.isSymbolicLink()) {
      if (!opts.named || s.isDirectory()) {
        throw new NetmonError(
          `Cannot write${this.#what} ${final}: it is a ${kindOf(s)}, not a regular file (remove it)`,
          EX.CANTCREAT,
        );
      }
      const fd = openInPlace(target, s, this.#what);
      this.#file = {
        fd,
        writeSync: (p: Uint8Array) => fs.writeSync(fd, p),
        close: () => fs.closeSync(fd),
      };
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
    try {
      writeAll(this.#file, typeof text === "string" ? encoder.encode(text) : text);
    } catch (e) {
      this.abandon();
      throw nodeError(e, `write${this.#what}`, this.#final);
    }
  }

  /** Syncs the replacement's data: after this a full disk can no longer fail the commit. */
  sync(): void {
    if (this.#inPlace || !this.#durable) return;
    try {
      (this.#file as SafeFile).syncDataSync();
    } catch (e) {
      this.abandon();
      throw nodeError(e, `write${this.#what}`, this.#final);
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
      if (this.#durable) file.syncDataSync();
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
      throw e instanceof NetmonError ? e : nodeError(e, `write${this.#what}`, this.#final);
    }
    if (this.#durable) syncDir(this.#final.slice(0, this.#final.lastIndexOf("/")) || "/");
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

/** Appends `text` to `path` whole or not at all (a failed write is cut off again), creating it with `mode`. */
export function appendWhole(path: string, text: string, mode: number, what = ""): void {
  const noun = what ? ` ${what}` : "";
  const file = SafeFile.must(path, { what: what || "file", write: true, append: true, create: mode });
  let size = 0;
  try {
    size = file.statSync().size;
    writeAll(file, encoder.encode(text));
    file.syncDataSync();
  } catch (err) {
    // Leave no partial line behind (e.g. the disk filled up mid-write).
    try {
      file.truncateSync(size);
    } catch { /* a reader cuts a torn line off anyway */ }
    throw nodeError(err, `append to${noun}`, path);
  } finally {
    file.close();
  }
}
