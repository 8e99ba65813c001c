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

/** Runs `deno task compile` as a user would, with `runtime` as DENORT_BIN if given. */
const compile = (runtime?: string) =>
  run(Deno.execPath(), ["task", "-q", "compile"], {
    cwd: ROOT,
    env: { ...env, ...(runtime ? { DENORT_BIN: runtime } : {}) },
  });
const removeBuilt = () =>
  Promise.all(["netmon", "netmon-graph"].map((f) => Deno.remove(`${ROOT}dist/${f}`).catch(() => undefined)));

/** What building with `deno task compile` gave: done once, by the first test that needs it (not at import). */
interface Build {
  code: number;
  stderr: string;
  /** Why the built binaries cannot be run here, if they cannot. */
  notRun?: string;
}

let building: Promise<Build> | undefined;
function built(): Promise<Build> {
  building ??= (async () => {
    const b = await compile();
    if (b.code !== 0) {
      const line = b.stderr.split("\n").find((l) => /denort|dl\.deno\.land/.test(l)) ?? b.stderr.trim();
      const notRun = `deno compile could not get its runtime (${line.trim().replace(/^\d+: /, "")})`;
      console.log(
        `compiled-binary tests are IGNORED (not passed): ${notRun}. To run them, set DENORT_BIN to the denort ` +
          `${Deno.version.deno} binary (dl.deno.land/release/v${Deno.version.deno}/denort-x86_64-unknown-linux-gnu.zip).`,
      );
      return { code: b.code, stderr: b.stderr, notRun };
    }
    const v = await run(`${ROOT}dist/netmon`, ["--version"], { env });
    if (!v.stdout.startsWith("netmon ")) {
      await removeBuilt();
      return {
        code: b.code,
        stderr: b.stderr,
        notRun: `DENORT_BIN=${DENORT} is not a denort runtime: the built binary printed "${v.stdout.split("\n")[0]}"`,
      };
    }
    return { code: b.code, stderr: b.stderr };
  })();
  return building;
}

Deno.test("deno task compile builds both binaries, or fails only for want of deno's runtime", async () => {
  const build = await built();
  if (build.code === 0) return;
  ok(!DENORT, `with DENORT_BIN set the build must work: ${build.stderr}`);
  // Everything before the runtime (the module graph, type check, permission sets) went through.
  match(build.stderr, /denort-[\w-]+\.zip|denort/, build.stderr);
  assertEquals(build.stderr.includes("error: Type"), false, build.stderr);
});

/**
 * The runtime options deno compile embedded in `binary`: its permissions and
 * V8 flags, read from the JSON metadata it appends.
 */
function embedded(binary: string): { permissions: Record<string, unknown>; v8_flags: string[] } {
  const bytes = Deno.readFileSync(binary);
  const key = new TextEncoder().encode('"permissions":{');
  let at = bytes.indexOf(key[0] as number);
  while (at >= 0 && !key.every((b, i) => bytes[at + i] === b)) at = bytes.indexOf(key[0] as number, at + 1);
  ok(at >= 0, `${binary} has no embedded permissions`);
  // The object from its opening brace to the matching close, strings skipped.
  const text = new TextDecoder("latin1").decode(bytes.subarray(at + key.length - 1, at + 20_000));
  let depth = 0;
  let inString = false;
  let end = 0;
  for (let i = 0; i < text.length && end === 0; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) end = i + 1;
  }
  const permissions = JSON.parse(text.slice(0, end));
  const flags = /^,"location":[^,]*,"v8_flags":(\[[^\]]*\])/.exec(text.slice(end))?.[1] ?? "[]";
  return { permissions, v8_flags: JSON.parse(flags) };
}

/** True when `text` (ASCII) occurs in the file at `path`, read in pieces. */
function fileContains(path: string, text: string): boolean {
  const bytes = Deno.readFileSync(path);
  const latin1 = new TextDecoder("latin1");
  const piece = 8 << 20;
  for (let at = 0; at < bytes.length; at += piece) {
    if (latin1.decode(bytes.subarray(at, at + piece + text.length)).includes(text)) return true;
  }
  return false;
}

Deno.test("the binaries carry their permission set from deno.json and nothing else, and never prompt", async () => {
  // Where no runtime is at hand the task builds on deno's own binary: the embedded options are the same, and
  // those binaries (which would run as plain deno) are inspected, never run, and removed.
  const { notRun } = await built();
  if (notRun) {
    const b = await compile(Deno.execPath());
    assertEquals(b.code, 0, b.stderr);
  }
  try {
    const sets = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).permissions;
    for (
      const [binary, set, v8] of [["netmon", "netmon-admin", []], [
        "netmon-graph",
        "graph",
        [
          "--max-semi-space-size=2",
        ],
      ]] as const
    ) {
      const { permissions: p, v8_flags } = embedded(`${ROOT}dist/${binary}`);
      const want = sets[set];
      for (const kind of ["read", "write", "run", "env", "sys", "net", "ffi"]) {
        assertEquals(p[`allow_${kind}`], want[kind] ?? null, `${binary}: ${kind}`);
      }
      assertEquals(p.prompt, false, `${binary} must fail, not wait for an answer, when a permission is missing`);
      for (const flag of v8) ok(v8_flags.includes(flag), `${binary} runs with ${flag}: ${v8_flags}`);
    }
    // nodemailer is imported by a specifier Deno does not see when it builds the graph: the task includes it, as
    // the import map names it, and its SMTP client is in the binary's file system.
    const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
    const include = `--include ${config.imports.nodemailer} `;
    ok(config.tasks.compile.includes(include), `the compile task has ${include}: ${config.tasks.compile}`);
    ok(fileContains(`${ROOT}dist/netmon`, '"n":"smtp-connection"'), "dist/netmon embeds nodemailer");
    // (netmon-graph reads the config with smol-toml, an npm package, and deno compile then embeds every npm
    // package of the lock file: it carries nodemailer too, unused.)
  } finally {
    if (notRun) await removeBuilt();
  }
});

Deno.test("compiled binaries, where deno's runtime is at hand", async (t) => {
  const { notRun } = await built();
  await t.step({
    name: "compiled netmon and netmon-graph run: version, help, a state directory outside the set refused by Deno",
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

  await t.step({
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
          "--allow-sys=uid,osUptime",
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
});
