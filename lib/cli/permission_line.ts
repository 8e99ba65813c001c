/**
 * The run line that gets past a Deno refusal, printed whole: an
 * `--allow-read` beside `-P=SET` replaces the set's read list, so "add
 * --allow-read=X" cannot be followed as said (and `deno task` passes deno no
 * flags at all). The permission set the process runs with is found by asking
 * Deno what it grants (each set's lists, from deno.json as imported: the one
 * copy); the line is that set's task from deno.json, each flag it needs
 * listing the set's values, what this run was granted beyond them (the flags
 * the user gave, as far as Deno can be asked about them) and what is added:
 * the refused value and everything else the command needs to run to the end
 * (lib/config/permissions.ts taskNeeds, from the config where it can be read
 * and the command line), then the user's own arguments. Loaded only on a
 * refusal.
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { DB_PASSWORD_ENV } from "../config/fleet.ts";
import { SMTP_PASSWORD_ENV } from "../config/mail.ts";
import {
  type Need,
  pathCovers,
  PERMISSION_KINDS,
  type PermissionKind,
  permissionNeeds,
  type Role,
  type Task,
  taskNeeds,
} from "../config/permissions.ts";
import { type DenoDenied, RUN_AS } from "../host/errors.ts";
import { exists } from "../host/env.ts";
import { COMPILED, netmonCommand, ROOT } from "../host/invocation.ts";
import { ROOT_STATE_DIR, stateDirBeforeConfig } from "../state/files.ts";
import { shellWord } from "../host/shell_word.ts";
import { type Config, DEFAULT_CONFIG_PATH, defaultConfig, loadConfig } from "../config/config.ts";

/** A permission set of deno.json: its list per kind. */
type PermissionSet = Partial<Record<PermissionKind, string[]>>;

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

/** The tasks of deno.json that run `script` under a permission set, as words (a task's `&&` parts apart). */
function tasksOf(script: string): string[][] {
  return Object.values(denoJson.tasks as Record<string, string>).flatMap((t) => t.split(" && "))
    .map((t) => t.split(" ")).filter((w) => w[0] === "deno" && w[1] === "run" && w.includes(script));
}

/**
 * The set of `sets` the process runs with: of the sets a task of deno.json
 * runs `script` with (any, without one), those of which Deno grants every
 * kind whole but at most one, and that one not at all (a flag of the user's
 * beside `-P` replaced the set's list of its kind), the one granted the most
 * values; undefined when none is (`deno run` with flags of one's own, which
 * grant part of a set's list, or nothing of several kinds).
 */
export function runningSet(
  sets: Record<string, PermissionSet> = PERMISSION_SETS,
  script?: string,
  has: (kind: PermissionKind, value: string) => boolean = granted,
): string | undefined {
  const run = script === undefined ? undefined : tasksOf(script);
  let best: [string, number] | undefined;
  for (const [name, set] of Object.entries(sets)) {
    if (run !== undefined && !run.some((w) => w.includes(`-P=${name}`))) continue;
    const kinds = PERMISSION_KINDS.filter((k) => (set[k] ?? []).length > 0);
    const counts = kinds.map((k) => ({
      got: (set[k] ?? []).filter((v) => has(k, v)).length,
      all: (set[k] ?? []).length,
    }));
    // A kind granted in part is a list of one's own that names some of the set's values (a line `schedule` wrote).
    if (counts.some(({ got, all }) => got > 0 && got < all)) continue;
    // More than one kind not granted at all is a run with flags of one's own (`schedule`'s line, with no
    // variables to read, lacking one path) more likely than one that replaced two of the set's lists.
    if (counts.filter(({ got }) => got === 0).length > 1) continue;
    const values = kinds.flatMap((k) => (set[k] ?? []).filter((v) => has(k, v))).length;
    if (!best || values > best[1]) best = [name, values];
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
  return args.map((a) => a.replace(/^--?[\w-]+=/, "").replace(/^-c(?=\/)/, "")).filter((a) =>
    a.startsWith("/") && a.length > 1
  ).map((a) => a.replace(/\/+$/, ""));
}

/** What the parsed command line gave: the config file `-c` named (the last one, as the parser takes it), if any. */
export interface Given {
  /** `-c`'s value; undefined when none was given. */
  config: string | undefined;
  /** `-s`'s value, for the netmon commands a message names (lib/host/invocation.ts); undefined when none was given. */
  stateDir?: string | undefined;
  /** What the run does, for everything it needs (lib/config/permissions.ts taskNeeds); none: what is refused. */
  task?: Task;
}

/**
 * The config file this run reads: the one the parsed command line names
 * (every refusal comes after the parse, which needs no permission); else as
 * far as what Deno grants without asking tells (NETMON_CONFIG, the default).
 */
function configPath(given?: Given): string | undefined {
  const named = given?.config;
  if (named !== undefined) return named;
  if (granted("env", "NETMON_CONFIG")) {
    const env = Deno.env.get("NETMON_CONFIG");
    if (env !== undefined) return env === "" ? undefined : env;
  }
  return DEFAULT_CONFIG_PATH;
}

/**
 * The config this run reads, read as a run reads it (the file alone granted
 * is enough), only where Deno grants that without asking (so a refusal's
 * line is told from it); the built-in default where none is; undefined
 * where it cannot be read.
 */
async function readableConfig(given?: Given): Promise<Config | undefined> {
  const path = configPath(given);
  if (path === undefined) return given?.config === undefined ? defaultConfig() : undefined;
  if (!granted("read", path)) return undefined;
  try {
    // The default file looked for and not there: the built-in default is what runs (as findConfig has it).
    if (path === DEFAULT_CONFIG_PATH && given?.config === undefined && !exists(path)) return defaultConfig();
    return await loadConfig(path);
  } catch {
    return undefined;
  }
}

/**
 * What the run `given` needs to end (lib/config/permissions.ts taskNeeds),
 * from its `config` where it was read, else from its command line alone;
 * relative paths made absolute from `cwd`. None without a task.
 */
function runNeeds(given: Given | undefined, config: Config | undefined, cwd: string): Need[] {
  const task = given?.task;
  if (task === undefined) return [];
  const configFile = config === undefined ? configPath(given) : config.file;
  const stateDir = stateDirBeforeConfig(given?.stateDir, config?.stateDir);
  if (stateDir === undefined) return [];
  const abs = (p: string) => (p.startsWith("/") ? p : `${cwd}/${p}`.replace(/\/\.$/, ""));
  const files = {
    ...task,
    ...(task.graphOutputs ? { graphOutputs: task.graphOutputs.map(abs) } : {}),
    ...(task.log === undefined ? {} : { log: abs(task.log) }),
  };
  return taskNeeds(files, {
    config,
    configFile,
    stateDir: abs(stateDir),
    explicitConfig: given?.config !== undefined,
    explicitStateDir: given?.stateDir !== undefined,
  }).map((n) => (n.kind === "read" || n.kind === "write" ? { ...n, value: abs(n.value) } : n));
}

/**
 * The absolute paths the config names or needs (a sendmail, a store and its
 * directory, a page directory…): flags the user gave for them are to be
 * kept. Every absolute string of the config as netmon reads it (`store =
 * "sqlite:/srv/n.db"` is the path `/srv/n.db` there), and what the config
 * needs as lib/config/permissions.ts works it out, the one computation.
 * `config`: the config file read ({@linkcode readableConfig}); none without one.
 */
function configPaths(role: Role, config: Config | undefined): string[] {
  const path = config?.file;
  if (config === undefined || path === undefined) return [];
  const found: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string") {
      if (v.startsWith("/") && v.length > 1) found.push(v.replace(/\/+$/, ""));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") Object.values(v).forEach(walk);
  };
  try {
    walk(config);
    const needs = permissionNeeds(role, {
      config,
      configFile: path,
      // Only a candidate, kept where granted (a -s is among the arguments' paths already).
      stateDir: config.stateDir ?? ROOT_STATE_DIR,
      explicitConfig: true,
      explicitStateDir: true,
    });
    for (const n of needs) {
      if ((n.kind === "read" || n.kind === "write") && n.value.startsWith("/")) found.push(n.value);
    }
  } catch { /* the refusal is what to say; a config whose needs cannot be told names only its paths */ }
  return found;
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

/** `values` without repeats, nor a path another one covers (`.` being `cwd`). */
function minimalPaths(values: readonly string[], cwd: string): string[] {
  const abs = (p: string) => (p === "." ? cwd : p);
  const out: string[] = [];
  for (const v of values) {
    if (out.some((o) => pathCovers(abs(o), abs(v)))) continue;
    for (let k = out.length - 1; k >= 0; k--) if (pathCovers(abs(v), abs(out[k] as string))) out.splice(k, 1);
    out.push(v);
  }
  return out;
}

/** What {@linkcode additions} may keep beyond the refusal: candidates the process may have been granted. */
export interface Candidates {
  /** Paths the config names. */
  paths?: readonly string[];
  /** The current directory (a `.` in a flag is it). */
  cwd?: string;
  /** What the run needs to end (lib/config/permissions.ts taskNeeds), added where the set does not grant it. */
  needs?: readonly Need[];
}

/**
 * What each kind needs beyond the set: the refused value (a path under a
 * directory the arguments name: that directory, so that the next file in it
 * is allowed too); for reads, every path the arguments name; and what the
 * process was granted already beyond the set (a flag the user gave, or a
 * line this message printed before), which the new line must keep: of the
 * paths the arguments, the config, any set or the current directory (`.`)
 * name, the widest granted; of the other values, those netmon knows. Then
 * what the run needs to end (`candidates.needs`), where the set lacks it.
 */
export function additions(
  denied: { kind: string; what: string; also?: readonly { kind: string; what: string }[] },
  args: readonly string[],
  set: PermissionSet,
  isGranted: (kind: "read" | "write", path: string) => string | undefined = widestGranted,
  has: (kind: PermissionKind, value: string) => boolean = granted,
  candidates: Candidates = {},
): Partial<Record<PermissionKind, string[]>> {
  const named = pathArguments(args);
  const cwd = candidates.cwd ?? "/";
  const abs = (p: string) => (p === "." ? cwd : p);
  const add: Partial<Record<PermissionKind, string[]>> = {};
  const push = (kind: PermissionKind, value: string) => {
    const paths = kind === "read" || kind === "write";
    const v = paths ? abs(value) : value;
    if ((set[kind] ?? []).some((s) => s === v || (paths && pathCovers(s, v)))) return;
    if (!(add[kind] ?? []).includes(value)) (add[kind] ??= []).push(value);
  };
  const others = [...named, ...(candidates.paths ?? [])];
  for (const kind of ["run", "env", "sys"] as const) {
    const values = kind === "run" ? [...knownValues(kind), ...others] : knownValues(kind);
    for (const value of new Set(values)) if (has(kind, value)) push(kind, value);
  }
  const setPaths = Object.values(PERMISSION_SETS).flatMap((s) => [...(s.read ?? []), ...(s.write ?? [])]);
  for (const kind of ["read", "write"] as const) {
    for (const path of new Set([...others, ...setPaths])) {
      const had = isGranted(kind, path);
      if (had !== undefined && had !== "/") push(kind, had);
    }
    if (candidates.cwd !== undefined) {
      const had = isGranted(kind, cwd);
      if (had !== undefined && had !== "/") push(kind, had === cwd ? "." : had);
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
  for (const n of candidates.needs ?? []) push(n.kind, n.value);
  for (const k of ["read", "write"] as const) {
    const list = add[k];
    if (list) add[k] = minimalPaths(list.map((p) => (p === cwd && candidates.cwd !== undefined ? "." : p)), cwd);
  }
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
 * `given`: what the parsed command line gave, where it was parsed.
 */
export async function deniedLine(
  denied: DenoDenied,
  prog: string,
  args: readonly string[],
  given?: Given,
): Promise<string> {
  if (COMPILED) {
    return denied.withFix(
      `a compiled ${prog} has the permissions it was built with: build it with ${denied.flag}=${denied.what} added ` +
        `to the set's list ('${netmonCommand("schedule --compile")}' prints the build line for a config)`,
    );
  }
  const past = await passingLine(denied, prog, args, given);
  if (past === undefined) return denied.message;
  return denied.withFix(
    `this run's permissions (the ${past.set} set, and any flags given with it) do not allow it; as a flag beside ` +
      `-P=${past.set} replaces the set's list of its kind (and 'deno task' passes deno none), each list in this ` +
      `line repeats the set's: ${RUN_AS}${past.line}`,
  );
}

/**
 * The whole line, as the user types it, that runs `prog` with `args` past
 * `denied` (see {@linkcode deniedLine}), and the permission set it runs
 * with; undefined when the process runs with none (or is a compiled binary).
 */
export async function passingLine(
  denied: DenoDenied,
  prog: string,
  args: readonly string[],
  given?: Given,
): Promise<{ set: string; line: string } | undefined> {
  if (COMPILED) return undefined;
  const set = runningSet(PERMISSION_SETS, `${prog}.ts`);
  if (set === undefined) return undefined;
  const cwd = Deno.cwd();
  const config = await readableConfig(given);
  const add = additions(denied, args, PERMISSION_SETS[set] ?? {}, widestGranted, granted, {
    paths: configPaths(prog === "graph" ? "graph" : "report", config),
    cwd,
    needs: runNeeds(given, config, cwd),
  });
  return { set, line: runLine(set, `${prog}.ts`, args, add, cwd).map(shellWord).join(" ") };
}
