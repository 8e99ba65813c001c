/**
 * No other user can hold netmon's lock files (lib/state/lock.ts): a user who
 * can open one can `flock` it for as long as they like, and every report then
 * gives up after 60 s (exit 75), logging no sample until they stop. The
 * attack as the review made it: a real `flock` held by uid 4242 in a state
 * directory given to its group by the README's `netmon check` set-up.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { netmon, type Result, withTempDir } from "./helpers.ts";

const root = Deno.uid() === 0;
if (!root) console.log("lock_test: IGNORED (not passed): the attack needs root and setpriv to uid 4242");

/** The other user: uid and gid 4242, no other group. */
const OTHER = ["setpriv", "--reuid=4242", "--regid=4242", "--clear-groups", "--"];

const LO = 'source = "interface"\ninterfaces = ["lo"]\n';

/** The README's command that gives `netmon check`'s group the state directory, for `state` and group 4242. */
function readmeCheckSetUp(state: string): string {
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  const commands = [...readme.matchAll(/`([^`]*)`/g)].map((m) => (m[1] as string).replace(/\s*\n\s*/g, " "))
    .filter((c) => c.includes("nagios") && c.includes("/var/lib/netmon"));
  assertEquals(commands.length, 1, `one check set-up command in the README: ${commands.join(" | ")}`);
  return (commands[0] as string).replaceAll("/var/lib/netmon", state).replaceAll("nagios", "4242");
}

/** The report with state `state`, killed after 90 s (the lock's wait is 60 s). */
function report(dir: string, state: string): Promise<Result> {
  Deno.writeTextFileSync(`${dir}/netmon.toml`, LO);
  return netmon(["report", "-c", `${dir}/netmon.toml`, "-s", state], {
    dirs: [dir],
    wrap: ["timeout", "-s", "KILL", "90"],
  });
}

/**
 * Starts `flock -x LOCK` as uid 4242, holding it until its stdin is closed; resolves once it holds it ("held") or has
 * failed (its message), with a way to end it (and everything it started).
 */
async function holdAsOther(lock: string): Promise<{ said: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(OTHER[0] as string, {
    args: [...OTHER.slice(1), "flock", "-x", lock, "sh", "-c", "echo held; exec cat >/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = child.stdout.getReader();
  const first = await out.read();
  const said = first.done
    ? await new Response(child.stderr).text() // it ended: why
    : new TextDecoder().decode(first.value);
  const stop = async () => {
    await child.stdin.close().catch(() => {}); // cat ends, then flock, letting go
    await out.cancel().catch(() => {});
    if (!child.stderr.locked) await child.stderr.cancel().catch(() => {});
    await child.status;
  };
  return { said: said.trim(), stop };
}

Deno.test({
  name: "a member of the state directory's group (the README's check set-up) cannot hold netmon.lock: reports go on",
  ignore: !root,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.chmod(dir, 0o755); // the other user may go through it, as through /var/lib
      const state = `${dir}/state`;
      assertEquals((await report(dir, state)).code, 0, "set-up");
      const lock = `${state}/netmon.lock`;
      const mode = () => ((Deno.statSync(lock).mode ?? 0) & 0o7777).toString(8);
      const sh = await new Deno.Command("sh", { args: ["-c", readmeCheckSetUp(state)] }).output();
      assertEquals(sh.code, 0, new TextDecoder().decode(sh.stderr));
      // The check's group can read what the check reads.
      const check = await new Deno.Command(OTHER[0] as string, {
        args: [...OTHER.slice(1), "cat", `${state}/netmon.log`, `${state}/netmon.last`],
      }).output();
      assertEquals(check.code, 0, `the group reads the log: ${new TextDecoder().decode(check.stderr)}`);
      const held = await holdAsOther(lock);
      try {
        // Held or not, the report goes on: on the old code it gave up after 60 s, exit 75, at every run.
        const r = await report(dir, state);
        assertEquals(
          [r.code, r.stderr],
          [0, ""],
          `uid 4242 said ${held.said}; the lock's mode ${mode()}; the report's exit ${r.code}: ${r.stderr}`,
        );
        ok(/Permission denied/.test(held.said), held.said);
      } finally {
        await held.stop();
      }
      assertEquals(mode(), "600");
    }),
});

Deno.test({
  name: "a lock file a group can read (an older netmon's, after the old set-up's chmod -R g+r) is made 0600 by the " +
    "next report, and the group can no longer hold it",
  ignore: !root,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.chmod(dir, 0o755);
      const state = `${dir}/state`;
      assertEquals((await report(dir, state)).code, 0, "set-up");
      const lock = `${state}/netmon.lock`;
      // As an older netmon made it, and as the README once told to open it to the group.
      await Deno.chmod(lock, 0o640);
      const old = `chgrp -R 4242 ${state} && chmod g+rxs ${state} && chmod -R g+r ${state}`;
      assertEquals((await new Deno.Command("sh", { args: ["-c", old] }).output()).code, 0);
      // The old set-up opened it to the group indeed.
      const before = Deno.statSync(lock);
      assertEquals([before.gid, ((before.mode ?? 0) & 0o7777).toString(8)], [4242, "640"]);
      const r = await report(dir, state);
      assertEquals([r.code, r.stderr], [0, ""], r.stderr);
      assertEquals(((Deno.statSync(lock).mode ?? 0) & 0o7777).toString(8), "600");
      const held = await holdAsOther(lock);
      await held.stop();
      ok(/Permission denied/.test(held.said), held.said);
    }),
});

Deno.test({
  name: "a lock another user opened while others could, and holds: the run that gives up says so, with the fix",
  ignore: !root,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.chmod(dir, 0o755);
      const state = `${dir}/state`;
      await Deno.mkdir(state, { mode: 0o750 });
      await Deno.chown(state, 0, 4242);
      const lock = `${state}/netmon.lock`;
      // An older netmon's, its group given to the other user: they open it, and keep it open past any chmod.
      await Deno.writeTextFile(lock, "", { mode: 0o640 });
      await Deno.chown(lock, 0, 4242);
      await Deno.writeTextFile(
        `${dir}/probe.ts`,
        `import { withLock } from "${new URL("../lib/state/lock.ts", import.meta.url).href}";
try {
  await withLock({ lock: "${lock}" }, 2000, () => Promise.resolve());
  console.log("ran");
} catch (e) {
  console.log(e.message);
}
Deno.exit(0); // the lock's wait left pending would hold the process until the other user lets go
`,
      );
      const probe = async (read: string) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-q", "--no-prompt", read, `--allow-write=${dir}`, "--allow-sys=uid", `${dir}/probe.ts`],
        }).output();
        assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
        return new TextDecoder().decode(out.stdout);
      };
      const held = await holdAsOther(lock);
      try {
        assertEquals(held.said, "held");
        const gaveUp = `Another netmon run has held ${lock} for 2 s; giving up, try again later`;
        // Deno does not let it look at /tmp, so it cannot tell whether a chmod by name is safe: left as it is.
        assertEquals(
          await probe(`--allow-read=${dir}`),
          `${gaveUp} (its mode is 0640, so another user may hold it: remove ${lock} while no netmon runs (netmon ` +
            "makes it again, 0600))\n",
        );
        assertEquals((Deno.statSync(lock).mode ?? 0) & 0o7777, 0o640);
        assertEquals(
          await probe("--allow-read"),
          `${gaveUp} (its mode was 0640, so another user may have opened it and hold it; netmon made it 0600: if ` +
            `this goes on, remove ${lock} while no netmon runs (netmon makes it again))\n`,
        );
        assertEquals((Deno.statSync(lock).mode ?? 0) & 0o7777, 0o600);
      } finally {
        await held.stop();
      }
      // The fix the line gives: once removed, netmon makes a new one (0600) that no one else can open.
      await Deno.remove(lock);
      assertEquals(await probe("--allow-read"), "ran\n");
      assertEquals((Deno.statSync(lock).mode ?? 0) & 0o7777, 0o600);
      const again = await holdAsOther(lock);
      await again.stop();
      ok(/Permission denied/.test(again.said), again.said);
    }),
});
