/**
 * `netmon schedule --remove`: takes away the files `netmon schedule --cron`
 * or `--systemd` wrote (lib/cli/schedule.ts), and only those: a file at their
 * names that does not start with netmon's marker, a link or a special file is
 * refused unless --force (a link is then removed itself, never followed, and
 * a regular file goes unread, as `netmon schedule --force` replaces it), and
 * units whose timer (or, for the start at boot, whose service) is still
 * enabled are refused before anything is removed, with the systemctl line
 * that disables them (with --into, a directory systemctl does not act on:
 * their links there, to remove). A directory another user could put another
 * in place of is refused first (SCHEDULE_DIR of lib/cli/schedule.ts).
 * Everything is looked at before anything is removed, so a refusal leaves
 * every file in place; --dry-run says what would be removed and every
 * refusal, with the removal's status (73 when refused), so that
 * `--dry-run && --remove` goes on only when the removal would.
 *
 * @module
 */

import { EX, NetmonError, UsageError } from "../host/errors.ts";
import { removeIfPresent } from "../host/files.ts";
import { kindOf, lstatOrUndefined } from "../host/safe_open.ts";
import type { Options } from "./commands.ts";
import { err, out } from "./context.ts";
import {
  BOOT_TARGET,
  elsewhereThanSystemd,
  isScheduleFile,
  scheduleDirChecks,
  scheduleFileError,
  scheduleFiles,
  UNIT_DIR,
  UNITS,
} from "./schedule.ts";
import { refuseFound } from "../config/trust.ts";

/** What is at a schedule file's name: nothing, netmon's own file (or any regular file, under --force), or else. */
type Found = { kind: "missing" } | { kind: "ours" } | {
  kind: "other";
  what: string;
  directory: boolean;
  link: boolean;
};

/**
 * What is at `path`, looked at without following a link; under `force` a regular file is removable without reading
 * it, as `netmon schedule --force` replaces it unread (one another user owns included).
 */
function look(path: string, force: boolean): Found {
  const s = lstatOrUndefined(path);
  if (s === undefined) return { kind: "missing" };
  if (!s.isFile) return { kind: "other", what: `is a ${kindOf(s)}`, directory: s.isDirectory, link: s.isSymlink };
  if (force) return { kind: "ours" };
  const ours = isScheduleFile(path);
  if (ours === undefined) return { kind: "missing" }; // removed meanwhile
  return ours
    ? { kind: "ours" }
    : { kind: "other", what: "exists and netmon did not write it", directory: false, link: false };
}

/**
 * netmon's units still enabled in `dir`, with where their links are: the timers' in timers.target.wants/, the start
 * at boot's in its target's (dangling or not).
 */
function enabledUnits(dir: string): { unit: string; wants: string }[] {
  return [
    { unit: UNITS.startService, wants: `${dir}/${BOOT_TARGET}.wants` },
    { unit: UNITS.timer, wants: `${dir}/timers.target.wants` },
    { unit: UNITS.graphTimer, wants: `${dir}/timers.target.wants` },
  ].filter(({ unit, wants }) => lstatOrUndefined(`${wants}/${unit}`) !== undefined);
}

/** `netmon schedule --remove`. */
export async function unschedule(opts: Options): Promise<number> {
  if (opts.compile || (!opts.cron && !opts.systemd)) throw new UsageError("--remove goes with --cron or --systemd");
  if (opts.into !== undefined && !opts.into.startsWith("/")) throw new UsageError("--into needs an absolute directory");
  // A directory another user could put in place of: what is removed there would be theirs to choose.
  for (const w of await refuseFound(scheduleDirChecks(opts))) err(`netmon: warning: ${w}\n`);
  const found = scheduleFiles(opts).map((f) => {
    try {
      return { ...f, found: look(f.path, opts.force) };
    } catch (err) {
      throw scheduleFileError(f.path, err);
    }
  });
  // Each reason the removal is refused: the first one fails it; a dry run says them all.
  const refusals: string[] = [];
  const again = opts.dryRun ? "" : " again";
  const elsewhere = elsewhereThanSystemd(opts.into);
  if (opts.systemd) {
    const dir = opts.into ?? UNIT_DIR;
    let enabled: { unit: string; wants: string }[];
    try {
      enabled = enabledUnits(dir);
    } catch (err) {
      throw scheduleFileError(dir, err, dir);
    }
    if (enabled.length > 0) {
      const units = enabled.map((e) => e.unit);
      const wants = [...new Set(enabled.map((e) => e.wants))].join(", ");
      const many = units.length > 1;
      refusals.push(
        `${units.join(" and ")} ${many ? "are" : "is"} still enabled (${wants}): ` +
          (elsewhere === undefined
            ? `run 'systemctl disable --now ${units.join(" ")}' first`
            : `remove ${many ? "their links" : "its link"} there first (${elsewhere})`) +
          `, then remove${again}`,
      );
    }
  }
  // What is there and not netmon's is refused, but under --force a link or another's regular file, never a directory.
  const refused = (f: Found): f is Extract<Found, { kind: "other" }> =>
    f.kind === "other" && !(opts.force && !f.directory);
  for (const { path, found: f } of found) {
    if (!refused(f)) continue;
    refusals.push(
      f.directory
        ? `${path} is a directory: netmon removes only the files it wrote, move it away`
        : `${path} ${f.what}: move it away, or run again with --force to remove it${
          f.link ? " (the link, not what it points to)" : ""
        }`,
    );
  }
  if (refusals.length > 0 && !opts.dryRun) throw new NetmonError(refusals[0] as string, EX.CANTCREAT);
  const there = found.filter((f) => f.found.kind !== "missing" && !refused(f.found));
  const missing = found.filter((f) => f.found.kind === "missing").map((f) => f.path);
  if (!opts.dryRun) {
    for (const { path } of there) {
      try {
        // unlink: a link goes, what it points to stays; one removed meanwhile is the result wanted.
        removeIfPresent(path);
      } catch (err) {
        throw scheduleFileError(path, err);
      }
    }
  }
  const said: string[] = [];
  if (there.length > 0) {
    said.push(`${opts.dryRun ? "would remove" : "removed"} ${there.map((f) => f.path).join(", ")}`);
  }
  if (missing.length > 0) said.push(`not there: ${missing.join(", ")}`);
  if (said.length === 0) said.push("would remove nothing"); // a dry run, everything there refused
  if (there.some((f) => f.unit !== undefined)) {
    said.push(
      elsewhere === undefined
        ? `${opts.dryRun ? "then" : "now"}: systemctl daemon-reload`
        : `${elsewhere}: no systemctl daemon-reload`,
    );
  }
  const dry = refusals.length > 0 ? "nothing removed; refused now, see below" : "nothing removed";
  out(`${said.join("; ")}${opts.dryRun ? ` (--dry-run: ${dry})` : ""}\n`);
  for (const r of refusals) err(`netmon: ${r}\n`);
  return refusals.length > 0 ? EX.CANTCREAT : EX.OK;
}
