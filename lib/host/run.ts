/**
 * The one adapter through which netmon runs other programs: always an
 * argument array, never a shell, with failures turned into one-line errors.
 *
 * @module
 */

import { denoPermissionError, EX, NetmonError } from "./errors.ts";

/** What a finished command printed. */
export interface CommandOutput {
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8 (warnings of a successful run). */
  stderr: string;
}

/** Runs a program; the seam tests and sources share. */
export type Runner = (path: string, args: readonly string[], stdin?: string) => Promise<CommandOutput>;

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
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(path, {
      args: [...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: CHILD_ENV,
    }).spawn();
  } catch (err) {
    throw spawnError(path, err);
  }
  const out = await outputAfterInput(child, stdin);
  const stderr = decoder.decode(out.stderr);
  if (!out.success) throw commandFailure(path, out.code, stderr);
  return { stdout: out.stdout, stderr };
}

/** The whole environment of a program netmon runs: a short PATH and the C locale, nothing of netmon's own. */
export const CHILD_ENV: Readonly<Record<string, string>> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };

/**
 * Runs `path` with `args` (and optional stdin), resolving to its output or
 * throwing a NetmonError. The environment is cleared but for PATH and a C
 * locale, so output parses the same everywhere. The program is started
 * before this returns, so the caller can work while it runs.
 */
export const runCommand: Runner = async (path, args, stdin) => {
  const command = new Deno.Command(path, {
    args: [...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: { ...CHILD_ENV },
  });
  if (stdin === undefined) {
    let out: Deno.CommandOutput;
    try {
      out = await command.output();
    } catch (err) {
      throw spawnError(path, err);
    }
    return finish(path, out);
  }
  let child: Deno.ChildProcess;
  try {
    child = command.spawn();
  } catch (err) {
    throw spawnError(path, err);
  }
  return finish(path, await outputAfterInput(child, stdin));
};
