/**
 * How the user runs netmon, for the commands a message tells them to run:
 * from its sources with `deno task netmon …` (deno.json's task), or as the
 * compiled binary `netmon …` (`deno task compile`, installed as netmon).
 *
 * @module
 */

/** True in a binary built by `deno compile`, whose modules live under a `deno-compile-` root. */
export const COMPILED: boolean = /\/deno-compile-/.test(import.meta.url);

/**
 * The netmon command `words` as the user can run it: `deno task netmon
 * schedule --cron` from the sources, `netmon start` from a compiled binary
 * (schedule works from the sources only: a binary's permissions are fixed).
 *
 * @example
 * ```ts
 * netmonCommand("start"); // "deno task netmon start" (from the sources)
 * ```
 */
export function netmonCommand(words: string): string {
  return COMPILED && !/^schedule\b/.test(words) ? `netmon ${words}` : `deno task netmon ${words}`;
}
