/**
 * `deno task compile`: single executables with their permission sets baked
 * in. deno compile needs its runtime (denort), downloaded on first use or
 * named by DENORT_BIN; where neither works the build must fail for that
 * reason alone, and the tests of the binaries are reported as ignored with
 * the reason printed. Where a runtime is there, the binaries are run: their
 * version and help, their baked permissions (the set's and nothing else),
 * and the CLI golden tests against a binary built with the permissions
 * those tests give `deno run`.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import { run, RUN_ALLOW, withTempDir } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DENORT = Deno.env.get("DENORT_BIN");
const env = {
  PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  HOME: Deno.env.get("HOME") ?? "/root",
  NO_COLOR: "1",
  ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
  ...(DENORT ? { DENORT_BIN: DENORT } : {}),
};

const build = await run(Deno.execPath(), ["task", "-q", "compile"], { cwd: ROOT, env });
let notRun: string | undefined;
if (build.code !== 0) {
  const line = build.stderr.split("\n").find((l) => /denort|dl\.deno\.land/.test(l)) ?? build.stderr.trim();
  notRun = `deno compile could not get its runtime (${line.trim().replace(/^\d+: /, "")})`;
} else {
  const v = await run(`${ROOT}dist/netmon`, ["--version"], { env });
  if (!v.stdout.startsWith("netmon ")) {
    notRun = `DENORT_BIN=${DENORT} is not a denort runtime: the built binary printed "${v.stdout.split("\n")[0]}"`;
    for (const f of ["netmon", "netmon-graph"]) await Deno.remove(`${ROOT}dist/${f}`).catch(() => undefined);
  }
}
if (notRun) {
  console.log(
    `compiled-binary tests are IGNORED (not passed): ${notRun}. To run them, set DENORT_BIN to the denort ` +
      `${Deno.version.deno} binary (dl.deno.land/release/v${Deno.version.deno}/denort-x86_64-unknown-linux-gnu.zip).`,
  );
}

Deno.test("deno task compile builds both binaries, or fails only for want of deno's runtime", () => {
  if (build.code === 0) return;
  ok(!DENORT, `with DENORT_BIN set the build must work: ${build.stderr}`);
  // Everything before the runtime (the module graph, type check, permission sets) went through.
  match(build.stderr, /denort-[\w-]+\.zip|denort/, build.stderr);
  assertEquals(build.stderr.includes("error: Type"), false, build.stderr);
});

Deno.test({
  name: "compiled netmon and netmon-graph: version, help, the permission set baked in and nothing else",
  ignore: notRun !== undefined,
  fn: () =>
    withTempDir(async (dir) => {
      const bin = `${ROOT}dist/netmon`;
      const v = await run(bin, ["--version"], { env });
      assertEquals(v.stdout, `netmon 0.1.0 (deno ${Deno.version.deno})\n`);
      for (
        const [compiled, script, set] of [[bin, "netmon.ts", "netmon-admin"], [`${bin}-graph`, "graph.ts", "graph"]]
      ) {
        const a = await run(compiled as string, ["--help"], { env });
        const b = await run(Deno.execPath(), ["run", "-q", `-P=${set}`, `${ROOT}${script}`, "--help"], { env });
        assertEquals([a.code, a.stdout], [b.code, b.stdout], script);
      }
      // The set allows /var/lib/netmon and /etc/netmon only: a state directory elsewhere is refused, by Deno.
      const r = await run(bin, ["report", "-s", dir], { env: { ...env, NETMON_CONFIG: "" } });
      assertEquals(r.code, 77, r.stderr);
      match(r.stderr, new RegExp(`Deno denied (read|write) access to ${dir}`));
    }),
});

Deno.test({
  name: "compiled netmon passes the CLI golden tests",
  ignore: notRun !== undefined,
  fn: () =>
    withTempDir(async (dir) => {
      // Built with the permissions the golden tests give deno run (their directories are under the temp dir).
      const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
      const bin = `${dir}/netmon`;
      const c = await run(Deno.execPath(), [
        "compile",
        "-q",
        "--frozen",
        RUN_ALLOW,
        `--allow-read=${tmp}`,
        `--allow-write=${tmp}`,
        "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME",
        "--allow-sys=uid",
        "-o",
        bin,
        `${ROOT}netmon.ts`,
      ], { cwd: ROOT, env });
      assertEquals(c.code, 0, c.stderr);
      const t = await run(Deno.execPath(), ["test", "--frozen", "-A", `${ROOT}tests/cli_test.ts`], {
        cwd: ROOT,
        env: { ...env, NETMON_BIN: bin },
      });
      assertEquals(t.code, 0, t.stdout + t.stderr);
      match(t.stdout, /ok \| \d+ passed \| 0 failed/);
    }),
});
