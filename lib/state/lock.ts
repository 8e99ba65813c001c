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
 * Opens the lock file for Deno's flock through safe_open, and keeps that
 * descriptor: looked at first (a regular file of this user, one name, so a
 * planted link, FIFO or device is refused before any open), opened once by
 * name, for reading and writing where this run may write it (which on Linux
 * never waits on a FIFO swapped in meanwhile), and refused unless it is the
 * file looked at. Where this run may only read it (flock needs no write
 * permission) in a directory others can write, that open is raced against
 * the lock's deadline. Opening it by name a second time, after the check,
 * would open whatever link was swapped in meanwhile, a device that acts on
 * open among them.
 */
async function openLockFile(path: string, timeoutMs: number): Promise<Deno.FsFile> {
  // The deadline's timer is made only where needed: Deno's first timer costs about 10 ms of every run.
  const lock = await SafeFile.openBounded(path, { what: "lock file", owners: "self", create: 0o640 }, timeoutMs);
  if (!lock) throw fileError(new Deno.errors.NotFound("it went while netmon opened it"), "open lock file", path);
  return lock.file;
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
  const lockFile = await openLockFile(files.lock, timeoutMs);
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
