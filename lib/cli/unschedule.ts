/**
 * `netmon schedule --remove`: takes away the files `netmon schedule --cron`
 * or `--systemd` wrote (lib/cli/schedule.ts), and only those: a file at their
 * names that does not start with netmon's marker, a link or a special file is
 * refused unless --force (a link is then removed itself, never followed), and
 * units whose timer (or, for the start at boot, whose service) is still
 * enabled are refused before anything is removed, with the systemctl line
 * that disables them. A directory another user could put another in place
 * of is refused first (SCHEDULE_DIR of lib/cli/schedule.ts). Everything is
 * looked at before anything is removed, so a refusal leaves every file in
 * place.
 *
 * @module
 */

import { EX, NetmonError, UsageError } from "../host/errors.ts";
import { kindOf, SafeFile } from "../host/safe_open.ts";
import type { Options } from "./commands.ts";
import { err, out } from "./context.ts";
import { BOOT_TARGET, CRON_FILE, MARKER, scheduleDirChecks, scheduleFileError, UNIT_DIR, UNITS } from "./schedule.ts";
import { refuseFound } from "../config/trust.ts";

/** What is at a schedule file's name: nothing, netmon's own file, or something else, in words. */
type Found = { kind: "missing" } | { kind: "ours" } | { kind: "other"; what: string; directory: boolean };

/** Whether the regular file at `path` starts with the marker: only that much of it is read. */
function marked(path: string): boolean {
  const f = SafeFile.open(path, { what: "schedule file" });
  if (f === undefined) return false;
  try {
    const want = new TextEncoder().encode(MARKER);
    const got = new Uint8Array(want.length);
    let n = 0;
    while (n < got.length) {
      const r = f.readSync(got.subarray(n));
      if (r === null || r === 0) break;
      n += r;
    }
    return n === want.length && got.every((b, i) => b === want[i]);
  } finally {
    f.close();
  }
}

/** What is at `path`, looked at without following a link. */
function look(path: string): Found {
  let s: Deno.FileInfo;
  try {
    s = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return { kind: "missing" };
    throw err;
  }
  if (!s.isFile) return { kind: "other", what: `is a ${kindOf(s)}`, directory: s.isDirectory };
  return marked(path)
    ? { kind: "ours" }
    : { kind: "other", what: "exists and netmon did not write it", directory: false };
}

/** The schedule files `opts` names (--cron, --systemd, in --into), with whether each is a unit. */
function scheduleFiles(opts: Options): { path: string; unit: boolean }[] {
  const files: { path: string; unit: boolean }[] = [];
  if (opts.cron) files.push({ path: opts.into !== undefined ? `${opts.into}/netmon` : CRON_FILE, unit: false });
  if (opts.systemd) {
    const dir = opts.into ?? UNIT_DIR;
    for (const name of Object.values(UNITS)) files.push({ path: `${dir}/${name}`, unit: true });
  }
  return files;
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
  ].filter(({ unit, wants }) => {
    try {
      Deno.lstatSync(`${wants}/${unit}`);
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return false;
      throw err;
    }
  });
}

/** `netmon schedule --remove`. */
export async function unschedule(opts: Options): Promise<number> {
  if (opts.compile || (!opts.cron && !opts.systemd)) throw new UsageError("--remove goes with --cron or --systemd");
  if (opts.into !== undefined && !opts.into.startsWith("/")) throw new UsageError("--into needs an absolute directory");
  // A directory another user could put in place of: what is removed there would be theirs to choose.
  for (const w of await refuseFound(scheduleDirChecks(opts))) err(`netmon: warning: ${w}\n`);
  const files = scheduleFiles(opts);
  const found = files.map((f) => {
    try {
      return { ...f, found: look(f.path) };
    } catch (err) {
      throw scheduleFileError(f.path, err);
    }
  });
  if (opts.systemd) {
    const dir = opts.into ?? UNIT_DIR;
    let enabled: { unit: string; wants: string }[];
    try {
      enabled = enabledUnits(dir);
    } catch (err) {
      throw scheduleFileError(`${dir}/timers.target.wants/${UNITS.timer}`, err);
    }
    if (enabled.length > 0) {
      const units = enabled.map((e) => e.unit);
      const wants = [...new Set(enabled.map((e) => e.wants))].join(", ");
      throw new NetmonError(
        `${units.join(" and ")} ${units.length > 1 ? "are" : "is"} still enabled (${wants}): ` +
          `run 'systemctl disable --now ${units.join(" ")}' first, then remove again`,
        EX.CANTCREAT,
      );
    }
  }
  for (const { path, found: f } of found) {
    if (f.kind !== "other" || (opts.force && !f.directory)) continue;
    throw new NetmonError(
      f.directory
        ? `${path} is a directory: netmon removes only the files it wrote, move it away`
        : `${path} ${f.what}: move it away, or run again with --force to remove it${
          f.what.startsWith("is a symbolic link") ? " (the link, not what it points to)" : ""
        }`,
      EX.CANTCREAT,
    );
  }
  const there = found.filter((f) => f.found.kind !== "missing");
  const missing = found.filter((f) => f.found.kind === "missing").map((f) => f.path);
  if (!opts.dryRun) {
    for (const { path } of there) {
      try {
        // unlink: a link goes, what it points to stays.
        Deno.removeSync(path);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) continue; // removed meanwhile: the result wanted
        throw scheduleFileError(path, err);
      }
    }
  }
  const said: string[] = [];
  if (there.length > 0) {
    said.push(`${opts.dryRun ? "would remove" : "removed"} ${there.map((f) => f.path).join(", ")}`);
  }
  if (missing.length > 0) said.push(`not there: ${missing.join(", ")}`);
  if (there.some((f) => f.unit)) said.push(`${opts.dryRun ? "then" : "now"}: systemctl daemon-reload`);
  out(`${said.join("; ")}${opts.dryRun ? " (--dry-run: nothing removed)" : ""}\n`);
  return EX.OK;
}
