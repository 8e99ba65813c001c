/**
 * Removes what killed runs left half-written in the spool: a message is
 * written to a temporary file beside its place and renamed into it, so a run
 * killed in between leaves the temporary file (`.NAME.json.XXXX.tmp`), which
 * is never delivered and, without this, never removed.
 *
 * Only called with the state lock held: every spool write happens under it,
 * so any temporary file there then belongs to a run that died.
 *
 * @module
 */

import { fileError } from "../host/errors.ts";

/**
 * Removes the spool's leftover temporary files (or, with `of`, those of that
 * file only, e.g. `netmon.cycles` in the state directory); returns how many.
 * Call with the state lock held.
 */
export function tidySpool(dir: string, of?: string): number {
  let removed = 0;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw fileError(err, "read spool directory", dir);
  }
  for (const e of entries) {
    if (!e.isFile || !/^\..+\.tmp$/.test(e.name) || (of !== undefined && !e.name.startsWith(`.${of}.`))) continue;
    try {
      Deno.removeSync(`${dir}/${e.name}`);
      removed++;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "remove leftover", `${dir}/${e.name}`);
    }
  }
  return removed;
}
