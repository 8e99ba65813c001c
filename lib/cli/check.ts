/**
 * `netmon check`: a monitoring plugin (Monitoring Plugins guidelines): one
 * line, performance data after `|`, exit 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN. It reads the config and the state directory only.
 *
 * @module
 */

import { DenoDenied, NetmonError } from "../host/errors.ts";
import { SafeFile } from "../host/safe_open.ts";
import { rebuiltTally } from "../outputs/alerts.ts";
import { stateFiles } from "../state/files.ts";
import { refuseUntrusted } from "../config/trust.ts";
import { getUid } from "../host/env.ts";
import type { LastState } from "../state/log_format.ts";
import { readLast, scanLog } from "../state/log_reader.ts";
import { readStatus } from "../state/status.ts";
import { refuseOtherConfigs } from "../state/installed.ts";
import { adviseError } from "../host/invocation.ts";
import { readTally, tallyPath } from "../state/tally_file.ts";
import { isWatched, reportColumns, reportPlan } from "../usage/cycle_customers.ts";
import { counted, customerCycle, type Tally, thresholdBytes, usualInterval } from "../usage/cycle_tally.ts";
import { stampToNaive } from "../usage/local_time.ts";
import { type Hint, resolveWall, wallToInstant, type Zone } from "../usage/zone.ts";
import { logZone } from "../state/zone_record.ts";
import { bytesShareText, quotaBytes } from "../usage/units.ts";
import type { Options } from "./commands.ts";
import { deniedMessage, findConfig, findStateDir, out } from "./context.ts";

/** The plugin statuses, in order of severity. */
export const OK = 0, WARNING = 1, CRITICAL = 2, UNKNOWN = 3;
const WORDS = ["OK", "WARNING", "CRITICAL", "UNKNOWN"];

/** A quoted perfdata label: single quotes doubled, as the guidelines say. */
function label(name: string): string {
  return `'${name.replace(/'/g, "''")}'`;
}

/**
 * The usual interval (ms) from the log's last lines (at most 16 KiB read),
 * when there is no tally to say it. A log that is not there, or that cannot
 * be read, says none; one refused (a link, a FIFO, a hard link, another
 * user's file: see safe_open.ts) is the check's one line.
 */
function intervalFromLog(log: string, zone: Zone): number | undefined {
  const f = SafeFile.open(log, { what: "log" });
  if (!f) return undefined;
  let text: string;
  try {
    const size = f.statSync().size;
    const start = Math.max(0, size - 16384);
    const buf = new Uint8Array(size - start);
    f.seekSync(start, Deno.SeekMode.Start);
    let got = 0;
    while (got < buf.length) {
      const n = f.readSync(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    text = new TextDecoder().decode(buf.subarray(0, got));
  } catch {
    return undefined;
  } finally {
    f.close();
  }
  const stamps = text.split("\n").map((l) => l.slice(0, 19)).filter((s) =>
    /^\d{4}\/\d\d\/\d\d-\d\d:\d\d:\d\d$/.test(s)
  );
  let hint: Hint | undefined;
  const epochs = stamps.slice(-13).map((s) => (hint = resolveWall(zone, stampToNaive(s), hint)).epoch);
  const gaps = epochs.slice(1).map((e, i) => e - (epochs[i] as number)).filter((g) => g > 0).sort((a, b) => a - b);
  return gaps.length === 0 ? undefined : gaps[Math.floor((gaps.length - 1) / 2)];
}

/**
 * The shortest usual interval the age limit is three of: cron's finest step.
 * Reports run by hand seconds apart are a trial, not the schedule, and would
 * otherwise make a sample stale within seconds.
 */
const MIN_INTERVAL = 60_000;

function minutes(ms: number): string {
  return ms < 120_000
    ? `${Math.round(ms / 1000)} s`
    : ms < 7_200_000
    ? `${Math.round(ms / 60_000)} min`
    : `${(ms / 3_600_000).toFixed(1)} h`;
}

/** The check's status, its line and its perfdata, from the state and config. */
async function evaluate(opts: Options, now: number): Promise<{ status: number; text: string; perf: string[] }> {
  const config = await findConfig(opts.config);
  const files = stateFiles(findStateDir(opts.stateDir, config));
  // What a report refuses to run with (lib/config/trust.ts) is the check's UNKNOWN line: the config chooses what is
  // read. What it only warns of, the report says on every run and doctor lists: not this one line's business.
  await refuseUntrusted(config, files.dir, getUid() ?? 0);
  // Nor is another config's state directory this config's to judge (the report refuses it): its samples are of
  // other meters, and this config's reports, if they are pointed there, log nothing.
  refuseOtherConfigs(files, config.file, "check");
  let last: Pick<LastState, "sample"> | undefined = readLast(files.last);
  const notes: string[] = [];
  if (!last) {
    // The log holds every sample; the last file is only its end, which the next report writes again.
    const end = (await scanLog(files.log)).last;
    if (!end) return { status: UNKNOWN, text: `no sample yet in ${files.dir} (run 'netmon report')`, perf: [] };
    last = { sample: end };
    notes.push(`${files.last} missing: the next report rebuilds it from the log`);
  }
  const problems: [number, string][] = [];
  const perf: string[] = [];
  const zone = logZone(files.log);
  const lastEpoch = wallToInstant(zone, stampToNaive(last.sample.timestamp));

  const columns = reportColumns(config.meters, () => last.sample.counters.keys());
  const where = config.file ?? "config";
  // The report's tally, whatever plan it was made for: the columns it has counted are matched too.
  const cached = config.customers.some(isWatched) ? readTally(tallyPath(files)) : undefined;
  let at = reportPlan(config.customers, columns, where, cached?.tally, () => zone);
  let tally: Tally | undefined;
  if (at.watched.length > 0) {
    if (cached && cached.fingerprint === at.print && cached.stamp === last.sample.timestamp) tally = cached.tally;
    else {
      // Behind the log (a run died after logging), or for another config: recount from the log, reading only.
      ({ tally, at } = rebuiltTally(files.log, at, config.customers, columns, where, () => zone));
    }
  }
  const interval = Math.max(
    MIN_INTERVAL,
    (tally && usualInterval(tally)) ?? intervalFromLog(files.log, zone) ?? 300_000,
  );
  const age = now - lastEpoch;
  if (age > 3 * interval) {
    problems.push([CRITICAL, `last sample ${minutes(age)} old (more than three intervals of ${minutes(interval)})`]);
  } else if (age < 0) {
    // A stamp is cut to the second, so never ahead of the clock that wrote it: this clock is behind that one.
    problems.push([
      WARNING,
      `the last sample (${last.sample.timestamp}) is ${minutes(-age)} ahead of the clock: the clock was set back, ` +
      "or the log is from another machine; check the time (timedatectl)",
    ]);
  }
  const status = readStatus(files);
  if (status && status.exit !== 0) {
    problems.push([
      status.exit === 69 ? CRITICAL : WARNING,
      `the last report (${status.stamp}) failed with exit ${status.exit}: ${status.message}`,
    ]);
  }
  let within = 0;
  for (const w of at.watched) {
    const quota = w.spec.quota;
    const t = tally && customerCycle(tally, w);
    if (!quota) continue;
    // A cycle that ended before now (no report since) used nothing of the cycle that holds now.
    const used = t && now < t.end ? counted(t, quota.count) : 0n;
    const warn = thresholdBytes(quota.bytes, quota.alertAt[0] as number);
    const crit = thresholdBytes(quota.bytes, quota.alertAt.at(-1) as number);
    // A plain perf data threshold N alerts above N (Nagios ranges): one byte below where the check's does.
    const above = (b: bigint) => b > 0n ? b - 1n : 0n;
    perf.push(`${label(w.spec.name)}=${used}B;${above(warn)};${above(crit)};0;${quota.bytes}`);
    const bytes = (b: bigint) => quotaBytes(b, quota.decimal); // as the quota was written: "2 MB" is 2.00 MB
    const share = `${w.spec.name} ${bytes(used)} of ${bytes(quota.bytes)} (${bytesShareText(used, quota.bytes)})`;
    if (used >= crit) problems.push([CRITICAL, share]);
    else if (used >= warn) problems.push([WARNING, share]);
    else within++;
  }
  perf.push(`'age'=${Math.round(age / 1000)}s;;${Math.round(3 * interval / 1000)};0;`);
  const worst = problems.reduce((m, [s]) => Math.max(m, s), OK);
  const ordered = problems.sort((a, b) => b[0] - a[0]).map(([, t]) => t);
  const quotas = at.watched.filter((w) => w.spec.quota).length;
  const fine = `${quotas > 0 ? `${within} of ${quotas} quotas below their first threshold, ` : ""}last sample ${
    minutes(age)
  } ago`;
  return { status: worst, text: [...(ordered.length > 0 ? ordered : [fine]), ...notes].join("; "), perf };
}

/**
 * The fix a monitoring user refused by the file system needs: each report
 * replaces the state files (a new file, the run's own group), so a group
 * given to the files alone is lost at the next one; the directory's setgid
 * bit gives every new file its group, and the files are made 0640. The lock
 * files are left out: check takes no lock, and whoever can open one can hold
 * it, so that every report gives up.
 */
export function groupHint(e: unknown, uid: () => number | null = runningUid): string {
  const byFiles = e instanceof NetmonError && e.cause instanceof Deno.errors.PermissionDenied;
  const who = byFiles ? uid() : null;
  if (who === 0 || who === null) return "";
  return ` (check runs as uid ${who}: run it as root, or give its group the state directory for good: ` +
    "find DIR ! -type l ! -name '*.lock' -exec chgrp GROUP {} + -exec chmod g+r {} + && chmod g+rxs DIR, as the " +
    "README's check section says)";
}

/** This run's uid, asked only where Deno grants it (a line is no place for a prompt); null otherwise. */
function runningUid(): number | null {
  return Deno.permissions.querySync({ name: "sys", kind: "uid" }).state === "granted" ? getUid() : null;
}

/**
 * `netmon check` (its command line `args`, for the run line a refusal
 * prints): prints one line and returns the plugin status (never a sysexits
 * one).
 */
export async function check(opts: Options, args: readonly string[] = []): Promise<number> {
  let r: { status: number; text: string; perf: string[] };
  try {
    r = await evaluate(opts, Date.now());
  } catch (e) {
    // A fix that is a netmon command (another config's state directory) names this run's -c and -s.
    const advised = adviseError(e, opts);
    const message = advised instanceof DenoDenied
      ? await deniedMessage(advised, "netmon", args, {
        config: opts.config,
        stateDir: opts.stateDir,
        task: { command: "check" },
      })
      : advised instanceof NetmonError || advised instanceof Error
      ? advised.message.split("\n")[0]
      : String(advised);
    r = { status: UNKNOWN, text: `${message ?? "unknown failure"}${groupHint(advised)}`, perf: [] };
  }
  out(
    `NETMON ${WORDS[r.status]} - ${r.text.replace(/\|/g, "/")}${r.perf.length > 0 ? ` | ${r.perf.join(" ")}` : ""}\n`,
  );
  return r.status;
}
