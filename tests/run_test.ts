/**
 * lib/host/run.ts, the one way netmon runs other programs: every program is
 * bounded in time (a hung one is killed and the run fails with exit 75), and
 * the bound never keeps netmon alive once the program is done.
 *
 * @module
 */

import { deepEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { NetmonError } from "../lib/host/errors.ts";
import { CHILD_TIMEOUT_MS, runBounded, runCommand } from "../lib/host/run.ts";
import { processesRunning, run } from "./helpers.ts";

Deno.test("a program past its time is killed, and the run fails with one line and exit 75", async () => {
  // A duration no other process on the machine is likely to sleep, to find this one by.
  const argv = ["/bin/sleep", "47.3125"];
  const started = performance.now();
  await rejects(runCommand(argv[0] as string, argv.slice(1), undefined, 300), (e: unknown) => {
    ok(e instanceof NetmonError, String(e));
    assertEquals(e.exitCode, 75);
    assertEquals(
      e.message,
      "/bin/sleep did not finish within 0.3 s and was killed: try again later; if it happens again, run it by hand to see where it waits",
    );
    return true;
  });
  ok(performance.now() - started < 10_000, "waited for the program instead of killing it");
  // Killed, not left running: give the kernel a moment to reap it.
  for (let i = 0; i < 50 && processesRunning(argv).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assertEquals(processesRunning(argv), []);
});

Deno.test("within its time a program's output, stdin and failure are as before", async () => {
  assertEquals(await runCommand("/bin/cat", [], "through stdin\n", 5_000), { stdout: "through stdin\n", stderr: "" });
  const env = (await runCommand("/usr/bin/env", [])).stdout.split("\n").filter((l) => l !== "").sort();
  assertEquals(env, ["LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]);
  await rejects(runCommand("/bin/sh", ["-c", "echo no >&2; exit 3"]), /\/bin\/sh exited with code 3: no/);
  await rejects(
    runCommand("/nonexistent/prog", []),
    /^NetmonError: \/nonexistent\/prog not found: install it or set its path under \[binaries\] in the config$/,
  );
  // A program no config names (stat, for who can write the state directory) says what to do about it instead.
  await rejects(
    runBounded("/nonexistent/stat", [], { whenMissing: "install GNU coreutils" }),
    (e: unknown) => e instanceof NetmonError && e.message === "/nonexistent/stat not found: install GNU coreutils",
  );
});

Deno.test("the time bound never keeps netmon alive once the program has exited", async () => {
  // A process that runs one quick program must end at once, not when the bound (a minute) would have passed.
  ok(CHILD_TIMEOUT_MS >= 30_000);
  const script = `import { runCommand } from "${new URL("../lib/host/run.ts", import.meta.url).href}";\n` +
    `console.log((await runCommand("/bin/echo", ["done"])).stdout.trim());\n`;
  const started = performance.now();
  const r = await run(Deno.execPath(), ["eval", "--quiet", script]);
  assertEquals([r.code, r.stdout, r.stderr], [0, "done\n", ""]);
  ok(performance.now() - started < CHILD_TIMEOUT_MS / 2, "the process lived on after its program");
});

/** Kills this test's own leftover processes (found by their exact command line). */
function killLeftovers(argv: string[]): void {
  for (const pid of processesRunning(argv)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

Deno.test("a program that exits while something it started holds its output is not waited for", async () => {
  const argv = ["sleep", "33.125"];
  try {
    const started = performance.now();
    const r = await runCommand("/bin/sh", ["-c", `echo accepted; ${argv.join(" ")} & exit 0`], undefined, 20_000);
    assertEquals(r, { stdout: "accepted\n", stderr: "" });
    ok(performance.now() - started < 10_000, "waited for the background process");
  } finally {
    killLeftovers(argv);
  }
});

Deno.test("past its time, a program is killed even when a process it started holds its output open", async () => {
  const argv = ["sleep", "41.375"];
  try {
    const started = performance.now();
    await rejects(
      runCommand("/bin/sh", ["-c", `${argv.join(" ")} & exec sleep 42.375`], undefined, 300),
      /\/bin\/sh did not finish within 0.3 s and was killed/,
    );
    ok(performance.now() - started < 10_000, "waited for the process holding the pipe");
  } finally {
    killLeftovers(argv);
  }
});

Deno.test("a program that prints more than netmon reads is killed: one line, exit 69, memory bounded", async () => {
  await rejects(runBounded("/usr/bin/yes", [], { maxStdout: 1 << 20 }), (e: unknown) => {
    ok(e instanceof NetmonError);
    assertEquals([e.exitCode, e.message], [
      69,
      "/usr/bin/yes printed more than 1048576 bytes: killed it (is it the right program?)",
    ]);
    return true;
  });
  assertEquals(processesRunning(["/usr/bin/yes"]), []);
});

Deno.test("stdin: a failed read of the input is that error, the program killed; a program that stops reading is not", async () => {
  const spoolFailed = new NetmonError("Cannot read gnuplot's input for /srv/g.png: Input/output error", 74);
  function* failing(): Iterable<Uint8Array> {
    yield new TextEncoder().encode("a first chunk\n");
    throw spoolFailed;
  }
  // cat reads on until its input ends: only the failed read can end it.
  await rejects(runBounded("/bin/cat", [], { stdin: failing(), timeoutMs: 20_000 }), (e: unknown) => {
    assertEquals(e, spoolFailed);
    return true;
  });
  // A program that exits before reading all its input (a closed pipe): its own status says how it went.
  function* endless(): Iterable<Uint8Array> {
    for (;;) yield new Uint8Array(1 << 16);
  }
  const out = await runBounded("/bin/true", [], { stdin: endless() });
  assertEquals([out.success, out.code], [true, 0]);
});
