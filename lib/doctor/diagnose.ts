/**
 * `netmon doctor`: looks at everything a cron-driven netmon depends on and
 * says, in plain words with the fix, what is wrong. Every check only reads:
 * the firewall is listed, never changed; the state directory gets one
 * temporary file, removed at once; mail is a connection and a login, never
 * a message; the PostgreSQL store a login and SELECTs.
 *
 * @module
 */

import { statfsSync } from "node:fs";
import type { Runner } from "../host/run.ts";
import type { Config } from "../config/config.ts";
import { SMTP_PASSWORD_ENV } from "../config/mail.ts";
import { DenoDenied, denoPermissionError, EX, isDenoRefusal, NetmonError, RUN_AS } from "../host/errors.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { isReport, parseRunLine } from "./run_lines.ts";
import { checkOriginal, checkSchedule, cronLines, timerLines } from "./schedule_check.ts";
import { type CheckName, CHECKS, type Finding } from "./finding.ts";
import { stampToNaive } from "../usage/local_time.ts";
import { localZone, wallToInstant, type Zone } from "../usage/zone.ts";
import { logZone, zoneRecordPath } from "../state/zone_record.ts";
import { allColumns, meterRules } from "../config/meters.ts";
import { selectSource } from "../sources/select.ts";
import { foreignAdvice, takeItOver } from "../sources/source.ts";
import { leftFix, leftIn, leftNote } from "../sources/left_behind.ts";
import { forEachLogSample, readLast, readLogTail } from "../state/log_reader.ts";
import { readsLogWhole } from "../state/record.ts";
import { dirOf, readWholeText } from "../host/safe_open.ts";
import { advise, netmonCommand, type RunWith } from "../host/invocation.ts";
import type { StateFiles } from "../state/files.ts";
import { readStatus, statusPath } from "../state/status.ts";
import { DB_PASSWORD_ENV, parseStoreUrl, type PostgresConfig } from "../config/fleet.ts";
import { cronDaemonInstalled } from "../host/cron_daemon.ts";
import { shellWord } from "../host/shell_word.ts";
import { REFUSED } from "../host/dir_trust.ts";

export type { Finding } from "./finding.ts";

/** Where the xtables lock lives (iptables' default; netmon runs iptables with a clean environment). */
export const XTABLES_LOCK = "/run/xtables.lock";
export { CRON_DIRS, CRON_FILES, STALE_MS, SYSTEMD_DIR, USER_CRON_DIRS } from "./schedule_check.ts";

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

/** What doctor looks at. */
export interface DoctorInput {
  /** The loaded config, or the error loading it gave. */
  config: Config | NetmonError;
  /** Where the config came from, for messages. */
  configPath?: string;
  /** The state directory's files, when the config allowed finding them. */
  files?: StateFiles;
  /** Runs the firewall programs. */
  run: Runner;
  /** Tries the mail server: resolves to what it said, or throws. */
  verifyMail?: (config: Config) => Promise<string>;
  /** Looks at the PostgreSQL store as the report connects to it, only reading; throws what connecting threw. */
  verifyStore?: (config: Config) => Promise<StoreLook>;
  /** The current time. */
  now: Date;
  /** The config and state directory doctor was given (`-c`, `-s`): a fix's command names them too. */
  given?: RunWith;
  /**
   * The whole line that runs this doctor past Deno's refusal `denied`, with
   * the user's own arguments (lib/cli/permission_line.ts), as exit-77
   * refusals print it; undefined where it cannot be told (a compiled binary).
   */
  runLine?: (denied: DenoDenied) => Promise<string | undefined>;
  /** What is wrong with who can write the state directory and those above it (lib/host/dir_trust.ts). */
  stateDirTrust?: (dir: string) => Promise<string[]>;
  /** The same for the Prometheus textfile's directory. */
  textfileDirTrust?: (dir: string) => Promise<string[]>;
  /**
   * What netmon refuses to run with of what the config names (lib/config/trust.ts): the config file, the programs
   * it names, the SQLite store's directory (relative to the state directory `dir`, if any).
   */
  configTrust?: (config: Config, dir: string | undefined) => Promise<string[]>;
}

/** What doctor's look at the PostgreSQL store found, once connected and logged in. */
export interface StoreLook {
  /** Whether the table `stats` is there. */
  table: boolean;
  /** This host's newest stored sample (Unix seconds), where the table holds one. */
  newest?: number | undefined;
}

/** The netmon command `words` on the config and state directory doctor was `given` (-c, -s). */
const command = (given: RunWith, words: string): string => netmonCommand(words, given);

/**
 * The fix for Deno refusing doctor `denied`, which the report needs too
 * (`report`: what its line needs, and how to get it): the whole line that runs
 * doctor past it (kept whole after RUN_AS by formatFindings); `fallback` where
 * the line cannot be told.
 */
async function pastRefusal(
  input: DoctorInput,
  denied: DenoDenied,
  report: string,
  fallback: string,
): Promise<string> {
  const line = await input.runLine?.(denied);
  return line === undefined ? fallback : `${report}; for this doctor, ${RUN_AS}${line}`;
}

/** The fix for what doctor may not look at as the user it runs as. */
const asRoot = (given: RunWith): string => `run '${command(given, "doctor")}' as root`;

const ok = (check: CheckName, said: string): Finding => ({ check, verdict: "ok", said });
const problem = (check: CheckName, said: string, fix: string): Finding => ({ check, verdict: "problem", said, fix });
const skipped = (check: CheckName, said: string): Finding => ({ check, verdict: "skipped", said });

function message(err: unknown): string {
  if (err instanceof NetmonError) return err.message;
  const denied = denoPermissionError(err);
  if (denied) return denied.message;
  return err instanceof Error ? err.message.split("\n")[0] ?? String(err) : String(err);
}

/** The firewall programs the config's source runs, each with the argument that prints its version. */
function programs(config: Config): { role: string; path: string; args: string[] }[] {
  const b = config.binaries;
  switch (config.source) {
    case "iptables": {
      const families = new Set(config.meters.flatMap((m) => meterRules(m, true).map((r) => r.family)));
      const list = [];
      if (families.has(4)) {
        list.push({ role: "iptables", path: b.iptables, args: ["--version"] });
        list.push({ role: "iptables-save", path: b.iptablesSave, args: ["--version"] });
        list.push({ role: "iptables-restore", path: b.iptablesRestore, args: ["--version"] });
      }
      if (families.has(6)) {
        list.push({ role: "ip6tables", path: b.ip6tables, args: ["--version"] });
        list.push({ role: "ip6tables-save", path: b.ip6tablesSave, args: ["--version"] });
        list.push({ role: "ip6tables-restore", path: b.ip6tablesRestore, args: ["--version"] });
      }
      return list;
    }
    case "nftables":
      return [{ role: "nft", path: b.nft, args: ["--version"] }];
    case "interface":
      return [{ role: "ip", path: b.ip, args: ["-V"] }];
    case "pf":
      return [{ role: "pfctl", path: b.pfctl, args: ["-s", "Running"] }];
  }
}

/** iptables' backend from its version line: `iptables v1.8.9 (nf_tables)`. */
export function backendOf(versionLine: string): "nf_tables" | "legacy" | undefined {
  const m = /\((nf_tables|legacy)\)/.exec(versionLine);
  return m ? m[1] as "nf_tables" | "legacy" : undefined;
}

/** Rules and non-ACCEPT policies in iptables-save output: what makes a backend "hold rules". */
export function savedRules(text: string): { rules: number; tables: string[]; policies: string[] } {
  let table = "";
  const tables = new Set<string>();
  const policies: string[] = [];
  let rules = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1).trim();
    else if (line.startsWith("-A ")) {
      rules++;
      tables.add(table);
    } else if (line.startsWith(":")) {
      const [chain, policy] = line.slice(1).split(/\s+/);
      if (policy && policy !== "ACCEPT" && policy !== "-") {
        policies.push(`${table} ${chain} ${policy}`);
        tables.add(table);
      }
    }
  }
  return { rules, tables: [...tables], policies };
}

interface Versions {
  findings: Finding[];
  /** Each program that ran, with the first line of what it printed. */
  ran: Map<string, string>;
}

/** What netmon-admin lets doctor run: a flag replaces the set's list, so one that adds a program names these too. */
function allowedRuns(): string[] {
  return denoJson.permissions["netmon-admin"].run;
}

async function checkBinaries(config: Config, run: Runner, given: RunWith): Promise<Versions> {
  const ran = new Map<string, string>();
  // Paths by the version they print, without the program's own name: iptables' three tools say it once.
  const byVersion = new Map<string, string[]>();
  const missing: string[] = [];
  // Programs Deno was not allowed to run (a [binaries] path outside the permission set): there, not missing.
  const denied: string[] = [];
  for (const p of programs(config)) {
    let first = "";
    try {
      const out = await run(p.path, p.args);
      first = (out.stdout || out.stderr).trim().split("\n")[0] ?? "";
    } catch (err) {
      // pfctl -s Running fails without /dev/pf access, but it ran: it exists.
      if (!(p.role === "pfctl" && err instanceof NetmonError && "code" in err)) {
        if (isDenoRefusal(err)) denied.push(p.path);
        missing.push(message(err));
        continue;
      }
    }
    ran.set(p.role, first);
    const version = first.replace(/^\S+ (utility, )?/, "");
    byVersion.set(version, [...(byVersion.get(version) ?? []), p.path]);
  }
  const said = [...byVersion].map(([version, paths]) => `${paths.join(", ")}${version ? ` (${version})` : ""}`);
  if (missing.length > 0) {
    const fix = denied.length === missing.length
      ? `allow them: run doctor (and the report) with --allow-run=${
        [...new Set([...denied, ...allowedRuns()])].join(",")
      }; '${command(given, "schedule")}' prints the report's line with them`
      : `install the package that provides it, or set its path under [binaries] in ${config.file ?? "the config"}`;
    return { ran, findings: [problem("binaries", missing.join("; "), fix)] };
  }
  return { ran, findings: [ok("binaries", said.join(", "))] };
}

/** Which backend iptables drives, and whether the other one holds rules too. */
async function checkBackend(
  config: Config,
  versions: Versions,
  run: Runner,
  given: RunWith,
): Promise<Finding> {
  const families: [string, string][] = [];
  if (versions.ran.has("iptables")) families.push(["iptables", config.binaries.iptables]);
  if (versions.ran.has("ip6tables")) families.push(["ip6tables", config.binaries.ip6tables]);
  const backends = new Map<string, string>();
  for (const role of versions.ran.keys()) {
    const b = backendOf(versions.ran.get(role) ?? "");
    if (b) backends.set(role, b);
  }
  const kinds = new Set(backends.values());
  if (kinds.size > 1) {
    return problem(
      "backend",
      `the configured programs drive different backends: ${[...backends].map(([r, b]) => `${r} ${b}`).join(", ")}`,
      "set every iptables path under [binaries] to the same variant (all -nft or all -legacy)",
    );
  }
  const backend = [...kinds][0];
  if (!backend) return ok("backend", "iptables did not say which backend it drives (before 1.8): legacy");
  const other = backend === "nf_tables" ? "legacy" : "nft";
  const held: string[] = [];
  for (const [name, path] of families) {
    const dir = path.slice(0, path.lastIndexOf("/") + 1);
    const save = `${dir}${name}-${other}-save`;
    let text: string;
    try {
      text = (await run(save, [])).stdout;
    } catch (err) {
      if (/not found/.test(message(err))) continue;
      return problem(
        "backend",
        `${name} drives ${backend}; cannot list the ${other} rules: ${message(err)}`,
        asRoot(given),
      );
    }
    const s = savedRules(text);
    if (s.rules > 0 || s.policies.length > 0) {
      const what = [
        s.rules > 0 ? `${s.rules} rule${s.rules === 1 ? "" : "s"}` : "",
        s.policies.length > 0 ? `policy ${s.policies.join(", ")}` : "",
      ].filter((x) => x).join(" and ");
      held.push(`${save} lists ${what} (table${s.tables.length === 1 ? "" : "s"} ${s.tables.join(", ")})`);
    }
  }
  if (held.length > 0) {
    return problem(
      "backend",
      `netmon's ${families.map(([n]) => n).join(" and ")} drive${
        families.length === 1 ? "s" : ""
      } ${backend}, but the ${other} backend holds rules too: ${held.join("; ")}. Both apply to every packet and ` +
        `neither iptables shows the other's`,
      `move the ${other} rules to one backend (e.g. '${
        other === "legacy" ? "iptables-legacy-save" : "iptables-nft-save"
      }` +
        ` | iptables-restore'), or point [binaries] at the ${other} programs`,
    );
  }
  return ok("backend", `iptables drives ${backend}; the ${other} backend holds no rules`);
}

async function checkRules(config: Config, run: Runner, given: RunWith, files?: StateFiles): Promise<Finding> {
  if (config.source === "interface") {
    return ok("rules", "the interface source reads the kernel's counters: no rules needed");
  }
  const source = await selectSource(config, run);
  let rows;
  try {
    rows = await source.status();
  } catch (err) {
    return problem("rules", `cannot read the firewall: ${message(err)}`, asRoot(given));
  }
  const where = config.source === "iptables"
    ? `chain ${config.chain}`
    : config.source === "nftables"
    ? `table inet ${config.table}`
    : "pf labels";
  const missing = [...new Set(rows.filter((r) => !r.installed).map((r) => `${r.meter} (${r.where})`))];
  // Rules not made by netmon that jump to its chain (network_monitor.py's): said beside missing ones too, as that is
  // where a switch from the script stands (its rules there, netmon's not yet), and start takes them over.
  const foreign = source.foreignRules ?? [];
  // A rule removed by hand is named here, its command said once, in the fix (with the other way, takeItOver).
  const foreignSaid = foreign.map((f) => "fix" in f ? f.what : foreignAdvice(f, given));
  const removals = [...new Set(foreign.flatMap((f) => "fix" in f ? [f.fix] : []))];
  const otherWay = removals.length > 0 ? ` (${takeItOver(removals.length)})` : "";
  if (missing.length > 0) {
    const fix = config.source === "pf"
      ? `add the rules '${command(given, "pf-conf")}' prints to /etc/pf.conf and load it with 'pfctl -f /etc/pf.conf'`
      : `run '${command(given, "start")}' (it keeps the rules already there and their counters${
        foreign.some((f) => "takeover" in f) ? ", and takes over those not made by netmon" : ""
      })`;
    return problem(
      "rules",
      [
        // A row of status is a rule on iptables, a log column (with all its rules) on nftables and pf.
        `${missing.length} of ${rows.length} ${
          config.source === "iptables" ? "rules" : `log column${rows.length === 1 ? "'s" : "s'"} rules`
        } missing or not matching the config: ${missing.join(", ")}`,
        ...foreignSaid,
      ].join("; "),
      removals.length > 0 ? `${fix}; then ${removals.join(" && ")}${otherWay}` : fix,
    );
  }
  if (source.warnings.length > 0) {
    const said = source.warnings.map((w) => advise(w, given)).join("; ");
    return problem("rules", said, `run '${command(given, "start")}' to repair`);
  }
  if (foreign.length > 0) {
    // A rule start takes over needs only start (said once); any other goes by hand, each by its own command.
    const fixes = [...new Set(foreign.map((f) => "fix" in f ? f.fix : command(given, "start")))];
    return problem("rules", foreignSaid.join("; "), fixes.join(" && ") + otherWay);
  }
  // What this config's start under its other source installed (lib/sources/left_behind.ts): it counts on.
  const left = files === undefined ? undefined : await leftIn(config, () => files.dir, run);
  if (left) {
    return problem("rules", advise(leftNote(left), given), advise(leftFix(left), given));
  }
  // Rules, as start writes them (a row of status is a column on nftables and pf, a rule on iptables).
  const rules = config.meters.flatMap((m) => meterRules(m, config.source === "iptables")).length;
  const columns = allColumns(config.meters).length;
  return ok(
    "rules",
    `all ${rules} rule${rules === 1 ? "" : "s"} for ${columns} log column${
      columns === 1 ? "" : "s"
    } installed (${where})`,
  );
}

/** The lock's finding: held matters to legacy iptables-restore, which start and stop run. */
function checkLock(config: Config, versions: Versions, given: RunWith): Finding {
  const legacy = [...versions.ran.values()].some((v) => backendOf(v) === "legacy");
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(XTABLES_LOCK, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return ok("xtables-lock", `${XTABLES_LOCK} does not exist: nobody holds it`);
    }
    return problem(
      "xtables-lock",
      `cannot open ${XTABLES_LOCK}: ${message(err)}`,
      asRoot(given),
    );
  }
  try {
    if (file.tryLockSync(true)) return ok("xtables-lock", `${XTABLES_LOCK} is free`);
  } finally {
    file.close();
  }
  if (!legacy) {
    return ok("xtables-lock", `${XTABLES_LOCK} is held by another process, but the nf_tables backend does not use it`);
  }
  return problem(
    "xtables-lock",
    `${XTABLES_LOCK} is held by another process: legacy iptables-restore waits for it (up to wait = ${config.wait} s), ` +
      `so 'netmon start' and 'stop' would wait, then give up with exit 75 (the report does not need it)`,
    `if it stays held, find the holder with 'fuser -v ${XTABLES_LOCK}' and see why it does not finish`,
  );
}

/**
 * The fix for Deno refusing doctor `kind` access to the state directory `dir` (the report needs it too): the whole
 * line that runs this doctor (with everything it looks at), where it can be told.
 */
function stateDirRefused(input: DoctorInput, dir: string, kind: "read" | "write"): Promise<string> {
  const report = `the report needs ${dir} in its --allow-read and --allow-write lists ('${
    command(input.given ?? {}, "schedule")
  }' prints its whole line)`;
  return pastRefusal(
    input,
    new DenoDenied({ kind, what: dir }),
    report,
    `add ${dir} to doctor's --allow-${kind} list (a flag replaces the permission set's list); ${report}`,
  );
}

async function checkStateDir(files: StateFiles, input: DoctorInput): Promise<Finding> {
  const given = input.given ?? {};
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(files.dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return ok("state-dir", `${files.dir} does not exist yet: the first report creates it`);
    }
    return problem(
      "state-dir",
      `cannot look at ${files.dir}: ${message(err)}`,
      isDenoRefusal(err) ? await stateDirRefused(input, files.dir, "read") : asRoot(given),
    );
  }
  if (!info.isDirectory) {
    return problem("state-dir", `${files.dir} is not a directory`, "move it away or set state_dir to a directory");
  }
  const probe = `${files.dir}/.netmon-doctor.${Deno.pid}.tmp`;
  try {
    Deno.writeTextFileSync(probe, "netmon doctor\n", { createNew: true, mode: 0o600 });
    Deno.removeSync(probe);
  } catch (err) {
    const ro = err instanceof Error && /read-only|os error 30/i.test(err.message);
    return problem(
      "state-dir",
      ro ? `${files.dir} is on a read-only file system` : `cannot write in ${files.dir}: ${message(err)}`,
      ro
        ? `remount it read-write, or set state_dir to a writable directory`
        : isDenoRefusal(err)
        ? await stateDirRefused(input, files.dir, "write")
        : `run netmon as root, or make ${files.dir} writable by the user it runs as`,
    );
  }
  // Said, not a problem: the usage is only seen, by a user of this machine (netmon makes it 0750, the README's steps
  // too; a mkdir of the admin's own may not have).
  const seen = info.mode !== null && (info.mode & 0o005) !== 0
    ? ` (every user can read it, mode ${(info.mode & 0o7777).toString(8).padStart(4, "0")}: ` +
      `chmod o-rwx ${shellWord(files.dir)}, as netmon makes it, so that its usage is root's and its group's)`
    : "";
  let type: number | undefined;
  try {
    type = Number(statfsSync(files.dir).type);
  } catch (err) {
    return ok("state-dir", `${files.dir} is writable (file system type not checked: ${message(err)})${seen}`);
  }
  if (type === TMPFS_MAGIC || type === RAMFS_MAGIC) {
    return problem(
      "state-dir",
      `${files.dir} is on ${type === TMPFS_MAGIC ? "tmpfs" : "ramfs"}: the log and the last file vanish at reboot`,
      "set state_dir (or --state-dir) to a directory on a disk, such as /var/lib/netmon",
    );
  }
  return ok("state-dir", `${files.dir} is writable and on persistent storage${seen}`);
}

/** Doctor's findings on the log, and its last sample's instant. */
export interface LogFacts {
  findings: Finding[];
  /** The last sample's instant (ms), if any. */
  lastAt?: number;
}

/** True when a file could not be read for lack of permission (the file system's or Deno's), not for its content. */
function unreadable(err: unknown): boolean {
  return err instanceof Deno.errors.PermissionDenied || (err instanceof Error && err.name === "NotCapable") ||
    (err instanceof NetmonError && err.exitCode === EX.NOPERM);
}

/** The fix for a state file doctor may not read. */
const notAllowed = (given: RunWith): string =>
  `nothing is wrong with the file: doctor may not read it. Run '${command(given, "doctor")}' as root, as the ` +
  "report runs, with the permission the line above names";

/**
 * What a damaged log line stops, for doctor's fix: the report only when it
 * must read the log whole (lib/state/record.ts `readsLogWhole`); summary,
 * graph and the pages skip the line with a warning; what reads the log
 * strictly (rebuilding the last file, `graph --strict`, importing it into a
 * store) fails on it.
 */
function damagedLineFix(files: StateFiles): string {
  let whole = true;
  try {
    const lastLine = readLogTail(files.log).lastLine;
    whole = lastLine === undefined || readsLogWhole(readLast(files.last), lastLine);
  } catch {
    // A last file it cannot read: the report rebuilds it from the whole log.
  }
  const skip = "summary, graph and the pages skip that line with a warning (its sample not counted)";
  return "keep a copy, then correct or delete that line: " +
    (whole
      ? `report fails on it (${files.last} is not the log's last sample, so it reads the log whole); ${skip}`
      : `report still appends (it reads only the log's end), and ${skip}; but report fails on it if ${files.last} ` +
        "is lost (rebuilt from the whole log), as do graph --strict and importing the log into a store");
}

/**
 * Doctor's finding on the log and the last file (exported for its tests);
 * a fix's command names the -c/-s doctor was `given`.
 */
export async function checkLog(files: StateFiles, given: RunWith = {}): Promise<LogFacts> {
  let count = 0;
  let first = "";
  let last = "";
  try {
    await forEachLogSample(files.log, (s) => {
      if (count++ === 0) first = s.timestamp;
      last = s.timestamp;
    });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      return {
        findings: [problem(
          "log",
          message(err),
          unreadable(err) ? notAllowed(given) : damagedLineFix(files),
        )],
      };
    }
  }
  let lastFile;
  try {
    lastFile = readLast(files.last);
  } catch (err) {
    return {
      findings: [problem(
        "log",
        message(err),
        unreadable(err)
          ? notAllowed(given)
          : `delete ${files.last}: the next report rebuilds it from the log's last line`,
      )],
    };
  }
  if (count === 0 && !lastFile) return { findings: [ok("log", "no samples yet: the first report writes them")] };
  const facts: LogFacts = {
    findings: [ok(
      "log",
      `${files.log}: ${count} sample${count === 1 ? "" : "s"}${count > 0 ? ` from ${first} to ${last}` : ""}; ` +
        `${files.last}: ${lastFile ? `${lastFile.sample.timestamp}, totals since ${lastFile.totalStart}` : "none"}`,
    )],
  };
  const stamp = last || lastFile?.sample.timestamp;
  if (stamp) {
    // In the zone the report wrote it in, as every reader reads it.
    let zone: Zone;
    try {
      zone = logZone(files.log);
    } catch (err) {
      facts.findings.push(problem("log", message(err), `fix or remove ${zoneRecordPath(files.log)}`));
      zone = localZone();
    }
    facts.lastAt = wallToInstant(zone, stampToNaive(stamp));
  }
  return facts;
}

/** A trust warning's "(…: FIX)" and its FIX, as lib/host/dir_trust.ts words them (a refusal: its REFUSED). */
const FIXED = REFUSED.slice(REFUSED.lastIndexOf(" until"));
const WHAT_BEFORE_FIX = new RegExp(` \\([^()]*(?:, but fix it|${FIXED}): .*\\)$`);
const FIX_OF = new RegExp(`(?: fix it|${FIXED}): (.*)\\)$`);

/**
 * What lib/host/dir_trust.ts says of a directory (`warnings`, each "WHAT
 * (netmon …, but fix it: FIX)") as a problem of `check`: the whats, then the
 * fixes (`fallback` when none says one).
 */
function trustProblem(check: CheckName, warnings: readonly string[], fallback = ""): Finding {
  return problem(
    check,
    // "(REFUSED: FIX)", "(…, but fix it: FIX)" (lib/host/dir_trust.ts)
    warnings.map((t) => t.replace(WHAT_BEFORE_FIX, "")).join("; "),
    warnings.map((t) => FIX_OF.exec(t)?.[1] ?? "").filter((f) => f).join("; ") || fallback,
  );
}

/** The textfile of 100,000 columns is a few MiB: doctor reads no more than this of it. */
const TEXTFILE_MAX = 64 << 20;

/** `v` seconds since the epoch as a UTC time, for messages. */
function utc(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/**
 * The Prometheus textfile's finding: its directory there, and a directory no
 * other user can write (`trust`); the file a regular file that
 * node_exporter (its own user) may read, of the log's last sample
 * (`lastAt`, ms) once there is one. `path`: `[prometheus]`'s textfile.
 */
async function checkTextfile(path: string, lastAt: number | undefined, input: DoctorInput): Promise<Finding> {
  const trust = input.textfileDirTrust;
  const given = input.given ?? {};
  const dir = dirOf(path);
  const report = `the report needs ${dir} in its --allow-read and --allow-write lists ('${
    command(given, "schedule")
  }' prints its whole line)`;
  // Doctor looks at the directory and the file in it: the directory allowed, both are. The file system's refusal
  // is the user's, not Deno's.
  const denied = async (err: unknown) =>
    problem(
      "textfile",
      message(err),
      !isDenoRefusal(err) ? asRoot(given) : await pastRefusal(
        input,
        new DenoDenied({ kind: "read", what: dir }),
        report,
        `add ${dir} to doctor's --allow-read list (a flag replaces the permission set's list); ${report}`,
      ),
    );
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (err) {
    if (unreadable(err)) return denied(err);
    if (err instanceof Deno.errors.NotFound) {
      return problem(
        "textfile",
        `${dir}, the directory of [prometheus] textfile, does not exist: every report fails to write ${path}`,
        `create it where node_exporter's --collector.textfile.directory points (Debian: ` +
          "/var/lib/prometheus/node-exporter), or point textfile at that directory",
      );
    }
    return problem("textfile", `cannot look at ${dir}: ${message(err)}`, asRoot(given));
  }
  if (!info.isDirectory) {
    return problem(
      "textfile",
      `${dir}, the directory of [prometheus] textfile, is not a directory`,
      "point textfile at node_exporter's textfile directory",
    );
  }
  const warnings = trust ? await trust(dir) : [];
  if (warnings.length > 0) {
    return trustProblem("textfile", warnings, `let only root (or node_exporter's user) write ${dir}`);
  }
  let file: Deno.FileInfo | undefined;
  try {
    file = Deno.lstatSync(path);
  } catch (err) {
    if (unreadable(err)) return denied(err);
    if (!(err instanceof Deno.errors.NotFound)) {
      return problem(
        "textfile",
        `cannot look at ${path}: ${message(err)}`,
        asRoot(given),
      );
    }
  }
  if (!file) {
    return lastAt === undefined ? ok("textfile", `${path} not written yet: the first report writes it`) : problem(
      "textfile",
      `${path} is missing although the log has samples: the reports do not write it`,
      `run '${
        command(given, "report")
      }' and read its warning (the permissions it needs: see the README's Many machines section)`,
    );
  }
  if (file.isSymlink) {
    return problem(
      "textfile",
      `${path} is a link, not the file the reports write: something else put it there`,
      `remove it (the next report writes a regular file in its place) and see what made it`,
    );
  }
  if (!file.isFile) {
    return problem("textfile", `${path} is not a regular file: the report refuses to replace it`, `move ${path} away`);
  }
  if (((file.mode ?? 0) & 0o004) === 0) {
    return problem(
      "textfile",
      `${path} has mode ${
        ((file.mode ?? 0) & 0o777).toString(8).padStart(4, "0")
      }: node_exporter, its own user, cannot read it`,
      "the next report writes it with mode 0644; if it stays so, see who rewrites it",
    );
  }
  let text: string;
  try {
    // Not through a link swapped in since, nor a FIFO, nor without end: doctor runs as root.
    text = readWholeText(path, { what: "Prometheus textfile" }, TEXTFILE_MAX) ?? "";
  } catch (err) {
    return unreadable(err) ? denied(err) : problem("textfile", `cannot read ${path}: ${message(err)}`, asRoot(given));
  }
  const m = /^netmon_last_sample_timestamp_seconds (\d+)$/m.exec(text);
  const at = m ? Number(m[1]) : undefined;
  if (at === undefined) {
    return problem(
      "textfile",
      `${path} has no netmon_last_sample_timestamp_seconds: it is not netmon's`,
      `move ${path} away, or point textfile elsewhere`,
    );
  }
  if (lastAt !== undefined && at !== Math.floor(lastAt / 1000)) {
    return problem(
      "textfile",
      `${path} is of the sample at ${utc(at)}, not the log's last (${
        utc(Math.floor(lastAt / 1000))
      }): the last reports did not write it`,
      `run '${command(given, "report")}' and read its warning`,
    );
  }
  return ok("textfile", `${path} is of the log's last sample (${utc(at)}) and readable by node_exporter`);
}

/**
 * True when a crontab or ExecStart command line runs netmon's report: the
 * words after netmon's program parse, by the command table itself, as the
 * report (or no command), not as help or another command.
 */
export function runsReport(command: string): boolean {
  const line = parseRunLine(command, denoJson.tasks as Record<string, string>);
  return line !== undefined && isReport(line);
}

async function checkMail(config: Config, files: StateFiles | undefined, input: DoctorInput): Promise<Finding> {
  const given = input.given ?? {};
  const mail = config.mail;
  if (!mail) return ok("mail", "no [mail] section: reports are not mailed");
  let waiting: string[] = [];
  let refused: string[] = [];
  if (files) {
    const { refusedReports, spooled, spoolDir } = await import("../outputs/mail.ts");
    try {
      waiting = spooled(spoolDir(files.dir));
      refused = refusedReports(spoolDir(files.dir));
    } catch (err) {
      return problem("mail", message(err), asRoot(given));
    }
  }
  const where = mail.transport === "sendmail" ? mail.sendmail : `${mail.server}:${mail.port}`;
  let said: string;
  try {
    said = input.verifyMail ? await input.verifyMail(config) : "not tried";
  } catch (err) {
    if (err instanceof DenoDenied) {
      const flag = `${err.flag}=${err.what}`;
      const report = `give the report's line ${flag} too ('${command(given, "schedule")}' prints it whole)`;
      return problem(
        "mail",
        message(err),
        await pastRefusal(
          input,
          err,
          report,
          `run doctor with ${flag} ('deno task' passes no flags to deno), and ${report}`,
        ),
      );
    }
    return problem(
      "mail",
      message(err),
      err instanceof NetmonError && err.exitCode === EX.CONFIG
        // A setting (the password, a file): no server to check. A password from the environment is the report's.
        ? "correct what it names" +
          (mail.user !== undefined && mail.passwordFile === undefined
            ? `; doctor sees its own environment, not the report's: if the report's cron line or unit sets ` +
              `${SMTP_PASSWORD_ENV}, run doctor with it too`
            : "")
        : mail.transport === "sendmail"
        ? `install a mail transfer agent providing ${mail.sendmail}, or set mail.sendmail`
        : `check mail.server, mail.port and mail.security, and that this machine may connect to ${where}`,
    );
  }
  if (waiting.length > 0) {
    const oldest = waiting[0]?.slice(waiting[0].lastIndexOf("/") + 1);
    return problem(
      "mail",
      `${where} ${said}, but ${waiting.length} mail${waiting.length === 1 ? " waits" : "s wait"} in the spool ` +
        `(oldest ${oldest})`,
      `the next report delivers them; '${command(given, "report --mail-test")}' shows what the server says`,
    );
  }
  if (refused.length > 0) {
    return problem(
      "mail",
      `${where} ${said}, but it refused ${refused.length} mail${refused.length === 1 ? "" : "s"} for good: ` +
        refused.join(", "),
      "read them (the run that moved them aside said why in its warning) and delete them: netmon never resends them",
    );
  }
  return ok("mail", `${where} ${said}`);
}

/** What a check's `only` names: the source or section without which it is not run. */
type Only = Extract<typeof CHECKS[number], { only: string }>["only"];

/**
 * What each check that only some configs get (its `only`) takes of `config`: the source being iptables, the
 * textfile, the PostgreSQL store; false or undefined where the check is not run.
 */
function applies(config: Config) {
  return {
    iptables: config.source === "iptables",
    "[prometheus]": config.fleet.textfile,
    "PostgreSQL store": config.fleet.postgres,
  } satisfies Record<Only, unknown>;
}

/**
 * Runs every check, in order; later checks are skipped when what they need is broken, and all of them when netmon
 * refuses the config (lib/config/trust.ts).
 */
export async function diagnose(input: DoctorInput): Promise<Finding[]> {
  const { config } = input;
  const given = input.given ?? {};
  if (config instanceof NetmonError) {
    return [
      problem(
        "config",
        config.message,
        config.exitCode === EX.NOPERM
          ? config.message.includes(RUN_AS)
            ? "run doctor as the line above says, or keep the config in /etc/netmon, which the permission sets read"
            : "keep the config in /etc/netmon, which the permission sets read, or add the flag the line names"
          : "correct the config (see the README's Config section)",
      ),
      // The checks every config gets; those only some sources or sections get are not listed.
      ...CHECKS.filter((c) => c.name !== "config" && !("only" in c)).map((c) =>
        skipped(c.name, "needs a config that loads")
      ),
    ];
  }
  const gets = applies(config);
  const refused = input.configTrust ? await input.configTrust(config, input.files?.dir) : [];
  if (refused.length > 0) {
    // As a report refuses before anything: no check runs, reads or writes what the config names (a program, a
    // password or CA file, the state directory), which another user may have chosen.
    return [
      trustProblem("config", refused),
      ...CHECKS.filter((c) => c.name !== "config" && (!("only" in c) || Boolean(gets[c.only]))).map((c) =>
        skipped(c.name, "fix the config problem first")
      ),
    ];
  }
  const meters = config.source === "interface"
    ? `interfaces ${config.interfaces?.join(", ") ?? "all but loopback"}`
    : `${config.meters.length} meter${config.meters.length === 1 ? "" : "s"}`;
  const findings = [
    ok("config", `${config.file ?? "no config file (the built-in default)"}: source ${config.source}, ${meters}`),
  ];
  const versions = await checkBinaries(config, input.run, given);
  findings.push(...versions.findings);
  const binariesOk = versions.findings.every((f) => f.verdict === "ok");
  if (gets.iptables) {
    findings.push(
      binariesOk ? await checkBackend(config, versions, input.run, given) : skipped("backend", "needs the binaries"),
    );
  }
  findings.push(
    binariesOk ? await checkRules(config, input.run, given, input.files) : skipped("rules", "needs the binaries"),
  );
  if (gets.iptables) findings.push(checkLock(config, versions, given));
  let log: LogFacts = { findings: [] };
  if (input.files) {
    const dir = await checkStateDir(input.files, input);
    const trust = input.stateDirTrust ? await input.stateDirTrust(input.files.dir) : [];
    findings.push(
      dir.verdict !== "ok" || trust.length === 0 ? dir : trustProblem("state-dir", trust),
    );
    log = await checkLog(input.files, given);
    findings.push(...log.findings);
  } else {
    findings.push(skipped("state-dir", "no state directory"), skipped("log", "no state directory"));
  }
  const cron = await cronLines();
  findings.push(
    input.files
      ? checkSchedule({
        config,
        configFile: config.file,
        stateDir: input.files.dir,
        lastAt: log.lastAt,
        now: input.now,
        given,
        cronDaemon: cronDaemonInstalled(),
      }, [...cron, ...await timerLines()])
      : skipped("schedule", "no state directory"),
  );
  findings.push(checkOriginal(cron, input.files?.log));
  findings.push(await checkMail(config, input.files, input));
  const textfile = gets["[prometheus]"];
  if (textfile !== undefined) findings.push(await checkTextfile(textfile, log.lastAt, input));
  findings.push(input.files ? checkLastReport(input.files, given) : skipped("last-report", "no state directory"));
  // Reached only for a config no other user can change (a refused one returned above): it chooses the password file
  // doctor reads as root and the server it goes to.
  const pg = gets["PostgreSQL store"];
  if (pg !== undefined) findings.push(await checkStore(pg, config, log.lastAt, input));
  return findings;
}

/**
 * How the last report ended (netmon.status): a failure is a problem, as
 * `netmon check` says it, with the fix for its kind of failure.
 */
function checkLastReport(files: StateFiles, given: RunWith): Finding {
  const status = readStatus(files);
  if (!status) {
    try {
      Deno.lstatSync(statusPath(files));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        return ok("last-report", `no report has said how it ended yet (${statusPath(files)})`);
      }
      return problem("last-report", `cannot look at ${statusPath(files)}: ${message(err)}`, asRoot(given));
    }
    return problem(
      "last-report",
      `${statusPath(files)} cannot be read, or is not a report's status`,
      `remove it: the next report writes it again ('${command(given, "report")}' now)`,
    );
  }
  if (status.exit === 0) return ok("last-report", `the last report (${status.stamp}) ended well`);
  const report = command(given, "report");
  const fixes: Record<number, string> = {
    [EX.UNAVAILABLE]: `mend what it names (rules missing: '${command(given, "start")}'), then run '${report}'`,
    [EX.TEMPFAIL]: `a failure that may pass (a server down, the state lock held): the next report tries again and ` +
      `catches up from the log; if it fails again, mend what it names (see the store and mail findings)`,
    [EX.NOPERM]: `give the report what it names ('${command(given, "schedule")}' prints its whole line), or run it ` +
      "as root",
    [EX.CONFIG]: "correct the config as it says",
  };
  return problem(
    "last-report",
    `the last report (${status.stamp}) failed with exit ${status.exit}: ${status.message}`,
    fixes[status.exit] ?? `mend what it names, then run '${report}'`,
  );
}

/**
 * The PostgreSQL store's finding: reached and logged in as the report
 * does (the password from password_file, else doctor's own
 * NETMON_DB_PASSWORD), and its table there once the log has samples
 * (`lastAt`). Only reads. `pg`: `config`'s PostgreSQL store.
 */
async function checkStore(
  pg: PostgresConfig,
  config: Config,
  lastAt: number | undefined,
  input: DoctorInput,
): Promise<Finding> {
  if (!input.verifyStore) return skipped("store", "not tried");
  const given = input.given ?? {};
  const u = parseStoreUrl(pg.url);
  const server = `${u.host.includes(":") ? `[${u.host}]` : u.host}:${u.port}`;
  const where = `${u.user}@${server}/${u.database}`;
  let look: StoreLook;
  try {
    look = await input.verifyStore(config);
  } catch (err) {
    if (err instanceof DenoDenied) {
      const report = `the report's line needs it too ('${command(given, "schedule")}' prints it whole)`;
      return problem(
        "store",
        message(err),
        await pastRefusal(input, err, report, `run doctor with ${err.flag}=${err.what}; ${report}`),
      );
    }
    const code = err instanceof NetmonError ? err.exitCode : undefined;
    const env = pg.passwordFile === undefined
      ? `; doctor sees its own environment, not the report's: if the report's cron line or unit sets ` +
        `${DB_PASSWORD_ENV}, run doctor with it too`
      : "";
    return problem(
      "store",
      message(err),
      code === EX.NOPERM
        ? `check the user in store and the password (${pg.passwordFile ?? DB_PASSWORD_ENV})${env}`
        : code === EX.CONFIG
        ? `correct what it names${env}`
        : `start the server, or check the host and port in store and that this machine may connect to ${server}; ` +
          "the reports catch up from the log once it answers",
    );
  }
  if (!look.table) {
    return lastAt === undefined
      ? ok("store", `${where}: logged in; no table stats yet: the first report creates it`)
      : problem(
        "store",
        `${where}: logged in, but there is no table stats although the log has samples: the reports store nothing`,
        `run '${command(given, "report")}' and read its warning: it creates the table (its user needs CREATE on the ` +
          "schema) and loads the log",
      );
  }
  return ok(
    "store",
    `${where}: logged in; table stats there, ${
      look.newest === undefined ? "with no sample of this host yet" : `this host's newest sample ${utc(look.newest)}`
    }`,
  );
}

/**
 * `text` broken at spaces into lines of at most `width` characters, all but
 * the first indented; a run line to copy (after RUN_AS) kept whole, on a
 * line of its own.
 */
function wrap(text: string, indent: number, width = 110): string {
  const at = text.indexOf(RUN_AS);
  if (at >= 0) {
    const end = at + RUN_AS.length;
    return `${wrap(text.slice(0, end).trimEnd(), indent, width)}\n${" ".repeat(indent)}${text.slice(end)}`;
  }
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}

/** The findings as text: a line or a few each, the fix under each problem, a verdict at the end. */
export function formatFindings(findings: Finding[]): string {
  const width = Math.max(...findings.map((f) => f.check.length));
  const indent = 9 + width + 2;
  let text = "";
  for (const f of findings) {
    const mark = f.verdict === "ok" ? "ok     " : f.verdict === "problem" ? "PROBLEM" : "skipped";
    text += `${mark}  ${f.check.padEnd(width)}  ${wrap(f.said, indent)}\n`;
    if (f.fix) text += `${" ".repeat(indent)}${wrap(`fix: ${f.fix}`, indent)}\n`;
  }
  const problems = findings.filter((f) => f.verdict === "problem").length;
  text += problems === 0
    ? "netmon doctor: all is well\n"
    : `netmon doctor: ${problems} problem${problems === 1 ? "" : "s"} found\n`;
  return text;
}
