/**
 * The run line that gets past a Deno refusal, printed whole: `deno task`
 * passes no flags to deno, and an `--allow-read` beside `-P=SET` replaces the
 * set's read list, so "add --allow-read=X" cannot be followed as said. The
 * permission set the process runs with is found by asking Deno what it grants
 * (each set's lists, from deno.json as imported: the one copy); the line is
 * that set's task from deno.json, each flag it needs listing the set's values
 * and what is added, then the user's own arguments. Loaded only on a refusal.
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { DB_PASSWORD_ENV } from "../config/fleet.ts";
import { SMTP_PASSWORD_ENV } from "../config/mail.ts";
import { pathCovers, PERMISSION_KINDS, type PermissionKind } from "../config/permissions.ts";
import { type DenoDenied, RUN_AS } from "../host/errors.ts";
import { COMPILED, netmonCommand } from "../host/invocation.ts";
import { shellWord } from "../host/shell_word.ts";

/** A permission set of deno.json: its list per kind. */
type PermissionSet = Partial<Record<PermissionKind, string[]>>;

/** netmon's directory (deno.json, netmon.ts, graph.ts). */
const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The permission sets of deno.json. */
export const PERMISSION_SETS = denoJson.permissions as Record<string, PermissionSet>;

/** True when Deno grants `kind` access to `value` now, without asking. */
function granted(kind: PermissionKind, value: string): boolean {
  const d: Deno.PermissionDescriptor = kind === "read" || kind === "write"
    ? { name: kind, path: value }
    : kind === "run"
    ? { name: "run", command: value }
    : kind === "net"
    ? { name: "net", host: value }
    : kind === "env"
    ? { name: "env", variable: value }
    : { name: "sys", kind: value as NonNullable<Deno.SysPermissionDescriptor["kind"]> };
  try {
    return Deno.permissions.querySync(d).state === "granted";
  } catch {
    return false;
  }
}

/**
 * The set of `sets` the process runs with: of those whose every value is
 * granted, the widest; undefined when none is (`deno run` with flags of
 * one's own).
 */
export function runningSet(sets: Record<string, PermissionSet> = PERMISSION_SETS): string | undefined {
  let best: [string, number] | undefined;
  for (const [name, set] of Object.entries(sets)) {
    const values = PERMISSION_KINDS.flatMap((k) => (set[k] ?? []).map((v) => [k, v] as const));
    if (!values.every(([k, v]) => granted(k, v))) continue;
    if (!best || values.length > best[1]) best = [name, values.length];
  }
  return best?.[0];
}

/** Deno's `--allow-sys` kinds. */
const SYS_KINDS = [
  "loadavg",
  "hostname",
  "systemMemoryInfo",
  "networkInterfaces",
  "osRelease",
  "osUptime",
  "uid",
  "gid",
  "username",
  "cpus",
  "homedir",
  "statfs",
  "getPriority",
  "setPriority",
  "ca",
  "umask",
];

/**
 * The values of `kind` other than paths that a line may have granted beyond
 * its set, to keep: what any set names, the variables netmon reads, every
 * system kind. (Hosts are not known beforehand: a line keeps only the one
 * refused.)
 */
function knownValues(kind: "run" | "env" | "sys"): string[] {
  const named = Object.values(PERMISSION_SETS).flatMap((s) => s[kind] ?? []);
  if (kind === "env") named.push(SMTP_PASSWORD_ENV, DB_PASSWORD_ENV);
  if (kind === "sys") named.push(...SYS_KINDS);
  return [...new Set(named)];
}

/** The absolute paths among the user's arguments (`-c FILE`, `--state-dir=DIR`, a LOG). */
function pathArguments(args: readonly string[]): string[] {
  return args.map((a) => a.replace(/^--?[\w-]+=/, "")).filter((a) => a.startsWith("/") && a.length > 1)
    .map((a) => a.replace(/\/+$/, ""));
}

/** The widest directory above `path` (or `path` itself) that Deno grants `kind` on; undefined for none. */
function widestGranted(kind: "read" | "write", path: string): string | undefined {
  const parts = path.split("/").filter((p) => p !== "");
  for (let n = 1; n <= parts.length; n++) {
    const at = `/${parts.slice(0, n).join("/")}`;
    if (granted(kind, at)) return at;
  }
  return undefined;
}

/** `values` without repeats, nor a path another one covers. */
function minimalPaths(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (out.some((o) => pathCovers(o, v))) continue;
    for (let k = out.length - 1; k >= 0; k--) if (pathCovers(v, out[k] as string)) out.splice(k, 1);
    out.push(v);
  }
  return out;
}

/**
 * What each kind needs beyond the set: the refused value (a path under a
 * directory the arguments name: that directory, so that the next file in it
 * is allowed too); for reads, every path the arguments name; for reads and
 * writes, what the process was granted already beyond the set (a line this
 * message printed before), which the new line must keep.
 */
export function additions(
  denied: { kind: string; what: string; also?: readonly { kind: string; what: string }[] },
  args: readonly string[],
  set: PermissionSet,
  isGranted: (kind: "read" | "write", path: string) => string | undefined = widestGranted,
  has: (kind: PermissionKind, value: string) => boolean = granted,
): Partial<Record<PermissionKind, string[]>> {
  const named = pathArguments(args);
  const add: Partial<Record<PermissionKind, string[]>> = {};
  const push = (kind: PermissionKind, value: string) => {
    const paths = kind === "read" || kind === "write";
    if ((set[kind] ?? []).some((s) => s === value || (paths && pathCovers(s, value)))) return;
    if (!(add[kind] ?? []).includes(value)) (add[kind] ??= []).push(value);
  };
  for (const kind of ["run", "env", "sys"] as const) {
    for (const value of knownValues(kind)) if (has(kind, value)) push(kind, value);
  }
  for (const kind of ["read", "write"] as const) {
    for (const path of named) {
      const had = isGranted(kind, path);
      if (had !== undefined && had !== "/") push(kind, had);
    }
  }
  const kind = denied.kind as PermissionKind;
  if (kind === "read" || kind === "write") {
    // The innermost of them: `--html DIR` inside the state directory is written, not the state directory.
    const under = named.filter((n) => denied.what === n || denied.what.startsWith(`${n}/`))
      .sort((a, b) => b.length - a.length)[0];
    push(kind, under ?? denied.what);
  } else push(kind, denied.what);
  for (const a of denied.also ?? []) push(a.kind as PermissionKind, a.what);
  for (const path of named) push("read", path);
  for (const k of ["read", "write"] as const) if (add[k]) add[k] = minimalPaths(add[k]);
  return add;
}

/**
 * The line that runs `script` (netmon.ts or graph.ts) with `args` as the
 * set's task does, with `add` added to the set's lists: a `--allow-KIND`
 * flag replaces the set's list of that kind, so each flag repeats it. From
 * another directory than netmon's, deno.json and the script by their paths.
 */
export function runLine(
  set: string,
  script: string,
  args: readonly string[],
  add: Partial<Record<PermissionKind, string[]>>,
  cwd: string,
): string[] {
  const lists = PERMISSION_SETS[set] ?? {};
  const task = Object.values(denoJson.tasks as Record<string, string>).map((t) => t.split(" "))
    .find((w) => w[0] === "deno" && w[1] === "run" && w.includes(`-P=${set}`) && w.includes(script));
  const words = task ? task.slice(0, task.indexOf(script) + 1) : ["deno", "run", "-q", "--frozen", `-P=${set}`, script];
  const flags = PERMISSION_KINDS.filter((k) => (add[k] ?? []).length > 0).map((k) =>
    `--allow-${k}=${[...(lists[k] ?? []), ...(add[k] ?? [])].join(",")}`
  );
  words.splice(words.indexOf(`-P=${set}`) + 1, 0, ...flags);
  if (cwd !== ROOT) {
    words.splice(2, 0, "--config", `${ROOT}/deno.json`);
    words[words.length - 1] = `${ROOT}/${script}`;
  }
  return [...words, ...args];
}

/**
 * The one line for `denied` in a run of `prog` (`netmon` or `graph`) with
 * `args`: the whole run line when the process runs with a permission set of
 * deno.json; a compiled binary's own way out; else the refusal as it is.
 */
export function deniedLine(denied: DenoDenied, prog: string, args: readonly string[]): string {
  if (COMPILED) {
    return denied.withFix(
      `a compiled ${prog} has the permissions it was built with: build it with ${denied.flag}=${denied.what} added ` +
        `to the set's list ('${netmonCommand("schedule --compile")}' prints the build line for a config)`,
    );
  }
  const set = runningSet();
  if (set === undefined) return denied.message;
  const line = runLine(set, `${prog}.ts`, args, additions(denied, args, PERMISSION_SETS[set] ?? {}), Deno.cwd());
  return denied.withFix(
    `the ${set} permission set does not allow it, and 'deno task' passes deno no flags (and a flag replaces the ` +
      `set's list of its kind, so this line repeats it): ${RUN_AS}${line.map(shellWord).join(" ")}`,
  );
}
