/**
 * bundle/: netmon.ts and lib/ bundled by `deno task bundle` into plain
 * JavaScript, which `deno task report`, `deno task netmon` and the README's
 * cron line run (a report starts about 4 ms sooner than from the TypeScript
 * modules; bench/report_bench.ts). It is committed, so these tests make sure
 * it is exactly what the sources bundle to now, and that the suites which run
 * netmon as a subprocess (the original-compatibility ones among them) pass
 * against it as well as against netmon.ts.
 *
 * @module
 */

import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import { run, withTempDir } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BUNDLE = `${ROOT}bundle`;
const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks as Record<string, string>;
const env = {
  PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  HOME: Deno.env.get("HOME") ?? "/root",
  NO_COLOR: "1",
  ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
};

/** The files of `dir` (deno bundle writes them side by side), by name, as text. */
function files(dir: string): Map<string, string> {
  return new Map([...Deno.readDirSync(dir)].map((e) => [e.name, Deno.readTextFileSync(`${dir}/${e.name}`)]));
}

Deno.test("bundle/ is exactly what 'deno task bundle' makes of netmon.ts and lib/ now", () =>
  withTempDir(async (dir) => {
    // The task's own deno bundle command, writing elsewhere.
    const command = tasks.bundle?.split("&&").map((c) => c.trim()).find((c) => c.startsWith("deno bundle "));
    ok(command, `deno.json's bundle task has no deno bundle command: ${tasks.bundle}`);
    const args = command.split(/\s+/).slice(1);
    const at = args.indexOf("--outdir");
    ok(at > 0 && args[at + 1] === "bundle", command);
    args[at + 1] = dir;
    const b = await run(Deno.execPath(), args, { cwd: ROOT, env });
    assertEquals(b.code, 0, b.stderr);
    const want = files(dir);
    const have = files(BUNDLE);
    const stale = "bundle/ is not what the sources bundle to now: run 'deno task bundle' and commit bundle/";
    assertEquals([...have.keys()].sort(), [...want.keys()].sort(), stale);
    for (const [name, text] of want) ok(text !== "" && have.get(name) === text, `${name}: ${stale}`);
    ok(want.has("netmon.js"), "the bundle's entry point is bundle/netmon.js");
  }));

Deno.test("deno task report and deno task netmon run bundle/netmon.js under their permission sets", async () => {
  for (
    const [task, set, args] of [["report", "netmon", ["--help"]], ["netmon", "netmon-admin", ["--version"]]] as const
  ) {
    ok(tasks[task]?.includes(` -P=${set} `) && tasks[task]?.includes(" bundle/netmon.js"), tasks[task]);
    const viaTask = await run(Deno.execPath(), ["task", "-q", task, ...args], { cwd: ROOT, env });
    const source = [...(task === "report" ? ["report"] : []), ...args];
    const fromSource = await run(Deno.execPath(), ["run", "-q", `-P=${set}`, `${ROOT}netmon.ts`, ...source], {
      cwd: ROOT,
      env,
    });
    assertEquals([viaTask.code, viaTask.stdout, viaTask.stderr], [0, fromSource.stdout, ""], task);
  }
});

Deno.test("the CLI, original-compatibility, iptables, mail, doctor, privilege and fault suites pass against it", async () => {
  const suites = ["cli", "original_compat", "iptables_e2e", "mail", "doctor", "privilege", "faults"].map((s) =>
    `${ROOT}tests/${s}_test.ts`
  );
  const t = await run(Deno.execPath(), ["test", "--frozen", "-A", ...suites], {
    cwd: ROOT,
    env: { ...env, NETMON_SCRIPT: `${BUNDLE}/netmon.js` },
  });
  assertEquals(t.code, 0, t.stdout + t.stderr);
  match(t.stdout, /ok \| \d+ passed \| 0 failed/);
});
