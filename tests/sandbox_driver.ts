/**
 * Runs as root inside a private mount namespace made by tests/sandbox.ts
 * (and usually a network namespace): lays an overlay over /etc, /var,
 * /usr/sbin and /usr/local/bin, whose changes go to a test directory and never reach the host,
 * a fresh tmpfs on /run, and removes (in the overlay only) every place the host keeps netmon's config,
 * state or schedule, then carries out the steps it is given (write or
 * remove files, run programs, hold a lock, run netmon under its permission
 * set) and prints every step's outcome as JSON.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import type { SandboxStep } from "./sandbox.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const dec = new TextDecoder();
const ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", NO_COLOR: "1" };

function exec(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = new Deno.Command(cmd, { args, env: { ...ENV, ...env }, clearEnv: true, stdout: "piped", stderr: "piped" })
    .outputSync();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function must(cmd: string, args: string[]) {
  const r = exec(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
}

const [upper, stepsJson] = Deno.args as [string, string];
for (const [i, dir] of ["/etc", "/var", "/usr/sbin", "/usr/local/bin"].entries()) {
  Deno.mkdirSync(`${upper}/u${i}`, { recursive: true });
  Deno.mkdirSync(`${upper}/w${i}`, { recursive: true });
  must("mount", [
    "-t",
    "overlay",
    "overlay",
    "-o",
    `lowerdir=${dir},upperdir=${upper}/u${i},workdir=${upper}/w${i}`,
    dir,
  ]);
}
must("mount", ["-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"]);
// What the host itself has of netmon (a config, a state directory after 'deno task report', a cron line or a
// timer) must not reach a test: each is removed from the overlay (a whiteout in the test's upper directory; the
// host's files stay as they are), after checking that /etc, /var and /usr/sbin (where a stand-in cron daemon is
// put below) really are the overlays.
const mounts = Deno.readTextFileSync("/proc/self/mountinfo").split("\n").map((l) => l.split(" "));
for (const top of ["/etc", "/var", "/usr/sbin"]) {
  const mine = mounts.filter((f) => f[4] === top).at(-1);
  if (!mine || mine[mine.indexOf("-") + 1] !== "overlay") throw new Error(`${top} is not the sandbox's overlay`);
}
for (
  const path of [
    "/etc/netmon",
    "/var/lib/netmon",
    "/etc/cron.d",
    "/var/spool/cron",
    "/etc/systemd/system",
    "/etc/crontab",
  ]
) {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
for (const dir of ["/etc/netmon", "/etc/cron.d", "/etc/systemd/system"]) Deno.mkdirSync(dir, { recursive: true });
// A cron daemon's binary, as on the Debian machines netmon runs on, whatever the host has (doctor and `schedule
// --cron` look for one): a test removes it to play a machine without; cronie's is removed.
Deno.writeTextFileSync("/usr/sbin/cron", "#!/bin/sh\n", { mode: 0o755 });
try {
  Deno.removeSync("/usr/sbin/crond");
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}

const held: Deno.FsFile[] = [];
const results: unknown[] = [];
for (const step of JSON.parse(stepsJson) as SandboxStep[]) {
  if ("write" in step) {
    Deno.mkdirSync(step.write.slice(0, step.write.lastIndexOf("/")) || "/", { recursive: true });
    Deno.writeTextFileSync(step.write, step.text, { append: step.append ?? false });
  } else if ("remove" in step) {
    Deno.removeSync(step.remove, { recursive: true });
  } else if ("symlink" in step) {
    Deno.mkdirSync(step.symlink.slice(0, step.symlink.lastIndexOf("/")), { recursive: true });
    Deno.symlinkSync(step.target, step.symlink);
  } else if ("lock" in step) {
    const f = Deno.openSync(step.lock, { read: true, write: true, create: true });
    f.lockSync(true);
    held.push(f);
  } else if ("run" in step) {
    const r = exec(step.run[0] as string, step.run.slice(1));
    if (step.keep) results.push(r);
    else if (r.code !== 0) throw new Error(`${step.run.join(" ")}: ${r.stderr}`);
  } else if ("netmon" in step) {
    results.push(exec(Deno.execPath(), [
      "run",
      "-q",
      "--no-prompt",
      "--frozen",
      "--config",
      `${ROOT}deno.json`,
      `-P=${step.set ?? "netmon-admin"}`,
      ...(step.permissions ?? []),
      step.script ? `${ROOT}${step.script}` : Deno.env.get("NETMON_SCRIPT") ?? `${ROOT}netmon.ts`,
      ...step.netmon,
    ], {
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
      ...step.env,
    }));
  }
}
for (const f of held) f.close();
console.log(JSON.stringify(results));
