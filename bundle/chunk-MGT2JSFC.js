import {
  EX,
  NetmonError,
  denoPermissionError
} from "./chunk-F6H2ZAXR.js";

// lib/command.ts
var CommandError = class extends NetmonError {
  /** The program's exit code. */
  code;
  /** What it printed on stderr. */
  stderr;
  constructor(message, exitCode, code, stderr) {
    super(message, exitCode);
    this.name = "CommandError";
    this.code = code;
    this.stderr = stderr;
  }
};
var decoder = new TextDecoder();
function tail(text) {
  const lines = text.trim().split("\n").filter((l) => l.trim() !== "");
  return lines.slice(-2).join(" / ").slice(0, 300);
}
function commandFailure(path, code, stderr) {
  const name = path.split("/").pop() ?? path;
  const said = tail(stderr);
  if (/Permission denied|must be root|Operation not permitted/i.test(stderr)) {
    return new CommandError(`${name} needs root or CAP_NET_ADMIN (exited with code ${code}: ${said})`, EX.NOPERM, code, stderr);
  }
  if (/xtables lock|holding the .*lock|Resource temporarily unavailable/i.test(stderr)) {
    return new CommandError(`${name} could not take the xtables lock, try again later (exited with code ${code}: ${said})`, EX.TEMPFAIL, code, stderr);
  }
  return new CommandError(`${path} exited with code ${code}: ${said || "no message"}`, EX.UNAVAILABLE, code, stderr);
}
function spawnError(path, err) {
  const denied = denoPermissionError(err);
  if (denied) return denied;
  if (err instanceof Deno.errors.NotFound) {
    return new NetmonError(`${path} not found: install it or set its path under [binaries] in the config`, EX.UNAVAILABLE);
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new NetmonError(`${path} is not executable by this user`, EX.NOPERM);
  }
  return new NetmonError(`Cannot run ${path}: ${err instanceof Error ? err.message : err}`, EX.UNAVAILABLE);
}
function finish(path, out) {
  const stdout = decoder.decode(out.stdout);
  const stderr = decoder.decode(out.stderr);
  if (!out.success) throw commandFailure(path, out.code, stderr);
  return {
    stdout,
    stderr
  };
}
var runCommand = async (path, args, stdin) => {
  const command = new Deno.Command(path, {
    args: [
      ...args
    ],
    stdin: stdin === void 0 ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: {
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      LC_ALL: "C"
    }
  });
  if (stdin === void 0) {
    let out;
    try {
      out = await command.output();
    } catch (err) {
      throw spawnError(path, err);
    }
    return finish(path, out);
  }
  let child;
  try {
    child = command.spawn();
  } catch (err) {
    throw spawnError(path, err);
  }
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  } catch {
  }
  return finish(path, await child.output());
};

export {
  CommandError,
  runCommand
};
