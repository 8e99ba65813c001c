/**
 * `netmon start` and `stop` hold the state directory's lock from reading its
 * record of installed rules (lib/state/installed.ts) to writing it, end to
 * end in namespaces the tests make and delete (nm-startlock-*). Without it,
 * two configs' first starts into one state directory could both read "no
 * record", both install, and the record written last would win: the other
 * config's rules orphaned, and both configs' reports writing one log.
 *
 * The race is made deterministic, not left to timing: the test holds the
 * lock (as a report recording its sample does) while one command starts,
 * sees the kernel list that command as waiting for the lock (/proc/locks),
 * stops it there (SIGSTOP), lets the other config's command run to its end,
 * and then lets the first one go on.
 */
import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import { netmon, netmonRuleTargets, netnsTest, type Result, spawnNetmon, withTwoConfigs } from "./helpers.ts";
import { installedPath, readInstalled } from "../lib/state/installed.ts";
import { type StateFiles, stateFiles } from "../lib/state/files.ts";

/** Config A: what b's proxy address (198.51.100.10) sends, in netmon's default chain. */
const A = '[[meter]]\nname = "a-proxy"\nfrom = "198.51.100.10"\n';
/** Config B: what b's other address (192.0.2.2) sends, in a chain of its own (so no rule of A's is in its way). */
const B = 'chain = "NETMON_B"\n[[meter]]\nname = "b-web"\nfrom = "192.0.2.2"\n';
const NS = "nm-startlock-";
/** Every wait of these tests gives up after this long. */
const WAIT_MS = 60_000;

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** The pids /proc/locks lists as waiting for a flock of file `path`. */
function lockWaiters(path: string): number[] {
  const ino = Deno.statSync(path).ino;
  const pids: number[] = [];
  for (const line of Deno.readTextFileSync("/proc/locks").split("\n")) {
    // e.g. "3: -> FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF"
    const m = /^\d+: -> FLOCK\s+\S+\s+\S+\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (m && Number(m[2]) === ino) pids.push(Number(m[1]));
  }
  return pids;
}

/** Whether every thread of process `pid` is stopped (by SIGSTOP). */
function stopped(pid: number): boolean {
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    const stat = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/stat`);
    if (stat.slice(stat.lastIndexOf(")") + 2)[0] !== "T") return false;
  }
  return true;
}

/** Polls `cond` until it holds (true) or `gaveUp` does (false); throws after {@linkcode WAIT_MS}. */
async function until(what: string, cond: () => boolean, gaveUp: () => boolean): Promise<boolean> {
  for (const t0 = performance.now(); performance.now() - t0 < WAIT_MS; await sleep(50)) {
    if (gaveUp()) return false;
    if (cond()) return true;
  }
  throw new Error(`waited ${WAIT_MS / 1000} s for ${what}`);
}

/** A netmon command run in the background, to be stopped and continued. */
interface Background {
  pid: number;
  /** Its result, once it has exited. */
  done?: Result;
  result: Promise<Result>;
}

function background(args: string[], o: { ns: string; dirs: string[] }): Background {
  const child = spawnNetmon(args, o);
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  const bg: Background = {
    pid: child.pid,
    result: child.output().then((
      r,
    ) => (bg.done = { code: r.code, stdout: decode(r.stdout), stderr: decode(r.stderr) })),
  };
  return bg;
}

/** Ends `bg` if it still runs (a failed test), so that its namespace can go. */
async function reap(bg: Background): Promise<void> {
  if (bg.done === undefined) {
    try {
      Deno.kill(bg.pid, "SIGKILL");
    } catch { /* exited meanwhile */ }
  }
  await bg.result;
}

/** Takes the lock of `files`' state directory (made by the test or by a start), as a report recording its sample does. */
async function holdLock(files: StateFiles): Promise<Deno.FsFile> {
  const held = await Deno.open(files.lock, { read: true, write: true, create: true, mode: 0o640 });
  await held.lock(true);
  return held;
}

/**
 * Waits until `bg` waits for the lock the test holds, then stops it there and
 * releases the lock: nothing competes with the next command for it. Fails,
 * saying what `bg` did meanwhile, where `bg` ran to its end instead.
 */
async function stopWhileWaiting(
  bg: Background,
  held: Deno.FsFile,
  files: StateFiles,
  what: string,
  after: () => Promise<string>,
): Promise<void> {
  const waiting = await until(
    `${what} to wait for the lock`,
    () => lockWaiters(files.lock).includes(bg.pid),
    () => bg.done !== undefined,
  );
  if (!waiting) {
    const r = await bg.result;
    ok(
      false,
      `${what} did not wait for the state directory's lock, which a report held: it exited ${r.code}` +
        ` (stderr: ${JSON.stringify(r.stderr)}), and, the lock still held, ${await after()}`,
    );
  }
  Deno.kill(bg.pid, "SIGSTOP");
  ok(
    await until(`${what} to stop`, () => stopped(bg.pid) && !lockWaiters(files.lock).includes(bg.pid), () => false),
  );
  held.close(); // releases the lock
}

netnsTest(
  "[iptables] two first starts into one state directory queue on its lock: the later refuses, naming the other",
  () =>
    withTwoConfigs(A, B, async ({ p, dir, a, b, o }) => {
      const shared = `${dir}/state`;
      const files = stateFiles(shared);
      await Deno.mkdir(shared);
      await Deno.chmod(shared, 0o750);
      const held = await holdLock(files);
      const startA = background(["start", "-c", a, "-s", shared], o);
      try {
        await stopWhileWaiting(
          startA,
          held,
          files,
          "start of a.toml",
          async () =>
            `the record names ${readInstalled(files)?.config ?? "no config"} and the rules are ` +
            JSON.stringify(await netmonRuleTargets(p)),
        );
        assertEquals(readInstalled(files), undefined, "nothing recorded while A's start waits");
        assertEquals(await netmonRuleTargets(p), [], "nothing installed while A's start waits");

        // B's first start runs whole while A's is stopped, just before it takes the lock.
        const startB = await netmon(["start", "-c", b, "-s", shared], o);
        assertEquals([startB.code, startB.stderr], [0, ""]);
        assertEquals(readInstalled(files)?.config, b);

        Deno.kill(startA.pid, "SIGCONT");
        const r = await startA.result;
        assertEquals([r.code, r.stdout], [78, ""], JSON.stringify(r));
        assertEquals(r.stderr.split("\n").length, 2, `one line: ${r.stderr}`);
        match(
          r.stderr,
          new RegExp(`^netmon: start: state directory ${shared} is used by ${b.replaceAll(".", "\\.")} `),
        );
        assertEquals(await netmonRuleTargets(p), ["b-web -> NETMON_B"], "A installed nothing");
        assertEquals(readInstalled(files)?.config, b, "the record still names B");
        assertEquals((await netmon(["report", "-c", b, "-s", shared], o)).code, 0, "B's reports go on");
        assertEquals((await netmon(["report", "-c", a, "-s", shared], o)).code, 78, "A's report is refused there");
      } finally {
        tryClose(held);
        await reap(startA);
      }
    }, NS),
);

netnsTest(
  "[iptables] a stop queues on the state lock: a --replace start meanwhile keeps its record",
  () =>
    withTwoConfigs(A, B, async ({ p, dir, a, b, o }) => {
      const shared = `${dir}/state`;
      const files = stateFiles(shared);
      const s = await netmon(["start", "-c", a, "-s", shared], o);
      assertEquals([s.code, s.stderr], [0, ""]);
      const held = await holdLock(files);
      const stopA = background(["stop", "-c", a, "-s", shared], o);
      try {
        await stopWhileWaiting(
          stopA,
          held,
          files,
          "stop of a.toml",
          async () =>
            `the record names ${readInstalled(files)?.config ?? "no config"} and the rules are ` +
            JSON.stringify(await netmonRuleTargets(p)),
        );
        // B takes the directory over (A is being retired) while A's stop is stopped, just before it takes the lock.
        const startB = await netmon(["start", "--replace", "-c", b, "-s", shared], o);
        assertEquals([startB.code, startB.stderr], [0, ""]);
        assertEquals(readInstalled(files)?.config, b);
        assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED", "b-web -> NETMON_B"]);

        Deno.kill(stopA.pid, "SIGCONT");
        const r = await stopA.result;
        assertEquals([r.code, r.stderr], [0, ""], JSON.stringify(r));
        assertEquals(await netmonRuleTargets(p), ["b-web -> NETMON_B"], "A's stop removed A's rules only");
        assertEquals(readInstalled(files)?.config, b, "A's stop left B's record");
      } finally {
        tryClose(held);
        await reap(stopA);
      }
    }, NS),
);

netnsTest(
  "[iptables] a report queued on the state lock while another config's start takes the directory refuses, writing nothing",
  () =>
    withTwoConfigs(A, B, async ({ p, dir, a, b, o }) => {
      const shared = `${dir}/state`;
      const files = stateFiles(shared);
      assertEquals((await netmon(["start", "-c", a, "-s", shared], o)).code, 0);
      // A state directory without a record (A's rules installed before netmon kept one): B's first start may take it.
      await Deno.remove(installedPath(files));
      assertEquals((await netmon(["report", "-c", a, "-s", shared], o)).code, 0);
      const kept = ["netmon.log", "netmon.last", "netmon.status"];
      const before = kept.map((f) => Deno.readTextFileSync(`${shared}/${f}`));
      const held = await holdLock(files);
      const reportA = background(["report", "-c", a, "-s", shared], o);
      try {
        await stopWhileWaiting(
          reportA,
          held,
          files,
          "report of a.toml",
          () => Promise.resolve(`the log is ${JSON.stringify(Deno.readTextFileSync(files.log))}`),
        );
        // B's first start runs whole while A's report is stopped, just before it takes the lock.
        const startB = await netmon(["start", "-c", b, "-s", shared], o);
        assertEquals([startB.code, startB.stderr], [0, ""]);
        assertEquals(readInstalled(files)?.config, b);

        Deno.kill(reportA.pid, "SIGCONT");
        const r = await reportA.result;
        assertEquals([r.code, r.stdout], [78, ""], JSON.stringify(r));
        assertEquals(r.stderr.split("\n").length, 2, `one line: ${r.stderr}`);
        match(
          r.stderr,
          new RegExp(`^netmon: report: state directory ${shared} is used by ${b.replaceAll(".", "\\.")} `),
        );
        assertEquals(kept.map((f) => Deno.readTextFileSync(`${shared}/${f}`)), before, "A wrote nothing there");
        assertEquals(await netmonRuleTargets(p), ["a-proxy -> DOWNLOADED", "b-web -> NETMON_B"]);
      } finally {
        tryClose(held);
        await reap(reportA);
      }
    }, NS),
);

/** Closes `f` unless it is closed already. */
function tryClose(f: Deno.FsFile): void {
  try {
    f.close();
  } catch { /* closed: the lock was released */ }
}

netnsTest(
  "[iptables] a dry run does not wait for the state lock; a stop without a state directory makes none",
  () =>
    withTwoConfigs(A, B, async ({ p, dir, a, o }) => {
      const shared = `${dir}/state`;
      const files = stateFiles(shared);
      await Deno.mkdir(shared);
      await Deno.chmod(shared, 0o750);
      const held = await holdLock(files);
      try {
        // It changes and writes nothing: it goes on at once (had it waited, it would give up with 75 after 60 s).
        const dry = await netmon(["start", "--dry-run", "-c", a, "-s", shared], o);
        assertEquals([dry.code, dry.stderr], [0, ""], JSON.stringify(dry));
        ok(dry.stdout.includes("(dry run: nothing was changed)"), dry.stdout);
        assertEquals([readInstalled(files), await netmonRuleTargets(p)], [undefined, []]);
      } finally {
        tryClose(held);
      }
      const none = `${dir}/none`;
      const stop = await netmon(["stop", "-c", a, "-s", none], o);
      assertEquals([stop.code, stop.stderr], [0, ""], JSON.stringify(stop));
      ok(!(await exists(none)), "stop made no state directory");
    }, NS),
);

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
