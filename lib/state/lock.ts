/**
 * The state directory's lock: one run at a time records a sample or delivers
 * the spool; the others queue, and give up after a bounded wait.
 *
 * @module
 */

import { EX, fileError, NetmonError } from "../host/errors.ts";
import type { StateFiles } from "./files.ts";

/**
 * Runs `fn` holding the state directory's lock, so overlapping runs (cron
 * firing while a slow run goes on) queue instead of interleaving. Gives up
 * with exit 75 after `timeoutMs`.
 */
export async function withLock<T>(files: StateFiles, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let lockFile: Deno.FsFile;
  try {
    lockFile = Deno.openSync(files.lock, { write: true, create: true, mode: 0o640 });
  } catch (err) {
    throw fileError(err, "create lock file", files.lock);
  }
  try {
    // Usually nobody holds it: take it at once, without timers or promises.
    if (lockFile.tryLockSync(true)) return await fn();
    // AbortSignal.timeout, unlike setTimeout, does not keep the process alive.
    const signal = AbortSignal.timeout(timeoutMs);
    const timeout = new Promise<never>((_, reject) => {
      signal.addEventListener("abort", () => {
        reject(
          new NetmonError(
            `Another netmon run has held ${files.lock} for ${timeoutMs / 1000} s; giving up, try again later`,
            EX.TEMPFAIL,
          ),
        );
      });
    });
    await Promise.race([lockFile.lock(true), timeout]);
    return await fn();
  } finally {
    // Closing the file releases the lock, even if lock() is still pending.
    lockFile.close();
  }
}
