/**
 * Writes the Prometheus textfile atomically, so node_exporter never serves
 * half a file: through lib/host/files.ts's AtomicFile (a hidden temporary
 * `.NAME.RANDOM.tmp` beside it, which the textfile collector ignores as it
 * reads only `*.prom`, created exclusively, synced, renamed over the target).
 *
 * @module
 */

import { EX, fileError, NetmonError } from "../host/errors.ts";
import { replaceFile } from "../host/files.ts";
import { utf8 } from "../host/utf8.ts";

/**
 * Replaces `path` with `text`, mode `mode` (default 0644: node_exporter runs
 * as its own user, `prometheus` on Debian, and must read it). Refuses a
 * target that exists and is not a regular file (or a link to one). Throws a
 * NetmonError: 73 when the directory is missing, 77 when permission is
 * denied, 74 otherwise.
 */
export function writeTextfile(path: string, text: string, mode = 0o644): void {
  try {
    if (!Deno.statSync(path).isFile) {
      throw new NetmonError(`Cannot write ${path}: it exists and is not a regular file`, EX.CANTCREAT);
    }
  } catch (err) {
    if (err instanceof NetmonError) throw err;
    if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "write", path);
  }
  // Not synced: node_exporter sees the old file or the new one either way, and every report rewrites it.
  replaceFile(path, utf8(text), mode, "Prometheus textfile", { durable: false });
}
