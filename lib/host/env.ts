/**
 * Host access the CLI needs besides files and commands: environment
 * variables and the user id, each refusal by Deno turned into a one-line
 * error naming the flag to add.
 *
 * @module
 */

import { denoPermissionError } from "./errors.ts";

function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw denoPermissionError(err) ?? err;
  }
}

/** Reads an environment variable (needs `--allow-env=NAME`). */
export function getEnv(name: string): string | undefined {
  return guarded(() => Deno.env.get(name));
}

/** The user id (needs `--allow-sys=uid`). */
export function getUid(): number | null {
  return guarded(() => Deno.uid());
}

/** True if `path` exists (needs read access to it). */
export function exists(path: string): boolean {
  return guarded(() => {
    try {
      Deno.statSync(path);
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  });
}
