/**
 * The run line a refusal prints (lib/cli/permission_line.ts), in-process:
 * what each flag adds to the set's list, what a command needs, and the line
 * around it. The CLI cases (the line run as printed) are in tests/cli_test.ts
 * and tests/permission_whole_test.ts.
 *
 * @module
 */

import { deepEqual as assertEquals } from "node:assert/strict";
import { additions, PERMISSION_SETS, runLine, runningSet } from "../lib/cli/permission_line.ts";
import { parseConfig } from "../lib/config/config.ts";
import { type Task, taskNeeds } from "../lib/config/permissions.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const ADMIN = PERMISSION_SETS["netmon-admin"] ?? {};
const nothing = () => undefined;
const none = () => false;

Deno.test("a refused path is added; for reading, the paths the arguments name too; what the set has is not", () => {
  const args = ["-c", "/srv/lab/netmon.toml", "--state-dir=/srv/lab/state", "-s", "/var/lib/netmon", "schedule"];
  assertEquals(
    additions({ kind: "read", what: "/srv/lab/netmon.toml" }, args, ADMIN, nothing, none),
    { read: ["/srv/lab/netmon.toml", "/srv/lab/state"] },
  );
});

Deno.test("a refused file inside a directory the arguments name adds the innermost such directory", () => {
  const args = ["-s", "/srv/lab", "--html", "/srv/lab/html"];
  assertEquals(
    additions({ kind: "write", what: "/srv/lab/html/index.html" }, args, ADMIN, nothing, none).write,
    ["/srv/lab/html"],
  );
  assertEquals(additions({ kind: "write", what: "/srv/lab/netmon.lock" }, args, ADMIN, nothing, none).write, [
    "/srv/lab",
  ]);
});

Deno.test("what the process was granted beyond the set is kept: the widest granted path, and other kinds", () => {
  const args = ["-c", "/srv/lab/netmon.toml", "import"];
  const grantedPaths = (kind: "read" | "write", path: string) =>
    kind === "read" && path.startsWith("/srv/lab") ? "/srv/lab" : undefined;
  const has = (kind: string, value: string) => kind === "env" && value === "NETMON_DB_PASSWORD";
  assertEquals(additions({ kind: "net", what: "192.0.2.5:5432" }, args, ADMIN, grantedPaths, has), {
    read: ["/srv/lab"],
    net: ["192.0.2.5:5432"],
    env: ["NETMON_DB_PASSWORD"],
  });
});

Deno.test("a refusal that needs two kinds (the schedule's directory) adds both", () => {
  assertEquals(
    additions(
      { kind: "read", what: "/srv/units", also: [{ kind: "write", what: "/srv/units" }] },
      [],
      ADMIN,
      nothing,
      none,
    ),
    { read: ["/srv/units"], write: ["/srv/units"] },
  );
});

Deno.test("the line is the set's task, each added list after the set's, then the arguments", () => {
  const line = runLine("graph", "graph.ts", ["--html", "/srv/www"], { write: ["/srv/www"] }, ROOT);
  assertEquals(line, [
    "deno",
    "run",
    "-q",
    "--frozen",
    "-P=graph",
    `--allow-write=${(PERMISSION_SETS.graph?.write ?? []).join(",")},/srv/www`,
    "--v8-flags=--max-semi-space-size=2",
    "graph.ts",
    "--html",
    "/srv/www",
  ]);
  // From elsewhere, deno.json and the script by their paths.
  assertEquals(runLine("netmon", "netmon.ts", ["report"], {}, "/tmp"), [
    "deno",
    "run",
    "--config",
    `${ROOT}/deno.json`,
    "-q",
    "--frozen",
    "-P=netmon",
    `${ROOT}/netmon.ts`,
    "report",
  ]);
});

Deno.test("the running set: found when a flag replaced one of its lists, not from flags of one's own alone", () => {
  const sets = PERMISSION_SETS;
  const netmon = sets.netmon ?? {};
  // -P=netmon --allow-run=/srv/sendmail: every kind but run whole.
  const replacedRun = (kind: string, value: string) =>
    kind === "run" ? value === "/srv/sendmail" : (netmon[kind as keyof typeof netmon] ?? []).includes(value);
  assertEquals(runningSet(sets, "netmon.ts", replacedRun), "netmon");
  // The same grants for graph.ts: only the sets its tasks run it with (graph's lists but run are netmon's, whole).
  assertEquals(runningSet(sets, "graph.ts", replacedRun), "graph");
  // --allow-env --allow-sys=uid,osUptime --allow-run=/usr/bin/stat --allow-read=DIR --allow-write=DIR: no set.
  const own = (kind: string, value: string) =>
    kind === "env" || (kind === "sys" && ["uid", "osUptime"].includes(value)) ||
    (kind === "run" && value === "/usr/bin/stat");
  assertEquals(runningSet(sets, "netmon.ts", own), undefined);
});

Deno.test("the current directory granted is kept as `.`, beside a refusal in it", () => {
  const cwd = "/srv/g2";
  const grantedPaths = (kind: "read" | "write", path: string) =>
    kind === "write" && path === cwd
      ? cwd
      : kind === "read" && path.startsWith("/srv/state")
      ? "/srv/state"
      : undefined;
  assertEquals(
    additions({ kind: "read", what: cwd }, ["/srv/state/netmon.log"], PERMISSION_SETS.graph ?? {}, grantedPaths, none, {
      cwd,
    }),
    { read: ["/srv/state", "."], write: ["."] },
  );
});

Deno.test("the running set: not found from a list of one's own naming part of a set's (a line schedule wrote)", () => {
  const graph = PERMISSION_SETS.graph ?? {};
  // The graph set's lists whole, but for read: /var/lib/netmon and the config, not /etc/netmon.
  const scheduled = (kind: string, value: string) =>
    kind === "read" ? value === "/var/lib/netmon" : (graph[kind as keyof typeof graph] ?? []).includes(value);
  assertEquals(runningSet(PERMISSION_SETS, "graph.ts", scheduled), undefined);
});

Deno.test("the running set: not found when two kinds are not granted at all (schedule's line lacking a path)", () => {
  const graph = PERMISSION_SETS.graph ?? {};
  const noEnvNoRead = (kind: string, value: string) =>
    kind !== "env" && kind !== "read" && (graph[kind as keyof typeof graph] ?? []).includes(value);
  assertEquals(runningSet(PERMISSION_SETS, "graph.ts", noEnvNoRead), undefined);
});

/** taskNeeds' values of `kind`, for `task` on the config `text` (kept in /srv/lab), state in /srv/lab/state. */
const needsOf = (task: Task, text: string | undefined, kind: string) =>
  taskNeeds(task, {
    config: text === undefined ? undefined : parseConfig(text, "/srv/lab/netmon.toml"),
    configFile: "/srv/lab/netmon.toml",
    stateDir: "/srv/lab/state",
    explicitConfig: true,
    explicitStateDir: true,
  }).filter((n) => n.kind === kind).map((n) => n.value);

const STORE = 'source = "interface"\nhost = "lab"\nstore = "postgresql://netmon@192.0.2.5:5432/netmon"\n' +
  '[postgresql]\npassword_file = "/srv/lab/db.password"\n';

Deno.test("what a command needs: the store only where it is read, mail only where mailed, writes only where made", () => {
  assertEquals(needsOf({ command: "summary", store: true }, STORE, "net"), ["192.0.2.5:5432"]);
  assertEquals(needsOf({ command: "summary", store: true }, STORE, "read"), [
    "/srv/lab/netmon.toml",
    "/srv/lab/db.password",
  ]);
  // From the log: the state directory read, nothing of the store.
  assertEquals(needsOf({ command: "summary" }, STORE, "net"), []);
  assertEquals(needsOf({ command: "summary" }, STORE, "read"), ["/srv/lab/netmon.toml", "/srv/lab/state"]);
  const mail = 'source = "interface"\n[mail]\nserver = "192.0.2.25"\nto = ["a@example.org"]\nfrom = "n@example.org"\n';
  assertEquals(needsOf({ command: "report" }, mail, "net"), ["192.0.2.25:587"]);
  assertEquals(needsOf({ command: "report", noMail: true }, mail, "net"), []);
  const nft = 'source = "nftables"\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n';
  assertEquals(needsOf({ command: "start" }, nft, "write"), ["/srv/lab/state"]);
  assertEquals(needsOf({ command: "stop", dryRun: true }, nft, "write"), []);
  // The interface source installs nothing: start needs no state directory.
  assertEquals(needsOf({ command: "start" }, mail, "write"), []);
  // doctor looks at the store and the state directory (written to see that it can be), writing nothing else.
  assertEquals(needsOf({ command: "doctor" }, STORE, "write"), ["/srv/lab/state"]);
  assertEquals(needsOf({ command: "doctor" }, STORE, "net"), ["192.0.2.5:5432"]);
});

Deno.test("what a command needs before its config is read: what its command line names", () => {
  assertEquals(needsOf({ command: "report" }, undefined, "write"), ["/srv/lab/state"]);
  assertEquals(needsOf({ command: "start" }, undefined, "write"), ["/srv/lab/state"]);
  assertEquals(needsOf({ command: "check" }, undefined, "write"), []);
  assertEquals(needsOf({ command: "summary", store: true }, undefined, "read"), ["/srv/lab/netmon.toml"]);
  // graph --html DIR: DIR read and written, the log's directory read.
  const html = { command: "graph", graphOutputs: ["/srv/www/index.html"] };
  assertEquals(needsOf(html, undefined, "read"), ["/srv/lab/netmon.toml", "/srv/lab/state", "/srv/www"]);
  assertEquals(needsOf(html, undefined, "write"), ["/srv/www"]);
  // A command not modelled needs its config alone.
  assertEquals(needsOf({ command: "schedule" }, undefined, "read"), ["/srv/lab/netmon.toml"]);
});

Deno.test("a need the set does not grant is added after what the refusal and the arguments name", () => {
  const needs = [
    { kind: "read" as const, value: "/srv/lab/db.password", why: "" },
    { kind: "read" as const, value: "/etc/netmon/netmon.toml", why: "" },
    { kind: "net" as const, value: "192.0.2.5:5432", why: "" },
  ];
  assertEquals(
    additions({ kind: "read", what: "/srv/lab/netmon.toml" }, ["-c", "/srv/lab/netmon.toml"], ADMIN, nothing, none, {
      needs,
    }),
    { read: ["/srv/lab/netmon.toml", "/srv/lab/db.password"], net: ["192.0.2.5:5432"] },
  );
});

Deno.test("graph on a LOG named: its directory is read, not the state directory", () => {
  const task = { command: "graph", log: "/srv/old/netmon.log", graphOutputs: ["/srv/www/usage.dat"] };
  assertEquals(needsOf(task, 'source = "interface"\n', "read"), ["/srv/lab/netmon.toml", "/srv/old", "/srv/www"]);
});
