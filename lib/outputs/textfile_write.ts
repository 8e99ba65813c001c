/**
 * Writes the Prometheus textfile atomically, so node_exporter never serves
 * half a file: a new temporary file (`.NAME.PID.tmp`, which the textfile
 * collector ignores, as it reads only `*.prom`) in the same directory,
 * synced, then renamed over the target.
 *
 * @module
 */

import { EX, fileError, NetmonError } from "../host/errors.ts";

const encoder = new TextEncoder();

/**
 * Replaces `path` with `text`, mode `mode` (default 0644: node_exporter runs
 * as its own user, `prometheus` on Debian, and must read it). Refuses a
 * target that exists and is not a regular file (or a link to one). Throws a
 * NetmonError: 73 when the directory is missing, 77 when permission is
 * denied, 74 otherwise.
 */
export function writeTextfile(path: string, text: string, mode = 0o644): void {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
  const tmp = `${dir}/.${path.slice(slash + 1)}.${Deno.pid}.tmp`;
  try {
    const st = Deno.statSync(path);
    if (!st.isFile) {
      throw new NetmonError(`Cannot write ${path}: it exists and is not a regular file`, EX.CANTCREAT);
    }
  } catch (err) {
    if (err instanceof NetmonError) throw err;
    if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "write", path);
  }
  // A temp file left by a run that died at this very instant (same PID after a wrap) is ours to replace.
  try {
    if (Deno.lstatSync(tmp).isFile) Deno.removeSync(tmp);
  } catch { /* none */ }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(tmp, { write: true, createNew: true, mode });
  } catch (err) {
    throw fileError(err, "create", tmp);
  }
  try {
    try {
      Deno.chmodSync(tmp, mode); // the umask must not narrow it
      const data = encoder.encode(text);
      let done = 0;
      while (done < data.length) done += file.writeSync(data.subarray(done));
      file.syncDataSync();
    } finally {
      file.close();
    }
    Deno.renameSync(tmp, path);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch { /* already gone */ }
    throw fileError(err, "write", path);
  }
}
