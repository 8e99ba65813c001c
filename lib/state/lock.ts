/**
 * The state directory's lock: one run at a time records a sample or delivers
 * the spool; the others queue, and give up after a bounded wait.
 *
 * @module
 */

import { EX, fileError, NetmonError } from "../host/errors.ts";
import { deadline, granted, SafeFile } from "../host/safe_open.ts";
import type { StateFiles } from "./files.ts";

/**
 * Opens the lock file for Deno's flock without following a planted link or
 * blocking on a planted FIFO: it is first created or checked through
 * safe_open (a regular file of this user), then opened by Deno for reading
 * and writing, which on Linux never waits on a FIFO swapped in meanwhile;
 * where this run may only read it (a read-only file system, or no write
 * permission: flock needs none), the open is raced against the deadline
 * instead. Refused unless Deno opened that same file.
 */
async function openLockFile(path: string, timeoutMs: number, late: () => Error): Promise<Deno.FsFile> {
  const checked = SafeFile.must(path, { what: "lock file", owners: "self", create: 0o640 });
  const want = checked.statSync();
  checked.close();
  let file: Deno.FsFile;
  try {
    // The deadline's timer is made only where needed: Deno's first timer costs about 10 ms of every run.
    file = openReadWrite(path) ?? await Promise.race([Deno.open(path, { read: true }), deadline(timeoutMs, late)]);
  } catch (err) {
    throw fileError(err, "open lock file", path);
  }
  const got = file.statSync();
  if (got.dev !== want.dev || got.ino !== want.ino || !got.isFile) {
    file.close();
    throw new NetmonError(
      `${path}: the lock file changed while netmon opened it (another user is tampering?)`,
      EX.CANTCREAT,
    );
  }
  return file;
}

/** `path` opened for reading and writing; undefined where this run may not write it. */
function openReadWrite(path: string): Deno.FsFile | undefined {
  if (!granted("write", path)) return undefined;
  try {
    return Deno.openSync(path, { read: true, write: true });
  } catch (err) {
    if ((err as { code?: string }).code === "EROFS" || err instanceof Deno.errors.PermissionDenied) return undefined;
    throw err;
  }
}

/**
 * Runs `fn` holding the state directory's lock, so overlapping runs (cron
 * firing while a slow run goes on) queue instead of interleaving. Gives up
 * with exit 75 after `timeoutMs`.
 */
export async function withLock<T>(
  files: Pick<StateFiles, "lock">,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const late = () =>
    new NetmonError(
      `Another netmon run has held ${files.lock} for ${timeoutMs / 1000} s; giving up, try again later`,
      EX.TEMPFAIL,
    );
  const lockFile = await openLockFile(files.lock, timeoutMs, late);
  try {
    // Usually nobody holds it: take it at once.
    if (lockFile.tryLockSync(true)) return await fn();
    const left = Math.max(0, timeoutMs - (performance.now() - started));
    await Promise.race([lockFile.lock(true), deadline(left, late)]);
    return await fn();
  } finally {
    // Closing the file releases the lock, even if lock() is still pending.
    lockFile.close();
  }
}
