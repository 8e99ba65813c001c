/**
 * Words for sh, as printed in a line to copy (`netmon schedule`'s run line, a
 * refusal's whole run line) or written into a crontab.
 *
 * @module
 */

/**
 * A word for sh: as is when plain, else in single quotes.
 *
 * @example
 * ```ts
 * shellWord("/etc/netmon/netmon.toml"); // "/etc/netmon/netmon.toml"
 * shellWord("it's"); // "'it'\\''s'"
 * ```
 */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
