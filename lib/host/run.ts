/**
 * The one adapter through which netmon runs other programs: always an
 * argument array, never a shell, with failures turned into one-line errors.
 *
 * @module
 */

import { denoPermissionError, EX, NetmonError } from "./errors.ts";
import { startTimer } from "./timer.ts";

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

function spawnError(path: string, err: unknown): NetmonError {
  const denied = denoPermissionError(err);
  if (denied) return denied;
  if (err instanceof Deno.errors.NotFound) {
    return new NetmonError(
      `${path} not found: install it or set its path under [binaries] in the config`,
      EX.UNAVAILABLE,
    );
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new NetmonError(`${path} is not executable by this user`, EX.NOPERM);
  }
  return new NetmonError(`Cannot run ${path}: ${err instanceof Error ? err.message : err}`, EX.UNAVAILABLE);
}

function finish(path: string, out: Deno.CommandOutput): CommandOutput {
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

/** How to run a program: what to give it on stdin, how long it may take. */
export interface RunOptions {
  /** Written to its standard input, then closed; none: stdin is /dev/null. */
  stdin?: string | undefined;
  /** Milliseconds before it is killed (SIGKILL) and the run fails with exit 75; default {@linkcode CHILD_TIMEOUT_MS}. */
  timeoutMs?: number | undefined;
}

/**
 * Starts `path` (argument array, environment {@linkcode CHILD_ENV}) and
 * waits for it to exit, at most `timeoutMs`: past that it is killed and a
 * one-line NetmonError (exit 75: try again) is thrown. The program is started
 * before this returns, so the caller can work while it runs.
 */
export async function runBounded(
  path: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<Deno.CommandOutput> {
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
    throw spawnError(path, err);
  }
  const output = stdin === undefined ? child.output() : outputAfterInput(child, stdin);
  output.catch(() => {}); // raced below; a killed child's output is not wanted
  const ms = opts.timeoutMs ?? CHILD_TIMEOUT_MS;
  const timer = startTimer(ms);
  const late = timer.done.then((): never => {
    try {
      child.kill("SIGKILL");
    } catch {
      // It exited meanwhile.
    }
    throw new NetmonError(
      `${path} did not finish within ${ms / 1000} s and was killed: try again later; if it happens again, ` +
        "run it by hand to see where it waits",
      EX.TEMPFAIL,
    );
  });
  try {
    return await Promise.race([output, late]);
  } finally {
    timer.cancel();
  }
}

/** Writes `stdin` to a started child, then waits for its output. */
async function outputAfterInput(child: Deno.ChildProcess, stdin: string): Promise<Deno.CommandOutput> {
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  } catch {
    // The program exited before reading all input; its status says why.
  }
  return await child.output();
}

/**
 * Runs `path` with `stdin` like {@linkcode runCommand}, resolving to its
 * standard output as bytes.
 */
export async function runForBytes(path: string, args: readonly string[], stdin: string): Promise<BytesOutput> {
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
