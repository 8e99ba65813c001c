/**
 * The one adapter through which netmon runs other programs: always an
 * argument array, never a shell, with failures turned into one-line errors.
 *
 * @module
 */

import { denoPermissionError, EX, NetmonError } from "./errors.ts";
import { startTimer, type Timer } from "./timer.ts";

/** What a finished command printed. */
export interface CommandOutput {
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8 (warnings of a successful run). */
  stderr: string;
}

/** Runs a program; the seam tests and sources share. */
export type Runner = (
  path: string,
  args: readonly string[],
  stdin?: string,
  timeoutMs?: number,
) => Promise<CommandOutput>;

/** A command that ran and failed. */
export class CommandError extends NetmonError {
  /** The program's exit code. */
  readonly code: number;
  /** What it printed on stderr. */
  readonly stderr: string;
  constructor(message: string, exitCode: number, code: number, stderr: string) {
    super(message, exitCode);
    this.name = "CommandError";
    this.code = code;
    this.stderr = stderr;
  }
}

/** Whether `err` is a program saying that what it was asked about is not there (nft's "No such file or directory"). */
export function noSuchObject(err: unknown): boolean {
  return err instanceof CommandError && /No such file or directory/.test(err.stderr);
}

const decoder = new TextDecoder();

function tail(text: string): string {
  const lines = text.trim().split("\n").filter((l) => l.trim() !== "");
  return lines.slice(-2).join(" / ").slice(0, 300);
}

/**
 * Classifies a failed firewall or system command: not root, a held lock and
 * everything else get their own status.
 */
export function commandFailure(path: string, code: number, stderr: string): CommandError {
  const name = path.split("/").pop() ?? path;
  const said = tail(stderr);
  if (/Permission denied|must be root|Operation not permitted/i.test(stderr)) {
    return new CommandError(
      `${name} needs root or CAP_NET_ADMIN (exited with code ${code}: ${said})`,
      EX.NOPERM,
      code,
      stderr,
    );
  }
  if (/xtables lock|holding the .*lock|Resource temporarily unavailable/i.test(stderr)) {
    return new CommandError(
      `${name} could not take the xtables lock, try again later (exited with code ${code}: ${said})`,
      EX.TEMPFAIL,
      code,
      stderr,
    );
  }
  return new CommandError(`${path} exited with code ${code}: ${said || "no message"}`, EX.UNAVAILABLE, code, stderr);
}

function spawnError(path: string, err: unknown, whenMissing?: string): NetmonError {
  const denied = denoPermissionError(err);
  if (denied) return denied;
  if (err instanceof Deno.errors.NotFound) {
    return new NetmonError(
      `${path} not found: ${whenMissing ?? "install it or set its path under [binaries] in the config"}`,
      EX.UNAVAILABLE,
    );
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new NetmonError(`${path} is not executable by this user`, EX.NOPERM);
  }
  return new NetmonError(`Cannot run ${path}: ${err instanceof Error ? err.message : err}`, EX.UNAVAILABLE);
}

function finish(path: string, out: RunOutput): CommandOutput {
  const stdout = decoder.decode(out.stdout);
  const stderr = decoder.decode(out.stderr);
  if (!out.success) throw commandFailure(path, out.code, stderr);
  return { stdout, stderr };
}

/** What a finished command printed, its standard output as bytes (a picture). */
export interface BytesOutput {
  /** Standard output, as written. */
  stdout: Uint8Array;
  /** Standard error, decoded as UTF-8. */
  stderr: string;
}

/** The whole environment of a program netmon runs: a short PATH and the C locale, nothing of netmon's own. */
export const CHILD_ENV: Readonly<Record<string, string>> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };

/**
 * How long a program netmon runs may take before it is killed. A hung
 * firewall tool (waiting on a lock, a wedged netlink) or sendmail would
 * otherwise hold the state lock, and every cron run queued behind it, for as
 * long as it hangs. A minute is hundreds of times what iptables-save takes
 * for 10,000 rules.
 */
export const CHILD_TIMEOUT_MS = 60_000;

/** The most standard output read from a program: iptables-save prints about 84 bytes a rule, 3 million rules here. */
export const MAX_STDOUT = 256 << 20;
/** The most standard error kept (it only ever goes into a message); the rest is read and dropped. */
const MAX_STDERR = 1 << 20;
/**
 * How long the pipes are read once the program has exited: something it
 * started in the background may hold them open (a sendmail that forks its
 * delivery), and netmon must not wait for that.
 */
const AFTER_EXIT_MS = 2_000;

/** How to run a program: what to give it on stdin, how long it may take. */
export interface RunOptions {
  /**
   * Written to its standard input, then closed; none: stdin is /dev/null. Chunks are written one at a time, each
   * once the one before has gone into the pipe, so that input larger than memory can be fed from a file.
   */
  stdin?: string | Iterable<Uint8Array> | undefined;
  /** Milliseconds before it is killed (SIGKILL) and the run fails with exit 75; default {@linkcode CHILD_TIMEOUT_MS}. */
  timeoutMs?: number | undefined;
  /** The most standard output read before it is killed (exit 69); default {@linkcode MAX_STDOUT}. */
  maxStdout?: number | undefined;
  /** What to do when the program is not there; default: install it or set its path under [binaries]. */
  whenMissing?: string | undefined;
}

/** A program's end: how it exited and what it printed. */
export interface RunOutput {
  success: boolean;
  code: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/** Thrown when a program did not finish in its time and was killed. */
export class TimedOut extends NetmonError {
  constructor(readonly path: string, readonly seconds: number) {
    super(
      `${path} did not finish within ${seconds} s and was killed: try again later; if it happens again, ` +
        "run it by hand to see where it waits",
      EX.TEMPFAIL,
    );
    this.name = "TimedOut";
  }
}

/**
 * Starts `path` (argument array, environment {@linkcode CHILD_ENV}) and
 * waits for it to exit, at most `timeoutMs`: past that it is killed and
 * {@linkcode TimedOut} (exit 75: try again) is thrown. Its standard output
 * is read up to {@linkcode MAX_STDOUT} (past that it is killed: one line,
 * exit 69), for at most two seconds after it exits. The program is started
 * before this returns, so the caller can work while it runs.
 *
 * Only the program itself is killed: Deno signals a process group only with
 * the whole `--allow-run`, which netmon's permission sets never grant. None
 * of the programs netmon runs leaves anything behind; what a program started
 * in the background is no longer waited for.
 */
export async function runBounded(path: string, args: readonly string[], opts: RunOptions = {}): Promise<RunOutput> {
  const { stdin } = opts;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(path, {
      args: [...args],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: { ...CHILD_ENV },
    }).spawn();
  } catch (err) {
    throw spawnError(path, err, opts.whenMissing);
  }
  let failure: unknown;
  const stop = (why: unknown) => {
    failure ??= why;
    try {
      child.kill("SIGKILL");
    } catch {
      // It exited meanwhile.
    }
    stdout.cancel();
    stderr.cancel();
  };
  const maxStdout = opts.maxStdout ?? MAX_STDOUT;
  const tooMuch = () =>
    stop(
      new NetmonError(
        `${path} printed more than ${maxStdout} bytes: killed it (is it the right program?)`,
        EX.UNAVAILABLE,
      ),
    );
  const stdout = collect(child.stdout, maxStdout, tooMuch);
  const stderr = collect(child.stderr, MAX_STDERR);
  if (stdin !== undefined) void writeInput(child, stdin, stop);
  const ms = Number.isFinite(opts.timeoutMs) ? Math.max(1, opts.timeoutMs as number) : CHILD_TIMEOUT_MS;
  const timer = startTimer(ms);
  void timer.done.then(() => stop(new TimedOut(path, ms / 1000)));
  let afterExit: Timer | undefined;
  try {
    const status = await child.status;
    timer.cancel(); // it ended in time: what is left is reading what it printed
    afterExit = startTimer(AFTER_EXIT_MS);
    void afterExit.done.then(() => {
      stdout.cancel();
      stderr.cancel();
    });
    const [out, err] = await Promise.all([stdout.bytes, stderr.bytes]);
    if (failure) throw failure;
    return { success: status.success, code: status.code, stdout: out, stderr: err };
  } finally {
    timer.cancel();
    afterExit?.cancel();
  }
}

/** A pipe being read to its end, keeping at most `max` bytes; past that `over` is called, or the rest dropped. */
function collect(
  stream: ReadableStream<Uint8Array>,
  max: number,
  over?: () => void,
): { bytes: Promise<Uint8Array>; cancel(): void } {
  const reader = stream.getReader();
  const bytes = (async () => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (size + value.length > max) {
          if (over) {
            over();
            return new Uint8Array();
          }
          chunks.push(value.subarray(0, max - size));
          size = max;
        } else {
          chunks.push(value);
          size += value.length;
        }
      }
    } catch {
      // Cancelled: what was read is kept.
    }
    if (chunks.length === 1) return chunks[0] as Uint8Array;
    const all = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    return all;
  })();
  return { bytes, cancel: () => void reader.cancel().catch(() => {}) };
}

/**
 * Writes `stdin` to a started child and closes it: a chunk at a time, each once the one before is in the pipe. A
 * closed pipe (the program exited before reading all its input) ends it, the program's status saying why; any other
 * error (the input's own read failed) goes to `fail`, as itself.
 */
async function writeInput(
  child: Deno.ChildProcess,
  stdin: string | Iterable<Uint8Array>,
  fail: (err: unknown) => void,
): Promise<void> {
  const writer = child.stdin.getWriter();
  try {
    for (const chunk of typeof stdin === "string" ? [new TextEncoder().encode(stdin)] : stdin) {
      await writer.write(chunk);
    }
    await writer.close();
  } catch (err) {
    if (!(err instanceof Deno.errors.BrokenPipe)) fail(err);
  }
}

/**
 * Runs `path` with `stdin` like {@linkcode runCommand}, resolving to its
 * standard output as bytes.
 */
export async function runForBytes(
  path: string,
  args: readonly string[],
  stdin: string | Iterable<Uint8Array>,
): Promise<BytesOutput> {
  const out = await runBounded(path, args, { stdin });
  const stderr = decoder.decode(out.stderr);
  if (!out.success) throw commandFailure(path, out.code, stderr);
  return { stdout: out.stdout, stderr };
}

/**
 * Runs `path` with `args` (and optional stdin), resolving to its output or
 * throwing a NetmonError; bounded in time as {@linkcode runBounded} says. The
 * environment is cleared but for PATH and a C locale, so output parses the
 * same everywhere. The program is started before this returns, so the caller
 * can work while it runs.
 */
export const runCommand: Runner = async (path, args, stdin, timeoutMs) =>
  finish(path, await runBounded(path, args, { stdin, timeoutMs }));
