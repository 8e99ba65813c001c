/**
 * Whether a cron daemon is installed to run what `netmon schedule --cron`
 * writes into /etc/cron.d: without one, nothing ever runs it. Looked for by
 * its binary (a stat, nothing opened or run): no process listing, which
 * would say only whether one runs at this instant.
 *
 * @module
 */

import { netmonCommand, type RunWith } from "./invocation.ts";

/**
 * The binaries of the cron daemons that read /etc/cron.d: Debian's cron, cronie's crond (Alpine's busybox crond is
 * a link there too; Arch's cronie in /usr/bin), systemd-cron's generator. deno.json's netmon-admin set reads each.
 */
export const CRON_DAEMONS = [
  "/usr/sbin/cron",
  "/usr/sbin/crond",
  "/usr/bin/crond",
  "/usr/lib/systemd/system-generators/systemd-crontab-generator",
];

/**
 * Whether one of {@linkcode CRON_DAEMONS} is there: true, false, or undefined where that cannot be told (a path
 * Deno may not look at, an error other than its absence).
 */
export function cronDaemonInstalled(): boolean | undefined {
  let known = true;
  for (const path of CRON_DAEMONS) {
    try {
      Deno.statSync(path);
      return true;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory)) known = false;
    }
  }
  return known ? false : undefined;
}

/** What is wrong where cron lines are all that runs something (`what`, e.g. `the report`) and no cron daemon is there. */
export const noCronDaemon = (what: string): string =>
  `no cron daemon is installed (none of ${CRON_DAEMONS.join(", ")}), so nothing ever runs ${what}`;

/** The fix for {@linkcode noCronDaemon}, on the config and state directory the run was `given`. */
export const noCronDaemonFix = (given: RunWith | undefined): string =>
  `install one (apt-get install cron), or run '${netmonCommand("schedule --systemd", given)}' instead`;
