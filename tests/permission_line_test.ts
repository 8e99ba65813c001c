/**
 * The run line a refusal prints (lib/cli/permission_line.ts), in-process:
 * what each flag adds to the set's list, and the line around it. The CLI
 * cases (the line run as printed) are in tests/cli_test.ts.
 *
 * @module
 */

import { deepEqual as assertEquals } from "node:assert/strict";
import { additions, PERMISSION_SETS, runLine, runningSet } from "../lib/cli/permission_line.ts";

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
