/**
 * `netmon import`: load a whole log into the store, idempotently, and say in
 * one line what was read, what was stored, what was there already and what
 * a later sample of the same second replaced (lib/outputs/store_rows.ts).
 *
 * @module
 */

import { err, findConfig, findStateDir, out } from "./context.ts";
import { getUid } from "../host/env.ts";
import { refuseUntrusted, sqlitePath } from "../config/trust.ts";
import { EX, NetmonError } from "../host/errors.ts";
import { ensureStateDir, type StateFiles, stateFiles } from "../state/files.ts";
import type { Config } from "../config/config.ts";
import { withLock } from "../state/lock.ts";
import type { Options } from "./commands.ts";
import { countsLine } from "../outputs/store_rows.ts";

/** `netmon import [LOG]`: loads a log into the store the config names (SQLite or PostgreSQL). */
export async function importCommand(opts: Options): Promise<number> {
  const config = await findConfig(opts.config);
  const files = stateFiles(findStateDir(opts.stateDir, config));
  const log = opts.topic ?? files.log;
  // A log the user names (a copy, a backup snapshot's hard link) is theirs: opened through a link, as graph.ts
  // opens a named log; the state directory's own is opened as state files are.
  const named = opts.topic !== undefined;
  // What a report refuses to run with, before anything is made, opened or reached (lib/config/trust.ts): either
  // store, since both make the state directory and lock it.
  for (const w of await refuseUntrusted(config, files.dir, getUid() ?? 0)) err(`netmon: warning: ${w}\n`);
  if (config.fleet.postgres) return await importPostgres(config, files, log, named);
  const path = sqlitePath(config, files.dir);
  if (path === undefined) {
    throw new NetmonError(
      `${
        config.file ?? "the default config"
      }: store: no store configured (add store = "sqlite:netmon.sqlite" or "postgresql://USER@HOST:PORT/DB")`,
      EX.CONFIG,
    );
  }
  const { importLog, SqliteStore } = await import("../outputs/sqlite.ts");
  ensureStateDir(files);
  const db = SqliteStore.open(path);
  try {
    out(countsLine(await withLock(files, 60_000, () => importLog(db, log, named)), log, path));
  } finally {
    db.close();
  }
  return EX.OK;
}

/**
 * Loads a whole log into the PostgreSQL store, every sample (rows already
 * there the same are left alone, so importing twice changes nothing), in
 * transactions of 500 samples: an import killed midway keeps what it
 * committed.
 */
async function importPostgres(config: Config, files: StateFiles, log: string, named: boolean): Promise<number> {
  const { openConfiguredStore } = await import("../outputs/postgres_output.ts");
  const { importSamples } = await import("../outputs/postgres.ts");
  const { timedLogSamples } = await import("../state/log_timed.ts");
  const store = await openConfiguredStore(config);
  try {
    ensureStateDir(files);
    const n = await withLock(files, 60_000, () => importSamples(store, timedLogSamples(log, named), { all: true }));
    out(countsLine(n, log, `${config.fleet.postgres?.url} as host ${store.host}`));
  } finally {
    await store.close();
  }
  return EX.OK;
}
