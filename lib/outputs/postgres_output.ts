/**
 * The PostgreSQL store as a report output (`store = "postgresql://…"`):
 * it connects while the report reads the counters; with the state lock held,
 * once the sample is logged, it loads from the log whatever the store lacks
 * before this sample, and inserts it.
 * The database down or unreachable: the report is printed, then one line
 * and exit 75; the next run catches up. The client (netmon's own,
 * pg_wire.ts) is loaded only here.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { getEnv } from "../host/env.ts";
import { denoPermissionError } from "../host/errors.ts";
import { reached } from "../host/phases.ts";
import type { StateFiles } from "../state/files.ts";
import { recordedSeconds, timedLogSamples } from "../state/log_timed.ts";
import type { SampleOutput } from "./output.ts";
// Static: this module is itself loaded only when a store is configured, and a report starts connecting at once.
import { dbPassword, PostgresStore, storeSample } from "./postgres.ts";

/** This machine's name in the store: the config's `host`, else the host name (needs `--allow-sys=hostname`). */
export function storeHost(config: Config): string {
  if (config.fleet.host !== undefined) return config.fleet.host;
  try {
    return Deno.hostname();
  } catch (err) {
    throw denoPermissionError(err) ?? err;
  }
}

/**
 * Opens the configured store (the password from password_file or
 * NETMON_DB_PASSWORD), creating its table if missing (`open`); with
 * `connect`, a store that has not looked at the table yet (see
 * `PostgresStore.connect`); with `openToRead`, one that creates nothing (see
 * `PostgresStore.openToRead`).
 */
export async function openConfiguredStore(
  config: Config,
  how: "open" | "connect" | "openToRead" = "open",
  onStarted?: () => void,
) {
  const pg = config.fleet.postgres;
  if (!pg) throw new Error("no PostgreSQL store configured");
  return await PostgresStore[how]({
    url: pg.url,
    host: storeHost(config),
    password: await dbPassword(pg.passwordFile, getEnv),
    sslmode: pg.sslmode,
    caFile: pg.caFile,
    onStarted,
  });
}

/**
 * The PostgreSQL store output of a report, once its connection is under way.
 * It starts connecting at once, as the report starts (lib/cli/report.ts makes
 * it before anything else), and is handed over once the server has the
 * connection request (the startup message sent, or connecting failed): the
 * server starting a process for the connection and the login are most of
 * what the store costs a report, and they then go on while the report loads
 * its source and reads the counters, instead of waiting for the report's
 * thread to be free to send that first message. Once the sample is logged,
 * one statement asks whether the store holds the sample before it and stores
 * this one (creating the table if it is missing), unless the store must catch
 * up from the log first. Whatever goes wrong is reported once the sample is
 * logged, as before (the sample is never lost for it).
 *
 * With `closeAtExit` (a report, which ends with `Deno.exit`), the connection
 * is closed as the process ends (the `unload` event; the goodbye is still
 * sent) instead of once the sample is stored: the server's process then
 * exits while this one does, not while the report still writes its status
 * and prints (measured: the status write took 7-15 ms instead of 2-5 ms while
 * the server's process was exiting beside it, on 2 CPUs).
 */
export async function postgresOutput(
  config: Config,
  files: StateFiles,
  opts: { closeAtExit?: boolean } = {},
): Promise<SampleOutput> {
  reached("store: connecting");
  let started!: () => void;
  const asked = new Promise<void>((resolve) => (started = resolve));
  const opening = openConfiguredStore(config, "connect", () => started()).then((store) => {
    reached("store: connected");
    if (opts.closeAtExit) addEventListener("unload", () => void store.close(), { once: true });
    return { store };
  }, (error: unknown) => ({ error }));
  await Promise.race([asked, opening]);
  return {
    name: "PostgreSQL store",
    async recorded(r) {
      const opened = await opening;
      if ("error" in opened) throw opened.error;
      const store = opened.store;
      try {
        const at = recordedSeconds(r);
        const now = { epoch: at.epoch, sample: r.sample };
        const before = r.previous && at.previous !== undefined
          ? { epoch: at.previous, sample: r.previous.sample }
          : undefined;
        await storeSample(
          store,
          () => timedLogSamples(files.log),
          before?.epoch,
          now,
          r.intervalPackets,
          undefined,
          before,
        );
        reached("store: stored");
      } finally {
        if (!opts.closeAtExit) await store.close();
      }
    },
  };
}
