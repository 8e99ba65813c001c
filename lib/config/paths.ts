/**
 * Paths from the config: absolute (cron's PATH and working directory are not
 * the user's), no `..`, and only characters a path of a sysadmin's choosing
 * needs. netmon never hands a path to a shell, but a path with `$(`, a
 * backquote or a `;` in it is a mistake or an attack, and is refused.
 *
 * @module
 */

const SAFE = /^\/[A-Za-z0-9._+@%=,:~/ -]*$/;

/** Why `path` is not a usable config path, or undefined when it is. */
export function pathProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return "must be an absolute path (cron's PATH and directory are not yours)";
  if (path.split("/").includes("..")) return "must not contain a .. component";
  if (!SAFE.test(path)) return "may hold only letters, digits, space and . _ + @ % = , : ~ / -";
  return undefined;
}
