/**
 * `netmon import`: load a whole log into the store, idempotently.
 *
 * @module
 */

import { findConfig, findStateDir, out } from "./context.ts";
import { EX, NetmonError } from "../host/errors.ts";
import { ensureStateDir, stateFiles } from "../state/files.ts";
import { withLock } from "../state/lock.ts";
import type { Options } from "./commands.ts";
import { storePath } from "./report.ts";

/** `netmon import [LOG]`: loads a log into the SQLite store. */
export async function importCommand(opts: Options): Promise<number> {
  const config = findConfig(opts.config);
  const files = stateFiles(findStateDir(opts.stateDir, config));
  if (!config.sqlite) {
    throw new NetmonError(
      `${config.file ?? "the default config"}: store: no SQLite store configured (add store = "sqlite:netmon.sqlite")`,
      EX.CONFIG,
    );
  }
  const log = opts.topic ?? files.log;
  const { importLog, SqliteStore } = await import("../outputs/sqlite.ts");
  ensureStateDir(files);
  const path = storePath(config, files);
  const db = SqliteStore.open(path);
  try {
    const n = await withLock(files, 60_000, () => importLog(db, log));
    out(`imported ${n.samples} samples (${n.rows} rows) from ${log} into ${path}\n`);
  } finally {
    db.close();
  }
  return EX.OK;
}
