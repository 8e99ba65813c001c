/**
 * The state directory's lock: one run at a time records a sample or delivers
 * the spool; the others queue, and give up after a bounded wait.
 *
 * @module
 */

import { EX, fileError, NetmonError } from "../host/errors.ts";
import { deadline, SafeFile } from "../host/safe_open.ts";
import type { StateFiles } from "./files.ts";

/**
 * Opens the lock file for Deno's flock without following a planted link or
 * blocking on a planted FIFO: it is first created or checked through
 * safe_open (a regular file of this user), then opened by Deno, within the
 * deadline (an open that blocks never holds the run past it), and refused
 * unless Deno opened that same file.
 */
async function openLockFile(path: string, deadline: Promise<never>): Promise<Deno.FsFile> {
  // flock needs no write access: a lock file on a read-only file system still works, and the run fails where it writes.
  const checked = SafeFile.must(path, { what: "lock file", owners: "self", create: 0o640 });
  const want = checked.statSync();
  checked.close();
  let file: Deno.FsFile;
  try {
    file = await Promise.race([Deno.open(path, { read: true }), deadline]);
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

/**
 * Runs `fn` holding the state directory's lock, so overlapping runs (cron
 * firing while a slow run goes on) queue instead of interleaving. Gives up
 * with exit 75 after `timeoutMs`.
 */
export async function withLock<T>(files: StateFiles, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const timeout = deadline(
    timeoutMs,
    () =>
      new NetmonError(
        `Another netmon run has held ${files.lock} for ${timeoutMs / 1000} s; giving up, try again later`,
        EX.TEMPFAIL,
      ),
  );
  const lockFile = await openLockFile(files.lock, timeout);
  try {
    // Usually nobody holds it: take it at once.
    if (lockFile.tryLockSync(true)) return await fn();
    await Promise.race([lockFile.lock(true), timeout]);
    return await fn();
  } finally {
    // Closing the file releases the lock, even if lock() is still pending.
    lockFile.close();
  }
}
