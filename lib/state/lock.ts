/**
 * The state directory's lock: one run at a time records a sample or delivers
 * the spool; the others queue, and give up after a bounded wait.
 *
 * @module
 */

import { EX, fileError, NetmonError } from "../host/errors.ts";
import { deadline, SafeFile, tightenMode } from "../host/safe_open.ts";
import type { StateFiles } from "./files.ts";

/**
 * The lock files' mode: no other user may open one, as whoever can open it
 * can hold it (flock needs only a descriptor for reading), and every run
 * then gives up after its wait, logging no sample for as long as they like.
 */
export const LOCK_MODE = 0o600;

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
 *
 * One that others may read (an older netmon made them 0640, and the README
 * once gave the state directory's group read access to all of it) is brought
 * to {@linkcode LOCK_MODE} where that can be done safely (safe_open.ts's
 * tightenMode); the run goes on either way. Returns the file and, for one
 * others could open, what the run that waits in vain says of it.
 */
async function openLockFile(path: string, timeoutMs: number): Promise<{ file: Deno.FsFile; loose?: string }> {
  // The deadline's timer is made only where needed: Deno's first timer costs about 10 ms of every run.
  const lock = await SafeFile.openBounded(path, { what: "lock file", owners: "self", create: LOCK_MODE }, timeoutMs);
  if (!lock) throw fileError(new Deno.errors.NotFound("it went while netmon opened it"), "open lock file", path);
  const mode = lock.statSync().mode;
  if (mode === null || (mode & 0o077) === 0) return { file: lock.file };
  const was = (mode & 0o7777).toString(8).padStart(4, "0");
  // A descriptor another user opened meanwhile outlives a chmod: only a new file ends it.
  const loose = tightenMode(path, LOCK_MODE, mode)
    ? `its mode was ${was}, so another user may have opened it and hold it; netmon made it 0600: if this goes on, ` +
      `remove ${path} while no netmon runs (netmon makes it again)`
    : `its mode is ${was}, so another user may hold it: remove ${path} while no netmon runs (netmon makes it ` +
      "again, 0600)";
  return { file: lock.file, loose };
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
  const { file: lockFile, loose } = await openLockFile(files.lock, timeoutMs);
  const late = () =>
    new NetmonError(
      `Another netmon run has held ${files.lock} for ${timeoutMs / 1000} s; giving up, try again later` +
        (loose === undefined ? "" : ` (${loose})`),
      EX.TEMPFAIL,
    );
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
