// lib/errors.ts
var EX = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  NOPERM: 77,
  CONFIG: 78
};
var NetmonError = class extends Error {
  /** sysexits status for this failure. */
  exitCode;
  constructor(message, exitCode, options) {
    super(message, options);
    this.name = "NetmonError";
    this.exitCode = exitCode;
  }
};
var UsageError = class extends NetmonError {
  constructor(message) {
    super(message, EX.USAGE);
    this.name = "UsageError";
  }
};
var ConfigError = class extends NetmonError {
  constructor(message) {
    super(message, EX.CONFIG);
    this.name = "ConfigError";
  }
};
var DataError = class extends NetmonError {
  constructor(message) {
    super(message, EX.DATAERR);
    this.name = "DataError";
  }
};
function fileError(err, action, path) {
  if (err instanceof NetmonError) return err;
  const denied = denoPermissionError(err);
  if (denied) return denied;
  const detail = err instanceof Error ? err.message.replace(/[:,] (open|write|rename|mkdir|read)[^]*$/, "") : String(err);
  if (err instanceof Deno.errors.PermissionDenied) {
    return new NetmonError(`Cannot ${action} ${path}: permission denied by the file system`, EX.NOPERM, {
      cause: err
    });
  }
  if (err instanceof Deno.errors.NotFound && action.startsWith("create")) {
    return new NetmonError(`Cannot ${action} ${path}: a parent directory does not exist`, EX.CANTCREAT, {
      cause: err
    });
  }
  if (action.startsWith("create")) {
    return new NetmonError(`Cannot ${action} ${path}: ${detail}`, EX.CANTCREAT, {
      cause: err
    });
  }
  return new NetmonError(`Cannot ${action} ${path}: ${detail}`, EX.IOERR, {
    cause: err
  });
}
var NOT_CAPABLE = /Requires (\w+) access to "?([^",]+?)"?, (?:run again with|specify) (?:the )?(--allow-[\w-]+)/;
function denoPermissionError(err) {
  if (!(err instanceof Error) || err.name !== "NotCapable") return void 0;
  const m = NOT_CAPABLE.exec(err.message);
  if (!m) {
    return new NetmonError(`Deno denied a permission: ${err.message.split("\n")[0]}`, EX.NOPERM, {
      cause: err
    });
  }
  const [, kind, denied, flag] = m;
  const temp = /^(.*)\/\.[^/]+\.\d+\.tmp$/.exec(denied);
  const what = temp ? temp[1] || "/" : denied;
  return new NetmonError(`Deno denied ${kind} access to ${what}: run it with ${flag}=${what} (or a permission set from deno.json)`, EX.NOPERM, {
    cause: err
  });
}

export {
  EX,
  NetmonError,
  UsageError,
  ConfigError,
  DataError,
  fileError,
  denoPermissionError
};
