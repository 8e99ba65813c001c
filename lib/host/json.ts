/**
 * JSON with exact integers: counters pass 2^53 in days on fast links, and
 * `JSON.parse` alone would round them.
 *
 * @module
 */

/**
 * JSON.parse that turns every integer into an exact bigint, using the source
 * text the reviver is given.
 *
 * @example
 * ```ts
 * parseExactJson('{"bytes": 18446744073709551615}'); // { bytes: 18446744073709551615n }
 * ```
 */
export function parseExactJson(text: string): unknown {
  // deno-lint-ignore no-explicit-any
  return JSON.parse(text, (_key, value, context?: any) => {
    if (typeof value === "number" && typeof context?.source === "string" && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}
