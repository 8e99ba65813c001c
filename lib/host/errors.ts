/**
 * Errors that carry a sysexits(3) status, so that library code can throw and
 * only the CLI entry point prints one line and exits.
 *
 * @module
 */

/** sysexits(3) statuses netmon exits with. */
export const EX = {
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
  CONFIG: 78,
} as const;

/** A failure with a one-line message and the status to exit with. */
export class NetmonError extends Error {
  /** sysexits status for this failure. */
  readonly exitCode: number;
  constructor(message: string, exitCode: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "NetmonError";
    this.exitCode = exitCode;
  }
}

/** The user's mistake on the command line: exit 64. */
export class UsageError extends NetmonError {
  constructor(message: string) {
    super(message, EX.USAGE);
    this.name = "UsageError";
  }
}

/** A bad config file or value: exit 78. */
export class ConfigError extends NetmonError {
  constructor(message: string) {
    super(message, EX.CONFIG);
    this.name = "ConfigError";
  }
}

/** Unparseable data (log, last file, command output): exit 65. */
export class DataError extends NetmonError {
  constructor(message: string) {
    super(message, EX.DATAERR);
    this.name = "DataError";
  }
}

/**
 * Turns an error thrown by a Deno file operation on `path` into a NetmonError
 * that says what failed, where, and which status fits.
 */
export function fileError(err: unknown, action: string, path: string): NetmonError {
  if (err instanceof NetmonError) return err;
  const denied = denoPermissionError(err);
  if (denied) return denied;
  const detail = err instanceof Error
    ? err.message.replace(/[:,] (open|write|rename|mkdir|read|lstat|stat|remove|unlink|realpath|readlink)\b[^]*$/, "")
    : String(err);
  if (err instanceof Deno.errors.PermissionDenied) {
    return new NetmonError(`Cannot ${action} ${path}: permission denied by the file system`, EX.NOPERM, { cause: err });
  }
  if (err instanceof Deno.errors.NotFound && action.startsWith("create")) {
    return new NetmonError(`Cannot ${action} ${path}: a parent directory does not exist`, EX.CANTCREAT, {
      cause: err,
    });
  }
  if (action.startsWith("create")) {
    return new NetmonError(`Cannot ${action} ${path}: ${detail}`, EX.CANTCREAT, { cause: err });
  }
  return new NetmonError(`Cannot ${action} ${path}: ${detail}`, EX.IOERR, { cause: err });
}

const NOT_CAPABLE = /Requires (\w+) access to "?([^",]+?)"?, (?:run again with|specify) (?:the )?--allow-[\w-]+/;

/** True when `err` is Deno refusing a permission: as thrown, a NetmonError made from it (its cause), or a DenoDenied. */
export function isDenoRefusal(err: unknown): boolean {
  return err instanceof DenoDenied || denoPermissionError(err instanceof NetmonError ? err.cause : err) !== undefined;
}

/** Deno's refusal in `err` (as thrown): the kind of access and to what; null if unreadable; else undefined. */
function refusal(err: unknown): { kind: string; path: string } | null | undefined {
  if (!(err instanceof Error) || err.name !== "NotCapable") return undefined;
  const m = NOT_CAPABLE.exec(err.message);
  return m ? { kind: m[1] as string, path: m[2] as string } : null;
}

/**
 * If `err` is Deno refusing `kind` access to a path (read, write), as thrown
 * or as a NetmonError made from it (its cause), that kind and path;
 * otherwise undefined.
 */
export function deniedAccess(err: unknown): { kind: string; path: string } | undefined {
  const r = refusal(err instanceof NetmonError ? err.cause : err) ?? undefined;
  // One netmon made itself (a directory it must look at before an open), without Deno's error behind it.
  return r ?? (err instanceof DenoDenied ? { kind: err.kind, path: err.what } : undefined);
}

/** What comes before a whole run line in a refusal's message (lib/cli/permission_line.ts), so that it can be kept whole. */
export const RUN_AS = "run it as: ";

/**
 * Deno refusing a permission: the kind of access and the value to allow (a
 * path, a directory, `host:port`…), which give the flag. Its message names the flag
 * alone; the command line, which knows how the process was started, can
 * print a whole run line instead (lib/cli/permission_line.ts).
 */
export class DenoDenied extends NetmonError {
  /** `read`, `write`, `run`, `net`, `env` or `sys`. */
  readonly kind: string;
  /** What to allow: the denied path, or the directory a temporary file beside an output was made in. */
  readonly what: string;
  /** What the access was for, when the value alone does not say (the default config). */
  readonly note: string | undefined;
  /** Another way out than allowing it (`name yours with -c FILE`). */
  readonly instead: string | undefined;
  /** What else the same step needs (the schedule's directory: read and written). */
  readonly also: readonly { kind: string; what: string }[];
  constructor(
    r: {
      kind: string;
      what: string;
      note?: string;
      instead?: string;
      also?: readonly { kind: string; what: string }[];
    },
    options?: ErrorOptions,
  ) {
    const instead = r.instead === undefined ? "" : `${r.instead}, or `;
    const flags = [r, ...(r.also ?? [])].map((a) => `--allow-${a.kind}=${a.what}`).join(" ");
    super(
      `Deno denied ${r.kind} access to ${r.what}${r.note === undefined ? "" : `, ${r.note}`}: ${instead}run it with ` +
        `${flags} (or a permission set from deno.json)`,
      EX.NOPERM,
      options,
    );
    this.name = "DenoDenied";
    this.kind = r.kind;
    this.what = r.what;
    this.note = r.note;
    this.instead = r.instead;
    this.also = r.also ?? [];
  }

  /** The flag, as `--allow-read`: Deno's for each kind of access. */
  get flag(): string {
    return `--allow-${this.kind}`;
  }

  /** The same refusal, `more` said of what the access was for (after the note it has). */
  withNote(more: string): DenoDenied {
    const note = this.note === undefined ? more : `${this.note}; ${more}`;
    return new DenoDenied({
      kind: this.kind,
      what: this.what,
      note,
      ...(this.instead === undefined ? {} : { instead: this.instead }),
      also: this.also,
    }, { cause: this.cause });
  }

  /** The same line with `fix` as the way out. */
  withFix(fix: string): string {
    const instead = this.instead === undefined ? "" : `${this.instead}, or `;
    return `Deno denied ${this.kind} access to ${this.what}${this.note === undefined ? "" : `, ${this.note}`}: ` +
      `${instead}${fix}`;
  }
}

/**
 * If `err` is Deno refusing a permission, returns the one-line error that
 * names the exact flag to add (a DenoDenied when the refusal says what it
 * refused); otherwise undefined.
 */
export function denoPermissionError(err: unknown): NetmonError | undefined {
  const r = refusal(err);
  if (r === undefined) return undefined;
  if (r === null) {
    const message = (err as Error).message.split("\n")[0];
    return new NetmonError(`Deno denied a permission: ${message}`, EX.NOPERM, { cause: err });
  }
  const { kind, path: denied } = r;
  // A temporary file beside an output (".NAME.RANDOM.tmp") needs its directory allowed, not itself; beside a
  // relative one (graph's default netmon_graph.dat), the current directory. The replace both writes there and
  // reads there (the temporary file looked at again before the rename, the directory synced after), so the
  // refusal of one names the other too where Deno does not grant it yet.
  const temp = /^(?:(.*)\/)?\.[^/]+\.[0-9a-f]+\.tmp$/.exec(denied);
  if (!temp) return new DenoDenied({ kind, what: denied }, { cause: err });
  const what = temp[1] === undefined ? "." : temp[1] || "/";
  const other = kind === "write" ? "read" : "write";
  let has = false;
  try {
    has = Deno.permissions.querySync({ name: other, path: what }).state === "granted";
  } catch { /* not known: named */ }
  return new DenoDenied({ kind, what, ...(has ? {} : { also: [{ kind: other, what }] }) }, { cause: err });
}
