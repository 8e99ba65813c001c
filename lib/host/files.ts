/**
 * Writing files so that a reader sees the old content or the new, never half:
 * the one home of netmon's atomic replace and whole append, used by the state
 * files, the graph outputs and every later output.
 *
 * A replacement is written to a hidden temporary file beside its target,
 * created exclusively (so nothing planted at that name is followed or
 * reused), with its mode set explicitly, synced, then renamed over the target
 * and the directory synced.
 *
 * @module
 */

import { fileError } from "./errors.ts";

const encoder = new TextEncoder();

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

/**
 * A replacement of `final` being written: {@linkcode AtomicFile.commit}
 * renames it into place, {@linkcode AtomicFile.abandon} removes it.
 *
 * @example
 * ```ts
 * const f = new AtomicFile("/var/lib/netmon/usage.dat", 0o644);
 * f.write("Date\tProxy\n");
 * f.commit();
 * ```
 */
export class AtomicFile {
  /** The temporary file's path. */
  readonly tmp: string;
  readonly #file: Deno.FsFile;
  readonly #final: string;
  readonly #what: string;
  readonly #durable: boolean;
  #open = true;

  /**
   * Creates the temporary file exclusively, with `mode` whatever the umask; `what` names the file in errors.
   * With `durable` false nothing is synced: still atomic for readers, but after a power loss the file may be the
   * old one or empty; for files rebuilt from the log or rewritten by every run (netmon.totals, the textfile).
   */
  constructor(final: string, mode: number, what = "", durable = true) {
    this.#final = final;
    this.#durable = durable;
    this.#what = what ? ` ${what}` : "";
    this.tmp = tempBeside(final);
    try {
      this.#file = Deno.openSync(this.tmp, { write: true, createNew: true, mode });
      Deno.chmodSync(this.tmp, mode); // the umask narrowed what open set
    } catch (e) {
      this.#discard();
      throw fileError(e, `create${this.#what}`, final);
    }
  }

  /** Appends `text` to the replacement. */
  write(text: string | Uint8Array): void {
    try {
      writeAll(this.#file, typeof text === "string" ? encoder.encode(text) : text);
    } catch (e) {
      this.abandon();
      throw fileError(e, `write${this.#what}`, this.#final);
    }
  }

  /** Syncs the replacement's data: after this a full disk can no longer fail the commit. */
  sync(): void {
    if (!this.#durable) return;
    try {
      this.#file.syncDataSync();
    } catch (e) {
      this.abandon();
      throw fileError(e, `write${this.#what}`, this.#final);
    }
  }

  /**
   * Renames the replacement over the target and syncs the directory. With
   * `durable` false (default: as constructed) nothing is synced: readers and a
   * killed process still see the old file or the new one whole, but after a
   * power cut only as far as a later sync in the same file system carried it.
   */
  commit(durable = this.#durable): void {
    try {
      if (durable) this.#file.syncDataSync();
      this.#close();
      Deno.renameSync(this.tmp, this.#final);
    } catch (e) {
      this.abandon();
      throw fileError(e, `write${this.#what}`, this.#final);
    }
    if (durable) syncDir(this.#final.slice(0, this.#final.lastIndexOf("/")) || "/");
  }

  /** Removes the replacement; the target stays as it was. */
  abandon(): void {
    this.#close();
    this.#discard();
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

/** Replaces `path` with `text` atomically, the new file having `mode`; `durable` as in {@linkcode AtomicFile.commit}. */
export function replaceFile(path: string, text: string | Uint8Array, mode: number, what = "", durable = true): void {
  const f = new AtomicFile(path, mode, what, durable);
  f.write(text);
  f.commit(durable);
}

/** Appends `text` to `path` whole or not at all (a failed write is cut off again), creating it with `mode`. */
export function appendWhole(path: string, text: string, mode: number, what = ""): void {
  const noun = what ? ` ${what}` : "";
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { append: true, create: true, mode });
  } catch (err) {
    throw fileError(err, `create${noun}`, path);
  }
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
    throw fileError(err, `append to${noun}`, path);
  } finally {
    file.close();
  }
}
